//! Running the VM between gdb packets.
//!
//! The VM runs in slices on the stub's own thread; between slices we peek at
//! the connection, so Ctrl-C (or anything else gdb sends) is seen within one
//! slice — about a millisecond — even in a tight loop.
use gdbstub::common::Signal as GdbSignal;
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::MultiThreadStopReason;
use gdbstub::target::ext::base::reverse_exec::ReplayLogPosition;
use gdbstub::target::ext::breakpoints::WatchKind;

use super::base::{tid, to_gdb_signal};
use super::{ExecMode, FluxTarget, TargetError};
use crate::analysis::session::ReverseEnd;
use crate::runtime::vm::{Signal, Stop, StopKind};

/// Instructions per slice of a `continue`.
pub const SLICE: u64 = 1 << 20;

pub enum FluxEventLoop<C> {
    #[allow(dead_code)]
    Never(std::marker::PhantomData<C>),
}

type StopReason = MultiThreadStopReason<u32>;

/// What the run loop asks of gdb's connection while the VM runs.
pub trait LoopIo {
    /// Whether gdb has sent something (Ctrl-C, a packet).
    fn incoming(&mut self) -> bool;
    /// Text for gdb's console (agent-style dprintf): `O` packets, which gdb
    /// prints while the target keeps running.
    fn console(&mut self, text: &[u8]);
}

impl<F: FnMut() -> bool> LoopIo for F {
    fn incoming(&mut self) -> bool {
        self()
    }

    fn console(&mut self, text: &[u8]) {
        log::info!("dprintf: {}", String::from_utf8_lossy(text).trim_end());
    }
}

/// gdb's connection as the run loop sees it.
struct ConnIo<'a, C: ConnectionExt> {
    conn: &'a mut C,
}

impl<C: ConnectionExt> LoopIo for ConnIo<'_, C> {
    fn incoming(&mut self) -> bool {
        // A connection error counts as "something came in": the read then
        // reports it, and the server keeps the VM for the next gdb.
        self.conn.peek().map(|b| b.is_some()).unwrap_or(true)
    }

    fn console(&mut self, text: &[u8]) {
        for chunk in text.chunks(512) {
            if write_console_packet(self.conn, chunk).is_err() {
                log::warn!("dprintf text not sent to gdb: the connection failed");
                return;
            }
        }
    }
}

/// `$O<hex>#<checksum>`: console output gdb prints while the target runs.
fn write_console_packet<C: ConnectionExt>(conn: &mut C, text: &[u8]) -> Result<(), C::Error> {
    let mut body = Vec::with_capacity(1 + 2 * text.len());
    body.push(b'O');
    for b in text {
        body.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    let sum = body.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    conn.write(b'$')?;
    conn.write_all(&body)?;
    conn.write_all(format!("#{sum:02x}").as_bytes())?;
    conn.flush()
}

impl FluxTarget {
    /// Runs as gdb asked until there is a stop to report; `incoming` is asked
    /// between slices whether gdb has sent something.
    pub fn run_until_stop(&mut self, mut io: impl LoopIo) -> Result<Option<StopReason>, TargetError> {
        if let Some(sig) = self.take_pending_signal() {
            if matches!(sig, Signal::Ill | Signal::Segv | Signal::Fpe | Signal::Abrt | Signal::Xcpu) && !self.session.vm.finished() {
                // FLUX programs have no signal handlers: delivering one ends the program.
                let reason = format!("killed by {sig} delivered from the debugger");
                let stop = Stop { kind: StopKind::Terminated { signal: sig, reason }, pc: self.session.vm.pc(), executed: 0, agent: self.session.vm.current_agent() };
                self.session.record_stop(&stop, Some(sig));
                return Ok(Some(MultiThreadStopReason::Terminated(to_gdb_signal(sig))));
            }
        }
        match self.exec_mode() {
            ExecMode::ReverseStep | ExecMode::ReverseContinue => return self.run_reverse(),
            ExecMode::Step | ExecMode::Continue => {}
        }
        let step = self.exec_mode() == ExecMode::Step;
        // scheduler-locking: the named agent runs, alone
        let plan = self.plan;
        let step_agent = plan.step;
        if plan.locked {
            if let Some(a) = plan.step.or(plan.cont) {
                if self.session.vm.select_agent(a) == Some(true) {
                    // a patch: its state says who runs from here
                    if let Some(h) = &mut self.session.history {
                        h.note_register_write();
                        h.before_resume(&mut self.session.vm);
                    }
                }
            }
            self.session.vm.lock_scheduler(true);
        }
        self.session.before_resume();
        let result = self.run_loop(step, step_agent, &mut io);
        if plan.locked {
            // a locked run that kept an agent past its slice went where
            // re-execution would not: what it left is a change of the debugger's
            if self.session.vm.lock_scheduler(false) {
                if let Some(h) = &mut self.session.history {
                    h.note_register_write();
                }
            }
        }
        result
    }

    fn run_loop(&mut self, step: bool, step_agent: Option<u32>, io: &mut impl LoopIo) -> Result<Option<StopReason>, TargetError> {
        let mut executed = 0u64;
        let mut polls = 0u32;
        loop {
            let want = if step { 1 } else { SLICE };
            let stop = self.session.run_slice(want, &mut |text| io.console(text))?;
            executed += stop.executed;
            // a step of one agent while the others may run: it is done when
            // that agent ran an instruction
            let stepped = step && executed >= 1 && step_agent.is_none_or(|a| a == stop.agent);
            if step && !stepped && stop.executed >= 1 && matches!(stop.kind, StopKind::Budget | StopKind::Output | StopKind::TraceFull) {
                executed = 0;
                polls += 1;
                if polls % 4096 == 0 && io.incoming() {
                    return Ok(None);
                }
                continue;
            }
            let reason = match &stop.kind {
                StopKind::Budget | StopKind::Output | StopKind::TraceFull | StopKind::Breakpoint if stepped => {
                    Some(self.done_step(stop.agent))
                }
                StopKind::Output | StopKind::TraceFull => continue,
                StopKind::Budget => {
                    if io.incoming() {
                        return Ok(None);
                    }
                    continue;
                }
                _ => Some(self.stop_reason(&stop)),
            };
            self.session.record_stop(&stop, stop_signal(&stop));
            return Ok(reason);
        }
    }

    /// The thread a stop is reported on: the agent, or while it has ended
    /// (it halted in a step) the first live one.
    fn report_agent(&self, agent: u32) -> u32 {
        let agents = self.session.vm.agents();
        if agents.iter().any(|a| a.id == agent) {
            agent
        } else {
            agents.first().map_or(agent, |a| a.id)
        }
    }

    /// A program with one agent is reported as before agents existed (plain
    /// `S` packets for signals); with more, every stop names its thread.
    fn single_agent(&self) -> bool {
        self.session.vm.agents().len() <= 1
    }

    fn signal_stop(&self, agent: u32, signal: GdbSignal) -> StopReason {
        if self.single_agent() {
            MultiThreadStopReason::Signal(signal)
        } else {
            MultiThreadStopReason::SignalWithThread { tid: tid(self.report_agent(agent)), signal }
        }
    }

    /// A step's stop names its thread even with one agent: only a `T`
    /// reply carries the expedited registers (pc, sp, fp), which spare gdb
    /// a `g` after every stepi.
    fn done_step(&self, agent: u32) -> StopReason {
        MultiThreadStopReason::SignalWithThread { tid: tid(self.report_agent(agent)), signal: GdbSignal::SIGTRAP }
    }

    /// What gdb is told about a stop (not Budget/Output: those go on).
    fn stop_reason(&self, stop: &Stop) -> StopReason {
        let t = tid(self.report_agent(stop.agent));
        match &stop.kind {
            StopKind::Breakpoint => {
                if self.session.hw_breakpoints.contains(&stop.pc) && !self.session.sw_breakpoints.contains(&stop.pc) {
                    MultiThreadStopReason::HwBreak(t)
                } else {
                    MultiThreadStopReason::SwBreak(t)
                }
            }
            StopKind::Watchpoint { addr, write, .. } => MultiThreadStopReason::Watch {
                tid: t,
                kind: if *write { WatchKind::Write } else { WatchKind::Read },
                addr: *addr,
            },
            // one of gdb's breakpoints whose condition held (or could not be evaluated)
            StopKind::CondBreakpoint { id } if super::breakpoints::gdb_bp_of(*id).is_some() => {
                match super::breakpoints::gdb_bp_of(*id) {
                    Some((_, true)) => MultiThreadStopReason::HwBreak(t),
                    _ => MultiThreadStopReason::SwBreak(t),
                }
            }
            StopKind::Brk | StopKind::CondBreakpoint { .. } | StopKind::WatchCondition { .. } | StopKind::TrustFail | StopKind::Blocked => {
                self.signal_stop(stop.agent, GdbSignal::SIGTRAP)
            }
            StopKind::Halted { code } => MultiThreadStopReason::Exited(*code),
            StopKind::Fault { signal, .. } => self.signal_stop(stop.agent, to_gdb_signal(*signal)),
            StopKind::Terminated { signal, .. } => MultiThreadStopReason::Terminated(to_gdb_signal(*signal)),
            StopKind::Budget | StopKind::Output | StopKind::TraceFull => self.done_step(stop.agent),
        }
    }

    /// reverse-stepi / reverse-continue over the recorded history.
    fn run_reverse(&mut self) -> Result<Option<StopReason>, TargetError> {
        let begin = MultiThreadStopReason::ReplayLog { tid: None, pos: ReplayLogPosition::Begin };
        let agent = self.plan.step.unwrap_or_else(|| self.session.vm.current_agent());
        let step = (self.exec == ExecMode::ReverseStep).then_some(agent);
        let result = match self.session.run_reverse(step)? {
            ReverseEnd::NoHistory => {
                let stop = Stop { kind: StopKind::Budget, pc: self.session.vm.pc(), executed: 0, agent: self.session.vm.current_agent() };
                self.session.record_stop(&stop, None);
                self.session.last_stop_note("no recorded history: start recording with `monitor record on` or `serve --record`");
                return Ok(Some(begin));
            }
            ReverseEnd::Stepped => Some(None),
            ReverseEnd::Stopped(stop) => Some(Some(stop)),
            ReverseEnd::Begin => None,
        };
        // the agent reverse-stepped may wait for its turn: its own pc
        let shown = if self.session.vm.agent_regs(agent).is_some() { agent } else { self.session.vm.current_agent() };
        let pc = self.session.vm.agent_regs(shown).map_or(self.session.vm.pc(), |r| r.pc);
        Ok(Some(match result {
            Some(None) => {
                let stop = Stop { kind: StopKind::Budget, pc, executed: 0, agent: shown };
                self.session.record_stop(&stop, None);
                self.done_step(shown)
            }
            Some(Some(stop)) => {
                let reason = self.stop_reason(&stop);
                self.session.record_stop(&stop, stop_signal(&stop));
                reason
            }
            None => {
                let stop = Stop { kind: StopKind::Budget, pc, executed: 0, agent: shown };
                self.session.record_stop(&stop, None);
                self.session.last_stop_note("the start of the recorded history");
                begin
            }
        }))
    }

    /// The stop gdb's Ctrl-C produces.
    pub fn interrupted(&mut self) -> StopReason {
        let agent = self.session.vm.current_agent();
        let stop = Stop { kind: StopKind::Budget, pc: self.session.vm.pc(), executed: 0, agent };
        self.session.record_stop(&stop, Some(Signal::Int));
        self.signal_stop(agent, GdbSignal::SIGINT)
    }
}


fn stop_signal(stop: &Stop) -> Option<Signal> {
    match &stop.kind {
        StopKind::Fault { signal, .. } | StopKind::Terminated { signal, .. } => Some(*signal),
        StopKind::Brk
        | StopKind::Breakpoint
        | StopKind::Watchpoint { .. }
        | StopKind::CondBreakpoint { .. }
        | StopKind::WatchCondition { .. }
        | StopKind::TrustFail
        | StopKind::Blocked => Some(Signal::Trap),
        _ => None,
    }
}

impl<C: ConnectionExt> BlockingEventLoop for FluxEventLoop<C> {
    type Target = FluxTarget;
    type Connection = C;
    type StopReason = StopReason;

    fn wait_for_stop_reason(
        target: &mut FluxTarget,
        conn: &mut C,
    ) -> Result<Event<StopReason>, WaitForStopReasonError<TargetError, <C as Connection>::Error>> {
        let got = target.run_until_stop(ConnIo { conn: &mut *conn }).map_err(WaitForStopReasonError::Target)?;
        match got {
            Some(reason) => Ok(Event::TargetStopped(reason)),
            None => {
                let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                Ok(Event::IncomingData(byte))
            }
        }
    }

    fn on_interrupt(target: &mut FluxTarget) -> Result<Option<StopReason>, TargetError> {
        Ok(Some(target.interrupted()))
    }
}
