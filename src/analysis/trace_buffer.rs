//! The one trace engine: [`TraceRing`] keeps the newest records (what the
//! seed's [`TraceBuffer`] and `trace on`'s window keep), [`TraceStream`]
//! writes records in a trace format as they come (`run --trace`, `monitor
//! trace save`).  The records are the runtime's ([`TraceRecord`]); the seed's
//! `TraceBuffer` is a façade that makes them from the `VmState` snapshots its
//! caller pushes.
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::codetracer::{self, CodeTracerError};
use crate::analysis::trace_format::{self, TraceFormat};
use crate::program::disasm::{self, TextCache};
use crate::program::load::Program;
use crate::runtime::isa;
use crate::runtime::records::{FluxEvent, TraceRecord};
use crate::runtime::vm::Vm;
use crate::runtime::vm_state::VmState;

/// The newest `capacity` records, oldest first, counting those pushed and
/// those that fell out.
#[derive(Debug, Clone)]
pub struct TraceRing {
    records: VecDeque<TraceRecord>,
    capacity: usize,
    pushed: u64,
    dropped: u64,
}

impl TraceRing {
    /// An empty ring of `capacity` records (at least one).
    pub fn new(capacity: usize) -> TraceRing {
        TraceRing { records: VecDeque::new(), capacity: capacity.max(1), pushed: 0, dropped: 0 }
    }

    pub fn push(&mut self, record: TraceRecord) {
        if self.records.len() == self.capacity {
            self.records.pop_front();
            self.dropped += 1;
        }
        self.records.push_back(record);
        self.pushed += 1;
    }

    pub fn extend(&mut self, records: impl IntoIterator<Item = TraceRecord>) {
        for r in records {
            self.push(r);
        }
    }

    pub fn records(&self) -> impl DoubleEndedIterator<Item = &TraceRecord> + ExactSizeIterator {
        self.records.iter()
    }

    /// The records, oldest first.
    pub fn into_vec(self) -> Vec<TraceRecord> {
        self.records.into()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keeps the newest `capacity` (at least one); older ones fall out.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.records.len() > self.capacity {
            self.records.pop_front();
            self.dropped += 1;
        }
    }

    /// Records pushed so far, kept or not.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Records that fell out.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// What [`dropped`](Self::dropped) would be after `n` more records.
    pub fn dropped_after(&self, n: u64) -> u64 {
        self.dropped + (self.records.len() as u64 + n).saturating_sub(self.capacity as u64)
    }

    /// Counts `n` records that fell out without being pushed (made for a
    /// stretch longer than the ring, only the newest were).
    pub fn note_dropped(&mut self, n: u64) {
        self.dropped += n;
    }

    /// Forgets the records (the counts stay).
    pub fn clear(&mut self) {
        self.records.clear();
    }

    /// Forgets the records and that any fell out.
    pub fn reset(&mut self) {
        self.records.clear();
        self.dropped = 0;
    }
}

/// The seed's trace buffer: the newest records of the `VmState` snapshots a
/// `Debugger` was shown, one per instruction, in a [`TraceRing`].
#[derive(Debug, Clone)]
pub struct TraceBuffer {
    pub enabled: bool,
    ring: TraceRing,
}

impl Default for TraceBuffer {
    fn default() -> Self {
        TraceBuffer { enabled: false, ring: TraceRing::new(1 << 16) }
    }
}

impl TraceBuffer {
    pub fn push(&mut self, state: &VmState) {
        if !self.enabled {
            return;
        }
        self.ring.push(TraceRecord {
            index: self.ring.pushed(),
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
            agent: 1,
        });
    }

    pub fn records(&self) -> impl Iterator<Item = &TraceRecord> {
        self.ring.records()
    }

    /// Records pushed so far, kept or not.
    pub fn next_index(&self) -> u64 {
        self.ring.pushed()
    }

    /// Records that fell out of the buffer.
    pub fn dropped(&self) -> u64 {
        self.ring.dropped()
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.ring.set_capacity(capacity);
    }

    pub fn clear(&mut self) {
        self.ring.clear();
    }
}

/// Writing a trace failed.
#[derive(Debug, thiserror::Error)]
pub enum TraceWriteError {
    #[error("writing {}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error(transparent)]
    CodeTracer(#[from] CodeTracerError),
}

impl TraceWriteError {
    /// What went wrong, without the path of the trace.
    pub fn cause(&self) -> String {
        match self {
            TraceWriteError::Io { error, .. } => error.to_string(),
            TraceWriteError::CodeTracer(e) => e.to_string(),
        }
    }
}

/// Makes a file of a CodeTracer directory: its path inside the directory.
pub type CreateIn<'a> = &'a dyn Fn(&Path) -> Result<File, CodeTracerError>;

enum Sink<'a> {
    /// Text and JSON Lines go to the file as they come.
    File(BufWriter<File>),
    /// CodeTracer needs the whole run: the records are kept until
    /// [`TraceStream::finish`], and its files made by `create_in` (plain
    /// files under the path when None).
    Codetracer { kept: Vec<TraceRecord>, create_in: Option<CreateIn<'a>> },
}

/// Records written in a trace format as they come: to a file (text, JSON
/// Lines), or kept for a CodeTracer directory written at the end.
pub struct TraceStream<'a> {
    path: PathBuf,
    format: TraceFormat,
    sink: Sink<'a>,
    texts: TextCache,
}

impl TraceStream<'static> {
    /// Creates the file (text, JSON Lines) at once, so that a path that
    /// cannot be written is refused before the run.
    pub fn create(path: &Path, format: TraceFormat) -> std::io::Result<TraceStream<'static>> {
        let sink = match format {
            TraceFormat::Text | TraceFormat::Json => Sink::File(BufWriter::with_capacity(1 << 20, File::create(path)?)),
            TraceFormat::Codetracer => Sink::Codetracer { kept: Vec::new(), create_in: None },
        };
        Ok(TraceStream { path: path.into(), format, sink, texts: TextCache::default() })
    }
}

impl<'a> TraceStream<'a> {
    /// A stream to files someone else makes: `create` makes the file (text,
    /// JSON Lines; called at once), `create_in` the files of a CodeTracer directory.
    pub fn with_files(
        path: &str,
        format: TraceFormat,
        create: &dyn Fn() -> Result<File, String>,
        create_in: CreateIn<'a>,
    ) -> Result<TraceStream<'a>, String> {
        let sink = match format {
            TraceFormat::Text | TraceFormat::Json => Sink::File(BufWriter::new(create()?)),
            TraceFormat::Codetracer => Sink::Codetracer { kept: Vec::new(), create_in: Some(create_in) },
        };
        Ok(TraceStream { path: path.into(), format, sink, texts: TextCache::default() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes (or keeps) `records`.
    pub fn push(&mut self, records: Vec<TraceRecord>) -> Result<(), TraceWriteError> {
        let r = match &mut self.sink {
            Sink::File(f) if self.format == TraceFormat::Text => trace_format::write_text(f, &records),
            Sink::File(f) => trace_format::write_json_lines(f, &records),
            Sink::Codetracer { kept, .. } => {
                kept.extend(records);
                Ok(())
            }
        };
        r.map_err(|error| TraceWriteError::Io { path: self.path.clone(), error })
    }

    /// Takes the VM's records, with their disassembly; `event` (an apoptosis
    /// warning the stop is) goes on the record of the instruction that caused it.
    pub fn drain(&mut self, vm: &mut Vm, event: Option<FluxEvent>) -> Result<(), TraceWriteError> {
        let mut records = disasm::take_trace(vm, &mut self.texts);
        if let (Some(e), Some(last)) = (event, records.last_mut()) {
            last.events.push(e);
        }
        self.push(records)
    }

    /// Flushes the file, or writes the CodeTracer directory.
    pub fn finish(self, program: &Program) -> Result<(), TraceWriteError> {
        match self.sink {
            Sink::File(mut f) => f.flush().map_err(|error| TraceWriteError::Io { path: self.path, error }),
            Sink::Codetracer { kept, create_in: None } => Ok(codetracer::write_codetracer(&self.path, program, &kept)?),
            Sink::Codetracer { kept, create_in: Some(create_in) } => {
                Ok(codetracer::write_codetracer_with(&self.path, program, &kept, create_in)?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: u64) -> TraceRecord {
        TraceRecord {
            index,
            pc: 0,
            opcode: 0,
            mnemonic: "NOP",
            text: Arc::from(""),
            regs: Vec::new(),
            mem: Vec::new(),
            confidence: 1.0,
            energy: 0,
            cycles: index + 1,
            events: Vec::new(),
            agent: 1,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_and_counts_what_fell_out() {
        let mut ring = TraceRing::new(3);
        ring.extend((0..5).map(record));
        assert_eq!(ring.records().map(|r| r.index).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!((ring.pushed(), ring.dropped(), ring.dropped_after(2)), (5, 2, 4));
        ring.set_capacity(1);
        assert_eq!((ring.records().map(|r| r.index).collect::<Vec<_>>(), ring.dropped()), (vec![4], 4));
        ring.note_dropped(10);
        ring.clear();
        assert_eq!((ring.len(), ring.dropped(), ring.pushed()), (0, 14, 5));
        ring.reset();
        assert_eq!((ring.len(), ring.dropped()), (0, 0));
        assert_eq!(TraceRing::new(0).capacity(), 1);
    }
}
