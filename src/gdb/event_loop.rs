//! Running the VM between gdb packets.
//!
//! The VM runs in slices on the stub's own thread; between slices we peek at
//! the connection, so Ctrl-C (or anything else gdb sends) is seen within one
//! slice — about a millisecond — even in a tight loop.
use gdbstub::common::Signal as GdbSignal;
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::SingleThreadStopReason;
use gdbstub::target::ext::breakpoints::WatchKind;

use super::base::to_gdb_signal;
use super::{ExecMode, FluxTarget, TargetError};
use crate::vm::{Signal, Stop, StopKind};

/// Instructions per slice of a `continue`.
pub const SLICE: u64 = 1 << 20;

pub enum FluxEventLoop<C> {
    #[allow(dead_code)]
    Never(std::marker::PhantomData<C>),
}

type StopReason = SingleThreadStopReason<u32>;

impl FluxTarget {
    /// Runs as gdb asked until there is a stop to report; `incoming` is asked
    /// between slices whether gdb has sent something.
    pub fn run_until_stop(&mut self, mut incoming: impl FnMut() -> bool) -> Result<Option<StopReason>, TargetError> {
        if let Some(sig) = self.take_pending_signal() {
            if matches!(sig, Signal::Ill | Signal::Segv | Signal::Fpe | Signal::Abrt | Signal::Xcpu) && !self.vm.finished() {
                // FLUX programs have no signal handlers: delivering one ends the program.
                let reason = format!("killed by {sig} delivered from the debugger");
                let stop = Stop { kind: StopKind::Terminated { signal: sig, reason }, pc: self.vm.pc(), executed: 0 };
                self.record_stop(&stop, Some(sig));
                return Ok(Some(SingleThreadStopReason::Terminated(to_gdb_signal(sig))));
            }
        }
        let step = self.exec_mode() == ExecMode::Step;
        let mut executed = 0u64;
        loop {
            let stop = self.vm.run(if step { 1 } else { SLICE });
            executed += stop.executed;
            self.flush_output()?;
            self.drain_trace();
            let reason = match &stop.kind {
                StopKind::Budget | StopKind::Output | StopKind::TraceFull | StopKind::Breakpoint if step && executed >= 1 => {
                    Some(SingleThreadStopReason::DoneStep)
                }
                StopKind::Output | StopKind::TraceFull => continue,
                StopKind::Budget => {
                    if incoming() {
                        return Ok(None);
                    }
                    continue;
                }
                StopKind::Breakpoint => {
                    if self.hw_breakpoints.contains(&stop.pc) && !self.sw_breakpoints.contains(&stop.pc) {
                        Some(SingleThreadStopReason::HwBreak(()))
                    } else {
                        Some(SingleThreadStopReason::SwBreak(()))
                    }
                }
                StopKind::Watchpoint { addr, write, .. } => Some(SingleThreadStopReason::Watch {
                    tid: (),
                    kind: if *write { WatchKind::Write } else { WatchKind::Read },
                    addr: *addr,
                }),
                StopKind::Brk | StopKind::CondBreakpoint { .. } | StopKind::WatchCondition { .. } | StopKind::TrustFail => {
                    Some(SingleThreadStopReason::Signal(GdbSignal::SIGTRAP))
                }
                StopKind::Halted { code } => Some(SingleThreadStopReason::Exited(*code)),
                StopKind::Fault { signal, .. } => Some(SingleThreadStopReason::Signal(to_gdb_signal(*signal))),
                StopKind::Terminated { signal, .. } => Some(SingleThreadStopReason::Terminated(to_gdb_signal(*signal))),
            };
            let signal = match &stop.kind {
                StopKind::Fault { signal, .. } | StopKind::Terminated { signal, .. } => Some(*signal),
                StopKind::Brk
                | StopKind::Breakpoint
                | StopKind::Watchpoint { .. }
                | StopKind::CondBreakpoint { .. }
                | StopKind::WatchCondition { .. }
                | StopKind::TrustFail => Some(Signal::Trap),
                _ => None,
            };
            self.record_stop(&stop, signal);
            return Ok(reason);
        }
    }

    /// The stop gdb's Ctrl-C produces.
    pub fn interrupted(&mut self) -> StopReason {
        let stop = Stop { kind: StopKind::Budget, pc: self.vm.pc(), executed: 0 };
        self.record_stop(&stop, Some(Signal::Int));
        SingleThreadStopReason::Signal(GdbSignal::SIGINT)
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
        // A connection error counts as "something came in": the read below then
        // reports it, and the server keeps the VM for the next gdb.
        let got = target
            .run_until_stop(|| conn.peek().map(|b| b.is_some()).unwrap_or(true))
            .map_err(WaitForStopReasonError::Target)?;
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
