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
//! What gdb changes while stopped (registers, memory) becomes a *patch*: a
//! checkpoint at that index that re-execution starts from, kept for the
//! replay file.  A change made while back in the past ends the history there
//! (the future it had no longer follows from it).
use std::sync::Arc;

use crate::vm::{InputEvent, InputKind, Stop, StopKind, Vm, VmConfig, VmError, PAGES, PAGE_SIZE};

/// Instructions between two checkpoints: going back one instruction re-runs
/// at most this many (about 0.1 ms).
pub const CHECKPOINT_INTERVAL: u64 = 1 << 15;
/// Past this many checkpoints, every other old one is dropped: memory stays
/// bounded and going far back costs more re-execution.
pub const MAX_CHECKPOINTS: usize = 4096;

pub type Page = Arc<[u8; PAGE_SIZE]>;

/// `goto` leaves short-lived checkpoints this far apart on its way, so that
/// stepping back again and again re-runs at most this many instructions.
const FINE_INTERVAL: u64 = 2048;
/// How many of those it keeps.
const FINE_KEEP: usize = 32;

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
    chunks.iter().flat_map(|c| c.iter().copied()).collect()
}

/// The VM at one instruction index.
#[derive(Clone)]
pub struct Checkpoint {
    pub index: u64,
    pub state: StateChunks,
    pub pages: Arc<[Page]>,
    /// Made because gdb changed the state here: never dropped, and written
    /// to replay files.
    pub patch: Option<Patch>,
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
    /// The index the VM is at.
    now: u64,
    /// The furthest index reached: [start, end] can be visited.
    end: u64,
    /// The values the program drew (RNG), in order; here an event's `cycle`
    /// holds its history index.  Replay files get theirs by re-executing.
    pub inputs: Vec<InputEvent>,
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
    /// The agent running where the recording began (the scheduler's switches
    /// after that are `inputs` of kind Sched).
    start_agent: u32,
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
            vm.write_mem((p * PAGE_SIZE) as u32, &cp.pages[p][..])?;
        }
    }
    vm.load_state(&state_bytes(&cp.state))?;
    vm.take_dirty_pages();
    vm.take_inputs();
    Ok(())
}

impl History {
    /// Starts recording at the VM's current state (index 0).
    pub fn start(vm: &mut Vm) -> Result<History, VmError> {
        let pages: Arc<[Page]> = (0..PAGES).map(|p| page_of(vm.memory_view(), p)).collect();
        vm.take_dirty_pages();
        vm.log_inputs(true);
        let shadow = Vm::new(VmConfig { energy: 0, seed: 0 })?;
        let (state, state_bytes) = chunk_state(&vm.save_state(), None);
        let first = Checkpoint { index: 0, state, pages: pages.clone(), patch: None };
        Ok(History {
            checkpoints: vec![first],
            now: 0,
            end: 0,
            inputs: Vec::new(),
            base_pages: pages,
            extra_dirty: [false; PAGES],
            debugger_pages: [false; PAGES],
            debugger_changed: false,
            ending: None,
            start_agent: vm.current_agent(),
            shadow,
            fine: Vec::new(),
            shadow_pages: None,
            shadow_extra: [false; PAGES],
            page_bytes: (PAGES * PAGE_SIZE) as u64 + state_bytes,
        })
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

    /// Bytes the history holds: machine states, page tables, page data, inputs.
    pub fn memory_bytes(&self) -> u64 {
        let per = |c: &Checkpoint| {
            ((c.state.len() + c.pages.len()) * std::mem::size_of::<Page>() + std::mem::size_of::<Checkpoint>()) as u64
        };
        self.checkpoints.iter().map(per).sum::<u64>()
            + self.page_bytes
            + (self.inputs.len() * std::mem::size_of::<InputEvent>()) as u64
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
        self.inputs.retain(|e| e.cycle < index);
        self.end = index;
        self.ending = None;
    }

    /// After the VM ran (`stop` is what `Vm::run` returned, from index `now`).
    pub fn after_run(&mut self, vm: &mut Vm, stop: &Stop, cycles_before: u64) {
        let before = self.now;
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
        let (inputs, _lost) = vm.take_inputs();
        if self.now > self.end {
            let end_before = self.end;
            for mut e in inputs {
                e.cycle = before + e.cycle.wrapping_sub(cycles_before);
                if e.cycle >= end_before {
                    self.inputs.push(e);
                }
            }
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
        }
        let cp = Checkpoint { index: self.now, state, pages, patch };
        match self.checkpoints.binary_search_by_key(&cp.index, |c| c.index) {
            Ok(i) => self.checkpoints[i] = cp,
            Err(i) => self.checkpoints.insert(i, cp),
        }
        if self.checkpoints.len() > MAX_CHECKPOINTS {
            self.thin();
        }
    }

    /// Drops every other checkpoint of the older half (never the first one
    /// or a patch).
    fn thin(&mut self) {
        let half = self.checkpoints.len() / 2;
        let mut i = 0usize;
        self.checkpoints.retain(|c| {
            let keep = i == 0 || i >= half || c.patch.is_some() || i % 2 == 0;
            i += 1;
            keep
        });
        // recount the pages and state chunks still referenced
        let mut seen = std::collections::HashSet::new();
        let mut bytes = 0u64;
        for c in &self.checkpoints {
            for p in c.pages.iter() {
                if seen.insert(Arc::as_ptr(p) as *const u8 as usize) {
                    bytes += PAGE_SIZE as u64;
                }
            }
            for k in c.state.iter() {
                if seen.insert(Arc::as_ptr(k) as *const u8 as usize) {
                    bytes += k.len() as u64;
                }
            }
        }
        self.page_bytes = bytes;
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
        restore_into(vm, Some(&self.base_pages), &self.extra_dirty, cp)?;
        self.base_pages = cp.pages.clone();
        self.extra_dirty = [false; PAGES];
        Ok(())
    }

    /// Restores checkpoint `cp` into the shadow VM.
    fn restore_shadow(&mut self, cp: &Checkpoint) -> Result<(), VmError> {
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
        let index = index.min(self.end);
        let cp = self.checkpoint_at_or_before(index).clone();
        self.restore_shadow(&cp)?;
        let mut at = cp.index;
        let mut pages = cp.pages.clone();
        // on a long way, leave fine checkpoints for the next steps back
        while index - at > FINE_INTERVAL {
            if Self::run_shadow(&mut self.shadow, FINE_INTERVAL, None) < FINE_INTERVAL {
                break;
            }
            at += FINE_INTERVAL;
            let dirty = self.shadow.take_dirty_pages();
            let mut next = pages.to_vec();
            for p in (0..PAGES).filter(|&p| dirty[p]) {
                let mut page = [0u8; PAGE_SIZE];
                let _ = self.shadow.read_mem((p * PAGE_SIZE) as u32, &mut page);
                next[p] = Arc::new(page);
            }
            pages = next.into();
            self.shadow_pages = Some(pages.clone());
            let (state, _) = chunk_state(&self.shadow.save_state(), Some(&cp.state));
            let fine = Checkpoint { index: at, state, pages: pages.clone(), patch: None };
            let k = self.fine.partition_point(|c| c.index < at);
            if self.fine.get(k).is_some_and(|c| c.index == at) {
                self.fine[k] = fine;
            } else {
                self.fine.insert(k, fine);
            }
            if self.fine.len() > FINE_KEEP {
                self.fine.pop(); // the furthest ahead: stepping back needs it least
            }
        }
        // fewer than asked only where the history ended (a fault or halt)
        Self::run_shadow(&mut self.shadow, index - at, None);
        // the VM takes the shadow's state; memory = `pages` plus what the
        // shadow wrote since
        let dirty = self.shadow.take_dirty_pages();
        self.shadow_extra = dirty;
        let vm_dirty = vm.take_dirty_pages();
        for p in 0..PAGES {
            if dirty[p] || vm_dirty[p] || self.extra_dirty[p] || !Arc::ptr_eq(&self.base_pages[p], &pages[p]) {
                let mut page = [0u8; PAGE_SIZE];
                let _ = self.shadow.read_mem((p * PAGE_SIZE) as u32, &mut page);
                vm.write_mem((p * PAGE_SIZE) as u32, &page)?;
            }
        }
        vm.load_state(&self.shadow.save_state())?;
        vm.take_dirty_pages();
        vm.take_inputs();
        self.base_pages = pages;
        self.extra_dirty = dirty;
        self.now = index;
        Ok(())
    }

    /// gdb made agent `to` the running one (scheduler-locking) at the
    /// current index, after `before_resume` made that a patch: a switch for
    /// [`Self::agent_at`] to know.
    pub fn note_select(&mut self, from: u32, to: u32) {
        self.inputs.push(InputEvent { cycle: self.now, pc: 0, kind: InputKind::Sched, value: (to & 0xFF) as u64 | ((from & 0xFF) as u64) << 8 });
    }

    /// The switch that began the turn instruction `index` belongs to: its
    /// index and the agent that ran (the recording's first agent before any).
    fn turn_of(&self, index: u64) -> (u64, u32) {
        self.inputs
            .iter()
            .rev()
            .find(|e| e.kind == InputKind::Sched && e.cycle <= index)
            .map_or((0, self.start_agent), |e| (e.cycle, (e.value & 0xFF) as u32))
    }

    /// The agent that ran instruction `index` of the history.
    pub fn agent_at(&self, index: u64) -> u32 {
        self.turn_of(index).1
    }

    /// Goes back to the last instruction agent `agent` ran before now,
    /// across the other agents' turns in between (a plain step back when it
    /// ran none).  `None` at the start of the history.
    pub fn reverse_step_agent(&mut self, vm: &mut Vm, agent: u32) -> Result<Option<u64>, VmError> {
        if self.now == 0 {
            return Ok(None);
        }
        let mut i = self.now - 1;
        loop {
            let (start, who) = self.turn_of(i);
            if who == agent {
                self.goto(vm, i)?;
                return Ok(Some(i));
            }
            if start == 0 {
                return self.reverse_step(vm);
            }
            i = start - 1;
        }
    }

    /// Goes back one instruction; `None` at the start of the history.
    pub fn reverse_step(&mut self, vm: &mut Vm) -> Result<Option<u64>, VmError> {
        if self.now == 0 {
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
            if hi == 0 {
                self.goto(vm, 0)?;
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
    pub fn trace_records(&mut self, from: u64, to: u64) -> Result<Vec<crate::tracer::TraceRecord>, VmError> {
        let to = to.min(self.end);
        let mut out = Vec::new();
        let mut at = from;
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
            let traced = Self::run_shadow(&mut self.shadow, seg_end - at, Some(&mut out));
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
    fn run_shadow(shadow: &mut Vm, n: u64, mut records: Option<&mut Vec<crate::tracer::TraceRecord>>) -> u64 {
        let mut ran = 0;
        while ran < n {
            let stop = shadow.run(n - ran);
            ran += stop.executed;
            shadow.take_output();
            if let Some(r) = records.as_deref_mut() {
                r.extend(shadow.take_trace());
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
    use crate::replay_file::state_digest;

    fn fib_vm() -> Vm {
        let src = include_str!("../examples/fibonacci.fasm");
        let program = crate::asm::assemble(src).expect("the example assembles").bytes;
        Vm::with_program(&program, VmConfig::default()).unwrap()
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
            let cycles = vm.regs().cycles;
            let stop = vm.run(h.run_budget(u64::MAX));
            vm.take_output();
            h.after_run(vm, &stop, cycles);
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
            let cycles = vm.regs().cycles;
            let stop = vm.run(h.run_budget(5000));
            vm.take_output();
            h.after_run(&mut vm, &stop, cycles);
            assert_eq!(state_digest(&vm), straight(from + stop.executed), "replay forward from {from}");
        }
    }

    // What gdb changes becomes part of the history: going back over it and
    // forward again makes the change again.
    #[test]
    fn a_change_by_the_debugger_is_replayed() {
        let mut vm = fib_vm();
        let mut h = History::start(&mut vm).unwrap();
        let run = |vm: &mut Vm, h: &mut History, n: u64| {
            let cycles = vm.regs().cycles;
            let stop = vm.run(h.run_budget(n));
            h.after_run(vm, &stop, cycles);
        };
        run(&mut vm, &mut h, 1000);
        vm.write_mem(0x9000, &[1, 2, 3, 4]).unwrap();
        h.note_memory_write(0x9000, 4);
        h.before_resume(&mut vm);
        run(&mut vm, &mut h, 500);
        let at_end = state_digest(&vm);
        h.goto(&mut vm, 10).unwrap();
        let mut b = [0u8; 4];
        vm.read_mem(0x9000, &mut b).unwrap();
        assert_eq!(b, [0; 4]);
        while h.now() < h.end() {
            run(&mut vm, &mut h, u64::MAX);
        }
        vm.read_mem(0x9000, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert_eq!(state_digest(&vm), at_end);
    }
}
