//! The flux-gdbstub command line: run, asm, disasm, and serve's address rules.
mod common;

use std::process::Command;

use common::*;


fn ex(name: &str) -> String {
    example(name).display().to_string()
}

#[test]
fn run_prints_output_and_exits_with_the_halt_code() {
    assert_eq!(flux(&["run", &ex("fibonacci.fasm")]), (109, "6765\n".into(), String::new()));
    assert_eq!(flux(&["run", &ex("memcpy.fasm")]), (0, "0\n34\n".into(), String::new()));
    assert_eq!(flux(&["run", &ex("confidence.fasm")]), (1, "42\n95\n1\n".into(), String::new()));
}

#[test]
fn run_reports_apoptosis_and_exits_128_plus_sigxcpu() {
    let (code, out, err) = flux(&["run", &ex("energy.fasm")]);
    assert_eq!(code, 128 + 24);
    assert_eq!(out.lines().count(), 9, "nine rounds were paid for: {out}");
    assert_eq!(out.lines().last(), Some("99999955"));
    assert_eq!(err, "flux-gdbstub: SIGXCPU at 0x000C: apoptosis: energy exhausted at 0x000C (ATP_USE needs more than the 99999953 left)\n");
}

#[test]
fn run_honours_energy_and_seed() {
    let (_d, p) = program("rng.fasm", "RNG_NEXT r1\nDBG_PRINT r1\nHALT\n");
    let a = flux(&["run", p.to_str().unwrap(), "--seed", "7"]);
    let b = flux(&["run", p.to_str().unwrap(), "--seed", "7"]);
    let c = flux(&["run", p.to_str().unwrap(), "--seed", "8"]);
    assert_eq!(a, b, "same seed, same run");
    assert_ne!(a.1, c.1, "another seed, another number");
    let (code, _, err) = flux(&["run", &ex("fibonacci.fasm"), "--energy", "10"]);
    assert_eq!(code, 152, "{err}");
}

#[test]
fn faults_exit_with_128_plus_the_signal_and_say_why() {
    let cases = [
        ("LOAD_IMM r1, 0x20000\nLOAD r2, r1\n", 128 + 11, "SIGSEGV at 0x0006"),
        ("LOAD_IMM r2, 0\nCDIV r3, r1, r2\n", 128 + 8, "SIGFPE at 0x0006"),
        ("DB 0xFF\n", 128 + 4, "SIGILL at 0x0000: invalid opcode 0xFF"),
        ("PANIC 7\n", 128 + 6, "SIGABRT at 0x0000: PANIC 0x7"),
        ("APOPTOSIS\n", 128 + 24, "SIGXCPU at 0x0000: apoptosis: APOPTOSIS at 0x0000"),
    ];
    for (src, status, msg) in cases {
        let (_d, p) = program("f.fasm", src);
        let (code, _, err) = flux(&["run", p.to_str().unwrap()]);
        assert_eq!(code, status, "{src}: {err}");
        assert!(err.starts_with(&format!("flux-gdbstub: {msg}")), "{src}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn asm_then_disasm_gives_flux_disasm_listing() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("fib.bin");
    let (code, _, err) = flux(&["asm", &ex("fibonacci.fasm"), "-o", bin.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&bin).unwrap();
    let (code, listing, _) = flux(&["disasm", bin.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(listing.starts_with(&format!("; flux-disasm: {} bytes\n  0000: LOAD_IMM      r1, 0x14\n  0006: CALL          0xC\n", bytes.len())), "{listing}");
    // The listing assembles back to the same bytes.
    let relisted = dir.path().join("relisted.fasm");
    std::fs::write(&relisted, &listing).unwrap();
    let again = dir.path().join("again.bin");
    assert_eq!(flux(&["asm", relisted.to_str().unwrap(), "-o", again.to_str().unwrap()]).0, 0);
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
    // And the bytecode runs like the source.
    assert_eq!(flux(&["run", bin.to_str().unwrap()]).0, 109);
}

#[test]
fn disasm_matches_the_flux_disasm_example_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("x.bin");
    std::fs::write(&bin, [0x04, 0x2A, 0x00, 0x05, 0x00, 0x20, 0x02, 0x00, 0x01, 0x07, 0x03, 0x10, 0x00, 0x82, 0x03, 0x5F, 0x00, 0x0B, 0xFF]).unwrap();
    let (_, listing, _) = flux(&["disasm", bin.to_str().unwrap()]);
    assert_eq!(
        listing,
        "; flux-disasm: 19 bytes\n  0000: PUSH          0x2A\n  0003: POP           r0\n  0005: CADD          r2, r0, r1\n  0009: JZ            r3, 0x10\n  000D: CONF_SET      r3, 0x5F\n  0011: HALT\n  0012: DB 0xFF\n"
    );
}

#[test]
fn assembly_errors_name_file_line_and_column() {
    let (_d, p) = program("bad.fasm", "start: NOP\n        CADD r1, r2, 5\n");
    let path = p.to_str().unwrap();
    let (code, _, err) = flux(&["asm", path, "-o", "/dev/null"]);
    assert_eq!(code, 1);
    assert_eq!(err, format!("{path}:2:22: CADD expects a register here (r0-r15), found '5'\n"));
    let (code, _, err) = flux(&["run", path]);
    assert_eq!(code, 2);
    assert_eq!(err, format!("flux-gdbstub: {path}:2:22: CADD expects a register here (r0-r15), found '5'\n"));
    let (code, _, err) = flux(&["serve", path, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2, "serve refuses a bad program before listening: {err}");
}

#[test]
fn bad_program_files_get_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![0u8; 0x10001]).unwrap();
    let garbage = dir.path().join("garbage.fasm");
    std::fs::write(&garbage, b"\xff\xfe\x00 junk \x01\n").unwrap();
    for (path, msg) in [
        (empty.clone(), "the file is empty"),
        (big.clone(), "65537 bytes of bytecode do not fit in 64 KiB of memory"),
        (dir.path().join("missing.bin"), "No such file or directory"),
        (garbage.clone(), "1:1: invalid UTF-8 (byte 0xFF): sources are UTF-8 text"),
    ] {
        let (code, _, err) = flux(&["run", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(msg), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn serve_listens_on_loopback_and_warns_for_other_addresses() {
    let mut stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    assert!(stub.stderr().contains("listening on 127.0.0.1:"));
    assert!(!stub.stderr().contains("warning"));
    let out = gdb_batch(stub.port, &["continue"]);
    assert!(out.contains("exited with code 0155"), "{out}");
    assert!(stub.wait_exit().success(), "--once: the server ends after one session");

    let mut cmd = Command::new(stub_bin());
    cmd.args(["serve", &ex("fibonacci.fasm"), "--listen", "0.0.0.0:0", "--once"]);
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut err = String::new();
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(Ok(l)) = lines.next() {
        err.push_str(&l);
        err.push('\n');
        if l.contains("listening on") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let cwd = std::fs::canonicalize(std::env::current_dir().unwrap()).unwrap();
    let warning = err.lines().find(|l| l.contains("warning")).unwrap_or_default();
    assert!(warning.starts_with("flux-gdbstub: warning: listening on 0.0.0.0:"), "{err}");
    assert!(
        warning.ends_with(&format!(
            ", which other machines can reach; anyone who connects can run and change the VM and write files in {}",
            cwd.display()
        )),
        "{err}"
    );
}

#[test]
fn devices_and_fifos_are_refused_as_inputs_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("prog.bin");
    let fifo_fasm = dir.path().join("prog.fasm");
    for f in [&fifo, &fifo_fasm] {
        assert!(Command::new("mkfifo").arg(f).status().unwrap().success());
    }
    let (fifo, fifo_fasm) = (fifo.to_str().unwrap(), fifo_fasm.to_str().unwrap());
    let out = dir.path().join("out.bin");
    let out = out.to_str().unwrap();
    let zero = "flux-gdbstub: /dev/zero: a character device, not a regular file\n".to_string();
    let fifo_msg = format!("flux-gdbstub: {fifo}: a FIFO, not a regular file\n");
    let cases: Vec<(Vec<&str>, String)> = vec![
        // /dev/zero used to be read until memory ran out
        (vec!["run", "/dev/zero"], zero.clone()),
        (vec!["disasm", "/dev/zero"], zero.clone()),
        (vec!["asm", "/dev/zero", "-o", out], zero.clone()),
        (vec!["serve", "/dev/zero", "--listen", "127.0.0.1:0"], zero.clone()),
        // a FIFO with no writer used to block
        (vec!["run", fifo], fifo_msg.clone()),
        (vec!["run", fifo_fasm], format!("flux-gdbstub: {fifo_fasm}: a FIFO, not a regular file\n")),
        (vec!["asm", fifo_fasm, "-o", out], format!("flux-gdbstub: {fifo_fasm}: a FIFO, not a regular file\n")),
        (vec!["serve", "--replay", fifo, "--listen", "127.0.0.1:0"], fifo_msg.clone()),
        (vec!["replay", "diff", fifo, fifo], fifo_msg.clone()),
        (vec!["explore", fifo, "--seeds", "0..2"], fifo_msg.clone()),
    ];
    for (args, msg) in cases {
        let (code, stdout, err) = flux(&args);
        assert_eq!((code, stdout.as_str(), err.as_str()), (2, "", msg.as_str()), "{args:?}");
    }
    assert!(!std::path::Path::new(out).exists());
}

#[test]
fn program_files_are_size_checked_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    // sparse files: their size is read, not their bytes
    let big_src = dir.path().join("big.fasm");
    std::fs::File::create(&big_src).unwrap().set_len(17 << 20).unwrap();
    let big_elf = dir.path().join("big.elf");
    let mut f = std::fs::File::create(&big_elf).unwrap();
    std::io::Write::write_all(&mut f, b"\x7fELF").unwrap();
    f.set_len(17 << 20).unwrap();
    let big_bin = dir.path().join("big.bin");
    std::fs::File::create(&big_bin).unwrap().set_len(1 << 30).unwrap();
    for (p, msg) in [
        (&big_src, "17825792 bytes, more than the 16777216 read at most"),
        (&big_elf, "17825792 bytes, more than the 16777216 read at most"),
        (&big_bin, "1073741824 bytes of bytecode do not fit in 64 KiB of memory"),
    ] {
        let p = p.to_str().unwrap();
        let (code, _, err) = flux(&["run", p]);
        assert_eq!((code, err), (2, format!("flux-gdbstub: {p}: {msg}\n")));
    }
}

#[test]
fn a_huge_token_gives_a_short_error_line() {
    let (_d, p) = program("big.fasm", &format!("start:  NOP\n        LOAD_IMM r1, {}\n", "9".repeat(5_000_000)));
    let p = p.to_str().unwrap();
    let msg = format!("{p}:2:22: bad number '99999999999999999999999999999999...' (5000000 characters)\n");
    assert_eq!(flux(&["run", p]), (2, String::new(), format!("flux-gdbstub: {msg}")));
    assert_eq!(flux(&["asm", p, "-o", "/dev/null"]), (1, String::new(), msg));
    let (_d, p) = program("big.fasm", &format!("{} r1\n", "X".repeat(1_000_000)));
    let p = p.to_str().unwrap();
    let msg = format!("{p}:1:1: unknown mnemonic 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX...' (1000000 characters)\n");
    assert_eq!(flux(&["asm", p, "-o", "/dev/null"]), (1, String::new(), msg));
}

#[test]
fn invalid_utf8_is_the_same_error_for_asm_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.fasm");
    // Latin-1 in a comment
    std::fs::write(&bad, b"start: NOP\n  HALT ; caf\xe9\n").unwrap();
    let bad = bad.to_str().unwrap();
    let msg = format!("{bad}:2:13: invalid UTF-8 (byte 0xE9): sources are UTF-8 text\n");
    let out = dir.path().join("bad.bin");
    assert_eq!(flux(&["asm", bad, "-o", out.to_str().unwrap()]), (1, String::new(), msg.clone()));
    assert!(!out.exists());
    assert_eq!(flux(&["run", bad]), (2, String::new(), format!("flux-gdbstub: {msg}")));
    let (code, _, err) = flux(&["serve", bad, "--listen", "127.0.0.1:0"]);
    assert_eq!((code, err), (2, format!("flux-gdbstub: {msg}")));
    // the same comment in UTF-8: both accept it
    let good = dir.path().join("good.fasm");
    std::fs::write(&good, "start: NOP\n  HALT ; café\n").unwrap();
    let good = good.to_str().unwrap();
    assert_eq!(flux(&["asm", good, "-o", out.to_str().unwrap()]), (0, String::new(), String::new()));
    assert_eq!(std::fs::read(&out).unwrap(), [0x00, 0x0B]);
    assert_eq!(flux(&["run", good]), (0, String::new(), String::new()));
}
