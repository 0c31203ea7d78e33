//! One debugging session: a running program and everything a debugger does
//! to it, whichever front-end asks (the gdb target holds one, `run` drives
//! one headless): the VM and the program, the stub-side breakpoints and
//! watch conditions, gdb's breakpoints with their agent expressions, the
//! recorded history (reverse execution), a replay file served, the trace
//! window, profiling, the apoptosis warning, and where files may be saved.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::debugger::{DebugEvent, Debugger, WatchPurpose};
use crate::analysis::history::{History, ReverseStop};
use crate::analysis::recording::Recording;
use crate::analysis::trace_buffer::{TraceStream, TraceWriteError};
use crate::analysis::trace_format::{self, TraceFormat};
use crate::analysis::trace_window::{TraceWindow, MAX_TRACE_RING};
use crate::program::load::Program;
use crate::program::save_path::SaveDir;
use crate::runtime::condition::{Condition, Operand};
use crate::runtime::records::{FluxEvent, TraceRecord};
use crate::runtime::vm::{Outcome, Signal, Stop, StopKind, Vm, VmConfig, VmError};

/// Ids of gdb's breakpoints in the VM's table of conditional breakpoints:
/// this bit, the Z1 bit, the address (the stub-side ones count from 1).
pub const GDB_BP_ID: u32 = 0x8000_0000;
const GDB_BP_HW: u32 = 0x1_0000;

/// The agent expressions gdb sent with one of its breakpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GdbBytecode {
    pub conditions: Vec<Vec<u8>>,
    pub commands: Vec<Vec<u8>>,
}

/// gdb's breakpoints that carry agent expressions, by (address, Z1).
pub type GdbBytecodeMap = BTreeMap<(u32, bool), GdbBytecode>;

/// The VM id of gdb's breakpoint at `addr` (Z1 when `hw`).
pub fn gdb_bp_id(addr: u32, hw: bool) -> u32 {
    GDB_BP_ID | if hw { GDB_BP_HW } else { 0 } | (addr & 0xFFFF)
}

/// (address, Z1) of a VM id made by [`gdb_bp_id`]; None for a stub-side one.
pub fn gdb_bp_of(id: u32) -> Option<(u32, bool)> {
    (id & GDB_BP_ID != 0).then_some((id & 0xFFFF, id & GDB_BP_HW != 0))
}

/// `r1 == 3 || r2 == 4`: a breakpoint's conditions in words ("any of them").
pub fn describe_list(conditions: &[Vec<u8>]) -> String {
    if conditions.is_empty() {
        return "none".into();
    }
    let parts: Vec<String> = conditions.iter().map(|c| crate::runtime::agent_expr::describe(c)).collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        parts.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(" || ")
    }
}

/// Where [`Session::run_reverse`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ReverseEnd {
    /// Not recording: there is no history to go back into.
    NoHistory,
    /// One instruction back.
    Stepped,
    /// At a stop found going back.
    Stopped(Stop),
    /// The start of the history: nothing further back.
    Begin,
}

/// The stops a reverse-continue stops at: breakpoints and watchpoints, a
/// debugger's and the stub-side ones.
fn counts_in_reverse(stop: &Stop) -> bool {
    matches!(
        stop.kind,
        StopKind::Breakpoint | StopKind::Watchpoint { .. } | StopKind::CondBreakpoint { .. } | StopKind::WatchCondition { .. }
    )
}

/// The last stop, in the words `monitor why` uses (see
/// [`crate::analysis::commands`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LastStop {
    pub stop: Stop,
    pub signal: Option<Signal>,
    pub description: String,
}

/// A program under a debugger.
pub struct Session {
    pub vm: Vm,
    pub program: Program,
    /// Stub-side breakpoints and watch conditions (armed in the VM).
    pub debugger: Debugger,
    /// Breakpoints a debugger set by address (gdb's Z0 and Z1).
    pub sw_breakpoints: BTreeSet<u32>,
    pub hw_breakpoints: BTreeSet<u32>,
    /// gdb's breakpoints with conditions or commands (agent expressions).
    pub gdb_bytecode: GdbBytecodeMap,
    /// `trace on`: the newest instructions, made from the recording.
    pub trace: TraceWindow,
    /// `profile on`: the VM counts every instruction it runs.
    pub profiling: bool,
    /// Calls and returns per agent for an evented speedscope file
    /// (`run --profile`, `monitor profile save`), fed from the VM's profile
    /// events after every run while profiling (see [`Session::arm_timeline`]).
    pub timeline: Option<crate::analysis::profile_report::Timeline>,
    /// The most call events a timeline keeps (`monitor profile events N`).
    pub profile_event_limit: u64,
    /// The VM's profile events taken after a run (kept for its capacity).
    prof_events: Vec<crate::runtime::records::ProfEvent>,
    /// The recorded history while recording (`--record`, `record on`).
    pub history: Option<History>,
    /// The last resume was one step back: [`Session::idle`] makes the next
    /// one ready.
    stepped_back: bool,
    /// Record from the start of every run (`serve --record`).
    pub record_from_start: bool,
    /// The bound on a recording's memory (`--record-limit`).
    pub record_limit: u64,
    /// The replay file served (`serve --replay`): every start-over goes back to it.
    pub replay: Option<Arc<Recording>>,
    /// Where `... save PATH` may write (`serve --save-dir`); none: nowhere.
    pub save_dir: Option<Arc<SaveDir>>,
    /// The last stop in words (`monitor why`), made by `record_stop`.
    pub last_stop: Option<LastStop>,
    /// Where the program's output goes.
    output: Box<dyn Write + Send>,
}

impl Session {
    pub fn new(program: Program, config: VmConfig, output: Box<dyn Write + Send>) -> Result<Session, VmError> {
        let vm = Vm::with_program(&program.bytes, config)?;
        Ok(Session {
            vm,
            program,
            debugger: Debugger::new(),
            sw_breakpoints: BTreeSet::new(),
            hw_breakpoints: BTreeSet::new(),
            gdb_bytecode: Default::default(),
            trace: TraceWindow::default(),
            profiling: false,
            timeline: None,
            profile_event_limit: crate::analysis::profile_report::DEFAULT_MAX_EVENTS,
            prof_events: Vec::new(),
            history: None,
            stepped_back: false,
            record_from_start: false,
            record_limit: crate::analysis::history::DEFAULT_LIMIT,
            replay: None,
            save_dir: None,
            last_stop: None,
            output,
        })
    }

    /// Starts recording at the current state (instruction 0 of the history).
    pub fn start_recording(&mut self) -> Result<(), VmError> {
        let mut h = History::start(&mut self.vm)?;
        h.set_limit(self.record_limit);
        self.history = Some(h);
        Ok(())
    }

    /// Starts the program over; breakpoints and watchpoints stay, a profile
    /// starts again (profiling stays on).  Serving a
    /// replay file, start over is its start again; otherwise a new run gets a
    /// new recording (the trace keeps what it traced).
    pub fn restart(&mut self) {
        self.last_stop = None;
        self.vm.reset();
        if self.profiling {
            // a profile is of one run: its counts and timeline start again
            // with it (run together, the timeline's instruction indices
            // would go back to 0 inside open frames)
            self.profile_reset();
        }
        self.freeze_trace();
        if let Some(rec) = self.replay.clone() {
            if let Err(e) = self.replay_from(&rec) {
                log::warn!("replay not restarted: {e}");
            }
            return;
        }
        self.freeze_trace();
        if self.history.is_some() || self.record_from_start {
            if let Err(e) = self.start_recording() {
                log::warn!("recording not restarted: {e}");
                self.history = None;
            }
        }
    }

    /// Creates (or truncates) the file a debugger's `save PATH` names, inside
    /// the save directory (see [`crate::program::save_path`]).
    pub fn create_saved_file(&self, path: &str) -> Result<std::fs::File, String> {
        match &self.save_dir {
            Some(dir) => dir.create_file(path).map_err(|e| e.to_string()),
            None => Err(format!("{path}: no save directory (serve --save-dir DIR)")),
        }
    }

    /// Passes the program's output on.
    pub fn flush_output(&mut self) -> std::io::Result<()> {
        let text = self.vm.take_output();
        if !text.is_empty() {
            self.output.write_all(&text)?;
            self.output.flush()?;
        }
        Ok(())
    }

    /// `record on`: records from here (instruction 0).
    pub fn record_on(&mut self) -> String {
        match &self.history {
            Some(_) => "already recording".into(),
            None => match self.start_recording() {
                Ok(()) => format!("recording from here (instruction 0, pc=0x{:04X})", self.vm.pc()),
                Err(e) => format!("error: {e}"),
            },
        }
    }

    /// `record off`: the history is dropped (tracing reads it: not while tracing).
    pub fn record_off(&mut self) -> String {
        if self.trace.on {
            return "tracing reads the recording: monitor trace off first".into();
        }
        match self.history.take() {
            Some(h) => {
                self.vm.log_inputs(false);
                format!("recording off: {} instructions of history dropped", h.end())
            }
            None => "not recording".into(),
        }
    }

    /// Moves to instruction `n` of the recorded history, forwards or backwards.
    pub fn goto(&mut self, n: u64) -> String {
        let Some(h) = &mut self.history else {
            return "not recording: nothing to go to".into();
        };
        if n > h.end() {
            return format!("instruction {n} is past the end of the history ({})", h.end());
        }
        if n < h.begin() {
            return format!("instruction {n} is before the start of the history ({}): the record limit dropped it", h.begin());
        }
        h.before_resume(&mut self.vm);
        // going there re-runs stretches of the history: the profile must not count them
        let profiling = self.profiling;
        if profiling {
            let _ = self.vm.set_profiling(false);
        }
        let moved = h.goto(&mut self.vm, n);
        if profiling {
            let _ = self.vm.set_profiling(true);
        }
        if let Err(e) = moved {
            return format!("error: {e}");
        }
        format!(
            "at instruction {n}, pc=0x{:04X} (gdb caches registers: `maintenance flush register-cache` shows the new ones)",
            self.vm.pc()
        )
    }

    /// The history and the instruction the VM is at, for a question about
    /// all of it (what gdb changed becomes part of it first).
    fn history_for_query(&mut self) -> Result<(&History, u64), crate::analysis::queries::QueryError> {
        let h = self.history.as_mut().ok_or(crate::analysis::queries::QueryError::NotRecording)?;
        h.before_resume(&mut self.vm);
        let now = h.now();
        Ok((h, now))
    }

    fn text_at(&self) -> impl Fn(u32) -> String + '_ {
        |pc| crate::program::disasm::instruction_at(&self.vm, pc).split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// `monitor origin OPERAND`: where the value `operand` (of agent
    /// `agent`'s registers) holds now came from, one line per step.
    pub fn query_origin(&mut self, operand: &str, agent: u32) -> Result<Vec<String>, crate::analysis::queries::QueryError> {
        use crate::analysis::queries as q;
        let subject = q::Subject { operand: q::Operand::parse(operand)?, agent };
        let (h, now) = self.history_for_query()?;
        let o = q::origin(h, subject, now)?;
        let begin = h.begin();
        Ok(q::origin_lines(&o, begin, &self.text_at()))
    }

    /// `monitor last-write OPERAND [N]`: the last `n` writes before now, newest first.
    pub fn query_last_writes(&mut self, operand: &str, n: usize, agent: u32) -> Result<Vec<String>, crate::analysis::queries::QueryError> {
        use crate::analysis::queries as q;
        let subject = q::Subject { operand: q::Operand::parse(operand)?, agent };
        let (h, now) = self.history_for_query()?;
        let w = q::last_writes(h, subject, now, n)?;
        let text = self.text_at();
        let mut lines: Vec<String> = w.iter().map(|w| q::write_line(subject, w, &text)).collect();
        if lines.is_empty() {
            lines.push(format!("{subject}: not written before instruction {now}"));
        }
        Ok(lines)
    }

    /// `monitor history OPERAND`: every write over the whole history, oldest
    /// first, then their count.
    pub fn query_writes(&mut self, operand: &str, agent: u32) -> Result<Vec<String>, crate::analysis::queries::QueryError> {
        use crate::analysis::queries as q;
        let subject = q::Subject { operand: q::Operand::parse(operand)?, agent };
        let (h, _) = self.history_for_query()?;
        let w = q::writes(h, subject)?;
        let text = self.text_at();
        let mut lines: Vec<String> = w.iter().map(|w| q::write_line(subject, w, &text)).collect();
        lines.push(format!("{} writes", w.len()));
        Ok(lines)
    }

    /// `monitor calls [FUNCTION]`: every call (of one function), then their count.
    pub fn query_calls(&mut self, function: Option<&str>) -> Result<Vec<String>, crate::analysis::queries::QueryError> {
        use crate::analysis::queries as q;
        let (h, _) = self.history_for_query()?;
        let calls = q::calls(h)?;
        let mut lines = Vec::new();
        for c in &calls {
            let name = self.program.function_name(c.callee);
            if function.is_none_or(|f| f == name) {
                lines.push(q::call_line(c, &name));
            }
        }
        lines.push(format!("{} calls", lines.len()));
        Ok(lines)
    }

    /// Writes the recording to a replay file in the save directory.
    pub fn save_replay(&self, path: &str) -> String {
        match &self.history {
            Some(h) => {
                let (begin, end) = (h.begin(), h.end());
                let bytes = match Recording::from_history(&self.program, self.vm.config(), self.vm.schedule(), h)
                    .and_then(|r| r.to_bytes())
                {
                    Ok(b) => b,
                    Err(e) => return format!("error: {e}"),
                };
                match self.create_saved_file(path).and_then(|mut f| {
                    std::io::Write::write_all(&mut f, &bytes).map_err(|e| format!("writing {path}: {e}"))
                }) {
                    Ok(()) => format!("saved instructions {begin}..{end} to {path}"),
                    Err(e) => format!("error: {e}"),
                }
            }
            None => "not recording: nothing to save".into(),
        }
    }

    /// Before the VM runs again: the history notes what a debugger changed.
    pub fn before_resume(&mut self) {
        if let Some(h) = &mut self.history {
            h.before_resume(&mut self.vm);
        }
    }

    /// Runs up to `want` instructions, recorded (or re-executed from the
    /// history while it is behind its end); hands the text of breakpoint
    /// commands (dprintf) to `console`, then passes the program's output on,
    /// except output re-executed from the history, which was shown when it
    /// was recorded.
    pub fn run_slice(&mut self, want: u64, console: &mut dyn FnMut(&[u8])) -> std::io::Result<Stop> {
        let (stop, replayed) = match &mut self.history {
            Some(h) => {
                let replayed = h.replaying();
                let stop = self.vm.run(h.run_budget(want));
                h.after_run(&mut self.vm, &stop);
                (stop, replayed)
            }
            None => (self.vm.run(want), false),
        };
        self.take_profile_events();
        let text = self.vm.take_ax_output();
        if !text.is_empty() {
            console(&text);
        }
        if replayed {
            self.vm.take_output();
        } else {
            self.flush_output()?;
        }
        Ok(stop)
    }

    /// Goes back through the recorded history: one instruction of `step`'s
    /// agent, or (None) to the previous breakpoint, watchpoint or stub-side
    /// stop.
    pub fn run_reverse(&mut self, step: Option<u32>) -> Result<ReverseEnd, VmError> {
        self.stepped_back = step.is_some();
        let Some(h) = &mut self.history else { return Ok(ReverseEnd::NoHistory) };
        h.before_resume(&mut self.vm);
        // going back re-runs stretches of the history on this VM (its
        // breakpoints armed): the profile must not count them again
        if self.profiling {
            self.vm.set_profiling(false)?;
        }
        if let Some(agent) = step {
            let stepped = h.reverse_step_agent(&mut self.vm, agent);
            if self.profiling {
                self.vm.set_profiling(true)?;
            }
            return Ok(match stepped? {
                Some(_) => ReverseEnd::Stepped,
                None => ReverseEnd::Begin,
            });
        }
        let found = h.reverse_continue(&mut self.vm, counts_in_reverse);
        if self.profiling {
            self.vm.set_profiling(true)?;
        }
        Ok(match found? {
            ReverseStop::At { stop, .. } => ReverseEnd::Stopped(stop),
            ReverseStop::Begin => ReverseEnd::Begin,
        })
    }

    /// Whether there is work to do while the front-end waits for its
    /// client: after a step back, the next step back is made ready (the
    /// history re-runs its shadow VM to one instruction before now), so that
    /// it costs the client's round trip little more than a step forward.
    /// Nothing the client can see changes.
    pub fn has_idle_work(&self) -> bool {
        self.stepped_back
    }

    /// See [`Session::has_idle_work`]: makes the next step back ready.
    pub fn idle(&mut self) {
        if !std::mem::take(&mut self.stepped_back) {
            return;
        }
        if let Some(h) = &mut self.history {
            if let Err(e) = h.prepare_step_back() {
                log::warn!("preparing the next step back: {e}");
            }
        }
    }

    /// The stub-side event a stop is (a conditional breakpoint, a watch
    /// condition, an apoptosis warning, a failed trust check); the trace
    /// shows an apoptosis warning on the instruction that caused it.
    pub fn event_for(&mut self, stop: &Stop) -> Option<DebugEvent> {
        let event = self.debugger.event_for(stop, &self.vm)?;
        if let DebugEvent::ApoptosisWarning { energy, level, .. } = event {
            self.trace_event(FluxEvent::ApoptosisWarning { energy, level });
        }
        Some(event)
    }

    pub fn clear_apoptosis_warning(&mut self) {
        let ids: Vec<u32> = self
            .debugger
            .watches()
            .iter()
            .filter(|w| matches!(w.purpose, WatchPurpose::ApoptosisWarning { .. }))
            .map(|w| w.id)
            .collect();
        for id in ids {
            self.debugger.remove_from(&mut self.vm, id);
        }
    }

    /// Arms (or moves) the apoptosis warning; returns its watch id.
    pub fn set_apoptosis_warning(&mut self, level: i64) -> Result<u32, crate::runtime::vm::VmError> {
        self.clear_apoptosis_warning();
        let cond = Condition::single(Operand::Energy, crate::runtime::condition::CmpOp::Lt, crate::runtime::condition::Value::Int(level));
        self.debugger.add_watch_to(&mut self.vm, cond, WatchPurpose::ApoptosisWarning { level })
    }

    /// Loads a replay file: the VM starts where the recording started, and
    /// the whole recorded run is in the history, so gdb can move freely
    /// through it (values come from the file: its start state holds the RNG).
    pub fn replay_from(&mut self, rec: &crate::analysis::recording::Recording) -> Result<(), crate::analysis::recording::ReplayError> {
        // loading runs the whole recording on this VM: the profile must not count it
        let profiling = self.profiling;
        if profiling {
            let _ = self.vm.set_profiling(false);
        }
        let loaded = self.load_replay(rec);
        if profiling {
            let _ = self.vm.set_profiling(true);
        }
        loaded
    }

    fn load_replay(&mut self, rec: &crate::analysis::recording::Recording) -> Result<(), crate::analysis::recording::ReplayError> {
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

    /// `trace off`: keeps what was traced; drops a recording tracing started.
    pub fn trace_off(&mut self) -> String {
        self.freeze_trace();
        self.trace.on = false;
        if std::mem::take(&mut self.trace.owns_history) {
            self.history = None;
            self.vm.log_inputs(false);
        }
        format!("tracing off ({} records kept)", self.trace.ring.len())
    }

    pub fn trace_clear(&mut self) -> String {
        let n = self.trace_records().len();
        self.trace.ring.reset();
        self.trace.events.clear();
        self.trace.start = self.history.as_ref().map_or(0, |h| h.end());
        format!("cleared {n} records")
    }

    pub fn set_trace_size(&mut self, n: u32) -> String {
        if n > MAX_TRACE_RING {
            return format!("error: the trace keeps at most {MAX_TRACE_RING} records (each one is made, and held, when shown or saved)");
        }
        self.trace.ring.set_capacity(n as usize);
        format!("the trace keeps the newest {n} records")
    }

    /// Exact profiling on or off (the counts stay until `profile_reset`);
    /// on, the calls and returns are kept for a timeline too (see
    /// [`Session::arm_timeline`]).
    pub fn set_profiling(&mut self, on: bool) -> Result<(), VmError> {
        if on {
            self.vm.set_profiling(true)?;
            if self.timeline.is_none() {
                self.arm_timeline(self.profile_event_limit)?;
            }
        } else {
            let _ = self.vm.set_profiling(false);
        }
        self.profiling = on;
        Ok(())
    }

    /// Keeps a timeline of the profiled runs (at most `limit` call events):
    /// the VM logs each call, return and agent turn while profiling, and
    /// every run's events are taken after it.
    pub fn arm_timeline(&mut self, limit: u64) -> Result<(), VmError> {
        self.vm.set_profile_events(true)?;
        let mut scratch = Vec::new();
        self.vm.take_profile_events(&mut scratch);
        self.profile_event_limit = limit;
        self.timeline = Some(crate::analysis::profile_report::Timeline::new(limit));
        Ok(())
    }

    /// Feeds the VM's profile events to the timeline (after every run).
    fn take_profile_events(&mut self) {
        let Some(t) = self.timeline.as_mut().filter(|t| !t.overflowed) else { return };
        self.prof_events.clear();
        if self.vm.take_profile_events(&mut self.prof_events) > 0 {
            t.overflow();
        }
        t.feed(&self.prof_events);
        if t.overflowed {
            // past the limit the events are of no use: profile on without them
            let _ = self.vm.set_profile_events(false);
        }
    }

    /// `profile reset`: the counts and the timeline start again.
    pub fn profile_reset(&mut self) {
        self.vm.profile_reset();
        if self.timeline.is_some() {
            if let Err(e) = self.arm_timeline(self.profile_event_limit) {
                log::warn!("profile events: {e}");
                self.timeline = None;
            }
        }
    }

    /// `profile events N`: the most call events a timeline keeps.
    pub fn set_profile_event_limit(&mut self, limit: u64) -> String {
        self.profile_event_limit = limit;
        match &mut self.timeline {
            Some(t) if t.overflowed => format!(
                "the timeline keeps at most {limit} call events; this profile's were dropped past the old limit (monitor profile reset starts a new one)"
            ),
            Some(t) => {
                t.set_limit(limit);
                if t.overflowed {
                    format!("the timeline keeps at most {limit} call events; this profile has more: it will be saved as aggregated samples")
                } else {
                    format!("the timeline keeps at most {limit} call events")
                }
            }
            None => format!("the timeline keeps at most {limit} call events"),
        }
    }

    /// The profile as speedscope JSON, written to `path` in the save
    /// directory: evented (a timeline per agent) unless the timeline had
    /// more than its limit of call events, then aggregated samples, and the
    /// answer says so.
    pub fn save_profile(&self, path: &str) -> String {
        let data = crate::analysis::profiler::profile_data(&self.vm);
        let json = crate::analysis::profile_report::speedscope_json_with(&data, &self.program, self.timeline.as_ref());
        match self.create_saved_file(path).and_then(|mut f| {
            std::io::Write::write_all(&mut f, json.as_bytes()).map_err(|e| format!("writing {path}: {e}"))
        }) {
            Ok(()) => {
                let mut line = format!("saved the profile ({} instructions) to {path} (speedscope JSON)", data.total_instructions);
                if let Some(t) = self.timeline.as_ref().filter(|t| t.overflowed) {
                    line.push_str(&format!(
                        " as aggregated samples: more than {} call events (monitor profile events N raises the limit, monitor profile reset starts again)",
                        t.limit
                    ));
                }
                line
            }
            Err(e) => format!("error: {e}"),
        }
    }

    pub fn trace_on(&mut self) -> String {
        if self.trace.on {
            return format!("tracing is on already (ring of {} records)", self.trace.capacity());
        }
        if self.history.is_none() {
            if let Err(e) = self.start_recording() {
                return format!("error: {e}");
            }
            self.trace.owns_history = true;
        }
        self.trace.on = true;
        self.trace.start = self.history.as_ref().map_or(0, |h| h.end());
        format!("tracing on (ring of {} records)", self.trace.capacity())
    }

    /// The newest `capacity` records traced, oldest first, and how many
    /// fell out before them.
    pub fn trace_records(&mut self) -> Vec<TraceRecord> {
        let mut ring = self.trace.ring.clone();
        if self.trace.on {
            ring.extend(self.live_trace_records());
        }
        ring.into_vec()
    }

    /// Records that fell out of the ring (and those `trace_records` left out).
    pub fn trace_dropped(&self) -> u64 {
        let live = match (&self.history, self.trace.on) {
            (Some(h), true) => h.end().saturating_sub(self.trace.start),
            _ => 0,
        };
        self.trace.ring.dropped_after(live)
    }

    /// The records of the traced stretch of the current recording (the newest `capacity`).
    fn live_trace_records(&mut self) -> Vec<TraceRecord> {
        let cap = self.trace.capacity() as u64;
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
    pub fn freeze_trace(&mut self) {
        if !self.trace.on {
            return;
        }
        let live = self.live_trace_records();
        // the stretch may be longer than the ring: only its newest records were made
        let dropped = self.trace_dropped();
        self.trace.ring.extend(live);
        self.trace.ring.note_dropped(dropped.saturating_sub(self.trace.ring.dropped()));
        self.trace.events.clear();
        self.trace.start = self.history.as_ref().map_or(0, |h| h.end());
    }

    /// An event the stub saw on the instruction that just retired.
    pub fn trace_event(&mut self, event: FluxEvent) {
        if let (true, Some(h)) = (self.trace.on, &self.history) {
            self.trace.events.push((h.now().saturating_sub(1), event));
        }
    }

    pub fn trace_show(&mut self, n: usize) -> String {
        let records = self.trace_records();
        if records.is_empty() {
            return "no trace records (monitor trace on, then run)".into();
        }
        let start = records.len().saturating_sub(n);
        let mut lines: Vec<String> = records[start..].iter().map(trace_format::text_line).collect();
        let dropped = self.trace_dropped();
        if dropped > 0 {
            lines.push(format!("({dropped} older records fell out of the ring of {})", self.trace.capacity()));
        }
        lines.join("\n")
    }

    pub fn trace_save(&mut self, path: &str, format: TraceFormat) -> String {
        // refused paths are refused before the records are made
        let Some(save_dir) = self.save_dir.clone() else {
            return format!("error: {path}: no save directory (serve --save-dir DIR)");
        };
        if let Err(e) = save_dir.resolve(path) {
            return format!("error: {e}");
        }
        let records = self.trace_records();
        let create = || save_dir.create_file(path).map_err(|e| e.to_string());
        let create_in = |relative: &Path| save_dir.create_file_in(path, relative).map_err(crate::analysis::codetracer::CodeTracerError::from);
        let n = records.len();
        let result = TraceStream::with_files(path, format, &create, &create_in)
            .and_then(|mut stream| stream.push(records).and_then(|()| stream.finish(&self.program)).map_err(|e| e.to_string()));
        match result {
            Ok(()) => {
                let dropped = self.trace_dropped();
                let dropped = if dropped > 0 { format!("; {dropped} older records had fallen out") } else { String::new() };
                format!("saved {n} records to {path}{dropped}")
            }
            Err(e) => format!("error: {e}"),
        }
    }

    pub fn profile_report(&self, top: usize) -> String {
        let data = crate::analysis::profiler::profile_data(&self.vm);
        if data.total_instructions == 0 {
            return "no profile yet (monitor profile on, then run)".into();
        }
        crate::analysis::profile_report::report(&data, &self.program, top)
    }
}

/// What ends a headless run early (the program's own end is an [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Vm(#[from] VmError),
    /// Passing the program's output on failed.
    #[error(transparent)]
    Output(#[from] std::io::Error),
    #[error("writing {}: {error}", path.display())]
    Trace { path: PathBuf, error: String },
}

impl RunError {
    /// Writing the trace at `path` failed.
    pub fn trace(path: &Path, e: &TraceWriteError) -> RunError {
        RunError::Trace { path: path.into(), error: e.cause() }
    }
}

impl Session {
    /// Runs the program to its end without a debugger (`run`): its output
    /// passed on, the trace streamed to `trace`, each apoptosis warning
    /// handed to `on_warning` (the run goes on).
    pub fn run_to_end(&mut self, mut trace: Option<&mut TraceStream<'_>>, on_warning: &mut dyn FnMut(&DebugEvent)) -> Result<Outcome, RunError> {
        if trace.is_some() {
            self.vm.set_tracing(true)?;
        }
        loop {
            let stop = self.vm.run(u64::MAX);
            self.take_profile_events();
            self.flush_output()?;
            let event = self.debugger.event_for(&stop, &self.vm);
            let flux_event = match event {
                Some(DebugEvent::ApoptosisWarning { energy, level, .. }) => Some(FluxEvent::ApoptosisWarning { energy, level }),
                _ => None,
            };
            if let Some(t) = trace.as_deref_mut() {
                t.drain(&mut self.vm, flux_event).map_err(|e| RunError::trace(t.path(), &e))?;
            }
            match stop.kind {
                StopKind::Halted { code } => return Ok(Outcome::Exited(code)),
                StopKind::Fault { signal, reason } | StopKind::Terminated { signal, reason } => {
                    return Ok(Outcome::Signalled { signal, pc: stop.pc, reason })
                }
                _ => {
                    if let Some(e) = &event {
                        on_warning(e);
                    }
                }
            }
        }
    }

    /// The profile as speedscope JSON, written to `path` (`run --profile`).
    /// Evented (one profile per agent) when the timeline was armed before
    /// the run and did not overflow; aggregated samples otherwise.
    pub fn write_profile(&self, path: &Path) -> std::io::Result<()> {
        let data = crate::analysis::profiler::profile_data(&self.vm);
        let json = crate::analysis::profile_report::speedscope_json_with(&data, &self.program, self.timeline.as_ref());
        std::fs::write(path, json)
    }
}
