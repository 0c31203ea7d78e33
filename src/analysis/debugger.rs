//! The debugger core as a library: breakpoints with FLUX-aware conditions,
//! checked against `VmState` snapshots.  The stub is built on the same types,
//! and every condition is evaluated by the one evaluator in runtime-c
//! (`flux_cond_eval`), whether it is checked here on a snapshot or inside the
//! VM's dispatch loop.
use std::fmt;

use crate::runtime::condition::{CmpOp, Condition, Operand, Value};
use crate::analysis::trace_buffer::TraceBuffer;
use crate::runtime::vm::{Stop, StopKind, Vm, VmError};

pub use crate::runtime::vm_state::VmState;

/// Memory access width for memory conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemWidth {
    W8,
    W16,
    W32,
}

/// When a breakpoint fires.  Every variant is a form of the condition
/// language (`Condition`), which is what gets evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum BreakCondition {
    /// The confidence of the last result is below `threshold`.
    ConfidenceBelow { threshold: f32 },
    /// The energy left is below `threshold`.
    EnergyBelow { threshold: i64 },
    /// Register `reg` compared with `value`.
    Register { reg: u8, op: CmpOp, value: i32 },
    /// The confidence of register `reg` is below `threshold`.
    RegisterConfidenceBelow { reg: u8, threshold: f32 },
    /// The memory word at `addr` compared with `value`.
    Memory { addr: u16, width: MemWidth, op: CmpOp, value: u32 },
    /// Trust in `agent` is below `threshold`.
    TrustBelow { agent: u8, threshold: f32 },
    /// Any condition of the language, e.g. `Condition::parse("conf1 < 0.6 && r2 == 3")`.
    Expr(Condition),
}

impl BreakCondition {
    pub fn to_condition(&self) -> Condition {
        match self {
            BreakCondition::ConfidenceBelow { threshold } => {
                Condition::single(Operand::Confidence, CmpOp::Lt, Value::Frac(*threshold))
            }
            BreakCondition::EnergyBelow { threshold } => Condition::single(Operand::Energy, CmpOp::Lt, Value::Int(*threshold)),
            BreakCondition::Register { reg, op, value } => {
                Condition::single(Operand::Reg(*reg), *op, Value::Int(*value as i64))
            }
            BreakCondition::RegisterConfidenceBelow { reg, threshold } => {
                Condition::single(Operand::Conf(*reg), CmpOp::Lt, Value::Frac(*threshold))
            }
            BreakCondition::Memory { addr, width, op, value } => {
                let operand = match width {
                    MemWidth::W8 => Operand::Mem8(*addr),
                    MemWidth::W16 => Operand::Mem16(*addr),
                    MemWidth::W32 => Operand::Mem32(*addr),
                };
                Condition::single(operand, *op, Value::Int(*value as i64))
            }
            BreakCondition::TrustBelow { agent, threshold } => {
                Condition::single(Operand::Trust(*agent), CmpOp::Lt, Value::Frac(*threshold))
            }
            BreakCondition::Expr(c) => c.clone(),
        }
    }
}

impl fmt::Display for BreakCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_condition())
    }
}

/// A breakpoint: an address and, optionally, a condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakpoint {
    /// Assigned by `Debugger::add_breakpoint` (0 until then).
    pub id: u32,
    pub addr: u32,
    pub condition: Option<BreakCondition>,
    pub enabled: bool,
    pub hits: u64,
}

impl Breakpoint {
    /// An unconditional breakpoint.
    pub fn new(addr: u32) -> Breakpoint {
        Breakpoint { id: 0, addr, condition: None, enabled: true, hits: 0 }
    }

    pub fn with_condition(addr: u32, condition: BreakCondition) -> Breakpoint {
        Breakpoint { condition: Some(condition), ..Breakpoint::new(addr) }
    }

    /// Whether this breakpoint fires on `state`.
    pub fn fires(&self, state: &VmState) -> bool {
        self.enabled
            && state.pc == self.addr
            && self.condition.as_ref().is_none_or(|c| state.satisfies(&c.to_condition()))
    }
}

/// What made the debugger stop.
#[derive(Debug, Clone, PartialEq)]
pub enum DebugEvent {
    /// A breakpoint fired; `condition` is the condition that held, if any.
    BreakpointHit { id: u32, pc: u32, condition: Option<String> },
    /// A `watch-if` condition became true.
    ConditionMet { id: u32, pc: u32, condition: String },
    /// Energy fell below the warning level.
    ApoptosisWarning { pc: u32, energy: i64, level: i64 },
    /// A TRUST_CHECK failed.
    TrustCheckFailed { pc: u32, agent: u32, score: f32, threshold: f32 },
}

/// Why a watch condition exists.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchPurpose {
    /// `watch-if COND`.
    Condition,
    /// `apoptosis-warn LEVEL`: energy first falls below LEVEL.
    ApoptosisWarning { level: i64 },
}

/// A condition checked after every instruction; it fires when it turns true.
#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    pub id: u32,
    pub condition: Condition,
    pub once: bool,
    pub purpose: WatchPurpose,
    pub hits: u64,
}

/// Breakpoints, watch conditions, tracing and profiling.  It works on
/// `VmState` snapshots (`check_breakpoints`) and arms the same conditions
/// inside a running `Vm` (`add_breakpoint_to`, `add_watch_to`), where the
/// runtime checks them without leaving its loop.
#[derive(Debug, Default)]
pub struct Debugger {
    breakpoints: Vec<Breakpoint>,
    watches: Vec<Watch>,
    next_id: u32,
    pub(crate) trace: TraceBuffer,
}

impl Debugger {
    pub fn new() -> Debugger {
        Debugger { breakpoints: Vec::new(), watches: Vec::new(), next_id: 1, trace: TraceBuffer::default() }
    }

    fn take_id(&mut self) -> u32 {
        let id = self.next_id.max(1);
        self.next_id = id + 1;
        id
    }

    /// Adds a breakpoint and arms it in `vm`; returns its id.
    pub fn add_breakpoint_to(&mut self, vm: &mut Vm, bp: Breakpoint) -> Result<u32, VmError> {
        let cond = bp.condition.as_ref().map(|c| c.to_condition());
        let addr = bp.addr;
        let id = self.add_breakpoint(bp);
        if let Err(e) = vm.add_cond_breakpoint(id, addr, cond.as_ref()) {
            self.breakpoints.retain(|b| b.id != id);
            return Err(e);
        }
        Ok(id)
    }

    /// Adds a watch condition and arms it in `vm`; returns its id.
    pub fn add_watch_to(&mut self, vm: &mut Vm, condition: Condition, purpose: WatchPurpose) -> Result<u32, VmError> {
        let id = self.take_id();
        let once = matches!(purpose, WatchPurpose::ApoptosisWarning { .. });
        vm.add_watch_condition(id, &condition, once)?;
        self.watches.push(Watch { id, condition, once, purpose, hits: 0 });
        Ok(id)
    }

    pub fn watches(&self) -> &[Watch] {
        &self.watches
    }

    /// Removes breakpoint or watch `id`, here and in `vm`; false when there is none.
    pub fn remove_from(&mut self, vm: &mut Vm, id: u32) -> bool {
        vm.remove_cond_breakpoint(id);
        vm.remove_watch_condition(id);
        let before = self.breakpoints.len() + self.watches.len();
        self.breakpoints.retain(|b| b.id != id);
        self.watches.retain(|w| w.id != id);
        before != self.breakpoints.len() + self.watches.len()
    }

    /// Removes every breakpoint and watch; returns how many there were.
    pub fn clear_from(&mut self, vm: &mut Vm) -> usize {
        let ids: Vec<u32> = self.breakpoints.iter().map(|b| b.id).chain(self.watches.iter().map(|w| w.id)).collect();
        for &id in &ids {
            self.remove_from(vm, id);
        }
        ids.len()
    }

    /// Arms every breakpoint and watch in a fresh `vm` (after a reset the VM
    /// keeps them; a new VM does not).
    pub fn arm(&self, vm: &mut Vm) -> Result<(), VmError> {
        for b in &self.breakpoints {
            vm.add_cond_breakpoint(b.id, b.addr, b.condition.as_ref().map(|c| c.to_condition()).as_ref())?;
        }
        for w in &self.watches {
            vm.add_watch_condition(w.id, &w.condition, w.once)?;
        }
        Ok(())
    }

    /// The event a VM stop means, counting the hit (a one-shot watch is forgotten).
    pub fn event_for(&mut self, stop: &Stop, vm: &Vm) -> Option<DebugEvent> {
        match stop.kind {
            StopKind::CondBreakpoint { id } => {
                let bp = self.breakpoints.iter_mut().find(|b| b.id == id)?;
                bp.hits += 1;
                Some(DebugEvent::BreakpointHit { id, pc: stop.pc, condition: bp.condition.as_ref().map(|c| c.to_string()) })
            }
            StopKind::WatchCondition { id } => {
                let w = self.watches.iter_mut().find(|w| w.id == id)?;
                w.hits += 1;
                let event = match w.purpose {
                    WatchPurpose::Condition => DebugEvent::ConditionMet { id, pc: stop.pc, condition: w.condition.to_string() },
                    WatchPurpose::ApoptosisWarning { level } => {
                        DebugEvent::ApoptosisWarning { pc: stop.pc, energy: vm.regs().energy, level }
                    }
                };
                if w.once {
                    self.watches.retain(|w| w.id != id);
                }
                Some(event)
            }
            StopKind::TrustFail => {
                let last = vm.trust_log().last().copied()?;
                Some(DebugEvent::TrustCheckFailed { pc: last.pc, agent: last.agent, score: last.score, threshold: last.threshold })
            }
            _ => None,
        }
    }

    /// Adds a breakpoint (for `check_breakpoints` on snapshots) and returns its id.
    pub fn add_breakpoint(&mut self, mut bp: Breakpoint) -> u32 {
        bp.id = self.take_id();
        let id = bp.id;
        self.breakpoints.push(bp);
        id
    }

    /// Removes breakpoint `id` (from the snapshot checks only); false when there is none.
    pub fn remove_breakpoint(&mut self, id: u32) -> bool {
        let before = self.breakpoints.len();
        self.breakpoints.retain(|b| b.id != id);
        before != self.breakpoints.len()
    }

    pub fn breakpoints(&self) -> &[Breakpoint] {
        &self.breakpoints
    }

    /// The first breakpoint that fires on `state`, counting the hit.
    pub fn check_breakpoints(&mut self, state: &VmState) -> Option<DebugEvent> {
        let bp = self.breakpoints.iter_mut().find(|b| b.fires(state))?;
        bp.hits += 1;
        Some(DebugEvent::BreakpointHit {
            id: bp.id,
            pc: state.pc,
            condition: bp.condition.as_ref().map(|c| c.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_readme_walkthrough() {
        let mut debugger = Debugger::new();
        debugger.add_breakpoint(Breakpoint::with_condition(0x100, BreakCondition::ConfidenceBelow { threshold: 0.3 }));
        let mut state = VmState::new();
        state.pc = 0x100;
        state.opcode = 0x04;
        state.confidence = 0.1;
        let event = debugger.check_breakpoints(&state);
        assert_eq!(event, Some(DebugEvent::BreakpointHit { id: 1, pc: 0x100, condition: Some("confidence < 0.3".into()) }));
        state.confidence = 0.5;
        assert_eq!(debugger.check_breakpoints(&state), None);
        state.pc = 0x104;
        state.confidence = 0.1;
        assert_eq!(debugger.check_breakpoints(&state), None);
    }

    #[test]
    fn every_condition_kind() {
        let mut s = VmState::new();
        s.registers[2] = 7;
        s.confidences[3] = 0.25;
        s.energy = 50;
        s.memory = vec![0; 0x10000];
        s.memory[0x8000] = 9;
        s.trust = vec![0.0; 256];
        s.trust[4] = 0.2;
        let holds = |c: BreakCondition| s.satisfies(&c.to_condition());
        assert!(holds(BreakCondition::EnergyBelow { threshold: 51 }));
        assert!(!holds(BreakCondition::EnergyBelow { threshold: 50 }));
        assert!(holds(BreakCondition::Register { reg: 2, op: CmpOp::Eq, value: 7 }));
        assert!(holds(BreakCondition::RegisterConfidenceBelow { reg: 3, threshold: 0.3 }));
        assert!(holds(BreakCondition::Memory { addr: 0x8000, width: MemWidth::W32, op: CmpOp::Eq, value: 9 }));
        assert!(holds(BreakCondition::TrustBelow { agent: 4, threshold: 0.5 }));
        assert!(holds(BreakCondition::Expr(Condition::parse("r2 > 100 || conf3 <= 0.25 && mem8[0x8000] == 9").unwrap())));
        assert!(!holds(BreakCondition::Expr(Condition::parse("r2 > 100 || conf3 <= 0.25 && mem8[0x8000] == 8").unwrap())));
        // Without memory in the snapshot, memory comparisons are false.
        let mut bare = s.clone();
        bare.memory.clear();
        assert!(!bare.satisfies(&BreakCondition::Memory { addr: 0x8000, width: MemWidth::W8, op: CmpOp::Eq, value: 9 }.to_condition()));
    }
}
