//! `explore --why SEED`: branching a run again at each of its scheduling
//! decisions names the decision after which its outcome was inevitable.
mod common;

use common::*;

/// The hand analysis, for chaos seed 5 of the racy FizzBuzz.  Its output is
/// `1 2 -3 4 -3 7 8 -3 11 -3 13 -5 -5 14 -3 16 ... 28 29 -3 -5 -5 -5 -5`, an
/// outcome 4 of 200 seeds give (tests/agents.rs): the Buzz agent printed
/// the -5s of 5 and 10 between 13 and 14, and those of 15, 20, 25 and 30
/// only after agent 1's last print.  Agent 1 TELLs the Buzz agent at 15,
/// 20, 25 and 30 without waiting, so until agent 1 has printed its last
/// number, any later switch to the Buzz agent while a TELL waits in its
/// mailbox puts a -5 earlier: another outcome.  After agent 1's last
/// DBG_PRINT it only TELLs 0 and JOINs; nothing it prints can move any more.
/// The run makes no switch between that print and the JOIN, so the first
/// decision after which every schedule gives this outcome is agent 1
/// blocking in its JOIN (0x0050 in the assembled program); before it, the
/// branches after the decision before (agent 2 blocked in ASK, with 15's
/// TELL still to come) end otherwise at times.
#[test]
fn why_names_the_decision_the_hand_analysis_predicts() {
    let race = example("fizzbuzz_race.fasm");
    let program = cuda_flux_debugger::program::asm::assemble(&std::fs::read_to_string(&race).unwrap()).unwrap().bytes;
    assert_eq!(program[0x50], cuda_flux_debugger::runtime::isa::by_mnemonic("JOIN").unwrap().code, "JOIN at 0x0050");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("why.json");
    let (code, out, err) = flux(&["explore", race.to_str().unwrap(), "--why", "5", "--why-json", json.to_str().unwrap(), "--jobs", "2"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "seed 5: exit 0; output 32 lines: 1 2 -3 4 -3 7 8 -3 11 -3 13 -5 -5 14 -3 16 17 -3 19 -3 22 23 -3 26 -3 28 ...");
    assert_eq!(lines[1], "20 branches with fresh scheduler seeds after each decision; P = branches ending so:");
    // the rare outcome: no branch from the start ends so
    assert_eq!(lines[2], "     0  P = 0.000 (0/20)  the start");
    assert_eq!(lines.last(), Some(&"inevitable after agent 1 blocked in JOIN at instruction 310, pc 0x0050 (decision 5 of 6)"), "{out}");
    assert_eq!(lines[7], "     5  P = 1.000 (20/20)  agent 1 blocked in JOIN at instruction 310, pc 0x0050; agent 2 runs");
    assert_eq!(lines[8], "     6  P = 1.000 (20/20)  agent 2 ended at instruction 329; agent 1 runs");
    assert!(lines[6].starts_with("     4  P = ") && lines[6].contains("agent 2 blocked in ASK at instruction 145, pc 0x0062; agent 1 runs"), "{out}");
    assert!(!lines[6].contains("(20/20)"), "before the JOIN it is still open: {out}");

    // the table as JSON
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["format"], "flux-explore-why");
    assert_eq!(v["seed"], 5);
    assert_eq!(v["branches"], 20);
    assert_eq!(v["inevitable_after"], 5);
    assert_eq!(v["outcome"]["status"], 0);
    let d = v["decisions"].as_array().unwrap();
    assert_eq!(d.len(), 7);
    assert_eq!(
        (&d[5]["what"], &d[5]["from"], &d[5]["to"], &d[5]["instruction"], &d[5]["pc"], &d[5]["bad"]),
        (&serde_json::json!("blocked in JOIN"), &serde_json::json!(1), &serde_json::json!(2), &serde_json::json!(310), &serde_json::json!(0x50), &serde_json::json!(20))
    );
    assert_eq!(d[6]["pc"], serde_json::Value::Null);
    assert_eq!(d[3]["scheduler_seeds"].as_array().unwrap().len(), 20);
    // a pure function of the seed: the same table again, on one thread
    let json1 = dir.path().join("why1.json");
    let (_, out1, _) = flux(&["explore", race.to_str().unwrap(), "--why", "5", "--why-json", json1.to_str().unwrap(), "--jobs", "1"]);
    assert_eq!(out1, out);
    assert_eq!(std::fs::read(&json1).unwrap(), std::fs::read(&json).unwrap());

    // the fixed FizzBuzz: every branch prints in order
    let fixed = example("fizzbuzz_fixed.fasm");
    let (code, out, _) = flux(&["explore", fixed.to_str().unwrap(), "--why", "5", "--branches", "3"]);
    assert_eq!(code, 0);
    assert!(out.ends_with("\ninevitable from the start\n"), "{out}");
    assert!(out.contains("\n     0  P = 1.000 (3/3)  the start\n"), "{out}");
}

#[test]
fn why_errors_are_one_line_and_exit_2() {
    let race = example("fizzbuzz_race.fasm");
    let r = race.to_str().unwrap();
    for (args, want) in [
        (vec!["--why", "5", "--sched", "round-robin"], "flux-gdbstub: --why branches with fresh chaos seeds: it needs --sched chaos (not round-robin)\n"),
        (vec!["--why", "5", "--sched", "pct", "--depth", "2"], "flux-gdbstub: --why branches with fresh chaos seeds: it needs --sched chaos (not pct)\n"),
        (vec!["--seeds", "0..3", "--why-json", "/nonexistent/x"], "flux-gdbstub: --branches and --why-json are for --why SEED\n"),
        (vec!["--seeds", "0..3", "--branches", "4"], "flux-gdbstub: --branches and --why-json are for --why SEED\n"),
    ] {
        let mut all = vec!["explore", r];
        all.extend(args.iter());
        let (code, out, err) = flux(&all);
        assert_eq!((code, out.as_str(), err.as_str()), (2, "", want), "{args:?}");
    }
    // clap's own: --why with --seeds, --branches 0
    for args in [vec!["--why", "5", "--seeds", "0..3"], vec!["--why", "5", "--branches", "0"], vec!["--why", "5", "--shard", "0/2"]] {
        let mut all = vec!["explore", r];
        all.extend(args.iter());
        let (code, out, err) = flux(&all);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
        assert!(err.starts_with("error: "), "{err}");
    }
}
