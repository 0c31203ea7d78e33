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
            ["record", "on"] => match &self.history {
                Some(_) => "already recording".into(),
                None => match self.start_recording() {
                    Ok(()) => format!("recording from here (instruction 0, pc=0x{:04X})", self.vm.pc()),
                    Err(e) => format!("error: {e}"),
                },
            },
            ["record", "off"] if self.trace.on => "tracing reads the recording: monitor trace off first".into(),
            ["record", "off"] => match self.history.take() {
                Some(h) => {
                    self.vm.log_inputs(false);
                    format!("recording off: {} instructions of history dropped", h.end())
                }
                None => "not recording".into(),
            },
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
            ["goto", n] => {
                let Some(n) = parse_u32(n).map(u64::from).or_else(|| n.parse::<u64>().ok()) else {
                    return Some(format!("usage: monitor goto N (an instruction index), not '{n}'"));
                };
                let Some(h) = &mut self.history else {
                    return Some("not recording: nothing to go to".into());
                };
                if n > h.end() {
                    return Some(format!("instruction {n} is past the end of the history ({})", h.end()));
                }
                if n < h.begin() {
                    return Some(format!("instruction {n} is before the start of the history ({}): the record limit dropped it", h.begin()));
                }
                h.before_resume(&mut self.vm);
                if let Err(e) = h.goto(&mut self.vm, n) {
                    return Some(format!("error: {e}"));
                }
                format!(
                    "at instruction {n}, pc=0x{:04X} (gdb caches registers: `maintenance flush register-cache` shows the new ones)",
                    self.vm.pc()
                )
            }
            ["replay", "save", path] => match &self.history {
                Some(h) => {
                    let (begin, end) = (h.begin(), h.end());
                    let bytes = match crate::analysis::recording::Recording::from_history(&self.program, self.vm.config(), self.vm.schedule(), h)
                        .and_then(|r| r.to_bytes())
                    {
                        Ok(b) => b,
                        Err(e) => return Some(format!("error: {e}")),
                    };
                    match self.create_saved_file(path).and_then(|mut f| {
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

impl FluxTarget {
    /// Loads a replay file: the VM starts where the recording started, and
    /// the whole recorded run is in the history, so gdb can move freely
    /// through it (values come from the file: its start state holds the RNG).
    pub fn replay_from(&mut self, rec: &crate::analysis::recording::Recording) -> Result<(), crate::analysis::recording::ReplayError> {
        use crate::runtime::vm::{StopKind, PAGE_SIZE};
        rec.verify()?;
        let runner = crate::analysis::recording::Runner::new(rec)?;
        self.vm.set_schedule(rec.schedule);
        self.vm.load_state(&runner.vm.save_state())?;
        self.vm.write_mem(0, runner.vm.memory_view())?;
        self.start_recording()?;
        let end = rec.instructions();
        let mut patches = rec.patches().into_iter().peekable();
        let h = self.history.as_mut().expect("recording just started");
        loop {
            if let Some((at, state, pages)) = patches.peek() {
                if *at == h.now() {
                    self.vm.load_state(state)?;
                    for (p, bytes) in pages {
                        self.vm.write_mem((p * PAGE_SIZE) as u32, bytes)?;
                        h.note_memory_write((p * PAGE_SIZE) as u32, PAGE_SIZE);
                    }
                    h.note_register_write();
                    patches.next();
                    continue;
                }
            }
            if h.now() >= end {
                break;
            }
            h.before_resume(&mut self.vm);
            let until = patches.peek().map_or(end, |(at, _, _)| *at);
            let stop = self.vm.run(h.run_budget(until - h.now()));
            h.after_run(&mut self.vm, &stop);
            self.vm.take_output();
            if stop.executed == 0 && !matches!(stop.kind, StopKind::Output | StopKind::Brk | StopKind::Budget) {
                break; // ended (a patch at this index is applied above)
            }
        }
        h.before_resume(&mut self.vm);
        h.goto(&mut self.vm, 0)?;
        self.replay = Some(std::sync::Arc::new(rec.clone()));
        Ok(())
    }
}
