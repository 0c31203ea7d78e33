//! Properties of scheduling and of `explore` that hold whatever the chaos
//! generator draws (the exact interleavings of particular seeds in
//! tests/agents.rs are snapshots; these are derived from the programs):
//!
//! - the same seed gives the same output;
//! - every output of the FizzBuzz race is an interleaving of agent 1's
//!   prints, in order, with the six Buzzes, none before agent 1 told it;
//! - the racy order appears under at least one seed, never under
//!   round-robin, and never in the fixed version;
//! - explore's class counts add up to the run count, and the classes are as
//!   many as it says.
mod common;

use common::*;

/// What agent 1 prints, in order, for i in 1..=30, with the index of the
/// Buzz each i = 5k makes (Fizz is -3, Buzz -5, numbers as they are).
fn agent1_prints() -> (Vec<i64>, Vec<usize>) {
    let (mut out, mut told) = (Vec::new(), Vec::new());
    for i in 1..=30i64 {
        if i % 3 == 0 {
            out.push(-3);
        }
        if i % 5 == 0 {
            told.push(out.len()); // the TELL comes after everything printed so far
        } else if i % 3 != 0 {
            out.push(i);
        }
    }
    (out, told)
}

/// FizzBuzz in order: each Buzz where its i is.
fn in_order() -> Vec<i64> {
    (1..=30i64)
        .flat_map(|i| match (i % 3, i % 5) {
            (0, 0) => vec![-3, -5],
            (0, _) => vec![-3],
            (_, 0) => vec![-5],
            _ => vec![i],
        })
        .collect()
}

fn numbers(out: &str) -> Vec<i64> {
    out.split_whitespace().map(|w| w.parse().unwrap_or_else(|_| panic!("not a number: {w:?} in {out}"))).collect()
}

fn run(prog: &str, args: &[&str]) -> Vec<i64> {
    let path = example(prog);
    let mut all = vec!["run", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, out, err) = flux(&all);
    assert_eq!(code, 0, "{all:?}: {err}");
    numbers(&out)
}

/// Asserts that `out` is agent 1's prints with six Buzzes interleaved, the
/// k-th no earlier than agent 1's TELL for i = 5k.
#[track_caller]
fn assert_interleaving(out: &[i64], what: &str) {
    let (a1, told) = agent1_prints();
    let own: Vec<i64> = out.iter().copied().filter(|&x| x != -5).collect();
    assert_eq!(own, a1, "{what}: agent 1's prints, in order: {out:?}");
    let mut seen_own = 0;
    let mut buzz = 0;
    for &x in out {
        if x == -5 {
            assert!(buzz < told.len(), "{what}: more Buzzes than TELLs: {out:?}");
            assert!(seen_own >= told[buzz], "{what}: Buzz {} before agent 1 told it: {out:?}", buzz + 1);
            buzz += 1;
        } else {
            seen_own += 1;
        }
    }
    assert_eq!(buzz, told.len(), "{what}: every TELL gets its Buzz: {out:?}");
}

#[test]
fn the_same_seed_gives_the_same_output_and_every_output_is_an_interleaving() {
    let mut racy = Vec::new();
    for seed in 0..12 {
        let s = seed.to_string();
        let a = run("fizzbuzz_race.fasm", &["--sched", "chaos", "--seed", &s]);
        let b = run("fizzbuzz_race.fasm", &["--sched", "chaos", "--seed", &s]);
        assert_eq!(a, b, "seed {seed}: the same seed, the same output");
        assert_interleaving(&a, &format!("chaos seed {seed}"));
        if a != in_order() {
            racy.push(seed);
        }
        // the fixed version waits for each Buzz: in order under any seed
        assert_eq!(run("fizzbuzz_fixed.fasm", &["--sched", "chaos", "--seed", &s]), in_order(), "fixed, seed {seed}");
    }
    assert!(!racy.is_empty(), "the racy order appears under some seed of 0..12");
}

#[test]
fn round_robin_never_shows_the_racy_order_a_seed_could_change() {
    // round-robin draws nothing: every seed gives the same output; with the
    // default slice (10,000 instructions) agent 1 finishes counting before
    // the Buzz agent's first turn, so the six Buzzes come last
    let (a1, _) = agent1_prints();
    let expected: Vec<i64> = a1.iter().copied().chain([-5; 6]).collect();
    for seed in ["0", "1", "7", "12345"] {
        let out = run("fizzbuzz_race.fasm", &["--seed", seed]);
        assert_eq!(out, expected, "round-robin, seed {seed}");
    }
    // shorter slices interleave, and still only as the program allows
    for slice in ["7", "20", "64"] {
        let a = run("fizzbuzz_race.fasm", &["--slice", slice]);
        assert_interleaving(&a, &format!("round-robin, slice {slice}"));
        assert_eq!(a, run("fizzbuzz_race.fasm", &["--slice", slice, "--seed", "99"]), "slice {slice}: the seed changes nothing");
    }
}

#[test]
fn explore_class_counts_add_up_to_the_run_count() {
    let race = example("fizzbuzz_race.fasm");
    let (code, out, err) = flux(&["explore", race.to_str().unwrap(), "--seeds", "0..40", "--sched", "chaos"]);
    let lines: Vec<&str> = out.lines().collect();
    let (classes, summary) = lines.split_at(lines.len() - 2);
    let counts: Vec<u64> = classes
        .iter()
        .map(|l| {
            let (head, rest) = l.split_once("(first seed ").unwrap_or_else(|| panic!("{l:?}\n{out}"));
            let first: u64 = rest.split(')').next().unwrap().parse().unwrap();
            assert!(first < 40, "{l}");
            let n: u64 = head.split_whitespace().next().unwrap().parse().unwrap();
            assert_eq!(head.split_whitespace().nth(1), Some(if n == 1 { "run" } else { "runs" }), "{l}");
            n
        })
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 40, "{out}");
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most frequent first: {out}");
    let n = counts.len();
    // schedules up to equivalence: at least one per outcome (a deterministic
    // program ends alike on equivalent schedules), at most one per run
    let schedules: u64 = summary[1].rsplit_once(", ").unwrap().1.split_whitespace().next().unwrap().parse().unwrap();
    assert!(schedules >= n as u64 && schedules <= 40, "{out}");
    assert_eq!(
        summary[1],
        format!("40 runs, {n} distinct outcome{}, {schedules} distinct schedules", if n == 1 { "" } else { "s" }),
        "{out}"
    );
    assert!(summary[0].starts_with("schedules up to equivalence after N runs (N:count): 1:1 2:"), "{out}");
    assert!(summary[0].contains(&format!(" 40:{schedules}; the last new one at run ")), "{out}");
    // several outcomes: exit 1; one: exit 0
    assert_eq!(code, if n > 1 { 1 } else { 0 }, "{out}{err}");
    assert!(n > 1, "the race shows in 40 seeds: {out}");
    // each class's first seed reproduces the output shown (as far as shown)
    for l in classes {
        let seed = l.split("(first seed ").nth(1).unwrap().split(')').next().unwrap();
        let shown = l.split("; output ").nth(1).unwrap().split_once(": ").unwrap().1.trim_end_matches(" ...").trim();
        let (_, full, _) = flux(&["run", race.to_str().unwrap(), "--sched", "chaos", "--seed", seed]);
        let full = full.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(full.starts_with(shown), "seed {seed}: {full} vs {l}");
    }
    // round-robin (explore draws chaos schedules unless told): one outcome
    // for every seed
    let (code, out, _) = flux(&["explore", race.to_str().unwrap(), "--seeds", "0..10", "--sched", "round-robin"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("      10 runs (first seed 0): exit 0; output 32 lines: ") && out.ends_with("\n10 runs, 1 distinct outcome, 1 distinct schedule\n"), "{out}");
}
