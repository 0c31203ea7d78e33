//! Messages from a Debug Adapter Protocol client: never a panic, and the
//! adapter answers every request and goes on.
//!
//! The first byte picks the mode:
//! - even: the rest is the raw byte stream (framing: Content-Length
//!   headers, bodies, JSON), read by the adapter's own reader;
//! - odd: the rest is split at newlines, and each piece is sent as one
//!   well-framed message after `initialize` and a `launch` of
//!   examples/fibonacci.fasm stopped on entry, so that the requests
//!   themselves (arguments of every type, any order) reach the session.
//!   `launch` and `attach` from the input are left out, to keep the target
//!   on that one program (energy 200,000, a temporary save directory).
#![no_main]

use std::io::Cursor;
use std::sync::mpsc::channel;
use std::sync::OnceLock;

use cuda_flux_debugger::frontend::dap::protocol::{Incoming, Reader};
use cuda_flux_debugger::frontend::dap::Adapter;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const PROGRAM: &str = include_str!("../../examples/fibonacci.fasm");

/// The program's file and the save directory, made once per process.
fn files() -> &'static (std::path::PathBuf, std::path::PathBuf) {
    static FILES: OnceLock<(std::path::PathBuf, std::path::PathBuf)> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("flux-fuzz-dap-{}", std::process::id()));
        let save = dir.join("save");
        std::fs::create_dir_all(&save).expect("temporary directory");
        let program = dir.join("fibonacci.fasm");
        std::fs::write(&program, PROGRAM).expect("program file");
        (program, save)
    })
}

fn request(seq: u64, command: &str, arguments: Value) -> Value {
    json!({"seq": seq, "type": "request", "command": command, "arguments": arguments})
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (tx, rx) = channel();
    if mode % 2 == 0 {
        let mut reader = Reader::new(Cursor::new(rest.to_vec()));
        while let Ok(Some(m)) = reader.next() {
            if let Ok(v) = m {
                let _ = tx.send(Incoming::Message(v));
            }
        }
    } else {
        let (program, save) = files();
        let _ = tx.send(Incoming::Message(request(1, "initialize", json!({"adapterID": "fuzz"}))));
        let launch = json!({"program": program, "stopOnEntry": true, "energy": 200_000, "saveDir": save});
        let _ = tx.send(Incoming::Message(request(2, "launch", launch)));
        let _ = tx.send(Incoming::Message(request(3, "configurationDone", json!({}))));
        for piece in rest.split(|&b| b == b'\n') {
            let framed = format!("Content-Length: {}\r\n\r\n", piece.len()).into_bytes();
            let mut reader = Reader::new(Cursor::new([framed, piece.to_vec()].concat()));
            if let Ok(Some(Ok(v))) = reader.next() {
                if matches!(v.get("command").and_then(Value::as_str), Some("launch" | "attach")) {
                    continue;
                }
                let _ = tx.send(Incoming::Message(v));
            }
        }
    }
    let _ = tx.send(Incoming::Closed);
    Adapter::new(Box::new(std::io::sink()), rx).serve();
});
