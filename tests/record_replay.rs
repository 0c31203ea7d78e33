//! Record, replay and reverse execution with stock gdb: reverse-stepi and
//! reverse-continue, `monitor when/goto/record`, replay files (`run
//! --record`, `serve --replay`, `monitor replay save`) and `replay diff`.
mod common;

use common::*;

/// Draws five random numbers, keeps each at 0x8000, prints their sum's low byte.
const RNG_PROG: &str = "
        LOAD_IMM r3, 5        ; 0x00
        LOAD_IMM r4, 0        ; 0x06
draw:   RNG_NEXT r1           ; 0x0C
        STORE32  r1, 0x8000   ; 0x0E
        CADD     r4, r4, r1   ; 0x12
        LOOP     r3, draw     ; 0x16
        DBG_PRINT r4          ; 0x1A
        HALT                  ; 0x1C
";

const STATE: &[&str] = &["p $r0", "p $r1", "p $r2", "p $conf0", "p/x $pc", "p/x $sp", "p $energy", "p $cycles", "p/x $eflags", "x/4wx $sp"];

fn state_cmds() -> Vec<&'static str> {
    STATE.to_vec()
}

#[test]
fn reverse_stepi_restores_registers_confidences_flags_energy_cycles_and_memory() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--record"]);
    let mut cmds = vec!["stepi 300"];
    cmds.extend(state_cmds());
    cmds.extend(["stepi 250", "monitor when"]);
    cmds.extend(state_cmds());
    cmds.extend(["reverse-stepi 250", "monitor when"]);
    cmds.extend(state_cmds());
    let out = gdb_batch(stub.port, &cmds);
    let n = STATE.len() - 1; // values() gives one per `p`
    let v = values(&out);
    assert_eq!(v.len(), 3 * n, "{out}");
    let (before, later, back) = (&v[..n], &v[n..2 * n], &v[2 * n..]);
    assert_eq!(before, back, "values after 250 reverse steps equal those 250 steps earlier\n{out}");
    assert_ne!(before, later, "{out}");
    assert_eq!(before[7], "300", "cycles: {out}");
    assert!(out.contains("instruction 550 of 0..550"), "{out}");
    assert!(out.contains("instruction 300 of 0..550"), "{out}");
    // the stack memory too: the x/4wx lines at 300 and after going back agree
    let mem: Vec<&str> = out.lines().filter(|l| l.starts_with("0xf")).collect();
    assert_eq!(mem.len(), 3, "{out}");
    assert_eq!(mem[0], mem[2], "{out}");
}

#[test]
fn reverse_continue_stops_at_earlier_breakpoint_hits_then_at_the_start() {
    // `small` (0x2D) is reached once per leaf call of fib(20)
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--record"]);
    let out = gdb_batch(
        stub.port,
        &[
            "break *0x2D",
            "continue",
            "monitor when",
            "p $r1",
            "continue",
            "monitor when",
            "p $r1",
            "continue",
            "monitor when",
            "reverse-continue",
            "monitor when",
            "p $r1",
            "p/x $pc",
            "reverse-continue",
            "monitor when",
            "p $r1",
            "reverse-continue",
            "monitor when",
            "p/x $pc",
            "p $r1",
        ],
    );
    let whens: Vec<u64> = out
        .lines()
        .filter_map(|l| l.strip_prefix("instruction "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(whens.len(), 6, "{out}");
    let (h1, h2, h3) = (whens[0], whens[1], whens[2]);
    assert!(h1 < h2 && h2 < h3, "{out}");
    assert_eq!(&whens[3..], [h2, h1, 0], "back to the second hit, the first, then the start\n{out}");
    let v = values(&out);
    // r1 at the hits going forward equals r1 at the same hits going back
    assert_eq!(v[1], v[2], "{out}");
    assert_eq!(v[3], "0x2d", "{out}");
    assert_eq!(v[0], v[4], "{out}");
    assert!(out.contains("No more reverse-execution history."), "{out}");
    assert_eq!(v[v.len() - 2], "0x0", "at the start pc is 0: {out}");
    assert_eq!(v[v.len() - 1], "0", "and r1 is 0 again: {out}");
}

#[test]
fn reverse_continue_stops_at_the_instruction_that_wrote_a_watched_location() {
    let (_d, p) = program("watch.fasm", WATCH_PROG);
    let stub = Stub::start(&p, &["--once", "--record"]);
    let out = gdb_batch(
        stub.port,
        &[
            "break *0x18",
            "continue",
            "watch *(int*)0x8000",
            "reverse-continue",
            "p/x $pc",
            "monitor when",
            "p *(int*)0x8000",
            "reverse-continue",
            "p/x $pc",
            "monitor when",
            "p *(int*)0x8000",
            "reverse-continue",
            "monitor when",
        ],
    );
    let v = values(&out);
    // before the second STORE32 (0x10, instruction 3) the location holds 1;
    // before the first (0x06, instruction 1) it holds 0
    assert_eq!(v, ["0x10", "1", "0x6", "0"], "{out}");
    assert!(out.contains("instruction 3 of 0..5"), "{out}");
    assert!(out.contains("instruction 1 of 0..5"), "{out}");
    assert!(out.contains("No more reverse-execution history."), "{out}");
    assert!(out.contains("instruction 0 of 0..5"), "{out}");
}

#[test]
fn goto_moves_both_ways_and_forward_replay_draws_the_same_random_values() {
    let (_d, p) = program("rng.fasm", RNG_PROG);
    let stub = Stub::start(&p, &["--once", "--record", "--seed", "7"]);
    let out = gdb_batch(
        stub.port,
        &[
            "break *0x1A",
            "continue",
            "p $r4",
            "x/wx 0x8000",
            "monitor goto 4",
            "maintenance flush register-cache",
            "p/x $pc",
            "p $r4",
            "stepi 100",
            "monitor when",
            "p $r4",
            "x/wx 0x8000",
            "monitor goto 1000",
            "monitor record status",
        ],
    );
    let v = values(&out);
    assert_eq!(v[1], "0x12", "instruction 4 is the first CADD: {out}");
    assert_eq!(v[2], "0", "{out}");
    assert_eq!(v[0], v[3], "replaying forward draws the same values: {out}");
    let mem: Vec<&str> = out.lines().filter(|l| l.starts_with("0x8000")).collect();
    assert_eq!(mem.len(), 2, "{out}");
    assert_eq!(mem[0], mem[1], "{out}");
    assert!(out.contains("instruction 1000 is past the end of the history"), "{out}");
    assert!(out.contains("recording: instructions 0.."), "{out}");
}

#[test]
fn without_a_recording_reverse_execution_reports_no_history() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(stub.port, &["stepi 3", "reverse-stepi", "p/x $pc", "monitor why", "monitor record on", "stepi 2", "reverse-stepi", "monitor when"]);
    assert!(out.contains("No more reverse-execution history."), "{out}");
    assert!(out.contains("no recorded history"), "{out}");
    assert!(out.contains("instruction 1 of 0..2"), "recording from where `record on` was given: {out}");
}

#[test]
fn a_change_made_in_the_past_ends_the_history_there() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--record"]);
    let out = gdb_batch(stub.port, &["stepi 40", "reverse-stepi 10", "set $r5 = 99", "stepi", "monitor when", "reverse-stepi", "p $r5", "stepi", "p $r5"]);
    assert!(out.contains("instruction 31 of 0..31"), "{out}");
    // the patch holds the new value at instruction 30
    assert_eq!(values(&out), ["99", "99"], "{out}");
}

fn record(dir: &std::path::Path, prog: &std::path::Path, name: &str, seed: &str) -> std::path::PathBuf {
    let file = dir.join(name);
    let (_code, out, err) = flux(&["run", prog.to_str().unwrap(), "--seed", seed, "--record", file.to_str().unwrap()]);
    assert!(!out.is_empty(), "the program prints: {err}");
    assert!(file.exists(), "{err}");
    file
}

#[test]
fn run_record_keeps_output_and_status_and_diff_names_the_first_divergent_instruction() {
    let (d, p) = program("rng.fasm", RNG_PROG);
    let (plain_code, plain_out, _) = flux(&["run", p.to_str().unwrap(), "--seed", "1"]);
    let a = record(d.path(), &p, "a.replay", "1");
    let (code, out, _) = flux(&["run", p.to_str().unwrap(), "--seed", "1", "--record", a.to_str().unwrap()]);
    assert_eq!((code, out), (plain_code, plain_out), "recording changes neither output nor status");
    let a2 = record(d.path(), &p, "a2.replay", "1");
    let b = record(d.path(), &p, "b.replay", "2");

    let (code, out, err) = flux(&["replay", "diff", a.to_str().unwrap(), a2.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("the recordings agree"), "{out}");

    let (code, out, err) = flux(&["replay", "diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    // instruction 2 is the first RNG_NEXT (at 0x08): it draws different values
    assert!(out.contains("first divergence: event 1, instruction 2, pc 0x000C: RNG_NEXT"), "{out}");
    assert!(out.contains("seeds: 1 vs 2"), "{out}");

    let (code, out, _) = flux(&["replay", "diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["event_index"], 1);
    assert_eq!(v["instruction_index"], 2);
    assert_eq!(v["pc"], 0x0C);
    assert!(v["expected"].as_str().unwrap().starts_with("rng "), "{v}");
    assert!(v["actual"].as_str().unwrap().starts_with("rng "), "{v}");
    assert!(v["context"].is_array(), "{v}");
}

#[test]
fn diff_finds_a_divergence_between_digests_by_lockstep() {
    // two programs that differ in one instruction deep into a long run: the
    // digest after it differs, and lockstep names the instruction
    let src = |k: u32| {
        format!(
            "        LOAD_IMM r3, 30000\nspin:   ADDI r4, 1\n        MOV r6, r3\n        SUBI r6, 100\n        JNZ r6, skip\n        ADDI r4, {k}\nskip:   LOOP r3, spin\n        HALT\n"
        )
    };
    let (d, p1) = program("one.fasm", &src(1));
    let p2 = d.path().join("two.fasm");
    std::fs::write(&p2, src(2)).unwrap();
    let a = d.path().join("a.replay");
    let b = d.path().join("b.replay");
    for (p, f) in [(&p1, &a), (&p2, &b)] {
        let (_, _, err) = flux(&["run", p.to_str().unwrap(), "--record", f.to_str().unwrap()]);
        assert!(f.exists(), "{err}");
    }
    let (code, out, err) = flux(&["replay", "diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    // 29,900 rounds of 5 instructions, then ADDI, MOV, SUBI, JNZ, and the ADDI that differs
    assert_eq!(v["instruction_index"], 1 + 29_900 * 5 + 4, "{v}");
    assert_eq!(v["pc"], 0x15, "{v}");
    assert!(v["instruction"].as_str().unwrap().starts_with("ADDI"), "{v}");
    // the programs differ in memory, so the first digest already differs;
    // the lockstep then finds the instruction whose effect differs
    assert_eq!(v["event_index"], 1, "{v}");
    assert!(v["expected"].as_str().unwrap().starts_with("digest "), "{v}");
    assert_ne!(v["expected_program_sha256"], v["actual_program_sha256"]);
}

#[test]
fn damaged_truncated_foreign_and_mismatched_replay_files_are_refused_in_one_line() {
    let (d, p) = program("rng.fasm", RNG_PROG);
    let a = record(d.path(), &p, "a.replay", "3");
    let text = std::fs::read_to_string(&a).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("flipped.replay", text.replacen("\"end\"", "\"enf\"", 1), "checksum mismatch"),
        ("truncated.replay", text[..text.len() / 2].to_string(), "truncated"),
        ("version.replay", text.replacen("\"version\":3", "\"version\":99", 1), "replay format version 99; this flux-gdbstub reads version 3"),
        // version 1 listed every value drawn: refused, not misread
        ("version1.replay", text.replacen("\"version\":3", "\"version\":1", 1), "replay format version 1; this flux-gdbstub reads version 3 (record it again)"),
        // version 2 hashed memory whole: its digests would all differ
        ("version2.replay", text.replacen("\"version\":3", "\"version\":2", 1), "replay format version 2; this flux-gdbstub reads version 3 (record it again)"),
        ("foreign.replay", "{\"hello\":1}\n".to_string(), "not a FLUX replay file"),
        ("empty.replay", String::new(), "truncated"),
    ];
    for (name, body, expect) in cases {
        let f = d.path().join(name);
        std::fs::write(&f, body).unwrap();
        for args in [
            vec!["replay", "diff", a.to_str().unwrap(), f.to_str().unwrap()],
            vec!["serve", "--replay", f.to_str().unwrap(), "--once", "--listen", "127.0.0.1:0"],
        ] {
            let (code, out, err) = flux(&args);
            assert_eq!(code, 2, "{name}: {out}{err}");
            assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
            assert!(err.contains(expect), "{name}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    // the right file with another program
    let (code, _, err) = flux(&["serve", example("fibonacci.fasm").to_str().unwrap(), "--replay", a.to_str().unwrap(), "--once"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not the one recorded in"), "{err}");
}

#[test]
fn serve_replay_moves_freely_through_a_recorded_run() {
    let (d, p) = program("rng.fasm", RNG_PROG);
    let file = d.path().join("run.replay");
    let (_code, printed, err) = flux(&["run", p.to_str().unwrap(), "--seed", "11", "--record", file.to_str().unwrap()]);
    assert!(file.exists(), "{err}");
    let replay = Stub::start_replay(&file);
    let out = gdb_batch(
        replay.port,
        &["monitor when", "break *0x1A", "continue", "p $r4", "reverse-stepi 3", "monitor when", "continue", "p $r4", "monitor record status"],
    );
    assert!(out.contains("instruction 0 of 0..24"), "{out}");
    let v = values(&out);
    assert_eq!(v[0], v[1], "{out}");
    let sum: i64 = v[0].parse().unwrap();
    assert_eq!(printed.trim(), sum.to_string(), "the recorded run printed the same sum");
}

#[test]
fn monitor_replay_save_writes_a_file_that_serve_replay_and_diff_accept() {
    let (d, p) = program("rng.fasm", RNG_PROG);
    let saved = d.path().join("saved.replay");
    let stub = Stub::start(&p, &["--once", "--record", "--seed", "5", "--save-dir", d.path().to_str().unwrap()]);
    let cmd = "monitor replay save saved.replay".to_string();
    let out = gdb_batch(stub.port, &["stepi 7", "set $r4 = 1000", "break *0x1C", "continue", "p $r4", cmd.as_str()]);
    assert!(out.contains("saved instructions 0.."), "{out}");
    let v = values(&out);
    let replay = Stub::start_replay(&saved);
    let out2 = gdb_batch(replay.port, &["break *0x1C", "continue", "p $r4", "monitor goto 7", "maintenance flush register-cache", "p $r4"]);
    let v2 = values(&out2);
    assert_eq!(v2[0], v[0], "the debugger's change is part of the recording: {out2}");
    assert_eq!(v2[1], "1000", "{out2}");
    let (code, out3, err) = flux(&["replay", "diff", saved.to_str().unwrap(), saved.to_str().unwrap()]);
    assert_eq!(code, 0, "{out3}{err}");
}

// With the ELF's line table and call-frame information, gdb's source-level
// reverse commands work on top of reverse-stepi/reverse-continue.
#[test]
fn reverse_finish_next_and_step_by_source_line() {
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("fibonacci.elf");
    let (code, _, err) = flux(&["asm", example("fibonacci.fasm").to_str().unwrap(), "-o", elf.to_str().unwrap(), "--elf"]);
    assert_eq!(code, 0, "{err}");
    let stub = Stub::start(&elf, &["--once", "--record"]);
    let out = gdb_batch(
        stub.port,
        &["break fib", "continue", "continue", "continue", "monitor when", "reverse-finish", "bt", "monitor when", "reverse-next", "reverse-step", "bt"],
    );
    assert!(out.contains("instruction 12 of 0..12 (pc=0x000C)"), "the third entry into fib: {out}");
    // reverse-finish: back to the CALL in the caller, one frame fewer
    assert!(out.contains("#0  fib () at fibonacci.fasm:14\n#1  0x0000001b in fib () at fibonacci.fasm:14\n#2  0x00000009 in start () at fibonacci.fasm:6"), "{out}");
    assert!(out.contains("instruction 11 of 0..12 (pc=0x0018)"), "{out}");
    assert!(out.contains("\n13\t        DECR      r1"), "reverse-next: {out}");
    assert!(out.contains("\n12\t        PUSH_R    r1"), "reverse-step: {out}");
    assert!(out.contains("#0  fib () at fibonacci.fasm:12"), "{out}");
}

// In extended mode `run` starts the program again, and a recording session
// gets a fresh recording: the history starts at the new run's first instruction.
#[test]
fn run_in_extended_mode_starts_a_fresh_recording() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--record"]);
    let mut cmd = std::process::Command::new("gdb");
    cmd.args(["-batch", "-nx", "-ex", "set confirm off", "-ex", &format!("target extended-remote 127.0.0.1:{}", stub.port)]);
    for c in ["break *0x2D", "continue", "continue", "monitor when", "run", "monitor when", "reverse-stepi", "monitor record status"] {
        cmd.args(["-ex", c]);
    }
    let out = run_with_timeout(cmd, None);
    let out = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.contains("instruction 107 of 0..107"), "{out}");
    // the new run stops at the first hit again: instruction 99 of a history of 99
    assert!(out.contains("instruction 99 of 0..99"), "{out}");
    assert!(out.contains("recording: instructions 0..99 recorded, now at 98 (replaying)"), "{out}");
}

// reverse-continue re-runs stretches of the history on the VM gdb sees; the
// profile counts only what ran forward, and its call paths stay sane.
#[test]
fn going_back_leaves_the_profile_exact() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--record"]);
    let out = gdb_batch(
        stub.port,
        &["monitor profile on", "break *0x0B", "continue", "break *0x2D", "reverse-continue", "monitor when", "monitor profile report 3"],
    );
    assert!(out.contains(": 175,127 instructions, 175,127 energy"), "{out}");
    assert!(out.contains("instruction 175094 of 0..175127"), "the last hit of 0x2D: {out}");
    assert!(out.contains("CALL                     21,891"), "{out}");
}

// A replay file is checked as it is replayed: one that claims a run far
// longer than its events cover is refused at the first missing digest, not
// replayed for ever.
#[test]
fn a_file_that_claims_more_than_its_events_cover_is_refused_quickly() {
    use cuda_flux_debugger::replay_file::{Event, Recording};
    use cuda_flux_debugger::vm::{Schedule, VmConfig};
    let spin = cuda_flux_debugger::asm::assemble("spin: JMP spin\n").unwrap().bytes;
    let (mut rec, ended) = Recording::record_run(&spin, VmConfig::default(), Schedule::default(), Some(100), &mut std::io::sink()).unwrap();
    assert!(ended.is_none(), "the loop never ends");
    match rec.events.last_mut() {
        Some(Event::End { index, .. }) => *index = 1 << 50,
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("forever.replay");
    rec.save(&file).unwrap();
    let (code, _, err) = flux(&["serve", "--replay", file.to_str().unwrap(), "--once", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("replaying does not reproduce the recording: event 1 differs"), "{err}");
    assert!(err.contains("digest"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Reads a size out of `monitor record status`: "..., N checkpoints, B bytes; ...".
fn status_bytes(out: &str) -> u64 {
    let line = out.lines().find(|l| l.starts_with("recording:")).unwrap_or_else(|| panic!("no status: {out}"));
    let before = line.split(" bytes;").next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap_or_else(|_| panic!("{line}"))
}

// RNG_NEXT's values follow from the start state: a loop that draws on
// every other instruction records a file no bigger than the same loop
// without (both run 10,000,002 instructions).
#[test]
fn an_rng_loop_records_a_file_as_small_as_a_plain_loop() {
    let dir = tempfile::tempdir().unwrap();
    let size = |name: &str| {
        let file = dir.path().join(format!("{name}.replay"));
        let prog = repo().join("benches").join(format!("{name}.fasm"));
        let (code, _, err) = flux(&["run", prog.to_str().unwrap(), "--record", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.lines().next().unwrap().contains("\"instructions\":10000002,"), "{name}");
        assert!(!text.contains("\"event\":\"rng\""), "{name}: values are derived, not stored");
        text.len()
    };
    let (rng, plain) = (size("rng_loop"), size("plain_loop"));
    assert!(rng <= 2 * plain, "rng loop {rng} bytes, plain loop {plain} bytes");
    // header, start state, a digest every 65,536 instructions, end
    assert!(rng < 100_000, "{rng} bytes");
}

/// Draws 100,000 random numbers and prints their sum.
const DRAWS: &str = "
        LOAD_IMM r3, 100000   ; 0x00
        LOAD_IMM r4, 0        ; 0x06
draw:   RNG_NEXT r1           ; 0x0C  instruction 2 + 3k draws value k
        CADD     r4, r4, r1   ; 0x0E
        LOOP     r3, draw     ; 0x12
        DBG_PRINT r4          ; 0x16
        HALT                  ; 0x18
";

// The recording holds no drawn value: replaying it (and going backwards
// over RNG_NEXT) gives exactly the values a plain run draws.
#[test]
fn replaying_an_rng_heavy_recording_draws_the_same_values_both_ways() {
    use cuda_flux_debugger::vm::{Vm, VmConfig};
    let (d, p) = program("draws.fasm", DRAWS);
    let file = d.path().join("draws.replay");
    let (code, printed, err) = flux(&["run", p.to_str().unwrap(), "--seed", "9", "--record", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // r1 and r4 after `n` instructions of a plain run
    let bytes = cuda_flux_debugger::asm::assemble(DRAWS).unwrap().bytes;
    let at = |n: u64| {
        let mut vm = Vm::with_program(&bytes, VmConfig { seed: 9, ..VmConfig::default() }).unwrap();
        let mut ran = 0;
        while ran < n {
            let s = vm.run(n - ran);
            vm.take_output();
            ran += s.executed;
        }
        let r = vm.regs();
        (r.r[1].to_string(), r.r[4].to_string())
    };
    let end = 2 + 3 * 100_000; // at DBG_PRINT
    let replay = Stub::start_replay(&file);
    let out = gdb_batch(
        replay.port,
        &[
            "break *0x16",
            "continue",
            "p $r4",
            "p $r1",
            "reverse-stepi 3", // before the last RNG_NEXT
            "monitor when",
            "p $r1",
            "stepi",
            "p $r1",
            "monitor goto 150002", // before the draw of value 50,000
            "maintenance flush register-cache",
            "p $r1",
            "stepi",
            "p $r1",
            "reverse-stepi",
            "p $r1",
            "p $r4",
        ],
    );
    assert!(out.contains(&format!("instruction {} of 0..{}", end - 3, end + 2)), "{out}");
    let want = [
        at(end).1,
        at(end).0,
        at(end - 3).0,
        at(end - 2).0,
        at(150_002).0,
        at(150_003).0,
        at(150_002).0,
        at(150_002).1,
    ];
    assert_eq!(values(&out), want, "{out}");
    assert_eq!(printed.trim(), want[0], "the recorded run printed the same sum");
    assert_ne!(want[4], want[5], "two draws differ");
}

/// Stores to the next of 128 pages on every iteration: 20,000,002 instructions
/// that rewrite 32 KiB between two checkpoints.
const PAGES: &str = "
        LOAD_IMM r3, 4000000  ; 0x00
        LOAD_IMM r2, 0x8000   ; 0x06
body:   ADDI  r2, 256         ; 0x0C
        ANDI  r2, 0x7FFF      ; 0x10
        ORI   r2, 0x8000      ; 0x14
        STORE r3, r2          ; 0x18
        LOOP  r3, body        ; 0x1B
        HALT                  ; 0x1F
";

// serve --record-limit: the history stays under it, says what it dropped,
// and still goes anywhere exactly.
#[test]
fn the_record_limit_is_honoured_and_reported() {
    let (_d, p) = program("pages.fasm", PAGES);
    let stub = Stub::start(&p, &["--once", "--record", "--record-limit", "1M"]);
    let out = gdb_batch(
        stub.port,
        &["break *0x1F", "continue", "monitor record status", "monitor goto 1000", "maintenance flush register-cache", "p/x $r2", "p $r3", "reverse-stepi", "monitor when"],
    );
    assert!(out.contains("recording: instructions 0..20000002 recorded, now at 20000002;"), "{out}");
    let bytes = status_bytes(&out);
    assert!(bytes <= 1 << 20, "{bytes} bytes: {out}");
    assert!(out.contains("; limit 1048576 bytes; over it "), "{out}");
    assert!(out.contains(" times: checkpoints thinned (going back re-runs up to "), "{out}");
    // instruction 1000: 199 rounds of 5, then ADDI, ANDI, ORI of round 200
    assert_eq!(values(&out), ["0xc800", (4_000_000 - 199).to_string().as_str()], "{out}");
    assert!(out.contains("instruction 999 of 0..20000002"), "{out}");
    // a limit below the smallest is refused in one line
    let (code, _, err) = flux(&["serve", p.to_str().unwrap(), "--record", "--record-limit", "1000"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("1000 bytes is below the smallest record limit, 1048576 bytes (1M)"), "{err}");
}

/// `file` with its start state changed by `change` (through the library, so
/// the checksum is right): the path of the crafted file.
fn craft(dir: &std::path::Path, file: &std::path::Path, name: &str, change: impl FnOnce(&mut [u8])) -> std::path::PathBuf {
    use cuda_flux_debugger::replay_file::{Event, Recording};
    let mut rec = Recording::load(file).unwrap();
    let Some(Event::Start { state, .. }) = rec.events.first_mut() else { panic!("no start event") };
    let mut bytes: Vec<u8> = (0..state.len()).step_by(2).map(|i| u8::from_str_radix(&state[i..i + 2], 16).unwrap()).collect();
    change(&mut bytes);
    *state = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let out = dir.join(name);
    std::fs::write(&out, rec.to_bytes().unwrap()).unwrap();
    out
}

// Replay files are shared: one with a valid checksum but a crafted machine
// state must be refused in one line (exit 2) by everything that reads it,
// never run (it used to die of SIGSEGV, or write past memory into r0).
#[test]
fn crafted_start_states_with_valid_checksums_are_refused_in_one_line() {
    use cuda_flux_debugger::machine_state::set;
    let (d, p) = program("rng.fasm", RNG_PROG);
    let a = record(d.path(), &p, "a.replay", "3");
    type Change = Box<dyn Fn(&mut [u8])>;
    let cases: Vec<(&str, Change, &str)> = vec![
        ("slot9.replay", Box::new(|s| set(s, "cur", 9)), "running agent slot 9 is outside 0-7"),
        ("slotmax.replay", Box::new(|s| set(s, "cur", 0x7FFF_FFFF)), "running agent slot 2147483647 is outside 0-7"),
        (
            "stack.replay",
            Box::new(|s| {
                set(s, "stack_lo", 0);
                set(s, "stack_hi", 0xFFFF_FFFF);
                set(s, "sp", 0x10014);
            }),
            "running agent: stack 0x0-0xFFFFFFFF is not an aligned region inside 0xC000-0x10000",
        ),
        ("mailbox.replay", Box::new(|s| set(s, "agents[0].mail_count", 0x7FFF_FFFF)), "agent slot 0: mailbox head 0, count 2147483647"),
        ("nlive.replay", Box::new(|s| set(s, "nlive", 0)), "1 agents alive, but nlive says 0"),
        (
            "join.replay",
            Box::new(|s| {
                set(s, "agents[0].state", 3);
                set(s, "agents[0].wait_on", 0x7FFF_FFFF);
            }),
            "agent slot 0: waits on agent 2147483647, outside 0-255",
        ),
        ("reason.replay", Box::new(|s| set(s, "state", 7)), "run state 7 is none of"),
        ("energy.replay", Box::new(|s| set(s, "energy", u64::MAX)), "running agent: energy -1 is negative"),
    ];
    for (name, change, why) in cases {
        let f = craft(d.path(), &a, name, change);
        let expected = format!("flux-gdbstub: {}:2: start event: machine state refused: {why}", f.display());
        for args in [
            vec!["serve", "--replay", f.to_str().unwrap(), "--once", "--listen", "127.0.0.1:0"],
            vec!["serve", "--replay", f.to_str().unwrap(), "--stdio"],
            vec!["replay", "diff", a.to_str().unwrap(), f.to_str().unwrap()],
            vec!["replay", "diff", f.to_str().unwrap(), a.to_str().unwrap(), "--json"],
        ] {
            let (code, out, err) = flux(&args);
            assert_eq!(code, 2, "{name} {args:?}: {out}{err}");
            assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
            assert!(err.starts_with(&expected), "{name}: {err}\nexpected: {expected}");
            assert!(out.is_empty(), "{name}: {out}");
        }
    }
    // a patch event is checked the same way (line 3: after the header and the start)
    use cuda_flux_debugger::replay_file::{Event, Recording};
    let mut rec = Recording::load(&a).unwrap();
    let Some(Event::Start { state, .. }) = rec.events.first() else { panic!() };
    let mut bytes: Vec<u8> = (0..state.len()).step_by(2).map(|i| u8::from_str_radix(&state[i..i + 2], 16).unwrap()).collect();
    set(&mut bytes, "cur", 9);
    let hexed: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    rec.events.insert(1, Event::Patch { index: 0, state: hexed, pages: vec![] });
    let f = d.path().join("patch.replay");
    std::fs::write(&f, rec.to_bytes().unwrap()).unwrap();
    let (code, _, err) = flux(&["serve", "--replay", f.to_str().unwrap(), "--once", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim_end(), format!("flux-gdbstub: {}:3: patch event: machine state refused: running agent slot 9 is outside 0-7", f.display()));
}

// `replay diff` compares the start states: two files that differ only there
// (r4 is set before anything reads it, so both verify) diverge at event 0.
// Before, they were reported as agreeing.
#[test]
fn diff_reports_start_states_that_differ_and_refuses_files_that_do_not_verify() {
    use cuda_flux_debugger::machine_state::set;
    let (d, p) = program("rng.fasm", RNG_PROG);
    let a = record(d.path(), &p, "a.replay", "3");
    let b = craft(d.path(), &a, "b.replay", |s| {
        set(s, "r[4]", 7);
        set(s, "r[3]", 0xFFFF_FFFF);
    });
    let (code, out, err) = flux(&["replay", "diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("first divergence: event 0, instruction 0, pc 0x0000: LOAD_IMM"), "{out}");
    assert!(out.contains(&format!("expected ({}): start: r[3] = 0, r[4] = 0\n", a.display())), "{out}");
    assert!(out.contains(&format!("actual   ({}): start: r[3] = -1, r[4] = 7\n", b.display())), "{out}");
    let (code, out, _) = flux(&["replay", "diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["event_index"].as_u64(), v["instruction_index"].as_u64(), v["pc"].as_u64()), (Some(0), Some(0), Some(0)));
    assert_eq!(v["actual"], "start: r[3] = -1, r[4] = 7");

    // the scheduler's slice is machine state too (one agent: no sched event shows it)
    let c = d.path().join("c.replay");
    let (_, _, err) = flux(&["run", p.to_str().unwrap(), "--seed", "3", "--slice", "100", "--record", c.to_str().unwrap()]);
    assert!(c.exists(), "{err}");
    let (code, out, err) = flux(&["replay", "diff", a.to_str().unwrap(), c.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("): start: slice = 10000\n") && out.contains("): start: slice = 100\n"), "{out}");

    // two seeds: the generators differ by design, their draws are what differ
    let s2 = record(d.path(), &p, "s2.replay", "4");
    let (code, out, _) = flux(&["replay", "diff", a.to_str().unwrap(), s2.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.starts_with("first divergence: event 1, instruction 2, pc 0x000C: RNG_NEXT"), "{out}");

    // r9 is never written: the crafted start changes the end, and the file
    // does not reproduce itself; diff refuses it instead of comparing
    let bad = craft(d.path(), &a, "bad.replay", |s| set(s, "r[9]", 5));
    let (code, out, err) = flux(&["replay", "diff", a.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("flux-gdbstub: {}: replaying does not reproduce the recording: event ", bad.display())), "{err}");
}
