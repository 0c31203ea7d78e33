//! gdb's own breakpoint conditions evaluated inside the VM: the stub
//! advertises ConditionalBreakpoints+, gdb sends each condition it can compile
//! as an agent expression with the Z0 packet, and the VM stops only where one
//! holds.  Agent-style dprintf prints through gdb's console without a stop.
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;

/// The Z0 packets gdb sent (from `set debug remote 1`).
fn z0_packets(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split("Sending packet: $").nth(1))
        .filter(|p| p.starts_with("Z0"))
        .map(|p| p.split('#').next().unwrap_or(p).to_string())
        .collect()
}

#[test]
fn break_if_goes_to_the_stub_and_stops_only_where_it_holds() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start_env(&p, &["--once"], &[("RUST_LOG", "info")]);
    let out = gdb_batch(
        stub.port,
        &[
            "set debug remote 1",
            "break *0x0C if $r1 == 3",
            "continue",
            "set debug remote 0",
            "p $r1",
            "p/x $pc",
            "monitor why",
            "info breakpoints",
            "continue",
        ],
    );
    // reg 33 (r1); ext 32; const8 3; equal; end
    assert_eq!(z0_packets(&out), ["Z0,c,1;X9,260021162022031327"], "{out}");
    assert!(out.contains("Breakpoint 1, main () at count.fasm:5"), "{out}");
    assert_eq!(values(&out), ["3", "0xc"], "{out}");
    assert!(out.contains("breakpoint at 0x000C: gdb's condition r1 == 3 held (evaluated by the stub): CMP_EQ"), "{out}");
    assert!(out.contains("stop only if $r1 == 3 (target evals)"), "{out}");
    assert!(out.contains("breakpoint already hit 1 time"), "one stop, not three: {out}");
    assert!(out.contains("[Inferior 1 (process 1) exited normally]"), "{out}");
    stub.wait_for_stderr("breakpoint at 0x000C: condition r1 == 3 (as the stub's condition r1 == 3)");
}

#[test]
fn conditions_on_memory_and_on_a_confidence_register() {
    // memory: the first fib frame's saved n (20) at 0xFFF8; the first entry
    // of fib after it was pushed is fib(19)'s
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(stub.port, &["set debug remote 1", "break *0xc if *(int*)0xFFF8 == 20", "continue", "set debug remote 0", "p $r1", "x/wd 0xfff8"]);
    // const32 0xfff8; ref32; ext 32; const8 20; equal; end
    assert_eq!(z0_packets(&out), ["Z0,c,1;Xc,240000fff819162022141327"], "{out}");
    assert_eq!(values(&out), ["19"], "{out}");
    assert!(out.contains("0xfff8:\t20"), "{out}");
    drop(stub);

    // gdb compiles no float comparison to bytecode: it sends the breakpoint
    // without a condition and evaluates $conf3 < 0.6 itself
    let stub = Stub::start(&example("confidence.fasm"), &["--once"]);
    let out = gdb_batch(stub.port, &["set debug remote 1", "break *0x1E if $conf3 < 0.6", "continue", "set debug remote 0", "p $conf3", "p/x $pc"]);
    assert!(z0_packets(&out).iter().all(|z| z == "Z0,1e,1"), "{out}");
    assert_eq!(values(&out), ["0.540000021", "0x1e"], "{out}");
}

#[test]
fn condition_changes_and_removes_it_and_tbreak_if() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &[
            "break *0x0C if $r1 == 3",
            "tbreak *0x10 if $r1 == 5",
            "continue",
            "p $r1",
            "condition 1 $r1 == 4",
            "set debug remote 1",
            "continue",
            "set debug remote 0",
            "p $r1",
            "p/x $pc",
            "continue",
            "p $r1",
            "condition 1",
            "continue",
            "p $r1",
            "info breakpoints",
            "delete",
            "continue",
        ],
    );
    // r1 == 3 at 0x0C; r1 == 4 at 0x0C (the new condition); the tbreak at
    // 0x10 with r1 == 5 (then gone); no condition: the next pass, r1 = 6
    assert_eq!(values(&out), ["3", "4", "0xc", "5", "6"], "{out}");
    assert!(z0_packets(&out).contains(&"Z0,c,1;X9,260021162022041327".to_string()), "the new condition went to the stub: {out}");
    assert!(out.contains("Temporary breakpoint 2, main () at count.fasm:6"), "{out}");
    assert!(!out.contains("stop only if"), "condition 1 removed it: {out}");
    assert!(out.contains("[Inferior 1 (process 1) exited normally]"), "{out}");
}

#[test]
fn a_condition_gdb_cannot_compile_is_evaluated_by_gdb() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    // a convenience function call: gdb keeps it and sends a plain Z0
    let out = gdb_batch(
        stub.port,
        &["set debug remote 1", "break *0x0C if $r1 == $_strlen(\"abc\")", "continue", "set debug remote 0", "p $r1", "info breakpoints"],
    );
    assert!(!z0_packets(&out).is_empty() && z0_packets(&out).iter().all(|z| z == "Z0,c,1"), "{out}");
    assert_eq!(values(&out), ["3"], "{out}");
    assert!(out.contains("(host evals)"), "{out}");
}

/// A raw remote-protocol client: one packet, one reply.
struct Raw {
    s: TcpStream,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        Raw { s }
    }

    fn send(&mut self, body: &str) -> String {
        let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        self.s.write_all(format!("${body}#{sum:02x}").as_bytes()).unwrap();
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            let n = self.s.read(&mut byte).expect("a reply before the timeout");
            assert_eq!(n, 1, "the stub closed the connection after {body:?}");
            buf.push(byte[0]);
            if let Some(start) = buf.iter().position(|&b| b == b'$') {
                if buf.len() >= 3 && buf[buf.len() - 3] == b'#' && buf.len() - 3 > start {
                    return unrle(&buf[start + 1..buf.len() - 3]);
                }
            }
        }
    }
}

/// Undoes the protocol's run-length encoding (`X*N`: X repeated N - 29 more times).
fn unrle(body: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'*' && i + 1 < body.len() {
            let last = *out.last().expect("a run repeats something");
            out.extend(std::iter::repeat_n(last, (body[i + 1] - 29) as usize));
            i += 2;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn malformed_bytecode_gets_an_error_and_changes_nothing() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let mut raw = Raw::connect(stub.port);
    let features = raw.send("qSupported:swbreak+");
    assert!(features.contains(";ConditionalBreakpoints+") && features.contains(";BreakpointCommands+"), "{features}");
    // r1 == 3 at 0xC
    assert_eq!(raw.send("Z0,c,1;X9,260021162022031327"), "OK");
    for bad in [
        "Z0,c,1;X9,2600211620220313",     // shorter than its length
        "Z0,c,1;X3,2600zz",               // not hex
        "Z0,c,1;Y2,2227",                 // not a condition list
        "Z0,c,1;X2,ff27",                 // 0xff is no opcode
        "Z0,c,1;X4,21000527",             // a jump into an operand
        "Z0,c,1;X3,250102",               // const64 cut short
        "Z0,c,1;X9,260021162022031327;cmds:7,X1,27", // persist is 0 or 1
        "Z0,c,1;X0,",                     // an empty expression
    ] {
        assert_eq!(raw.send(bad), "E16", "{bad}");
    }
    // the condition armed first still holds, alone: one stop, r1 = 3
    let stop = raw.send("c");
    assert!(stop.starts_with("T05") && stop.contains("swbreak"), "{stop}");
    assert_eq!(raw.send("p21"), "03000000");
    assert_eq!(raw.send("p8"), "0c000000");
    assert_eq!(raw.send("z0,c,1"), "OK");
    assert_eq!(raw.send("c"), "W00");
    let _ = raw.s.set_read_timeout(Some(Duration::from_secs(1)));
}

#[test]
fn reverse_continue_stops_only_where_the_condition_held() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once", "--record"]);
    let out = gdb_batch(
        stub.port,
        &[
            "break *0x14",
            "continue",
            "p $r1",
            "break *0x0C if $r1 == 4 || $r1 == 7",
            "reverse-continue",
            "p $r1",
            "p/x $pc",
            "reverse-continue",
            "p $r1",
            "reverse-continue",
            "p/x $pc",
        ],
    );
    // from the HALT (r1 = 10) back: the hits with r1 = 9, 8 are passed over
    assert_eq!(values(&out), ["10", "7", "0xc", "4", "0x0"], "{out}");
    assert!(out.contains("No more reverse-execution history."), "{out}");
}

#[test]
fn agent_style_dprintf_prints_without_stopping() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &[
            "set dprintf-style agent",
            "dprintf *0x10,\"r1=%d mem=%#x\\n\",$r1,*(int*)0x8000",
            "set debug remote 1",
            "continue",
        ],
    );
    let z = z0_packets(&out);
    assert_eq!(z.len(), 1, "{out}");
    assert!(z[0].starts_with("Z0,10,1;cmds:"), "the printf went to the stub: {out}");
    let printed: Vec<&str> = out.lines().filter(|l| l.starts_with("r1=")).collect();
    let expected: Vec<String> = (1..=10).map(|i| format!("r1={i} mem={i:#x}")).collect();
    assert_eq!(printed, expected, "{out}");
    let stops = out.lines().filter(|l| l.contains("Packet received: T05")).count();
    assert_eq!(stops, 0, "no stop for a dprintf: {out}");
    assert!(out.contains("[Inferior 1 (process 1) exited normally]"), "{out}");
}

#[test]
fn a_condition_that_reads_outside_memory_stops_and_says_why() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["break *0x0C if *(int*)0xFFFE == 1", "continue", "p/x $pc", "p $r1", "monitor why"]);
    // the stub stops (as gdbserver does) and gdb, evaluating it, cannot read it either
    assert!(out.contains("Error in testing breakpoint condition:\nCannot access memory at address 0x10000"), "{out}");
    assert_eq!(values(&out), ["0xc", "1"], "{out}");
    assert!(
        out.contains("gdb's condition mem32[0xFFFE] == 1 could not be evaluated by the stub (read outside memory at 0xFFFE (bytecode offset 5)), so gdb evaluates it"),
        "{out}"
    );
}

#[test]
fn gdb_mi_break_insert_with_a_condition() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let script = format!(
        "-gdb-set confirm off\n-target-select remote 127.0.0.1:{}\n-break-insert -c \"$r1 == 6\" *0xc\n-exec-continue\n-data-evaluate-expression $r1\n-break-info\n-gdb-exit\n",
        stub.port
    );
    let mut cmd = std::process::Command::new("gdb");
    cmd.args(["--interpreter=mi2", "-nx"]);
    let out = run_with_timeout(cmd, Some(&script));
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("cond=\"$r1 == 6\""), "{out}");
    assert!(out.contains("*stopped,reason=\"breakpoint-hit\""), "{out}");
    assert!(out.contains("^done,value=\"6\""), "{out}");
    assert!(out.contains("evaluated-by=\"target\""), "{out}");
}
