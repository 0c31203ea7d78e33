//! `monitor record …`, `when`, `goto N` and `replay save PATH`: the recorded
//! history (see [`crate::analysis::history`]) from gdb.
use super::args::parse_u32;
use super::FluxTarget;

pub const COMMANDS: &[(&str, &str)] = &[
    ("record on|off|status", "record the run, so that gdb can go backwards (reverse-stepi, reverse-continue)"),
    ("when", "the current instruction index in the recorded history"),
    ("goto N", "move to instruction N of the recorded history, forwards or backwards"),
    ("replay save PATH", "write the recording to a replay file in the save directory (serve --replay PATH reads it)"),
];

impl FluxTarget {
    pub(crate) fn record_monitor(&mut self, words: &[&str]) -> Option<String> {
        Some(match words {
            ["record", "on"] => match &self.session.history {
                Some(_) => "already recording".into(),
                None => match self.session.start_recording() {
                    Ok(()) => format!("recording from here (instruction 0, pc=0x{:04X})", self.session.vm.pc()),
                    Err(e) => format!("error: {e}"),
                },
            },
            ["record", "off"] if self.session.trace.on => "tracing reads the recording: monitor trace off first".into(),
            ["record", "off"] => match self.session.history.take() {
                Some(h) => {
                    self.session.vm.log_inputs(false);
                    format!("recording off: {} instructions of history dropped", h.end())
                }
                None => "not recording".into(),
            },
            ["record", "status"] | ["record"] => match &self.session.history {
                Some(h) => format!(
                    "recording: instructions {}..{} recorded, now at {}{}; {} checkpoints, {} bytes; {}",
                    h.begin(),
                    h.end(),
                    h.now(),
                    if h.replaying() { " (replaying)" } else { "" },
                    h.checkpoint_count(),
                    h.memory_bytes(),
                    h.limit_status()
                ),
                None => "not recording (monitor record on, or serve --record)".into(),
            },
            ["when"] => match &self.session.history {
                Some(h) => format!("instruction {} of {}..{} (pc=0x{:04X})", h.now(), h.begin(), h.end(), self.session.vm.pc()),
                None => "not recording".into(),
            },
            ["goto", n] => {
                let Some(n) = parse_u32(n).map(u64::from).or_else(|| n.parse::<u64>().ok()) else {
                    return Some(format!("usage: monitor goto N (an instruction index), not '{n}'"));
                };
                let Some(h) = &mut self.session.history else {
                    return Some("not recording: nothing to go to".into());
                };
                if n > h.end() {
                    return Some(format!("instruction {n} is past the end of the history ({})", h.end()));
                }
                if n < h.begin() {
                    return Some(format!("instruction {n} is before the start of the history ({}): the record limit dropped it", h.begin()));
                }
                h.before_resume(&mut self.session.vm);
                if let Err(e) = h.goto(&mut self.session.vm, n) {
                    return Some(format!("error: {e}"));
                }
                format!(
                    "at instruction {n}, pc=0x{:04X} (gdb caches registers: `maintenance flush register-cache` shows the new ones)",
                    self.session.vm.pc()
                )
            }
            ["replay", "save", path] => match &self.session.history {
                Some(h) => {
                    let (begin, end) = (h.begin(), h.end());
                    let bytes = match crate::analysis::recording::Recording::from_history(&self.session.program, self.session.vm.config(), self.session.vm.schedule(), h)
                        .and_then(|r| r.to_bytes())
                    {
                        Ok(b) => b,
                        Err(e) => return Some(format!("error: {e}")),
                    };
                    match self.session.create_saved_file(path).and_then(|mut f| {
                        std::io::Write::write_all(&mut f, &bytes).map_err(|e| format!("writing {path}: {e}"))
                    }) {
                        Ok(()) => format!("saved instructions {begin}..{end} to {path}"),
                        Err(e) => format!("error: {e}"),
                    }
                }
                None => "not recording: nothing to save".into(),
            },
            ["record", ..] | ["goto", ..] | ["replay", ..] | ["when", ..] => {
                "usage: monitor record on|off|status, monitor when, monitor goto N, monitor replay save PATH".into()
            }
            _ => return None,
        })
    }
}

