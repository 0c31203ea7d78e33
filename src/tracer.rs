//! Execution tracing over `VmState` snapshots: a bounded buffer of records,
//! one per instruction, with a text form.
use std::collections::VecDeque;

use crate::debugger::{Debugger, VmState};
use crate::isa;

/// One executed instruction.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRecord {
    pub index: u64,
    pub pc: u32,
    pub opcode: u8,
    pub mnemonic: &'static str,
    pub confidence: f32,
    pub energy: i64,
    pub cycles: u64,
}

impl TraceRecord {
    pub fn to_line(&self) -> String {
        format!(
            "#{:<6} {:04X}: {:<14} conf={:.3} energy={} cycles={}",
            self.index, self.pc, self.mnemonic, self.confidence, self.energy, self.cycles
        )
    }
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
            confidence: state.confidence,
            energy: state.energy,
            cycles: state.cycles,
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
