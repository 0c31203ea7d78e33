//! The seed's trace buffer: the newest records of `VmState` snapshots, one
//! per instruction a `Debugger` was shown.
use std::collections::VecDeque;
use std::sync::Arc;

use crate::runtime::isa;
use crate::runtime::records::TraceRecord;
use crate::runtime::vm_state::VmState;

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

