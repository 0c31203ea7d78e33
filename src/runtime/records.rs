//! The records the runtime hands out, as plain Rust values: one per traced
//! instruction ([`TraceRecord`], parsed from runtime-c's trace stream) and the
//! profiler's exact counts ([`ProfileCounts`]).  What is made of them (trace
//! files, windows, reports) lives in the analysis layer.
use std::sync::Arc;

/// A register an instruction wrote: its new value and confidence.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RegWrite {
    pub reg: u8,
    pub value: i32,
    pub conf: f32,
}

/// Memory an instruction wrote (up to 4 bytes, little-endian values).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MemWrite {
    pub addr: u32,
    pub len: u8,
    pub old: u32,
    pub new: u32,
}

/// FLUX events an instruction caused.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FluxEvent {
    /// A register's confidence went down.
    ConfidenceDrop { reg: u8, before: f32, after: f32 },
    /// A TRUST_CHECK or TRUST_VERIFY ran.
    TrustCheck { agent: u32, score: f32, threshold: f32, passed: bool },
    /// Energy fell below the apoptosis-warning level.
    ApoptosisWarning { energy: i64, level: i64 },
}

/// One executed instruction.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceRecord {
    pub index: u64,
    pub pc: u32,
    pub opcode: u8,
    pub mnemonic: &'static str,
    /// The disassembly, as `disasm` prints it (empty when only a snapshot was
    /// traced); shared by the records of one address.
    pub text: Arc<str>,
    /// Registers written (value and confidence after the instruction).
    pub regs: Vec<RegWrite>,
    /// Memory written.
    pub mem: Vec<MemWrite>,
    /// The confidence of the last result.
    pub confidence: f32,
    /// Energy after the instruction.
    pub energy: i64,
    pub cycles: u64,
    pub events: Vec<FluxEvent>,
    /// The id of the agent that ran it (1 when the VM did not say).
    #[serde(skip)]
    pub agent: u32,
}

impl TraceRecord {
    pub fn to_line(&self) -> String {
        format!(
            "#{:<6} {:04X}: {:<14} conf={:.3} energy={} cycles={}",
            self.index, self.pc, self.mnemonic, self.confidence, self.energy, self.cycles
        )
    }
}

/// Parses the runtime's trace stream (see flux_vm.h) into records, without
/// their disassembly (`text` is empty: the program layer's
/// `disasm::TextCache` fills it in).
pub fn parse_raw(data: &[u8]) -> Vec<TraceRecord> {
    use crate::runtime::ffi::{flux_trace_head, flux_trace_mem, flux_trace_reg, flux_trace_trust};
    use std::mem::size_of;
    fn read<T: Copy>(data: &[u8], at: &mut usize) -> Option<T> {
        let end = at.checked_add(size_of::<T>())?;
        let bytes = data.get(*at..end)?;
        *at = end;
        // SAFETY: T is a plain C struct of integers and floats; any bytes are valid.
        Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const T) })
    }
    let mut out = Vec::with_capacity(data.len() / 32);
    let no_text: Arc<str> = Arc::from("");
    let mut at = 0usize;
    while let Some(h) = read::<flux_trace_head>(data, &mut at) {
        let mut regs = Vec::new();
        let mut events = Vec::new();
        for k in 0..16u8 {
            if h.reg_mask >> k & 1 == 0 {
                continue;
            }
            let Some(r) = read::<flux_trace_reg>(data, &mut at) else { return out };
            regs.push(RegWrite { reg: k, value: r.value, conf: r.conf });
            if r.conf < r.conf_before {
                events.push(FluxEvent::ConfidenceDrop { reg: k, before: r.conf_before, after: r.conf });
            }
        }
        let mut mem = Vec::new();
        for _ in 0..h.nmem {
            let Some(m) = read::<flux_trace_mem>(data, &mut at) else { return out };
            mem.push(MemWrite { addr: m.addr, len: m.len.min(255) as u8, old: m.old_value, new: m.new_value });
        }
        if h.flags as u32 & crate::runtime::ffi::FLUX_TRACE_TRUST != 0 {
            let Some(t) = read::<flux_trace_trust>(data, &mut at) else { return out };
            events.push(FluxEvent::TrustCheck { agent: t.agent, score: t.score, threshold: t.threshold, passed: t.passed != 0 });
        }
        let text = no_text.clone();
        let confidence = regs.last().map_or(1.0, |r| r.conf);
        out.push(TraceRecord {
            index: h.cycle,
            pc: h.pc,
            opcode: h.opcode,
            mnemonic: crate::runtime::isa::opcode(h.opcode).map_or("DB", |o| o.mnemonic),
            text,
            regs,
            mem,
            confidence,
            energy: h.energy,
            cycles: h.cycle.wrapping_add(1), // cycles wrap in the runtime (gdb may write any value)
            events,
            agent: h.agent as u32,
        });
    }
    out
}

/// What a [`ProfEvent`] marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfEventKind {
    /// A CALL or SWI: `cycle` is the index of the callee's first instruction, `addr` its entry.
    Call,
    /// A RET or IRET: `cycle` is the index after it, `addr` where it returns to.
    Return,
    /// An agent's turn begins at `cycle`, at pc `addr` (every run begins with one).
    Turn,
    /// The run stopped at `cycle`.
    End,
}

/// One of the VM's profile events (see `flux_vm_profile_events`): `cycle`
/// is a global instruction index, `agent` the agent that ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfEvent {
    pub kind: ProfEventKind,
    pub agent: u32,
    pub addr: u32,
    pub cycle: u64,
    /// A turn of an agent that had run before (so `addr` may be inside a function).
    pub resumed: bool,
}

/// A register one instruction changed: old and new value and confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegChange {
    pub reg: u8,
    pub old: i32,
    pub new: i32,
    pub conf_old: f32,
    pub conf_new: f32,
}

/// One traced instruction as history queries read it: who ran it and what
/// it wrote (registers with their old values, memory).
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRecord {
    /// The cycle count before it ran.
    pub cycle: u64,
    pub pc: u32,
    pub opcode: u8,
    pub agent: u32,
    pub regs: Vec<RegChange>,
    pub mem: Vec<MemWrite>,
}

/// One traced instruction as [`each_write`] hands it over: a
/// [`WriteRecord`] whose registers and memory writes are borrowed (no
/// allocation per record).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteView<'a> {
    /// The cycle count before it ran.
    pub cycle: u64,
    pub pc: u32,
    pub opcode: u8,
    pub agent: u32,
    pub regs: &'a [RegChange],
    pub mem: &'a [MemWrite],
}

/// Hands each record of the runtime's trace stream to `f`, in order.
pub fn each_write(data: &[u8], mut f: impl FnMut(&WriteView<'_>)) {
    use crate::runtime::ffi::{flux_trace_head, flux_trace_mem, flux_trace_reg, flux_trace_trust};
    use std::mem::size_of;
    fn read<T: Copy>(data: &[u8], at: &mut usize) -> Option<T> {
        let end = at.checked_add(size_of::<T>())?;
        let bytes = data.get(*at..end)?;
        *at = end;
        // SAFETY: T is a plain C struct of integers and floats; any bytes are valid.
        Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const T) })
    }
    const NONE_REG: RegChange = RegChange { reg: 0, old: 0, new: 0, conf_old: 0.0, conf_new: 0.0 };
    const NONE_MEM: MemWrite = MemWrite { addr: 0, len: 0, old: 0, new: 0 };
    let mut regs = [NONE_REG; 16];
    let mut mem = [NONE_MEM; 256];
    let mut at = 0usize;
    while let Some(h) = read::<flux_trace_head>(data, &mut at) {
        let mut nregs = 0;
        for k in 0..16u8 {
            if h.reg_mask >> k & 1 == 0 {
                continue;
            }
            let Some(r) = read::<flux_trace_reg>(data, &mut at) else { return };
            regs[nregs] = RegChange { reg: k, old: r.value_before, new: r.value, conf_old: r.conf_before, conf_new: r.conf };
            nregs += 1;
        }
        let nmem = h.nmem as usize;
        for m in mem.iter_mut().take(nmem) {
            let Some(w) = read::<flux_trace_mem>(data, &mut at) else { return };
            *m = MemWrite { addr: w.addr, len: w.len.min(255) as u8, old: w.old_value, new: w.new_value };
        }
        if h.flags as u32 & crate::runtime::ffi::FLUX_TRACE_TRUST != 0 && read::<flux_trace_trust>(data, &mut at).is_none() {
            return;
        }
        f(&WriteView { cycle: h.cycle, pc: h.pc, opcode: h.opcode, agent: h.agent as u32, regs: &regs[..nregs], mem: &mem[..nmem] });
    }
}

/// Parses the runtime's trace stream into [`WriteRecord`]s.
pub fn parse_writes(data: &[u8]) -> Vec<WriteRecord> {
    let mut out = Vec::with_capacity(data.len() / 32);
    each_write(data, |r| {
        out.push(WriteRecord { cycle: r.cycle, pc: r.pc, opcode: r.opcode, agent: r.agent, regs: r.regs.to_vec(), mem: r.mem.to_vec() })
    });
    out
}

/// A call-path node as the runtime counts it: node 0 is the program's entry,
/// each other node a function entered by CALL from its parent's path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallNode {
    pub parent: u32,
    pub func: u32,
    /// Instructions executed with exactly this call path.
    pub self_count: u64,
    /// Times the path was entered.
    pub calls: u64,
}

/// Exact counts from the runtime's profiler (`Vm::profile_counts`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileCounts {
    /// Instructions executed at each address.
    pub pc_count: Vec<u64>,
    /// Energy charged at each address.
    pub pc_energy: Vec<u64>,
    pub nodes: Vec<CallNode>,
}

#[cfg(test)]
mod tests {
    use crate::runtime::vm::{Vm, VmConfig};

    // Found by fuzzing (fuzz/fuzz_targets/runtime.rs): with the cycle count at
    // u64::MAX (gdb may write it), parsing the trace record of the next
    // instruction overflowed.
    #[test]
    fn a_record_at_the_last_cycle_wraps() {
        let mut vm = Vm::with_program(&[0x00, 0x0B], VmConfig::default()).unwrap();
        vm.set_tracing(true).unwrap();
        let mut r = vm.regs();
        r.cycles = u64::MAX;
        vm.set_regs(&r);
        assert_eq!(vm.run(1).executed, 1);
        let recs = vm.take_trace();
        assert_eq!(recs.len(), 1);
        assert_eq!((recs[0].index, recs[0].cycles), (u64::MAX, 0));
    }
}
