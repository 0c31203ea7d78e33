//! Running a [`Session`] as a source-level debugger asks: continue, step one
//! instruction of an agent, step over a call, step out of a function, and
//! step back over a call, plus the call stack those steps are about.  gdb
//! does these client-side over `stepi` and breakpoints; a front-end without
//! such a client (the DAP server) asks here.
//!
//! A step over a CALL (or out of a function) runs to the return address with
//! a temporary breakpoint there whose condition `sp >= S` holds only once
//! the frame is gone, so recursion does not stop it early; the condition is
//! checked inside the VM, as every stub-side condition is.
use crate::analysis::session::{ReverseEnd, Session};
use crate::program::disasm::{self, Decoded};
use crate::program::source_map::SourceMap;
use crate::runtime::condition::{CmpOp, Condition, Operand, Value};
use crate::runtime::isa;
use crate::runtime::vm::{Stop, StopKind, Vm, VmError};

/// The id of the temporary breakpoint of a step (in the VM's table of
/// conditional breakpoints; the stub-side ones count from 1, gdb's have
/// the top bit).
pub const STEP_BP_ID: u32 = 0x4000_0000;

/// Instructions per slice of a run: between slices the front-end is asked
/// whether to stop (a pause request).
pub const SLICE: u64 = 1 << 20;

/// The most frames [`backtrace`] unwinds.
pub const MAX_FRAMES: usize = 4096;

/// What a front-end says while the VM runs.
pub trait RunControl {
    /// Asked between slices: true to stop (a pause).
    fn interrupted(&mut self) -> bool;
    /// Text of breakpoint commands (gdb's dprintf).
    fn console(&mut self, _text: &[u8]) {}
    /// A stop the front-end passes over (a log point, a hit count not yet
    /// reached): true to run on.  `reverse` when going backwards.
    fn pass(&mut self, _vm: &Vm, _stop: &Stop, _reverse: bool) -> bool {
        false
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    /// The step asked for is done; the agent stepped.
    Stepped { agent: u32 },
    /// A stop the step or run did not ask for (a breakpoint, a fault, the end).
    Stopped(Stop),
    /// The front-end asked to stop ([`RunControl::interrupted`]).
    Interrupted { agent: u32 },
    /// Going back reached the start of the recorded history.
    HistoryBegin { agent: u32 },
    /// Going back without a recorded history.
    NoHistory,
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Vm(#[from] VmError),
    #[error("passing the program's output on: {0}")]
    Output(#[from] std::io::Error),
    #[error("{0} is the outermost function: there is no caller to step out to")]
    Outermost(String),
    #[error("agent {0} does not exist")]
    NoAgent(u32),
}

/// One frame of an agent's call stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The function's one name ([`crate::program::names`]), `??` outside every function.
    pub function: String,
    /// Its first instruction.
    pub entry: u32,
    /// Where the frame is: pc in frame 0, the return address in the others.
    pub pc: u32,
    /// sp in this frame.
    pub sp: u32,
    /// sp once this frame has returned (its canonical frame address).
    pub cfa: Option<u32>,
    /// The source line: of pc in frame 0, of the call in the others (as gdb's `bt` shows).
    pub line: Option<usize>,
}

/// The call stack of `agent`, innermost first, unwound with the same rules
/// as the DWARF call-frame information gdb reads (see `debuginfo`): the
/// return address sits above the bytes the function has pushed.
pub fn backtrace(map: &SourceMap, vm: &Vm, agent: u32) -> Vec<Frame> {
    let Some(regs) = vm.agent_regs(agent) else { return Vec::new() };
    let (mut pc, mut sp) = (regs.pc, regs.sp);
    let mut frames = Vec::new();
    while frames.len() < MAX_FRAMES {
        let line = if frames.is_empty() {
            map.line_of(pc)
        } else {
            map.instruction_before(pc).and_then(|i| map.line_of(i.addr))
        };
        let Some(f) = map.function_at(pc) else {
            frames.push(Frame { function: "??".into(), entry: pc, pc, sp, cfa: None, line });
            break;
        };
        let depth = map.depths.get(&pc).copied();
        let cfa = depth.filter(|_| !f.is_entry).and_then(|d| sp.checked_add(d as u32)?.checked_add(4));
        frames.push(Frame { function: f.name.clone(), entry: f.start, pc, sp, cfa, line });
        let Some(cfa) = cfa else { break };
        let Ok(ret) = vm.read_u32(cfa - 4) else { break };
        if !map.follows_call(ret) {
            break;
        }
        pc = ret;
        sp = cfa;
    }
    frames
}

fn sp_at_least(sp: u32) -> Condition {
    Condition::single(Operand::Sp, CmpOp::Ge, Value::Int(sp as i64))
}

fn sp_equal(sp: u32) -> Condition {
    Condition::single(Operand::Sp, CmpOp::Eq, Value::Int(sp as i64))
}

impl Session {
    fn agent_pc_sp(&self, agent: u32) -> Result<(u32, u32), StepError> {
        self.vm.agent_regs(agent).map(|r| (r.pc, r.sp)).ok_or(StepError::NoAgent(agent))
    }

    /// Runs every agent until a stop the front-end does not pass over.
    pub fn resume(&mut self, ctl: &mut dyn RunControl) -> Result<RunEnd, StepError> {
        self.before_resume();
        loop {
            let stop = self.run_slice(SLICE, &mut |t| ctl.console(t))?;
            match stop.kind {
                StopKind::Output | StopKind::TraceFull => {}
                StopKind::Budget => {
                    if ctl.interrupted() {
                        return Ok(RunEnd::Interrupted { agent: stop.agent });
                    }
                }
                _ if ctl.pass(&self.vm, &stop, false) => {}
                _ => return Ok(RunEnd::Stopped(stop)),
            }
        }
    }

    /// Runs until `agent` has run one instruction (the others take their
    /// turns meanwhile), into calls.
    pub fn step_instruction(&mut self, agent: u32, ctl: &mut dyn RunControl) -> Result<RunEnd, StepError> {
        self.agent_pc_sp(agent)?;
        self.before_resume();
        let mut polls = 0u32;
        loop {
            let stop = self.run_slice(1, &mut |t| ctl.console(t))?;
            let stepped = stop.executed >= 1 && stop.agent == agent;
            match stop.kind {
                StopKind::Budget | StopKind::Output | StopKind::TraceFull | StopKind::Breakpoint | StopKind::CondBreakpoint { .. }
                    if stepped =>
                {
                    return Ok(RunEnd::Stepped { agent })
                }
                StopKind::Budget | StopKind::Output | StopKind::TraceFull => {
                    polls += 1;
                    if polls % 4096 == 0 && ctl.interrupted() {
                        return Ok(RunEnd::Interrupted { agent });
                    }
                }
                _ if ctl.pass(&self.vm, &stop, false) => {}
                _ => return Ok(RunEnd::Stopped(stop)),
            }
        }
    }

    /// Runs until `agent` is at `addr` with sp at least `sp` (its frame at
    /// `addr` is the one meant, not a deeper one).
    fn run_to_frame(&mut self, agent: u32, addr: u32, sp: u32, ctl: &mut dyn RunControl) -> Result<RunEnd, StepError> {
        self.vm.add_cond_breakpoint(STEP_BP_ID, addr, Some(&sp_at_least(sp)))?;
        let end = self.resume(ctl);
        self.vm.remove_cond_breakpoint(STEP_BP_ID);
        Ok(match end? {
            RunEnd::Stopped(Stop { kind: StopKind::CondBreakpoint { id: STEP_BP_ID }, .. }) => RunEnd::Stepped { agent },
            other => other,
        })
    }

    /// One instruction of `agent`, over a call: a CALL runs until it returns.
    pub fn step_over(&mut self, agent: u32, ctl: &mut dyn RunControl) -> Result<RunEnd, StepError> {
        let (pc, sp) = self.agent_pc_sp(agent)?;
        let mut bytes = [0u8; 8];
        let n = bytes.len().min((crate::runtime::vm::MEM_SIZE - pc.min(crate::runtime::vm::MEM_SIZE)) as usize);
        let call = match self.vm.read_mem(pc, &mut bytes[..n]).ok().and_then(|_| disasm::decode(&bytes[..n], pc)) {
            Some(Decoded::Instruction(i)) if i.op.flow == isa::Flow::Call => Some(pc + i.len() as u32),
            _ => None,
        };
        match call {
            Some(ret) => self.run_to_frame(agent, ret, sp, ctl),
            None => self.step_instruction(agent, ctl),
        }
    }

    /// Runs until the function `agent` is in returns to its caller.
    pub fn step_out(&mut self, agent: u32, map: &SourceMap, ctl: &mut dyn RunControl) -> Result<RunEnd, StepError> {
        let frames = backtrace(map, &self.vm, agent);
        match (frames.first(), frames.get(1)) {
            (Some(inner), Some(caller)) => {
                let cfa = inner.cfa.unwrap_or(caller.sp);
                self.run_to_frame(agent, caller.pc, cfa, ctl)
            }
            (Some(inner), None) => Err(StepError::Outermost(inner.function.clone())),
            _ => Err(StepError::NoAgent(agent)),
        }
    }

    /// Goes back through the history to the previous stop the front-end
    /// does not pass over.
    pub fn reverse_resume(&mut self, ctl: &mut dyn RunControl) -> Result<RunEnd, StepError> {
        loop {
            let agent = self.vm.current_agent();
            match self.run_reverse(None)? {
                ReverseEnd::NoHistory => return Ok(RunEnd::NoHistory),
                ReverseEnd::Begin => return Ok(RunEnd::HistoryBegin { agent }),
                ReverseEnd::Stepped => return Ok(RunEnd::Stepped { agent }),
                ReverseEnd::Stopped(stop) if ctl.pass(&self.vm, &stop, true) => {}
                ReverseEnd::Stopped(stop) => return Ok(RunEnd::Stopped(stop)),
            }
        }
    }

    /// Goes back one instruction of `agent`, over a call: stepping back from
    /// a return address goes to the CALL, not into the callee's RET (gdb's
    /// reverse-nexti; every source line holds one instruction, so it is its
    /// reverse-next too).
    pub fn step_back(&mut self, agent: u32, map: &SourceMap, ctl: &mut dyn RunControl) -> Result<RunEnd, StepError> {
        let (pc0, sp0) = self.agent_pc_sp(agent)?;
        match self.run_reverse(Some(agent))? {
            ReverseEnd::NoHistory => return Ok(RunEnd::NoHistory),
            ReverseEnd::Begin => return Ok(RunEnd::HistoryBegin { agent }),
            _ => {}
        }
        let Ok((pc1, sp1)) = self.agent_pc_sp(agent) else { return Ok(RunEnd::Stepped { agent }) };
        let returned = sp1 == sp0.wrapping_sub(4)
            && matches!(disasm::decode(&self.vm.memory_view()[pc1 as usize..], pc1), Some(Decoded::Instruction(i)) if i.op.flow == isa::Flow::Return);
        let call = map.instruction_before(pc0).filter(|i| i.op.flow == isa::Flow::Call);
        let (true, Some(call)) = (returned, call) else { return Ok(RunEnd::Stepped { agent }) };
        // back into the callee: on to the CALL, in this frame
        self.vm.add_cond_breakpoint(STEP_BP_ID, call.addr, Some(&sp_equal(sp0)))?;
        let end = self.reverse_resume(ctl);
        self.vm.remove_cond_breakpoint(STEP_BP_ID);
        Ok(match end? {
            RunEnd::Stopped(Stop { kind: StopKind::CondBreakpoint { id: STEP_BP_ID }, .. }) => RunEnd::Stepped { agent },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::load::Program;
    use crate::runtime::vm::VmConfig;

    struct Quiet;
    impl RunControl for Quiet {
        fn interrupted(&mut self) -> bool {
            false
        }
    }

    const FIB: &str = include_str!("../../examples/fibonacci.fasm");

    fn session() -> (Session, SourceMap) {
        let a = crate::program::asm::assemble(FIB).unwrap();
        let p = Program { path: "fibonacci.fasm".into(), bytes: a.bytes.clone(), source: Some((FIB.into(), a)), symbols: Default::default(), elf_file: None };
        let map = SourceMap::of(&p);
        let mut s = Session::new(p, VmConfig::default(), Box::new(std::io::sink())).unwrap();
        s.record_from_start = true;
        s.start_recording().unwrap();
        (s, map)
    }

    #[test]
    fn over_out_and_back_over_a_recursive_call() {
        let (mut s, map) = session();
        let agent = s.vm.current_agent();
        // LOAD_IMM, then CALL fib: over it, fib(20) returns 6765 in r0
        assert_eq!(s.step_over(agent, &mut Quiet).unwrap(), RunEnd::Stepped { agent });
        assert_eq!(s.step_over(agent, &mut Quiet).unwrap(), RunEnd::Stepped { agent });
        let r = s.vm.regs();
        assert_eq!((r.pc, r.r[0], map.line_of(r.pc)), (9, 6765, Some(7)));
        // back over the call: at the CALL again, r0 as before it
        assert_eq!(s.step_back(agent, &map, &mut Quiet).unwrap(), RunEnd::Stepped { agent });
        assert_eq!((s.vm.pc(), s.vm.regs().r[0], map.line_of(s.vm.pc())), (6, 0, Some(6)));
        // into fib twice (the CALL, then CMP..JL..PUSH..DECR..CALL) and out of the inner one
        s.step_instruction(agent, &mut Quiet).unwrap();
        assert_eq!(s.vm.pc(), 0x0C);
        for _ in 0..5 {
            s.step_instruction(agent, &mut Quiet).unwrap();
        }
        let bt = backtrace(&map, &s.vm, agent);
        let names: Vec<(&str, u32, Option<usize>)> = bt.iter().map(|f| (f.function.as_str(), f.pc, f.line)).collect();
        assert_eq!(names, [("fib", 0x0C, Some(10)), ("fib", 0x1B, Some(14)), ("start", 0x09, Some(6))]);
        assert_eq!(s.step_out(agent, &map, &mut Quiet).unwrap(), RunEnd::Stepped { agent });
        // fib(19) = 4181 returned to the outer fib, after its first CALL
        assert_eq!((s.vm.pc(), s.vm.regs().r[0]), (0x1B, 4181));
        assert_eq!(backtrace(&map, &s.vm, agent).len(), 2);
        // the outermost function has no caller
        s.step_out(agent, &map, &mut Quiet).unwrap();
        assert!(matches!(s.step_out(agent, &map, &mut Quiet), Err(StepError::Outermost(f)) if f == "start"));
    }
}
