//! Replay: capture what a debugger traced and find where two captures part.
use crate::analysis::debugger::Debugger;
use crate::analysis::divergence::first_difference;
use crate::analysis::tracer::TraceRecord;

/// A captured run: the trace records, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capture {
    pub records: Vec<TraceRecord>,
}

/// The first place two captures disagree: `position` in the captures, the
/// record each has there (None past its end).  The one divergence type of
/// the crate, as replay files use it too, with no detail.
pub type Divergence = crate::analysis::divergence::Divergence<Option<TraceRecord>>;

pub fn capture(debugger: &Debugger) -> Capture {
    Capture { records: debugger.trace.records().cloned().collect() }
}

/// Compares pc, opcode, confidence and energy record by record.
pub fn diff(expected: &Capture, actual: &Capture) -> Option<Divergence> {
    let (e, a) = (&expected.records, &actual.records);
    let position = first_difference(e.len(), a.len(), |i| match (e.get(i), a.get(i)) {
        (Some(x), Some(y)) => x.pc == y.pc && x.opcode == y.opcode && x.confidence == y.confidence && x.energy == y.energy,
        _ => false,
    })?;
    Some(Divergence { position, expected: e.get(position).cloned(), actual: a.get(position).cloned(), detail: () })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tracer;
    use crate::runtime::vm_state::VmState;

    fn traced(states: &[(u32, i64)]) -> Capture {
        let mut d = Debugger::new();
        tracer::trace_enable(&mut d);
        for &(pc, energy) in states {
            let mut s = VmState::new();
            s.pc = pc;
            s.energy = energy;
            tracer::trace_record(&mut d, &s);
        }
        capture(&d)
    }

    #[test]
    fn the_first_record_that_differs_or_is_missing() {
        let a = traced(&[(0, 10), (4, 9), (8, 8)]);
        assert_eq!(diff(&a, &a.clone()), None);
        let d = diff(&a, &traced(&[(0, 10), (4, 7), (8, 8)])).unwrap();
        assert_eq!((d.position, d.expected.unwrap().energy, d.actual.unwrap().energy), (1, 9, 7));
        let d = diff(&a, &traced(&[(0, 10), (4, 9)])).unwrap();
        assert_eq!((d.position, d.expected.map(|r| r.pc), d.actual), (2, Some(8), None));
    }
}
