//! FLUX-aware debugging through stock gdb: stub-side conditional breakpoints,
//! watch-if, apoptosis warnings, the trust log and confidence provenance.
mod common;

use common::*;

const TRUST_PROG: &str = "
        LOAD_IMM    r5, 3       ; 0x00
        TRUST_SET   r5, 30      ; 0x06
        TRUST_CHECK r6, r5      ; 0x0A  fails: 0.30 < 0.50
        TRUST_SET   r5, 80      ; 0x0D
        TRUST_CHECK r6, r5      ; 0x11  passes
        LOAD_IMM    r7, 4       ; 0x14
        TRUST_CHECK r6, r7      ; 0x1A  fails: agent 4 has no trust
        HALT                    ; 0x1D
";

#[test]
fn stub_side_conditional_breakpoint_stops_only_when_the_condition_holds() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &["monitor break 0x0C if r1 == 5", "monitor list", "continue", "p/x $pc", "p $r1", "x/wx 0x8000", "monitor why", "continue"],
    );
    assert!(out.contains("breakpoint 1 at 0x000C if r1 == 5"), "{out}");
    assert!(out.contains("1   break 0x000C if r1 == 5  (hits 0)"), "{out}");
    assert!(out.contains("Program received signal SIGTRAP"), "{out}");
    assert_eq!(values(&out), ["0xc", "5"], "stopped before CMP_EQ with r1 = 5: {out}");
    assert!(out.contains("0x8000:\t0x00000005"), "{out}");
    assert!(out.contains("breakpoint 1 at 0x000C: r1 == 5 (r1 = 5)"), "{out}");
    assert!(out.contains("exited normally"), "the condition holds once only: {out}");
}

#[test]
fn or_and_conditions_and_unconditional_stub_breakpoints() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &[
            "monitor break 0x10 if r1 == 2 || r1 >= 9 && mem32[0x8000] == 9",
            "continue",
            "p $r1",
            "continue",
            "p $r1",
            "monitor delete 1",
            "monitor break 0x14",
            "continue",
            "p/x $pc",
            "monitor list",
            "monitor delete",
            "monitor list",
            "continue",
        ],
    );
    assert_eq!(values(&out), ["2", "9", "0x14"], "{out}");
    assert!(out.contains("deleted 1"), "{out}");
    assert!(out.contains("breakpoint 2 at 0x0014\n"), "{out}");
    assert!(out.contains("2   break 0x0014  (hits 1)"), "{out}");
    assert!(out.contains("deleted 1 stub-side breakpoints and watches"), "{out}");
    assert!(out.contains("no stub-side breakpoints or watches"), "{out}");
    assert!(out.contains("exited normally"), "{out}");
}

#[test]
fn watch_if_stops_after_the_instruction_that_makes_it_true() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["monitor watch-if mem32[0x8000] >= 3", "continue", "p/x $pc", "p $r1", "monitor why", "continue"]);
    assert!(out.contains("watch 1: mem32[0x8000] >= 3"), "{out}");
    // STORE32 at 0x08 wrote 3: the VM stops before the next instruction.
    assert_eq!(values(&out), ["0xc", "3"], "{out}");
    assert!(out.contains("watch 1: mem32[0x8000] >= 3 (mem32[0x8000] = 3); stopped after the instruction that made it true, now at 0x000C"), "{out}");
    // It stays true afterwards, so it does not fire again.
    assert!(out.contains("exited normally"), "{out}");
}

#[test]
fn confidence_conditions_and_provenance() {
    let stub = Stub::start(&example("confidence.fasm"), &["--once"]);
    let out = gdb_batch(
        stub.port,
        &["monitor break 0x1E if conf3 < 0.6", "continue", "p/x $pc", "p $conf3", "monitor why", "monitor delete", "monitor watch-if conf3 > 0.9", "continue", "monitor conf-trace r3", "monitor conf-trace r4"],
    );
    assert_eq!(values(&out), ["0x1e", "0.540000021"], "{out}");
    assert!(out.contains("breakpoint 1 at 0x001E: conf3 < 0.6 (conf3 = 0.54)"), "{out}");
    let trace = out.split("produced by").nth(1).unwrap_or_else(|| panic!("{out}"));
    let lines: Vec<&str> = trace.lines().skip(1).take(6).map(str::trim).collect();
    assert!(lines[0].starts_with("0x0022  CONF_FUSE     r3, r1") && lines[0].contains("conf3 0.54 -> 0.954"), "{out}");
    assert!(lines[1].starts_with("0x001E  CDIV          r3, r3, r4") && lines[1].contains("conf3 0.54 -> 0.54"), "{out}");
    assert!(lines[2].starts_with("0x0014  CADD          r3, r1, r2") && lines[2].contains("conf3 1 -> 0.54"), "{out}");
    assert!(lines[3].starts_with("0x0006  CONF_SET      r1, 0x5A") && lines[3].contains("conf1 1 -> 0.9"), "{out}");
    assert!(lines[4].starts_with("0x0010  CONF_SET      r2, 0x3C") && lines[4].contains("conf2 1 -> 0.6"), "{out}");
    assert!(lines[5].starts_with("0x0006  CONF_SET      r1, 0x5A"), "CONF_FUSE's second source: {out}");
    assert!(out.contains("conf4 = 1: certain, from a load or a set"), "{out}");
}

#[test]
fn apoptosis_warning_stops_once() {
    let stub = Stub::start(&example("energy.fasm"), &["--once"]);
    let out = gdb_batch(
        stub.port,
        &[
            "monitor apoptosis-warn 250000000",
            "monitor trace on",
            "continue",
            "p $energy < 250000000",
            "p $energy",
            "monitor why",
            "monitor trace show 1",
            "continue",
            "p/x $pc",
        ],
    );
    // the trace shows the warning on the ATP_USE that caused it
    assert!(out.contains("000C: ATP_USE       r1") && out.contains("!apoptosis-warning 199999962<250000000"), "{out}");
    assert!(out.contains("apoptosis warning 1: stop once when energy falls below 250000000 (energy now 1000000000)"), "{out}");
    assert!(out.contains("Program received signal SIGTRAP"), "{out}");
    let v = values(&out);
    assert_eq!(v[0], "1", "{out}");
    // The 8th ATP_USE took energy to 199,999,962: the stop is right after it.
    assert_eq!(v[1], "199999962", "{out}");
    assert!(out.contains("apoptosis warning: energy 199999962 left, below 250000000, at 0x000E: INCR          r2"), "{out}");
    // No second warning: the next stop is the apoptosis itself.
    assert!(out.contains("Program received signal SIGXCPU"), "{out}");
    assert_eq!(v[2], "0xc", "{out}");
}

#[test]
fn apoptosis_warning_from_the_command_line() {
    let stub = Stub::start(&example("energy.fasm"), &["--once", "--apoptosis-warn", "500000000"]);
    let out = gdb_batch(stub.port, &["continue", "p $energy", "monitor list"]);
    assert_eq!(values(&out), ["499999977"], "{out}");
    assert!(out.contains("no stub-side breakpoints or watches"), "a one-shot warning is gone once it fired: {out}");

    let (code, _, err) = {
        let mut cmd = std::process::Command::new(stub_bin());
        cmd.args(["run", example("energy.fasm").to_str().unwrap(), "--apoptosis-warn", "500000000"]);
        let o = run_with_timeout(cmd, None);
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    assert_eq!(code, Some(152));
    assert!(err.starts_with("flux-gdbstub: apoptosis warning: energy 499999977 left, below 500000000, at 0x000E\n"), "{err}");
}

#[test]
fn break_on_trust_fail_and_the_trust_log() {
    let (_d, p) = program("trust.fasm", TRUST_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &["monitor break-on trust-fail", "continue", "p/x $pc", "p $r6", "monitor why", "continue", "p/x $pc", "monitor trust-log", "monitor trust-log 1", "monitor break-on off", "continue"],
    );
    assert_eq!(values(&out), ["0xd", "0", "0x1d"], "{out}");
    assert!(out.contains("trust check failed at 0x000A: agent 3 has trust 0.30 < threshold 0.50; now at 0x000D"), "{out}");
    assert!(out.contains("pc     agent  score  threshold result  cycle\n0x000A 3      0.30   0.50      FAIL    2\n0x0011 3      0.80   0.50      pass    4\n0x001A 4      0.00   0.50      FAIL    6"), "{out}");
    assert!(out.contains("pc     agent  score  threshold result  cycle\n0x001A 4      0.00   0.50      FAIL    6\n"), "trust-log 1 shows the newest: {out}");
    assert!(out.contains("exited normally"), "{out}");
}

#[test]
fn bad_conditions_point_at_the_token_and_arm_nothing() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &[
            "monitor break 0x0C if conf1 = 0.5",
            "monitor break 0x0C if r16 > 1",
            "monitor break 0x0C if r1 == 0.5",
            "monitor watch-if mem32[0xFFFE] == 1",
            "monitor watch-if trust[300] < 0.5",
            "monitor break 0x10000",
            "monitor break 0x0C when r1 == 1",
            "monitor watch-if r1 > 1 r2 < 3",
            "monitor delete 42",
            "monitor apoptosis-warn lots",
            "monitor list",
            "continue",
        ],
    );
    for expected in [
        "error: condition 'conf1 = 0.5': expected one of == != < <= > >=, found '=' (column 7, at '=')",
        "error: condition 'r16 > 1': unknown register 'r16': registers are r0-r15 (column 1, at 'r16')",
        "error: condition 'r1 == 0.5': r1 is an integer: a fraction like '0.5' does not belong here (column 7, at '0.5')",
        "error: condition 'mem32[0xFFFE] == 1': mem32[0xFFFE] is outside memory (column 7, at '0xFFFE]')",
        "error: condition 'trust[300] < 0.5': trust[300] is outside the agents 0-255 (column 7, at '300]')",
        "error: address 0x10000 is outside the 64 KiB of memory",
        "error: usage: monitor break ADDR [if COND]",
        "error: condition 'r1 > 1 r2 < 3': expected && or || before 'r2' (column 8, at 'r2')",
        "error: no stub-side breakpoint or watch 42",
        "error: usage: monitor apoptosis-warn ENERGY|off",
        "no stub-side breakpoints or watches",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(out.contains("exited normally"), "nothing was armed: {out}");
}

#[test]
fn watch_if_on_the_confidence_of_the_last_result() {
    let stub = Stub::start(&example("confidence.fasm"), &["--once"]);
    let out = gdb_batch(stub.port, &["monitor watch-if confidence < 0.7", "continue", "p/x $pc", "p $conf2", "monitor why"]);
    // CONF_SET r2, 60 at 0x10 is the first result below 0.7 (CONF_SET r1, 90 gave 0.9)
    assert_eq!(values(&out), ["0x14", "0.600000024"], "{out}");
    assert!(out.contains("watch 1: confidence < 0.7 (confidence = 0.6)"), "{out}");
}
