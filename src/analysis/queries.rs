//! Questions about the whole recorded history, answered at once: where a
//! value came from (`origin`), the last writes of a register or memory
//! operand (`last_writes`), every write of it (`writes`), every call
//! (`calls`).
//!
//! Answers come from the history's checkpoints.  A span (the instructions
//! between two checkpoints) is re-executed on a scratch VM with the trace on,
//! which says who ran each instruction and what it wrote, old and new (for
//! memory, under a write watchpoint instead, far cheaper).  For a
//! memory operand only the spans whose checkpoint marks say they may have
//! written its lines (`Checkpoint::written_before`, from the VM's 16-byte
//! write marks) are re-run, and the span after the last checkpoint.  A
//! register is written by almost every span: a register's question re-runs
//! spans latest first until it has its answer.
//!
//! A register or confidence counts as written by an instruction that changed
//! its value or confidence (as the trace records it); memory by every store,
//! whatever value it leaves.
use std::fmt;

use crate::analysis::history::{state_bytes, Checkpoint, History, ALL_LINES};
use crate::program::disasm::instruction_at;
use crate::runtime::isa::{self, Flow, Mode, Operand as Slot};
use crate::runtime::records::WriteRecord;
use crate::runtime::vm::{LineMarks, StopKind, Vm, VmConfig, VmError, WatchKind, LINE_SIZE, MEM_SIZE, NUM_REGS, PAGES, PAGE_SIZE};

/// What a question is about: `rN`, `confN`, `mem8[A]`, `mem16[A]`, `mem32[A]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operand {
    Reg(u8),
    Conf(u8),
    Mem { addr: u32, size: u8 },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("'{0}' is not an operand (rN, confN, mem8[A], mem16[A] or mem32[A])")]
    NotAnOperand(String),
    #[error("'{0}': no such register (r0-r15, conf0-conf15)")]
    NoSuchRegister(String),
    #[error("'{0}': outside memory (0x0000-0xFFFF)")]
    OutsideMemory(String),
    #[error("not recording (monitor record on, or serve --record)")]
    NotRecording,
    #[error("re-executing the history: {0}")]
    Vm(#[from] VmError),
}

fn parse_number(t: &str) -> Option<u64> {
    let t = t.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        t.parse().ok()
    }
}

impl Operand {
    pub fn parse(text: &str) -> Result<Operand, QueryError> {
        let t = text.trim();
        let bad = || QueryError::NotAnOperand(t.to_string());
        let reg = |digits: &str| -> Result<u8, QueryError> {
            let n: u64 = digits.parse().map_err(|_| bad())?;
            if n as usize >= NUM_REGS {
                return Err(QueryError::NoSuchRegister(t.to_string()));
            }
            Ok(n as u8)
        };
        if let Some(d) = t.strip_prefix("conf") {
            return Ok(Operand::Conf(reg(d)?));
        }
        if let Some(d) = t.strip_prefix('r') {
            return Ok(Operand::Reg(reg(d)?));
        }
        for (prefix, size) in [("mem8[", 1u8), ("mem16[", 2), ("mem32[", 4)] {
            if let Some(rest) = t.strip_prefix(prefix) {
                let inner = rest.strip_suffix(']').ok_or_else(bad)?;
                let addr = parse_number(inner).ok_or_else(bad)?;
                if addr + size as u64 > MEM_SIZE as u64 {
                    return Err(QueryError::OutsideMemory(t.to_string()));
                }
                return Ok(Operand::Mem { addr: addr as u32, size });
            }
        }
        Err(bad())
    }

    fn mem32(addr: u32) -> Option<Operand> {
        (addr as u64 + 4 <= MEM_SIZE as u64).then_some(Operand::Mem { addr, size: 4 })
    }

    /// Its value in `vm`, for agent `agent`'s registers.
    pub fn value_in(&self, vm: &Vm, agent: u32) -> Value {
        match *self {
            Operand::Reg(r) => Value::Int(vm.agent_regs(agent).map_or(0, |g| g.r[r as usize]) as i64),
            Operand::Conf(r) => Value::Conf(vm.agent_regs(agent).map_or(0.0, |g| g.conf[r as usize])),
            Operand::Mem { addr, size } => {
                let mut b = [0u8; 4];
                let _ = vm.read_mem(addr, &mut b[..size as usize]);
                Value::Int(u32::from_le_bytes(b) as i64)
            }
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Operand::Reg(r) => write!(f, "r{r}"),
            Operand::Conf(r) => write!(f, "conf{r}"),
            Operand::Mem { addr, size } => write!(f, "mem{}[0x{addr:04X}]", *size as u32 * 8),
        }
    }
}

/// A value of an operand: an integer (registers signed, memory unsigned) or
/// a confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(i64),
    Conf(f32),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Conf(c) => write!(f, "{c}"),
        }
    }
}

/// One instruction that wrote an operand.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// Its instruction index in the history (`monitor goto` takes it).
    pub index: u64,
    pub pc: u32,
    pub agent: u32,
    pub opcode: u8,
    pub old: Value,
    pub new: Value,
}

/// A question's subject: an operand, and for registers whose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject {
    pub operand: Operand,
    /// The agent whose registers (ignored for memory).
    pub agent: u32,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.operand)
    }
}

/// A span of the history: [start, end) re-executed from `cp`.
struct Span<'h> {
    cp: &'h Checkpoint,
    end: u64,
    /// Lines its instructions may have written.
    marks: LineMarks,
}

fn spans(h: &History) -> Vec<Span<'_>> {
    let cps = h.checkpoints();
    cps.iter()
        .enumerate()
        .map(|(i, cp)| match cps.get(i + 1) {
            Some(next) => Span { cp, end: next.index, marks: next.written_before },
            None => Span { cp, end: h.end(), marks: ALL_LINES },
        })
        .filter(|s| s.end > s.cp.index)
        .collect()
}

fn marks_hit(marks: &LineMarks, addr: u32, size: u8) -> bool {
    let first = addr as usize / LINE_SIZE;
    let last = (addr as usize + size as usize - 1) / LINE_SIZE;
    (first..=last).any(|l| marks[l / 64] >> (l % 64) & 1 != 0)
}

/// The scratch VM answers are re-executed on.
pub struct Scratch {
    vm: Vm,
}

impl Scratch {
    pub fn new() -> Result<Scratch, VmError> {
        Ok(Scratch { vm: Vm::new(VmConfig { energy: 0, seed: 0 })? })
    }

    fn restore(&mut self, cp: &Checkpoint) -> Result<(), VmError> {
        for p in 0..PAGES {
            self.vm.write_mem((p * PAGE_SIZE) as u32, &cp.pages[p][..])?;
        }
        self.vm.load_state(&state_bytes(&cp.state))?;
        self.vm.take_dirty_pages();
        self.vm.take_dirty_lines();
        Ok(())
    }

    /// Runs `n` instructions (fewer where the program ended), collecting
    /// the trace into `out` when given; returns how many ran.
    fn run(&mut self, n: u64, mut out: Option<&mut Vec<WriteRecord>>) -> u64 {
        let mut ran = 0;
        while ran < n {
            let stop = self.vm.run(n - ran);
            ran += stop.executed;
            self.vm.take_output();
            self.vm.take_ax_output();
            if let Some(o) = out.as_mut() {
                o.extend(self.vm.take_trace_writes());
            }
            let goes_on = matches!(stop.kind, StopKind::Budget | StopKind::Output | StopKind::Brk | StopKind::TraceFull);
            if !goes_on || (stop.executed == 0 && !matches!(stop.kind, StopKind::Output | StopKind::TraceFull)) {
                break;
            }
        }
        ran
    }

    /// The VM just before instruction `index` of the history runs.
    pub fn state_before(&mut self, h: &History, index: u64) -> Result<&Vm, VmError> {
        let cps = h.checkpoints();
        let i = cps.partition_point(|c| c.index <= index).saturating_sub(1);
        let cp = &cps[i];
        self.restore(cp)?;
        self.run(index.saturating_sub(cp.index), None);
        Ok(&self.vm)
    }

    /// The traced instructions [from, to) of a span, each with its index.
    fn trace(&mut self, span: &Span, from: u64, to: u64) -> Result<Vec<(u64, WriteRecord)>, VmError> {
        self.restore(span.cp)?;
        let from = from.max(span.cp.index);
        let to = to.min(span.end);
        if to <= from || self.run(from - span.cp.index, None) < from - span.cp.index {
            return Ok(Vec::new());
        }
        let base = self.vm.regs().cycles;
        self.vm.set_tracing(true)?;
        let mut recs = Vec::new();
        self.run(to - from, Some(&mut recs));
        self.vm.set_tracing(false)?;
        Ok(recs.into_iter().map(|r| (from + r.cycle.wrapping_sub(base), r)).collect())
    }

    /// The writes of `subject` among instructions [from, to) of one span,
    /// oldest first.
    fn writes_in(&mut self, span: &Span, subject: Subject, from: u64, to: u64) -> Result<Vec<Write>, VmError> {
        let from = from.max(span.cp.index);
        let mut out = Vec::new();
        match subject.operand {
            Operand::Reg(k) | Operand::Conf(k) => {
                // the trace of the span, read in place: most records are
                // of other registers, and nothing is kept of them
                let to = to.min(span.end);
                self.restore(span.cp)?;
                if to <= from || self.run(from - span.cp.index, None) < from - span.cp.index {
                    return Ok(out);
                }
                let conf = matches!(subject.operand, Operand::Conf(_));
                let base = self.vm.regs().cycles;
                self.vm.set_tracing(true)?;
                let mut ran = 0;
                while ran < to - from {
                    let stop = self.vm.run(to - from - ran);
                    ran += stop.executed;
                    self.vm.take_output();
                    self.vm.take_ax_output();
                    self.vm.drain_trace_writes(|r| {
                        if r.agent != subject.agent {
                            return;
                        }
                        for c in r.regs.iter().filter(|c| c.reg == k) {
                            let (old, new) = if conf {
                                if c.conf_old.to_bits() == c.conf_new.to_bits() {
                                    continue;
                                }
                                (Value::Conf(c.conf_old), Value::Conf(c.conf_new))
                            } else {
                                (Value::Int(c.old as i64), Value::Int(c.new as i64))
                            };
                            let index = from + r.cycle.wrapping_sub(base);
                            out.push(Write { index, pc: r.pc, agent: r.agent, opcode: r.opcode, old, new });
                        }
                    });
                    let goes_on = matches!(stop.kind, StopKind::Budget | StopKind::Output | StopKind::Brk | StopKind::TraceFull);
                    if !goes_on || (stop.executed == 0 && !matches!(stop.kind, StopKind::Output | StopKind::TraceFull)) {
                        break;
                    }
                }
                self.vm.set_tracing(false)?;
            }
            Operand::Mem { addr, size } => {
                // memory: under a write watchpoint, which costs next to
                // nothing per instruction (the trace costs far more)
                let to = to.min(span.end);
                self.restore(span.cp)?;
                if to <= from || self.run(from - span.cp.index, None) < from - span.cp.index {
                    return Ok(out);
                }
                let read = |vm: &Vm| {
                    let mut b = [0u8; 4];
                    let _ = vm.read_mem(addr, &mut b[..size as usize]);
                    u32::from_le_bytes(b) as i64
                };
                let mut cur = read(&self.vm);
                self.vm.add_watchpoint(addr, size as u32, WatchKind::Write)?;
                let mut hits: Vec<(u64, u32, i64, i64)> = Vec::new();
                let mut at = from;
                while at < to {
                    let stop = self.vm.run(to - at);
                    self.vm.take_output();
                    self.vm.take_ax_output();
                    at += stop.executed;
                    match stop.kind {
                        StopKind::Watchpoint { .. } if stop.executed > 0 => {
                            let new = read(&self.vm);
                            hits.push((at - 1, stop.agent, cur, new));
                            cur = new;
                            continue;
                        }
                        StopKind::Budget | StopKind::Output | StopKind::Brk => {}
                        _ => break,
                    }
                    if stop.executed == 0 && !matches!(stop.kind, StopKind::Output) {
                        break;
                    }
                }
                self.vm.remove_watchpoint(addr, size as u32, WatchKind::Write);
                // again, to the start of each writing instruction: its pc
                if !hits.is_empty() {
                    self.restore(span.cp)?;
                    let mut at = span.cp.index;
                    for (index, agent, old, new) in hits {
                        at += self.run(index - at, None);
                        let pc = self.vm.agent_regs(agent).map_or(0, |r| r.pc);
                        let opcode = self.vm.read_u8(pc).unwrap_or(0);
                        out.push(Write { index, pc, agent, opcode, old: Value::Int(old), new: Value::Int(new) });
                    }
                }
            }
        }
        Ok(out)
    }
}

fn may_write(span: &Span, operand: Operand) -> bool {
    match operand {
        Operand::Mem { addr, size } => marks_hit(&span.marks, addr, size),
        _ => true,
    }
}

/// The last `n` writes of `subject` before instruction `before`, newest first.
pub fn last_writes(h: &History, subject: Subject, before: u64, n: usize) -> Result<Vec<Write>, VmError> {
    let mut scratch = Scratch::new()?;
    last_writes_with(&mut scratch, h, subject, before, n)
}

fn last_writes_with(scratch: &mut Scratch, h: &History, subject: Subject, before: u64, n: usize) -> Result<Vec<Write>, VmError> {
    let mut out = Vec::new();
    let mut rerun = 0usize;
    let all = spans(h);
    for span in all.iter().rev() {
        if out.len() >= n {
            break;
        }
        if span.cp.index >= before || !may_write(span, subject.operand) {
            continue;
        }
        rerun += 1;
        let w = scratch.writes_in(span, subject, span.cp.index, before)?;
        out.extend(w.into_iter().rev().take(n - out.len()));
    }
    log::debug!("last writes of {subject} before {before}: {rerun} of {} spans re-run", all.len());
    Ok(out)
}

/// Every write of `subject` over the whole history, oldest first.
pub fn writes(h: &History, subject: Subject) -> Result<Vec<Write>, VmError> {
    let mut scratch = Scratch::new()?;
    let mut out = Vec::new();
    for span in spans(h).iter().filter(|s| may_write(s, subject.operand)) {
        out.extend(scratch.writes_in(span, subject, span.cp.index, span.end)?);
    }
    Ok(out)
}

/// How an instruction made the value an origin chain follows.
#[derive(Debug, Clone, PartialEq)]
pub enum Made {
    /// A plain copy of this operand (of this agent), as it was before the instruction.
    Copy(Subject),
    /// Received by ASK: sent by the TELL at this index, a copy of its operand.
    Message { tell: Write, sent: Subject },
    /// Computed or loaded: the end of the chain, with the instruction's
    /// operands and their values before it.
    Origin(Vec<(Subject, Value)>),
}

/// One step of an origin chain: the write, its instruction text, how it
/// made the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub subject: Subject,
    pub write: Write,
    pub text: String,
    pub made: Made,
}

/// Where the value chain ends when it reaches the start of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub steps: Vec<Step>,
    /// The chain reached the start of the history: this operand held its
    /// value there.
    pub held_from_start: Option<(Subject, Value)>,
}

// Opcodes that copy (checked against the table by a test).
const MOV: u8 = 0x01;
const LOAD: u8 = 0x02;
const STORE: u8 = 0x03;
const POP: u8 = 0x05;
const LOAD8: u8 = 0x40;
const LOAD16: u8 = 0x41;
const LOAD32: u8 = 0x42;
const STORE8: u8 = 0x43;
const STORE16: u8 = 0x44;
const STORE32: u8 = 0x45;
const PUSH_MEM: u8 = 0x49;
const POP_MEM: u8 = 0x4A;
const LOADR: u8 = 0x4B;
const STORER: u8 = 0x4C;
const LOAD_IND: u8 = 0x52;
const STORE_IND: u8 = 0x53;
const LOAD_OFF: u8 = 0x54;
const STORE_OFF: u8 = 0x55;
const SWAP: u8 = 0x58;
const PUSH_ALL: u8 = 0x59;
const POP_ALL: u8 = 0x5A;
const PUSH_R: u8 = 0x60;
const POP_R: u8 = 0x61;
const DUP: u8 = 0x62;
const SWAP2: u8 = 0x63;
const ROT: u8 = 0x64;
const OVER: u8 = 0x65;
const PICK: u8 = 0x66;
const NIP: u8 = 0x6A;
const TUCK: u8 = 0x6B;
const TELL: u8 = 0xA0;
const LOAD_IMM: u8 = 0x5B;
/// Opcodes whose one register is written, never read.
const WRITE_ONLY: [u8; 6] = [LOAD_IMM, LOAD8, LOAD16, LOAD32, POP, POP_R];
const ASK: u8 = 0xA1;

/// The operand slots of the instruction at `pc` in `vm`: register numbers
/// and immediates, in encoding order.
fn decode(vm: &Vm, pc: u32) -> Option<(u8, Vec<(Slot, u32)>)> {
    let op = vm.read_u8(pc).ok()?;
    let info = isa::opcode(op)?;
    let mut at = pc + 1;
    let mut out = Vec::new();
    for slot in info.mode.operands() {
        let (v, len) = match slot {
            Slot::Reg | Slot::Imm8 => (vm.read_u8(at).ok()? as u32, 1),
            Slot::Imm16 => (vm.read_u16(at).ok()? as u32, 2),
            Slot::Imm32 => (vm.read_u32(at).ok()?, 4),
        };
        out.push((*slot, v));
        at += len;
    }
    Some((op, out))
}

/// How the instruction about to run in `vm` (agent `agent`) makes `target`:
/// the operand it copies, if it is a plain copy.
fn copy_source(vm: &Vm, agent: u32, op: u8, slots: &[u32], target: Operand) -> Option<Operand> {
    let regs = vm.agent_regs(agent)?;
    let r = |i: usize| regs.r[slots[i] as usize % NUM_REGS] as u32;
    let sp = regs.sp;
    let mem32 = |a: u32| -> Option<u32> { vm.read_u32(a).ok() };
    let reg = |i: usize| Operand::Reg(slots[i] as u8 % NUM_REGS as u8);
    let m32 = |a: u32| Operand::mem32(a);
    let is = |o: Option<Operand>| o == Some(target);
    // (destination, source) pairs of the instruction
    let pairs: Vec<(Option<Operand>, Option<Operand>)> = match op {
        MOV => vec![(Some(reg(0)), Some(reg(1)))],
        LOAD => vec![(Some(reg(0)), m32(r(1)))],
        STORE => vec![(m32(r(1)), Some(reg(0)))],
        POP | POP_R => vec![(Some(reg(0)), m32(sp))],
        PUSH_R => vec![(m32(sp.wrapping_sub(4)), Some(reg(0)))],
        LOAD8 | LOAD16 | LOAD32 => {
            let size = [1u8, 2, 4][(op - LOAD8) as usize];
            let a = slots[1];
            let src = (a as u64 + size as u64 <= MEM_SIZE as u64).then_some(Operand::Mem { addr: a, size });
            vec![(Some(reg(0)), src)]
        }
        STORE8 | STORE16 | STORE32 => {
            let size = [1u8, 2, 4][(op - STORE8) as usize];
            vec![(Some(Operand::Mem { addr: slots[1], size }), Some(reg(0)))]
        }
        PUSH_MEM => vec![(m32(sp.wrapping_sub(4)), m32(slots[1].wrapping_add(r(0))))],
        POP_MEM => vec![(m32(slots[1].wrapping_add(r(0))), m32(sp))],
        LOADR => vec![(Some(reg(0)), m32(r(1).wrapping_add(r(2))))],
        STORER => vec![(m32(r(1).wrapping_add(r(2))), Some(reg(0)))],
        LOAD_IND => vec![(Some(reg(0)), mem32(r(1)).and_then(m32))],
        STORE_IND => vec![(mem32(r(1)).and_then(m32), Some(reg(0)))],
        LOAD_OFF => vec![(Some(reg(0)), m32(r(1).wrapping_add(slots[2] as u8 as i8 as i32 as u32)))],
        STORE_OFF => vec![(m32(r(1).wrapping_add(slots[2] as u8 as i8 as i32 as u32)), Some(reg(0)))],
        SWAP => vec![(Some(reg(0)), Some(reg(1))), (Some(reg(1)), Some(reg(0)))],
        PUSH_ALL => (0..16u32).map(|k| (m32(sp.wrapping_sub(64) + 4 * (15 - k)), Some(Operand::Reg(k as u8)))).collect(),
        POP_ALL => (0..16u32).map(|k| (Some(Operand::Reg(k as u8)), m32(sp.wrapping_add(4 * (15 - k))))).collect(),
        DUP => vec![(m32(sp.wrapping_sub(4)), m32(sp))],
        OVER => vec![(m32(sp.wrapping_sub(4)), m32(sp.wrapping_add(4)))],
        PICK => vec![(m32(sp.wrapping_sub(4)), m32(sp.wrapping_add(4 * slots[0])))],
        SWAP2 => vec![(m32(sp), m32(sp.wrapping_add(4))), (m32(sp.wrapping_add(4)), m32(sp))],
        ROT => vec![
            (m32(sp), m32(sp.wrapping_add(8))),
            (m32(sp.wrapping_add(4)), m32(sp)),
            (m32(sp.wrapping_add(8)), m32(sp.wrapping_add(4))),
        ],
        NIP => vec![(m32(sp.wrapping_add(4)), m32(sp))],
        TUCK => vec![
            (m32(sp.wrapping_sub(4)), m32(sp)),
            (m32(sp), m32(sp.wrapping_add(4))),
            (m32(sp.wrapping_add(4)), m32(sp)),
        ],
        _ => Vec::new(),
    };
    // a confidence is copied by MOV and SWAP only (loads set it to 1.0)
    if let Operand::Conf(k) = target {
        return match op {
            MOV | SWAP => pairs.iter().find(|(d, _)| *d == Some(Operand::Reg(k))).and_then(|(_, s)| match s {
                Some(Operand::Reg(j)) => Some(Operand::Conf(*j)),
                _ => None,
            }),
            _ => None,
        };
    }
    pairs.into_iter().find(|(d, _)| is(*d)).and_then(|(_, s)| s)
}

/// Follows the value `subject` holds before instruction `at` back to the
/// instruction that computed or loaded it, through plain copies (MOV,
/// loads and stores, pushes and pops, stack moves, TELL/ASK between agents).
pub fn origin(h: &History, subject: Subject, at: u64) -> Result<Origin, VmError> {
    let mut scratch = Scratch::new()?;
    let mut steps = Vec::new();
    let mut subject = subject;
    let mut before = at;
    // a chain cannot be longer than the history; the bound guards a loop
    for _ in 0..10_000 {
        let Some(w) = last_writes_with(&mut scratch, h, subject, before, 1)?.pop() else {
            let vm = scratch.state_before(h, h.begin())?;
            let v = subject.operand.value_in(vm, subject.agent);
            return Ok(Origin { steps, held_from_start: Some((subject, v)) });
        };
        let vm = scratch.state_before(h, w.index)?;
        let text = instruction_at(vm, w.pc).split_whitespace().collect::<Vec<_>>().join(" ");
        let decoded = decode(vm, w.pc);
        let (op, slots): (u8, Vec<u32>) = match &decoded {
            Some((op, s)) => (*op, s.iter().map(|x| x.1).collect()),
            None => (w.opcode, Vec::new()),
        };
        // computed: its register operands, as they were
        let mut operands = Vec::new();
        if let Some((op, s)) = &decoded {
            let mode = isa::opcode(*op).map_or(Mode::None, |i| i.mode);
            let regs: Vec<u8> = s.iter().filter(|x| x.0 == Slot::Reg).map(|x| (x.1 % NUM_REGS as u32) as u8).collect();
            let written = match subject.operand {
                Operand::Reg(k) | Operand::Conf(k) => Some(k),
                _ => None,
            };
            for (i, k) in regs.iter().enumerate() {
                // the destination (the first register of several) is no operand
                // (a load's only register is its destination)
                if i == 0 && Some(*k) == written && ((regs.len() > 1 && mode != Mode::R) || WRITE_ONLY.contains(op)) {
                    continue;
                }
                let sub = Subject { operand: Operand::Reg(*k), agent: w.agent };
                operands.push((sub, sub.operand.value_in(vm, w.agent)));
            }
        }
        let copied = copy_source(vm, w.agent, op, &slots, subject.operand);
        if op == ASK && matches!(subject.operand, Operand::Reg(_) | Operand::Conf(_)) && slots.len() == 2 {
            if let Some((tell, sent)) = find_tell(&mut scratch, h, &w, slots[1], subject)? {
                let next = sent;
                steps.push(Step { subject, write: w, text, made: Made::Message { tell: tell.clone(), sent } });
                subject = next;
                before = tell.index;
                continue;
            }
        }
        if let Some(src) = copied {
            let next = Subject { operand: src, agent: w.agent };
            steps.push(Step { subject, write: w.clone(), text, made: Made::Copy(next) });
            subject = next;
            before = w.index;
            continue;
        }
        steps.push(Step { subject, write: w, text, made: Made::Origin(operands) });
        return Ok(Origin { steps, held_from_start: None });
    }
    Ok(Origin { steps, held_from_start: None })
}

/// The TELL that sent the message the ASK `ask` took (`from_reg`: the
/// register naming whom it asks), and the operand it sent.
fn find_tell(scratch: &mut Scratch, h: &History, ask: &Write, from_reg: u32, subject: Subject) -> Result<Option<(Write, Subject)>, VmError> {
    let vm = scratch.state_before(h, ask.index)?;
    let Some(regs) = vm.agent_regs(ask.agent) else { return Ok(None) };
    let want = regs.r[from_reg as usize % NUM_REGS] as u32;
    let mailbox = vm.mailbox(ask.agent);
    let Some(pos) = mailbox.iter().position(|m| want == 0 || m.from == want) else { return Ok(None) };
    let sender = mailbox[pos].from;
    // the messages from the same sender behind it are still queued: it was
    // sent by that many TELLs before the latest one to this agent
    let mut skip = mailbox[pos + 1..].iter().filter(|m| m.from == sender).count();
    for span in spans(h).iter().rev() {
        if span.cp.index >= ask.index {
            continue;
        }
        let recs = scratch.trace(span, span.cp.index, ask.index)?;
        let tells: Vec<(u64, u32)> = recs.iter().filter(|(_, r)| r.agent == sender && r.opcode == TELL).map(|(i, r)| (*i, r.pc)).collect();
        for (index, pc) in tells.into_iter().rev() {
            let vm = scratch.state_before(h, index)?;
            let Some((_, slots)) = decode(vm, pc) else { continue };
            let Some(sregs) = vm.agent_regs(sender) else { continue };
            if slots.len() != 2 || sregs.r[slots[0].1 as usize % NUM_REGS] as u32 != ask.agent {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let k = (slots[1].1 % NUM_REGS as u32) as u8;
            let sent_op = match subject.operand {
                Operand::Conf(_) => Operand::Conf(k),
                _ => Operand::Reg(k),
            };
            let sent = Subject { operand: sent_op, agent: sender };
            let v = sent.operand.value_in(vm, sender);
            let tell = Write { index, pc, agent: sender, opcode: TELL, old: v, new: v };
            return Ok(Some((tell, sent)));
        }
    }
    Ok(None)
}

/// One call: the CALL, the callee, r1 at entry, the return and r0 there.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub index: u64,
    pub callee: u32,
    pub caller_pc: u32,
    pub agent: u32,
    pub r1: i32,
    /// The index of the return instruction and r0 after it (None: it had not
    /// returned when the history ends).
    pub ret: Option<(u64, i32)>,
    pub depth: usize,
}

/// Every call of the history (CALL-kind instructions of the opcode table's
/// flow column and their returns), oldest first.
pub fn calls(h: &History) -> Result<Vec<Call>, VmError> {
    let mut scratch = Scratch::new()?;
    let mut out: Vec<Call> = Vec::new();
    // per agent: its open calls (indices into `out`) and its registers as known
    let mut stacks: std::collections::HashMap<u32, Vec<usize>> = Default::default();
    // calls whose callee is the pc of the agent's next instruction
    let mut awaiting: std::collections::HashMap<u32, usize> = Default::default();
    for span in spans(h) {
        let recs = scratch.trace(&span, span.cp.index, span.end)?;
        // registers of every agent at the span's start, then as written
        scratch.restore(span.cp)?;
        let mut regs: std::collections::HashMap<u32, [i32; NUM_REGS]> =
            scratch.vm.agents().iter().filter_map(|a| scratch.vm.agent_regs(a.id).map(|r| (a.id, r.r))).collect();
        let mut unknown: Vec<u64> = Vec::new();
        for (index, r) in &recs {
            if let Some(i) = awaiting.remove(&r.agent) {
                out[i].callee = r.pc;
            }
            let flow = isa::opcode(r.opcode).map_or(Flow::Next, |o| o.flow);
            match flow {
                Flow::Call => {
                    let r1 = match regs.get(&r.agent) {
                        Some(g) => g[1],
                        None => {
                            unknown.push(*index);
                            0
                        }
                    };
                    let st = stacks.entry(r.agent).or_default();
                    out.push(Call { index: *index, callee: 0, caller_pc: r.pc, agent: r.agent, r1, ret: None, depth: st.len() });
                    st.push(out.len() - 1);
                    awaiting.insert(r.agent, out.len() - 1);
                }
                Flow::Return => {
                    if let Some(i) = stacks.entry(r.agent).or_default().pop() {
                        let r0 = regs.get(&r.agent).map_or(0, |g| g[0]);
                        out[i].ret = Some((*index, r0));
                    }
                }
                _ => {}
            }
            let g = regs.entry(r.agent).or_insert_with(|| {
                unknown.push(*index);
                [0; NUM_REGS]
            });
            for c in &r.regs {
                g[c.reg as usize] = c.new;
            }
        }
        // agents that appeared inside the span: their registers from the state
        if !unknown.is_empty() {
            for c in out.iter_mut().filter(|c| c.index >= span.cp.index) {
                let vm = scratch.state_before(h, c.index)?;
                if let Some(g) = vm.agent_regs(c.agent) {
                    c.r1 = g.r[1];
                }
                if let Some((ri, _)) = c.ret {
                    if ri < span.end {
                        let vm = scratch.state_before(h, ri + 1)?;
                        if let Some(g) = vm.agent_regs(c.agent) {
                            c.ret = Some((ri, g.r[0]));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The lines `monitor origin` prints: the chain backwards, one line per
/// step (`#INDEX 0xPC INSTRUCTION: OPERAND = VALUE [agent A]`), the last
/// marked `origin` with its operands after it.  `text_at` gives an
/// instruction's text.
pub fn origin_lines(o: &Origin, begin: u64, text_at: &dyn Fn(u32) -> String) -> Vec<String> {
    let mut out = Vec::new();
    for s in &o.steps {
        let head = format!("#{} 0x{:04X} {}: {} = {} [agent {}]", s.write.index, s.write.pc, s.text, s.subject, s.write.new, s.write.agent);
        match &s.made {
            Made::Copy(src) => out.push(format!("{head}, a copy of {src}")),
            Made::Message { tell, sent } => {
                out.push(format!("{head}, the message agent {} sent", tell.agent));
                out.push(format!(
                    "#{} 0x{:04X} {}: sent {} = {} [agent {}], a copy of {sent}",
                    tell.index,
                    tell.pc,
                    text_at(tell.pc),
                    sent,
                    tell.new,
                    tell.agent
                ));
            }
            Made::Origin(ops) => {
                out.push(format!("{head}: origin"));
                if !ops.is_empty() {
                    let list: Vec<String> = ops.iter().map(|(sub, v)| format!("{sub} = {v}")).collect();
                    out.push(format!("  operands: {}", list.join(", ")));
                }
            }
        }
    }
    if let Some((sub, v)) = &o.held_from_start {
        out.push(format!("{sub} = {v} [agent {}] since the start of the history (instruction {begin}): origin", sub.agent));
    }
    out
}

/// One line per write: `#INDEX 0xPC INSTRUCTION: OPERAND OLD -> NEW [agent A]`.
pub fn write_line(subject: Subject, w: &Write, text_at: &dyn Fn(u32) -> String) -> String {
    format!("#{} 0x{:04X} {}: {} {} -> {} [agent {}]", w.index, w.pc, text_at(w.pc), subject, w.old, w.new, w.agent)
}

/// One line per call: `#INDEX NAME from 0xPC r1=V -> #INDEX r0=V [agent A]`.
pub fn call_line(c: &Call, name: &str) -> String {
    let ret = match c.ret {
        Some((i, r0)) => format!("#{i} r0={r0}"),
        None => "no return".to_string(),
    };
    format!("#{} {name} from 0x{:04X} r1={} -> {ret} [agent {}]", c.index, c.caller_pc, c.r1, c.agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copying_opcodes_are_the_ones_the_table_names() {
        let want = [
            (MOV, "MOV"), (LOAD, "LOAD"), (STORE, "STORE"), (POP, "POP"), (LOAD8, "LOAD8"), (LOAD16, "LOAD16"),
            (LOAD32, "LOAD32"), (STORE8, "STORE8"), (STORE16, "STORE16"), (STORE32, "STORE32"), (PUSH_MEM, "PUSH_MEM"),
            (POP_MEM, "POP_MEM"), (LOADR, "LOADR"), (STORER, "STORER"), (LOAD_IND, "LOAD_IND"), (STORE_IND, "STORE_IND"),
            (LOAD_OFF, "LOAD_OFF"), (STORE_OFF, "STORE_OFF"), (SWAP, "SWAP"), (PUSH_ALL, "PUSH_ALL"), (POP_ALL, "POP_ALL"),
            (PUSH_R, "PUSH_R"), (POP_R, "POP_R"), (DUP, "DUP"), (SWAP2, "SWAP2"), (ROT, "ROT"), (OVER, "OVER"),
            (PICK, "PICK"), (NIP, "NIP"), (TUCK, "TUCK"), (TELL, "TELL"), (ASK, "ASK"), (LOAD_IMM, "LOAD_IMM"),
        ];
        for (code, name) in want {
            assert_eq!(isa::opcode(code).map(|o| o.mnemonic), Some(name), "0x{code:02X}");
        }
    }

    #[test]
    fn operands_parse_and_bad_ones_say_why() {
        assert_eq!(Operand::parse("r3"), Ok(Operand::Reg(3)));
        assert_eq!(Operand::parse("conf15"), Ok(Operand::Conf(15)));
        assert_eq!(Operand::parse("mem32[0xFFFC]"), Ok(Operand::Mem { addr: 0xFFFC, size: 4 }));
        assert_eq!(Operand::parse("mem8[65535]"), Ok(Operand::Mem { addr: 0xFFFF, size: 1 }));
        assert_eq!(Operand::parse("r16").unwrap_err().to_string(), "'r16': no such register (r0-r15, conf0-conf15)");
        assert_eq!(Operand::parse("mem32[0xFFFE]").unwrap_err().to_string(), "'mem32[0xFFFE]': outside memory (0x0000-0xFFFF)");
        assert_eq!(Operand::parse("pc").unwrap_err().to_string(), "'pc' is not an operand (rN, confN, mem8[A], mem16[A] or mem32[A])");
    }
}
