//! A snapshot of the machine at an instruction boundary, and the runtime's
//! evaluators (conditions, agent expressions) applied to it.
use crate::runtime::condition::Condition;
use crate::runtime::ffi;
use crate::runtime::vm::{Vm, NUM_REGS};

/// The machine state at an instruction boundary, as the runtime exports it.
#[derive(Debug, Clone, PartialEq)]
pub struct VmState {
    pub pc: u32,
    /// The opcode byte at `pc`.
    pub opcode: u8,
    pub registers: [i32; NUM_REGS],
    pub confidences: [f32; NUM_REGS],
    /// The confidence of the last result.
    pub confidence: f32,
    pub energy: i64,
    pub cycles: u64,
    pub sp: u32,
    pub fp: u32,
    pub flags: u32,
    /// Memory, when the snapshot carries it (memory conditions read it).
    pub memory: Vec<u8>,
    /// Trust in agents 0–255, when the snapshot carries it.
    pub trust: Vec<f32>,
}

impl Default for VmState {
    fn default() -> Self {
        VmState::new()
    }
}

impl VmState {
    /// The state of a VM at reset, without memory: pc 0, registers 0,
    /// confidences 1.0, the default energy.
    pub fn new() -> VmState {
        VmState {
            pc: 0,
            opcode: 0,
            registers: [0; NUM_REGS],
            confidences: [1.0; NUM_REGS],
            confidence: 1.0,
            energy: crate::runtime::vm::DEFAULT_ENERGY,
            cycles: 0,
            sp: crate::runtime::vm::STACK_TOP,
            fp: crate::runtime::vm::STACK_TOP,
            flags: 0,
            memory: Vec::new(),
            trust: Vec::new(),
        }
    }

    /// A snapshot of `vm` (memory and trust included).
    pub fn capture(vm: &Vm) -> VmState {
        let r = vm.regs();
        let mut memory = vec![0u8; crate::runtime::vm::MEM_SIZE as usize];
        let _ = vm.read_mem(0, &mut memory);
        VmState {
            pc: r.pc,
            opcode: vm.read_u8(r.pc).unwrap_or(0),
            registers: r.r,
            confidences: r.conf,
            confidence: vm.last_confidence(),
            energy: r.energy,
            cycles: r.cycles,
            sp: r.sp,
            fp: r.fp,
            flags: r.flags,
            memory,
            trust: (0..ffi::FLUX_NUM_AGENTS).map(|a| vm.trust(a)).collect(),
        }
    }

    /// Evaluates `cond` on this snapshot with the runtime's evaluator.
    pub fn satisfies(&self, cond: &Condition) -> bool {
        let raw = cond.to_raw();
        let view = self.view();
        // SAFETY: the view's pointers describe live slices of `self` of the
        // lengths flux_view documents; the evaluator only reads them.
        unsafe { ffi::flux_cond_eval(&raw, &view) != 0 }
    }

    /// Evaluates one of gdb's agent expressions on this snapshot with the
    /// runtime's evaluator (the one the VM runs for gdb's conditions).
    pub fn eval_agent(&self, code: &[u8]) -> Result<u64, crate::runtime::agent_expr::AxError> {
        crate::runtime::agent_expr::eval_on(code, &self.view())
    }

    /// The snapshot as the runtime's evaluators read it (borrows `self`).
    fn view(&self) -> ffi::flux_view {
        ffi::flux_view {
            r: self.registers.as_ptr(),
            conf: self.confidences.as_ptr(),
            mem: if self.memory.is_empty() { std::ptr::null() } else { self.memory.as_ptr() },
            mem_len: self.memory.len().min(u32::MAX as usize) as u32,
            trust: if self.trust.len() >= ffi::FLUX_NUM_AGENTS as usize { self.trust.as_ptr() } else { std::ptr::null() },
            pc: self.pc,
            sp: self.sp,
            energy: self.energy,
            cycles: self.cycles,
            last_conf: self.confidence,
            fp: self.fp,
            flags: self.flags,
        }
    }
}

