//! `explore --why SEED`: when did a run's outcome become inevitable?
//!
//! The run of SEED (under the chaos scheduler) is replayed, and at each of
//! its scheduling decisions (the switches from one agent to another) the
//! machine is branched: the state right after the decision (the new agent
//! has run its first instruction), with the scheduler's generator reseeded,
//! runs to its end N times.  The share of branches that end in the seed's
//! outcome estimates the outcome's probability once the run got that far;
//! the outcome is inevitable after the first decision from which every
//! branch, at it and at every later decision, ends in it.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::explore::{finish_run, RunOutcome};
use crate::runtime::machine_state;
use crate::runtime::vm::{AgentState, InputKind, SchedKind, Schedule, Vm, VmConfig, VmError, MEM_SIZE};

/// Why `--why` cannot run.
#[derive(Debug, thiserror::Error)]
pub enum WhyError {
    #[error("--why branches with fresh chaos seeds: it needs --sched chaos (not {0})")]
    Schedule(&'static str),
    #[error("--why: the run of seed {0} lost scheduling decisions from its log")]
    Lost(u64),
    #[error(transparent)]
    Vm(#[from] VmError),
}

/// One scheduling decision of the run, and what its branches gave.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    /// 1, 2, ... (0: the start of the run, before any decision).
    pub decision: usize,
    /// Instructions retired before the switch (all agents).
    pub instruction: u64,
    /// The agent switched from and to (0 for the start).
    pub from: u32,
    pub to: u32,
    /// What happened to `from`: "was preempted", "blocked in ASK", "ended".
    pub what: String,
    /// `from`'s pc when it stopped running (None: it ended).
    pub pc: Option<u32>,
    /// Branches that ended in the seed's outcome, of `branches`.
    pub bad: u64,
    pub branches: u64,
    /// The scheduler seeds the branches ran with.
    pub scheduler_seeds: Vec<u64>,
}

impl Row {
    /// "agent 2 was preempted at instruction 1,234, pc 0x0040".
    pub fn describe(&self) -> String {
        if self.decision == 0 {
            return "the start".into();
        }
        let pc = self.pc.map_or(String::new(), |pc| format!(", pc 0x{pc:04X}"));
        format!("agent {} {} at instruction {}{pc}", self.from, self.what, thousands(self.instruction))
    }
}

/// What `--why` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    pub outcome: RunOutcome,
    pub rows: Vec<Row>,
    /// The row after whose decision every branch (there and later) ends in
    /// the outcome; None when the last decision still leaves it open.
    pub inevitable_after: Option<usize>,
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The scheduler seed of branch `j` at decision `i` of the run of `seed`.
pub fn branch_seed(seed: u64, i: usize, j: u64) -> u64 {
    let mut z = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ j.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Where the run is branched: the machine (state and memory) and what it
/// printed so far.
struct Point {
    state: Box<[u8]>,
    memory: Box<[u8]>,
    output: Vec<u8>,
}

/// Branches the run of `seed` `branches` times at each of its scheduling
/// decisions, on `jobs` threads.
pub fn why(program: &[u8], energy: i64, schedule: Schedule, seed: u64, branches: u64, jobs: usize) -> Result<Why, WhyError> {
    let config = VmConfig { energy, seed };
    let (outcome, mut rows, points) = decisions(program, config, schedule, branches)?;
    for (i, row) in rows.iter_mut().enumerate() {
        row.scheduler_seeds = (0..branches).map(|j| branch_seed(seed, i, j)).collect();
    }
    let never = AtomicBool::new(false);
    // the branches, on `jobs` threads
    let tasks: Vec<(usize, u64)> = (0..rows.len()).flat_map(|i| (0..branches).map(move |j| (i, j))).collect();
    let next = AtomicUsize::new(0);
    let bad: Mutex<Vec<u64>> = Mutex::new(vec![0; rows.len()]);
    let error: Mutex<Option<VmError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, tasks.len().max(1)) {
            scope.spawn(|| loop {
                let t = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(i, j)) = tasks.get(t) else { break };
                let result = branch(program, config, schedule, &points[i], Some(rows[i].scheduler_seeds[j as usize]), &never);
                match result {
                    Ok(o) => {
                        if o == outcome {
                            bad.lock().unwrap_or_else(|p| p.into_inner())[i] += 1;
                        }
                    }
                    Err(e) => {
                        *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        next.store(tasks.len(), Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e.into());
    }
    for (row, n) in rows.iter_mut().zip(bad.into_inner().unwrap_or_else(|p| p.into_inner())) {
        row.bad = n;
    }
    let certain = rows.iter().rposition(|r| r.bad < r.branches).map_or(0, |k| k + 1);
    let inevitable_after = (certain < rows.len()).then_some(certain);
    Ok(Why { outcome, rows, inevitable_after })
}

/// The run of `config.seed`: its outcome, one row per scheduling decision
/// (row 0: the start), and the machine right after each.
fn decisions(program: &[u8], config: VmConfig, schedule: Schedule, branches: u64) -> Result<(RunOutcome, Vec<Row>, Vec<Point>), WhyError> {
    match schedule.kind {
        SchedKind::Chaos => {}
        SchedKind::RoundRobin => return Err(WhyError::Schedule("round-robin")),
        SchedKind::Pct => return Err(WhyError::Schedule("pct")),
    }
    let seed = config.seed;
    let never = AtomicBool::new(false);
    // the run itself: its outcome and its switches
    let mut vm = Vm::with_program(program, config)?;
    vm.set_schedule(schedule);
    vm.log_inputs(true);
    let start = Point { state: vm.save_state(), memory: vm.memory().to_vec().into_boxed_slice(), output: Vec::new() };
    let outcome = finish_run(&mut vm, Vec::new(), &never, None)?.map(|(o, _)| o).unwrap_or_default();
    let (inputs, lost) = vm.take_inputs();
    if lost > 0 {
        return Err(WhyError::Lost(seed));
    }
    let mut switches: Vec<(u64, u32, u32)> = Vec::new();
    for e in inputs.iter().filter(|e| e.kind == InputKind::Sched) {
        let (to, from) = ((e.value & 0xFF) as u32, ((e.value >> 8) & 0xFF) as u32);
        // several switches at one instruction: the last one is the decision
        if switches.last().is_some_and(|s| s.0 == e.cycle) {
            switches.pop();
        }
        switches.push((e.cycle, from, to));
    }

    // walk the run again, stopping right after each decision
    let mut rows = vec![Row { decision: 0, instruction: 0, from: 0, to: 0, what: String::new(), pc: None, bad: 0, branches, scheduler_seeds: Vec::new() }];
    let mut points = vec![start];
    let mut walk = Vm::with_program(program, config)?;
    walk.set_schedule(schedule);
    let mut output = Vec::new();
    for (i, &(cycle, from, to)) in switches.iter().enumerate() {
        while walk.regs().cycles < cycle + 1 && !walk.finished() {
            let left = cycle + 1 - walk.regs().cycles;
            let s = walk.run(left);
            output.extend(walk.take_output());
            if s.executed == 0 && !walk.finished() {
                break; // a fault: the run ends here
            }
        }
        let info = walk.agents().into_iter().find(|a| a.id == from);
        let (what, pc) = match info {
            None => ("ended".to_string(), None),
            Some(a) if a.state == AgentState::Ended => ("ended".to_string(), None),
            Some(a) if a.state == AgentState::Runnable => ("was preempted".to_string(), Some(a.pc)),
            Some(a) => {
                let op = crate::runtime::isa::opcode(a.wait_op).map_or("?", |o| o.mnemonic);
                (format!("blocked in {op}"), Some(a.pc))
            }
        };
        rows.push(Row { decision: i + 1, instruction: cycle, from, to, what, pc, bad: 0, branches, scheduler_seeds: Vec::new() });
        points.push(Point { state: walk.save_state(), memory: walk.memory().to_vec().into_boxed_slice(), output: output.clone() });
    }
    Ok((outcome, rows, points))

}

/// One branch: the machine at `at` with the scheduler's generator set to
/// `sched_seed` (None: as it was), run to its end.
fn branch(program: &[u8], config: VmConfig, schedule: Schedule, at: &Point, sched_seed: Option<u64>, never: &AtomicBool) -> Result<RunOutcome, VmError> {
    let mut vm = Vm::with_program(program, config)?;
    vm.set_schedule(schedule);
    let mut state = at.state.clone();
    if let Some(s) = sched_seed {
        machine_state::set(&mut state, "sched_rng", s);
    }
    vm.load_state(&state)?;
    vm.write_mem(0, &at.memory[..MEM_SIZE as usize])?;
    Ok(finish_run(&mut vm, at.output.clone(), never, None)?.map(|(o, _)| o).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Branching without reseeding goes on exactly as the run did, from
    /// every decision of every seed tried: the machine at each point is the
    /// run's own.
    #[test]
    fn a_branch_with_the_old_scheduler_state_ends_as_the_run() {
        let src = include_str!("../../examples/fizzbuzz_race.fasm");
        let program = crate::program::asm::assemble(src).unwrap().bytes;
        let schedule = Schedule::new(SchedKind::Chaos, crate::runtime::vm::DEFAULT_SLICE);
        let never = AtomicBool::new(false);
        for seed in [1, 5, 13] {
            let config = VmConfig { energy: 1_000_000_000, seed };
            let (outcome, rows, points) = decisions(&program, config, schedule, 1).unwrap();
            assert!(rows.len() > 3, "seed {seed}: {} decisions", rows.len());
            for (row, at) in rows.iter().zip(&points) {
                assert_eq!(branch(&program, config, schedule, at, None, &never).unwrap(), outcome, "seed {seed}, decision {}", row.decision);
            }
        }
    }

    #[test]
    fn numbers_with_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
