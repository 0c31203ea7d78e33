//! What `trace on` keeps: the traced stretch of the recording, the records
//! made already (in a [`TraceRing`]), the events the stub adds.  The ring is
//! not filled as the program runs: the records of the newest `capacity`
//! instructions are made from the recording when shown or saved (see
//! [`crate::analysis::session`]).
use crate::analysis::trace_buffer::TraceRing;
use crate::runtime::records::FluxEvent;

/// The largest ring `monitor trace size` accepts (a few GB of records at most).
pub const MAX_TRACE_RING: u32 = 10_000_000;

/// What `monitor trace` keeps.
pub struct TraceWindow {
    pub on: bool,
    /// The history index where the traced stretch of the current recording began.
    pub(crate) start: u64,
    /// Records made already: of earlier runs, or before tracing was turned
    /// off; its capacity is the window's, and it counts the records that
    /// fell out.
    pub(crate) ring: TraceRing,
    /// Events the stub adds (apoptosis warnings), by history index of the
    /// instruction that caused them.
    pub(crate) events: Vec<(u64, FluxEvent)>,
    /// Tracing started the recording (and stops it when turned off).
    pub(crate) owns_history: bool,
}

impl TraceWindow {
    /// How many records the window keeps.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }
}

impl Default for TraceWindow {
    fn default() -> Self {
        TraceWindow { on: false, start: 0, ring: TraceRing::new(100_000), events: Vec::new(), owns_history: false }
    }
}
