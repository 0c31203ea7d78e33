//! The safe face of runtime-c: one `Vm` owns one `flux_vm`.
use std::fmt;
use std::ptr::NonNull;

use crate::runtime::ffi;

pub const MEM_SIZE: u32 = ffi::FLUX_MEM_SIZE;
pub const NUM_REGS: usize = ffi::FLUX_NUM_REGS as usize;
pub const STACK_TOP: u32 = ffi::FLUX_STACK_TOP;
pub const STACK_LIMIT: u32 = ffi::FLUX_STACK_LIMIT;
pub const DEFAULT_ENERGY: i64 = ffi::FLUX_DEFAULT_ENERGY as i64;
pub const FLAG_C: u32 = ffi::FLUX_FLAG_C;
pub const FLAG_Z: u32 = ffi::FLUX_FLAG_Z;
pub const FLAG_S: u32 = ffi::FLUX_FLAG_S;
pub const FLAG_O: u32 = ffi::FLUX_FLAG_O;
/// Checkpoints copy memory in pages of this size.
pub const PAGE_SIZE: usize = ffi::FLUX_PAGE_SIZE as usize;
pub const PAGES: usize = MEM_SIZE as usize / PAGE_SIZE;
/// The finer write marks ([`Vm::take_dirty_lines`]) are kept per line of this size.
pub const LINE_SIZE: usize = ffi::FLUX_LINE_SIZE as usize;
pub const LINES: usize = MEM_SIZE as usize / LINE_SIZE;
/// Which lines of memory were written: one bit per line.
pub type LineMarks = [u64; LINES / 64];
/// Agents alive at once.
pub const MAX_AGENTS: usize = ffi::FLUX_MAX_AGENTS as usize;
/// Messages one mailbox holds.
pub const MAILBOX_CAP: usize = ffi::FLUX_MAILBOX_CAP as usize;
pub const DEFAULT_SLICE: u32 = ffi::FLUX_DEFAULT_SLICE;

/// One event of the access log: `agent` touched location `loc` (a memory
/// address, or `LOC_MAILBOX`/`LOC_AGENT`/`LOC_SHARED` + n), `len` bytes
/// of it; `kind` is `ACC_READ`, `ACC_WRITE` or `ACC_SPAWN` (then `loc` is
/// the agent started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub loc: u32,
    pub len: u32,
    pub kind: u8,
    pub agent: u8,
}
pub const ACC_READ: u8 = ffi::FLUX_ACC_READ as u8;
pub const ACC_WRITE: u8 = ffi::FLUX_ACC_WRITE as u8;
pub const ACC_SPAWN: u8 = ffi::FLUX_ACC_SPAWN as u8;
pub const LOC_MAILBOX: u32 = ffi::FLUX_LOC_MAILBOX;
pub const LOC_AGENT: u32 = ffi::FLUX_LOC_AGENT;
pub const LOC_SHARED: u32 = ffi::FLUX_LOC_SHARED;
/// `LOC_SHARED` + this: the set of live agents (SPAWN writes it).
pub const SHARED_AGENTS: u32 = ffi::FLUX_SHARED_AGENTS as u32;

/// A value the program drew from outside its own state (see `Vm::take_inputs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputEvent {
    /// The instruction index (cycles) of the instruction that drew it.
    pub cycle: u64,
    pub pc: u32,
    pub kind: InputKind,
    pub value: u64,
}

fn input_event(e: &ffi::flux_input_event) -> InputEvent {
    InputEvent {
        cycle: e.cycle,
        pc: e.pc,
        kind: if e.kind == ffi::FLUX_INPUT_SCHED { InputKind::Sched } else { InputKind::Rng },
        value: e.value,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    Rng,
    /// The scheduler switched agents: `value` holds the agent switched to
    /// (bits 0-7), the one switched from (bits 8-15) and the new slice's
    /// length (bits 32-63); `cycle` is the new agent's first instruction.
    Sched,
}

/// How the scheduler picks who runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SchedKind {
    /// Each runnable agent in turn (by id) for a slice of `slice` instructions.
    #[default]
    RoundRobin,
    /// Slice lengths (1..=slice) and the next agent drawn from a generator seeded with `--seed`.
    Chaos,
    /// PCT: random agent priorities and `depth - 1` priority change points
    /// drawn from a generator seeded with `--seed`; the ready agent of
    /// highest priority runs.
    Pct,
}

/// The deepest PCT depth bound.
pub const PCT_MAX_DEPTH: u32 = ffi::FLUX_PCT_MAX_DEPTH;

/// The scheduler's settings (kept across resets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Schedule {
    pub kind: SchedKind,
    pub slice: u32,
    /// PCT: the depth bound d (1..=16); 0 under the other schedulers.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub depth: u32,
    /// PCT: the instructions change points are drawn from (1..=steps); 0
    /// under the other schedulers.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub steps: u64,
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { kind: SchedKind::RoundRobin, slice: DEFAULT_SLICE, depth: 0, steps: 0 }
    }
}

impl Schedule {
    /// Round-robin or chaos with slices of `slice` instructions.
    pub fn new(kind: SchedKind, slice: u32) -> Schedule {
        Schedule { kind, slice, depth: 0, steps: 0 }
    }

    /// PCT with depth bound `depth` over runs of about `steps` instructions.
    pub fn pct(slice: u32, depth: u32, steps: u64) -> Schedule {
        Schedule { kind: SchedKind::Pct, slice, depth, steps }
    }
}

/// What an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Runnable,
    /// Waits in ASK (or RELAY) for a message from this agent (0: anyone).
    Ask(u32),
    /// Waits to send into this agent's full mailbox.
    Send(u32),
    /// Waits in JOIN for this agent to end.
    Join(u32),
    Barrier,
    Ended,
}

impl fmt::Display for AgentState {
    /// The words gdb's `info threads` shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentState::Runnable => f.write_str("running"),
            AgentState::Ask(0) => f.write_str("blocked on ASK from anyone"),
            AgentState::Ask(a) => write!(f, "blocked on ASK from {a}"),
            AgentState::Send(a) => write!(f, "blocked on TELL to {a} (mailbox full)"),
            AgentState::Join(a) => write!(f, "blocked on JOIN {a}"),
            AgentState::Barrier => f.write_str("blocked on BARRIER"),
            AgentState::Ended => f.write_str("ended"),
        }
    }
}

/// One live agent, as `Vm::agents` lists it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentInfo {
    pub id: u32,
    pub state: AgentState,
    /// The opcode it blocks in (when blocked).
    pub wait_op: u8,
    pub pc: u32,
    pub mailbox: u32,
    pub energy: i64,
    /// Instructions it has run.
    pub retired: u64,
    pub stack: (u32, u32),
    /// The agent the VM runs now.
    pub running: bool,
}

/// A queued message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Message {
    pub value: i32,
    pub conf: f32,
    pub from: u32,
}

/// The register file, as runtime-c lays it out.
pub type Regs = ffi::flux_regs;

/// One step of a confidence's provenance (see `Vm::conf_trace`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProvEntry {
    pub pc: u32,
    /// The instruction's bytes when it ran.
    pub insn: [u8; 6],
    /// The register whose confidence it wrote.
    pub dest: u8,
    /// 0 for the last write; its sources follow one level deeper.
    pub depth: u8,
    pub before: f32,
    pub after: f32,
    pub cycle: u64,
    /// Older sources fell out of the record.
    pub truncated: bool,
}

/// One trust check (TRUST_CHECK or TRUST_VERIFY) as the runtime logged it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrustEvent {
    pub pc: u32,
    pub agent: u32,
    pub score: f32,
    pub threshold: f32,
    pub passed: bool,
    pub cycle: u64,
}

/// Signals, numbered as gdb's remote protocol and Linux number them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    Ill,
    Trap,
    Abrt,
    Fpe,
    Segv,
    Xcpu,
    Int,
}

impl Signal {
    pub fn from_raw(n: i32) -> Option<Signal> {
        Some(match n as u32 {
            ffi::FLUX_SIGILL => Signal::Ill,
            ffi::FLUX_SIGTRAP => Signal::Trap,
            ffi::FLUX_SIGABRT => Signal::Abrt,
            ffi::FLUX_SIGFPE => Signal::Fpe,
            ffi::FLUX_SIGSEGV => Signal::Segv,
            ffi::FLUX_SIGXCPU => Signal::Xcpu,
            2 => Signal::Int,
            _ => return None,
        })
    }

    pub fn number(self) -> u8 {
        match self {
            Signal::Int => 2,
            Signal::Ill => ffi::FLUX_SIGILL as u8,
            Signal::Trap => ffi::FLUX_SIGTRAP as u8,
            Signal::Abrt => ffi::FLUX_SIGABRT as u8,
            Signal::Fpe => ffi::FLUX_SIGFPE as u8,
            Signal::Segv => ffi::FLUX_SIGSEGV as u8,
            Signal::Xcpu => ffi::FLUX_SIGXCPU as u8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Ill => "SIGILL",
            Signal::Trap => "SIGTRAP",
            Signal::Abrt => "SIGABRT",
            Signal::Fpe => "SIGFPE",
            Signal::Segv => "SIGSEGV",
            Signal::Xcpu => "SIGXCPU",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    Write,
    Read,
    Access,
}

impl WatchKind {
    fn raw(self) -> u32 {
        match self {
            WatchKind::Write => ffi::FLUX_WATCH_WRITE,
            WatchKind::Read => ffi::FLUX_WATCH_READ,
            WatchKind::Access => ffi::FLUX_WATCH_ACCESS,
        }
    }
}

/// Why `Vm::run` returned.
#[derive(Debug, Clone, PartialEq)]
pub enum StopKind {
    /// The instruction budget ran out.
    Budget,
    /// pc is on a breakpoint; that instruction has not run.
    Breakpoint,
    /// The last instruction touched watched memory (`addr` is the first byte).
    Watchpoint { addr: u32, write: bool, index: u32 },
    /// BRK ran; pc is after it.
    Brk,
    /// The output buffer needs draining; the run may go on.
    Output,
    /// HALT ran.
    Halted { code: u8 },
    /// A fault: pc is the faulting instruction, which did not run.
    Fault { signal: Signal, reason: String },
    /// The program ended by a signal (APOPTOSIS, or going on after energy ran out).
    Terminated { signal: Signal, reason: String },
    /// A stub-side breakpoint fired; the instruction at pc has not run.
    CondBreakpoint { id: u32 },
    /// A watch-if condition turned true after the last instruction.
    WatchCondition { id: u32 },
    /// break-on trust-fail: the last instruction was a failing TRUST_CHECK.
    TrustFail,
    /// The trace buffer needs draining (`take_trace`); the run may go on.
    TraceFull,
    /// The scheduler is locked to the running agent and it blocked (pc on
    /// the blocking instruction, which has not run).
    Blocked,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub kind: StopKind,
    pub pc: u32,
    /// Instructions retired by this run.
    pub executed: u64,
    /// The agent running at the stop (the one that hit a breakpoint,
    /// faulted or ran the last instruction).
    pub agent: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VmError {
    #[error("program of {0} bytes does not fit in 64 KiB of memory")]
    ProgramTooLarge(usize),
    #[error("memory access of {len} bytes at 0x{addr:X} is outside the 64 KiB of memory")]
    OutOfRange { addr: u64, len: usize },
    #[error("watchpoint of {len} bytes at 0x{addr:X} cannot be set (outside memory, or all {max} in use)", max = ffi::FLUX_MAX_WATCHPOINTS)]
    Watchpoint { addr: u32, len: u32 },
    #[error("runtime-c could not allocate a VM")]
    OutOfMemory,
    #[error("cannot arm breakpoint at 0x{0:X}: outside memory, or all {max} stub-side breakpoints in use", max = ffi::FLUX_MAX_COND_BREAKPOINTS)]
    CondBreakpoint(u32),
    #[error("breakpoint at 0x{0:X}: bad agent expression: {1}")]
    AgentExpr(u32, crate::runtime::agent_expr::AxError),
    #[error("cannot arm the condition: all {max} watch-if conditions in use", max = ffi::FLUX_MAX_WATCH_CONDS)]
    WatchCondition,
    #[error("out of memory for the trace or profile buffers")]
    HookMemory,
    #[error("a machine state of {0} bytes does not belong to this runtime")]
    StateSize(usize),
    /// runtime-c refused a machine state: the field and why.
    #[error("machine state refused: {0}")]
    BadState(String),
}

/// How a VM starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmConfig {
    pub energy: i64,
    pub seed: u64,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig { energy: DEFAULT_ENERGY, seed: 0 }
    }
}

/// One FLUX virtual machine.
pub struct Vm {
    raw: NonNull<ffi::flux_vm>,
    config: VmConfig,
    schedule: Schedule,
}

// SAFETY: a flux_vm has no thread affinity and no shared state; `Vm` owns it.
unsafe impl Send for Vm {}

impl Vm {
    pub fn new(config: VmConfig) -> Result<Vm, VmError> {
        let cfg = ffi::flux_config { energy: config.energy, seed: config.seed };
        // SAFETY: cfg outlives the call; a null return is handled.
        let raw = unsafe { ffi::flux_vm_new(&cfg) };
        let raw = NonNull::new(raw).ok_or(VmError::OutOfMemory)?;
        Ok(Vm { raw, config, schedule: Schedule::default() })
    }

    /// A VM with `program` loaded at 0 and reset.
    pub fn with_program(program: &[u8], config: VmConfig) -> Result<Vm, VmError> {
        let mut vm = Vm::new(config)?;
        vm.load(program)?;
        Ok(vm)
    }

    pub fn config(&self) -> VmConfig {
        self.config
    }

    /// The runtime's VM.  Every `unsafe` call below relies on this: the
    /// pointer is non-null, came from flux_vm_new, and stays valid until
    /// Drop frees it; `&self`/`&mut self` keep calls from racing (the VM is
    /// `Send`, not `Sync`).
    fn ptr(&self) -> *mut ffi::flux_vm {
        self.raw.as_ptr()
    }

    pub fn load(&mut self, program: &[u8]) -> Result<(), VmError> {
        // SAFETY: the pointer and length describe `program`.
        let rc = unsafe { ffi::flux_vm_load(self.ptr(), program.as_ptr(), program.len()) };
        if rc != 0 {
            return Err(VmError::ProgramTooLarge(program.len()));
        }
        Ok(())
    }

    /// Back to the state right after load; breakpoints and watchpoints stay.
    pub fn reset(&mut self) {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_reset(self.ptr()) }
    }

    /// Runs at most `budget` instructions.
    pub fn run(&mut self, budget: u64) -> Stop {
        // SAFETY: self owns the VM.
        let raw = unsafe { ffi::flux_vm_run(self.ptr(), budget) };
        let reason = || {
            let bytes: Vec<u8> = raw.reason.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let signal = || Signal::from_raw(raw.signal).unwrap_or(Signal::Abrt);
        let kind = match raw.kind {
            ffi::FLUX_STOP_BREAKPOINT => StopKind::Breakpoint,
            ffi::FLUX_STOP_WATCHPOINT => StopKind::Watchpoint {
                addr: raw.watch_addr,
                write: raw.watch_kind == ffi::FLUX_WATCH_WRITE,
                index: raw.watch_index,
            },
            ffi::FLUX_STOP_BRK => StopKind::Brk,
            ffi::FLUX_STOP_OUTPUT => StopKind::Output,
            ffi::FLUX_STOP_HALTED => StopKind::Halted { code: raw.exit_code as u8 },
            ffi::FLUX_STOP_FAULT => StopKind::Fault { signal: signal(), reason: reason() },
            ffi::FLUX_STOP_TERMINATED => StopKind::Terminated { signal: signal(), reason: reason() },
            ffi::FLUX_STOP_COND_BREAKPOINT => StopKind::CondBreakpoint { id: raw.cond_id },
            ffi::FLUX_STOP_WATCH_COND => StopKind::WatchCondition { id: raw.cond_id },
            ffi::FLUX_STOP_TRUST_FAIL => StopKind::TrustFail,
            ffi::FLUX_STOP_TRACE_FULL => StopKind::TraceFull,
            ffi::FLUX_STOP_BLOCKED => StopKind::Blocked,
            _ => StopKind::Budget,
        };
        Stop { kind, pc: raw.pc, executed: raw.executed, agent: raw.agent }
    }

    pub fn regs(&self) -> Regs {
        let mut r = Regs::default();
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `r` is a local the call fills.
        unsafe { ffi::flux_vm_get_regs(self.ptr(), &mut r) };
        r
    }

    pub fn set_regs(&mut self, regs: &Regs) {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `regs` is a live reference the call only reads.
        unsafe { ffi::flux_vm_set_regs(self.ptr(), regs) }
    }

    pub fn pc(&self) -> u32 {
        self.regs().pc
    }

    pub fn read_mem(&self, addr: u32, buf: &mut [u8]) -> Result<(), VmError> {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `buf` is writable for `buf.len()` bytes, the length passed; the runtime checks the range against its memory.
        let rc = unsafe { ffi::flux_vm_read_mem(self.ptr(), addr, buf.as_mut_ptr(), buf.len()) };
        if rc != 0 {
            return Err(VmError::OutOfRange { addr: addr as u64, len: buf.len() });
        }
        Ok(())
    }

    pub fn write_mem(&mut self, addr: u32, data: &[u8]) -> Result<(), VmError> {
        self.write_with(ffi::flux_vm_write_mem, addr, data)
    }

    /// `write_mem` for a checkpoint's restore: the pages written are not
    /// marked for [`Vm::take_dirty_pages`] (the caller knows them); lines
    /// and re-hash pages are, as by any write.
    pub(crate) fn restore_mem(&mut self, addr: u32, data: &[u8]) -> Result<(), VmError> {
        self.write_with(ffi::flux_vm_restore_mem, addr, data)
    }

    fn write_with(
        &mut self,
        write: unsafe extern "C" fn(*mut ffi::flux_vm, u32, *const u8, usize) -> i32, // SAFETY: a type; the call below says why it is sound
        addr: u32,
        data: &[u8],
    ) -> Result<(), VmError> {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `data` is readable for `data.len()` bytes, the length passed; the runtime checks the range against its memory.
        let rc = unsafe { write(self.ptr(), addr, data.as_ptr(), data.len()) };
        if rc != 0 {
            return Err(VmError::OutOfRange { addr: addr as u64, len: data.len() });
        }
        Ok(())
    }

    pub fn read_u8(&self, addr: u32) -> Result<u8, VmError> {
        let mut b = [0u8; 1];
        self.read_mem(addr, &mut b)?;
        Ok(b[0])
    }

    pub fn read_u16(&self, addr: u32) -> Result<u16, VmError> {
        let mut b = [0u8; 2];
        self.read_mem(addr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    pub fn read_u32(&self, addr: u32) -> Result<u32, VmError> {
        let mut b = [0u8; 4];
        self.read_mem(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn set_breakpoint(&mut self, addr: u32, enabled: bool) {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_set_breakpoint(self.ptr(), addr, enabled as i32) }
    }

    pub fn has_breakpoint(&self, addr: u32) -> bool {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_has_breakpoint(self.ptr(), addr) != 0 }
    }

    pub fn clear_breakpoints(&mut self) {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_clear_breakpoints(self.ptr()) }
    }

    pub fn add_watchpoint(&mut self, addr: u32, len: u32, kind: WatchKind) -> Result<(), VmError> {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        let rc = unsafe { ffi::flux_vm_add_watchpoint(self.ptr(), addr, len, kind.raw()) };
        if rc != 0 {
            return Err(VmError::Watchpoint { addr, len });
        }
        Ok(())
    }

    /// Returns false when no such watchpoint was set.
    pub fn remove_watchpoint(&mut self, addr: u32, len: u32, kind: WatchKind) -> bool {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_remove_watchpoint(self.ptr(), addr, len, kind.raw()) == 0 }
    }

    pub fn clear_watchpoints(&mut self) {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_clear_watchpoints(self.ptr()) }
    }

    /// Takes the program output produced since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut len = 0usize;
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `len` is a local the call fills; the returned pointer is read only below.
        let p = unsafe { ffi::flux_vm_output(self.ptr(), &mut len) };
        // SAFETY: runtime-c returned `p` with `len` valid bytes of its own buffer, which stays as it is until the next call through `&mut self`; the bytes are copied before that.
        let out = if len == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(p, len) }.to_vec() };
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_clear_output(self.ptr()) };
        out
    }

    /// Arms a stub-side breakpoint: stop before `addr` when `cond` holds.
    pub fn add_cond_breakpoint(&mut self, id: u32, addr: u32, cond: Option<&crate::runtime::condition::Condition>) -> Result<(), VmError> {
        let raw = cond.map(|c| c.to_raw());
        let p = raw.as_ref().map_or(std::ptr::null(), |r| r as *const ffi::flux_cond);
        // SAFETY: `p` is null or points at `raw`, alive for the call.
        let rc = unsafe { ffi::flux_vm_add_cond_breakpoint(self.ptr(), id, addr, p) };
        if rc != 0 {
            return Err(VmError::CondBreakpoint(addr));
        }
        Ok(())
    }

    /// Arms one of gdb's breakpoints with its conditions and commands as
    /// agent expressions: stop before `addr` when a condition is nonzero or
    /// cannot be evaluated (no conditions: always); with commands, run them
    /// there instead of stopping.  Arming `id` again replaces it.
    pub fn add_ax_breakpoint(&mut self, id: u32, addr: u32, conds: &[Vec<u8>], cmds: &[Vec<u8>]) -> Result<(), VmError> {
        for code in conds {
            crate::runtime::agent_expr::check(code, false).map_err(|e| VmError::AgentExpr(addr, e))?;
        }
        for code in cmds {
            crate::runtime::agent_expr::check(code, true).map_err(|e| VmError::AgentExpr(addr, e))?;
        }
        let (c, m) = (crate::runtime::agent_expr::pack(conds), crate::runtime::agent_expr::pack(cmds));
        // SAFETY: both lists are live for the call, with their lengths.
        let rc = unsafe {
            ffi::flux_vm_add_ax_breakpoint(self.ptr(), id, addr, c.as_ptr(), c.len() as u32, m.as_ptr(), m.len() as u32)
        };
        match rc {
            0 => Ok(()),
            _ => Err(VmError::CondBreakpoint(addr)),
        }
    }

    /// Why the last stop at an agent-expression breakpoint stopped: Ok when a
    /// condition held, or the error evaluating it.
    pub fn ax_last(&self) -> Result<(), crate::runtime::agent_expr::AxError> {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        crate::runtime::agent_expr::last_result(unsafe { ffi::flux_vm_ax_last(self.ptr()) })
    }

    /// Takes the text breakpoint commands (agent-style dprintf) printed.
    pub fn take_ax_output(&mut self) -> Vec<u8> {
        let mut len = 0usize;
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `len` is a local the call fills; the returned pointer is read only below.
        let p = unsafe { ffi::flux_vm_ax_output(self.ptr(), &mut len) };
        // SAFETY: runtime-c returned `p` with `len` valid bytes of its own buffer, which stays as it is until the next call through `&mut self`; the bytes are copied before that.
        let out = if len == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(p, len) }.to_vec() };
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_clear_ax_output(self.ptr()) };
        out
    }

    pub fn remove_cond_breakpoint(&mut self, id: u32) -> bool {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_remove_cond_breakpoint(self.ptr(), id) == 0 }
    }

    /// Arms a watch-if condition: stop after the instruction that makes it true.
    pub fn add_watch_condition(&mut self, id: u32, cond: &crate::runtime::condition::Condition, once: bool) -> Result<(), VmError> {
        let raw = cond.to_raw();
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `raw` is a local condition the call copies.
        let rc = unsafe { ffi::flux_vm_add_watch_cond(self.ptr(), id, &raw, once as i32) };
        if rc != 0 {
            return Err(VmError::WatchCondition);
        }
        Ok(())
    }

    pub fn remove_watch_condition(&mut self, id: u32) -> bool {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_remove_watch_cond(self.ptr(), id) == 0 }
    }

    /// Evaluates `cond` on the VM as it is now.
    pub fn holds(&self, cond: &crate::runtime::condition::Condition) -> bool {
        let raw = cond.to_raw();
        let mut view = ffi::flux_view::default();
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `view` and `raw` are locals; the view points into the VM, which lives and is not changed (`&self`) while flux_cond_eval reads it.
        unsafe {
            ffi::flux_vm_view(self.ptr(), &mut view);
            ffi::flux_cond_eval(&raw, &view) != 0
        }
    }

    /// The confidence of the last result.
    pub fn last_confidence(&self) -> f32 {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_last_confidence(self.ptr()) }
    }

    /// The newest trust checks (at most 256), oldest first.
    pub fn trust_log(&self) -> Vec<TrustEvent> {
        let mut raw = vec![ffi::flux_trust_event::default(); ffi::FLUX_TRUST_LOG as usize];
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `raw` has `raw.len()` entries, the capacity passed; the call writes at most that many.
        let n = unsafe { ffi::flux_vm_trust_log(self.ptr(), raw.as_mut_ptr(), raw.len()) };
        raw.truncate(n);
        raw.into_iter()
            .map(|e| TrustEvent { pc: e.pc, agent: e.agent, score: e.score, threshold: e.threshold, passed: e.passed != 0, cycle: e.cycle })
            .collect()
    }

    /// The provenance of register `reg`'s confidence, newest first, depth-first.
    pub fn conf_trace(&self, reg: u32) -> Vec<ProvEntry> {
        let mut raw = vec![ffi::flux_prov_entry::default(); 64];
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `raw` has `raw.len()` entries, the capacity passed; the call writes at most that many.
        let n = unsafe { ffi::flux_vm_conf_trace(self.ptr(), reg, raw.as_mut_ptr(), raw.len()) };
        raw.truncate(n);
        raw.into_iter()
            .map(|e| ProvEntry {
                pc: e.pc,
                insn: e.insn,
                dest: e.dest,
                depth: e.depth,
                before: e.before,
                after: e.after,
                cycle: e.cycle,
                truncated: e.truncated != 0,
            })
            .collect()
    }

    /// Tracing on or off (records accumulate in the VM until `take_trace`).
    pub fn set_tracing(&mut self, on: bool) -> Result<(), VmError> {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        if unsafe { ffi::flux_vm_set_tracing(self.ptr(), on as i32) } != 0 {
            return Err(VmError::HookMemory);
        }
        Ok(())
    }

    /// Takes the trace records produced since the last call (records carry
    /// their own index: the cycle count), without their disassembly
    /// (`program::disasm::take_trace` adds it).
    pub fn take_trace(&mut self) -> Vec<crate::runtime::records::TraceRecord> {
        let mut len = 0usize;
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `len` is a local the call fills.
        let p = unsafe { ffi::flux_vm_trace_data(self.ptr(), &mut len) };
        let records = if p.is_null() || len == 0 {
            Vec::new()
        } else {
            // SAFETY: runtime-c hands out its buffer and its filled length.
            crate::runtime::records::parse_raw(unsafe { std::slice::from_raw_parts(p, len) })
        };
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_trace_clear(self.ptr()) };
        records
    }

    /// Hands the trace records produced since the last call to `f` as
    /// borrowed lean records (see [`Vm::take_trace_writes`]), and clears them.
    pub fn drain_trace_writes(&mut self, f: impl FnMut(&crate::runtime::records::WriteView<'_>)) {
        let mut len = 0usize;
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `len` is a local the call fills.
        let p = unsafe { ffi::flux_vm_trace_data(self.ptr(), &mut len) };
        if !p.is_null() && len > 0 {
            // SAFETY: runtime-c hands out its buffer and its filled length; it is
            // read before the buffer is cleared below.
            crate::runtime::records::each_write(unsafe { std::slice::from_raw_parts(p, len) }, f);
        }
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_trace_clear(self.ptr()) };
    }

    /// Takes the trace records produced since the last call as the lean
    /// records history queries read (who ran it, what it wrote, old and new).
    pub fn take_trace_writes(&mut self) -> Vec<crate::runtime::records::WriteRecord> {
        let mut len = 0usize;
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `len` is a local the call fills.
        let p = unsafe { ffi::flux_vm_trace_data(self.ptr(), &mut len) };
        let records = if p.is_null() || len == 0 {
            Vec::new()
        } else {
            // SAFETY: runtime-c hands out its buffer and its filled length.
            crate::runtime::records::parse_writes(unsafe { std::slice::from_raw_parts(p, len) })
        };
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_trace_clear(self.ptr()) };
        records
    }

    /// Drops the trace records produced since the last call; returns their bytes.
    pub fn discard_trace(&mut self) -> usize {
        let mut len = 0usize;
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `len` is a local the call fills.
        unsafe { ffi::flux_vm_trace_data(self.ptr(), &mut len) };
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_trace_clear(self.ptr()) };
        len
    }

    /// The access log (schedule coverage: runtime-c's `flux_vm_log_accesses`)
    /// on or off; clears it.  While on, a run stops with
    /// [`StopKind::TraceFull`] when the log nearly fills: take it and run on.
    pub fn log_accesses(&mut self, on: bool) -> Result<(), VmError> {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        if unsafe { ffi::flux_vm_log_accesses(self.ptr(), on as i32) } != 0 {
            return Err(VmError::HookMemory);
        }
        Ok(())
    }

    /// Appends the access events logged since the last call to `out` and
    /// clears the log; returns how many did not fit (0 unless the log filled
    /// without a stop being handled).
    pub fn take_accesses(&mut self, out: &mut Vec<Access>) -> u32 {
        let (mut n, mut lost) = (0usize, 0u32);
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `n` and `lost` are locals the call fills.
        let p = unsafe { ffi::flux_vm_accesses(self.ptr(), &mut n, &mut lost) };
        if !p.is_null() && n > 0 {
            // SAFETY: runtime-c hands out its buffer and the number of events in it.
            let events = unsafe { std::slice::from_raw_parts(p, n) };
            out.extend(events.iter().map(|e| Access { loc: e.loc, len: e.len, kind: e.kind, agent: e.agent }));
        }
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`).
        unsafe { ffi::flux_vm_clear_accesses(self.ptr()) };
        lost
    }

    /// The bytes of a saved machine state ([`Vm::save_state`]): the same for
    /// every VM of this build.
    pub fn state_size() -> usize {
        // SAFETY: a pure function of the build: no arguments, no state.
        unsafe { ffi::flux_vm_state_size() }
    }

    /// The machine state a checkpoint keeps besides memory (see runtime-c's
    /// `flux_vm_save_state`): an opaque blob for `load_state`.
    pub fn save_state(&self) -> Box<[u8]> {
        // SAFETY: a pure function of the build: no arguments, no state.
        let mut buf = vec![0u8; unsafe { ffi::flux_vm_state_size() }].into_boxed_slice();
        // SAFETY: the buffer has flux_vm_state_size() bytes.
        unsafe { ffi::flux_vm_save_state(self.ptr(), buf.as_mut_ptr().cast()) };
        // every state the VM produces must load again (debug builds, and so
        // the whole test suite, check that)
        debug_assert_eq!(Self::check_state(&buf), Ok(()), "runtime-c refuses a state it saved");
        buf
    }

    /// Restores a blob from `save_state` of this build.  runtime-c checks
    /// every field first (a blob may come from a file): a wrong length or a
    /// field out of range is refused, and the VM is left as it was.
    pub fn load_state(&mut self, state: &[u8]) -> Result<(), VmError> {
        Self::state_checked(state, |why, len| {
            // SAFETY: the length was checked; `why` has `len` bytes.
            unsafe { ffi::flux_vm_load_state(self.ptr(), state.as_ptr().cast(), why, len) }
        })
    }

    /// Takes `other`'s machine state, as `load_state(&other.save_state())`
    /// would, without the copy and the checks (a live VM's state is valid).
    pub fn copy_state_from(&mut self, other: &Vm) {
        // SAFETY: both VMs are live (see `Vm::ptr`) and distinct (`&mut self` and `&Vm`).
        unsafe { ffi::flux_vm_copy_state(self.ptr(), other.ptr()) };
    }

    /// Loads a state this VM build saved ([`Self::save_state`], kept in a
    /// checkpoint), without `load_state`'s checks, which such a state passes
    /// by construction (debug builds check it all the same).  Bytes from
    /// outside (files, clients) go through `load_state`.  The state comes in
    /// pieces of `piece_size` bytes (the last one shorter), as a checkpoint
    /// keeps it: each is copied into the VM once.
    pub(crate) fn load_saved_state<P: AsRef<[u8]>>(&mut self, pieces: &[P], piece_size: usize) {
        let size = Self::state_size();
        assert!(piece_size > 0, "pieces have a size");
        assert_eq!(pieces.len(), size.div_ceil(piece_size), "a saved state's pieces cover it");
        for (k, p) in pieces.iter().enumerate() {
            assert_eq!(p.as_ref().len(), piece_size.min(size - k * piece_size), "piece {k} has its share of the state");
        }
        debug_assert_eq!(
            Self::check_state(&pieces.iter().flat_map(|p| p.as_ref().iter().copied()).collect::<Vec<u8>>()).map_err(|e| e.to_string()),
            Ok(()),
            "a saved state is valid"
        );
        let at: Vec<*const u8> = pieces.iter().map(|p| p.as_ref().as_ptr()).collect();
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `at` has one pointer per piece, and each piece holds
        // min(piece_size, what is left) bytes (asserted), what runtime-c reads from it; together they are
        // what flux_vm_save_state wrote, which the VM's checks accept (so every index it holds stays in bounds).
        unsafe { ffi::flux_vm_load_saved_state(self.ptr(), at.as_ptr(), piece_size) };
    }

    /// Whether `load_state` would accept `state` (the same checks, no VM).
    pub fn check_state(state: &[u8]) -> Result<(), VmError> {
        Self::state_checked(state, |why, len| {
            // SAFETY: the length was checked; `why` has `len` bytes.
            unsafe { ffi::flux_vm_check_state(state.as_ptr().cast(), why, len) }
        })
    }

    fn state_checked(state: &[u8], call: impl FnOnce(*mut std::os::raw::c_char, usize) -> i32) -> Result<(), VmError> {
        // SAFETY: a pure function of the build: no arguments, no state.
        if state.len() != unsafe { ffi::flux_vm_state_size() } {
            return Err(VmError::StateSize(state.len()));
        }
        let mut why = [0u8; 160];
        if call(why.as_mut_ptr().cast(), why.len()) != 0 {
            let end = why.iter().position(|&b| b == 0).unwrap_or(why.len());
            return Err(VmError::BadState(String::from_utf8_lossy(&why[..end]).into_owned()));
        }
        Ok(())
    }

    /// Which memory pages were written since the last call (by the program or
    /// through `write_mem`); clears the map.
    pub fn take_dirty_pages(&mut self) -> [bool; PAGES] {
        let mut raw = [0u8; PAGES];
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `raw` has PAGES bytes, the size runtime-c writes (FLUX_PAGES).
        unsafe { ffi::flux_vm_take_dirty_pages(self.ptr(), raw.as_mut_ptr()) };
        raw.map(|b| b != 0)
    }

    /// Which memory pages were written since the last call to this (a map of
    /// its own: [`Vm::take_dirty_pages`] and [`Vm::take_dirty_lines`] do not
    /// clear it); clears it.  For hashes of memory kept page by page.
    pub fn take_rehash_pages(&mut self) -> [bool; PAGES] {
        let mut raw = [0u8; PAGES];
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `raw` has PAGES bytes, the size runtime-c writes (FLUX_PAGES).
        unsafe { ffi::flux_vm_take_rehash_pages(self.ptr(), raw.as_mut_ptr()) };
        raw.map(|b| b != 0)
    }

    /// Which [`LINE_SIZE`]-byte lines of memory were written since the last
    /// call (by the program or through `write_mem`); clears that map only.
    pub fn take_dirty_lines(&mut self) -> LineMarks {
        let mut marks = [0u64; LINES / 64];
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `marks` has LINES / 64 words, what runtime-c writes (FLUX_LINES / 64).
        unsafe { ffi::flux_vm_take_dirty_lines(self.ptr(), marks.as_mut_ptr()) };
        marks
    }

    /// Memory, all of it, as a copy.
    pub fn memory(&self) -> [u8; MEM_SIZE as usize] {
        let mut m = [0u8; MEM_SIZE as usize];
        m.copy_from_slice(self.memory_view());
        m
    }

    /// Memory, all of it, without a copy (the borrow keeps the VM from
    /// running or being written meanwhile).
    pub fn memory_view(&self) -> &[u8] {
        // SAFETY: runtime-c's memory is FLUX_MEM_SIZE bytes inside the VM,
        // which `self` owns; it changes only through `&mut self` methods.
        unsafe { std::slice::from_raw_parts(ffi::flux_vm_memory(self.ptr()), MEM_SIZE as usize) }
    }

    /// Logging of input events (RNG values) on or off; clears the log.
    pub fn log_inputs(&mut self, on: bool) {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_log_inputs(self.ptr(), on as i32) }
    }

    /// The input events logged since the last call, and how many did not fit.
    pub fn take_inputs(&mut self) -> (Vec<InputEvent>, u32) {
        // A few on the stack first: an empty log (a restore clears one at
        // every step back) allocates nothing.  Then into uninitialised room,
        // twice as much each time (a zeroed 256-event buffer per call cost
        // more than the run between two of the recorder's calls).
        let mut first = [std::mem::MaybeUninit::<ffi::flux_input_event>::uninit(); 16];
        let mut lost_total = 0u32;
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `first` has room for `first.len()` events, the capacity passed; `lost_total` is a local the call fills.
        let n = unsafe { ffi::flux_vm_take_inputs(self.ptr(), first.as_mut_ptr().cast(), first.len(), &mut lost_total) };
        // SAFETY: runtime-c wrote the first `n` events (n <= first.len()).
        let mut raw: Vec<ffi::flux_input_event> = first[..n].iter().map(|e| unsafe { e.assume_init() }).collect();
        // the last take filled its room: there may be more
        let mut full = n == first.len();
        while full {
            raw.reserve(raw.len().max(256));
            let room = raw.spare_capacity_mut();
            let mut lost = 0u32;
            // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `room` has `room.len()` entries of writable memory, the capacity passed; `lost` is a local the call fills.
            let n = unsafe { ffi::flux_vm_take_inputs(self.ptr(), room.as_mut_ptr().cast(), room.len(), &mut lost) };
            full = n == room.len();
            // SAFETY: runtime-c wrote the first `n` entries of the spare room (n <= its length).
            unsafe { raw.set_len(raw.len() + n) };
            lost_total = lost_total.saturating_add(lost);
        }
        (raw.iter().map(input_event).collect(), lost_total)
    }

    /// Profiling on or off.
    pub fn set_profiling(&mut self, on: bool) -> Result<(), VmError> {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        if unsafe { ffi::flux_vm_set_profiling(self.ptr(), on as i32) } != 0 {
            return Err(VmError::HookMemory);
        }
        Ok(())
    }

    /// Profile events on or off: while profiling, every call, return and
    /// agent turn is logged (see [`Vm::take_profile_events`]).
    pub fn set_profile_events(&mut self, on: bool) -> Result<(), VmError> {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        if unsafe { ffi::flux_vm_profile_events(self.ptr(), on as i32) } != 0 {
            return Err(VmError::HookMemory);
        }
        Ok(())
    }

    /// Appends the profile events logged since the last call to `out` and
    /// clears them; returns how many were lost to a full buffer (none while
    /// every run's events are taken after it: the VM stops with
    /// [`StopKind::TraceFull`] before it fills).
    pub fn take_profile_events(&mut self, out: &mut Vec<crate::runtime::records::ProfEvent>) -> u64 {
        use crate::runtime::records::{ProfEvent, ProfEventKind};
        let (mut n, mut lost) = (0usize, 0u64);
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `n` and `lost` are locals the call fills.
        let p = unsafe { ffi::flux_vm_profile_event_data(self.ptr(), &mut n, &mut lost) };
        if !p.is_null() && n > 0 {
            // SAFETY: runtime-c hands out its buffer and its filled length; the
            // events are copied out before the buffer is cleared below.
            let events = unsafe { std::slice::from_raw_parts(p, n) };
            out.reserve(n);
            out.extend(events.iter().filter_map(|e| {
                let kind = match u32::from(e.kind) {
                    ffi::FLUX_PROF_EV_CALL => ProfEventKind::Call,
                    ffi::FLUX_PROF_EV_RETURN => ProfEventKind::Return,
                    ffi::FLUX_PROF_EV_TURN => ProfEventKind::Turn,
                    ffi::FLUX_PROF_EV_END => ProfEventKind::End,
                    _ => return None,
                };
                Some(ProfEvent { kind, agent: u32::from(e.agent), addr: e.addr, cycle: e.cycle, resumed: e.resumed != 0 })
            }));
        }
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`).
        unsafe { ffi::flux_vm_profile_events_clear(self.ptr()) };
        lost
    }

    pub fn profile_reset(&mut self) {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_profile_reset(self.ptr()) }
    }

    /// The exact counts gathered so far (empty when profiling was never on).
    pub fn profile_counts(&self) -> crate::runtime::records::ProfileCounts {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); only the pointer is taken here (null when profiling was never on).
        let counts = unsafe { ffi::flux_vm_profile_counts(self.ptr()) };
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); only the pointer is taken here (null when profiling was never on).
        let energy = unsafe { ffi::flux_vm_profile_energy(self.ptr()) };
        if counts.is_null() || energy.is_null() {
            return crate::runtime::records::ProfileCounts::default();
        }
        let n = MEM_SIZE as usize;
        // SAFETY: both arrays have FLUX_MEM_SIZE entries once profiling was on.
        let pc_count = unsafe { std::slice::from_raw_parts(counts, n) }.to_vec();
        // SAFETY: runtime-c returned `p` with `len` valid bytes of its own buffer, which stays as it is until the next call through `&mut self`; the bytes are copied before that.
        let pc_energy = unsafe { std::slice::from_raw_parts(energy, n) }.to_vec();
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        let total = unsafe { ffi::flux_vm_profile_nodes(self.ptr(), std::ptr::null_mut(), 0) };
        let mut raw = vec![ffi::flux_prof_node::default(); total];
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        let got = unsafe { ffi::flux_vm_profile_nodes(self.ptr(), raw.as_mut_ptr(), raw.len()) };
        raw.truncate(got.min(total));
        let nodes = raw
            .iter()
            .map(|n| crate::runtime::records::CallNode { parent: n.parent, func: n.func, self_count: n.self_count, calls: n.calls })
            .collect();
        crate::runtime::records::ProfileCounts { pc_count, pc_energy, nodes }
    }

    /// Stop right after a failing trust check.
    pub fn set_break_on_trust_fail(&mut self, on: bool) {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_break_on_trust_fail(self.ptr(), on as i32) }
    }

    pub fn trust(&self, agent: u32) -> f32 {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_trust(self.ptr(), agent) }
    }

    pub fn trust_threshold(&self) -> f32 {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_trust_threshold(self.ptr()) }
    }

    /// Halted or terminated: running again only reports how it ended.
    pub fn finished(&self) -> bool {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_finished(self.ptr()) != 0 }
    }

    /// Sets the scheduler (and starts it afresh): call it before running.
    /// A PCT schedule's depth must be 1..=16 and its steps at least 1
    /// (the CLI checks them); out of range, PCT falls back to depth 1 over 1
    /// step.
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
        let kind = match schedule.kind {
            SchedKind::RoundRobin => ffi::FLUX_SCHED_ROUND_ROBIN,
            SchedKind::Chaos => ffi::FLUX_SCHED_CHAOS,
            SchedKind::Pct => {
                // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
                let ok = unsafe { ffi::flux_vm_set_pct(self.ptr(), schedule.slice, schedule.depth, schedule.steps) } == 0;
                if !ok {
                    // SAFETY: as above
                    unsafe { ffi::flux_vm_set_pct(self.ptr(), schedule.slice, 1, 1) };
                }
                return;
            }
        };
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_set_schedule(self.ptr(), kind, schedule.slice) }
    }

    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// The id of the agent the VM runs now.
    pub fn current_agent(&self) -> u32 {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_current_agent(self.ptr()) }
    }

    /// The id the next SPAWN gives: 2 while the first agent is the only one
    /// there has been since the reset (ids are given in order, never again).
    pub fn next_agent_id(&self) -> u32 {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`).
        unsafe { ffi::flux_vm_next_agent_id(self.ptr()) }
    }

    /// The live agents, in id order.
    pub fn agents(&self) -> Vec<AgentInfo> {
        let mut raw = vec![ffi::flux_agent_info::default(); MAX_AGENTS];
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `raw` has `raw.len()` entries, the capacity passed; the call writes at most that many.
        let n = unsafe { ffi::flux_vm_agents(self.ptr(), raw.as_mut_ptr(), raw.len()) };
        raw.truncate(n.min(MAX_AGENTS));
        raw.into_iter()
            .map(|a| AgentInfo {
                id: a.id,
                state: match a.state {
                    ffi::FLUX_AGENT_BLOCKED_ASK => AgentState::Ask(a.wait_on),
                    ffi::FLUX_AGENT_BLOCKED_SEND => AgentState::Send(a.wait_on),
                    ffi::FLUX_AGENT_BLOCKED_JOIN => AgentState::Join(a.wait_on),
                    ffi::FLUX_AGENT_BLOCKED_BARRIER => AgentState::Barrier,
                    ffi::FLUX_AGENT_ENDED => AgentState::Ended,
                    _ => AgentState::Runnable,
                },
                wait_op: a.wait_op as u8,
                pc: a.pc,
                mailbox: a.mailbox,
                energy: a.energy,
                retired: a.retired,
                stack: (a.stack_lo, a.stack_hi),
                running: a.running != 0,
            })
            .collect()
    }

    /// The registers of live agent `id` (the running one's are `regs()`).
    pub fn agent_regs(&self, id: u32) -> Option<Regs> {
        let mut r = Regs::default();
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `r` is a local the call fills.
        (unsafe { ffi::flux_vm_agent_regs(self.ptr(), id, &mut r) } == 0).then_some(r)
    }

    /// Writes agent `id`'s registers; false when there is no such live agent.
    pub fn set_agent_regs(&mut self, id: u32, regs: &Regs) -> bool {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `regs` is a live reference the call only reads.
        unsafe { ffi::flux_vm_set_agent_regs(self.ptr(), id, regs) == 0 }
    }

    /// Agent `id`'s queued messages, oldest first.
    pub fn mailbox(&self, id: u32) -> Vec<Message> {
        let mut raw = vec![ffi::flux_message::default(); MAILBOX_CAP];
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); `raw` has `raw.len()` entries, the capacity passed; the call writes at most that many.
        let n = unsafe { ffi::flux_vm_mailbox(self.ptr(), id, raw.as_mut_ptr(), raw.len()) };
        raw.truncate(n.min(MAILBOX_CAP));
        raw.into_iter().map(|m| Message { value: m.value, conf: m.conf, from: m.from }).collect()
    }

    /// Makes agent `id` the running one (the debugger choosing): Some(true)
    /// when that changed who runs, None when there is no such agent.
    pub fn select_agent(&mut self, id: u32) -> Option<bool> {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        match unsafe { ffi::flux_vm_select_agent(self.ptr(), id) } {
            1 => Some(true),
            0 => Some(false),
            _ => None,
        }
    }

    /// gdb's scheduler-locking: while on, only the running agent runs.
    /// True when, since the last call, a locked run kept an agent past the
    /// end of its slice (where the scheduler would have switched).
    pub fn lock_scheduler(&mut self, on: bool) -> bool {
        // SAFETY: `self.ptr()` is live (see `Vm::ptr`); the other arguments are plain values.
        unsafe { ffi::flux_vm_lock_scheduler(self.ptr(), on as i32) != 0 }
    }

    /// A handle that can stop this VM's run from another thread.
    pub fn interrupter(&self) -> Interrupter {
        Interrupter { raw: self.raw }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // SAFETY: `self.ptr()` came from flux_vm_new and is freed once, here; nothing uses it after Drop.
        unsafe { ffi::flux_vm_free(self.ptr()) }
    }
}

/// Stops a running VM at its next instruction boundary (an atomic flag in
/// runtime-c).  It must not outlive the `Vm` it came from.
#[derive(Clone, Copy)]
pub struct Interrupter {
    raw: NonNull<ffi::flux_vm>,
}

// SAFETY: an Interrupter only calls flux_vm_interrupt, which sets an atomic
// flag (runtime-c's `interrupt`, read by the running thread at instruction
// boundaries) and touches nothing else: sending it to another thread is what
// it is for.  That the VM is still alive is `interrupt`'s own contract.
unsafe impl Send for Interrupter {}

impl Interrupter {
    /// # Safety
    /// The VM this came from must still be alive.
    pub unsafe fn interrupt(&self) {
        // SAFETY: the caller guarantees the VM is alive; flux_vm_interrupt
        // only stores to an atomic flag, so it may race with a running VM.
        unsafe { ffi::flux_vm_interrupt(self.raw.as_ptr()) }
    }
}

/// How a headless run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Exited(u8),
    Signalled { signal: Signal, pc: u32, reason: String },
}

impl Outcome {
    /// The process exit status `flux-gdbstub run` uses: the HALT code, or 128 + signal.
    pub fn exit_status(&self) -> i32 {
        match self {
            Outcome::Exited(c) => *c as i32,
            Outcome::Signalled { signal, .. } => 128 + signal.number() as i32,
        }
    }
}

impl Vm {
    /// Runs to the end without a debugger: BRK is ignored, output goes to `out`
    /// as it is produced.  Faults end the run.
    pub fn run_to_end(&mut self, out: &mut dyn std::io::Write) -> std::io::Result<Outcome> {
        loop {
            let stop = self.run(u64::MAX);
            let text = self.take_output();
            if !text.is_empty() {
                out.write_all(&text)?;
            }
            match stop.kind {
                StopKind::Halted { code } => return Ok(Outcome::Exited(code)),
                StopKind::Fault { signal, reason } | StopKind::Terminated { signal, reason } => {
                    return Ok(Outcome::Signalled { signal, pc: stop.pc, reason })
                }
                _ => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_logged_input_is_taken_in_order_whatever_the_count() {
        let program = crate::program::asm::assemble("again: RNG_NEXT r1\nJMP again\n").unwrap().bytes;
        let log = ffi::FLUX_INPUT_LOG as u64;
        // 0, fewer than, exactly and more than the first 16, a doubling's worth,
        // the whole log, and more than it holds
        for draws in [0u64, 5, 16, 17, 300, 4096, log, log + 10] {
            let mut vm = Vm::with_program(&program, VmConfig::default()).unwrap();
            vm.log_inputs(true);
            // each draw and its jump: two instructions
            vm.run(2 * draws);
            let (events, lost) = vm.take_inputs();
            assert_eq!((events.len() as u64, u64::from(lost)), (draws.min(log), draws.saturating_sub(log)), "{draws} draws");
            assert!(events.iter().enumerate().all(|(i, e)| e.cycle == 2 * i as u64 && e.kind == InputKind::Rng), "{draws} draws: in order");
            if draws > 0 && draws <= log {
                assert_eq!(events.last().unwrap().value as u32, vm.regs().r[1] as u32, "the last value drawn is r1");
            }
            assert_eq!(vm.take_inputs(), (Vec::new(), 0), "taken: empty");
        }
    }

    #[test]
    fn a_restore_write_is_marked_for_lines_and_rehash_but_not_pages() {
        let mut vm = Vm::with_program(&[], VmConfig::default()).unwrap();
        vm.take_dirty_pages();
        vm.take_dirty_lines();
        vm.take_rehash_pages();
        // lines 0x8F0 / 16 .. 0x90F / 16, pages 8 and 9
        vm.restore_mem(0x8F0, &[0xAB; 0x20]).unwrap();
        let mut back = [0u8; 0x20];
        vm.read_mem(0x8F0, &mut back).unwrap();
        assert_eq!(back, [0xAB; 0x20]);
        assert!(vm.take_dirty_pages().iter().all(|&d| !d), "no page marked for checkpoints");
        let rehash = vm.take_rehash_pages();
        assert_eq!((0..PAGES).filter(|&p| rehash[p]).collect::<Vec<_>>(), vec![8, 9]);
        let lines = vm.take_dirty_lines();
        let marked: Vec<usize> = (0..LINES).filter(|&l| lines[l / 64] >> (l % 64) & 1 == 1).collect();
        assert_eq!(marked, vec![0x8F, 0x90]);
        // a plain write marks all three
        vm.write_mem(0x100, &[1]).unwrap();
        assert!(vm.take_dirty_pages()[1] && vm.take_rehash_pages()[1]);
        assert_eq!(vm.restore_mem(0xFFFF, &[1, 2]).map_err(|e| e.to_string()), vm.write_mem(0xFFFF, &[1, 2]).map_err(|e| e.to_string()));
        assert!(vm.restore_mem(0xFFFF, &[1, 2]).is_err(), "out of memory: refused");
    }

    #[test]
    fn a_saved_state_loads_back_from_pieces_of_any_size() {
        let program = crate::program::asm::assemble("LOAD_IMM r1, 7\nagain: ADDI r1, 3\nPUSH_R r1\nJMP again\n").unwrap().bytes;
        let mut vm = Vm::with_program(&program, VmConfig::default()).unwrap();
        vm.run(50);
        let saved = vm.save_state();
        vm.run(31);
        assert_ne!(vm.save_state(), saved);
        // 256: as checkpoints keep it; 1000 and 7 leave a short last piece; whole
        for size in [256, 1000, 7, saved.len()] {
            let mut other = Vm::with_program(&program, VmConfig::default()).unwrap();
            let pieces: Vec<&[u8]> = saved.chunks(size).collect();
            other.load_saved_state(&pieces, size);
            assert_eq!(other.save_state(), saved, "pieces of {size} bytes");
        }
    }

    // Found by fuzzing (fuzz/fuzz_targets/runtime.rs): a program that runs off
    // the end of memory (here JMP 0x100, then NOPs) reached pc = 0x10000 and
    // the interpreter read its stop map past the end, then ran the VM's own
    // fields as code.  It must fault there instead.  (The jump keeps the end
    // away from a 64 Ki-instruction chunk boundary, which hid the bug.)
    #[test]
    fn running_off_the_end_of_memory_faults_at_its_end() {
        let mut vm = Vm::with_program(&[0x06, 0x00, 0x01], VmConfig::default()).unwrap();
        let stop = vm.run(u64::MAX);
        assert!(matches!(stop.kind, StopKind::Fault { signal: Signal::Segv, .. }), "{stop:?}");
        assert_eq!((stop.pc, stop.executed), (MEM_SIZE, 1 + (MEM_SIZE - 0x100) as u64));
        // Stepping there too: one NOP at 0xFFFF, then the fault.
        let mut vm = Vm::with_program(&[], VmConfig::default()).unwrap();
        let mut r = vm.regs();
        r.pc = MEM_SIZE - 1;
        vm.set_regs(&r);
        vm.set_breakpoint(MEM_SIZE - 1, true);
        let at_bp = vm.run(1);
        assert_eq!((at_bp.kind, at_bp.pc, at_bp.executed), (StopKind::Breakpoint, MEM_SIZE - 1, 0));
        assert_eq!(vm.run(1).pc, MEM_SIZE, "resuming from the breakpoint passes over it");
        assert!(matches!(vm.run(1).kind, StopKind::Fault { signal: Signal::Segv, .. }));
    }

    // A run that ends on a breakpoint's address by running out of budget
    // (the stub runs in slices; recording, up to each checkpoint) must stop
    // there when the next run begins: only a breakpoint the VM stopped at is
    // passed over on resume.
    #[test]
    fn a_breakpoint_where_the_budget_ran_out_stops_the_next_run() {
        // NOP NOP NOP HALT
        let mut vm = Vm::with_program(&[0x00, 0x00, 0x00, 0x0B], VmConfig::default()).unwrap();
        vm.set_breakpoint(2, true);
        let s = vm.run(2);
        assert_eq!((s.kind, s.pc, s.executed), (StopKind::Budget, 2, 2));
        let s = vm.run(10);
        assert_eq!((s.kind, s.pc, s.executed), (StopKind::Breakpoint, 2, 0));
        let s = vm.run(10);
        assert_eq!((s.kind, s.executed), (StopKind::Halted { code: 0 }, 2));
    }

    // Found by fuzzing: every run from a pc outside memory gave back the
    // energy of an instruction that was never fetched.
    #[test]
    fn a_pc_outside_memory_costs_and_refunds_nothing() {
        let mut vm = Vm::with_program(&[], VmConfig::default()).unwrap();
        let mut r = vm.regs();
        r.pc = 0x12345;
        vm.set_regs(&r);
        for _ in 0..3 {
            let stop = vm.run(10);
            assert!(matches!(stop.kind, StopKind::Fault { signal: Signal::Segv, .. }), "{stop:?}");
            assert_eq!((stop.pc, stop.executed), (0x12345, 0));
            assert_eq!(vm.regs().energy, DEFAULT_ENERGY);
        }
    }

    // Found by fuzzing (UBSan): energy i64::MIN, from gdb or `--energy`,
    // overflowed when the first instruction was paid for.
    #[test]
    fn negative_energy_is_zero() {
        let mut vm = Vm::with_program(&[0x0B], VmConfig { energy: i64::MIN, seed: 0 }).unwrap();
        assert_eq!(vm.regs().energy, 0);
        let mut r = vm.regs();
        r.energy = i64::MIN;
        vm.set_regs(&r);
        assert_eq!(vm.regs().energy, 0);
        let stop = vm.run(10);
        assert!(matches!(stop.kind, StopKind::Fault { signal: Signal::Xcpu, .. }), "{stop:?}");
        assert_eq!(vm.regs().energy, 0);
    }

    // Found by fuzzing: with cycles near u64::MAX (gdb can write them) the
    // budget was cut to what was left below u64::MAX, so the VM stalled
    // there with every run retiring nothing.  Cycles wrap instead.
    #[test]
    fn cycles_wrap_instead_of_stalling() {
        let mut vm = Vm::with_program(&[], VmConfig::default()).unwrap();
        let mut r = vm.regs();
        r.cycles = u64::MAX - 1;
        vm.set_regs(&r);
        let stop = vm.run(5);
        assert_eq!((stop.kind, stop.executed, stop.pc), (StopKind::Budget, 5, 5));
        assert_eq!(vm.regs().cycles, 3);
    }
}
