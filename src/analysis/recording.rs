//! Replay files: a recorded run on disk, and the first divergence between two.
//!
//! A replay file is JSON Lines:
//! 1. a header: format name and version, the program (hex) and its SHA-256,
//!    the seed and energy budget it ran with, the size of the runtime's
//!    machine state, how many instructions were recorded, the digest interval;
//! 2. events, in instruction order: `start` (the machine state and the pages
//!    that differ from the program image where the recording began),
//!    `digest` (a hash of registers and memory, and one of every value the
//!    program drew and every scheduler switch so far, every `digest_interval`
//!    instructions: [`DIGEST_INTERVAL`] unless the file's size limit made it
//!    longer), `patch` (what gdb changed while stopped), `end` (how the
//!    recorded run ended, or that it was still running, with both hashes);
//! 3. a trailer: the xxh3-64 checksum of every byte before it.
//!
//! Replaying re-executes the program from the `start` state, applying each
//! patch at its index: the VM is deterministic, so that reproduces the run,
//! and the `digest` events check that it does.
//!
//! The values RNG_NEXT draws and the scheduler's switches are not listed in
//! the file (since version 2): both generators' states are in the start
//! state, so they follow from it; the digests' `inputs` hash checks them.
//! [`Runner::deriving`] makes them again as `rng` and `sched` events, which
//! `diff` uses to say where two runs part.  Version 1 files (which listed
//! them, and whose digests do not cover them) are refused, and so are
//! version 2 files, whose digests hashed memory whole where version 3 hashes
//! the hash of each page (see [`state_digest`]).
use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::analysis::divergence::{first_difference, first_unequal};
use crate::analysis::history::{History, Patch};
use crate::program::load::Program;
use crate::runtime::vm::{InputKind, Schedule, Stop, StopKind, Vm, VmConfig, VmError, MEM_SIZE, PAGES, PAGE_SIZE};

pub const FORMAT: &str = "flux-replay";
pub const VERSION: u32 = 3;
/// Instructions between two state digests (unless a size limit doubled it).
pub const DIGEST_INTERVAL: u64 = 1 << 16;
/// The longest digest interval a file may have: a file cannot make a replay
/// run further than this past its last check.
pub const MAX_DIGEST_INTERVAL: u64 = 1 << 40;
/// Events of context a divergence report shows.
pub const CONTEXT: usize = 16;
/// The length of a replay file's last line, `{"checksum":"<16 hex digits>"}`
/// and its newline.
const CHECKSUM_LINE_LEN: u64 = 32;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {error}")]
    Read { path: String, error: crate::program::load::ReadError },
    #[error("{path}:{line}: {reason}")]
    Damaged { path: String, line: usize, reason: String },
    #[error("{path}: not a FLUX replay file (format '{found}')")]
    Format { path: String, found: String },
    #[error("{path}: replay format version {found}; this flux-gdbstub reads version {VERSION} (record it again)")]
    Version { path: String, found: u32 },
    #[error("{path}: checksum mismatch: the file is damaged (stored {stored}, computed {computed})")]
    Checksum { path: String, stored: String, computed: String },
    #[error("{path}: truncated: no checksum line at the end")]
    Truncated { path: String },
    #[error("{path}: the program in the file does not match its hash")]
    ProgramHash { path: String },
    #[error("{path}: recorded with a runtime whose machine state is {found} bytes (this one: {ours}): record it again")]
    StateSize { path: String, found: usize, ours: usize },
    #[error("the program {given} is not the one recorded in {path} (sha256 {recorded})")]
    ProgramMismatch { path: String, given: String, recorded: String },
    #[error("replaying does not reproduce the recording: event {event_index} differs (recorded {expected}, replayed {actual})")]
    Diverged { event_index: usize, expected: String, actual: String },
    #[error(transparent)]
    Vm(#[from] VmError),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    program_sha256: String,
    program: String,
    seed: u64,
    energy: i64,
    /// The scheduler (absent in files from before agents: round-robin).
    #[serde(default)]
    schedule: Schedule,
    state_size: usize,
    instructions: u64,
    /// Instructions between two digests (absent in version 1: 65,536).
    #[serde(default = "default_digest_interval")]
    digest_interval: u64,
}

fn default_digest_interval() -> u64 {
    DIGEST_INTERVAL
}

/// A page of memory in a start or patch event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageBytes {
    pub page: usize,
    pub bytes: String,
}

/// One event of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Start { index: u64, state: String, pages: Vec<PageBytes> },
    /// A value RNG_NEXT drew (not in files since version 2: derived).
    Rng { index: u64, pc: u32, value: u64 },
    /// The scheduler gave the VM to agent `to` (from `from`) for `slice`
    /// instructions; `index` is `to`'s first instruction, `pc` where it is
    /// (not in files since version 2: derived).
    Sched { index: u64, pc: u32, from: u32, to: u32, slice: u64 },
    /// `digest`: registers and memory ([`state_digest`]); `inputs`: every
    /// value drawn and switch made from the start up to here.
    Digest { index: u64, pc: u32, digest: String, inputs: String },
    Patch { index: u64, state: String, pages: Vec<PageBytes> },
    End { index: u64, pc: u32, outcome: String, digest: String, inputs: String },
}

impl Event {
    pub fn index(&self) -> u64 {
        match self {
            Event::Start { index, .. }
            | Event::Rng { index, .. }
            | Event::Sched { index, .. }
            | Event::Digest { index, .. }
            | Event::Patch { index, .. }
            | Event::End { index, .. } => *index,
        }
    }

    pub fn pc(&self) -> Option<u32> {
        match self {
            Event::Rng { pc, .. } | Event::Sched { pc, .. } | Event::Digest { pc, .. } | Event::End { pc, .. } => Some(*pc),
            _ => None,
        }
    }

    /// One line for humans (patches and starts without their bytes).
    pub fn summary(&self) -> String {
        match self {
            Event::Start { index, pages, .. } => format!("start at instruction {index} ({} pages differ from the program)", pages.len()),
            Event::Rng { index, pc, value } => format!("rng {value:#010x} at instruction {index}, pc 0x{pc:04X}"),
            Event::Sched { index, pc, from, to, slice } => {
                format!("switch from agent {from} to agent {to} (slice {slice}) at instruction {index}, pc 0x{pc:04X}")
            }
            Event::Digest { index, pc, digest, inputs } => {
                format!("digest {digest} at instruction {index}, pc 0x{pc:04X} (inputs {inputs})")
            }
            Event::Patch { index, pages, .. } => format!("patch by the debugger at instruction {index} ({} pages)", pages.len()),
            Event::End { index, pc, outcome, digest, inputs } => {
                format!("end at instruction {index}, pc 0x{pc:04X}: {outcome}, digest {digest} (inputs {inputs})")
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    // by table: a replay file's states and pages are mostly hex, and
    // formatting each byte was most of what recording cost over a plain run
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

pub fn program_hash(program: &[u8]) -> String {
    hex(&Sha256::digest(program))
}

/// The digest of what a program can see: registers, confidences, flags,
/// energy, cycles and memory (not the RNG's hidden state: two seeds agree
/// until a value is drawn).  Memory enters as the xxh3-64 of each page, so
/// that [`MemoryHashes`] can keep the digest up to date by re-hashing only
/// the pages written since it last looked.
pub fn state_digest(vm: &Vm) -> String {
    let mem = vm.memory_view();
    let pages: [u64; PAGES] = std::array::from_fn(|p| page_hash(mem, p));
    digest_of(vm, &pages)
}

fn page_hash(mem: &[u8], p: usize) -> u64 {
    xxhash_rust::xxh3::xxh3_64(&mem[p * PAGE_SIZE..(p + 1) * PAGE_SIZE])
}

fn digest_of(vm: &Vm, pages: &[u64; PAGES]) -> String {
    let r = vm.regs();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for v in r.r {
        h.update(&v.to_le_bytes());
    }
    for c in r.conf {
        h.update(&c.to_bits().to_le_bytes());
    }
    for v in [r.pc, r.sp, r.fp, r.flags] {
        h.update(&v.to_le_bytes());
    }
    h.update(&r.energy.to_le_bytes());
    h.update(&r.cycles.to_le_bytes());
    for p in pages {
        h.update(&p.to_le_bytes());
    }
    format!("{:016x}", h.digest())
}

/// [`state_digest`] of one VM, again and again: the page hashes are kept,
/// and only the pages the VM marks written since the last digest are hashed
/// again (a recording's digest every 65,536 instructions hashed all 64 KiB of
/// memory each time, most of what recording cost over a plain run).
pub struct MemoryHashes {
    pages: Box<[u64; PAGES]>,
    /// No page hashed yet: the first digest hashes them all.
    fresh: bool,
}

impl MemoryHashes {
    pub fn new() -> MemoryHashes {
        MemoryHashes { pages: Box::new([0; PAGES]), fresh: false }
    }

    /// `state_digest(vm)`.  Every digest of this VM goes through here (the
    /// VM's re-hash marks are this cache's own), or the cache is dropped.
    pub fn digest(&mut self, vm: &mut Vm) -> String {
        let written = vm.take_rehash_pages();
        let mem = vm.memory_view();
        for (p, _) in written.iter().enumerate().filter(|&(_, &w)| w || !self.fresh) {
            self.pages[p] = page_hash(mem, p);
        }
        self.fresh = true;
        digest_of(vm, &self.pages)
    }
}

impl Default for MemoryHashes {
    fn default() -> Self {
        Self::new()
    }
}

fn outcome_text(stop: Option<&Stop>) -> String {
    match stop.map(|s| &s.kind) {
        Some(StopKind::Halted { code }) => format!("exited with code {code}"),
        Some(StopKind::Fault { signal, reason }) => format!("{signal}: {reason}"),
        Some(StopKind::Terminated { signal, reason }) => format!("terminated by {signal}: {reason}"),
        _ => "still running when the recording ended".into(),
    }
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub program: Vec<u8>,
    pub seed: u64,
    pub energy: i64,
    pub schedule: Schedule,
    /// Instructions between two digest events.
    pub digest_interval: u64,
    pub events: Vec<Event>,
}

/// Runs a recording's program from its start event, applying its patches,
/// and produces the events the run makes.
pub struct Runner {
    pub vm: Vm,
    pub index: u64,
    patches: VecDeque<(u64, Patch)>,
    pub ended: Option<Stop>,
    pending: Vec<Event>,
    digest_interval: u64,
    /// Make `rng` and `sched` events too (see [`Runner::deriving`]).
    derive: bool,
    /// The hash of the values drawn and the switches made so far.
    inputs: u64,
    /// The digests' page hashes.
    hashes: MemoryHashes,
}

fn page_list(pages: &[PageBytes]) -> Option<Vec<(usize, Vec<u8>)>> {
    pages
        .iter()
        .map(|p| {
            let bytes = unhex(&p.bytes)?;
            (p.page < PAGES && bytes.len() == PAGE_SIZE).then_some((p.page, bytes))
        })
        .collect()
}

fn apply(vm: &mut Vm, state: &[u8], pages: &[(usize, Vec<u8>)]) -> Result<(), VmError> {
    vm.load_state(state)?;
    for (p, bytes) in pages {
        vm.write_mem((p * PAGE_SIZE) as u32, bytes)?;
    }
    Ok(())
}

impl Runner {
    /// A VM at the recording's start (the file was validated by `load`).
    pub fn new(rec: &Recording) -> Result<Runner, ReplayError> {
        let mut vm = Vm::with_program(&rec.program, VmConfig { energy: rec.energy, seed: rec.seed })?;
        vm.set_schedule(rec.schedule);
        let mut patches = VecDeque::new();
        for e in &rec.events {
            match e {
                Event::Start { state, pages, .. } => {
                    let state = unhex(state).unwrap_or_default();
                    apply(&mut vm, &state, &page_list(pages).unwrap_or_default())?;
                }
                Event::Patch { index, state, pages } => {
                    let state: std::sync::Arc<[u8]> = unhex(state).unwrap_or_default().into();
                    // applied later, where an error could only be dropped: checked now
                    Vm::check_state(&state)?;
                    let pages = page_list(pages)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(p, b)| {
                            let mut page = [0u8; PAGE_SIZE];
                            page.copy_from_slice(&b);
                            (p, std::sync::Arc::new(page))
                        })
                        .collect();
                    patches.push_back((*index, Patch { state, pages }));
                }
                _ => {}
            }
        }
        vm.log_inputs(true);
        Ok(Runner {
            vm,
            index: 0,
            patches,
            ended: None,
            pending: Vec::new(),
            digest_interval: rec.digest_interval,
            derive: false,
            inputs: 0,
            hashes: MemoryHashes::new(),
        })
    }

    /// Makes this runner produce `rng` and `sched` events as well: the
    /// values RNG_NEXT draws and the scheduler's switches, which follow from
    /// the start state and are not in files.
    pub fn deriving(mut self) -> Runner {
        self.derive = true;
        self
    }

    fn inputs_hash(&self) -> String {
        format!("{:016x}", self.inputs)
    }

    /// Runs at most `max` instructions (fewer at a digest point, a patch or
    /// the end); events go to `out`.  Program output goes to `output`.
    pub fn run(&mut self, max: u64, out: &mut Vec<Event>, output: &mut dyn Write) -> std::io::Result<()> {
        out.append(&mut self.pending);
        if self.ended.is_some() {
            return Ok(());
        }
        if let Some((at, _)) = self.patches.front() {
            if *at == self.index {
                let (_, p) = self.patches.pop_front().expect("front exists");
                let pages: Vec<(usize, Vec<u8>)> = p.pages.iter().map(|(i, b)| (*i, b.to_vec())).collect();
                // checked by Runner::new: a refused state cannot get here
                let _ = apply(&mut self.vm, &p.state, &pages);
                out.push(Event::Patch { index: self.index, state: hex(&p.state), pages: pages_hex(&pages) });
            }
        }
        let to_digest = self.digest_interval - self.index % self.digest_interval;
        let to_patch = self.patches.front().map_or(u64::MAX, |(at, _)| at.saturating_sub(self.index).max(1));
        // no more instructions than the VM's input log holds events (a draw
        // and a switch at most per instruction)
        let to_log = u64::from(crate::runtime::ffi::FLUX_INPUT_LOG / 2);
        let budget = max.min(to_digest).min(to_patch).min(to_log).max(1);
        let cycles = self.vm.regs().cycles;
        let stop = self.vm.run(budget);
        let before = self.index;
        self.index += stop.executed;
        let inputs = self.vm.take_inputs().0;
        for e in &inputs {
            let index = before + e.cycle.wrapping_sub(cycles);
            self.inputs = fold_input(self.inputs, index, e);
        }
        for e in inputs.into_iter().filter(|_| self.derive) {
            let index = before + e.cycle.wrapping_sub(cycles);
            out.push(match e.kind {
                InputKind::Rng => Event::Rng { index, pc: e.pc, value: e.value },
                InputKind::Sched => Event::Sched {
                    index,
                    pc: e.pc,
                    from: ((e.value >> 8) & 0xFF) as u32,
                    to: (e.value & 0xFF) as u32,
                    slice: e.value >> 32,
                },
            });
        }
        output.write_all(&self.vm.take_output())?;
        if stop.executed > 0 && self.index % self.digest_interval == 0 {
            out.push(Event::Digest { index: self.index, pc: self.vm.pc(), digest: self.hashes.digest(&mut self.vm), inputs: self.inputs_hash() });
        }
        if matches!(stop.kind, StopKind::Halted { .. } | StopKind::Fault { .. } | StopKind::Terminated { .. })
            && self.patches.front().is_none_or(|(at, _)| *at != self.index)
        {
            self.ended = Some(stop);
        }
        Ok(())
    }

    /// The end event: how the run ended, at `index`.
    pub fn end_event(&self) -> Event {
        let pc = self.ended.as_ref().map_or(self.vm.pc(), |s| s.pc);
        Event::End {
            index: self.index,
            pc,
            outcome: outcome_text(self.ended.as_ref()),
            digest: state_digest(&self.vm),
            inputs: self.inputs_hash(),
        }
    }
}

/// Folds an input event (at history index `index`) into the running hash of
/// a run's inputs: a multiply-rotate mix per field, cheap enough for one
/// event per instruction.
fn fold_input(mut h: u64, index: u64, e: &crate::runtime::vm::InputEvent) -> u64 {
    let kind = match e.kind {
        InputKind::Rng => 1,
        InputKind::Sched => 2,
    };
    for v in [index, u64::from(e.pc) | kind << 32, e.value] {
        h = (h ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(31);
    }
    h
}

fn pages_hex(pages: &[(usize, Vec<u8>)]) -> Vec<PageBytes> {
    pages.iter().map(|(p, b)| PageBytes { page: *p, bytes: hex(b) }).collect()
}

/// The start event of a run that begins where the program is loaded.
fn start_event(vm: &Vm, program: &[u8], config: VmConfig, index: u64) -> Result<Event, VmError> {
    let image = Vm::with_program(program, config)?.memory();
    let mem = vm.memory_view();
    let pages = (0..PAGES)
        .filter(|&p| mem[p * PAGE_SIZE..(p + 1) * PAGE_SIZE] != image[p * PAGE_SIZE..(p + 1) * PAGE_SIZE])
        .map(|p| (p, mem[p * PAGE_SIZE..(p + 1) * PAGE_SIZE].to_vec()))
        .collect::<Vec<_>>();
    Ok(Event::Start { index, state: hex(&vm.save_state()), pages: pages_hex(&pages) })
}

impl Recording {
    /// Runs `program` from its start to its end (or `limit` instructions),
    /// recording; its output goes to `output`.
    pub fn record_run(
        program: &[u8],
        config: VmConfig,
        schedule: Schedule,
        limit: Option<u64>,
        output: &mut dyn Write,
    ) -> Result<(Recording, Option<Stop>), ReplayError> {
        Recording::record_run_within(program, config, schedule, limit, None, output)
    }

    /// [`Self::record_run`] with the file kept to at most `max_bytes` when
    /// saved: when the digests would take it over, every other one is
    /// dropped and the interval doubles (the recording's `digest_interval`
    /// tells); a file of exactly `max_bytes` keeps them all.  The interval
    /// stops at [`MAX_DIGEST_INTERVAL`]: a limit that even that cannot meet
    /// gives a larger file.
    pub fn record_run_within(
        program: &[u8],
        config: VmConfig,
        schedule: Schedule,
        limit: Option<u64>,
        max_bytes: Option<u64>,
        output: &mut dyn Write,
    ) -> Result<(Recording, Option<Stop>), ReplayError> {
        let mut vm = Vm::with_program(program, config)?;
        vm.set_schedule(schedule);
        let start = start_event(&vm, program, config, 0)?;
        let mut rec = Recording {
            program: program.to_vec(),
            seed: config.seed,
            energy: config.energy,
            schedule,
            digest_interval: DIGEST_INTERVAL,
            events: vec![start],
        };
        let line_len = |e: &Event| serde_json::to_string(e).map_or(0, |l| l.len() as u64 + 1);
        let start_line = line_len(&rec.events[0]);
        // the header line: of 0 instructions (a lower bound) until the end
        let mut header = rec.header_len(0)?;
        // the lines of `events`
        let mut bytes = 0;
        let mut runner = Runner::new(&rec)?;
        let mut events = Vec::new();
        loop {
            let done = runner.ended.is_some() || limit.is_some_and(|l| runner.index >= l);
            if !done {
                let max = limit.map_or(u64::MAX, |l| l - runner.index);
                let seen = events.len();
                runner.run(max, &mut events, output).map_err(|source| ReplayError::Io { path: "<output>".into(), source })?;
                bytes += events[seen..].iter().map(line_len).sum::<u64>();
            }
            // the file's size: exact at the end; before it, a lower bound
            // (no end event yet), so that digests are spaced out only when
            // the file would be over the limit
            let instructions = if done { runner.index } else { 0 };
            let end = done.then(|| runner.end_event());
            let end_line = end.as_ref().map_or(0, line_len);
            if done {
                header = rec.header_len(instructions)?;
            }
            while max_bytes.is_some_and(|m| header + start_line + bytes + end_line + CHECKSUM_LINE_LEN > m)
                && runner.digest_interval < MAX_DIGEST_INTERVAL
            {
                let every = runner.digest_interval * 2;
                events.retain(|e| match e {
                    Event::Digest { index, .. } if index % every != 0 => {
                        bytes -= line_len(e);
                        false
                    }
                    _ => true,
                });
                runner.digest_interval = every;
                rec.digest_interval = every;
                header = rec.header_len(instructions)?;
                log::info!("record: digests every {every} instructions from here, to keep the file under its limit");
            }
            if let Some(end) = end {
                events.push(end);
                break;
            }
        }
        rec.events.extend(events);
        Ok((rec, runner.ended))
    }

    /// The recording of a history kept by the stub: its start state, its
    /// patches, and the events of re-executing it to its end.
    /// A history whose record limit dropped its oldest part starts where it
    /// now begins: that is instruction 0 of the file.
    pub fn from_history(program: &Program, config: VmConfig, schedule: Schedule, history: &History) -> Result<Recording, ReplayError> {
        let first = &history.checkpoints()[0];
        let begin = first.index;
        let mut vm = Vm::with_program(&program.bytes, config)?;
        vm.set_schedule(schedule);
        let pages: Vec<(usize, Vec<u8>)> = first.pages.iter().enumerate().map(|(p, b)| (p, b.to_vec())).collect();
        apply(&mut vm, &crate::analysis::history::state_bytes(&first.state), &pages)?;
        let start = start_event(&vm, &program.bytes, config, 0)?;
        let mut rec = Recording {
            program: program.bytes.clone(),
            seed: config.seed,
            energy: config.energy,
            schedule,
            digest_interval: DIGEST_INTERVAL,
            events: vec![start],
        };
        for cp in history.checkpoints() {
            if let Some(p) = &cp.patch {
                let pages: Vec<(usize, Vec<u8>)> = p.pages.iter().map(|(i, b)| (*i, b.to_vec())).collect();
                rec.events.push(Event::Patch { index: cp.index - begin, state: hex(&p.state), pages: pages_hex(&pages) });
            }
        }
        let mut runner = Runner::new(&rec)?;
        rec.events.retain(|e| matches!(e, Event::Start { .. }));
        let mut events = Vec::new();
        let end = history.end() - begin;
        while runner.ended.is_none() && runner.index < end {
            runner
                .run(end - runner.index, &mut events, &mut std::io::sink())
                .map_err(|source| ReplayError::Io { path: "<output>".into(), source })?;
        }
        events.push(runner.end_event());
        rec.events.extend(events);
        Ok(rec)
    }

    /// What gdb changed during the recording: (index, machine state, pages).
    pub fn patches(&self) -> Vec<(u64, Vec<u8>, Vec<(usize, Vec<u8>)>)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Patch { index, state, pages } => Some((*index, unhex(state)?, page_list(pages)?)),
                _ => None,
            })
            .collect()
    }

    /// Instructions recorded.
    pub fn instructions(&self) -> u64 {
        self.events.last().map_or(0, |e| e.index())
    }

    fn header(&self, instructions: u64) -> Result<Header, VmError> {
        Ok(Header {
            format: FORMAT.into(),
            version: VERSION,
            program_sha256: program_hash(&self.program),
            program: hex(&self.program),
            seed: self.seed,
            energy: self.energy,
            schedule: self.schedule,
            state_size: Vm::state_size(),
            instructions,
            digest_interval: self.digest_interval,
        })
    }

    /// The length of the header line for a recording of `instructions`.
    fn header_len(&self, instructions: u64) -> Result<u64, VmError> {
        Ok(serde_json::to_string(&self.header(instructions)?).map_or(0, |l| l.len() as u64 + 1))
    }

    pub fn save(&self, path: &Path) -> Result<(), ReplayError> {
        let io = |source| ReplayError::Io { path: path.display().to_string(), source };
        let body = self.to_bytes()?;
        let mut f = std::fs::File::create(path).map_err(io)?;
        f.write_all(&body).map_err(io)?;
        f.flush().map_err(io)
    }

    /// The replay file's bytes (what [`Recording::save`] writes).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ReplayError> {
        let header = self.header(self.instructions())?;
        let mut body = Vec::new();
        let line = |body: &mut Vec<u8>, v: String| {
            body.extend_from_slice(v.as_bytes());
            body.push(b'\n');
        };
        line(&mut body, serde_json::to_string(&header).expect("plain data serializes"));
        for e in &self.events {
            line(&mut body, serde_json::to_string(e).expect("plain data serializes"));
        }
        let sum = xxhash_rust::xxh3::xxh3_64(&body);
        line(&mut body, format!("{{\"checksum\":\"{sum:016x}\"}}"));
        Ok(body)
    }

    /// Reads and checks a replay file: format, version, checksum, program
    /// hash, machine state size, each event's fields.
    pub fn load(path: &Path) -> Result<Recording, ReplayError> {
        let p = path.display().to_string();
        // a regular file only (a FIFO or a device is refused before it is read)
        let data = crate::program::load::read_regular(path, u64::MAX).map_err(|error| ReplayError::Read { path: p.clone(), error })?;
        Recording::parse(&data, &p)
    }

    /// Checks and reads the bytes of a replay file (`name` is for messages).
    pub fn parse(data: &[u8], name: &str) -> Result<Recording, ReplayError> {
        let p = name.to_string();
        let damaged = |line: usize, reason: String| ReplayError::Damaged { path: p.clone(), line, reason };
        if data.is_empty() {
            return Err(ReplayError::Truncated { path: p });
        }
        // the header first: a wrong format or version is told as such
        let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
        let hv: serde_json::Value = serde_json::from_slice(first).map_err(|_| ReplayError::Format {
            path: p.clone(),
            found: String::from_utf8_lossy(&first[..first.len().min(20)]).into_owned(),
        })?;
        let format = hv.get("format").and_then(|f| f.as_str()).unwrap_or("").to_owned();
        if format != FORMAT {
            return Err(ReplayError::Format { path: p, found: format });
        }
        let version = hv.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(VERSION) {
            return Err(ReplayError::Version { path: p, found: version.min(u64::from(u32::MAX)) as u32 });
        }
        // the checksum line is the last one; it covers every byte before it
        let body_end = match data.strip_suffix(b"\n").and_then(|d| d.iter().rposition(|&b| b == b'\n')) {
            Some(i) => i + 1,
            None => return Err(ReplayError::Truncated { path: p }),
        };
        let stored = serde_json::from_slice::<serde_json::Value>(&data[body_end..])
            .ok()
            .and_then(|v| v.get("checksum").and_then(|c| c.as_str()).map(str::to_owned));
        let Some(stored) = stored else {
            return Err(ReplayError::Truncated { path: p });
        };
        let computed = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&data[..body_end]));
        if stored != computed {
            return Err(ReplayError::Checksum { path: p, stored, computed });
        }
        let mut lines = data[..body_end].lines().enumerate();
        lines.next();
        let header: Header = serde_json::from_value(hv).map_err(|e| damaged(1, format!("header: {e}")))?;
        let program = unhex(&header.program).ok_or_else(|| damaged(1, "program: not hex".into()))?;
        if program.len() > MEM_SIZE as usize {
            return Err(damaged(1, format!("program of {} bytes is larger than memory", program.len())));
        }
        if program_hash(&program) != header.program_sha256 {
            return Err(ReplayError::ProgramHash { path: p });
        }
        if !header.digest_interval.is_power_of_two() || !(DIGEST_INTERVAL..=MAX_DIGEST_INTERVAL).contains(&header.digest_interval) {
            return Err(damaged(1, format!("digest interval {}: not a power of two from {DIGEST_INTERVAL} to {MAX_DIGEST_INTERVAL}", header.digest_interval)));
        }
        let ours = Vm::state_size();
        if header.state_size != ours {
            return Err(ReplayError::StateSize { path: p, found: header.state_size, ours });
        }
        let mut events = Vec::new();
        let mut last_index = 0u64;
        for (i, l) in lines {
            let n = i + 1;
            let l = l.map_err(|e| damaged(n, e.to_string()))?;
            let e: Event = serde_json::from_str(&l).map_err(|e| damaged(n, format!("event: {e}")))?;
            if e.index() < last_index {
                return Err(damaged(n, format!("event at instruction {} after one at {last_index}", e.index())));
            }
            last_index = e.index();
            match &e {
                Event::Start { state, pages, .. } | Event::Patch { state, pages, .. } => {
                    let Some(bytes) = unhex(state).filter(|s| s.len() == ours) else {
                        return Err(damaged(n, "machine state: wrong size or not hex".into()));
                    };
                    // runtime-c's checks, field by field: a state that would
                    // put the interpreter outside its buffers never loads
                    if let Err(why) = Vm::check_state(&bytes) {
                        let what = if matches!(e, Event::Start { .. }) { "start" } else { "patch" };
                        return Err(damaged(n, format!("{what} event: {why}")));
                    }
                    if page_list(pages).is_none() {
                        return Err(damaged(n, "a page is not 256 hex bytes or lies outside memory".into()));
                    }
                    if matches!(e, Event::Start { .. }) != events.is_empty() {
                        return Err(damaged(n, "the start event must come first, once".into()));
                    }
                }
                _ if events.is_empty() => return Err(damaged(n, "the first event must be the start".into())),
                Event::Rng { .. } | Event::Sched { .. } => {
                    return Err(damaged(n, "rng and sched events are derived, not stored".into()))
                }
                _ => {}
            }
            events.push(e);
        }
        if !matches!(events.last(), Some(Event::End { .. })) {
            return Err(damaged(body_end, "no end event".into()));
        }
        Ok(Recording {
            program,
            seed: header.seed,
            energy: header.energy,
            schedule: header.schedule,
            digest_interval: header.digest_interval,
            events,
        })
    }

    /// Checks that `program` is the one recorded.
    pub fn check_program(&self, path: &Path, given: &str, program: &[u8]) -> Result<(), ReplayError> {
        if program != self.program.as_slice() {
            return Err(ReplayError::ProgramMismatch {
                path: path.display().to_string(),
                given: given.into(),
                recorded: program_hash(&self.program),
            });
        }
        Ok(())
    }

    /// Re-executes the recording and checks that it makes the same events.
    /// Events are compared as they come, so a file cannot make this run
    /// further than its own events (a digest every 65,536 instructions) reach.
    pub fn verify(&self) -> Result<(), ReplayError> {
        let mut runner = Runner::new(self)?;
        let end = self.instructions();
        let mut events: Vec<Event> = self.events.iter().filter(|e| matches!(e, Event::Start { .. })).cloned().collect();
        let show = |e: Option<&Event>| e.map_or("nothing".to_string(), Event::summary);
        while runner.ended.is_none() && runner.index < end {
            let checked = events.len();
            runner.run(end - runner.index, &mut events, &mut std::io::sink()).map_err(|source| ReplayError::Io { path: "<output>".into(), source })?;
            if let Some(k) = (checked..events.len()).find(|&k| self.events.get(k) != events.get(k)) {
                return Err(ReplayError::Diverged { event_index: k, expected: show(self.events.get(k)), actual: show(events.get(k)) });
            }
        }
        events.push(runner.end_event());
        if let Some(k) = first_unequal(&self.events, &events) {
            return Err(ReplayError::Diverged { event_index: k, expected: show(self.events.get(k)), actual: show(events.get(k)) });
        }
        Ok(())
    }
}

/// Where two recordings stop agreeing: the crate's one divergence type,
/// with `position` the first event of the files that differs, `expected`
/// and `actual` the events shown (in words), and the [`RunDetail`].
pub type Divergence = crate::analysis::divergence::Divergence<String, RunDetail>;

/// What re-executing two recordings says about where they part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDetail {
    pub instruction_index: u64,
    pub pc: u32,
    /// The instruction there, disassembled.
    pub instruction: String,
    /// The last events both agree on (up to [`CONTEXT`]).
    pub context: Vec<String>,
    pub expected_seed: u64,
    pub actual_seed: u64,
    pub expected_program_sha256: String,
    pub actual_program_sha256: String,
}

/// The first divergence of `actual` from `expected`, or None when they agree.
///
/// The start states are compared first, field by field (a difference there
/// is a divergence at event 0).  Then events are compared in order; at the
/// first that differs, both runs are re-executed in lockstep from the last
/// digest they agreed on, and the first instruction after which registers or
/// memory differ is the divergent one.  `expected` and `actual` are then the
/// first events of the two runs that differ, the derived `rng` and `sched`
/// events included (re-executed from that digest), so that a divergence says
/// which value or which switch parted them; `event_index` is the first event
/// of the files that differs.  Recordings that do not verify
/// (`Recording::verify`) give no meaningful answer: check them first.
pub fn diff(expected: &Recording, actual: &Recording) -> Result<Option<Divergence>, ReplayError> {
    if let Some((exp, act)) = start_difference(expected, actual)? {
        let start = Runner::new(expected)?;
        let pc = start.vm.pc();
        let instruction_index = expected.events.first().map_or(0, Event::index);
        let instruction = crate::program::disasm::instruction_at(&start.vm, pc);
        let detail = RunDetail::new(expected, actual, instruction_index, pc, instruction, Vec::new());
        return Ok(Some(Divergence { position: 0, expected: exp, actual: act, detail }));
    }
    // the start events were compared above
    let (ee, ae) = (&expected.events, &actual.events);
    let Some(k) = first_difference(ee.len(), ae.len(), |k| match (ee.get(k), ae.get(k)) {
        (Some(Event::Start { .. }), Some(Event::Start { .. })) => true,
        (a, b) => a == b,
    }) else {
        return Ok(None);
    };
    let show = |e: Option<&Event>| e.map_or("nothing (the recording ends before)".to_string(), Event::summary);
    let from = expected.events[..k]
        .iter()
        .rev()
        .find_map(|e| if let Event::Digest { index, .. } = e { Some(*index) } else { None })
        .unwrap_or(0);
    let until = [expected.events.get(k), actual.events.get(k)].iter().flatten().map(|e| e.index()).min().unwrap_or(from);
    let limit = expected.instructions().max(actual.instructions());
    let (instruction_index, pc) = lockstep(expected, actual, from, until, limit)?;
    let instruction = {
        let mut vm = Runner::new(expected)?;
        let mut sink = Vec::new();
        while vm.index < instruction_index && vm.ended.is_none() {
            vm.run(instruction_index - vm.index, &mut sink, &mut std::io::sink()).ok();
            sink.clear();
        }
        crate::program::disasm::instruction_at(&vm.vm, pc)
    };
    // patches from `from` on are made again by the re-execution
    let head = expected.events[..k].iter().filter(|e| e.index() < from || !matches!(e, Event::Patch { .. }));
    let (shown_expected, shown_actual, context) = match derived_divergence(expected, actual, from, until)? {
        Some((x, y, agreed)) => {
            let context: Vec<&Event> = head.chain(agreed.iter()).collect();
            let context = context[context.len().saturating_sub(CONTEXT)..].iter().map(|e| e.summary()).collect();
            (show(x.as_ref()), show(y.as_ref()), context)
        }
        None => {
            let context = expected.events[k.saturating_sub(CONTEXT)..k].iter().map(Event::summary).collect();
            (show(expected.events.get(k)), show(actual.events.get(k)), context)
        }
    };
    let detail = RunDetail::new(expected, actual, instruction_index, pc, instruction, context);
    Ok(Some(Divergence { position: k, expected: shown_expected, actual: shown_actual, detail }))
}

impl RunDetail {
    fn new(expected: &Recording, actual: &Recording, instruction_index: u64, pc: u32, instruction: String, context: Vec<String>) -> RunDetail {
        RunDetail {
            instruction_index,
            pc,
            instruction,
            context,
            expected_seed: expected.seed,
            actual_seed: actual.seed,
            expected_program_sha256: program_hash(&expected.program),
            actual_program_sha256: program_hash(&actual.program),
        }
    }
}

/// The first events of the two runs in (`from`, `until`] that differ, with
/// `rng` and `sched` events derived by re-executing both from `from`, and
/// the events before them both agree on (up to [`CONTEXT`]); None when all
/// agree there.
type DerivedDivergence = (Option<Event>, Option<Event>, VecDeque<Event>);

fn derived_divergence(a: &Recording, b: &Recording, from: u64, until: u64) -> Result<Option<DerivedDivergence>, ReplayError> {
    let mut ra = Runner::new(a)?.deriving();
    let mut rb = Runner::new(b)?.deriving();
    let mut sink = Vec::new();
    for r in [&mut ra, &mut rb] {
        while r.index < from && r.ended.is_none() {
            r.run(from - r.index, &mut sink, &mut std::io::sink()).ok();
            sink.clear();
        }
    }
    let (mut qa, mut qb) = (VecDeque::new(), VecDeque::new());
    let mut agreed = VecDeque::new();
    loop {
        let mut progressed = false;
        for (r, q) in [(&mut ra, &mut qa), (&mut rb, &mut qb)] {
            if r.ended.is_none() && r.index < until {
                let before = r.index;
                r.run(until - r.index, &mut sink, &mut std::io::sink()).ok();
                q.extend(sink.drain(..).filter(|e| !matches!(e, Event::Start { .. } | Event::End { .. })));
                progressed |= r.index > before;
            }
        }
        while let (Some(x), Some(y)) = (qa.front(), qb.front()) {
            if x != y {
                return Ok(Some((qa.pop_front(), qb.pop_front(), agreed)));
            }
            qb.pop_front();
            agreed.extend(qa.pop_front());
            if agreed.len() > CONTEXT {
                agreed.pop_front();
            }
        }
        if !progressed {
            break;
        }
    }
    // one run made an event the other did not
    if qa.front().or(qb.front()).is_some() {
        return Ok(Some((qa.pop_front(), qb.pop_front(), agreed)));
    }
    Ok(None)
}

/// Fields of a start difference shown (the rest are counted).
const START_FIELDS_SHOWN: usize = 8;

/// How the start events of two recordings differ, as (expected's side,
/// actual's side): every field of the machine state, and memory as each
/// recording changed it from its own program's image.  The generators'
/// states (`rng`, `sched_rng`, and PCT's `prio`, `pct_at`, `pct_low`) are derived from the seed: with two seeds they
/// differ by design, and what they draw is compared as the rng and sched events.
fn start_difference(expected: &Recording, actual: &Recording) -> Result<Option<(String, String)>, ReplayError> {
    let (Some(Event::Start { index: ia, state: sa, .. }), Some(Event::Start { index: ib, state: sb, .. })) =
        (expected.events.first(), actual.events.first())
    else {
        return Ok(None);
    };
    let (a, b) = (unhex(sa).unwrap_or_default(), unhex(sb).unwrap_or_default());
    // PCT's priorities and change points are drawn from the seed as well
    let skip: &[&str] = if expected.seed != actual.seed { &["rng", "sched_rng", "pct_at", "pct_low", "prio"] } else { &[] };
    let mut diffs = crate::runtime::machine_state::differences(&a, &b, skip);
    if ia != ib {
        diffs.insert(0, ("index".into(), ia.to_string(), ib.to_string()));
    }
    // memory: what each start changed in its own program's image
    let memory = |r: &Recording| -> Result<(Vec<u8>, Vec<u8>), ReplayError> {
        let image = Vm::with_program(&r.program, VmConfig { energy: r.energy, seed: r.seed })?.memory().to_vec();
        Ok((Runner::new(r)?.vm.memory().to_vec(), image))
    };
    let ((ma, ima), (mb, imb)) = (memory(expected)?, memory(actual)?);
    let differs: Vec<usize> = (0..ma.len()).filter(|&i| ma[i] ^ ima[i] != mb[i] ^ imb[i]).collect();
    if let Some(&first) = differs.first() {
        let more = if differs.len() > 1 { format!(" ({} bytes differ)", differs.len()) } else { String::new() };
        diffs.push((format!("memory[0x{first:04X}]"), format!("0x{:02X}{more}", ma[first]), format!("0x{:02X}{more}", mb[first])));
    }
    if diffs.is_empty() {
        return Ok(None);
    }
    let side = |pick: fn(&(String, String, String)) -> &String| {
        let mut parts: Vec<String> = diffs.iter().take(START_FIELDS_SHOWN).map(|d| format!("{} = {}", d.0, pick(d))).collect();
        if diffs.len() > START_FIELDS_SHOWN {
            parts.push(format!("and {} more fields", diffs.len() - START_FIELDS_SHOWN));
        }
        format!("start: {}", parts.join(", "))
    };
    Ok(Some((side(|d| &d.1), side(|d| &d.2))))
}

/// Runs both recordings to `from`, then one instruction at a time up to
/// `limit`: the index and pc of the first instruction after which they
/// differ (or `until` and the pc there when they never do).
fn lockstep(a: &Recording, b: &Recording, from: u64, until: u64, limit: u64) -> Result<(u64, u32), ReplayError> {
    let mut ra = Runner::new(a)?;
    let mut rb = Runner::new(b)?;
    let mut sink = Vec::new();
    for r in [&mut ra, &mut rb] {
        while r.index < from && r.ended.is_none() {
            r.run(from - r.index, &mut sink, &mut std::io::sink()).ok();
            sink.clear();
        }
    }
    // memory may differ from the start (two programs): an instruction
    // diverges when it changes how the two differ.  Only the pages the
    // instruction wrote need a look.
    let page = |r: &Runner, p: usize| {
        let mut b = [0u8; PAGE_SIZE];
        let _ = r.vm.read_mem((p * PAGE_SIZE) as u32, &mut b);
        b
    };
    let xor_page = |ra: &Runner, rb: &Runner, p: usize| -> [u8; PAGE_SIZE] {
        let (x, y) = (page(ra, p), page(rb, p));
        std::array::from_fn(|i| x[i] ^ y[i])
    };
    let base: Vec<[u8; PAGE_SIZE]> = (0..PAGES).map(|p| xor_page(&ra, &rb, p)).collect();
    let regs = |r: &Runner| {
        let x = r.vm.regs();
        (x.r, x.conf.map(f32::to_bits), x.pc, x.sp, x.fp, x.flags, x.energy, x.cycles)
    };
    if regs(&ra) != regs(&rb) {
        return Ok((ra.index, ra.vm.pc()));
    }
    ra.vm.take_dirty_pages();
    rb.vm.take_dirty_pages();
    // no further than the recordings reach: two programs that never end and
    // never part would otherwise keep this going
    while ra.ended.is_none() && rb.ended.is_none() && ra.index < limit {
        let (index, pc) = (ra.index, ra.vm.pc());
        ra.run(1, &mut sink, &mut std::io::sink()).ok();
        rb.run(1, &mut sink, &mut std::io::sink()).ok();
        sink.clear();
        let (da, db) = (ra.vm.take_dirty_pages(), rb.vm.take_dirty_pages());
        let memory_differs = (0..PAGES).any(|p| (da[p] || db[p]) && xor_page(&ra, &rb, p) != base[p]);
        if memory_differs || regs(&ra) != regs(&rb) || ra.index != rb.index || ra.ended.is_some() != rb.ended.is_some() {
            return Ok((index, pc));
        }
        if ra.index == index {
            break; // no progress: both stopped the same way
        }
    }
    Ok((until, ra.vm.pc()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::vm::Schedule;

    fn small_recording() -> Vec<u8> {
        let program = crate::program::asm::assemble("LOAD_IMM r3, 3\nd: RNG_NEXT r1\nLOOP r3, d\nHALT\n").unwrap().bytes;
        let (rec, _) = Recording::record_run(&program, VmConfig::default(), Schedule::default(), None, &mut std::io::sink()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.replay");
        rec.save(&path).unwrap();
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn kept_page_hashes_give_the_digest_of_the_whole_state() {
        // stores walk 0x8000.. a page at a time (with the byte written
        // varying), fib's stack grows and shrinks: a page hash not re-hashed
        // after a write gives another digest
        let walker = "LOAD_IMM r3, 3000\nLOAD_IMM r2, 0x8000\nb: ADDI r2, 200\nANDI r2, 0x7FFF\nORI r2, 0x8000\nSTORE r3, r2\nLOOP r3, b\nHALT\n";
        for src in [walker, include_str!("../../examples/fibonacci.fasm")] {
            let program = crate::program::asm::assemble(src).unwrap().bytes;
            let mut vm = Vm::with_program(&program, VmConfig::default()).unwrap();
            let mut hashes = MemoryHashes::new();
            let mut digests = std::collections::HashSet::new();
            for round in 0u32.. {
                let stop = vm.run(97);
                // whoever else takes the page and line marks does not
                // change which pages the hashes see written
                if round % 3 == 0 {
                    vm.take_dirty_pages();
                }
                if round % 5 == 0 {
                    vm.take_dirty_lines();
                }
                // nor a write by the debugger
                if round % 7 == 0 {
                    vm.write_mem(0xF000 + round % 64 * 16, &round.to_le_bytes()).unwrap();
                }
                let d = hashes.digest(&mut vm);
                assert_eq!(d, state_digest(&vm), "after round {round}");
                digests.insert(d);
                if !matches!(stop.kind, StopKind::Budget) {
                    break;
                }
            }
            assert!(digests.len() > 100, "the state changed: {} digests", digests.len());
        }
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte_and_reads_back() {
        assert_eq!(hex(&[0x00, 0x0F, 0xF0, 0xFF, 0xA5]), "000ff0ffa5");
        let all: Vec<u8> = (0..=255).collect();
        let text = hex(&all);
        assert_eq!(text, all.iter().map(|b| format!("{b:02x}")).collect::<String>());
        assert_eq!(unhex(&text), Some(all));
    }

    // A file whose program is larger than memory is refused at its header,
    // with its size, whatever else it holds (its hash and checksum agree):
    // one byte over, and the largest program memory holds is read.
    #[test]
    fn a_program_larger_than_memory_is_refused_at_the_header() {
        let program = crate::program::asm::assemble("HALT\n").unwrap().bytes;
        let (mut rec, _) = Recording::record_run(&program, VmConfig::default(), Schedule::default(), None, &mut std::io::sink()).unwrap();
        for (len, refused) in [(MEM_SIZE as usize + 1, true), (MEM_SIZE as usize, false), (2 * MEM_SIZE as usize, true)] {
            rec.program = program.iter().copied().chain(std::iter::repeat(0)).take(len).collect();
            let got = Recording::parse(&rec.to_bytes().unwrap(), "big.replay");
            if refused {
                let want = format!("big.replay:1: program of {len} bytes is larger than memory");
                assert_eq!(got.map(|_| ()).unwrap_err().to_string(), want);
            } else {
                assert_eq!(got.unwrap().program.len(), len);
            }
        }
    }

    // Two runs that part at a draw 40,001 instructions in, with no digest
    // before it: the diff re-executes both as far as the draw (more than one
    // stretch of the runner, whose runs stop every 32,768 instructions for
    // the VM's input log) and shows the two draws, not the two ends.
    #[test]
    fn a_diff_finds_a_late_draw_by_re_executing_both_runs() {
        let program = crate::program::asm::assemble("LOAD_IMM r3, 40000\nw: LOOP r3, w\nRNG_NEXT r1\nHALT\n").unwrap().bytes;
        let record = |seed| {
            let config = VmConfig { seed, ..VmConfig::default() };
            Recording::record_run(&program, config, Schedule::default(), None, &mut std::io::sink()).unwrap().0
        };
        let (a, b) = (record(1), record(2));
        assert!(!a.events.iter().any(|e| matches!(e, Event::Digest { .. })));
        let d = diff(&a, &b).unwrap().expect("the seeds draw different numbers");
        let draw = "at instruction 40001, pc 0x000A";
        assert!(d.expected.starts_with("rng 0x") && d.expected.ends_with(draw), "{}", d.expected);
        assert!(d.actual.starts_with("rng 0x") && d.actual.ends_with(draw), "{}", d.actual);
        assert_ne!(d.expected, d.actual);
        assert_eq!((d.detail.instruction_index, d.detail.pc), (40001, 0x0A));
    }

    // Two programs alike up to where the first ends (HALT at instruction
    // 40,001: its end is at 40,002, past the runner's first stretch of
    // 32,768 instructions).  The diff derives draws only as far as that end:
    // a draw by the second at instruction 40,001 is the first difference
    // shown; one at 40,002, after the first run ended, is not (the second
    // stretch stops at the end, not at the next digest), and the two end
    // events are shown.
    #[test]
    fn a_diff_derives_draws_no_further_than_the_earlier_end() {
        let record = |src: &str| {
            let program = crate::program::asm::assemble(src).unwrap().bytes;
            Recording::record_run(&program, VmConfig::default(), Schedule::default(), None, &mut std::io::sink()).unwrap().0
        };
        // LOAD_IMM at 0x00 (6 bytes), LOOP at 0x06 (4), then 0x0A
        let halts = record("LOAD_IMM r3, 40000\nw: LOOP r3, w\nHALT\n");
        let draws = record("LOAD_IMM r3, 40000\nw: LOOP r3, w\nRNG_NEXT r1\nHALT\n");
        let draws_later = record("LOAD_IMM r3, 40000\nw: LOOP r3, w\nNOP\nRNG_NEXT r1\nHALT\n");
        assert_eq!([&halts, &draws, &draws_later].map(Recording::instructions), [40_002, 40_003, 40_004]);
        let d = diff(&halts, &draws).unwrap().expect("the runs end apart");
        assert_eq!(d.position, 1);
        assert_eq!(d.expected, "nothing (the recording ends before)");
        assert!(d.actual.starts_with("rng 0x") && d.actual.ends_with(" at instruction 40001, pc 0x000A"), "{}", d.actual);
        assert_eq!((d.detail.instruction_index, d.detail.pc), (40_001, 0x0A));
        let d = diff(&halts, &draws_later).unwrap().expect("the runs end apart");
        assert_eq!(d.position, 1);
        assert_eq!(d.expected, halts.events[1].summary());
        assert_eq!(d.actual, draws_later.events[1].summary());
        assert!(d.expected.starts_with("end at instruction 40002, pc 0x000A: ") && d.actual.starts_with("end at instruction 40004, pc 0x000D: "), "{d:?}");
        assert_eq!((d.detail.instruction_index, d.detail.pc), (40_001, 0x0A));
    }

    // Two agents drawing in 8 of every 9 instructions under chaos with
    // slices of 1 (a switch at most every instruction): more input events
    // than instructions.  The runner drains the VM's input log often enough
    // that none is lost: every draw is derived again.
    #[test]
    fn dense_draws_and_switches_are_all_derived() {
        let draws = "RNG_NEXT r1\n".repeat(8);
        let src = format!(
            "SPAWN child\nLOAD_IMM r3, 5000\nd: {draws}LOOP r3, d\nJOIN r0\nHALT\nchild: LOAD_IMM r3, 5000\nc: {draws}LOOP r3, c\nHALT\n"
        );
        let program = crate::program::asm::assemble(&src).unwrap().bytes;
        let schedule = Schedule::new(crate::runtime::vm::SchedKind::Chaos, 1);
        let (rec, _) = Recording::record_run(&program, VmConfig::default(), schedule, None, &mut std::io::sink()).unwrap();
        let mut r = Runner::new(&rec).unwrap().deriving();
        let mut events = Vec::new();
        while r.ended.is_none() {
            r.run(u64::MAX, &mut events, &mut std::io::sink()).unwrap();
        }
        let count = |f: fn(&Event) -> bool| events.iter().filter(|e| f(e)).count() as u64;
        assert_eq!(count(|e| matches!(e, Event::Rng { .. })), 2 * 5000 * 8);
        assert!(count(|e| matches!(e, Event::Sched { .. })) + 80_000 > r.index, "more events than instructions");
        rec.verify().unwrap();
    }

    // Two starts that differ in more fields than a diff shows (8): the rest
    // are counted; in exactly 8, nothing is said of more.
    #[test]
    fn a_start_that_differs_in_many_fields_counts_the_ones_not_shown() {
        let program = crate::program::asm::assemble("LOAD_IMM r1, 1\nHALT\n").unwrap().bytes;
        let (a, _) = Recording::record_run(&program, VmConfig::default(), Schedule::default(), None, &mut std::io::sink()).unwrap();
        let with_registers = |n: u64| {
            let mut b = a.clone();
            let Some(Event::Start { state, .. }) = b.events.first_mut() else { panic!("no start event") };
            let mut s = unhex(state).unwrap();
            for k in 0..n {
                crate::runtime::machine_state::set(&mut s, &format!("r[{k}]"), 100 + k);
            }
            *state = hex(&s);
            b
        };
        let d = diff(&a, &with_registers(10)).unwrap().expect("the starts differ");
        assert!(d.expected.starts_with("start: r[0] = 0, r[1] = 0, "), "{}", d.expected);
        assert!(d.expected.ends_with(", r[7] = 0, and 2 more fields"), "{}", d.expected);
        assert!(d.actual.ends_with(", r[7] = 107, and 2 more fields"), "{}", d.actual);
        let d = diff(&a, &with_registers(8)).unwrap().expect("the starts differ");
        assert!(d.actual.ends_with(", r[7] = 107"), "{}", d.actual);
    }

    // A history that ends before the program does (gdb stopped it 40,000
    // instructions in) saves as a file of exactly those instructions, though
    // the runner makes it in several runs (every 32,768 instructions).
    #[test]
    fn a_file_of_a_history_ends_where_the_history_ends() {
        let bytes = crate::program::asm::assemble(include_str!("../../examples/fibonacci.fasm")).unwrap().bytes;
        let program = crate::program::load::Program::from_bytes("fib.fasm".into(), bytes.clone());
        let mut vm = Vm::with_program(&bytes, VmConfig::default()).unwrap();
        let mut h = crate::analysis::history::History::start(&mut vm).unwrap();
        while h.now() < 40_000 {
            let stop = vm.run(h.run_budget(40_000 - h.now()));
            vm.take_output();
            h.after_run(&mut vm, &stop);
            assert!(!vm.finished(), "fib runs past 40,000 instructions");
        }
        assert_eq!(h.end(), 40_000);
        let rec = Recording::from_history(&program, VmConfig::default(), Schedule::default(), &h).unwrap();
        assert_eq!(rec.instructions(), 40_000);
        assert!(matches!(rec.events.last(), Some(Event::End { index: 40_000, .. })));
        rec.verify().unwrap();
    }

    // A size limit keeps the file under it by keeping digests further
    // apart; the file still loads and replays exactly.
    #[test]
    fn a_size_limit_spaces_the_digests_out() {
        let program = crate::program::asm::assemble("LOAD_IMM r3, 1000000\nd: RNG_NEXT r1\nLOOP r3, d\nHALT\n").unwrap().bytes;
        let record = |max| Recording::record_run_within(&program, VmConfig::default(), Schedule::default(), None, max, &mut std::io::sink());
        let (free, _) = record(None).unwrap();
        assert_eq!(free.digest_interval, DIGEST_INTERVAL);
        assert_eq!(free.events.iter().filter(|e| matches!(e, Event::Digest { .. })).count(), 30); // 2,000,002 instructions
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("free.replay");
        free.save(&path).unwrap();
        let full = std::fs::metadata(&path).unwrap().len();
        let limit = full - 1000;
        let (rec, _) = record(Some(limit)).unwrap();
        assert_eq!(rec.digest_interval, 2 * DIGEST_INTERVAL, "1,000 bytes fewer: every other digest kept");
        assert_eq!(rec.events.iter().filter(|e| matches!(e, Event::Digest { .. })).count(), 15);
        let path = dir.path().join("limited.replay");
        rec.save(&path).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() <= limit);
        let loaded = Recording::load(&path).unwrap();
        assert_eq!(loaded, rec);
        loaded.verify().unwrap();
        // the end agrees with the unlimited recording's: same values drawn
        assert_eq!(rec.events.last(), free.events.last());
    }

    // The limit is at most: a limit of exactly the unlimited file's size
    // keeps every digest (the same recording, byte for byte), one byte less
    // keeps every other one, and that file is within it; and so on, one
    // doubling of the interval for each step.
    #[test]
    fn a_limit_of_exactly_the_files_size_keeps_every_digest() {
        // 400,002 instructions: digests at 65,536 x 1..6
        let program = crate::program::asm::assemble("LOAD_IMM r3, 200000\nd: RNG_NEXT r1\nLOOP r3, d\nHALT\n").unwrap().bytes;
        let record = |max| Recording::record_run_within(&program, VmConfig::default(), Schedule::default(), None, max, &mut std::io::sink());
        let digests = |r: &Recording| r.events.iter().filter_map(|e| matches!(e, Event::Digest { .. }).then(|| e.index() / DIGEST_INTERVAL)).collect::<Vec<_>>();
        let (mut rec, _) = record(None).unwrap();
        assert_eq!(digests(&rec), [1, 2, 3, 4, 5, 6]);
        for (every, kept) in [(2, vec![2, 4, 6]), (4, vec![4]), (8, vec![])] {
            let size = rec.to_bytes().unwrap().len() as u64;
            let (exact, _) = record(Some(size)).unwrap();
            assert!(exact == rec, "a limit of the file's size ({size} bytes) changed the recording");
            assert_eq!(exact.to_bytes().unwrap().len() as u64, size);
            let (under, _) = record(Some(size - 1)).unwrap();
            assert_eq!(under.digest_interval, every * DIGEST_INTERVAL);
            assert_eq!(digests(&under), kept);
            let bytes = under.to_bytes().unwrap();
            assert!(bytes.len() as u64 <= size - 1, "{} bytes", bytes.len());
            assert_eq!(Recording::parse(&bytes, "under").unwrap(), under);
            rec = under;
        }
    }

    // A size limit no file of the run can meet (its start event alone is
    // larger) spaces the digests out as far as a file may have them, and no
    // further: the file still loads and replays.
    #[test]
    fn a_limit_below_the_smallest_file_gives_the_longest_interval() {
        let draws = crate::program::asm::assemble("LOAD_IMM r3, 40000\nd: RNG_NEXT r1\nLOOP r3, d\nHALT\n").unwrap().bytes;
        let (rec, _) = Recording::record_run_within(&draws, VmConfig::default(), Schedule::default(), None, Some(1000), &mut std::io::sink()).unwrap();
        assert_eq!(rec.digest_interval, MAX_DIGEST_INTERVAL);
        assert_eq!(rec.events.iter().map(Event::index).collect::<Vec<_>>(), [0, 80_002]);
        let bytes = rec.to_bytes().unwrap();
        assert!(bytes.len() > 1000);
        assert_eq!(Recording::parse(&bytes, "over").unwrap(), rec);
        rec.verify().unwrap();
    }

    // A limit of instructions is where the recording ends, also past the
    // runner's first stretch (32,768 instructions) and before the digest at
    // 65,536; the file replays.
    #[test]
    fn a_limit_of_instructions_is_where_the_recording_ends() {
        let draws = crate::program::asm::assemble("LOAD_IMM r3, 40000\nd: RNG_NEXT r1\nLOOP r3, d\nHALT\n").unwrap().bytes;
        for limit in [1, 32_768, 40_000] {
            let (rec, ended) = Recording::record_run(&draws, VmConfig::default(), Schedule::default(), Some(limit), &mut std::io::sink()).unwrap();
            assert!(ended.is_none(), "{limit}");
            assert_eq!(rec.events.iter().map(Event::index).collect::<Vec<_>>(), [0, limit]);
            assert!(matches!(rec.events.last(), Some(Event::End { outcome, .. }) if outcome == "still running when the recording ended"), "{:?}", rec.events.last());
            rec.verify().unwrap();
        }
    }

    // header_len is the length of the header line a file is written with,
    // its newline included: programs of 1 and 7 instructions, seeds and
    // schedules of different lengths, a run cut short and a run whose
    // digests were spaced out.
    #[test]
    fn the_header_length_is_the_written_header_lines() {
        let halt = crate::program::asm::assemble("HALT\n").unwrap().bytes;
        let draws = crate::program::asm::assemble("LOAD_IMM r3, 40000\nd: RNG_NEXT r1\nLOOP r3, d\nHALT\n").unwrap().bytes;
        let random = Schedule::new(crate::runtime::vm::SchedKind::Chaos, 7);
        let cases: [(&[u8], VmConfig, Schedule, Option<u64>, Option<u64>); 5] = [
            (&halt, VmConfig::default(), Schedule::default(), None, None),
            (&draws, VmConfig { seed: u64::MAX, ..VmConfig::default() }, random, None, None),
            (&draws, VmConfig::default(), Schedule::default(), Some(12_345), None),
            (&draws, VmConfig { seed: 3, energy: 1_000_000_000 }, Schedule::default(), None, None),
            (&draws, VmConfig::default(), Schedule::default(), None, Some(20_000)),
        ];
        for (i, (program, config, schedule, limit, max)) in cases.into_iter().enumerate() {
            let (rec, _) = Recording::record_run_within(program, config, schedule, limit, max, &mut std::io::sink()).unwrap();
            let bytes = rec.to_bytes().unwrap();
            let line = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
            assert_eq!(rec.header_len(rec.instructions()).unwrap(), line as u64, "case {i}");
        }
    }

    // Every truncation and a spread of single-byte changes of a good file is
    // refused with an error: a change after the header line by the checksum
    // (or, in the checksum line, as a mismatch or a missing checksum); none
    // loads, none panics.
    #[test]
    fn damaged_files_give_errors_not_panics() {
        let good = small_recording();
        let rec = Recording::parse(&good, "good").unwrap();
        rec.verify().unwrap();
        let cuts = (0..good.len()).step_by(61).chain(good.len().saturating_sub(200)..good.len());
        for n in cuts {
            assert!(Recording::parse(&good[..n], "cut").is_err() || n + 1 >= good.len(), "a file cut at {n} loaded");
        }
        let header_end = good.iter().position(|&b| b == b'\n').unwrap() + 1;
        let trailer = good[..good.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
        let mut changed = 0;
        for i in (0..good.len()).step_by(97).chain([header_end, trailer - 1, good.len() - 1]) {
            for b in [0u8, b'0', b'"', b'\n', 0xFF] {
                let mut bad = good.clone();
                if bad[i] == b {
                    continue;
                }
                bad[i] = b;
                changed += 1;
                match Recording::parse(&bad, "bad") {
                    Ok(_) => panic!("byte {i} changed to 0x{b:02X}: the file loaded"),
                    Err(ReplayError::Checksum { .. }) => {}
                    Err(e @ (ReplayError::Truncated { .. } | ReplayError::Damaged { .. })) => {
                        assert!(i >= trailer - 1, "byte {i} (before the checksum line) changed to 0x{b:02X}: {e}")
                    }
                    Err(e) => assert!(i < header_end, "byte {i} (after the header) changed to 0x{b:02X}: {e}"),
                }
            }
        }
        assert!(changed > 100, "{changed} changes tried");
    }
}
