//! The Debug Adapter Protocol server (`flux-gdbstub dap`): the scenarios
//! in tests/dap/*.test.js run under Microsoft's DAP test client
//! (@vscode/debugadapter-testsupport, installed by scripts/setup.sh with
//! `npm ci`); the framing's bad input is driven here over raw pipes.
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{example, repo, stub_bin, TIMEOUT};

/// Waits for `child` at most `limit`; kills it after.
fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("no end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn scenarios_under_microsofts_dap_test_client() {
    let dir = repo().join("tests/dap");
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "node is missing: scripts/setup.sh installs nodejs and npm");
    assert!(
        dir.join("node_modules/@vscode/debugadapter-testsupport").is_dir(),
        "tests/dap/node_modules is missing: scripts/setup.sh runs `npm ci` there"
    );
    let mut child = Command::new("node")
        .args(["--test", "--test-reporter=spec"])
        .current_dir(&dir)
        .env("FLUX_GDBSTUB", stub_bin())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).ok();
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let status = wait_with_timeout(&mut child, TIMEOUT * 3);
    let (stdout, stderr) = (o.join().unwrap(), e.join().unwrap());
    println!("{stdout}\n{stderr}");
    assert!(status.success(), "node --test failed:\n{stdout}\n{stderr}");
    // every scenario ran and passed
    assert!(stdout.contains("ℹ tests 14") && stdout.contains("ℹ pass 14"), "{stdout}");
}

fn frame(body: &str) -> String {
    format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

/// Reads one message from the adapter.
fn read_message(r: &mut impl BufRead) -> serde_json::Value {
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).expect("read") > 0, "the adapter closed its output");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            len = n.parse().expect("length");
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).expect("body");
    serde_json::from_slice(&body).expect("json")
}

/// `flux-gdbstub dap` on pipes: the process, its stdin and its stdout (its
/// stderr stays piped, for the test to read).
fn adapter() -> (std::process::Child, std::process::ChildStdin, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(stub_bin())
        .arg("dap")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flux-gdbstub dap");
    let input = child.stdin.take().unwrap();
    let output = BufReader::new(child.stdout.take().unwrap());
    (child, input, output)
}

#[test]
fn malformed_messages_cost_one_stderr_line_each_and_the_next_request_is_served() {
    let (mut child, mut input, mut output) = adapter();
    let mut stderr = child.stderr.take().unwrap();
    let init = r#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"flux"}}"#;
    let unknown = r#"{"seq":2,"type":"request","command":"frobnicate"}"#;
    let no_command = r#"{"seq":3,"type":"request"}"#;
    let threads = r#"{"seq":4,"type":"request","command":"threads"}"#;
    let input_text = format!(
        "Content-Length: abc\r\n\r\n{init}{}Content-Length: 5\r\n\r\n{{bad}}{}garbage\r\n\r\n{}{}",
        frame(init),
        frame(unknown),
        frame(no_command),
        frame(threads)
    );
    input.write_all(input_text.as_bytes()).unwrap();
    input.flush().unwrap();
    let r1 = read_message(&mut output);
    assert_eq!((r1["request_seq"].as_i64(), r1["success"].as_bool()), (Some(1), Some(true)));
    assert_eq!(r1["body"]["supportsStepBack"], true);
    let r2 = read_message(&mut output);
    assert_eq!((r2["request_seq"].as_i64(), r2["success"].as_bool()), (Some(2), Some(false)));
    assert_eq!(r2["message"], "unknown request 'frobnicate'");
    let r4 = read_message(&mut output);
    assert_eq!((r4["request_seq"].as_i64(), r4["success"].as_bool()), (Some(4), Some(true)));
    assert_eq!(r4["body"]["threads"], serde_json::json!([]));
    drop(input); // the client goes away: the adapter ends
    let status = wait_with_timeout(&mut child, TIMEOUT);
    assert!(status.success());
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert_eq!(lines[0], r#"flux-gdbstub dap: malformed Content-Length "abc": not a number of bytes"#);
    assert!(lines[1].starts_with("flux-gdbstub dap: a message of 5 bytes is not JSON: key must be a string"), "{}", lines[1]);
    assert_eq!(lines[2], r#"flux-gdbstub dap: malformed header "garbage": expected `Content-Length: N`"#);
    assert_eq!(lines[3], "flux-gdbstub dap: a request without a command: skipped");
}

/// Reads messages until the response to request `seq` (events are skipped).
fn response_to(r: &mut impl BufRead, seq: i64) -> serde_json::Value {
    loop {
        let m = read_message(r);
        if m["type"] == "response" && m["request_seq"].as_i64() == Some(seq) {
            return m;
        }
    }
}

#[test]
fn addresses_offsets_and_counts_at_the_ends_of_i64_are_answered_not_a_crash() {
    let (mut child, mut input, mut output) = adapter();
    let program = serde_json::to_string(&example("fibonacci.fasm")).unwrap();
    let requests = [
        r#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"flux"}}"#.to_string(),
        format!(r#"{{"seq":2,"type":"request","command":"launch","arguments":{{"program":{program},"stopOnEntry":true}}}}"#),
        r#"{"seq":3,"type":"request","command":"configurationDone"}"#.to_string(),
        r#"{"seq":4,"type":"request","command":"readMemory","arguments":{"memoryReference":"0x10","offset":9223372036854775807,"count":4}}"#.to_string(),
        r#"{"seq":5,"type":"request","command":"readMemory","arguments":{"memoryReference":"0xFFF0","count":18446744073709551615}}"#.to_string(),
        r#"{"seq":6,"type":"request","command":"disassemble","arguments":{"memoryReference":"0x0","instructionOffset":9223372036854775807,"instructionCount":2}}"#.to_string(),
        r#"{"seq":7,"type":"request","command":"disassemble","arguments":{"memoryReference":"0x0","instructionOffset":-9223372036854775808,"instructionCount":1}}"#.to_string(),
        r#"{"seq":8,"type":"request","command":"threads"}"#.to_string(),
        r#"{"seq":9,"type":"request","command":"setInstructionBreakpoints","arguments":{"breakpoints":[{"instructionReference":"0x10","offset":9223372036854775807}]}}"#.to_string(),
    ];
    for r in &requests {
        input.write_all(frame(r).as_bytes()).unwrap();
    }
    input.flush().unwrap();
    assert_eq!(response_to(&mut output, 2)["success"], true);
    let r4 = response_to(&mut output, 4);
    assert_eq!((r4["success"].as_bool(), r4["message"].as_str()), (Some(false), Some("readMemory: 0x10 + offset 9223372036854775807 is outside memory")));
    // the 16 bytes up to the end of memory, the rest unreadable
    let r5 = response_to(&mut output, 5);
    assert_eq!(r5["success"], true, "{r5}");
    assert_eq!(r5["body"]["address"], "0xFFF0");
    assert_eq!(r5["body"]["unreadableBytes"], serde_json::json!(i64::MAX - 16));
    // offsets past either end: placeholders, as for any address past the program
    let r6 = response_to(&mut output, 6);
    assert_eq!(r6["success"], true, "{r6}");
    assert_eq!(r6["body"]["instructions"].as_array().map(Vec::len), Some(2), "{r6}");
    assert_eq!(r6["body"]["instructions"][0]["presentationHint"], "invalid");
    let r7 = response_to(&mut output, 7);
    assert_eq!(r7["body"]["instructions"][0]["presentationHint"], "invalid", "{r7}");
    let r8 = response_to(&mut output, 8);
    assert_eq!(r8["body"]["threads"][0]["id"], 1, "{r8}");
    let r9 = response_to(&mut output, 9);
    assert_eq!(r9["body"]["breakpoints"][0]["verified"], false, "{r9}");
    assert_eq!(r9["body"]["breakpoints"][0]["message"], "\"0x10\" + 9223372036854775807 is not an address in memory", "{r9}");
    drop(input);
    assert!(wait_with_timeout(&mut child, TIMEOUT).success());
}
