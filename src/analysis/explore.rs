//! Schedule exploration: run a program once per seed under the chaos
//! scheduler (each seed names one interleaving of its agents exactly) and
//! group the runs by how they ended — exit status, printed output, fault —
//! so that a race shows up as more than one outcome, with the first seed
//! that produces each (`flux-gdbstub run --sched chaos --seed N` replays it,
//! `run --record` records it for gdb).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::runtime::vm::{Outcome, Schedule, StopKind, Vm, VmConfig, VmError};

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
    run_seed_until(program, energy, schedule, seed, &never).map(|o| o.unwrap_or_default())
}

/// [`run_seed`], given up (None) once `stop` is set; the flag is looked at
/// every 2^20 instructions.
fn run_seed_until(program: &[u8], energy: i64, schedule: Schedule, seed: u64, stop: &AtomicBool) -> Result<Option<RunOutcome>, VmError> {
    let mut vm = Vm::with_program(program, VmConfig { energy, seed })?;
    vm.set_schedule(schedule);
    let mut output = Vec::new();
    let outcome = loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let s = vm.run(SLICE);
        output.extend(vm.take_output());
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
    Ok(Some(RunOutcome { status: outcome.exit_status(), output, fault }))
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
    progress: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
) -> Result<Exploration, VmError> {
    let next = AtomicU64::new(seeds.start);
    let done = AtomicU64::new(0);
    let classes: Mutex<BTreeMap<RunOutcome, (u64, u64)>> = Mutex::new(BTreeMap::new());
    let error: Mutex<Option<VmError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                let mut local: BTreeMap<RunOutcome, (u64, u64)> = BTreeMap::new();
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end || seed < seeds.start {
                        break;
                    }
                    match run_seed_until(program, energy, schedule, seed, stop) {
                        Ok(Some(o)) => {
                            let e = local.entry(o).or_insert((0, seed));
                            e.0 += 1;
                            e.1 = e.1.min(seed);
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
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut out: Vec<Class> = classes
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|(outcome, (count, first_seed))| Class { outcome, count, first_seed })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.first_seed.cmp(&b.first_seed)));
    let runs = done.into_inner();
    Ok(Exploration { classes: out, runs, stopped: runs < seeds.end - seeds.start })
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
        let all = explore(&[0x0B], 1000, sched, 0..50, 2, &|_| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!((all.runs, all.stopped, all.classes.len(), all.classes[0].count), (50, false, 1, 50));
        let stopped = explore(&[0x0B], 1000, sched, 0..50, 2, &|_| {}, &AtomicBool::new(true)).unwrap();
        assert_eq!(stopped, Exploration { classes: Vec::new(), runs: 0, stopped: true });
        // stopped after the 10th run: the classes count exactly the runs finished
        let stop = AtomicBool::new(false);
        let part = explore(&[0x0B], 1000, sched, 0..50, 1, &|done| stop.store(done >= 10, Ordering::Relaxed), &stop).unwrap();
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
