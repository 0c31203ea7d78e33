//! `monitor trace …` and `monitor profile …`: execution tracing into a
//! bounded ring, saved as text, JSON Lines or a CodeTracer directory; exact
//! profiling, reported in words or saved for speedscope.
use std::path::Path;

use super::monitor::parse_u32;
use super::FluxTarget;
use crate::trace_format::{self, TraceFormat};

pub const COMMANDS: &[(&str, &str)] = &[
    ("trace on|off|clear", "record every instruction (a ring of the newest)"),
    ("trace show [N]", "the last N records (default 20)"),
    ("trace save PATH [text|json|codetracer]", "write the ring out (default text)"),
    ("trace size N", "keep the newest N records (default 100000)"),
    ("profile on|off|reset", "count every instruction, per address and call path"),
    ("profile report [N]", "opcode frequency, hot paths, bottleneck analysis"),
    ("profile save PATH", "the profile as speedscope JSON"),
];

impl FluxTarget {
    pub(crate) fn trace_monitor(&mut self, words: &[&str]) -> Option<String> {
        Some(match words {
            ["trace", "on"] => match self.vm.set_tracing(true) {
                Ok(()) => format!("tracing on (ring of {} records)", self.trace_capacity),
                Err(e) => format!("error: {e}"),
            },
            ["trace", "off"] => {
                self.drain_trace();
                let _ = self.vm.set_tracing(false);
                format!("tracing off ({} records kept)", self.trace_ring.len())
            }
            ["trace", "clear"] => {
                self.drain_trace();
                let n = self.trace_ring.len();
                self.trace_ring.clear();
                self.trace_dropped = 0;
                format!("cleared {n} records")
            }
            ["trace", "show"] => self.trace_show(20),
            ["trace", "show", n] => match parse_u32(n) {
                Some(n) => self.trace_show(n as usize),
                None => "error: usage: monitor trace show [N]".into(),
            },
            ["trace", "size", n] => match parse_u32(n) {
                Some(n) if n > 0 => {
                    self.trace_capacity = n as usize;
                    while self.trace_ring.len() > self.trace_capacity {
                        self.trace_ring.pop_front();
                        self.trace_dropped += 1;
                    }
                    format!("the trace keeps the newest {n} records")
                }
                _ => "error: usage: monitor trace size N (N > 0)".into(),
            },
            ["trace", "save", path] => self.trace_save(path, TraceFormat::Text),
            ["trace", "save", path, fmt] => match TraceFormat::parse(fmt) {
                Some(f) => self.trace_save(path, f),
                None => format!("error: unknown trace format '{fmt}' (text, json, codetracer)"),
            },
            ["trace", ..] => "error: usage: monitor trace on|off|clear|show [N]|save PATH [text|json|codetracer]|size N".into(),
            ["profile", "on"] => match self.vm.set_profiling(true) {
                Ok(()) => "profiling on".into(),
                Err(e) => format!("error: {e}"),
            },
            ["profile", "off"] => {
                let _ = self.vm.set_profiling(false);
                "profiling off (the counts stay until `monitor profile reset`)".into()
            }
            ["profile", "reset"] => {
                self.vm.profile_reset();
                "profile counts reset".into()
            }
            ["profile", "report"] => self.profile_report(10),
            ["profile", "report", n] => match parse_u32(n) {
                Some(n) => self.profile_report(n as usize),
                None => "error: usage: monitor profile report [N]".into(),
            },
            ["profile", "save", path] => {
                let data = crate::profiler::profile_data(&self.vm);
                match std::fs::write(path, crate::profile_report::speedscope_json(&data, &self.program)) {
                    Ok(()) => format!("saved the profile ({} instructions) to {path} (speedscope JSON)", data.total_instructions),
                    Err(e) => format!("error: writing {path}: {e}"),
                }
            }
            ["profile", ..] => "error: usage: monitor profile on|off|reset|report [N]|save PATH".into(),
            _ => return None,
        })
    }

    fn trace_show(&mut self, n: usize) -> String {
        self.drain_trace();
        if self.trace_ring.is_empty() {
            return "no trace records (monitor trace on, then run)".into();
        }
        let start = self.trace_ring.len().saturating_sub(n);
        let mut lines: Vec<String> = self.trace_ring.iter().skip(start).map(trace_format::text_line).collect();
        if self.trace_dropped > 0 {
            lines.push(format!("({} older records fell out of the ring of {})", self.trace_dropped, self.trace_capacity));
        }
        lines.join("\n")
    }

    fn trace_save(&mut self, path: &str, format: TraceFormat) -> String {
        self.drain_trace();
        let records: Vec<_> = self.trace_ring.iter().cloned().collect();
        let result = match format {
            TraceFormat::Codetracer => crate::codetracer::write_codetracer(Path::new(path), &self.program, &records).map_err(|e| e.to_string()),
            TraceFormat::Text | TraceFormat::Json => std::fs::File::create(path).map_err(|e| e.to_string()).and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                let r = if format == TraceFormat::Text {
                    trace_format::write_text(&mut w, &records)
                } else {
                    trace_format::write_json_lines(&mut w, &records)
                };
                r.and_then(|_| std::io::Write::flush(&mut w)).map_err(|e| e.to_string())
            }),
        };
        match result {
            Ok(()) => {
                let dropped = if self.trace_dropped > 0 { format!("; {} older records had fallen out", self.trace_dropped) } else { String::new() };
                format!("saved {} records to {path}{dropped}", records.len())
            }
            Err(e) => format!("error: writing {path}: {e}"),
        }
    }

    fn profile_report(&self, top: usize) -> String {
        let data = crate::profiler::profile_data(&self.vm);
        if data.total_instructions == 0 {
            return "no profile yet (monitor profile on, then run)".into();
        }
        crate::profile_report::report(&data, &self.program, top)
    }
}
