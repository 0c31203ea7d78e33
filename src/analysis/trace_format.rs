//! Trace records as text (one line per instruction) and JSON Lines (one
//! object per instruction).  CodeTracer's format is in `codetracer`.
use std::io::{self, Write};

use crate::runtime::records::{FluxEvent, TraceRecord};

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
/// Integers are written by hand: a trace is millions of lines, and
/// `write!` spends most of its time on padding and dispatch.
pub fn push_line(s: &mut String, r: &TraceRecord) {
    use std::fmt::Write as _;
    s.push('#');
    let start = s.len();
    push_u64(s, r.index);
    for _ in s.len() - start..8 {
        s.push(' ');
    }
    s.push(' ');
    push_hex(s, r.pc, 4);
    s.push_str(": ");
    s.push_str(&r.text);
    for _ in r.text.len()..28 {
        s.push(' ');
    }
    for w in &r.regs {
        s.push_str(" r");
        push_u64(s, u64::from(w.reg));
        s.push('=');
        push_i64(s, i64::from(w.value));
        s.push_str(" (");
        if w.conf == 1.0 {
            s.push('1');
        } else {
            let _ = write!(s, "{}", w.conf);
        }
        s.push(')');
    }
    for m in &r.mem {
        s.push_str(" [0x");
        push_hex(s, m.addr, 4);
        s.push(':');
        push_u64(s, u64::from(m.len));
        s.push_str("] 0x");
        push_hex(s, m.old, 1);
        s.push_str("->0x");
        push_hex(s, m.new, 1);
    }
    s.push_str(" energy=");
    push_i64(s, r.energy);
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

fn push_u64(s: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    s.extend(buf[i..].iter().map(|&b| b as char));
}

fn push_i64(s: &mut String, v: i64) {
    if v < 0 {
        s.push('-');
    }
    push_u64(s, v.unsigned_abs());
}

/// Upper-case hex, at least `width` digits.
fn push_hex(s: &mut String, v: u32, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut buf = [b'0'; 8];
    let mut i = buf.len();
    let mut x = v;
    loop {
        i -= 1;
        buf[i] = DIGITS[(x & 15) as usize];
        x >>= 4;
        if x == 0 {
            break;
        }
    }
    let first = i.min(buf.len() - width.min(buf.len()));
    s.extend(buf[first..].iter().map(|&b| b as char));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_numbers_match_format() {
        for v in [0u64, 7, 10, 99_999_999, 123_456_789, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, v);
            assert_eq!(s, format!("{v}"));
        }
        for v in [0i64, -1, 42, i64::MIN, i64::MAX] {
            let mut s = String::new();
            push_i64(&mut s, v);
            assert_eq!(s, format!("{v}"));
        }
        for (v, w) in [(0u32, 4), (0x2D, 4), (0xFFFC, 4), (0x12345, 4), (0, 1), (0xDEADBEEF, 1), (9, 1)] {
            let mut s = String::new();
            push_hex(&mut s, v, w);
            assert_eq!(s, format!("{v:0w$X}"));
        }
    }
}
