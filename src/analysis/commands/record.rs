//! `monitor record …`, `when`, `goto N` and `replay save PATH`: the recorded
//! history (see [`crate::analysis::history`]) from gdb.
use super::args::parse_u32;
use crate::analysis::session::Session;

pub const COMMANDS: &[(&str, &str)] = &[
    ("record on|off|status", "record the run, so that gdb can go backwards (reverse-stepi, reverse-continue)"),
    ("when", "the current instruction index in the recorded history"),
    ("goto N", "move to instruction N of the recorded history, forwards or backwards"),
    ("replay save PATH", "write the recording to a replay file in the save directory (serve --replay PATH reads it)"),
];

impl Session {
    pub(crate) fn record_command(&mut self, words: &[&str]) -> Option<String> {
        Some(match words {
            ["record", "on"] => self.record_on(),
            ["record", "off"] => self.record_off(),
            ["record", "status"] | ["record"] => match &self.history {
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
            ["when"] => match &self.history {
                Some(h) => format!("instruction {} of {}..{} (pc=0x{:04X})", h.now(), h.begin(), h.end(), self.vm.pc()),
                None => "not recording".into(),
            },
            ["goto", n] => match parse_u32(n).map(u64::from).or_else(|| n.parse::<u64>().ok()) {
                Some(n) => self.goto(n),
                None => format!("usage: monitor goto N (an instruction index), not '{n}'"),
            },
            ["replay", "save", path] => self.save_replay(path),
            ["record", ..] | ["goto", ..] | ["replay", ..] | ["when", ..] => {
                "usage: monitor record on|off|status, monitor when, monitor goto N, monitor replay save PATH".into()
            }
            _ => return None,
        })
    }
}

