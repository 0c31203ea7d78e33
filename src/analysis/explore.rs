//! Schedule exploration: run a program once per seed under the chaos
//! scheduler (each seed names one interleaving of its agents exactly) and
//! group the runs by how they ended — exit status, printed output, fault —
//! so that a race shows up as more than one outcome, with the first seed
//! that produces each (`flux-gdbstub run --sched chaos --seed N` replays it,
//! `run --record` records it for gdb).  Besides outcomes it counts
//! schedules up to equivalence (`coverage`): interleavings that only reorder
//! independent steps count once.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use super::coverage::{self, Fingerprinter};
use crate::runtime::vm::{Access, Outcome, Schedule, StopKind, Vm, VmConfig, VmError};

/// How one run ended: what groups runs into outcome classes.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunOutcome {
    /// The process exit status `run` gives: the HALT code, or 128 + signal.
    pub status: i32,
    /// Everything the program printed.
    pub output: Vec<u8>,
    /// For a fault or termination: the signal, pc and reason.
    pub fault: Option<String>,
}

impl RunOutcome {
    /// One line: status, fault, and the output in short.
    pub fn summary(&self) -> String {
        let text = String::from_utf8_lossy(&self.output);
        let lines = text.lines().count();
        let mut flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() > 72 {
            flat = flat.chars().take(72).collect::<String>() + " ...";
        }
        let fault = self.fault.as_ref().map_or(String::new(), |f| format!(" ({f})"));
        format!("exit {}{fault}; output {lines} line{}: {flat}", self.status, if lines == 1 { "" } else { "s" })
    }
}

/// One outcome class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub outcome: RunOutcome,
    pub count: u64,
    pub first_seed: u64,
}

/// Instructions a run goes on for between two looks at the stop flag.
const SLICE: u64 = 1 << 20;

/// Runs `program` once with `seed` (the RNG's and the chaos scheduler's).
pub fn run_seed(program: &[u8], energy: i64, schedule: Schedule, seed: u64) -> Result<RunOutcome, VmError> {
    let never = AtomicBool::new(false);
    let mut vm = Vm::with_program(program, VmConfig { energy, seed })?;
    vm.set_schedule(schedule);
    finish_run(&mut vm, Vec::new(), &never, None).map(|o| o.map(|(o, _)| o).unwrap_or_default())
}

/// [`run_seed`] with the fingerprint of its schedule ([`coverage`]) and
/// the instructions it ran, given up (None) once `stop` is set; the flag is
/// looked at every 2^20 instructions.
/// (`fp` None: no access log, fingerprint 0.)
fn run_seed_until(program: &[u8], energy: i64, schedule: Schedule, seed: u64, stop: &AtomicBool, fp: Option<&mut Fingerprinter>) -> Result<Option<(RunOutcome, u128, u64)>, VmError> {
    let mut vm = Vm::with_program(program, VmConfig { energy, seed })?;
    vm.set_schedule(schedule);
    let Some(fp) = fp else {
        return Ok(finish_run(&mut vm, Vec::new(), stop, None)?.map(|(o, n)| (o, 0, n)));
    };
    vm.log_accesses(true)?;
    let outcome = finish_run(&mut vm, Vec::new(), stop, Some(&mut *fp))?;
    Ok(outcome.map(|(o, n)| (o, fp.finish(), n)))
}

/// Runs `vm` to its end from where it is (`output`: what it printed
/// before); feeds its access log to `fp`.  Also says how many
/// instructions it ran.
pub(crate) fn finish_run(vm: &mut Vm, mut output: Vec<u8>, stop: &AtomicBool, mut fp: Option<&mut Fingerprinter>) -> Result<Option<(RunOutcome, u64)>, VmError> {
    let mut events: Vec<Access> = Vec::new();
    let mut instructions = 0u64;
    let outcome = loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let s = vm.run(SLICE);
        instructions += s.executed;
        output.extend(vm.take_output());
        if let Some(fp) = fp.as_deref_mut() {
            events.clear();
            if vm.take_accesses(&mut events) > 0 {
                return Err(VmError::HookMemory);
            }
            fp.feed(&events);
        }
        match s.kind {
            StopKind::Halted { code } => break Outcome::Exited(code),
            StopKind::Fault { signal, reason } | StopKind::Terminated { signal, reason } => {
                break Outcome::Signalled { signal, pc: s.pc, reason }
            }
            _ => continue,
        }
    };
    let fault = match &outcome {
        Outcome::Exited(_) => None,
        Outcome::Signalled { signal, pc, reason } => Some(format!("{signal} at 0x{pc:04X}: {reason}")),
    };
    Ok(Some((RunOutcome { status: outcome.exit_status(), output, fault }, instructions)))
}

/// PCT's `steps` for `program`: the instructions of one round-robin run
/// (slices of `slice`), at least 1.  Every schedule runs about as many when
/// the program's work does not depend on the interleaving.
pub fn pct_steps(program: &[u8], energy: i64, slice: u32) -> Result<u64, VmError> {
    let mut vm = Vm::with_program(program, VmConfig { energy, seed: 0 })?;
    vm.set_schedule(Schedule::new(crate::runtime::vm::SchedKind::RoundRobin, slice));
    let mut steps = 0u64;
    loop {
        let s = vm.run(SLICE);
        steps += s.executed;
        vm.take_output();
        if matches!(s.kind, StopKind::Halted { .. } | StopKind::Fault { .. } | StopKind::Terminated { .. }) {
            return Ok(steps.max(1));
        }
    }
}

/// What [`explore`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exploration {
    /// Most frequent first (ties: lowest first seed).
    pub classes: Vec<Class>,
    /// Runs finished (all of them unless stopped).
    pub runs: u64,
    /// `stop` was set before every seed had run.
    pub stopped: bool,
    /// The distinct schedules up to equivalence ([`coverage`]): each
    /// fingerprint with the first seed that ran it.
    pub schedules: BTreeMap<u128, u64>,
    /// Whether schedules were counted (`--no-coverage`: not).
    pub coverage: bool,
}

impl Exploration {
    /// Distinct schedules after the first 1, 2, 4, ... seeds of the range
    /// starting at `start`, and after all `total`.
    pub fn growth(&self, start: u64, total: u64) -> Vec<(u64, u64)> {
        coverage::growth(self.schedules.values().map(|s| s - start), total)
    }
}

/// Runs every seed of `seeds` on `jobs` threads; `progress(done)` is called
/// after each run, from the workers.  Setting `stop` ends it early (runs
/// under way are given up within 2^20 instructions): the classes are then
/// those of the runs finished.
pub fn explore(
    program: &[u8],
    energy: i64,
    schedule: Schedule,
    seeds: std::ops::Range<u64>,
    jobs: usize,
    coverage: bool,
    progress: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
) -> Result<Exploration, VmError> {
    explore_each(program, energy, schedule, seeds, jobs, coverage, progress, stop, &|_, _, _| {})
}

/// [`explore`], telling `on_run(seed, outcome, instructions)` of each run
/// finished (from the workers).
#[allow(clippy::too_many_arguments)] // explore's, and the callback
pub fn explore_each(
    program: &[u8],
    energy: i64,
    schedule: Schedule,
    seeds: std::ops::Range<u64>,
    jobs: usize,
    coverage: bool,
    progress: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
    on_run: &(dyn Fn(u64, &RunOutcome, u64) + Sync),
) -> Result<Exploration, VmError> {
    let next = AtomicU64::new(seeds.start);
    let done = AtomicU64::new(0);
    let classes: Mutex<BTreeMap<RunOutcome, (u64, u64)>> = Mutex::new(BTreeMap::new());
    let schedules: Mutex<BTreeMap<u128, u64>> = Mutex::new(BTreeMap::new());
    let error: Mutex<Option<VmError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                let mut local: BTreeMap<RunOutcome, (u64, u64)> = BTreeMap::new();
                let mut local_schedules: BTreeMap<u128, u64> = BTreeMap::new();
                let mut fp = Fingerprinter::new();
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end || seed < seeds.start {
                        break;
                    }
                    match run_seed_until(program, energy, schedule, seed, stop, coverage.then_some(&mut fp)) {
                        Ok(Some((o, f, instructions))) => {
                            on_run(seed, &o, instructions);
                            let e = local.entry(o).or_insert((0, seed));
                            e.0 += 1;
                            e.1 = e.1.min(seed);
                            if coverage {
                                let first = local_schedules.entry(f).or_insert(seed);
                                *first = (*first).min(seed);
                            }
                        }
                        Ok(None) => break,
                        Err(err) => {
                            *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
                            next.store(seeds.end, Ordering::Relaxed);
                            break;
                        }
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                }
                let mut all = classes.lock().unwrap_or_else(|p| p.into_inner());
                for (o, (n, first)) in local {
                    let e = all.entry(o).or_insert((0, first));
                    e.0 += n;
                    e.1 = e.1.min(first);
                }
                drop(all);
                let mut all = schedules.lock().unwrap_or_else(|p| p.into_inner());
                for (f, first) in local_schedules {
                    let e = all.entry(f).or_insert(first);
                    *e = (*e).min(first);
                }
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let out = sorted(classes.into_inner().unwrap_or_else(|p| p.into_inner()));
    let runs = done.into_inner();
    let schedules = schedules.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(Exploration { classes: out, runs, stopped: runs < seeds.end - seeds.start, schedules, coverage })
}

/// Shard `index` of `count` (`--shard K/N`, K from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N`: N at least 1, K from 0 to N - 1.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s}: a shard is K/N, K from 0 to N - 1");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("--shard {s}: there must be at least one shard"));
        }
        if index >= count {
            return Err(format!("--shard {s}: the shard index is 0 to {}", count - 1));
        }
        Ok(Shard { index, count })
    }

    /// The seeds of this shard: the `index`-th of `count` consecutive blocks.
    pub fn seeds(self, seeds: &std::ops::Range<u64>) -> std::ops::Range<u64> {
        let len = u128::from(seeds.end - seeds.start);
        let at = |i: u64| seeds.start + (len * u128::from(i) / u128::from(self.count)) as u64;
        at(self.index)..at(self.index + 1)
    }
}

/// What one shard found, as `explore --json` writes it and `explore merge`
/// reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardRecord {
    pub format: String,
    pub version: u32,
    /// The version of the flux-gdbstub that ran the shard: shards of two
    /// builds may have run different VMs.
    pub tool_version: String,
    pub program_sha256: String,
    /// The whole range the shards split (A..B, B excluded).
    pub seeds: [u64; 2],
    pub shard: Shard,
    pub schedule: Schedule,
    pub energy: i64,
    pub runs: u64,
    pub classes: Vec<ClassRecord>,
    /// Whether schedules were counted (`--no-coverage`: not).
    pub coverage: bool,
    /// The distinct schedules up to equivalence, by fingerprint.
    pub schedules: Vec<ScheduleRecord>,
}

/// One schedule (its fingerprint, 32 hex digits) in a [`ShardRecord`], with
/// the first seed of the shard that ran it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScheduleRecord {
    pub fingerprint: String,
    pub first_seed: u64,
}

/// One outcome class in a [`ShardRecord`] (output as hex: it is bytes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassRecord {
    pub status: i32,
    pub output: String,
    pub fault: Option<String>,
    pub count: u64,
    pub first_seed: u64,
}

pub const SHARD_FORMAT: &str = "flux-explore-shard";
pub const SHARD_VERSION: u32 = 2;

/// The SHA-256 of a program, in hex.
pub fn program_sha256(program: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(program).iter().map(|b| format!("{b:02x}")).collect()
}

impl ShardRecord {
    /// The record of a finished exploration of `shard` of `seeds`.
    pub fn new(program: &[u8], seeds: &std::ops::Range<u64>, shard: Shard, schedule: Schedule, energy: i64, found: &Exploration) -> ShardRecord {
        ShardRecord {
            format: SHARD_FORMAT.into(),
            version: SHARD_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            program_sha256: program_sha256(program),
            seeds: [seeds.start, seeds.end],
            shard,
            schedule,
            energy,
            runs: found.runs,
            classes: found
                .classes
                .iter()
                .map(|c| ClassRecord {
                    status: c.outcome.status,
                    output: c.outcome.output.iter().map(|b| format!("{b:02x}")).collect(),
                    fault: c.outcome.fault.clone(),
                    count: c.count,
                    first_seed: c.first_seed,
                })
                .collect(),
            coverage: found.coverage,
            schedules: found.schedules.iter().map(|(f, s)| ScheduleRecord { fingerprint: coverage::to_hex(*f), first_seed: *s }).collect(),
        }
    }
}

/// Why shards do not merge.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    #[error("{0}: not an explore shard: {1}")]
    Format(String, String),
    #[error("{0}: shard format version {1} (this build reads version {SHARD_VERSION})")]
    Version(String, u64),
    #[error("{0}: {1}")]
    Damaged(String, String),
    #[error("{0}: {1} differs from {2}'s ({3} against {4})")]
    Mismatch(String, &'static str, String, String, String),
    #[error("shard {0}/{1} is given twice ({2}, {3})")]
    Repeated(u64, u64, String, String),
    #[error("shard {0}/{1} is missing")]
    Missing(u64, u64),
    #[error("no shards given")]
    Empty,
}

/// Reads a shard file's bytes (`name` is for messages).
pub fn parse_shard(data: &[u8], name: &str) -> Result<ShardRecord, MergeError> {
    let v: serde_json::Value = serde_json::from_slice(data).map_err(|e| MergeError::Format(name.into(), e.to_string()))?;
    let format = v.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if format != SHARD_FORMAT {
        return Err(MergeError::Format(name.into(), format!("format {format:?}")));
    }
    let version = v.get("version").and_then(|f| f.as_u64()).unwrap_or(0);
    if version != u64::from(SHARD_VERSION) {
        return Err(MergeError::Version(name.into(), version));
    }
    let r: ShardRecord = serde_json::from_value(v).map_err(|e| MergeError::Damaged(name.into(), e.to_string()))?;
    let seeds = r.seeds[0]..r.seeds[1];
    if seeds.is_empty() || r.shard.count == 0 || r.shard.index >= r.shard.count {
        return Err(MergeError::Damaged(name.into(), format!("shard {}/{} of seeds {}..{}", r.shard.index, r.shard.count, r.seeds[0], r.seeds[1])));
    }
    let mine = r.shard.seeds(&seeds);
    let counted: u64 = r.classes.iter().map(|c| c.count).sum();
    if r.runs != mine.end - mine.start || counted != r.runs {
        return Err(MergeError::Damaged(
            name.into(),
            format!("{} runs in its classes, {} recorded, {} seeds in shard {}/{}", counted, r.runs, mine.end - mine.start, r.shard.index, r.shard.count),
        ));
    }
    for c in &r.classes {
        if c.count == 0 || !mine.contains(&c.first_seed) || c.output.len() % 2 != 0 || !c.output.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MergeError::Damaged(name.into(), format!("class with first seed {}, count {}: not a class of this shard", c.first_seed, c.count)));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &r.schedules {
        let Some(f) = coverage::from_hex(&c.fingerprint) else {
            return Err(MergeError::Damaged(name.into(), format!("schedule fingerprint {:?}: not 32 hex digits", c.fingerprint)));
        };
        if !mine.contains(&c.first_seed) || !seen.insert(f) {
            return Err(MergeError::Damaged(name.into(), format!("schedule {}: not a schedule of this shard", c.fingerprint)));
        }
    }
    if r.schedules.len() as u64 > r.runs || (r.coverage && r.runs > 0 && r.schedules.is_empty()) || (!r.coverage && !r.schedules.is_empty()) {
        return Err(MergeError::Damaged(name.into(), format!("{} schedules from {} runs", r.schedules.len(), r.runs)));
    }
    Ok(r)
}

/// Combines the records of every shard of one exploration (each exactly
/// once, all of the same program, seeds, schedule, energy and version)
/// into what one machine would have found.
pub fn merge(shards: &[(String, ShardRecord)]) -> Result<Exploration, MergeError> {
    let Some((first_name, first)) = shards.first() else {
        return Err(MergeError::Empty);
    };
    let mut seen: Vec<Option<&str>> = vec![None; first.shard.count.min(1 << 20) as usize];
    for (name, r) in shards {
        let mismatch = |what: &'static str, a: String, b: String| MergeError::Mismatch(name.clone(), what, first_name.clone(), b, a);
        if r.tool_version != first.tool_version {
            return Err(mismatch("the flux-gdbstub version", first.tool_version.clone(), r.tool_version.clone()));
        }
        if r.program_sha256 != first.program_sha256 {
            return Err(mismatch("the program", first.program_sha256.clone(), r.program_sha256.clone()));
        }
        if r.seeds != first.seeds {
            return Err(mismatch("the seed range", format!("{}..{}", first.seeds[0], first.seeds[1]), format!("{}..{}", r.seeds[0], r.seeds[1])));
        }
        if r.shard.count != first.shard.count {
            return Err(mismatch("the number of shards", first.shard.count.to_string(), r.shard.count.to_string()));
        }
        if r.schedule != first.schedule {
            let text = |s: &Schedule| serde_json::to_string(s).unwrap_or_default();
            return Err(mismatch("the schedule", text(&first.schedule), text(&r.schedule)));
        }
        if r.coverage != first.coverage {
            let text = |c: bool| if c { "counted" } else { "not counted (--no-coverage)" }.to_string();
            return Err(mismatch("schedule coverage", text(first.coverage), text(r.coverage)));
        }
        if r.energy != first.energy {
            return Err(mismatch("the energy", first.energy.to_string(), r.energy.to_string()));
        }
        match seen.get_mut(r.shard.index as usize) {
            Some(Some(other)) => return Err(MergeError::Repeated(r.shard.index, r.shard.count, (*other).to_string(), name.clone())),
            Some(slot) => *slot = Some(name),
            None => return Err(MergeError::Damaged(name.clone(), format!("{} shards: too many to merge", r.shard.count))),
        }
    }
    if let Some(k) = seen.iter().position(Option::is_none) {
        return Err(MergeError::Missing(k as u64, first.shard.count));
    }
    let mut classes: BTreeMap<RunOutcome, (u64, u64)> = BTreeMap::new();
    let mut schedules: BTreeMap<u128, u64> = BTreeMap::new();
    let mut runs = 0;
    for (_, r) in shards {
        runs += r.runs;
        for c in &r.schedules {
            // checked by parse_shard
            let f = coverage::from_hex(&c.fingerprint).unwrap_or_default();
            let e = schedules.entry(f).or_insert(c.first_seed);
            *e = (*e).min(c.first_seed);
        }
        for c in &r.classes {
            let output = (0..c.output.len() / 2).map(|i| u8::from_str_radix(&c.output[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
            let o = RunOutcome { status: c.status, output, fault: c.fault.clone() };
            let e = classes.entry(o).or_insert((0, c.first_seed));
            e.0 += c.count;
            e.1 = e.1.min(c.first_seed);
        }
    }
    Ok(Exploration { classes: sorted(classes), runs, stopped: false, schedules, coverage: first.coverage })
}

fn sorted(classes: BTreeMap<RunOutcome, (u64, u64)>) -> Vec<Class> {
    let mut out: Vec<Class> = classes.into_iter().map(|(outcome, (count, first_seed))| Class { outcome, count, first_seed }).collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.first_seed.cmp(&b.first_seed)));
    out
}

/// Parses `A..B` (B excluded) or `A..=B` (B included).
pub fn parse_seeds(s: &str) -> Result<std::ops::Range<u64>, String> {
    let bad = || format!("'{s}': seeds are A..B (B excluded) or A..=B");
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = s.split_once("..") {
        (a, b, false)
    } else {
        return Err(bad());
    };
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    let end = if inclusive { b.checked_add(1).ok_or_else(bad)? } else { b };
    if end <= a {
        return Err(format!("'{s}': no seeds in that range"));
    }
    Ok(a..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_flag_ends_it_with_the_runs_finished() {
        // HALT: every run ends at once
        let sched = Schedule::new(crate::runtime::vm::SchedKind::Chaos, 100);
        let all = explore(&[0x0B], 1000, sched, 0..50, 2, true, &|_| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!((all.runs, all.stopped, all.classes.len(), all.classes[0].count), (50, false, 1, 50));
        let stopped = explore(&[0x0B], 1000, sched, 0..50, 2, true, &|_| {}, &AtomicBool::new(true)).unwrap();
        assert_eq!(stopped, Exploration { classes: Vec::new(), runs: 0, stopped: true, schedules: BTreeMap::new(), coverage: true });
        // stopped after the 10th run: the classes count exactly the runs finished
        let stop = AtomicBool::new(false);
        let part = explore(&[0x0B], 1000, sched, 0..50, 1, true, &|done| stop.store(done >= 10, Ordering::Relaxed), &stop).unwrap();
        assert_eq!((part.runs, part.stopped, part.classes[0].count, part.classes[0].first_seed), (10, true, 10, 0));
    }

    #[test]
    fn seed_ranges() {
        assert_eq!(parse_seeds("0..100"), Ok(0..100));
        assert_eq!(parse_seeds("5..=7"), Ok(5..8));
        assert!(parse_seeds("7..7").is_err());
        assert!(parse_seeds("x..3").is_err());
        assert!(parse_seeds("3").is_err());
    }
}
