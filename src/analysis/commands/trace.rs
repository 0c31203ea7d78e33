//! `monitor trace …` and `monitor profile …`: execution tracing into a
//! bounded ring, saved as text, JSON Lines or a CodeTracer directory; exact
//! profiling, reported in words or saved for speedscope.
//!
//! The ring is not filled as the program runs.  Tracing records the run
//! (see [`crate::analysis::history`]: checkpoints, a few percent of the run's time),
//! and the records of the newest `capacity` instructions are made when the
//! trace is shown or saved, by re-executing them on a VM with tracing on.
//! The VM is deterministic, so they are the records the run would have
//! made; a traced `continue` costs what a recorded one does.  The window and
//! the profile are the session's (see [`crate::analysis::session`]); this
//! file reads gdb's words.
use super::args::parse_u32;
use crate::analysis::session::Session;
use crate::analysis::trace_format::TraceFormat;

/// The largest `profile events N` a client may ask for: a client may change
/// the VM, not make the stub hold unbounded memory (320 MB of events here).
pub const MAX_PROFILE_EVENTS: u64 = 20_000_000;

pub const COMMANDS: &[(&str, &str)] = &[
    ("trace on|off|clear", "record every instruction (a ring of the newest)"),
    ("trace show [N]", "the last N records (default 20)"),
    ("trace save PATH [text|json|codetracer]", "write the ring out in the save directory (default text)"),
    ("trace size N", "keep the newest N records (default 100000, at most 10000000)"),
    ("profile on|off|reset", "count every instruction, per address and call path"),
    ("profile report [N]", "opcode frequency, hot paths, bottleneck analysis"),
    ("profile save PATH", "the profile as speedscope JSON (a timeline per agent), in the save directory"),
    ("profile events N", "the most call events a saved timeline holds (more: aggregated samples)"),
];

impl Session {
    pub(crate) fn trace_command(&mut self, words: &[&str]) -> Option<String> {
        let s = self;
        Some(match words {
            ["trace", "on"] => s.trace_on(),
            ["trace", "off"] => s.trace_off(),
            ["trace", "clear"] => s.trace_clear(),
            ["trace", "show"] => s.trace_show(20),
            ["trace", "show", n] => match parse_u32(n) {
                Some(n) => s.trace_show(n as usize),
                None => "error: usage: monitor trace show [N]".into(),
            },
            ["trace", "size", n] => match parse_u32(n) {
                Some(n) if n > 0 => s.set_trace_size(n),
                _ => "error: usage: monitor trace size N (N > 0)".into(),
            },
            ["trace", "save", path] => s.trace_save(path, TraceFormat::Text),
            ["trace", "save", path, fmt] => match TraceFormat::parse(fmt) {
                Some(f) => s.trace_save(path, f),
                None => format!("error: unknown trace format '{fmt}' (text, json, codetracer)"),
            },
            ["trace", ..] => "error: usage: monitor trace on|off|clear|show [N]|save PATH [text|json|codetracer]|size N".into(),
            ["profile", "on"] => match s.set_profiling(true) {
                Ok(()) => "profiling on".into(),
                Err(e) => format!("error: {e}"),
            },
            ["profile", "off"] => {
                let _ = s.set_profiling(false);
                "profiling off (the counts stay until `monitor profile reset`)".into()
            }
            ["profile", "reset"] => {
                s.profile_reset();
                "profile counts reset".into()
            }
            ["profile", "events", n] => match n.parse::<u64>() {
                Ok(n) if n > MAX_PROFILE_EVENTS => format!(
                    "error: a timeline keeps at most {MAX_PROFILE_EVENTS} call events (16 bytes each, held until saved)"
                ),
                Ok(n) => s.set_profile_event_limit(n),
                Err(_) => "error: usage: monitor profile events N (the most call events a saved timeline holds)".into(),
            },
            ["profile", "report"] => s.profile_report(10),
            ["profile", "report", n] => match parse_u32(n) {
                Some(n) => s.profile_report(n as usize),
                None => "error: usage: monitor profile report [N]".into(),
            },
            ["profile", "save", path] => s.save_profile(path),
            ["profile", ..] => "error: usage: monitor profile on|off|reset|report [N]|save PATH|events N".into(),
            _ => return None,
        })
    }
}
