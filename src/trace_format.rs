//! Trace records as text (one line per instruction) and JSON Lines (one
//! object per instruction).  CodeTracer's format is in `codetracer`.
use std::io::{self, Write};

use crate::tracer::{FluxEvent, TraceRecord};

/// The trace formats `monitor trace save` and `run --trace-format` offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    Text,
    Json,
    Codetracer,
}

impl TraceFormat {
    pub fn parse(s: &str) -> Option<TraceFormat> {
        match s {
            "text" => Some(TraceFormat::Text),
            "json" | "jsonl" => Some(TraceFormat::Json),
            "codetracer" => Some(TraceFormat::Codetracer),
            _ => None,
        }
    }
}

/// One line: index, pc, disassembly, registers written, memory written,
/// energy after, FLUX events.
pub fn text_line(r: &TraceRecord) -> String {
    let mut s = String::with_capacity(96);
    push_line(&mut s, r);
    s
}

/// Appends `text_line(r)` to `s` (without allocating a line of its own).
pub fn push_line(s: &mut String, r: &TraceRecord) {
    use std::fmt::Write as _;
    let _ = write!(s, "#{:<8} {:04X}: ", r.index, r.pc);
    s.push_str(&r.text);
    for _ in r.text.len()..28 {
        s.push(' ');
    }
    for w in &r.regs {
        let _ = write!(s, " r{}={} ({})", w.reg, w.value, w.conf);
    }
    for m in &r.mem {
        let _ = write!(s, " [0x{:04X}:{}] 0x{:X}->0x{:X}", m.addr, m.len, m.old, m.new);
    }
    let _ = write!(s, " energy={}", r.energy);
    for e in &r.events {
        let _ = match e {
            FluxEvent::ConfidenceDrop { reg, before, after } => write!(s, " !conf{reg} {before}->{after}"),
            FluxEvent::TrustCheck { agent, score, threshold, passed } => write!(
                s,
                " !trust agent {agent} {score:.2}{}{threshold:.2} {}",
                if *passed { ">=" } else { "<" },
                if *passed { "pass" } else { "FAIL" }
            ),
            FluxEvent::ApoptosisWarning { energy, level } => write!(s, " !apoptosis-warning {energy}<{level}"),
        };
    }
}

pub fn write_text(out: &mut dyn Write, records: &[TraceRecord]) -> io::Result<()> {
    let mut s = String::with_capacity(128);
    for r in records {
        s.clear();
        push_line(&mut s, r);
        s.push('\n');
        out.write_all(s.as_bytes())?;
    }
    Ok(())
}

pub fn write_json_lines(out: &mut dyn Write, records: &[TraceRecord]) -> io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *out, r).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
