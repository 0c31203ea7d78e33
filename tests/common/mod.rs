//! Shared helpers for the integration tests: start the stub on an ephemeral
//! port (ready when it says so, never after a fixed sleep), drive real gdb,
//! gdb/MI and lldb against it, each with a timeout.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(120);

pub fn stub_bin() -> &'static str {
    env!("CARGO_BIN_EXE_flux-gdbstub")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example(name: &str) -> PathBuf {
    repo().join("examples").join(name)
}

/// Writes `src` to a fresh file NAME in a temp dir that lives as long as the returned guard.
pub fn program(name: &str, src: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, src).expect("write program");
    (dir, path)
}

/// A running `flux-gdbstub serve`.
pub struct Stub {
    child: Child,
    pub port: u16,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

/// Copies `r` into `sink` as text.  A character split between two reads is
/// kept until its last byte arrives (decoding each read on its own turned
/// an en dash across a 4096-byte boundary into replacement characters).
fn pump(mut r: impl Read + Send + 'static, sink: Arc<Mutex<String>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => {
                    sink.lock().unwrap().push_str(&String::from_utf8_lossy(&pending));
                    return;
                }
                Ok(n) => {
                    pending.extend_from_slice(&buf[..n]);
                    let keep = match std::str::from_utf8(&pending) {
                        Ok(_) => 0,
                        // an incomplete character at the end: wait for the rest
                        Err(e) if e.error_len().is_none() => pending.len() - e.valid_up_to(),
                        Err(_) => 0,
                    };
                    let done = pending.len() - keep;
                    sink.lock().unwrap().push_str(&String::from_utf8_lossy(&pending[..done]));
                    pending.drain(..done);
                }
            }
        }
    })
}

impl Stub {
    pub fn start(program: &Path, extra: &[&str]) -> Stub {
        Stub::start_env(program, extra, &[])
    }

    /// `serve --replay FILE --once`.
    #[allow(dead_code)]
    pub fn start_replay(file: &Path) -> Stub {
        let mut cmd = Command::new(stub_bin());
        cmd.arg("serve").arg("--replay").arg(file).args(["--listen", "127.0.0.1:0", "--once"]);
        Stub::spawn(cmd)
    }

    pub fn start_env(program: &Path, extra: &[&str], env: &[(&str, &str)]) -> Stub {
        let mut cmd = Command::new(stub_bin());
        cmd.arg("serve").arg(program).args(["--listen", "127.0.0.1:0"]).args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Stub::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> Stub {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn flux-gdbstub");
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        pump(child.stdout.take().unwrap(), stdout.clone());
        pump(child.stderr.take().unwrap(), stderr.clone());
        let start = Instant::now();
        let port = loop {
            if let Some(p) = stderr
                .lock()
                .unwrap()
                .lines()
                .find_map(|l| l.split("listening on 127.0.0.1:").nth(1).and_then(|p| p.trim().parse::<u16>().ok()))
            {
                break p;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("flux-gdbstub exited early ({status}): {}", stderr.lock().unwrap());
            }
            assert!(start.elapsed() < TIMEOUT, "flux-gdbstub never said it was listening");
            std::thread::sleep(Duration::from_millis(10));
        };
        Stub { child, port, stderr, stdout }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until the stub's stderr contains `needle` (a readiness check).
    pub fn wait_for_stderr(&self, needle: &str) {
        let start = Instant::now();
        while !self.stderr().contains(needle) {
            assert!(start.elapsed() < TIMEOUT, "stub never printed {needle:?}; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the stub to exit (it was started with --once).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            assert!(start.elapsed() < TIMEOUT, "flux-gdbstub did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The stub's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion, killing it after TIMEOUT.
pub fn run_with_timeout(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(text) = stdin {
        let mut si = child.stdin.take().unwrap();
        let text = text.to_string();
        std::thread::spawn(move || {
            let _ = si.write_all(text.as_bytes());
        });
    }
    wait_output(child, &format!("{cmd:?}"))
}

/// Waits for a child spawned with piped stdout and stderr, killing it after
/// TIMEOUT (`what` names it in the panic); its output, as `wait_with_output`.
pub fn wait_output(mut child: Child, what: &str) -> Output {
    let out = Arc::new(Mutex::new(String::new()));
    let err = Arc::new(Mutex::new(String::new()));
    let pumps = [pump(child.stdout.take().unwrap(), out.clone()), pump(child.stderr.take().unwrap(), err.clone())];
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("command timed out: {what}\nstdout:\n{}\nstderr:\n{}", out.lock().unwrap(), err.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // the pumps end at the pipes' end of file: then everything the command
    // wrote is read (a fixed 20 ms wait lost output on a busy machine).  A
    // process the command started may hold a pipe open longer: 5 s at most.
    let drained = Instant::now();
    while !pumps.iter().all(|p| p.is_finished()) && drained.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let stdout = out.lock().unwrap().clone().into_bytes();
    let stderr = err.lock().unwrap().clone().into_bytes();
    Output { status, stdout, stderr }
}

/// `gdb -batch` with these commands after `target remote`; returns stdout and stderr together.
pub fn gdb_batch(port: u16, cmds: &[&str]) -> String {
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off"]);
    cmd.args(["-ex", &format!("target remote 127.0.0.1:{port}")]);
    for c in cmds {
        cmd.args(["-ex", c]);
    }
    let out = run_with_timeout(cmd, None);
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The value gdb printed for `$N = value` lines, in order.
pub fn values(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            let l = l.trim();
            if !l.starts_with('$') {
                return None;
            }
            let (_, v) = l.split_once(" = ")?;
            Some(v.trim().to_string())
        })
        .collect()
}

/// Runs gdb with a pipe-connected stub: `target remote | flux-gdbstub serve --stdio PROG`.
pub fn gdb_stdio(program: &Path, cmds: &[&str]) -> String {
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off"]);
    cmd.args(["-ex", &format!("target remote | {} serve --stdio {}", stub_bin(), program.display())]);
    for c in cmds {
        cmd.args(["-ex", c]);
    }
    let out = run_with_timeout(cmd, None);
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

pub fn lines_of(r: impl Read) -> Vec<String> {
    BufReader::new(r).lines().map_while(Result::ok).collect()
}

/// Runs `flux-gdbstub ARGS`; returns (exit status, stdout, stderr).
pub fn flux(args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(stub_bin());
    cmd.args(args);
    let out = run_with_timeout(cmd, None);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes 1 then 2 to 0x8000, reads it back, halts (addresses in the comments).
#[allow(dead_code)]
/// r1 counts 1..10, stored to 0x8000 each round.
pub const COUNT_PROG: &str = "
        LOAD_IMM  r2, 10        ; 0x00
top:    INCR      r1            ; 0x06
        STORE32   r1, 0x8000    ; 0x08
        CMP_EQ    r3, r1, r2    ; 0x0C
        JZ        r3, top       ; 0x10
        HALT                    ; 0x14
";

pub const WATCH_PROG: &str = "
        LOAD_IMM r1, 1        ; 0x00
        STORE32  r1, 0x8000   ; 0x06
        LOAD_IMM r1, 2        ; 0x0A
        STORE32  r1, 0x8000   ; 0x10
        LOAD32   r2, 0x8000   ; 0x14
        HALT                  ; 0x18
";
