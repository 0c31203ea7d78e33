//! One name per function: a CALL target without a label, and an entry
//! without one, have the same names in gdb's `bt` (through the ELF from
//! `asm --elf`), in `monitor profile report`, in the speedscope file of
//! `run --profile` and in the CodeTracer trace of `run --trace`
//! (crate::program::names).
mod common;

use common::*;

/// main (0x0000-0x000B, no label) calls the function at 0x000C (no label):
/// the CALL names its target by address.
const PROGRAM: &str = "\
        LOAD_IMM  r1, 20
        CALL      0x000C
        HALT
        NOP
        NOP
        NOP
        NOP
        INCR      r1
        INCR      r1
        RET
";

#[test]
fn an_unlabeled_call_target_has_one_name_everywhere() {
    let (dir, src) = program("unnamed.fasm", PROGRAM);
    let elf = dir.path().join("unnamed.elf");
    let (code, _, err) = flux(&["asm", src.to_str().unwrap(), "-o", elf.to_str().unwrap(), "--elf"]);
    assert_eq!(code, 0, "{err}");

    // gdb: the symbols and call frames come from the ELF
    let stub = Stub::start(&elf, &["--once", "--save-dir", dir.path().to_str().unwrap()]);
    let out = gdb_batch(
        stub.port,
        &[
            &format!("file {}", elf.display()),
            "monitor profile on",
            "break *0x0E",
            "continue",
            "bt",
            "delete",
            "break *0x09",
            "continue",
            "monitor profile report 5",
        ],
    );
    assert!(out.contains("Breakpoint 1, fn_0x000C () at unnamed.fasm:8"), "{out}");
    assert!(out.contains("#0  fn_0x000C () at unnamed.fasm:8\n#1  0x00000009 in main () at unnamed.fasm:2"), "{out}");
    // the report names the function and the call path the same way
    assert!(out.contains("  0x000C   fn_0x000C                         1   14.3%  NOP"), "{out}");
    assert!(out.contains("               5   71.4%              5          1  main > fn_0x000C"), "{out}");
    assert!(!out.contains("fn_000C"), "{out}");

    // speedscope: the frames of the profile
    let prof = dir.path().join("p.speedscope.json");
    let (code, _, err) = flux(&["run", src.to_str().unwrap(), "--profile", prof.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&prof).unwrap()).unwrap();
    let mut frames: Vec<String> =
        v["shared"]["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect();
    frames.sort();
    assert_eq!(frames, ["fn_0x000C", "main"]);

    // CodeTracer: the functions of the trace
    let ct = dir.path().join("ct");
    let (code, _, err) =
        flux(&["run", src.to_str().unwrap(), "--trace", ct.to_str().unwrap(), "--trace-format", "codetracer"]);
    assert_eq!(code, 0, "{err}");
    let trace: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(ct.join("trace.json")).unwrap()).unwrap();
    let mut names: Vec<String> = trace
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.get("Function").and_then(|f| f["name"].as_str()).map(String::from))
        .collect();
    names.sort();
    assert_eq!(names, ["fn_0x000C", "main"]);
}

/// A program served from its ELF file: the report names its functions by
/// the ELF's symbols, as gdb's `bt` does (the labels `start` and `fib`).
#[test]
fn a_program_from_an_elf_file_is_reported_with_its_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("fibonacci.fasm");
    std::fs::copy(example("fibonacci.fasm"), &src).unwrap();
    let elf = dir.path().join("fibonacci.elf");
    let (code, _, err) = flux(&["asm", src.to_str().unwrap(), "-o", elf.to_str().unwrap(), "--elf"]);
    assert_eq!(code, 0, "{err}");
    let stub = Stub::start(&elf, &["--once", "--save-dir", dir.path().to_str().unwrap()]);
    let out = gdb_batch(
        stub.port,
        &[
            &format!("file {}", elf.display()),
            "monitor profile on",
            "break fib",
            "continue",
            "continue",
            "bt",
            "monitor profile report 3",
            "monitor profile save fib.speedscope.json",
        ],
    );
    assert!(out.contains("#0  fib () at fibonacci.fasm:10\n#1  0x0000001b in fib () at fibonacci.fasm:14\n#2  0x00000009 in start () at fibonacci.fasm:6"), "{out}");
    assert!(out.contains("               5   71.4%              5          1  start > fib\n"), "{out}");
    assert!(out.contains("               0    0.0%              0          1  start > fib > fib\n"), "{out}");
    assert!(!out.contains("fn_0x"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("fib.speedscope.json")).unwrap()).unwrap();
    let mut frames: Vec<String> =
        v["shared"]["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect();
    frames.sort();
    assert_eq!(frames, ["fib", "start"]);
}
