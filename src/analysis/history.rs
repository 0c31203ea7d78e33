//! Execution history: record a run, then move to any instruction of it —
//! backwards included — exactly.
//!
//! The VM is deterministic: from a given machine state and memory it always
//! runs the same way (its RNG is part of the state, and it has no other
//! inputs).  So a history is a list of *checkpoints* — the machine state plus
//! memory, taken every [`CHECKPOINT_INTERVAL`] instructions — and going to
//! instruction `n` is: restore the last checkpoint at or before `n`, then run
//! forward to `n`.  We chose this over an undo log (the old values of every
//! register and byte each instruction writes) because recording then costs
//! next to nothing per instruction: the VM only marks which 256-byte pages it
//! writes, and a checkpoint shares the pages that did not change with the one
//! before it.
//!
//! Instruction indices count instructions retired since the recording began
//! (gdb may write `cycles`, so they are not the VM's cycle count).
//!
//! Nothing is logged per instruction: the RNG's state and the scheduler's
//! (`sched_rng`) are part of the machine state, so the values RNG_NEXT draws
//! and the agent switches follow from a checkpoint.  Which agent ran an
//! instruction is found by re-executing from the checkpoint before it with
//! the VM's input log on ([`History::reverse_step_agent`]).
//!
//! Memory is bounded by [`History::limit`] (`--record-limit`): past it, every
//! other old checkpoint is dropped (going far back then re-runs more), and
//! when that is not enough (the debugger's changes alone fill it) the oldest
//! part of the history goes: the history then begins later ([`History::begin`]).
//!
//! What gdb changes while stopped (registers, memory) becomes a *patch*: a
//! checkpoint at that index that re-execution starts from, kept for the
//! replay file.  A change made while back in the past ends the history there
//! (the future it had no longer follows from it).
use std::sync::Arc;

use crate::runtime::vm::{InputKind, LineMarks, Stop, StopKind, Vm, VmConfig, VmError, LINES, PAGES, PAGE_SIZE};

/// Marks naming every line: a span whose writes are not known.
pub const ALL_LINES: LineMarks = [u64::MAX; LINES / 64];

/// Instructions between two checkpoints: going back one instruction re-runs
/// at most this many (about 0.1 ms).
pub const CHECKPOINT_INTERVAL: u64 = 1 << 15;
/// Past this many checkpoints, every other old one is dropped: memory stays
/// bounded and going far back costs more re-execution.
pub const MAX_CHECKPOINTS: usize = 4096;
/// The history's memory bound unless told otherwise (`--record-limit`).
pub const DEFAULT_LIMIT: u64 = 256 << 20;
/// The smallest bound accepted: a few checkpoints of the whole memory.
pub const MIN_LIMIT: u64 = 1 << 20;

/// Reads a size: bytes, or a number with K, M or G (KiB, MiB, GiB: powers of
/// 1024; `KB`, `KiB`, ... are read alike).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num.parse().map_err(|_| format!("'{text}' is not a size (bytes, or a number with K, M or G)"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("'{text}' is not a size (bytes, or a number with K, M or G)")),
    };
    n.checked_mul(1 << shift).ok_or_else(|| format!("'{text}' is too large"))
}

/// [`parse_size`] for the history's bound: at least [`MIN_LIMIT`].
pub fn parse_limit(text: &str) -> Result<u64, String> {
    let n = parse_size(text)?;
    if n < MIN_LIMIT {
        return Err(format!("{n} bytes is below the smallest record limit, {MIN_LIMIT} bytes (1M)"));
    }
    Ok(n)
}

pub type Page = Arc<[u8; PAGE_SIZE]>;

/// `goto` leaves short-lived checkpoints on its way, so that stepping back
/// again and again re-runs at most `FINE_INTERVAL` instructions: this far
/// apart within `FAR_FINE_INTERVAL` of where it goes, `FAR_FINE_INTERVAL`
/// apart before that.  (2,048 everywhere made a step back cost a quarter
/// more than a step forward; 64 everywhere made the first step back from the
/// end of a run leave hundreds of checkpoints.)
const FINE_INTERVAL: u64 = 64;
const FAR_FINE_INTERVAL: u64 = 512;
/// How many of those it keeps: at least 64K instructions back (each holds
/// only the pages and state chunks its instructions changed).
const FINE_KEEP: usize = 1024;

/// The machine state is kept in chunks of this size, shared between
/// checkpoints where they did not change (most of it — the trust table,
/// mailboxes — rarely does).
const STATE_CHUNK: usize = 256;
pub type StateChunks = Arc<[Arc<[u8]>]>;

fn chunk_state(state: &[u8], previous: Option<&StateChunks>) -> (StateChunks, u64) {
    let mut new_bytes = 0u64;
    let chunks = state
        .chunks(STATE_CHUNK)
        .enumerate()
        .map(|(i, c)| match previous.and_then(|p| p.get(i)) {
            Some(old) if old[..] == *c => old.clone(),
            _ => {
                new_bytes += c.len() as u64;
                Arc::from(c)
            }
        })
        .collect();
    (chunks, new_bytes)
}

/// The machine state a checkpoint keeps, whole.
pub fn state_bytes(chunks: &StateChunks) -> Vec<u8> {
    // a copy per chunk: collecting byte by byte cost a step back a fifth of its time
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.len()).sum());
    for c in chunks.iter() {
        out.extend_from_slice(c);
    }
    out
}

/// The VM at one instruction index.
#[derive(Clone)]
pub struct Checkpoint {
    pub index: u64,
    pub state: StateChunks,
    pub pages: Arc<[Page]>,
    /// Made because gdb changed the state here: never thinned out, and
    /// written to replay files.
    pub patch: Option<Patch>,
    /// Bytes this checkpoint added when it was made (fine checkpoints' cost).
    own_bytes: u64,
    /// The lines of memory (`LINE_SIZE` bytes each) the instructions between
    /// the checkpoint before and this one may have written, a superset (every
    /// line when not known): a query about an address re-runs only the spans
    /// that may have written it.
    pub written_before: LineMarks,
}

/// What gdb changed at one index: the whole machine state after the change
/// and the pages it wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    pub state: Arc<[u8]>,
    pub pages: Vec<(usize, Page)>,
}

/// Where a reverse run stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum ReverseStop {
    /// At a breakpoint, watchpoint write or other stop found going back.
    At { index: u64, stop: Stop },
    /// The start of the history: nothing further back.
    Begin,
}

/// The recorded history of one run.
pub struct History {
    checkpoints: Vec<Checkpoint>,
    /// The disassembly of the shadow's trace records, kept between calls.
    texts: crate::program::disasm::TextCache,
    /// The index the VM is at.
    now: u64,
    /// The furthest index reached: [start, end] can be visited.
    end: u64,
    /// Memory as of the last checkpoint made or restored: the VM's dirty map
    /// (plus `extra_dirty`) says which pages differ from it.
    base_pages: Arc<[Page]>,
    extra_dirty: [bool; PAGES],
    /// Pages gdb wrote since the last stop, for the next patch.
    debugger_pages: [bool; PAGES],
    debugger_changed: bool,
    /// How the recorded run ended, if it did (at `end`).
    pub ending: Option<Stop>,
    /// A VM without breakpoints or watchpoints, for re-execution.
    shadow: Vm,
    /// Short-lived checkpoints `goto` made (a cache, sorted by index).
    fine: Vec<Checkpoint>,
    /// The shadow's memory: these pages, apart from `shadow_extra` and its dirty map.
    shadow_pages: Option<Arc<[Page]>>,
    shadow_extra: [bool; PAGES],
    /// Bytes of page and state data held by checkpoints (each shared page
    /// or chunk counted once).
    page_bytes: u64,
    /// Bytes held by patches (their state and pages, apart from the checkpoints').
    patch_bytes: u64,
    /// Bytes held by the fine checkpoints.
    fine_bytes: u64,
    /// The bound on [`Self::memory_bytes`].
    limit: u64,
    /// Thinnings the bound forced, and the instructions dropped from the start.
    limit_thinnings: u64,
    /// The VM's line marks no longer cover the span since the last
    /// checkpoint (it was restored or moved since): the next one marks all.
    marks_lost: bool,
    /// A step back made ready ahead of time ([`History::prepare_step_back`]).
    prepared: Option<Prepared>,
}

/// The shadow, re-run to `index` ahead of time from `base` (the checkpoint
/// `goto` would start from, compared by identity), its memory `pages` plus
/// what its dirty map says it wrote since.
struct Prepared {
    index: u64,
    base_index: u64,
    base_state: StateChunks,
    base_pages: Arc<[Page]>,
    pages: Arc<[Page]>,
}

/// The bytes of a checkpoint's tables (page and state chunk pointers).
fn table_bytes(c: &Checkpoint) -> u64 {
    (c.state.len() * std::mem::size_of::<Arc<[u8]>>() + c.pages.len() * std::mem::size_of::<Page>() + std::mem::size_of::<Checkpoint>())
        as u64
}

fn patch_size(p: &Patch) -> u64 {
    (p.state.len() + p.pages.len() * (PAGE_SIZE + std::mem::size_of::<(usize, Page)>())) as u64
}

fn page_of(mem: &[u8], p: usize) -> Page {
    let mut page = [0u8; PAGE_SIZE];
    page.copy_from_slice(&mem[p * PAGE_SIZE..(p + 1) * PAGE_SIZE]);
    Arc::new(page)
}

/// Restores checkpoint `cp` into `vm`, writing only the pages that may
/// differ: `known` is what its memory held (None: unknown) apart from the
/// pages its dirty map and `extra` name.
fn restore_into(vm: &mut Vm, known: Option<&[Page]>, extra: &[bool; PAGES], cp: &Checkpoint) -> Result<(), VmError> {
    let dirty = vm.take_dirty_pages();
    for p in 0..PAGES {
        let same = known.is_some_and(|k| Arc::ptr_eq(&k[p], &cp.pages[p])) && !dirty[p] && !extra[p];
        if !same {
            // not marked for take_dirty_pages: the VM's page marks are clear
            // after a restore, without taking them again
            vm.restore_mem((p * PAGE_SIZE) as u32, &cp.pages[p][..])?;
        }
    }
    // a checkpoint's state is one the VM saved: no checks needed
    vm.load_saved_state(&cp.state[..], STATE_CHUNK);
    vm.take_inputs();
    Ok(())
}

impl History {
    /// Starts recording at the VM's current state (index 0).
    pub fn start(vm: &mut Vm) -> Result<History, VmError> {
        let pages: Arc<[Page]> = (0..PAGES).map(|p| page_of(vm.memory_view(), p)).collect();
        vm.take_dirty_pages();
        vm.take_dirty_lines();
        // nothing is logged: the RNG and the scheduler follow from the state
        vm.log_inputs(false);
        let shadow = Vm::new(VmConfig { energy: 0, seed: 0 })?;
        let (state, state_bytes) = chunk_state(&vm.save_state(), None);
        let first = Checkpoint { index: 0, state, pages: pages.clone(), patch: None, own_bytes: 0, written_before: ALL_LINES };
        Ok(History {
            texts: Default::default(),
            checkpoints: vec![first],
            now: 0,
            end: 0,
            base_pages: pages,
            extra_dirty: [false; PAGES],
            debugger_pages: [false; PAGES],
            debugger_changed: false,
            ending: None,
            shadow,
            fine: Vec::new(),
            shadow_pages: None,
            shadow_extra: [false; PAGES],
            page_bytes: (PAGES * PAGE_SIZE) as u64 + state_bytes,
            patch_bytes: 0,
            fine_bytes: 0,
            limit: DEFAULT_LIMIT,
            limit_thinnings: 0,
            marks_lost: false,
            prepared: None,
        })
    }

    /// The bound on [`Self::memory_bytes`] (at least [`MIN_LIMIT`]); a
    /// history already over it is thinned at once.
    pub fn set_limit(&mut self, bytes: u64) {
        self.limit = bytes.max(MIN_LIMIT);
        self.enforce_limit();
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The first instruction index the history still holds (0 unless the
    /// bound made it drop its oldest part).
    pub fn begin(&self) -> u64 {
        self.checkpoints[0].index
    }

    /// The most instructions going to an index re-runs: the widest gap
    /// between two checkpoints (or to the end).
    pub fn widest_gap(&self) -> u64 {
        let mut widest = 0;
        let mut last = self.begin();
        for c in self.checkpoints.iter().skip(1).map(|c| c.index).chain([self.end]) {
            widest = widest.max(c.saturating_sub(last));
            last = c;
        }
        widest
    }

    /// `monitor record status`'s words on the bound: the limit, and what it
    /// made the history drop.
    pub fn limit_status(&self) -> String {
        let mut s = format!("limit {} bytes", self.limit);
        if self.limit_thinnings > 0 {
            s += &format!(
                "; over it {} times: checkpoints thinned (going back re-runs up to {} instructions)",
                self.limit_thinnings,
                self.widest_gap()
            );
        }
        if self.begin() > 0 {
            s += &format!("; instructions before {} dropped", self.begin());
        }
        s
    }
    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn end(&self) -> u64 {
        self.end
    }

    /// Replaying: the VM is inside the recorded history, not at its end.
    pub fn replaying(&self) -> bool {
        self.now < self.end
    }

    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.len()
    }

    pub fn checkpoints(&self) -> &[Checkpoint] {
        &self.checkpoints
    }

    /// Bytes the history holds: machine states, page tables, page data,
    /// patches, the fine checkpoints `goto` keeps.
    pub fn memory_bytes(&self) -> u64 {
        self.checkpoints.iter().map(table_bytes).sum::<u64>() + self.page_bytes + self.patch_bytes + self.fine_bytes
    }

    /// How many instructions the next run may take: up to the next
    /// checkpoint, and while replaying not past the end of the history (so
    /// that output already shown is not shown twice).
    pub fn run_budget(&self, want: u64) -> u64 {
        let last = self.checkpoints.last().map_or(0, |c| c.index);
        let mut budget = want;
        if self.now >= last {
            budget = budget.min(CHECKPOINT_INTERVAL - (self.now - last).min(CHECKPOINT_INTERVAL - 1));
        }
        if self.now < self.end {
            budget = budget.min(self.end - self.now);
            // stop where gdb changed the state, to change it again
            if let Some(p) = self.checkpoints.iter().find(|c| c.index > self.now && c.patch.is_some()) {
                budget = budget.min(p.index - self.now);
            }
        }
        budget.max(1)
    }

    /// gdb wrote memory at [addr, addr + len) while stopped.
    pub fn note_memory_write(&mut self, addr: u32, len: usize) {
        if len == 0 {
            return;
        }
        let first = addr as usize / PAGE_SIZE;
        let last = ((addr as usize + len - 1) / PAGE_SIZE).min(PAGES - 1);
        for p in first..=last {
            self.debugger_pages[p] = true;
        }
        self.debugger_changed = true;
    }

    /// gdb wrote registers while stopped.
    pub fn note_register_write(&mut self) {
        self.debugger_changed = true;
    }

    /// Before the VM runs again: turns what gdb changed into a patch (and
    /// cuts the future off when it was changed in the past).
    pub fn before_resume(&mut self, vm: &mut Vm) {
        if !self.debugger_changed {
            return;
        }
        self.debugger_changed = false;
        if self.now < self.end {
            self.truncate_after(self.now);
        }
        let pages = std::mem::replace(&mut self.debugger_pages, [false; PAGES]);
        let patch_pages: Vec<(usize, Page)> =
            pages.iter().enumerate().filter(|(_, &d)| d).map(|(p, _)| (p, page_of(vm.memory_view(), p))).collect();
        let state: Arc<[u8]> = vm.save_state().into();
        self.make_checkpoint(vm, Some(Patch { state, pages: patch_pages }));
    }

    /// Drops everything recorded after `index`.
    fn truncate_after(&mut self, index: u64) {
        self.checkpoints.retain(|c| c.index <= index);
        self.fine.retain(|c| c.index <= index);
        self.fine_bytes = self.fine.iter().map(|c| c.own_bytes).sum();
        self.end = index;
        self.ending = None;
        self.recount();
    }

    /// After the VM ran (`stop` is what `Vm::run` returned, from index `now`).
    pub fn after_run(&mut self, vm: &mut Vm, stop: &Stop) {
        self.now += stop.executed;
        if stop.executed > 0 && self.now <= self.end {
            // replaying onto a change gdb made while recording: make it again
            if let Ok(i) = self.checkpoints.binary_search_by_key(&self.now, |c| c.index) {
                if self.checkpoints[i].patch.is_some() {
                    let cp = self.checkpoints[i].clone();
                    if let Err(e) = self.restore_main(vm, &cp) {
                        log::warn!("replaying gdb's change at instruction {}: {e}", cp.index);
                    }
                    return;
                }
            }
        }
        if self.now > self.end {
            self.end = self.now;
            self.ending = None;
        }
        if self.now == self.end {
            match stop.kind {
                StopKind::Halted { .. } | StopKind::Fault { .. } | StopKind::Terminated { .. } => {
                    self.ending = Some(stop.clone())
                }
                _ => {}
            }
        }
        let last = self.checkpoints.last().map_or(0, |c| c.index);
        if self.now >= last + CHECKPOINT_INTERVAL && self.now == self.end {
            self.make_checkpoint(vm, None);
        }
    }

    fn make_checkpoint(&mut self, vm: &mut Vm, patch: Option<Patch>) {
        let dirty = vm.take_dirty_pages();
        let mut pages: Vec<Page> = self.base_pages.to_vec();
        for p in 0..PAGES {
            if dirty[p] || self.extra_dirty[p] {
                let mut page = [0u8; PAGE_SIZE];
                let _ = vm.read_mem((p * PAGE_SIZE) as u32, &mut page);
                if page != *pages[p] {
                    pages[p] = Arc::new(page);
                    self.page_bytes += PAGE_SIZE as u64;
                }
            }
        }
        self.extra_dirty = [false; PAGES];
        let pages: Arc<[Page]> = pages.into();
        self.base_pages = pages.clone();
        // share the state chunks that did not change since the checkpoint before
        let before = self.checkpoints.partition_point(|c| c.index <= self.now);
        let previous = before.checked_sub(1).map(|i| self.checkpoints[i].state.clone());
        let (state, new_bytes) = chunk_state(&vm.save_state(), previous.as_ref());
        self.page_bytes += new_bytes;
        if patch.is_some() {
            // a cached state at this index is from before gdb's change
            let now = self.now;
            self.fine.retain(|c| c.index < now);
            self.fine_bytes = self.fine.iter().map(|c| c.own_bytes).sum();
        }
        if let Some(p) = &patch {
            self.patch_bytes += patch_size(p);
        }
        let lines = vm.take_dirty_lines();
        let written_before = if std::mem::take(&mut self.marks_lost) { ALL_LINES } else { lines };
        let mut cp = Checkpoint { index: self.now, state, pages, patch, own_bytes: 0, written_before };
        match self.checkpoints.binary_search_by_key(&cp.index, |c| c.index) {
            Ok(i) => {
                for (m, old) in cp.written_before.iter_mut().zip(self.checkpoints[i].written_before) {
                    *m |= old;
                }
                if let Some(p) = &self.checkpoints[i].patch {
                    self.patch_bytes -= patch_size(p).min(self.patch_bytes);
                }
                self.checkpoints[i] = cp
            }
            Err(i) => self.checkpoints.insert(i, cp),
        }
        if self.checkpoints.len() > MAX_CHECKPOINTS {
            self.thin();
        }
        self.enforce_limit();
    }

    /// Keeps [`Self::memory_bytes`] under the limit: the fine checkpoints go
    /// first, then every other old checkpoint (again and again), and when
    /// nothing is left to thin, the oldest quarter of the history.
    fn enforce_limit(&mut self) {
        if self.memory_bytes() <= self.limit {
            return;
        }
        self.fine.clear();
        self.fine_bytes = 0;
        let mut counted = false;
        while self.memory_bytes() > self.limit && self.checkpoints.len() > 1 {
            if !counted {
                counted = true;
                self.limit_thinnings += 1;
                if self.limit_thinnings == 1 {
                    log::warn!(
                        "recording: the history reached its limit of {} bytes at instruction {}: older checkpoints are thinned out",
                        self.limit,
                        self.now
                    );
                }
            }
            let before = self.checkpoints.len();
            self.thin();
            if self.checkpoints.len() == before {
                self.drop_oldest();
            }
        }
    }

    /// Drops the oldest quarter of the checkpoints (at least one, never the
    /// newest): the history begins at the first one kept.  A patch there is
    /// part of the start state from then on.
    fn drop_oldest(&mut self) {
        let n = (self.checkpoints.len() / 4).clamp(1, self.checkpoints.len() - 1);
        self.checkpoints.drain(..n);
        if let Some(p) = self.checkpoints[0].patch.take() {
            self.patch_bytes -= patch_size(&p).min(self.patch_bytes);
        }
        let begin = self.begin();
        self.fine.retain(|c| c.index >= begin);
        self.fine_bytes = self.fine.iter().map(|c| c.own_bytes).sum();
        log::warn!("recording: the history is over its limit of {} bytes: instructions before {begin} dropped", self.limit);
        self.recount();
    }

    /// Drops every other checkpoint of the older half (never the first one
    /// or a patch).
    fn thin(&mut self) {
        let half = self.checkpoints.len() / 2;
        let mut kept: Vec<Checkpoint> = Vec::with_capacity(self.checkpoints.len());
        // the writes of a dropped checkpoint's span go to the next one kept
        let mut carried: Option<LineMarks> = None;
        for (i, mut c) in std::mem::take(&mut self.checkpoints).into_iter().enumerate() {
            if let Some(m) = carried.take() {
                for (a, b) in c.written_before.iter_mut().zip(m) {
                    *a |= b;
                }
            }
            if i == 0 || i >= half || c.patch.is_some() || i % 2 == 0 {
                kept.push(c);
            } else {
                carried = Some(c.written_before);
            }
        }
        self.checkpoints = kept;
        self.recount();
    }

    /// Recounts the pages and state chunks the checkpoints still reference
    /// (each once).  Neighbours share most of theirs: only the ones that
    /// differ from the checkpoint before need a look.
    fn recount(&mut self) {
        let mut seen = std::collections::HashSet::new();
        let mut bytes = 0u64;
        let mut prev: Option<&Checkpoint> = None;
        for c in &self.checkpoints {
            for (p, page) in c.pages.iter().enumerate() {
                if prev.is_some_and(|q| Arc::ptr_eq(&q.pages[p], page)) {
                    continue;
                }
                if seen.insert(Arc::as_ptr(page) as *const u8 as usize) {
                    bytes += PAGE_SIZE as u64;
                }
            }
            for (k, chunk) in c.state.iter().enumerate() {
                if prev.is_some_and(|q| q.state.get(k).is_some_and(|o| Arc::ptr_eq(o, chunk))) {
                    continue;
                }
                if seen.insert(Arc::as_ptr(chunk) as *const u8 as usize) {
                    bytes += chunk.len() as u64;
                }
            }
            prev = Some(c);
        }
        self.page_bytes = bytes;
        self.patch_bytes = self.checkpoints.iter().filter_map(|c| c.patch.as_ref()).map(patch_size).sum();
    }

    fn checkpoint_at_or_before(&self, index: u64) -> &Checkpoint {
        let i = self.checkpoints.partition_point(|c| c.index <= index);
        let cp = &self.checkpoints[i.saturating_sub(1)];
        let j = self.fine.partition_point(|c| c.index <= index);
        match j.checked_sub(1).map(|j| &self.fine[j]) {
            Some(f) if f.index > cp.index => f,
            _ => cp,
        }
    }

    /// Restores checkpoint `cp` into the VM gdb sees.
    fn restore_main(&mut self, vm: &mut Vm, cp: &Checkpoint) -> Result<(), VmError> {
        self.marks_lost = true;
        restore_into(vm, Some(&self.base_pages), &self.extra_dirty, cp)?;
        self.base_pages = cp.pages.clone();
        self.extra_dirty = [false; PAGES];
        Ok(())
    }

    /// Restores checkpoint `cp` into the shadow VM.
    fn restore_shadow(&mut self, cp: &Checkpoint) -> Result<(), VmError> {
        // the shadow moves: what it had made ready is gone
        self.prepared = None;
        let known = self.shadow_pages.take();
        restore_into(&mut self.shadow, known.as_deref(), &self.shadow_extra, cp)?;
        self.shadow_pages = Some(cp.pages.clone());
        self.shadow_extra = [false; PAGES];
        Ok(())
    }

    /// Moves the VM to instruction `index` of the history (clamped to the
    /// end).  Breakpoints and watchpoints do not stop it: the re-execution
    /// runs on a VM without them.
    pub fn goto(&mut self, vm: &mut Vm, index: u64) -> Result<(), VmError> {
        let index = index.clamp(self.begin(), self.end);
        self.marks_lost = true;
        let pages = match self.prepared.take() {
            Some(p) if p.index == index && self.prepared_from_base(&p) => p.pages,
            _ => self.shadow_to(index)?,
        };
        self.shadow_into(vm, index, pages)
    }

    /// Whether `p` was re-run from the checkpoint `goto` would start from now
    /// (the same one, not only one at the same index: a patch or the limit
    /// may have changed the history since).
    fn prepared_from_base(&self, p: &Prepared) -> bool {
        let base = self.checkpoint_at_or_before(p.index);
        base.index == p.base_index && Arc::ptr_eq(&base.state, &p.base_state) && Arc::ptr_eq(&base.pages, &p.base_pages)
    }

    /// Makes the step back from `now` ready ahead of time: re-runs the shadow
    /// to `now - 1`, so that the next `goto` there only hands its state to
    /// the VM.  A front-end calls it while it waits for its client after a
    /// step back (gdb reads memory and sends the next step meanwhile); any
    /// other use of the shadow, or a change of the history, drops it.
    pub fn prepare_step_back(&mut self) -> Result<(), VmError> {
        if self.now <= self.begin() {
            return Ok(());
        }
        let index = self.now - 1;
        if self.prepared.as_ref().is_some_and(|p| p.index == index && self.prepared_from_base(p)) {
            return Ok(());
        }
        let pages = self.shadow_to(index)?;
        // after the run: it may have left a fine checkpoint nearer `index`,
        // which goto would start from (and which holds the same state)
        let base = self.checkpoint_at_or_before(index);
        self.prepared = Some(Prepared {
            index,
            base_index: base.index,
            base_state: base.state.clone(),
            base_pages: base.pages.clone(),
            pages,
        });
        Ok(())
    }

    /// Re-runs the shadow to `index` from the nearest checkpoint; answers
    /// its memory's pages (apart from what its dirty map says it wrote).
    fn shadow_to(&mut self, index: u64) -> Result<Arc<[Page]>, VmError> {
        let cp = self.checkpoint_at_or_before(index).clone();
        self.restore_shadow(&cp)?;
        let mut at = cp.index;
        let mut pages = cp.pages.clone();
        // on a long way, leave fine checkpoints for the next steps back
        while index - at > FINE_INTERVAL {
            let step = if index - at > FAR_FINE_INTERVAL { FAR_FINE_INTERVAL } else { FINE_INTERVAL };
            if Self::run_shadow(&mut self.shadow, step, None) < step {
                break;
            }
            at += step;
            let dirty = self.shadow.take_dirty_pages();
            let mut next = pages.to_vec();
            let mut own = 0u64;
            for p in (0..PAGES).filter(|&p| dirty[p]) {
                let mut page = [0u8; PAGE_SIZE];
                let _ = self.shadow.read_mem((p * PAGE_SIZE) as u32, &mut page);
                next[p] = Arc::new(page);
                own += PAGE_SIZE as u64;
            }
            pages = next.into();
            self.shadow_pages = Some(pages.clone());
            let (state, new_bytes) = chunk_state(&self.shadow.save_state(), Some(&cp.state));
            let mut fine = Checkpoint { index: at, state, pages: pages.clone(), patch: None, own_bytes: 0, written_before: ALL_LINES };
            fine.own_bytes = own + new_bytes + table_bytes(&fine);
            self.fine_bytes += fine.own_bytes;
            let k = self.fine.partition_point(|c| c.index < at);
            if self.fine.get(k).is_some_and(|c| c.index == at) {
                self.fine_bytes -= self.fine[k].own_bytes;
                self.fine[k] = fine;
            } else {
                self.fine.insert(k, fine);
            }
            if self.fine.len() > FINE_KEEP {
                // the furthest ahead: stepping back needs it least
                if let Some(c) = self.fine.pop() {
                    self.fine_bytes -= c.own_bytes;
                }
            }
        }
        // fewer than asked only where the history ended (a fault or halt)
        Self::run_shadow(&mut self.shadow, index - at, None);
        Ok(pages)
    }

    /// The VM takes the shadow's state at `index`; memory = `pages` plus what
    /// the shadow wrote since.
    fn shadow_into(&mut self, vm: &mut Vm, index: u64, pages: Arc<[Page]>) -> Result<(), VmError> {
        let dirty = self.shadow.take_dirty_pages();
        self.shadow_extra = dirty;
        let vm_dirty = vm.take_dirty_pages();
        for p in 0..PAGES {
            if dirty[p] || vm_dirty[p] || self.extra_dirty[p] || !Arc::ptr_eq(&self.base_pages[p], &pages[p]) {
                let mut page = [0u8; PAGE_SIZE];
                let _ = self.shadow.read_mem((p * PAGE_SIZE) as u32, &mut page);
                // unmarked for take_dirty_pages, as restore_into's writes
                vm.restore_mem((p * PAGE_SIZE) as u32, &page)?;
            }
        }
        vm.copy_state_from(&self.shadow);
        vm.take_inputs();
        self.base_pages = pages;
        self.extra_dirty = dirty;
        self.now = index;
        Ok(())
    }

    /// The turns in instructions [from, to) of the history, where `from` is
    /// a checkpoint's index: (first instruction, agent) each, oldest first.
    /// Derived by re-executing on the shadow VM with its input log on (the
    /// switches follow from the state; a checkpoint's state says who runs).
    fn turns(&mut self, cp: &Checkpoint, to: u64) -> Result<Vec<(u64, u32)>, VmError> {
        self.restore_shadow(cp)?;
        let mut turns = vec![(cp.index, self.shadow.current_agent())];
        self.shadow.log_inputs(true);
        let mut at = cp.index;
        while at < to {
            let cycles = self.shadow.regs().cycles;
            // at most one switch per instruction: the VM's log holds a run's
            let ran = Self::run_shadow(&mut self.shadow, (to - at).min(CHECKPOINT_INTERVAL), None);
            for e in self.shadow.take_inputs().0.into_iter().filter(|e| e.kind == InputKind::Sched) {
                let index = at + e.cycle.wrapping_sub(cycles);
                if index < to {
                    turns.push((index, (e.value & 0xFF) as u32));
                }
            }
            if ran == 0 {
                break;
            }
            at += ran;
        }
        self.shadow.log_inputs(false);
        Ok(turns)
    }

    /// The agent that ran instruction `index` of the history.
    pub fn agent_at(&mut self, index: u64) -> Result<u32, VmError> {
        let cp = self.checkpoint_at_or_before(index).clone();
        let turns = self.turns(&cp, index + 1)?;
        Ok(turns.last().map_or(0, |t| t.1))
    }

    /// Goes back to the last instruction agent `agent` ran before now,
    /// across the other agents' turns in between (a plain step back when it
    /// ran none).  `None` at the start of the history.
    pub fn reverse_step_agent(&mut self, vm: &mut Vm, agent: u32) -> Result<Option<u64>, VmError> {
        if self.now <= self.begin() {
            return Ok(None);
        }
        // Agent 1 alone: when the state now has given no id but agent 1's
        // (the next id is 2) and it came from running instruction now - 1
        // (no change of the debugger's was put in at now), the state before
        // that instruction had no other agent either (ids only grow as a
        // program runs, and a state's agents all have ids below the next),
        // so agent 1 ran it: a plain step back, without re-executing the
        // checkpoint interval to find the turns.
        let from = self.checkpoints.partition_point(|c| c.index < self.now);
        let patched_now = self.checkpoints[from..].iter().take_while(|c| c.index == self.now).any(|c| c.patch.is_some());
        if agent == 1 && vm.next_agent_id() == 2 && !patched_now {
            return self.reverse_step(vm);
        }
        let mut hi = self.now;
        while hi > self.begin() {
            let cp = self.checkpoint_at_or_before(hi - 1).clone();
            let turns = self.turns(&cp, hi)?;
            // the latest turn of `agent` in [cp.index, hi): its last instruction
            let mut end = hi;
            for &(start, who) in turns.iter().rev() {
                if who == agent && start < end {
                    self.goto(vm, end - 1)?;
                    return Ok(Some(end - 1));
                }
                end = end.min(start);
            }
            hi = cp.index;
        }
        self.reverse_step(vm)
    }

    /// Goes back one instruction; `None` at the start of the history.
    pub fn reverse_step(&mut self, vm: &mut Vm) -> Result<Option<u64>, VmError> {
        if self.now <= self.begin() {
            return Ok(None);
        }
        self.goto(vm, self.now - 1)?;
        Ok(Some(self.now))
    }

    /// Runs backwards to the latest stop before `now` that `vm`'s own
    /// breakpoints, watchpoints and stub-side conditions would make, scanning
    /// the history one checkpoint interval at a time (latest first).  A
    /// watchpoint stop is placed at the instruction that made the access
    /// (before it runs); a breakpoint stop at the breakpoint (before the
    /// instruction runs).  `is_stop` says which stops count.
    pub fn reverse_continue(&mut self, vm: &mut Vm, is_stop: impl Fn(&Stop) -> bool) -> Result<ReverseStop, VmError> {
        let target = self.now;
        let mut hi = target;
        loop {
            if hi <= self.begin() {
                self.goto(vm, self.begin())?;
                return Ok(ReverseStop::Begin);
            }
            let cp = self.checkpoint_at_or_before(hi - 1).clone();
            // scan [cp.index, hi) with the VM's own hooks armed
            self.restore_main(vm, &cp)?;
            let mut at = cp.index;
            let mut found: Option<(u64, Stop)> = None;
            while at < hi {
                let stop = vm.run(hi - at);
                vm.take_output();
                vm.take_ax_output(); // gdb's dprintf does not print while going back
                let after = at + stop.executed;
                match &stop.kind {
                    StopKind::Watchpoint { .. } if is_stop(&stop) => {
                        // the access was made by the instruction just retired
                        if after >= 1 && after - 1 < target {
                            found = Some((after - 1, stop.clone()));
                        }
                    }
                    StopKind::Budget | StopKind::Output => {}
                    StopKind::Halted { .. } | StopKind::Fault { .. } | StopKind::Terminated { .. } => {
                        at = after;
                        break;
                    }
                    _ if is_stop(&stop) => {
                        if after < target {
                            found = Some((after, stop.clone()));
                        }
                    }
                    _ => {}
                }
                if stop.executed == 0 && !is_stop(&stop) && !matches!(stop.kind, StopKind::Output) {
                    break;
                }
                at = after;
                if stop.executed == 0 {
                    // a stop before any instruction ran (a breakpoint where we
                    // resumed is passed over by the VM itself): step one on
                    let s = vm.run(1);
                    vm.take_output();
                    vm.take_ax_output();
                    at += s.executed;
                    if s.executed == 0 {
                        break;
                    }
                }
            }
            let _ = at;
            self.now = cp.index; // provisional; goto below fixes it
            if let Some((index, stop)) = found {
                self.goto(vm, index)?;
                // the agent that stopped may be waiting for its turn there: its own pc
                let pc = vm.agent_regs(stop.agent).map_or(vm.pc(), |r| r.pc);
                let stop = Stop { pc, ..stop };
                return Ok(ReverseStop::At { index, stop });
            }
            hi = cp.index;
        }
    }

    /// The trace records of instructions [from, to) of the history, made by
    /// re-executing them on a VM with tracing on (segment by segment, so
    /// that gdb's changes are made again where they were made).
    pub fn trace_records(&mut self, from: u64, to: u64) -> Result<Vec<crate::runtime::records::TraceRecord>, VmError> {
        let to = to.min(self.end);
        let mut out = Vec::new();
        let mut at = from.max(self.begin());
        while at < to {
            let i = self.checkpoints.partition_point(|c| c.index <= at).saturating_sub(1);
            let cp = self.checkpoints[i].clone();
            let seg_end = self.checkpoints.get(i + 1).map_or(to, |c| c.index.min(to));
            self.restore_shadow(&cp)?;
            let ran = Self::run_shadow(&mut self.shadow, at - cp.index, None);
            if ran < at - cp.index {
                break;
            }
            self.shadow.set_tracing(true)?;
            let traced = Self::run_shadow(&mut self.shadow, seg_end - at, Some((&mut out, &mut self.texts)));
            self.shadow.set_tracing(false)?;
            self.shadow.discard_trace();
            if traced < seg_end - at {
                break; // the history ended there
            }
            at = seg_end;
        }
        Ok(out)
    }

    /// Runs the shadow VM `n` instructions (or until the program ends),
    /// collecting trace records into `records` when given; returns how many ran.
    fn run_shadow(
        shadow: &mut Vm,
        n: u64,
        mut records: Option<(&mut Vec<crate::runtime::records::TraceRecord>, &mut crate::program::disasm::TextCache)>,
    ) -> u64 {
        let mut ran = 0;
        while ran < n {
            let stop = shadow.run(n - ran);
            ran += stop.executed;
            shadow.take_output();
            if let Some((r, texts)) = records.as_mut() {
                r.extend(crate::program::disasm::take_trace(shadow, texts));
            }
            let goes_on = matches!(stop.kind, StopKind::Budget | StopKind::Output | StopKind::Brk | StopKind::TraceFull);
            if !goes_on || (stop.executed == 0 && !matches!(stop.kind, StopKind::Output | StopKind::TraceFull)) {
                break;
            }
        }
        ran
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::recording::state_digest;

    fn fib_vm() -> Vm {
        let src = include_str!("../../examples/fibonacci.fasm");
        let program = crate::program::asm::assemble(src).expect("the example assembles").bytes;
        Vm::with_program(&program, VmConfig::default()).unwrap()
    }

    /// Runs `vm` at most `n` instructions, recording into `h`.
    fn run_recorded(vm: &mut Vm, h: &mut History, n: u64) {
        let stop = vm.run(h.run_budget(n));
        h.after_run(vm, &stop);
    }

    /// The state after `n` instructions of a plain run.
    fn straight(n: u64) -> String {
        let mut vm = fib_vm();
        let mut ran = 0;
        while ran < n {
            let s = vm.run(n - ran);
            vm.take_output();
            ran += s.executed;
            if s.executed == 0 {
                break;
            }
        }
        state_digest(&vm)
    }

    fn record_to_end(vm: &mut Vm) -> History {
        let mut h = History::start(vm).unwrap();
        loop {
            let stop = vm.run(h.run_budget(u64::MAX));
            vm.take_output();
            h.after_run(vm, &stop);
            if matches!(stop.kind, StopKind::Halted { .. }) {
                return h;
            }
        }
    }

    // Every way of moving through the history (back to any instruction,
    // forward again by replaying, step by step back) lands on exactly the
    // state a plain run has there: registers, flags, energy, cycles, memory.
    #[test]
    fn going_anywhere_in_the_history_gives_the_state_a_plain_run_has_there() {
        let mut vm = fib_vm();
        let mut h = record_to_end(&mut vm);
        let end = h.end();
        assert_eq!(end, 175_128, "fib(20) runs this many instructions, HALT included");
        assert!(h.checkpoint_count() > 4);
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % (end + 1)
        };
        for _ in 0..12 {
            let target = next();
            h.goto(&mut vm, target).unwrap();
            assert_eq!(h.now(), target);
            assert_eq!(state_digest(&vm), straight(target), "goto {target}");
            // back a few steps, one at a time
            for k in 1..=3u64.min(target) {
                h.reverse_step(&mut vm).unwrap();
                assert_eq!(state_digest(&vm), straight(target - k), "reverse step to {}", target - k);
            }
            // forward by replaying
            let from = h.now();
            let stop = vm.run(h.run_budget(5000));
            vm.take_output();
            h.after_run(&mut vm, &stop);
            assert_eq!(state_digest(&vm), straight(from + stop.executed), "replay forward from {from}");
        }
    }

    // A step back made ready ahead of time lands where a plain run is, step
    // after step and across checkpoints; one made stale (the VM was moved
    // elsewhere, the shadow was used for something else) is not used, and
    // the step is still exact.
    #[test]
    fn a_step_back_made_ready_ahead_lands_where_a_plain_run_is() {
        let mut vm = fib_vm();
        let mut h = record_to_end(&mut vm);
        for target in [h.end(), 3 * CHECKPOINT_INTERVAL + 2, FINE_INTERVAL + 1, 3] {
            h.goto(&mut vm, target).unwrap();
            for k in 1..=3u64 {
                h.prepare_step_back().unwrap();
                assert!(h.prepared.as_ref().is_some_and(|p| p.index == target - k), "ready for {}", target - k);
                assert_eq!(h.reverse_step(&mut vm).unwrap(), Some(target - k));
                assert!(h.prepared.is_none(), "used");
                assert_eq!(state_digest(&vm), straight(target - k), "stepped back to {}", target - k);
            }
        }
        // ready for one index, asked for another: re-run as usual
        h.goto(&mut vm, 5000).unwrap();
        h.prepare_step_back().unwrap();
        h.goto(&mut vm, 4000).unwrap();
        assert_eq!(state_digest(&vm), straight(4000));
        // the shadow used in between (the agent of an instruction): dropped
        h.prepare_step_back().unwrap();
        h.agent_at(100).unwrap();
        assert!(h.prepared.is_none());
        h.reverse_step(&mut vm).unwrap();
        assert_eq!(state_digest(&vm), straight(3999));
        // at the start: nothing to make ready
        h.goto(&mut vm, 0).unwrap();
        h.prepare_step_back().unwrap();
        assert!(h.prepared.is_none());
    }

    // A step back made ready, then a change by the debugger where the VM is:
    // the change is a checkpoint at now, after the state made ready, which
    // holds; the step back lands on the plain state, and going forward again
    // replays the change.
    #[test]
    fn a_step_back_made_ready_holds_across_a_change_by_the_debugger_at_now() {
        let mut vm = fib_vm();
        let mut h = History::start(&mut vm).unwrap();
        run_recorded(&mut vm, &mut h, 3000);
        h.goto(&mut vm, 2000).unwrap();
        h.prepare_step_back().unwrap();
        assert!(h.prepared.is_some());
        // gdb writes memory at 2000 and steps back: the history keeps the
        // change as a checkpoint at 2000, so the state at 1999 is the plain one
        vm.write_mem(0x9000, &[9, 9, 9, 9]).unwrap();
        h.note_memory_write(0x9000, 4);
        h.before_resume(&mut vm);
        assert!(h.prepared.as_ref().is_some_and(|p| h.prepared_from_base(p)), "still from the same checkpoint");
        h.reverse_step(&mut vm).unwrap();
        assert_eq!(state_digest(&vm), straight(1999));
        // forward again to 2000 replays the change
        let stop = vm.run(h.run_budget(1));
        h.after_run(&mut vm, &stop);
        let mut b = [0u8; 4];
        vm.read_mem(0x9000, &mut b).unwrap();
        assert_eq!((h.now(), b), (2000, [9, 9, 9, 9]));
        // ready again, then a change at 2000 and a step back to 1999 again
        h.prepare_step_back().unwrap();
        vm.write_mem(0x9000, &[7, 7, 7, 7]).unwrap();
        h.note_memory_write(0x9000, 4);
        h.before_resume(&mut vm);
        h.reverse_step(&mut vm).unwrap();
        assert_eq!(state_digest(&vm), straight(1999));
    }

    // Stepping agent 1 back in a program that has never had another agent
    // (the step back that skips re-executing for the turns) lands where a
    // plain run is one instruction earlier, step after step, across
    // checkpoints, and stops at the start of the history.
    #[test]
    fn stepping_agent_1_back_alone_gives_the_state_a_plain_run_has_there() {
        let mut vm = fib_vm();
        let mut h = record_to_end(&mut vm);
        assert_eq!(vm.next_agent_id(), 2, "fib has only agent 1");
        for target in [h.end(), 3 * CHECKPOINT_INTERVAL + 2, FINE_INTERVAL + 1, 3] {
            h.goto(&mut vm, target).unwrap();
            for k in 1..=3u64 {
                assert_eq!(h.reverse_step_agent(&mut vm, 1).unwrap(), Some(target - k));
                assert_eq!(state_digest(&vm), straight(target - k), "agent 1 stepped back to {}", target - k);
            }
        }
        assert_eq!(h.reverse_step_agent(&mut vm, 1).unwrap(), None, "at the start of the history");
        assert_eq!(h.now(), 0);
    }

    // Under a limit the history thins its checkpoints, and when the
    // debugger's changes alone fill it, drops its oldest part; it stays
    // under the limit, says so, and the rest is still exact.
    #[test]
    fn the_limit_thins_then_drops_the_oldest_part() {
        let mut vm = fib_vm();
        let mut h = History::start(&mut vm).unwrap();
        h.set_limit(MIN_LIMIT);
        let mut patched = 0;
        while h.ending.is_none() {
            let stop = vm.run(h.run_budget(1000));
            vm.take_output();
            h.after_run(&mut vm, &stop);
            // a change by the debugger every 1,000 instructions: a patch each
            if h.now() / 1000 > patched && h.ending.is_none() {
                patched = h.now() / 1000;
                vm.write_mem(0x9000, &patched.to_le_bytes()).unwrap();
                h.note_memory_write(0x9000, 8);
                h.before_resume(&mut vm);
            }
            assert!(h.memory_bytes() <= MIN_LIMIT, "{} bytes at {}", h.memory_bytes(), h.now());
        }
        assert!(h.begin() > 0, "the patches filled the limit");
        let status = h.limit_status();
        assert!(status.starts_with("limit 1048576 bytes; over it "), "{status}");
        assert!(status.ends_with(&format!("; instructions before {} dropped", h.begin())), "{status}");
        // a replay file of what is kept starts where the history begins
        let program = crate::program::load::Program::from_bytes(
            "fib.fasm".into(),
            crate::program::asm::assemble(include_str!("../../examples/fibonacci.fasm")).unwrap().bytes,
        );
        let rec = crate::analysis::recording::Recording::from_history(&program, VmConfig::default(), Default::default(), &h).unwrap();
        assert_eq!(rec.instructions(), h.end() - h.begin());
        rec.verify().unwrap();
        // back to the start of what is kept, and forward again to the end
        let end = state_digest(&vm);
        h.goto(&mut vm, 0).unwrap();
        assert_eq!(h.now(), h.begin());
        assert_eq!(h.reverse_step(&mut vm).unwrap(), None);
        let mut b = [0u8; 8];
        vm.read_mem(0x9000, &mut b).unwrap();
        assert_eq!(u64::from_le_bytes(b), h.begin() / 1000, "the patch made at the start kept is in its state");
        while h.now() < h.end() {
            let stop = vm.run(h.run_budget(u64::MAX));
            vm.take_output();
            h.after_run(&mut vm, &stop);
        }
        assert_eq!(state_digest(&vm), end);
    }

    // What gdb changes becomes part of the history: going back over it and
    // forward again makes the change again.
    #[test]
    fn a_change_by_the_debugger_is_replayed() {
        let mut vm = fib_vm();
        let mut h = History::start(&mut vm).unwrap();
        run_recorded(&mut vm, &mut h, 1000);
        vm.write_mem(0x9000, &[1, 2, 3, 4]).unwrap();
        h.note_memory_write(0x9000, 4);
        h.before_resume(&mut vm);
        run_recorded(&mut vm, &mut h, 500);
        let at_end = state_digest(&vm);
        h.goto(&mut vm, 10).unwrap();
        let mut b = [0u8; 4];
        vm.read_mem(0x9000, &mut b).unwrap();
        assert_eq!(b, [0; 4]);
        while h.now() < h.end() {
            run_recorded(&mut vm, &mut h, u64::MAX);
        }
        vm.read_mem(0x9000, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert_eq!(state_digest(&vm), at_end);
    }

    // A breakpoint on the one instruction of a loop: every checkpoint lands
    // on it, so the scan of a span begins with a stop before any instruction
    // ran (a restored VM has not resumed there).  The scan steps on from it
    // and finds the latest hit before now, not the span's first.
    #[test]
    fn reverse_continue_finds_the_latest_hit_when_a_span_begins_on_the_breakpoint() {
        let program = crate::program::asm::assemble("LOAD_IMM r3, 100000\nw: LOOP r3, w\nHALT\n").unwrap().bytes;
        let mut vm = Vm::with_program(&program, VmConfig::default()).unwrap();
        let w = {
            let mut probe = Vm::with_program(&program, VmConfig::default()).unwrap();
            probe.run(1);
            probe.pc()
        };
        let mut h = History::start(&mut vm).unwrap();
        while h.ending.is_none() {
            let stop = vm.run(h.run_budget(1 << 20));
            vm.take_output();
            h.after_run(&mut vm, &stop);
        }
        // LOAD_IMM is instruction 0, the LOOPs 1 to 100,000, HALT 100,001
        assert!(h.checkpoints().iter().any(|c| (1..=100_000).contains(&c.index)), "a checkpoint inside the loop");
        vm.set_breakpoint(w, true);
        let brk = |s: &Stop| matches!(s.kind, StopKind::Breakpoint);
        for want in [100_000, 99_999] {
            match h.reverse_continue(&mut vm, brk).unwrap() {
                ReverseStop::At { index, .. } => assert_eq!((index, h.now(), vm.pc()), (want, want, w)),
                ReverseStop::Begin => panic!("no hit found before {want}"),
            }
        }
    }

    // What the history counts as held (memory_bytes, the limit's measure,
    // which `monitor record status` shows): a patch is its machine state and
    // its pages; a recount finds every page and state chunk the checkpoints
    // reference, each once; the tables are their pointers.
    #[test]
    fn the_byte_counts_are_what_the_history_holds() {
        let page: Page = Arc::new([0u8; PAGE_SIZE]);
        let two = Patch { state: vec![0u8; 100].into(), pages: vec![(3, page.clone()), (4, page)] };
        assert_eq!(patch_size(&two), (100 + 2 * (PAGE_SIZE + std::mem::size_of::<(usize, Page)>())) as u64);
        assert_eq!(patch_size(&Patch { state: vec![0u8; 100].into(), pages: vec![] }), 100);

        let mut vm = fib_vm();
        let mut h = History::start(&mut vm).unwrap();
        let mut patched = 0;
        while h.ending.is_none() && h.now() < 3 * CHECKPOINT_INTERVAL {
            let stop = vm.run(h.run_budget(1000));
            vm.take_output();
            h.after_run(&mut vm, &stop);
            if h.now() / 5000 > patched && h.ending.is_none() {
                patched = h.now() / 5000;
                vm.write_mem(0x9000, &patched.to_le_bytes()).unwrap();
                h.note_memory_write(0x9000, 8);
                h.before_resume(&mut vm);
            }
        }
        assert!(h.checkpoint_count() > 3 && patched > 3, "{} checkpoints", h.checkpoint_count());
        let mut pages = std::collections::HashSet::new();
        let mut chunks = std::collections::HashMap::new();
        for c in h.checkpoints() {
            pages.extend(c.pages.iter().map(|p| Arc::as_ptr(p) as usize));
            chunks.extend(c.state.iter().map(|s| (Arc::as_ptr(s) as *const u8 as usize, s.len() as u64)));
        }
        let held = pages.len() as u64 * PAGE_SIZE as u64 + chunks.values().sum::<u64>();
        // a checkpoint keeps anew only the state chunks that changed since the one before
        for w in h.checkpoints().windows(2) {
            for (a, b) in w[0].state.iter().zip(w[1].state.iter()) {
                assert_eq!(Arc::ptr_eq(a, b), a[..] == b[..], "checkpoints at {} and {}", w[0].index, w[1].index);
            }
        }
        let patches: u64 = h.checkpoints().iter().filter_map(|c| c.patch.as_ref()).map(patch_size).sum();
        h.recount();
        assert_eq!((h.page_bytes, h.patch_bytes), (held, patches));
        // and the tables: per checkpoint, a pointer per page, a (fat) pointer
        // per state chunk and the checkpoint itself; no fine checkpoints here
        assert_eq!(h.fine_bytes, 0);
        let word = std::mem::size_of::<usize>();
        let mut tables = 0;
        for c in h.checkpoints() {
            assert_eq!((std::mem::size_of_val(&*c.pages), std::mem::size_of_val(&*c.state)), (PAGES * word, c.state.len() * 2 * word));
            tables += (std::mem::size_of_val(&*c.pages) + std::mem::size_of_val(&*c.state) + std::mem::size_of::<Checkpoint>()) as u64;
        }
        assert_eq!(h.memory_bytes(), tables + held + patches);
    }

    // The trace of a stretch of the history, re-executed segment by segment
    // from its checkpoints, is the trace of a straight run over it.
    #[test]
    fn trace_records_across_checkpoints_equal_a_straight_traced_run() {
        let mut vm = fib_vm();
        let mut h = History::start(&mut vm).unwrap();
        while h.ending.is_none() && h.now() < 3 * CHECKPOINT_INTERVAL {
            let stop = vm.run(h.run_budget(4096));
            vm.take_output();
            h.after_run(&mut vm, &stop);
        }
        assert!(h.end() >= 3 * CHECKPOINT_INTERVAL, "fib runs long enough: {}", h.end());
        let (from, to) = (CHECKPOINT_INTERVAL - 100, 2 * CHECKPOINT_INTERVAL + 100);
        let got = h.trace_records(from, to).unwrap();
        let mut straight = fib_vm();
        assert_eq!(History::run_shadow(&mut straight, from, None), from);
        straight.set_tracing(true).unwrap();
        let mut want = Vec::new();
        let mut texts = crate::program::disasm::TextCache::default();
        assert_eq!(History::run_shadow(&mut straight, to - from, Some((&mut want, &mut texts))), to - from);
        assert_eq!(got.len() as u64, to - from);
        assert_eq!(got.first().map(|r| r.index), Some(from));
        assert!(got == want, "the traces differ");
    }

    // Who ran each instruction, derived from the checkpoints: round-robin
    // with slices of 2 gives agent 1 instructions 0-2 (the SPAWN starts its
    // slice again), agent 2 3-4, agent 1 5-6, agent 2 7-8, ...
    #[test]
    fn the_agent_at_each_instruction_follows_the_slices() {
        let src = "SPAWN child\nLOAD_IMM r1, 1\nINCR r1\nINCR r1\nINCR r1\nINCR r1\nINCR r1\nJOIN r0\nHALT\n\
                   child: LOAD_IMM r2, 10\nINCR r2\nINCR r2\nINCR r2\nHALT\n";
        let program = crate::program::asm::assemble(src).unwrap().bytes;
        let mut vm = Vm::with_program(&program, VmConfig::default()).unwrap();
        vm.set_schedule(crate::runtime::vm::Schedule::new(crate::runtime::vm::SchedKind::RoundRobin, 2));
        let mut h = History::start(&mut vm).unwrap();
        while h.ending.is_none() {
            let stop = vm.run(h.run_budget(1000));
            vm.take_output();
            h.after_run(&mut vm, &stop);
        }
        let who: Vec<u32> = (0..9).map(|i| h.agent_at(i).unwrap()).collect();
        assert_eq!(who, [1, 1, 1, 2, 2, 1, 1, 2, 2]);
    }

    // A change by the debugger where the run stopped on a checkpoint's index
    // replaces that checkpoint with one holding the patch: the lines written
    // before it stay marked, so the write at instruction 1 is still found by
    // the history queries.
    #[test]
    fn a_write_before_a_debugger_change_is_still_found() {
        let src = "LOAD_IMM r1, 7\nSTORE32 r1, 0x8000\nLOAD_IMM r3, 40000\nl: LOOP r3, l\nHALT\n";
        let program = crate::program::asm::assemble(src).unwrap().bytes;
        let mut vm = Vm::with_program(&program, VmConfig::default()).unwrap();
        let mut h = History::start(&mut vm).unwrap();
        while h.now() < CHECKPOINT_INTERVAL {
            let stop = vm.run(h.run_budget(CHECKPOINT_INTERVAL - h.now()));
            h.after_run(&mut vm, &stop);
        }
        assert_eq!((h.now(), h.checkpoints().last().map(|c| c.index)), (CHECKPOINT_INTERVAL, Some(CHECKPOINT_INTERVAL)));
        vm.write_mem(0x9000, &[1, 2, 3, 4]).unwrap();
        h.note_memory_write(0x9000, 4);
        h.before_resume(&mut vm);
        assert!(h.checkpoints().last().is_some_and(|c| c.index == CHECKPOINT_INTERVAL && c.patch.is_some()));
        while h.ending.is_none() {
            let stop = vm.run(h.run_budget(100_000));
            h.after_run(&mut vm, &stop);
        }
        let subject = crate::analysis::queries::Subject { operand: crate::analysis::queries::Operand::Mem { addr: 0x8000, size: 4 }, agent: 1 };
        let found: Vec<(u64, u32)> = crate::analysis::queries::writes(&h, subject).unwrap().iter().map(|w| (w.index, w.pc)).collect();
        assert_eq!(found, [(1, 6)]);
    }
}
