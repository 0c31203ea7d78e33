//! Schedule coverage (`explore` counts schedules up to equivalence): on a
//! tiny program every interleaving is listed by forcing who runs each
//! instruction, and the number of distinct fingerprints equals both the
//! number of Mazurkiewicz traces worked out by hand and the number an
//! independent canonical form (the order of every conflicting pair) gives;
//! `explore` finds exactly that many.
mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use cuda_flux_debugger::analysis::coverage;
use cuda_flux_debugger::program::asm;
use cuda_flux_debugger::runtime::vm::{Access, AgentState, SchedKind, Schedule, StopKind, Vm, VmConfig, ACC_SPAWN, ACC_WRITE};

/// Agent 1 writes X and reads Y; agent 2 writes Y and reads X.
const TWO_BY_TWO: &str = "
start:  SPAWN     worker
        MOV       r10, r0
        LOAD_IMM  r1, 0x2000      ; X
        LOAD_IMM  r2, 0x2004      ; Y
        LOAD_IMM  r3, 7
        STORE     r3, r1          ; X = 7
        LOAD      r4, r2          ; r4 = Y
        JOIN      r10
        HALT
worker: LOAD_IMM  r1, 0x2000
        LOAD_IMM  r2, 0x2004
        LOAD_IMM  r3, 9
        STORE     r3, r2          ; Y = 9
        LOAD      r4, r1          ; r4 = X
        HALT
";

/// Every run the program can make, one instruction at a time with the
/// scheduler locked on the agent chosen: the access log of each.
fn all_interleavings(program: &[u8]) -> Vec<Vec<Access>> {
    fn replay(program: &[u8], choices: &[u32]) -> Option<(Vm, bool)> {
        let mut vm = Vm::with_program(program, VmConfig { energy: 1_000_000, seed: 0 }).unwrap();
        vm.set_schedule(Schedule::new(SchedKind::RoundRobin, 1));
        vm.log_accesses(true).unwrap();
        vm.lock_scheduler(true);
        let mut ended = false;
        for &c in choices {
            assert!(!ended);
            vm.select_agent(c)?;
            let s = vm.run(1);
            match s.kind {
                StopKind::Budget if s.executed == 1 => {}
                StopKind::Halted { .. } => ended = true,
                StopKind::Blocked => return None,
                k => panic!("unexpected stop {k:?} after {choices:?}"),
            }
        }
        Some((vm, ended))
    }
    let mut out = Vec::new();
    let mut stack: Vec<Vec<u32>> = vec![Vec::new()];
    while let Some(prefix) = stack.pop() {
        let Some((mut vm, ended)) = replay(program, &prefix) else { continue };
        if ended {
            let mut events = Vec::new();
            assert_eq!(vm.take_accesses(&mut events), 0);
            out.push(events);
            continue;
        }
        for a in vm.agents().iter().filter(|a| a.state != AgentState::Ended) {
            let mut next = prefix.clone();
            next.push(a.id);
            stack.push(next);
        }
    }
    out
}

/// An independent canonical form of a run's trace: every agent's events in
/// program order, and for every pair of conflicting events of different
/// agents (overlapping locations, one a write; a SPAWN writes the set of
/// agents and comes before the child's events), which came first.
fn canonical(events: &[Access]) -> (BTreeMap<u8, Vec<(u8, u32, u32)>>, BTreeSet<((u8, usize), (u8, usize))>) {
    let mut per_agent: BTreeMap<u8, Vec<(u8, u32, u32)>> = BTreeMap::new();
    let mut ids = Vec::new();
    for e in events {
        let v = per_agent.entry(e.agent).or_default();
        ids.push((e.agent, v.len()));
        v.push((e.kind, e.loc, e.len));
    }
    let span = |e: &Access| -> (u32, u32, bool) {
        if e.kind == ACC_SPAWN {
            (u32::MAX, u32::MAX, true)
        } else {
            let len = if e.loc < 0x10000 { e.len } else { 1 };
            (e.loc, e.loc + len - 1, e.kind == ACC_WRITE)
        }
    };
    let mut order = BTreeSet::new();
    for i in 0..events.len() {
        for j in i + 1..events.len() {
            let (a, b) = (&events[i], &events[j]);
            if a.agent == b.agent {
                continue;
            }
            let (al, ah, aw) = span(a);
            let (bl, bh, bw) = span(b);
            let conflict = (al <= bh && bl <= ah && (aw || bw)) || (a.kind == ACC_SPAWN && a.loc == u32::from(b.agent));
            if conflict {
                order.insert((ids[i], ids[j]));
            }
        }
    }
    (per_agent, order)
}

/// Hand count for TWO_BY_TWO.  After the SPAWN, agent 1 runs wX then rY,
/// agent 2 runs wY then rX (then its end, which agent 1's JOIN waits for).
/// The conflicting pairs are (wX, rX) and (wY, rY); each can go either way,
/// but not both "read first": rX < wX and rY < wY would give
/// wY < rX < wX < rY < wY, a cycle.  So 2 x 2 - 1 = 3 traces: wX before rX
/// and wY before rY (both reads see the writes), only agent 1's write first
/// (agent 1 reads Y = 0), only agent 2's first (agent 2 reads X = 0).
#[test]
fn coverage_counts_agree_with_every_interleaving_listed() {
    let program = asm::assemble(TWO_BY_TWO).unwrap().bytes;
    let runs = all_interleavings(&program);
    // after the SPAWN, agent 1's 6 instructions before its JOIN and agent
    // 2's 6 interleave in C(12, 6) = 924 ways (the JOIN waits for agent 2)
    assert_eq!(runs.len(), 924, "interleavings");
    let fingerprints: BTreeSet<u128> = runs.iter().map(|r| coverage::fingerprint(r)).collect();
    let canonical_forms: BTreeSet<_> = runs.iter().map(|r| canonical(r)).collect();
    assert_eq!(canonical_forms.len(), 3, "the hand count");
    assert_eq!(fingerprints.len(), 3, "fingerprints, over {} interleavings", runs.len());
    // and the fingerprint partitions the runs as the canonical form does
    let pairs: BTreeSet<(u128, _)> = runs.iter().map(|r| (coverage::fingerprint(r), canonical(r))).collect();
    assert_eq!(pairs.len(), 3);

    // explore under chaos with slices of one instruction finds the same 3
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.fasm");
    std::fs::write(&path, TWO_BY_TWO).unwrap();
    let (code, out, err) = flux(&["explore", path.to_str().unwrap(), "--seeds", "0..200", "--slice", "1", "--jobs", "2"]);
    assert_eq!(code, 0, "one outcome (exit 2: agent 1's r0 is the worker's id): {out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "     200 runs (first seed 0): exit 2; output 0 lines: ");
    assert!(lines[1].starts_with("schedules up to equivalence after N runs (N:count): 1:1 2:"), "{out}");
    assert!(lines[1].contains(" 200:3; the last new one at run "), "{out}");
    assert_eq!(lines[2], "200 runs, 1 distinct outcome, 3 distinct schedules");

    // round-robin with the default slice: one schedule however many seeds
    let (code, out, _) = flux(&["explore", path.to_str().unwrap(), "--seeds", "0..8", "--sched", "round-robin"]);
    assert_eq!(code, 0);
    assert!(out.ends_with("schedules up to equivalence after N runs (N:count): 1:1 2:1 4:1 8:1; the last new one at run 1\n8 runs, 1 distinct outcome, 1 distinct schedule\n"), "{out}");
}
