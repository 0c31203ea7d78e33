//! Execution tracing over `VmState` snapshots: a bounded buffer of records,
//! one per instruction, with a text form.
use std::collections::VecDeque;
use std::sync::Arc;

use crate::analysis::debugger::{Debugger, VmState};
use crate::runtime::isa;

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
}

impl TraceRecord {
    pub fn to_line(&self) -> String {
        format!(
            "#{:<6} {:04X}: {:<14} conf={:.3} energy={} cycles={}",
            self.index, self.pc, self.mnemonic, self.confidence, self.energy, self.cycles
        )
    }
}

/// The disassembly of each address, made once while the bytes there stay
/// the same (a trace visits the same few addresses millions of times).
#[derive(Default)]
pub struct TextCache {
    slots: Vec<Option<(u64, Arc<str>)>>,
}

impl TextCache {
    pub fn text(&mut self, vm: &crate::runtime::vm::Vm, pc: u32) -> Arc<str> {
        let mem = vm.memory_view();
        let Some(bytes) = mem.get(pc as usize..) else { return Arc::from("") };
        // the key: up to 6 instruction bytes and how many there are
        let n = bytes.len().min(6);
        let key = bytes[..n].iter().rev().fold(n as u64, |k, &b| k << 8 | u64::from(b));
        if self.slots.is_empty() {
            self.slots = vec![None; mem.len()];
        }
        match &mut self.slots[pc as usize] {
            Some((k, text)) if *k == key => text.clone(),
            slot => {
                let text: Arc<str> = crate::frontend::gdb::monitor::instruction_at(vm, pc).into();
                *slot = Some((key, text.clone()));
                text
            }
        }
    }
}

/// Parses the runtime's trace stream (see flux_vm.h) into records; the
/// disassembly comes from `vm`'s memory.
pub fn parse_raw(vm: &crate::runtime::vm::Vm, data: &[u8], texts: &mut TextCache) -> Vec<TraceRecord> {
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
        let text = texts.text(vm, h.pc);
        let confidence = regs.last().map_or(1.0, |r| r.conf);
        out.push(TraceRecord {
            index: h.cycle,
            pc: h.pc,
            opcode: h.opcode,
            mnemonic: isa::opcode(h.opcode).map_or("DB", |o| o.mnemonic),
            text,
            regs,
            mem,
            confidence,
            energy: h.energy,
            cycles: h.cycle.wrapping_add(1), // cycles wrap in the runtime (gdb may write any value)
            events,
        });
    }
    out
}

/// The trace a `Debugger` keeps: the newest `capacity` records.
#[derive(Debug, Clone)]
pub struct TraceBuffer {
    pub enabled: bool,
    records: VecDeque<TraceRecord>,
    capacity: usize,
    dropped: u64,
    next_index: u64,
}

impl Default for TraceBuffer {
    fn default() -> Self {
        TraceBuffer { enabled: false, records: VecDeque::new(), capacity: 1 << 16, dropped: 0, next_index: 0 }
    }
}

impl TraceBuffer {
    pub fn push(&mut self, state: &VmState) {
        if !self.enabled {
            return;
        }
        if self.records.len() == self.capacity {
            self.records.pop_front();
            self.dropped += 1;
        }
        self.records.push_back(TraceRecord {
            index: self.next_index,
            pc: state.pc,
            opcode: state.opcode,
            mnemonic: isa::opcode(state.opcode).map_or("DB", |o| o.mnemonic),
            text: Arc::from(""),
            regs: Vec::new(),
            mem: Vec::new(),
            confidence: state.confidence,
            energy: state.energy,
            cycles: state.cycles,
            events: Vec::new(),
        });
        self.next_index += 1;
    }

    pub fn records(&self) -> impl Iterator<Item = &TraceRecord> {
        self.records.iter()
    }

    /// Records pushed so far, kept or not.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Records that fell out of the buffer.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.records.len() > self.capacity {
            self.records.pop_front();
            self.dropped += 1;
        }
    }

    pub fn clear(&mut self) {
        self.records.clear();
    }
}

/// Starts recording `trace_record` calls.
pub fn trace_enable(debugger: &mut Debugger) {
    debugger.trace.enabled = true;
}

pub fn trace_disable(debugger: &mut Debugger) {
    debugger.trace.enabled = false;
}

/// Records one instruction (when tracing is enabled).
pub fn trace_record(debugger: &mut Debugger, state: &VmState) {
    debugger.trace.push(state);
}

pub fn trace_records(debugger: &Debugger) -> impl Iterator<Item = &TraceRecord> {
    debugger.trace.records()
}

/// The trace, one line per instruction.
pub fn trace_to_string(debugger: &Debugger) -> String {
    let mut s = String::new();
    for r in debugger.trace.records() {
        s.push_str(&r.to_line());
        s.push('\n');
    }
    s
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
