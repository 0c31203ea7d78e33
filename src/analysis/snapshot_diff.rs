//! Replay: capture what a debugger traced and find where two captures part.
use crate::analysis::debugger::Debugger;
use crate::analysis::tracer::TraceRecord;

/// A captured run: the trace records, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capture {
    pub records: Vec<TraceRecord>,
}

/// The first place two captures disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// Position in the captures.
    pub position: usize,
    pub expected: Option<TraceRecord>,
    pub actual: Option<TraceRecord>,
}

pub fn capture(debugger: &Debugger) -> Capture {
    Capture { records: debugger.trace.records().cloned().collect() }
}

/// Compares pc, opcode, confidence and energy record by record.
pub fn diff(expected: &Capture, actual: &Capture) -> Option<Divergence> {
    let n = expected.records.len().max(actual.records.len());
    (0..n).find_map(|i| {
        let (a, b) = (expected.records.get(i), actual.records.get(i));
        let same = match (a, b) {
            (Some(a), Some(b)) => a.pc == b.pc && a.opcode == b.opcode && a.confidence == b.confidence && a.energy == b.energy,
            _ => false,
        };
        (!same).then(|| Divergence { position: i, expected: a.cloned(), actual: b.cloned() })
    })
}
