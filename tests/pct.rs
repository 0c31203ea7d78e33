//! PCT scheduling (`--sched pct --depth D`): a schedule is a pure function
//! of seed and depth (checked through replay files), PCT runs replay and
//! reverse-execute like any other, bad depths are one line, and the depth-3
//! bug of examples/pct_depth3.fasm is found within the budget PCT's bound
//! promises.
mod common;

use common::*;

/// Records the racy FizzBuzz under PCT into `path`; returns its output.
fn record(seed: &str, depth: &str, path: &std::path::Path) -> String {
    let race = example("fizzbuzz_race.fasm");
    let (code, out, err) = flux(&[
        "run",
        race.to_str().unwrap(),
        "--sched",
        "pct",
        "--depth",
        depth,
        "--seed",
        seed,
        "--record",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    out
}

/// The agent switches a replay file's start state makes when re-executed.
fn switches(path: &std::path::Path) -> Vec<cuda_flux_debugger::replay_file::Event> {
    use cuda_flux_debugger::replay_file::{Event, Recording, Runner};
    let rec = Recording::load(path).unwrap();
    let mut runner = Runner::new(&rec).unwrap().deriving();
    let mut events = Vec::new();
    while runner.ended.is_none() {
        runner.run(u64::MAX, &mut events, &mut std::io::sink()).unwrap();
    }
    events.into_iter().filter(|e| matches!(e, Event::Sched { .. })).collect()
}

#[test]
fn a_pct_schedule_is_a_pure_function_of_seed_and_depth() {
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);
    let out = record("7", "3", &f("a"));
    assert_eq!(record("7", "3", &f("b")), out);
    record("7", "2", &f("c"));
    record("8", "3", &f("d"));
    // the same seed and depth: the same file, byte for byte, and the same switches
    assert_eq!(std::fs::read(f("a")).unwrap(), std::fs::read(f("b")).unwrap());
    let text = std::fs::read_to_string(f("a")).unwrap();
    // the round-robin run of the race is 332 instructions: change points are drawn from 1..332
    assert!(text.lines().next().unwrap().contains(r#""schedule":{"kind":"pct","slice":10000,"depth":3,"steps":332}"#), "{text}");
    use cuda_flux_debugger::replay_file::Event;
    let s = switches(&f("a"));
    assert_eq!(s, switches(&f("b")));
    // agent 1 outranks the Buzz agent until the first change point (instruction 47)
    assert_eq!(s[0], Event::Sched { index: 47, pc: 0x56, from: 1, to: 2, slice: 52 });
    let (code, diff, _) = flux(&["replay", "diff", f("a").to_str().unwrap(), f("b").to_str().unwrap()]);
    assert_eq!((code, diff.as_str()), (0, "the recordings agree: 2 events, 332 instructions\n"));
    // another depth: other change points, told from the start states
    let (code, diff, _) = flux(&["replay", "diff", f("a").to_str().unwrap(), f("c").to_str().unwrap()]);
    assert_eq!(code, 1, "{diff}");
    assert!(diff.contains("pct_depth = 3, pct_at[0] = 47, pct_at[1] = 99, pct_low[0] = 2, pct_low[1] = 1"), "{diff}");
    assert!(diff.contains("pct_depth = 2, pct_at[0] = 99, pct_at[1] = 0, pct_low[0] = 1, pct_low[1] = 0"), "{diff}");
    // another seed: the priorities and change points are the seed's; the
    // runs part at the first switch
    let (code, diff, _) = flux(&["replay", "diff", f("a").to_str().unwrap(), f("d").to_str().unwrap()]);
    assert_eq!(code, 1, "{diff}");
    assert!(diff.contains("first divergence: event 1, instruction 1, pc 0x0003"), "{diff}");
    assert!(diff.contains("switch from agent 1 to agent 2 (slice 52) at instruction 47, pc 0x0056"), "{diff}");
    assert!(diff.contains("switch from agent 1 to agent 2 (slice 54) at instruction 1, pc 0x0056"), "{diff}");
}

#[test]
fn a_pct_run_replays_and_runs_backwards_in_gdb() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("a");
    let out = record("7", "3", &rec);
    assert!(out.starts_with("1\n2\n-3\n4\n-5\n-3\n"), "{out}");
    // the Buzz agent's first DBG_PRINT (0x69): where the replayed and the
    // live recorded PCT run reach it, and back one instruction from there
    let cmds = [
        "break *0x69",
        "continue",
        "p $_thread",
        "monitor when",
        "reverse-stepi",
        "monitor when",
        "continue",
        "monitor when",
        "delete",
        "continue",
    ];
    let mut stub = Stub::start_replay(&rec);
    let replayed = gdb_batch(stub.port, &cmds);
    stub.wait_exit();
    let race = example("fizzbuzz_race.fasm");
    let mut stub = Stub::start(&race, &["--once", "--record", "--sched", "pct", "--depth", "3", "--seed", "7"]);
    let live = gdb_batch(stub.port, &cmds);
    stub.wait_exit();
    // the live stub serves the program's ELF over Host I/O (symbols, lines);
    // a replay file's stub serves none
    for (out, hit) in [(&replayed, "0x00000069 in ?? ()"), (&live, "start () at fizzbuzz_race.fasm:43")] {
        assert!(out.contains(&format!("Thread 2 hit Breakpoint 1, {hit}")), "{out}");
        assert_eq!(values(out), ["2"], "{out}");
        // back to its JZ, then forward to the same instruction
        // (the live recording's history ends where the run is: 0..54)
        let whens: Vec<(&str, &str)> = out
            .lines()
            .filter_map(|l| l.strip_prefix("instruction "))
            .map(|l| (l.split(' ').next().unwrap(), l.rsplit(' ').next().unwrap()))
            .collect();
        assert_eq!(whens, [("54", "(pc=0x0069)"), ("53", "(pc=0x0065)"), ("54", "(pc=0x0069)")], "{out}");
        assert!(out.contains("[Inferior 1 (process 1) exited normally]"), "{out}");
    }
}

#[test]
fn a_depth_out_of_range_is_one_line_and_exit_2() {
    let race = example("fizzbuzz_race.fasm");
    let p = race.to_str().unwrap();
    for args in [
        vec!["run", p, "--sched", "pct", "--depth", "0"],
        vec!["serve", p, "--sched", "pct", "--depth", "0", "--listen", "127.0.0.1:0"],
        vec!["explore", p, "--seeds", "0..10", "--sched", "pct", "--depth", "0"],
    ] {
        let (code, out, err) = flux(&args);
        assert_eq!((code, out.as_str(), err.as_str()), (2, "", "flux-gdbstub: --depth 0: PCT's depth bound is 1 to 16\n"), "{args:?}");
    }
    let (code, _, err) = flux(&["run", p, "--sched", "pct", "--depth", "17"]);
    assert_eq!((code, err.as_str()), (2, "flux-gdbstub: --depth 17: PCT's depth bound is 1 to 16\n"));
    let (code, _, err) = flux(&["run", p, "--sched", "chaos", "--depth", "3"]);
    assert_eq!((code, err.as_str()), (2, "flux-gdbstub: --depth and --pct-steps are for --sched pct\n"));
    let (code, _, err) = flux(&["run", p, "--sched", "pct", "--pct-steps", "0"]);
    assert_eq!((code, err.as_str()), (2, "flux-gdbstub: --pct-steps 0: change points are drawn from instructions 1..K, K at least 1\n"));
}

/// examples/pct_depth3.fasm: agent 2 exits 1 (and so the program) only when
/// agent 1 is preempted in its window and agent 2 in its own, in that order.
/// PCT's bound for n = 2 agents, k steps and d = 3 promises a hit within
/// n·k^2 runs in expectation (k = 200,017: 8·10^10); seeds 0..300 hold 5
/// (the first at seed 64), about the (40,000 / 200,017)^2 / 2 = 2% the
/// example's comment works out.  Depth 2 (one change point) and chaos find
/// none there.
#[test]
fn pct_finds_the_depth_3_bug_within_the_budget_of_its_bound() {
    let ex = example("pct_depth3.fasm");
    let p = ex.to_str().unwrap();
    let explore = |extra: &[&str]| {
        let mut args = vec!["explore", p, "--seeds", "0..300", "--jobs", "2"];
        args.extend_from_slice(extra);
        let mut cmd = std::process::Command::new(stub_bin());
        cmd.args(&args).env("RUST_LOG", "info");
        let out = run_with_timeout(cmd, None);
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, out, err) = explore(&["--sched", "pct", "--depth", "3"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("pct: depth 3, change points drawn from instructions 1..200017"), "{err}");
    let k: f64 = 200_017.0;
    let budget = 2.0 * k * k; // 1 / (1 / (n·k^(d−1)))
    assert!(out.contains("     295 runs (first seed 0): exit 0; output 0 lines: \n       5 runs (first seed 64): exit 1; output 0 lines: \n"), "{out}");
    // coverage: the only conflicts are agent 1's two writes of the flag and
    // agent 2's two reads of it; the reads fall among the writes in C(4, 2)
    // = 6 ways, and PCT at depth 3 runs all 6
    assert!(out.ends_with(" 256:6 300:6; the last new one at run 65\n300 runs, 2 distinct outcomes, 6 distinct schedules\n"), "{out}");
    assert!(64.0 < budget && 5.0 / 300.0 >= 1.0 / budget);
    // the seed replays the bug
    let (code, _, _) = flux(&["run", p, "--sched", "pct", "--depth", "3", "--seed", "64"]);
    assert_eq!(code, 1);
    // depth 2 runs 4 of the 6 schedules, chaos 1 (agent 1's window passes
    // before agent 2 reads)
    for (other, schedules) in [(&["--sched", "pct", "--depth", "2"][..], 4), (&["--sched", "chaos"][..], 1)] {
        let (code, out, _) = explore(other);
        assert_eq!(code, 0, "{other:?}");
        assert!(out.starts_with("     300 runs (first seed 0): exit 0; output 0 lines: \n"), "{other:?}: {out}");
        let s = if schedules == 1 { "" } else { "s" };
        assert!(out.ends_with(&format!(" 300:{schedules}; the last new one at run {}\n300 runs, 1 distinct outcome, {schedules} distinct schedule{s}\n", if schedules == 1 { 1 } else { 16 })), "{other:?}: {out}");
    }
}
