//! Source-level debugging of .fasm programs in stock gdb and gdb/MI: ELF
//! files from `asm --elf` (symbols, line table, call frames), the gdb
//! extension scripts/flux-gdb.py (FLUX disassembly, `flux` commands, the
//! stub's words after its own stops), and `target extended-remote`.
mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

/// examples/fibonacci.fasm copied into a temp dir and assembled there to
/// fibonacci.elf (the ELF records the source's directory).
fn fib_elf() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("fibonacci.fasm");
    std::fs::copy(example("fibonacci.fasm"), &src).expect("copy example");
    let elf = dir.path().join("fibonacci.elf");
    let (code, _, err) = flux(&["asm", src.to_str().unwrap(), "-o", elf.to_str().unwrap(), "--elf"]);
    assert_eq!(code, 0, "{err}");
    (dir, elf)
}

fn script() -> String {
    repo().join("scripts/flux-gdb.py").display().to_string()
}

/// `gdb -batch` with the FLUX script loaded and no `file` command: the
/// symbols must come through qXfer:exec-file.
fn gdb_with(port: u16, target: &str, cmds: &[&str]) -> String {
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off"]);
    cmd.args(["-ex", &format!("source {}", script())]);
    cmd.args(["-ex", &format!("target {target} 127.0.0.1:{port}")]);
    for c in cmds {
        cmd.args(["-ex", c]);
    }
    let out = run_with_timeout(cmd, None);
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The line of `out` that contains `needle`, for a readable failure.
fn line_with<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line with {needle:?} in\n{out}"))
}

/// The source lines gdb printed while stepping (`N\t<source>`), in order.
fn stepped_lines(out: &str) -> Vec<u32> {
    out.lines().filter_map(|l| l.split_once('\t').and_then(|(n, _)| n.trim().parse().ok())).collect()
}

#[test]
fn asm_elf_writes_an_i386_executable_that_run_and_disasm_read() {
    let (_dir, elf) = fib_elf();
    let bytes = std::fs::read(&elf).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(bytes[4], 1, "ELFCLASS32");
    assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 2, "ET_EXEC");
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 3, "EM_386");
    assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 0, "e_entry");
    assert_eq!(u16::from_le_bytes([bytes[44], bytes[45]]), 1, "one program header");

    let (code, out, _) = flux(&["run", elf.to_str().unwrap()]);
    assert_eq!((code, out.trim()), (109, "6765"));
    let (_, from_elf, _) = flux(&["disasm", elf.to_str().unwrap()]);
    let (_, from_src, _) = flux(&["disasm", example("fibonacci.fasm").to_str().unwrap()]);
    assert_eq!(from_elf, from_src);
    assert!(from_elf.contains("  000C: CMP_I16       r1, 0x2\n"), "{from_elf}");
}

#[test]
fn a_malformed_elf_is_one_error_line() {
    let (_dir, elf) = fib_elf();
    let mut bytes = std::fs::read(&elf).unwrap();
    bytes.truncate(40);
    let (_d2, bad) = program("bad.elf", "");
    std::fs::write(&bad, &bytes).unwrap();
    for sub in ["run", "serve", "disasm"] {
        let (code, _, err) = flux(&[sub, bad.to_str().unwrap()]);
        assert_eq!(code, 2, "{sub}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{sub}: {err}");
        assert!(err.contains("bad.elf: not a FLUX ELF file:"), "{sub}: {err}");
    }
}

#[test]
fn break_list_step_next_finish_bt_up_down_until_by_source_line() {
    let (_dir, elf) = fib_elf();
    let stub = Stub::start(&elf, &["--once"]);
    let out = gdb_with(
        stub.port,
        "remote",
        &[
            "break fib",
            "continue",
            "info line *$pc",
            "list 10,11",
            "delete",
            "next",
            "next",
            "next",
            "next",
            "next", // over CALL fib: fib(19) runs to completion
            "print $r0",
            "next",
            "next",
            "next",
            "step", // into CALL fib
            "bt",
            "up",
            "print $pc",
            "down",
            "finish",
            "print $r0",
            "until",
            "until",
            "info frame",
            "kill",
        ],
    );
    // symbols came from the stub (qXfer:exec-file names the file, Host I/O
    // carries it), not from a `file` command
    assert!(out.contains(&format!("Reading symbols from target:{}...", elf.canonicalize().unwrap().display())), "{out}");
    assert!(out.contains("Breakpoint 1 at 0xc: file fibonacci.fasm, line 10."), "{out}");
    assert!(out.contains("Breakpoint 1, fib () at fibonacci.fasm:10"), "{out}");
    assert!(out.contains("Line 10 of \"fibonacci.fasm\" starts at address 0xc <fib> and ends at 0x10 <fib+4>."), "{out}");
    assert!(out.contains("11\t        JL        r1, small         ; n < 2 (signed)"), "{out}");
    // next, next, next, next; next over the call; three more nexts and a step into fib
    let lines = stepped_lines(&out);
    let from = lines.iter().position(|&l| l == 11).expect("list printed line 11");
    assert_eq!(&lines[from + 1..from + 10], &[11, 12, 13, 14, 15, 16, 17, 18, 10], "{out}");
    let v = values(&out);
    assert_eq!(v[0], "4181", "fib(19) after stepping over the call: {out}");
    // the FLUX call chain, with the caller's line at each CALL
    let bt: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(bt[0], "#0  fib () at fibonacci.fasm:10", "{out}");
    assert_eq!(bt[1], "#1  0x00000026 in fib () at fibonacci.fasm:18", "{out}");
    assert_eq!(bt[2], "#2  0x00000009 in start () at fibonacci.fasm:6", "{out}");
    assert_eq!(bt.len(), 5, "three frames, then up and down: {out}");
    assert_eq!(bt[3], "#1  0x00000026 in fib () at fibonacci.fasm:18", "up: {out}");
    assert_eq!(v[1], "(void (*)()) 0x26 <fib+26>", "$pc in frame 1: {out}");
    assert_eq!(bt[4], "#0  fib () at fibonacci.fasm:10", "down: {out}");
    // finish: back in the caller, at the line after its CALL
    assert_eq!(v[2], "2584", "fib(18) after finish: {out}");
    let after_finish = &out[out.find("fib () at fibonacci.fasm:19").expect("finish returned to line 19")..];
    // until: line 20, then 21 (forward, same frame)
    assert_eq!(&stepped_lines(after_finish)[..3], &[19, 20, 21], "{out}");
    assert!(out.contains("eip = 0x2c in fib (fibonacci.fasm:21); saved eip = 0x9"), "{out}");
}

#[test]
fn gdb_mi_drives_source_level_debugging_like_an_ide() {
    let (_dir, elf) = fib_elf();
    let stub = Stub::start(&elf, &["--once"]);
    let mut cmd = Command::new("gdb");
    cmd.args(["--interpreter=mi2", "-nx"]);
    let script = [
        "-gdb-set confirm off".to_string(),
        format!("-interpreter-exec console \"source {}\"", script()),
        format!("-target-select extended-remote 127.0.0.1:{}", stub.port),
        "-break-insert fib".into(),
        "-exec-continue".into(),
        "-break-delete".into(),
        "-exec-next".into(),
        "-exec-next".into(),
        "-exec-next".into(),
        "-exec-next".into(),
        "-exec-step".into(),
        "-stack-list-frames".into(),
        "-data-disassemble -s $pc -e $pc+8 -- 0".into(),
        "-exec-finish".into(),
        "-data-evaluate-expression $r0".into(),
        "-interpreter-exec console \"flux why\"".into(),
        "-gdb-exit".into(),
    ]
    .join("\n")
        + "\n";
    let out = run_with_timeout(cmd, Some(&script));
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let bkpt = line_with(&out, "^done,bkpt=");
    assert!(bkpt.contains("addr=\"0x0000000c\",func=\"fib\",file=\"fibonacci.fasm\""), "{bkpt}");
    assert!(bkpt.contains("line=\"10\""), "{bkpt}");
    let stops: Vec<&str> = out.lines().filter(|l| l.starts_with("*stopped")).collect();
    // the connect stop, the breakpoint, four nexts, the step, the finish
    assert_eq!(stops.len(), 8, "{out}");
    assert!(stops[0].contains("func=\"start\",args=[],file=\"fibonacci.fasm\""), "{}", stops[0]);
    assert!(stops[1].contains("reason=\"breakpoint-hit\""), "{}", stops[1]);
    assert!(stops[1].contains("func=\"fib\",args=[],file=\"fibonacci.fasm\""), "{}", stops[1]);
    let line = |s: &str| s.split("line=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
    let lines: Vec<String> = stops.iter().map(|s| line(s)).collect();
    assert_eq!(lines, ["5", "10", "11", "12", "13", "14", "10", "15"], "{out}");
    assert!(stops[2].contains("reason=\"end-stepping-range\""), "{}", stops[2]);
    assert!(stops[7].contains("reason=\"function-finished\""), "{}", stops[7]);
    assert!(stops[1].contains(&format!("fullname=\"{}\"", elf.with_file_name("fibonacci.fasm").canonicalize().unwrap().display())), "{}", stops[1]);

    let frames = line_with(&out, "^done,stack=");
    assert!(frames.contains("frame={level=\"0\",addr=\"0x0000000c\",func=\"fib\",file=\"fibonacci.fasm\""), "{frames}");
    assert!(frames.contains("frame={level=\"1\",addr=\"0x0000001b\",func=\"fib\",file=\"fibonacci.fasm\""), "{frames}");
    assert!(frames.contains("frame={level=\"2\",addr=\"0x00000009\",func=\"start\",file=\"fibonacci.fasm\""), "{frames}");
    let f1 = frames.split("level=\"1\"").nth(1).unwrap();
    assert_eq!(line(f1), "14", "{frames}");

    let asm = line_with(&out, "^done,asm_insns=");
    assert!(asm.contains("{address=\"0x0000000c\",func-name=\"fib\",offset=\"0\",inst=\"CMP_I16       r1, 0x2\"}"), "{asm}");
    assert!(asm.contains("{address=\"0x00000010\",func-name=\"fib\",offset=\"4\",inst=\"JL            r1, 0x2D\"}"), "{asm}");
    assert!(out.contains("^done,value=\"4181\""), "fib(19) after -exec-finish: {out}");
    // `flux why` answers through the console (the script prints the reply
    // it captured: a console stream record, not a target one): the finish
    // stopped on gdb's temporary breakpoint at the return address
    assert!(out.contains("~\"breakpoint at 0x001B: POP_R         r1\\n\""), "{out}");
}

#[test]
fn the_script_disassembles_flux_exactly_as_flux_gdbstub_disasm() {
    let (_dir, elf) = fib_elf();
    let (_, listing, _) = flux(&["disasm", elf.to_str().unwrap()]);
    // "  000C: CMP_I16       r1, 0x2" -> (0xC, "CMP_I16       r1, 0x2")
    let expected: Vec<(u32, String)> = listing
        .lines()
        .skip(1)
        .map(|l| {
            let (a, t) = l.trim_start().split_once(": ").unwrap();
            (u32::from_str_radix(a, 16).unwrap(), t.to_string())
        })
        .collect();
    let stub = Stub::start(&elf, &["--once"]);
    let out = gdb_with(
        stub.port,
        "remote",
        &[
            &format!("x/{}i 0", expected.len()),
            "display/i $pc",
            "stepi",
            "disassemble fib",
            "flux why",
            "flux disas 0xC 2",
            "flux break 0x28 if r0 > 3",
            "continue",
        ],
    );
    // x/Ni: "   0xc <fib>:\tCMP_I16       r1, 0x2"
    let xi: Vec<(u32, String)> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("0x") || l.starts_with("=> 0x"))
        .take(expected.len())
        .map(|l| {
            let l = l.trim_start_matches("=>").trim_start();
            let (a, t) = l.split_once(":\t").unwrap();
            let a = a.split_whitespace().next().unwrap().trim_start_matches("0x");
            (u32::from_str_radix(a, 16).unwrap(), t.to_string())
        })
        .collect();
    assert_eq!(xi, expected, "{out}");
    // display/i after stepi
    assert!(out.contains("1: x/i $pc\n=> 0x6 <start+6>:\tCALL          0xC"), "{out}");
    // disassemble: every instruction of fib, none of start
    let dump: Vec<&str> = out.lines().filter(|l| l.contains(" <+")).collect();
    assert_eq!(dump.len(), 14, "{out}");
    assert!(dump[0].ends_with("<+0>:\tCMP_I16       r1, 0x2"), "{}", dump[0]);
    assert!(dump[13].ends_with("<+36>:\tRET"), "{}", dump[13]);
    // flux commands are the monitor commands
    assert!(out.contains("stepped to 0x0006: CALL          0xC"), "{out}");
    assert!(out.contains("   000C: CMP_I16       r1, 0x2\n   0010: JL            r1, 0x2D"), "{out}");
    // after the stub's own stop, the script says why
    assert!(out.contains("flux: breakpoint 1 at 0x0028: r0 > 3 (r0 = 5)"), "{out}");
    assert!(out.contains("=> 0x28 <fib+28>:\tCADD          r0, r0, r2"), "{out}");
}

#[test]
fn extended_remote_stays_connected_and_runs_again() {
    let (_dir, elf) = fib_elf();
    let mut stub = Stub::start(&elf, &[]);
    let out = gdb_with(
        stub.port,
        "extended-remote",
        &[
            "continue",
            "monitor why",
            "info line fib",
            "break fib",
            "run",
            "print $r1",
            "print $cycles",
            "kill",
            "monitor why",
            "run",
            "print $cycles",
            "bt",
            "detach",
            "monitor info",
            "run",
            "print $cycles",
        ],
    );
    assert!(out.contains("[Inferior 1 (process 1) exited with code 0155]"), "{out}");
    assert!(out.contains("exited with code 109 (HALT at 0x000B)"), "monitor answers after the exit: {out}");
    assert!(out.contains("Line 10 of \"fibonacci.fasm\" starts at address 0xc <fib>"), "{out}");
    assert_eq!(out.matches("Breakpoint 1, fib () at fibonacci.fasm:10").count(), 3, "{out}");
    assert!(out.contains("[Inferior 1 (process 1) killed]"), "{out}");
    assert!(out.contains("killed by gdb at 0x000C"), "{out}");
    assert!(out.contains("[Inferior 1 (process 1) detached]"), "{out}");
    // each run is a fresh VM: two instructions to reach fib
    assert_eq!(values(&out), ["20", "2", "2", "2"], "{out}");
    assert!(out.contains("#1  0x00000009 in start () at fibonacci.fasm:6"), "{out}");
    // after detach the VM stays where gdb left it
    assert!(out.contains("pc=0x000C sp=0xFFFC"), "{out}");
    assert_eq!(stub.stdout().matches("6765").count(), 1, "one run reached the end: {}", stub.stdout());
    assert!(stub.is_running());

    // plain `target remote` on the same server: gdb leaves when the program exits
    let out = gdb_batch(stub.port, &["continue", "monitor why"]);
    assert!(out.contains("exited with code 0155"), "{out}");
    assert!(!out.contains("exited with code 109 (HALT"), "plain remote is gone after the exit: {out}");
}

#[test]
fn extended_remote_on_a_fasm_program_reads_its_elf_over_host_io() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_with(
        stub.port,
        "extended-remote",
        &["x/2i $pc", "continue", "info inferiors", "print $pc", "continue", "break *0xC", "run", "print $pc", "x/i $pc"],
    );
    // the ELF the stub built in memory, under the program's own path
    let fasm = example("fibonacci.fasm").canonicalize().unwrap();
    assert!(out.contains(&format!("Reading symbols from target:{}...", fasm.display())), "{out}");
    assert!(!out.contains("does not support file transfer"), "{out}");
    assert!(out.contains("=> 0x0 <start>:\tLOAD_IMM      r1, 0x14\n   0x6 <start+6>:\tCALL          0xC"), "{out}");
    assert!(out.contains("[Inferior 1 (process 1) exited with code 0155]"), "{out}");
    // after the exit there is no process (and no phantom thread), as with gdbserver
    assert!(line_with(&out, "* 1").contains("<null>"), "{out}");
    assert!(line_with(&out, "* 1").contains(&format!("target:{}", fasm.display())), "{out}");
    assert!(out.contains("No registers."), "{out}");
    assert!(out.contains("The program is not being run."), "{out}");
    assert!(!out.contains("New Thread"), "{out}");
    assert!(out.contains("Breakpoint 1, fib () at fibonacci.fasm:10"), "{out}");
    assert_eq!(values(&out), ["(void (*)()) 0xc <fib>"], "{out}");
    assert!(out.contains("=> 0xc <fib>:\tCMP_I16       r1, 0x2"), "{out}");
}

/// `serve prog.fasm` and gdb with no `file` command and no `asm --elf`: the
/// stub builds the ELF in memory and gdb reads it over Host I/O.
#[test]
fn serve_fasm_gives_gdb_symbols_and_source_lines_with_no_file_command() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("fibonacci.fasm");
    std::fs::copy(example("fibonacci.fasm"), &src).unwrap();
    let stub = Stub::start(&src, &["--once"]);
    // no script either: plain gdb
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off"]);
    cmd.args(["-ex", &format!("target remote 127.0.0.1:{}", stub.port)]);
    for c in ["break fib", "continue", "continue", "bt", "list 10,12", "info line *$pc", "kill"] {
        cmd.args(["-ex", c]);
    }
    let o = run_with_timeout(cmd, None);
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let canon = src.canonicalize().unwrap();
    assert!(out.contains(&format!("Reading {} from remote target...", canon.display())), "{out}");
    assert!(out.contains(&format!("Reading symbols from target:{}...", canon.display())), "{out}");
    assert!(!out.contains("does not support file transfer"), "{out}");
    assert!(out.contains("Breakpoint 1 at 0xc: file fibonacci.fasm, line 10."), "{out}");
    let bt: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        bt,
        ["#0  fib () at fibonacci.fasm:10", "#1  0x0000001b in fib () at fibonacci.fasm:14", "#2  0x00000009 in start () at fibonacci.fasm:6"],
        "{out}"
    );
    assert!(
        out.contains(
            "10\tfib:    CMP_I16   r1, 2             ; flags from n - 2\n\
             11\t        JL        r1, small         ; n < 2 (signed)\n\
             12\t        PUSH_R    r1                ; keep n\n"
        ),
        "{out}"
    );
    assert!(out.contains("Line 10 of \"fibonacci.fasm\" starts at address 0xc <fib> and ends at 0x10 <fib+4>."), "{out}");
}

/// Raw bytecode has no ELF: gdb gets no exec file, and no warning either
/// (the stub answers Host I/O; every open is "no such file").
#[test]
fn serve_raw_bytecode_offers_no_exec_file_and_no_warning() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("fib.bin");
    let (code, _, err) = flux(&["asm", example("fibonacci.fasm").to_str().unwrap(), "-o", bin.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let stub = Stub::start(&bin, &["--once"]);
    let out = gdb_with(stub.port, "remote", &["break *0xC", "continue", "x/i $pc", "kill"]);
    assert!(!out.contains("Reading symbols"), "{out}");
    assert!(!out.contains("does not support file transfer"), "{out}");
    assert!(out.contains("Breakpoint 1, 0x0000000c in ?? ()"), "{out}");
    assert!(out.contains("=> 0xc:\tCMP_I16       r1, 0x2"), "{out}");
}

/// The untried cppdbg example only parses: VS Code and cpptools do not run
/// here, so this reads the two JSON files and nothing drives them (the
/// gdb/MI session an IDE drives is `gdb_mi_drives_source_level_debugging_like_an_ide`).
#[test]
fn the_untried_cppdbg_example_parses_and_names_the_stub_the_script_and_its_task() {
    let text = std::fs::read_to_string(repo().join("examples/.vscode/launch.json")).expect("launch.json");
    let launch: serde_json::Value = serde_json::from_str(&text).expect("launch.json is JSON");
    let c = &launch["configurations"][0];
    assert_eq!(c["type"], "cppdbg");
    assert_eq!(c["MIMode"], "gdb");
    assert_eq!(c["miDebuggerServerAddress"], "127.0.0.1:1234");
    assert_eq!(c["useExtendedRemote"], true);
    assert_eq!(c["program"], "${workspaceFolder}/fibonacci.elf");
    assert!(c["setupCommands"][0]["text"].as_str().unwrap().ends_with("scripts/flux-gdb.py"), "{c}");
    let tasks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("examples/.vscode/tasks.json")).unwrap()).expect("tasks.json is JSON");
    let labels: Vec<&str> = tasks["tasks"].as_array().unwrap().iter().map(|t| t["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&c["preLaunchTask"].as_str().unwrap()), "{labels:?}");
}

/// A pseudo-terminal pair: the master side (read and written by the test)
/// and the slave's path (given to gdb's `new-ui`).
struct Pty {
    master: std::fs::File,
    slave: String,
}

fn open_pty() -> Pty {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on a descriptor this function owns; ptsname_r
    // writes at most buf.len() bytes into buf.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(fd), 0, "grantpt");
        assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()), 0, "ptsname_r");
        let slave = std::ffi::CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned();
        Pty { master: std::fs::File::from_raw_fd(fd), slave }
    }
}

impl Pty {
    /// Reads what the terminal shows into `seen` until `needle` appears in
    /// it after byte `from` (false after TIMEOUT).
    fn read_until(&mut self, seen: &mut String, from: usize, needle: &str) -> bool {
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let start = std::time::Instant::now();
        while !seen[from..].contains(needle) {
            if start.elapsed() > TIMEOUT {
                return false;
            }
            let mut pfd = libc::pollfd { fd: self.master.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, 200) };
            if n <= 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            match self.master.read(&mut buf) {
                Ok(0) | Err(_) => return false,
                Ok(k) => seen.push_str(&String::from_utf8_lossy(&buf[..k])),
            }
        }
        true
    }
}

/// gdb 13 sends a stub's console output to the main UI only, so `monitor`
/// prints nothing in a `new-ui` console (Vim's termdebug, gdbgui); `flux`
/// captures the reply and prints it in the console that asked.
#[test]
fn flux_commands_print_in_a_new_ui_console() {
    use std::io::Write;
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let mut pty = open_pty();
    // the main UI is gdb/MI on pipes, as an IDE runs it; the console is a
    // terminal (TERM=dumb: no colours in what the test reads)
    let mut gdb = Command::new("gdb")
        .args(["-nx", "-q", "-i=mi"])
        .args(["-ex", &format!("new-ui console {}", pty.slave)])
        .args(["-ex", &format!("source {}", script())])
        .args(["-ex", &format!("target remote 127.0.0.1:{}", stub.port)])
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn gdb");
    // drain the MI side so gdb never blocks writing it
    let mut mi_out = gdb.stdout.take().unwrap();
    let mi = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut mi_out, &mut s);
        s
    });
    let mut seen = String::new();
    // ready: the console showed the stop at the entry point
    // (gdb prints its prompt first, then the stop: no prompt follows it)
    let ready = pty.read_until(&mut seen, 0, "5\tstart:  LOAD_IMM  r1, 20");
    let mut ask = |cmd: &str, want: &str, seen: &mut String| {
        let from = seen.len();
        pty.master.write_all(format!("{cmd}\n").as_bytes()).unwrap();
        // the reply, then the next prompt before the next command is typed
        let ok = pty.read_until(seen, from, want);
        let ok = ok && {
            let after = from + seen[from..].find(want).unwrap_or(0) + want.len();
            pty.read_until(seen, after, "(gdb) ")
        };
        // blank lines left out: gdb may end the entry stop's display with a
        // newline after the command was typed (seen on a loaded machine)
        let text: String = seen[from..].replace("(gdb) ", "").split("\r\n").filter(|l| !l.is_empty()).map(|l| format!("{l}\r\n")).collect();
        (ok, text)
    };
    let (why_ok, why) = if ready { ask("flux why", "not stopped by anything yet: at 0x0000: LOAD_IMM      r1, 0x14", &mut seen) } else { (false, String::new()) };
    let (disas_ok, disas) = if why_ok { ask("flux disas 0xC 2", "  0010: JL            r1, 0x2D", &mut seen) } else { (false, String::new()) };
    drop(gdb.stdin.take());
    let _ = gdb.kill();
    let _ = gdb.wait();
    let mi_text = mi.join().unwrap_or_default();
    assert!(ready, "the new-ui console never showed the entry stop:\n{seen}\nMI:\n{mi_text}");
    assert!(why_ok, "`flux why` printed nothing in the new-ui console:\n{seen}");
    assert!(disas_ok, "`flux disas` printed nothing in the new-ui console:\n{seen}");
    assert!(why.contains("flux why\r\nnot stopped by anything yet: at 0x0000: LOAD_IMM      r1, 0x14\r\n"), "{why:?}");
    assert!(disas.contains("flux disas 0xC 2\r\n   000C: CMP_I16       r1, 0x2\r\n   0010: JL            r1, 0x2D\r\n"), "{disas:?}");
}
