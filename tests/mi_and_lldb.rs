//! gdb/MI as an IDE drives it, and lldb, against flux-gdbstub.
mod common;

use std::process::Command;

use common::*;

/// Runs gdb/MI with `commands` on stdin (gdb handles them one after another,
/// waiting for each execution command to stop).
fn mi(commands: &[String]) -> String {
    let mut cmd = Command::new("gdb");
    cmd.args(["--interpreter=mi2", "-nx"]);
    let mut script = String::from("-gdb-set confirm off\n-gdb-set pagination off\n");
    for c in commands {
        script.push_str(c);
        script.push('\n');
    }
    script.push_str("-gdb-exit\n");
    let out = run_with_timeout(cmd, Some(&script));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The MI records that answer commands (^done, ^error, *stopped), in order.
fn records(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with('^') || l.starts_with("*stopped")).collect()
}

#[test]
fn gdb_mi_breakpoint_registers_step_memory_exit() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let names_out = mi(&[format!("-target-select remote 127.0.0.1:{}", stub.port), "-data-list-register-names".into(), "-target-detach".into()]);
    drop(stub);
    let names_line = names_out.lines().find(|l| l.starts_with("^done,register-names=")).expect(&names_out);
    let names: Vec<&str> = names_line.split('"').skip(1).step_by(2).collect();
    let r1 = names.iter().position(|n| *n == "r1").expect("r1 listed");
    let conf1 = names.iter().position(|n| *n == "conf1").expect("conf1 listed");
    let energy = names.iter().position(|n| *n == "energy").expect("energy listed");
    assert!(names.contains(&"eip") && names.contains(&"cycles"), "{names_line}");

    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = mi(&[
        format!("-target-select remote 127.0.0.1:{}", stub.port),
        "-break-insert *0x18".into(),
        "-exec-continue".into(),
        format!("-data-list-register-values N {r1} {conf1} {energy}"),
        "-exec-step-instruction".into(),
        "-data-evaluate-expression $pc".into(),
        "-data-read-memory-bytes 0xfff8 8".into(),
        "-break-delete".into(),
        "-exec-continue".into(),
    ]);
    let recs = records(&out);
    let find = |prefix: &str| recs.iter().find(|r| r.starts_with(prefix)).copied().unwrap_or_else(|| panic!("no {prefix} in\n{out}"));
    assert!(find("^done,bkpt=").contains("addr=\"0x00000018\""), "{out}");
    let hit = find("*stopped,reason=\"breakpoint-hit\"");
    assert!(hit.contains("frame={addr=\"0x00000018\""), "{out}");
    let regs = find("^done,register-values=");
    assert!(regs.contains(&format!("{{number=\"{r1}\",value=\"19\"}}")), "{regs}");
    assert!(regs.contains(&format!("{{number=\"{conf1}\",value=\"1\"}}")), "{regs}");
    // LOAD_IMM, CALL, CMP_I16, JL, PUSH_R and DECR ran: 6 units of energy.
    assert!(regs.contains(&format!("{{number=\"{energy}\",value=\"999999994\"}}")), "{regs}");
    assert!(find("*stopped,reason=\"end-stepping-range\"").contains("addr=\"0x0000000c\""), "{out}");
    assert!(out.contains("^done,value=\"0xc <fib>\""), "{out}");
    // The stack holds n = 20 (0x14) and the return address 0x09 of the first CALL.
    assert!(out.contains("contents=\"1400000009000000\""), "{out}");
    assert!(find("*stopped,reason=\"exited\"").contains("exit-code=\"0155\""), "{out}");
}

fn lldb(port: u16, cmds: &[&str]) -> String {
    let mut cmd = Command::new("lldb");
    cmd.args(["--batch", "--no-lldbinit", "-o", &format!("gdb-remote 127.0.0.1:{port}")]);
    for c in cmds {
        cmd.args(["-o", c]);
    }
    let out = run_with_timeout(cmd, None);
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn lldb_reads_flux_registers_steps_and_breaks() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = lldb(
        stub.port,
        &[
            "register read r1 conf1 energy",
            "si",
            "register read pc r1 conf1 energy cycles",
            "register write r5 77",
            "register read r5",
            "breakpoint set -a 0x18",
            "continue",
            "register read pc r1",
            "memory read -s4 -fx -c2 0xfff8",
            "process kill",
        ],
    );
    // every register line lldb printed, in order (exact lines: "r1 = 20"
    // must not pass for r1 = 200)
    let regs: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| ["eip = ", "r1 = ", "r5 = ", "conf1 = ", "energy = ", "cycles = "].iter().any(|p| l.starts_with(p)))
        .collect();
    assert_eq!(
        regs,
        [
            "r1 = 0", "conf1 = 1", "energy = 1000000000", // at reset
            "eip = 0x00000006", "r1 = 20", "conf1 = 1", "energy = 999999999", "cycles = 1", // LOAD_IMM r1, 20
            "r5 = 77",
            "eip = 0x00000018", "r1 = 19", // at the CALL of fib(19)
        ],
        "{out}"
    );
    assert!(out.contains("stop reason = breakpoint 1.1"), "{out}");
    assert!(out.contains("0x0000fff8: 0x00000014 0x00000009"), "{out}");
}

/// lldb (whose DAP adapter, lldb-vscode, IDEs use) puts a function
/// breakpoint on the function's first line, as gdb does: the DWARF marks
/// each function start `prologue_end` and lldb reads the subprograms.
#[test]
fn lldb_breaks_on_a_functions_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("fibonacci.fasm");
    std::fs::copy(example("fibonacci.fasm"), &src).unwrap();
    let elf = dir.path().join("fibonacci.elf");
    let (code, _, err) = flux(&["asm", src.to_str().unwrap(), "-o", elf.to_str().unwrap(), "--elf"]);
    assert_eq!(code, 0, "{err}");
    let stub = Stub::start(&elf, &["--once"]);
    let mut cmd = Command::new("lldb");
    cmd.args(["--batch", "--no-lldbinit", "-o", &format!("target create {}", elf.display())]);
    for c in [&format!("gdb-remote 127.0.0.1:{}", stub.port), "breakpoint set -n fib", "continue", "register read pc", "continue", "bt", "process kill"] {
        cmd.args(["-o", c]);
    }
    let o = run_with_timeout(cmd, None);
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("Breakpoint 1: where = fibonacci.elf`fib at fibonacci.fasm:10, address = 0x0000000c"), "{out}");
    assert!(out.contains("stop reason = breakpoint 1.1\n    frame #0: 0x0000000c fibonacci.elf`fib at fibonacci.fasm:10"), "{out}");
    assert!(out.contains("-> 10  \tfib:    CMP_I16   r1, 2"), "{out}");
    assert!(out.lines().any(|l| l.trim() == "eip = 0x0000000c  fibonacci.elf`fib at fibonacci.fasm:10"), "{out}");
    // the second hit, one call deeper: the frames name their functions and lines
    assert!(out.contains("frame #1: 0x0000001b fibonacci.elf`fib at fibonacci.fasm:14"), "{out}");
    assert!(out.contains("frame #2: 0x00000009 fibonacci.elf`start at fibonacci.fasm:6"), "{out}");
}

/// What gdbgui does with gdb/MI's register lists: it drops the empty names
/// of `-data-list-register-names` and shows, under the i-th name left, the
/// value `-data-list-register-values` gives for register number i.  The
/// target description declares the i386 registers gdb numbers before the
/// FLUX ones (unavailable), so no empty name shifts them: r1 shows 20.
#[test]
fn gdb_mi_register_names_leave_no_gap_before_the_flux_registers() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = mi(&[
        format!("-target-select remote 127.0.0.1:{}", stub.port),
        "-exec-step-instruction".into(),
        "-data-list-register-names".into(),
        "-data-list-register-values x".into(),
        "-target-detach".into(),
    ]);
    let names_line = out.lines().find(|l| l.starts_with("^done,register-names=")).expect(&out);
    let names: Vec<&str> = names_line.split('"').skip(1).step_by(2).collect();
    let r0 = names.iter().position(|n| *n == "r0").expect("r0 listed");
    assert_eq!(r0, 73, "{names:?}");
    assert_eq!(names[..r0].iter().filter(|n| n.is_empty()).count(), 0, "no empty name before r0: {names:?}");
    assert_eq!(&names[32..35], ["xmm0", "xmm1", "xmm2"], "{names:?}");
    assert_eq!(&names[71..75], ["pkru", "orig_eax", "r0", "r1"], "{names:?}");
    // gdbgui's pairing: the i-th non-empty name with value number i
    let shown: Vec<&str> = names.iter().copied().filter(|n| !n.is_empty()).collect();
    let values_line = out.lines().find(|l| l.starts_with("^done,register-values=")).expect(&out);
    let value_of = |i: usize| {
        let key = format!("{{number=\"{i}\",value=\"");
        let at = values_line.find(&key).unwrap_or_else(|| panic!("no value {i}: {values_line}")) + key.len();
        values_line[at..at + values_line[at..].find('"').unwrap()].to_string()
    };
    let pairs: Vec<(&str, String)> = [8, 73, 74, 89, 90, 105, 106].iter().map(|&i| (shown[i], value_of(i))).collect();
    assert_eq!(
        pairs,
        [
            ("eip", "0x6".to_string()),
            ("r0", "0x0".into()),
            ("r1", "0x14".into()), // LOAD_IMM r1, 20
            ("conf0", "0x3f800000".into()), // 1.0 as a float
            ("conf1", "0x3f800000".into()),
            ("energy", "0x3b9ac9ff".into()),
            ("cycles", "0x1".into()),
        ],
        "{values_line}"
    );
    assert_eq!(value_of(32), "<unavailable>", "xmm0: {values_line}");
}
