//! Execution tracing: the records of executed instructions (made by the
//! runtime, see [`crate::runtime::records`]), and the seed's functions over a
//! `Debugger`'s trace buffer.
use crate::analysis::debugger::{Debugger, VmState};

pub use crate::analysis::trace_buffer::TraceBuffer;
pub use crate::program::disasm::TextCache;
pub use crate::runtime::records::{parse_raw, FluxEvent, MemWrite, RegWrite, TraceRecord};

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

