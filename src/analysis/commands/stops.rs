//! The last stop in words (what `monitor why` says, and what a DAP client
//! shows as a stop's description): [`Session::record_stop`].
use super::flux::condition_values;
use crate::analysis::debugger::DebugEvent;
use crate::analysis::session::{describe_list, gdb_bp_of, LastStop, Session};
use crate::program::disasm::instruction_at;
use crate::runtime::condition::Condition;
use crate::runtime::vm::{Signal, Stop, StopKind};

impl Session {
    /// Adds a sentence to what `monitor why` says of the last stop.
    pub fn last_stop_note(&mut self, note: &str) {
        if let Some(l) = &mut self.last_stop {
            l.description = format!("{}; {note}", l.description);
        }
    }

    /// Records a stop for `monitor why`.
    pub fn record_stop(&mut self, stop: &Stop, signal: Option<Signal>) {
        let insn = instruction_at(&self.vm, stop.pc);
        let description = match &stop.kind {
            StopKind::Breakpoint => format!("breakpoint at 0x{:04X}: {insn}", stop.pc),
            StopKind::Watchpoint { addr, write, .. } => format!(
                "watchpoint: {} of 0x{addr:04X}; stopped after the instruction, now at 0x{:04X}: {insn}",
                if *write { "write" } else { "read" },
                stop.pc
            ),
            StopKind::Brk => format!("BRK: SIGTRAP, now at 0x{:04X}: {insn}", stop.pc),
            StopKind::Halted { code } => format!("exited with code {code} (HALT at 0x{:04X})", stop.pc),
            StopKind::Fault { signal, reason } if reason.starts_with("deadlock") => {
                // who waits on whom
                let waits: Vec<String> = self
                    .vm
                    .agents()
                    .iter()
                    .map(|a| format!("agent {} {} at 0x{:04X}", a.id, a.state, a.pc))
                    .collect();
                format!("{signal} at 0x{:04X}: {insn}: {reason}; {}", stop.pc, waits.join("; "))
            }
            StopKind::Fault { signal, reason } => format!("{signal} at 0x{:04X}: {insn}: {reason}", stop.pc),
            StopKind::Terminated { signal, reason } => format!("terminated by {signal}: {reason}"),
            StopKind::CondBreakpoint { id } if gdb_bp_of(*id).is_some() => {
                let key = gdb_bp_of(*id).unwrap_or_default();
                let conds = self.gdb_bytecode.get(&key).map(|c| describe_list(&c.conditions)).unwrap_or_default();
                match self.vm.ax_last() {
                    Ok(()) => format!("breakpoint at 0x{:04X}: gdb's condition {conds} held (evaluated by the stub): {insn}", stop.pc),
                    Err(e) => format!(
                        "breakpoint at 0x{:04X}: gdb's condition {conds} could not be evaluated by the stub ({e}), so gdb evaluates it: {insn}",
                        stop.pc
                    ),
                }
            }
            StopKind::CondBreakpoint { .. } | StopKind::WatchCondition { .. } | StopKind::TrustFail => {
                match self.event_for(stop) {
                    Some(event) => self.describe_event(&event, &insn),
                    None => format!("SIGTRAP at 0x{:04X}: {insn}", stop.pc),
                }
            }
            StopKind::Blocked => format!(
                "agent {} at 0x{:04X} is {}; scheduler-locking keeps the other agents stopped: {insn}",
                stop.agent,
                stop.pc,
                self.vm.agents().iter().find(|a| a.id == stop.agent).map_or("blocked".to_string(), |a| a.state.to_string())
            ),
            StopKind::Budget | StopKind::Output | StopKind::TraceFull => match signal {
                Some(Signal::Int) => format!("interrupted (SIGINT) at 0x{:04X}: {insn}", stop.pc),
                _ => format!("stepped to 0x{:04X}: {insn}", stop.pc),
            },
        };
        self.last_stop = Some(LastStop { stop: stop.clone(), signal, description });
    }

    /// `monitor why` for a stub-side stop.
    pub fn describe_event(&self, event: &DebugEvent, insn: &str) -> String {
        match event {
            DebugEvent::BreakpointHit { id, pc, condition } => match condition {
                Some(text) => {
                    let values = Condition::parse(text).map(|c| condition_values(&self.vm, &c)).unwrap_or_default();
                    format!("breakpoint {id} at 0x{pc:04X}: {text} {values}")
                }
                None => format!("breakpoint {id} at 0x{pc:04X}: {insn}"),
            },
            DebugEvent::ConditionMet { id, pc, condition } => {
                let values = Condition::parse(condition).map(|c| condition_values(&self.vm, &c)).unwrap_or_default();
                format!("watch {id}: {condition} {values}; stopped after the instruction that made it true, now at 0x{pc:04X}: {insn}")
            }
            DebugEvent::ApoptosisWarning { pc, energy, level } => {
                format!("apoptosis warning: energy {energy} left, below {level}, at 0x{pc:04X}: {insn}")
            }
            DebugEvent::TrustCheckFailed { pc, agent, score, threshold } => format!(
                "trust check failed at 0x{pc:04X}: agent {agent} has trust {score:.2} < threshold {threshold:.2}; now at 0x{:04X}: {insn}",
                self.vm.pc()
            ),
        }
    }
}
