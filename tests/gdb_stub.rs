//! Stock gdb (`-batch`) against flux-gdbstub: registers, memory, breakpoints,
//! watchpoints, signals, exit codes, monitor commands, Ctrl-C, reconnection
//! and bad input.  Every test asserts the values gdb shows.
mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const LOOP_PROG: &str = "
spin:   INCR     r1            ; 0x00
        STORE32  r1, 0x8000    ; 0x02
        JMP      spin          ; 0x06
";

#[test]
fn registers_and_confidences_after_steps() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(
        stub.port,
        &["p/x $pc", "p/x $sp", "stepi", "p/x $pc", "p $r1", "p $conf1", "p $energy", "p $cycles", "stepi", "p/x $pc", "p/x $sp", "x/wx $sp"],
    );
    let v = values(&out);
    assert_eq!(v[..8], ["0x0", "0x10000", "0x6", "20", "1", "999999999", "1", "0xc"], "{out}");
    assert_eq!(v[8], "0xfffc", "{out}");
    // CALL pushed the address of the instruction after it (DBG_PRINT at 0x09).
    assert!(out.contains("0xfffc:\t0x00000009"), "{out}");
}

#[test]
fn register_writes_reach_the_vm() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(
        stub.port,
        &["set $r3 = -42", "set $conf3 = 0.25", "set $energy = 12345", "p $r3", "p $conf3", "p $energy", "monitor info"],
    );
    assert_eq!(values(&out), ["-42", "0.25", "12345"], "{out}");
    assert!(out.contains("r3=-42 (0.25)"), "the VM itself holds the new values: {out}");
    assert!(out.contains("energy=12345"), "{out}");
}

#[test]
fn eflags_carries_the_flux_flags() {
    // CMP_I16 r1, 2 with r1 = 20: 20 - 2 is positive: no Z, no S.  Then with r1 = 1: S set.
    let (_d, p) = program("flags.fasm", "LOAD_IMM r1, 1\nCMP_I16 r1, 2\nCMP_I16 r1, 1\nHALT\n");
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["stepi 2", "p $eflags", "stepi", "p $eflags"]);
    let v = values(&out);
    assert_eq!(v.len(), 2, "{out}");
    assert!(v[0].contains("CF") && v[0].contains("SF") && !v[0].contains("ZF"), "1 - 2 borrows and is negative: {out}");
    assert!(v[1].contains("ZF") && !v[1].contains("SF"), "1 - 1 is zero: {out}");
}

#[test]
fn software_and_hardware_breakpoints_stop_before_the_instruction() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    // 0x18 is the first `CALL fib` inside fib: reached with n = 19, 18, ...
    let out = gdb_batch(
        stub.port,
        &["break *0x18", "continue", "p/x $pc", "p $r1", "continue", "p $r1", "delete", "hbreak *0x2D", "continue", "p/x $pc", "p $r1", "x/2i $pc"],
    );
    let v = values(&out);
    assert_eq!(v, ["0x18", "19", "18", "0x2d", "1"], "{out}");
    assert!(out.contains("Breakpoint 1, fib () at fibonacci.fasm:14"), "{out}");
    assert!(out.contains("Hardware assisted breakpoint 2"), "{out}");
}

#[test]
fn breakpoints_do_not_patch_memory() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(stub.port, &["break *0x0C", "set breakpoint always-inserted on", "x/1bx 0x0C", "p *(unsigned char*)0x0C"]);
    // 0x79 is CMP_I16: gdb reads the real opcode byte, not an int3.
    assert!(out.contains("0xc <fib>:\t0x79"), "{out}");
}

#[test]
fn write_watchpoints_report_old_and_new_values_and_stop_after_the_write() {
    let (_d, p) = program("watch.fasm", WATCH_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["watch *(int*)0x8000", "continue", "p/x $pc", "continue", "p/x $pc", "continue"]);
    assert!(out.contains("Old value = 0\nNew value = 1"), "{out}");
    assert!(out.contains("Old value = 1\nNew value = 2"), "{out}");
    assert_eq!(values(&out), ["0xa", "0x14"], "{out}");
    assert!(out.contains("exited normally"), "{out}");
}

#[test]
fn read_and_access_watchpoints() {
    let (_d, p) = program("watch.fasm", WATCH_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["rwatch *(int*)0x8000", "continue", "p/x $pc", "p $r2"]);
    assert!(out.contains("Value = 2"), "{out}");
    assert_eq!(values(&out), ["0x18", "2"], "{out}");
    drop(stub);

    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["awatch *(int*)0x8000", "continue", "p/x $pc", "continue", "p/x $pc"]);
    assert!(out.contains("Hardware access (read/write) watchpoint 1"), "{out}");
    assert_eq!(values(&out), ["0xa", "0x14"], "{out}");
}

#[test]
fn a_long_watchpoint_covers_its_whole_range() {
    // A 16-byte watch; the write lands in its last word.
    let (_d, p) = program("w16.fasm", "LOAD_IMM r1, 7\nSTORE32 r1, 0x800C\nHALT\n");
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["watch *(char(*)[16])0x8000", "continue", "p/x $pc", "x/wx 0x800C"]);
    assert!(out.contains("watchpoint 1: *(char(*)[16])0x8000"), "{out}");
    assert!(out.contains("New value = '\\000' <repeats 12 times>, \"\\a\\000\\000\""), "{out}");
    assert_eq!(values(&out), ["0xa"], "{out}");
}

#[test]
fn memory_reads_writes_and_the_edge_of_memory() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(
        stub.port,
        &[
            "set {int}0x8000 = 0x12345678",
            "x/wx 0x8000",
            "x/4bx 0x8000",
            "restore /dev/null binary 0x9000",
            "x/2bx 0xFFFE",
            "x/wx 0x10000",
            "p *(int*)0xFFFFFFF0",
        ],
    );
    assert!(out.contains("0x8000:\t0x12345678"), "{out}");
    assert!(out.contains("0x8000:\t0x78\t0x56\t0x34\t0x12"), "{out}");
    assert!(out.contains("0xfffe:\t0x00\t0x00"), "{out}");
    assert!(out.contains("Cannot access memory at address 0x10000"), "{out}");
    assert!(out.contains("Cannot access memory at address 0xfffffff0"), "{out}");
}

#[test]
fn exit_code_is_the_halt_code() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(stub.port, &["continue"]);
    // fib(20) = 6765; 6765 & 0xFF = 109 = 0155 in octal, as gdb prints it.
    assert!(out.contains("exited with code 0155"), "{out}");
    assert_eq!(stub.stdout(), "6765\n");
}

fn fault_case(src: &str, extra: &[&str], signal: &str, pc: &str) -> String {
    let (_d, p) = program("fault.fasm", src);
    let stub = Stub::start(&p, extra);
    let out = gdb_batch(stub.port, &["continue", "p/x $pc", "monitor why", "continue"]);
    assert!(out.contains(&format!("Program received signal {signal}")), "{out}");
    assert_eq!(values(&out).first().map(String::as_str), Some(pc), "{out}");
    // FLUX programs have no handlers: passing the signal on ends the program.
    assert!(out.contains(&format!("Program terminated with signal {signal}")), "{out}");
    out
}

#[test]
fn segmentation_fault_at_the_faulting_instruction() {
    let out = fault_case("LOAD_IMM r1, 0x20000\nLOAD r2, r1\nHALT\n", &["--once"], "SIGSEGV", "0x6");
    assert!(out.contains("SIGSEGV at 0x0006: LOAD          r2, r1: read of 4 bytes at 0x20000 is outside memory"), "{out}");
}

#[test]
fn division_by_zero_is_sigfpe() {
    let out = fault_case("LOAD_IMM r1, 7\nLOAD_IMM r2, 0\nCDIV r3, r1, r2\nHALT\n", &["--once"], "SIGFPE", "0xc");
    assert!(out.contains("division by zero"), "{out}");
}

#[test]
fn invalid_opcode_is_sigill() {
    let out = fault_case("NOP\nDB 0xF8\n", &["--once"], "SIGILL", "0x1");
    assert!(out.contains("invalid opcode 0xF8 at 0x0001"), "{out}");
}

#[test]
fn illegal_register_operand_is_sigill() {
    let out = fault_case("NOP\nMOV r1, r16\n", &["--once"], "SIGILL", "0x1");
    assert!(out.contains("illegal register operand 16"), "{out}");
}

#[test]
fn panic_is_sigabrt() {
    let out = fault_case("NOP\nPANIC 0x42\n", &["--once"], "SIGABRT", "0x1");
    assert!(out.contains("PANIC 0x42"), "{out}");
}

#[test]
fn energy_exhaustion_is_sigxcpu_then_termination() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--energy", "100"]);
    let out = gdb_batch(stub.port, &["continue", "p $energy", "p $cycles", "monitor why", "continue"]);
    assert!(out.contains("Program received signal SIGXCPU"), "{out}");
    assert_eq!(values(&out), ["0", "100"], "exactly 100 unit-cost instructions ran: {out}");
    assert!(out.contains("apoptosis: energy exhausted"), "{out}");
    assert!(out.contains("Program terminated with signal SIGXCPU"), "{out}");
}

#[test]
fn brk_stops_with_sigtrap_after_it() {
    let (_d, p) = program("brk.fasm", "NOP\nBRK\nLOAD_IMM r0, 3\nHALT\n");
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["continue", "p/x $pc", "continue"]);
    assert!(out.contains("Program received signal SIGTRAP"), "{out}");
    assert_eq!(values(&out), ["0x2"], "{out}");
    assert!(out.contains("exited with code 03"), "{out}");
}

#[test]
fn monitor_commands_answer_and_bad_ones_get_one_line() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(
        stub.port,
        &[
            "monitor help",
            "monitor disas 0 3",
            "break *0x18",
            "continue",
            "monitor why",
            "monitor info",
            "monitor frobnicate",
            "monitor disas zz",
            "monitor reset",
            "maintenance flush register-cache",
            "p/x $pc",
        ],
    );
    for cmd in ["monitor why", "monitor disas [ADDR [N]]", "monitor info", "monitor reset"] {
        assert!(out.contains(cmd), "help lists {cmd}: {out}");
    }
    assert!(out.contains("=> 0000: LOAD_IMM      r1, 0x14\n   0006: CALL          0xC\n   0009: DBG_PRINT     r0"), "{out}");
    assert!(out.contains("breakpoint at 0x0018: CALL          0xC"), "{out}");
    assert!(out.contains("program: ") && out.contains("pc=0x0018") && out.contains("r1=19 (1.00)"), "{out}");
    assert!(out.contains("error: unknown monitor command 'frobnicate'; `monitor help` lists them"), "{out}");
    assert!(out.contains("error: usage: monitor disas [ADDR [N]]"), "{out}");
    assert!(out.contains("reset: pc=0x0000"), "{out}");
    assert_eq!(values(&out), ["0x0"], "{out}");
}

#[test]
fn ctrl_c_interrupts_a_tight_loop() {
    let (_d, p) = program("loop.fasm", LOOP_PROG);
    // Packet tracing tells us when gdb has really sent the continue.
    let stub = Stub::start_env(&p, &["--once"], &[("RUST_LOG", "gdbstub=trace")]);
    let mut gdb = Command::new("gdb");
    gdb.args(["-batch", "-nx", "-ex", "set pagination off", "-ex", &format!("target remote 127.0.0.1:{}", stub.port)]);
    gdb.args(["-ex", "continue", "-ex", "p/x $pc", "-ex", "p $r1", "-ex", "p $cycles", "-ex", "p *(int*)0x8000", "-ex", "monitor why"]);
    gdb.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = gdb.spawn().expect("gdb");
    stub.wait_for_stderr("<-- $vCont;c");
    let sent = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = wait_output(child, "gdb interrupted by SIGINT");
    let waited = sent.elapsed();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Program received signal SIGINT"), "{text}");
    // The stop lands on any of the loop's three instructions; wherever it
    // is, the state is exactly that of `cycles` instructions run: after k
    // rounds pc=0 has r1 = k, cycles = 3k, mem = k; pc=2 one INCR later;
    // pc=6 one STORE32 after that.
    let v = values(&text);
    assert_eq!(v.len(), 4, "{text}");
    let pc = u32::from_str_radix(v[0].trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("{text}"));
    let (r1, cycles, mem): (i64, i64, i64) = (v[1].parse().unwrap(), v[2].parse().unwrap(), v[3].parse().unwrap());
    assert!(r1 > 1000, "the loop ran: {text}");
    let expected = match pc {
        0x0 => (3 * r1, r1),
        0x2 => (3 * r1 - 2, r1 - 1),
        0x6 => (3 * r1 - 1, r1),
        other => panic!("pc 0x{other:X} is no instruction of the loop: {text}"),
    };
    assert_eq!((cycles, mem), expected, "pc 0x{pc:X}, r1 {r1}: {text}");
    assert!(text.contains(&format!("interrupted (SIGINT) at 0x{pc:04X}: ")), "{text}");
    eprintln!("gdb saw the stop {waited:?} after SIGINT");
}

#[test]
fn stdio_transport_with_target_remote_pipe() {
    let out = gdb_stdio(&example("fibonacci.fasm"), &["stepi", "p $r1", "continue"]);
    assert_eq!(values(&out), ["20"], "{out}");
    assert!(out.contains("exited with code 0155"), "{out}");
    // The program's output went to stderr, not into the protocol.
    assert!(out.contains("6765"), "{out}");
}

#[test]
fn the_vm_stays_for_the_next_gdb_after_detach_and_restarts_after_exit() {
    let stub = Stub::start(&example("fibonacci.fasm"), &[]);
    let out = gdb_batch(stub.port, &["break *0x18", "continue", "continue", "p $r1", "detach"]);
    assert_eq!(values(&out), ["18"], "{out}");
    let out = gdb_batch(stub.port, &["p/x $pc", "p $r1", "continue"]);
    assert_eq!(values(&out), ["0x18", "18"], "the second gdb finds the VM where the first left it: {out}");
    assert!(out.contains("exited with code 0155"), "{out}");
    let out = gdb_batch(stub.port, &["p/x $pc", "p $r1", "p $cycles"]);
    assert_eq!(values(&out), ["0x0", "0", "0"], "after the exit the program starts over: {out}");
}

#[test]
fn garbage_on_the_socket_does_not_stop_the_server() {
    let stub = Stub::start(&example("fibonacci.fasm"), &[]);
    for junk in [
        &b"\x00\xff\xfe garbage \x03\x03"[..],
        b"$zz#00$m1000000000000000000,4#00",
        b"+$g#67$M0,1:zz#00",
        b"$qXfer:features:read:target.xml:0,ffffffffffffffff#00",
        b"$vCont;c:zz#00",
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", stub.port)).expect("connect");
        let _ = s.write_all(junk);
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        drop(s);
    }
    let out = gdb_batch(stub.port, &["stepi", "p $r1"]);
    assert_eq!(values(&out), ["20"], "{out}");
}

#[test]
fn a_gdb_that_vanishes_mid_continue_leaves_the_vm_for_the_next() {
    let (_d, p) = program("loop.fasm", LOOP_PROG);
    let stub = Stub::start_env(&p, &[], &[("RUST_LOG", "gdbstub=trace")]);
    let mut gdb = Command::new("gdb");
    gdb.args(["-batch", "-nx", "-ex", &format!("target remote 127.0.0.1:{}", stub.port), "-ex", "continue"]);
    gdb.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = gdb.spawn().expect("gdb");
    stub.wait_for_stderr("<-- $vCont;c");
    child.kill().expect("kill gdb");
    let _ = wait_output(child, "gdb killed mid-continue");
    stub.wait_for_stderr("session ended: ConnectionLost");
    let out = gdb_batch(stub.port, &["p $r1", "p $cycles", "p *(int*)0x8000", "p/x $pc"]);
    let v = values(&out);
    assert_eq!(v.len(), 4, "{out}");
    // the loop ran, and the state is that of `cycles` instructions (see
    // ctrl_c_interrupts_a_tight_loop)
    let (r1, cycles, mem): (i64, i64, i64) = (v[0].parse().unwrap(), v[1].parse().unwrap(), v[2].parse().unwrap());
    assert!(r1 > 0, "{out}");
    let expected = match v[3].as_str() {
        "0x0" => (3 * r1, r1),
        "0x2" => (3 * r1 - 2, r1 - 1),
        "0x6" => (3 * r1 - 1, r1),
        other => panic!("pc {other} is no instruction of the loop: {out}"),
    };
    assert_eq!((cycles, mem), expected, "{out}");
}
