//! `monitor trace …` and `monitor profile …`: execution tracing into a
//! bounded ring, saved as text, JSON Lines or a CodeTracer directory; exact
//! profiling, reported in words or saved for speedscope.
//!
//! The ring is not filled as the program runs.  Tracing records the run
//! (see [`crate::analysis::history`]: checkpoints, a few percent of the run's time),
//! and the records of the newest `capacity` instructions are made when the
//! trace is shown or saved, by re-executing them on a VM with tracing on.
//! The VM is deterministic, so they are the records the run would have
//! made; a traced `continue` costs what a recorded one does.
use std::collections::VecDeque;
use std::path::Path;

use super::args::parse_u32;
use super::FluxTarget;
use crate::analysis::trace_format::{self, TraceFormat};
use crate::analysis::tracer::{FluxEvent, TraceRecord};

/// The largest ring `monitor trace size` accepts (a few GB of records at most).
pub const MAX_TRACE_RING: u32 = 10_000_000;

/// What `monitor trace` keeps.
pub struct TraceWindow {
    pub on: bool,
    pub capacity: usize,
    /// The history index where the traced stretch of the current recording began.
    start: u64,
    /// Records made already: of earlier runs, or before tracing was turned
    /// off (oldest first, at most `capacity`).
    frozen: VecDeque<TraceRecord>,
    /// Records that fell out of the ring.
    dropped: u64,
    /// Events the stub adds (apoptosis warnings), by history index of the
    /// instruction that caused them.
    events: Vec<(u64, FluxEvent)>,
    /// Tracing started the recording (and stops it when turned off).
    owns_history: bool,
}

impl Default for TraceWindow {
    fn default() -> Self {
        TraceWindow { on: false, capacity: 100_000, start: 0, frozen: VecDeque::new(), dropped: 0, events: Vec::new(), owns_history: false }
    }
}

pub const COMMANDS: &[(&str, &str)] = &[
    ("trace on|off|clear", "record every instruction (a ring of the newest)"),
    ("trace show [N]", "the last N records (default 20)"),
    ("trace save PATH [text|json|codetracer]", "write the ring out in the save directory (default text)"),
    ("trace size N", "keep the newest N records (default 100000, at most 10000000)"),
    ("profile on|off|reset", "count every instruction, per address and call path"),
    ("profile report [N]", "opcode frequency, hot paths, bottleneck analysis"),
    ("profile save PATH", "the profile as speedscope JSON, in the save directory"),
];

impl FluxTarget {
    pub(crate) fn trace_monitor(&mut self, words: &[&str]) -> Option<String> {
        Some(match words {
            ["trace", "on"] => self.trace_on(),
            ["trace", "off"] => {
                self.freeze_trace();
                self.trace.on = false;
                if std::mem::take(&mut self.trace.owns_history) {
                    self.history = None;
                    self.vm.log_inputs(false);
                }
                format!("tracing off ({} records kept)", self.trace.frozen.len())
            }
            ["trace", "clear"] => {
                let n = self.trace_records().len();
                self.trace.frozen.clear();
                self.trace.events.clear();
                self.trace.dropped = 0;
                self.trace.start = self.history.as_ref().map_or(0, |h| h.end());
                format!("cleared {n} records")
            }
            ["trace", "show"] => self.trace_show(20),
            ["trace", "show", n] => match parse_u32(n) {
                Some(n) => self.trace_show(n as usize),
                None => "error: usage: monitor trace show [N]".into(),
            },
            ["trace", "size", n] => match parse_u32(n) {
                Some(n) if n > MAX_TRACE_RING => {
                    format!("error: the trace keeps at most {MAX_TRACE_RING} records (each one is made, and held, when shown or saved)")
                }
                Some(n) if n > 0 => {
                    self.trace.capacity = n as usize;
                    while self.trace.frozen.len() > self.trace.capacity {
                        self.trace.frozen.pop_front();
                        self.trace.dropped += 1;
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
                Ok(()) => {
                    self.profiling = true;
                    "profiling on".into()
                }
                Err(e) => format!("error: {e}"),
            },
            ["profile", "off"] => {
                let _ = self.vm.set_profiling(false);
                self.profiling = false;
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
                let data = crate::analysis::profiler::profile_data(&self.vm);
                let json = crate::analysis::profile_report::speedscope_json(&data, &self.program);
                match self.create_saved_file(path).and_then(|mut f| {
                    std::io::Write::write_all(&mut f, json.as_bytes()).map_err(|e| format!("writing {path}: {e}"))
                }) {
                    Ok(()) => format!("saved the profile ({} instructions) to {path} (speedscope JSON)", data.total_instructions),
                    Err(e) => format!("error: {e}"),
                }
            }
            ["profile", ..] => "error: usage: monitor profile on|off|reset|report [N]|save PATH".into(),
            _ => return None,
        })
    }

    fn trace_on(&mut self) -> String {
        if self.trace.on {
            return format!("tracing is on already (ring of {} records)", self.trace.capacity);
        }
        if self.history.is_none() {
            if let Err(e) = self.start_recording() {
                return format!("error: {e}");
            }
            self.trace.owns_history = true;
        }
        self.trace.on = true;
        self.trace.start = self.history.as_ref().map_or(0, |h| h.end());
        format!("tracing on (ring of {} records)", self.trace.capacity)
    }

    /// The newest `capacity` records traced, oldest first, and how many
    /// fell out before them.
    pub(crate) fn trace_records(&mut self) -> Vec<TraceRecord> {
        let mut records: Vec<TraceRecord> = self.trace.frozen.iter().cloned().collect();
        if self.trace.on {
            records.extend(self.live_trace_records());
        }
        let extra = records.len().saturating_sub(self.trace.capacity);
        records.drain(..extra);
        records
    }

    /// Records that fell out of the ring (and those `trace_records` left out).
    fn trace_dropped(&self) -> u64 {
        let live = match (&self.history, self.trace.on) {
            (Some(h), true) => h.end().saturating_sub(self.trace.start),
            _ => 0,
        };
        let total = self.trace.frozen.len() as u64 + live;
        self.trace.dropped + total.saturating_sub(self.trace.capacity as u64)
    }

    /// The records of the traced stretch of the current recording (the newest `capacity`).
    fn live_trace_records(&mut self) -> Vec<TraceRecord> {
        let cap = self.trace.capacity as u64;
        let Some(h) = &mut self.history else { return Vec::new() };
        let end = h.end();
        let from = self.trace.start.max(end.saturating_sub(cap));
        let mut records = match h.trace_records(from, end) {
            Ok(r) => r,
            Err(e) => {
                log::warn!("re-executing the trace window: {e}");
                Vec::new()
            }
        };
        for (index, event) in &self.trace.events {
            if let Some(r) = index.checked_sub(from).and_then(|k| records.get_mut(k as usize)) {
                r.events.push(*event);
            }
        }
        records
    }

    /// Makes the records of the current recording's traced stretch for good
    /// (before the recording goes away, or when tracing stops).
    pub(crate) fn freeze_trace(&mut self) {
        if !self.trace.on {
            return;
        }
        let live = self.live_trace_records();
        let dropped = self.trace_dropped();
        self.trace.frozen.extend(live);
        while self.trace.frozen.len() > self.trace.capacity {
            self.trace.frozen.pop_front();
        }
        self.trace.dropped = dropped;
        self.trace.events.clear();
        self.trace.start = self.history.as_ref().map_or(0, |h| h.end());
    }

    /// An event the stub saw on the instruction that just retired.
    pub(crate) fn trace_event(&mut self, event: FluxEvent) {
        if let (true, Some(h)) = (self.trace.on, &self.history) {
            self.trace.events.push((h.now().saturating_sub(1), event));
        }
    }

    fn trace_show(&mut self, n: usize) -> String {
        let records = self.trace_records();
        if records.is_empty() {
            return "no trace records (monitor trace on, then run)".into();
        }
        let start = records.len().saturating_sub(n);
        let mut lines: Vec<String> = records[start..].iter().map(trace_format::text_line).collect();
        let dropped = self.trace_dropped();
        if dropped > 0 {
            lines.push(format!("({dropped} older records fell out of the ring of {})", self.trace.capacity));
        }
        lines.join("\n")
    }

    fn trace_save(&mut self, path: &str, format: TraceFormat) -> String {
        // refused paths are refused before the records are made
        let Some(save_dir) = self.save_dir.clone() else {
            return format!("error: {path}: no save directory (serve --save-dir DIR)");
        };
        if let Err(e) = save_dir.resolve(path) {
            return format!("error: {e}");
        }
        let records = self.trace_records();
        let result = match format {
            TraceFormat::Codetracer => {
                let create = |relative: &Path| save_dir.create_file_in(path, relative).map_err(crate::analysis::codetracer::CodeTracerError::from);
                crate::analysis::codetracer::write_codetracer_with(Path::new(path), &self.program, &records, &create).map_err(|e| e.to_string())
            }
            TraceFormat::Text | TraceFormat::Json => save_dir.create_file(path).map_err(|e| e.to_string()).and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                let r = if format == TraceFormat::Text {
                    trace_format::write_text(&mut w, &records)
                } else {
                    trace_format::write_json_lines(&mut w, &records)
                };
                r.and_then(|_| std::io::Write::flush(&mut w)).map_err(|e| format!("writing {path}: {e}"))
            }),
        };
        match result {
            Ok(()) => {
                let dropped = self.trace_dropped();
                let dropped = if dropped > 0 { format!("; {dropped} older records had fallen out") } else { String::new() };
                format!("saved {} records to {path}{dropped}", records.len())
            }
            Err(e) => format!("error: {e}"),
        }
    }

    fn profile_report(&self, top: usize) -> String {
        let data = crate::analysis::profiler::profile_data(&self.vm);
        if data.total_instructions == 0 {
            return "no profile yet (monitor profile on, then run)".into();
        }
        crate::analysis::profile_report::report(&data, &self.program, top)
    }
}
