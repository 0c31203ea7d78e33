//! What `trace on` keeps: the traced stretch of the recording, the records
//! made already, the events the stub adds.  The ring is not filled as the
//! program runs: the records of the newest `capacity` instructions are made
//! from the recording when shown or saved (see [`crate::analysis::session`]).
use std::collections::VecDeque;

use crate::runtime::records::{FluxEvent, TraceRecord};

/// The largest ring `monitor trace size` accepts (a few GB of records at most).
pub const MAX_TRACE_RING: u32 = 10_000_000;

/// What `monitor trace` keeps.
pub struct TraceWindow {
    pub on: bool,
    pub capacity: usize,
    /// The history index where the traced stretch of the current recording began.
    pub(crate) start: u64,
    /// Records made already: of earlier runs, or before tracing was turned
    /// off (oldest first, at most `capacity`).
    pub(crate) frozen: VecDeque<TraceRecord>,
    /// Records that fell out of the ring.
    pub(crate) dropped: u64,
    /// Events the stub adds (apoptosis warnings), by history index of the
    /// instruction that caused them.
    pub(crate) events: Vec<(u64, FluxEvent)>,
    /// Tracing started the recording (and stops it when turned off).
    pub(crate) owns_history: bool,
}

impl Default for TraceWindow {
    fn default() -> Self {
        TraceWindow { on: false, capacity: 100_000, start: 0, frozen: VecDeque::new(), dropped: 0, events: Vec::new(), owns_history: false }
    }
}

