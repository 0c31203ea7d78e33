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
    let mut s = format!("#{:<8} {:04X}: {:<28}", r.index, r.pc, r.text);
    for w in &r.regs {
        s.push_str(&format!(" r{}={} ({})", w.reg, w.value, w.conf));
    }
    for m in &r.mem {
        s.push_str(&format!(" [0x{:04X}:{}] 0x{:X}->0x{:X}", m.addr, m.len, m.old, m.new));
    }
    s.push_str(&format!(" energy={}", r.energy));
    for e in &r.events {
        match e {
            FluxEvent::ConfidenceDrop { reg, before, after } => s.push_str(&format!(" !conf{reg} {before}->{after}")),
            FluxEvent::TrustCheck { agent, score, threshold, passed } => s.push_str(&format!(
                " !trust agent {agent} {score:.2}{}{threshold:.2} {}",
                if *passed { ">=" } else { "<" },
                if *passed { "pass" } else { "FAIL" }
            )),
            FluxEvent::ApoptosisWarning { energy, level } => s.push_str(&format!(" !apoptosis-warning {energy}<{level}")),
        }
    }
    s
}

pub fn write_text(out: &mut dyn Write, records: &[TraceRecord]) -> io::Result<()> {
    for r in records {
        writeln!(out, "{}", text_line(r))?;
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
