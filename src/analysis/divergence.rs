//! Where two runs stop agreeing: the one `Divergence` type of the seed's
//! snapshot diff ([`crate::analysis::snapshot_diff`], exported as `replay`)
//! and of replay files ([`crate::analysis::recording`]), and the one search
//! for the first difference both use.
use serde::Serialize;

/// The first place two runs disagree: its position in the two sequences
/// compared, what each run has there, and `detail`, what more can be said
/// where the runs can be re-executed (a replay file's instruction, pc,
/// context, seeds and programs: [`crate::analysis::recording::RunDetail`];
/// nothing for the seed's captures).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence<T, D = ()> {
    /// Position in the sequences compared: a record's in two captures, an
    /// event's in two replay files (`event_index` in `replay diff --json`).
    #[serde(rename = "event_index")]
    pub position: usize,
    pub expected: T,
    pub actual: T,
    #[serde(flatten)]
    pub detail: D,
}

/// The first position below the longer of the two lengths where `same`
/// says the sequences differ (a position only one of them has differs when
/// `same` says so: it is asked about every position up to the longer length).
pub fn first_difference(expected_len: usize, actual_len: usize, same: impl Fn(usize) -> bool) -> Option<usize> {
    (0..expected_len.max(actual_len)).find(|&k| !same(k))
}

/// The first position where two slices differ, an element only one has included.
pub fn first_unequal<T: PartialEq>(expected: &[T], actual: &[T]) -> Option<usize> {
    first_difference(expected.len(), actual.len(), |k| expected.get(k) == actual.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_counts_a_missing_element() {
        assert_eq!(first_unequal(&[1, 2, 3], &[1, 2, 3]), None);
        assert_eq!(first_unequal(&[1, 2, 3], &[1, 5, 3]), Some(1));
        assert_eq!(first_unequal(&[1, 2], &[1, 2, 3]), Some(2));
        assert_eq!(first_unequal::<u8>(&[], &[]), None);
        // `same` decides, even for a position only one side has
        assert_eq!(first_difference(2, 4, |k| k != 3), Some(3));
    }

    #[test]
    fn the_position_is_the_event_index_in_json() {
        #[derive(Serialize)]
        struct Where {
            pc: u32,
        }
        let d = Divergence { position: 4, expected: "a", actual: "b", detail: Where { pc: 12 } };
        assert_eq!(serde_json::to_value(&d).unwrap(), serde_json::json!({"event_index": 4, "expected": "a", "actual": "b", "pc": 12}));
    }
}
