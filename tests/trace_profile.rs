//! Tracing and profiling with exact values: the CLI's --trace and --profile,
//! and `monitor trace` / `monitor profile` through stock gdb.
mod common;

use common::*;


const SHORT: &str = "
        LOAD_IMM  r1, 3          ; 0x00
        CONF_SET  r1, 50         ; 0x06
spin:   STORE32   r1, 0x8000     ; 0x0A
        DECR      r1             ; 0x0E
        JNZ       r1, spin       ; 0x10
        HALT                     ; 0x14
";

#[test]
fn json_trace_has_the_pc_sequence_and_the_writes() {
    let (_d, p) = program("short.fasm", SHORT);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.jsonl");
    let (code, _, err) = flux(&["run", p.to_str().unwrap(), "--trace", out.to_str().unwrap(), "--trace-format", "json"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let recs: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let pcs: Vec<u64> = recs.iter().map(|r| r["pc"].as_u64().unwrap()).collect();
    assert_eq!(pcs, [0x00, 0x06, 0x0A, 0x0E, 0x10, 0x0A, 0x0E, 0x10, 0x0A, 0x0E, 0x10, 0x14]);
    let idx: Vec<u64> = recs.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(idx, (0..12).collect::<Vec<_>>());
    assert_eq!(recs[0]["mnemonic"], "LOAD_IMM");
    assert_eq!(recs[0]["text"], "LOAD_IMM      r1, 0x3");
    assert_eq!(recs[0]["regs"], serde_json::json!([{"reg": 1, "value": 3, "conf": 1.0}]));
    assert_eq!(recs[0]["energy"], 999_999_999);
    // CONF_SET lowers conf1: a confidence-drop event
    assert_eq!(recs[1]["events"][0]["event"], "confidence_drop");
    assert_eq!(recs[1]["events"][0]["after"], 0.5);
    // STORE32 writes memory: address, old, new
    assert_eq!(recs[2]["mem"], serde_json::json!([{"addr": 0x8000, "len": 4, "old": 0, "new": 3}]));
    assert_eq!(recs[5]["mem"], serde_json::json!([{"addr": 0x8000, "len": 4, "old": 3, "new": 2}]));
    assert_eq!(recs[3]["regs"], serde_json::json!([{"reg": 1, "value": 2, "conf": 0.5}]));
    assert_eq!(recs[11]["mnemonic"], "HALT");
}

#[test]
fn text_trace_streams_a_whole_run_and_keeps_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fib.txt");
    let (code, stdout, _) = flux(&["run", example("fibonacci.fasm").to_str().unwrap(), "--trace", out.to_str().unwrap()]);
    assert_eq!((code, stdout.as_str()), (109, "6765\n"));
    let text = std::fs::read_to_string(&out).unwrap();
    // fib(20): 10,945 inner calls of 12 instructions, 10,946 leaves of 4, and 4 at the top
    assert_eq!(text.lines().count(), 175_128);
    let first: Vec<&str> = text.lines().take(2).collect();
    assert_eq!(first[0], "#0        0000: LOAD_IMM      r1, 0x14       r1=20 (1) energy=999999999");
    assert_eq!(first[1], "#1        0006: CALL          0xC            [0xFFFC:4] 0x0->0x9 energy=999999998");
    // the trace outgrows the VM's buffer several times: indices stay contiguous
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("#175127   000B: HALT"), "{last}");
}

#[test]
fn profile_counts_exactly_and_writes_speedscope() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fib.speedscope.json");
    let (code, _, err) = flux(&["run", example("fibonacci.fasm").to_str().unwrap(), "--profile", out.to_str().unwrap()]);
    assert_eq!(code, 109, "{err}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["$schema"], "https://www.speedscope.app/file-format-schema.json");
    let frames: Vec<&str> = v["shared"]["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(frames, ["start", "fib"]);
    let p = &v["profiles"][0];
    assert_eq!(v["profiles"].as_array().unwrap().len(), 1);
    assert_eq!(p["type"], "evented");
    assert_eq!(p["unit"], "none");
    assert_eq!(p["startValue"], 0);
    assert_eq!(p["endValue"], 175_128);
    // fib(20): 21,891 calls, each opened and closed, and start's frame
    assert_eq!(p["events"].as_array().unwrap().len(), 2 + 2 * 21_891);
}

#[test]
fn monitor_profile_and_trace_through_gdb() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--save-dir", dir.path().to_str().unwrap()]);
    // an absolute path inside the save directory, and a relative one
    let json = dir.path().join("ring.jsonl");
    let ct = dir.path().join("ct");
    let out = gdb_batch(
        stub.port,
        &[
            "monitor profile on",
            "monitor trace on",
            "monitor trace size 1000",
            "break *0x0B",
            "continue",
            "monitor profile report 3",
            "monitor trace show 3",
            &format!("monitor trace save {} json", json.display()),
            "monitor trace save ct codetracer",
            "monitor trace frobnicate",
            "monitor trace size 20000000",
        ],
    );
    assert!(out.contains("error: the trace keeps at most 10000000 records"), "{out}");
    assert!(out.contains("profiling on"), "{out}");
    assert!(out.contains("tracing on (ring of 100000 records)"), "{out}");
    // CALL ran 21,891 times for fib(20): the initial call and 21,890 recursive ones
    assert!(out.contains("21,891"), "{out}");
    assert!(out.contains("Bottleneck analysis"), "{out}");
    // fib runs every instruction but start's LOAD_IMM, CALL and DBG_PRINT
    // (HALT, at the breakpoint, has not run): 175,124 of 175,127, over its
    // 21,891 calls 8.0 each; fib spans 0x000C (CMP_I16) to 0x0030 (its last RET)
    assert!(
        out.contains("\n  100.0% of instructions (175,124 of 175,127) in fib at 0x000C–0x0030; 21,891 calls, 8.0 instructions per call; recursive.\n"),
        "{out}"
    );
    assert!(out.contains("#175125   002C: RET"), "the last records before the breakpoint at HALT: {out}");
    assert!(out.contains("#175126   0009: DBG_PRINT     r0"), "{out}");
    assert!(out.contains("Profile of") && out.contains("175,127 instructions"), "{out}");
    assert!(out.contains("CALL                     21,891"), "{out}");
    assert!(out.contains("(174127 older records fell out of the ring of 1000)"), "{out}");
    assert!(out.contains("saved 1000 records to"), "{out}");
    assert!(out.contains("error: usage: monitor trace on|off|clear"), "{out}");
    assert_eq!(std::fs::read_to_string(&json).unwrap().lines().count(), 1000);
    for f in ["trace.json", "trace_metadata.json", "trace_paths.json"] {
        assert!(ct.join(f).is_file(), "{f} missing in the CodeTracer directory");
    }
}

#[test]
fn an_apoptosis_warning_is_an_event_of_the_instruction_that_caused_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.jsonl");
    let (code, _, err) = flux(&[
        "run",
        example("energy.fasm").to_str().unwrap(),
        "--apoptosis-warn",
        "500000000",
        "--trace",
        out.to_str().unwrap(),
        "--trace-format",
        "json",
    ]);
    assert_eq!(code, 152, "{err}");
    let recs: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let warned: Vec<&serde_json::Value> =
        recs.iter().filter(|r| r["events"].as_array().unwrap().iter().any(|e| e["event"] == "apoptosis_warning")).collect();
    assert_eq!(warned.len(), 1, "one warning");
    // the fifth ATP_USE (at 0x0C) took energy to 499,999,977
    assert_eq!(warned[0]["pc"], 0x0C);
    assert_eq!(warned[0]["mnemonic"], "ATP_USE");
    assert_eq!(warned[0]["energy"], 499_999_977);
    let e = warned[0]["events"].as_array().unwrap().iter().find(|e| e["event"] == "apoptosis_warning").unwrap();
    assert_eq!((e["energy"].as_i64(), e["level"].as_i64()), (Some(499_999_977), Some(500_000_000)));
}

// The stub makes its ring by re-executing the recorded run: its records are
// the ones a headless `run --trace` writes for the same instructions.
#[test]
fn the_stub_ring_equals_the_headless_trace_of_the_same_instructions() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring.jsonl");
    let full = dir.path().join("full.jsonl");
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--save-dir", dir.path().to_str().unwrap()]);
    let save = "monitor trace save ring.jsonl json".to_string();
    let out = gdb_batch(
        stub.port,
        &["monitor trace on", "monitor trace size 50", "break *0x2D", "continue", "continue", "continue", save.as_str(), "monitor when"],
    );
    assert!(out.contains("saved 50 records"), "{out}");
    assert!(out.contains("instruction 118 of 0..118"), "{out}");
    let (code, _, err) = flux(&["run", example("fibonacci.fasm").to_str().unwrap(), "--trace", full.to_str().unwrap(), "--trace-format", "json"]);
    assert_eq!(code, 109, "{err}");
    let parse = |p: &std::path::Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let (ring, full) = (parse(&ring), parse(&full));
    let first = ring[0]["index"].as_u64().unwrap() as usize;
    assert_eq!((ring.len(), first), (50, 68), "the newest 50 of 118");
    assert_eq!(ring[..], full[first..first + 50], "the ring is the headless trace at the same indices");
    // the last record is the jump to the third stop at 0x2D: JL r1, small at 0x10
    assert_eq!(ring[49]["pc"], 0x10, "{}", ring[49]);
}

#[test]
fn the_stub_ring_follows_what_gdb_changes() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(stub.port, &["monitor trace on", "stepi 4", "set $energy = 5000", "stepi 3", "monitor trace show 4"]);
    let energies: Vec<&str> = out.lines().filter_map(|l| l.split("energy=").nth(1)).collect();
    assert_eq!(energies, ["999999996", "4999", "4998", "4997"], "{out}");
}

#[test]
fn the_stub_ring_shows_the_apoptosis_warning_on_its_instruction() {
    let stub = Stub::start(&example("energy.fasm"), &["--once", "--apoptosis-warn", "500000000"]);
    let out = gdb_batch(stub.port, &["monitor trace on", "continue", "monitor trace show 2"]);
    assert!(out.contains("#21       0013: JMP           0xC            energy=599999978\n"), "{out}");
    assert!(out.contains("#22       000C: ATP_USE       r1             energy=499999977 !apoptosis-warning 499999977<500000000"), "{out}");
}
