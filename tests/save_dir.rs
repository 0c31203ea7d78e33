//! Files written on gdb's request (`monitor replay save`, `monitor trace
//! save`, `monitor profile save`) go only inside `serve --save-dir DIR`, and
//! only as regular files: every refusal is one line and writes nothing.
mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::*;

/// Every file under `dir` (relative path -> contents; symlinks and FIFOs as markers).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let t = e.file_type().unwrap();
            if t.is_symlink() {
                out.insert(rel, format!("-> {}", std::fs::read_link(&p).unwrap().display()));
            } else if t.is_dir() {
                out.insert(rel.clone() + "/", String::new());
                walk(root, &p, out);
            } else if t.is_file() {
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            } else {
                out.insert(rel, "(special)".into());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The lines gdb printed that start with "error: ".
fn errors(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("error: ")).collect()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

const REGULAR: &str = "not a regular file; files are saved only as regular files";

#[test]
fn paths_outside_the_save_dir_and_special_files_are_refused_in_one_line() {
    let save = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(save.path()).unwrap().display().to_string();
    let out_root = std::fs::canonicalize(outside.path()).unwrap();
    std::fs::write(out_root.join("victim"), "keep").unwrap();
    symlink(out_root.join("victim"), save.path().join("link")).unwrap();
    symlink(&out_root, save.path().join("outdir")).unwrap();
    symlink("..", save.path().join("up")).unwrap();
    mkfifo(&save.path().join("fifo"));
    std::fs::create_dir(save.path().join("sub")).unwrap();
    let before_save = tree(save.path());
    let before_out = tree(&out_root);

    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--record", "--save-dir", save.path().to_str().unwrap()]);
    let abs_out = out_root.join("new.replay").display().to_string();
    let abs_victim = out_root.join("victim").display().to_string();
    let sneaky = format!("{root}/sub/../../x.json");
    let cmds = [
        "monitor trace on".to_string(),
        "monitor profile on".to_string(),
        "break *0x2D".to_string(),
        "continue".to_string(),
        format!("monitor replay save {abs_out}"),
        format!("monitor trace save {abs_victim}"),
        format!("monitor profile save {sneaky}"),
        "monitor replay save ../escape.replay".to_string(),
        "monitor trace save sub/../../escape.txt json".to_string(),
        "monitor profile save link".to_string(),
        "monitor replay save outdir/new.replay".to_string(),
        "monitor trace save up/escape.txt".to_string(),
        "monitor trace save outdir/ct codetracer".to_string(),
        "monitor trace save ../ct codetracer".to_string(),
        "monitor replay save fifo".to_string(),
        "monitor profile save fifo".to_string(),
        "monitor trace save sub".to_string(),
        "monitor replay save".to_string(),
        "monitor when".to_string(),
    ];
    let cmds: Vec<&str> = cmds.iter().map(String::as_str).collect();
    let out = gdb_batch(stub.port, &cmds);
    let leaves = |p: &str| format!("error: {p}: '..' leads out of the save directory {root}");
    let link_out = |p: &str| format!("error: {p}: a symbolic link in it leads out of the save directory {root}");
    let expected = vec![
        format!("error: {abs_out}: outside the save directory {root}"),
        format!("error: {abs_victim}: outside the save directory {root}"),
        format!("error: {sneaky}: outside the save directory {root}"),
        leaves("../escape.replay"),
        leaves("sub/../../escape.txt"),
        link_out("link"),
        link_out("outdir/new.replay"),
        link_out("up/escape.txt"),
        link_out("outdir/ct/trace_metadata.json"),
        leaves("../ct"),
        format!("error: fifo: a FIFO, {REGULAR}"),
        format!("error: fifo: a FIFO, {REGULAR}"),
        format!("error: sub: a directory, {REGULAR}"),
    ];
    assert_eq!(errors(&out), expected, "{out}");
    // gdb kept talking to the stub after all of them
    assert!(out.contains("monitor replay save PATH") || out.contains("usage: monitor record"), "{out}");
    assert!(out.contains("instruction 99 of 0..99"), "{out}");
    // nothing was written, inside or outside
    assert_eq!(tree(save.path()), before_save);
    assert_eq!(tree(&out_root), before_out);
    assert_eq!(std::fs::read_to_string(out_root.join("victim")).unwrap(), "keep");
}

#[test]
fn a_device_is_refused_and_nothing_blocks() {
    // the save directory /dev: every name in it is a device (or a directory)
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--record", "--save-dir", "/dev"]);
    let out = gdb_batch(
        stub.port,
        &[
            "stepi 3",
            "monitor profile save null",
            "monitor replay save zero",
            "monitor trace save full json",
            "monitor replay save /dev/../etc/flux-test",
            "monitor when",
        ],
    );
    assert_eq!(
        errors(&out),
        vec![
            format!("error: null: a character device, {REGULAR}"),
            format!("error: zero: a character device, {REGULAR}"),
            format!("error: full: a character device, {REGULAR}"),
            "error: /dev/../etc/flux-test: outside the save directory /dev".to_string(),
        ],
        "{out}"
    );
    assert!(out.contains("instruction 3 of 0..3"), "{out}");
    assert!(!Path::new("/etc/flux-test").exists());
}

/// Writes 1 then 2 to 0x8000, reads it back, halts: five instructions before HALT at 0x18.
#[test]
fn good_relative_paths_land_in_the_save_dir_with_the_right_content() {
    let (d, prog) = program("w.fasm", WATCH_PROG);
    let save = tempfile::tempdir().unwrap();
    std::fs::create_dir(save.path().join("sub")).unwrap();
    // links that stay inside are followed
    symlink("sub", save.path().join("alias")).unwrap();
    // an old file is overwritten, not appended to
    std::fs::write(save.path().join("sub/t.txt"), "old contents, longer than the new ones ".repeat(100)).unwrap();
    let stub = Stub::start(&prog, &["--once", "--save-dir", save.path().to_str().unwrap()]);
    let out = gdb_batch(
        stub.port,
        &[
            "monitor record on",
            "monitor trace on",
            "monitor profile on",
            "break *0x18",
            "continue",
            "monitor trace save sub/t.txt",
            "monitor trace save ./alias/t.jsonl json",
            "monitor profile save p.json",
            "monitor replay save sub/../r.replay",
            "monitor trace save ct codetracer",
        ],
    );
    assert!(errors(&out).is_empty(), "{out}");
    for line in [
        "saved 5 records to sub/t.txt",
        "saved 5 records to ./alias/t.jsonl",
        "saved the profile (5 instructions) to p.json (speedscope JSON)",
        "saved instructions 0..5 to sub/../r.replay",
        "saved 5 records to ct",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    let files: Vec<String> = tree(save.path()).into_keys().filter(|k| k == "ct/" || !k.starts_with("ct/")).collect();
    assert_eq!(files, ["alias", "ct/", "p.json", "r.replay", "sub/", "sub/t.jsonl", "sub/t.txt"]);
    for f in ["trace.json", "trace_metadata.json", "trace_paths.json"] {
        assert!(save.path().join("ct").join(f).is_file(), "{f}");
    }

    // the text and JSON traces are the headless trace's first five records
    let full = d.path().join("full.txt");
    let (code, _, err) = flux(&["run", prog.to_str().unwrap(), "--trace", full.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let full = std::fs::read_to_string(&full).unwrap();
    let first5: String = full.lines().take(5).map(|l| format!("{l}\n")).collect();
    assert_eq!(std::fs::read_to_string(save.path().join("sub/t.txt")).unwrap(), first5);
    let json = std::fs::read_to_string(save.path().join("sub/t.jsonl")).unwrap();
    let pcs: Vec<u64> = json.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["pc"].as_u64().unwrap()).collect();
    assert_eq!(pcs, [0x00, 0x06, 0x0A, 0x10, 0x14]);
    let profile: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(save.path().join("p.json")).unwrap()).unwrap();
    assert_eq!(profile["profiles"][0]["endValue"], 5);
    // the replay file is one `serve --replay` and `replay diff` accept
    let r = save.path().join("r.replay").display().to_string();
    let (code, out, err) = flux(&["replay", "diff", &r, &r]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.starts_with("the recordings agree: "), "{out}");
}

#[test]
fn stdio_serving_saves_in_the_save_dir_too() {
    let save = tempfile::tempdir().unwrap();
    let prog = example("fibonacci.fasm");
    let mut cmd = std::process::Command::new("gdb");
    cmd.args(["-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off"]);
    let target = format!("target remote | {} serve --stdio --save-dir {} {}", stub_bin(), save.path().display(), prog.display());
    cmd.args(["-ex", &target, "-ex", "stepi 4", "-ex", "monitor profile on", "-ex", "stepi 2", "-ex", "monitor profile save p.json"]);
    cmd.args(["-ex", "monitor profile save /tmp/flux-save-dir-test.json"]);
    let out = run_with_timeout(cmd, None);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("saved the profile (2 instructions) to p.json"), "{text}");
    let root = std::fs::canonicalize(save.path()).unwrap();
    assert!(text.contains(&format!("error: /tmp/flux-save-dir-test.json: outside the save directory {}", root.display())), "{text}");
    assert!(save.path().join("p.json").is_file());
}

#[test]
fn serve_refuses_a_save_dir_that_is_not_a_directory() {
    let (_d, prog) = program("w.fasm", WATCH_PROG);
    let (code, _, err) = flux(&["serve", prog.to_str().unwrap(), "--save-dir", "/nonexistent-flux-dir", "--listen", "127.0.0.1:0"]);
    assert_eq!((code, err.as_str()), (2, "flux-gdbstub: save directory /nonexistent-flux-dir: No such file or directory (os error 2)\n"));
    let (code, _, err) = flux(&["serve", prog.to_str().unwrap(), "--save-dir", prog.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2);
    assert!(err.ends_with(": Not a directory (os error 20)\n") && err.lines().count() == 1, "{err}");
}
