//! `run --profile` writes an evented speedscope file: per agent, each frame
//! opened at the instruction index its function was entered and closed at
//! the index after its return, so that speedscope's Time Order view shows
//! the run.  Past `--profile-events` it falls back to aggregated samples and
//! says so.
mod common;

use common::*;
use serde_json::Value;

/// examples/fibonacci.fasm with n = 10: fib is called 177 times (88 inner
/// calls of 12 instructions, 89 leaves of 4), the top runs 4 instructions.
fn fib10() -> String {
    std::fs::read_to_string(example("fibonacci.fasm")).unwrap().replace("LOAD_IMM  r1, 20", "LOAD_IMM  r1, 10")
}
const FIB10_INSNS: u64 = 88 * 12 + 89 * 4 + 4;

/// Agent 1 calls g once, agent 2 (starting at w) twice; g is a NOP and a RET.
const TWO: &str = "
start:  SPAWN     w
        CALL      g
        JOIN      r0
        HALT
g:      NOP
        RET
w:      CALL      g
        CALL      g
        HALT
";

/// Runs `run PROGRAM --profile OUT --trace TRACE EXTRA...`: (exit code,
/// stderr, the profile, the number of instructions traced).
fn profile(src: &str, extra: &[&str]) -> (i32, String, Value, u64) {
    let (_d, p) = program("prog.fasm", src);
    let dir = tempfile::tempdir().unwrap();
    let (out, trace) = (dir.path().join("p.speedscope.json"), dir.path().join("t.txt"));
    let mut args = vec!["run", p.to_str().unwrap(), "--profile", out.to_str().unwrap(), "--trace", trace.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, _, err) = flux(&args);
    let v = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let traced = std::fs::read_to_string(&trace).unwrap().lines().count() as u64;
    (code, err, v, traced)
}

fn frame_names(v: &Value) -> Vec<String> {
    v["shared"]["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect()
}

/// Checks that the events of `p` nest (every close ends the innermost open
/// frame, none is left open), that `at` never decreases and stays within
/// the profile; returns the self instructions of each frame.
fn check_nesting(p: &Value, frames: usize) -> Vec<u64> {
    let (start, end) = (p["startValue"].as_u64().unwrap(), p["endValue"].as_u64().unwrap());
    let mut stack: Vec<usize> = Vec::new();
    let mut self_time = vec![0u64; frames];
    let mut last = start;
    for e in p["events"].as_array().unwrap() {
        let (at, frame) = (e["at"].as_u64().unwrap(), e["frame"].as_u64().unwrap() as usize);
        assert!(at >= last && at <= end, "{e} after {last} (end {end})");
        if let Some(&top) = stack.last() {
            self_time[top] += at - last;
        }
        last = at;
        match e["type"].as_str().unwrap() {
            "O" => stack.push(frame),
            "C" => assert_eq!(stack.pop(), Some(frame), "{e} closes a frame that is not the innermost"),
            t => panic!("event type {t}"),
        }
    }
    assert!(stack.is_empty(), "frames left open: {stack:?}");
    assert_eq!(last, end);
    self_time
}

fn opens_of(p: &Value, frame: usize) -> usize {
    p["events"].as_array().unwrap().iter().filter(|e| e["type"] == "O" && e["frame"] == frame).count()
}

#[test]
fn fib10_is_a_timeline_of_177_calls() {
    let (code, err, v, traced) = profile(&fib10(), &[]);
    assert_eq!((code, err.as_str()), (55, ""));
    assert_eq!(traced, FIB10_INSNS);
    assert_eq!(frame_names(&v), ["start", "fib"]);
    assert_eq!(v["exporter"], format!("cuda-flux-debugger {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(v["name"], "prog.fasm");
    let profiles = v["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1);
    let p = &profiles[0];
    assert_eq!((p["type"].as_str(), p["unit"].as_str(), p["name"].as_str()), (Some("evented"), Some("none"), Some("prog.fasm agent 1 (instructions)")));
    assert_eq!((p["startValue"].as_u64(), p["endValue"].as_u64()), (Some(0), Some(FIB10_INSNS)));
    let self_time = check_nesting(p, 2);
    // start: LOAD_IMM, CALL, DBG_PRINT, HALT; everything else in fib
    assert_eq!(self_time, [4, FIB10_INSNS - 4]);
    assert_eq!((opens_of(p, 0), opens_of(p, 1)), (1, 177));
    assert_eq!(p["events"].as_array().unwrap().len(), 2 + 2 * 177);
    // the first call: LOAD_IMM and CALL ran, fib starts at index 2; its first
    // inner call opens after 5 instructions of fib
    let first: Vec<(&str, u64, u64)> =
        p["events"].as_array().unwrap()[..3].iter().map(|e| (e["type"].as_str().unwrap(), e["frame"].as_u64().unwrap(), e["at"].as_u64().unwrap())).collect();
    assert_eq!(first, [("O", 0, 0), ("O", 1, 2), ("O", 1, 7)]);
}

#[test]
fn each_agent_has_its_own_profile_and_they_sum_to_the_run() {
    let (code, err, v, traced) = profile(TWO, &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    let names = frame_names(&v);
    let profiles = v["profiles"].as_array().unwrap();
    let agents: Vec<&str> = profiles.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(agents, ["prog.fasm agent 1 (instructions)", "prog.fasm agent 2 (instructions)"]);
    let mut total = 0;
    for p in profiles {
        assert_eq!(p["type"], "evented");
        check_nesting(p, names.len());
        total += p["endValue"].as_u64().unwrap() - p["startValue"].as_u64().unwrap();
    }
    assert_eq!(total, traced);
    // agent 2: CALL g, NOP, RET, CALL g, NOP, RET, HALT, in a frame of its own start
    let g = names.iter().position(|n| n == "g").unwrap();
    let w = names.iter().position(|n| n == "w").unwrap();
    assert_eq!(profiles[1]["endValue"], 7);
    let events: Vec<(&str, usize, u64)> = profiles[1]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["frame"].as_u64().unwrap() as usize, e["at"].as_u64().unwrap()))
        .collect();
    assert_eq!(events, [("O", w, 0), ("O", g, 1), ("C", g, 3), ("O", g, 4), ("C", g, 6), ("C", w, 7)]);
    assert_eq!(opens_of(&profiles[0], g), 1);
}

#[test]
fn past_the_event_limit_the_file_holds_aggregated_samples_and_says_so() {
    // fib(10)'s file holds 356 events: exactly at the limit it is a timeline
    let (_, err, v, _) = profile(&fib10(), &["--profile-events", "356"]);
    assert_eq!((err.as_str(), v["profiles"][0]["type"].as_str()), ("", Some("evented")));
    let (code, err, v, _) = profile(&fib10(), &["--profile-events", "355"]);
    assert_eq!(code, 55);
    let line = err.lines().collect::<Vec<_>>();
    assert_eq!(line.len(), 1, "{err}");
    assert!(line[0].starts_with("flux-gdbstub: the profile has more than 355 call events: "), "{err}");
    assert!(line[0].ends_with("p.speedscope.json holds aggregated samples (no timeline); --profile-events raises the limit"), "{err}");
    let note = "aggregated samples: more than 355 call events";
    assert_eq!(v["name"], format!("prog.fasm ({note})"));
    assert_eq!(v["exporter"], format!("cuda-flux-debugger {} ({note})", env!("CARGO_PKG_VERSION")));
    let p = &v["profiles"][0];
    assert_eq!(v["profiles"].as_array().unwrap().len(), 1);
    assert_eq!(p["type"], "sampled");
    assert_eq!(p["endValue"], FIB10_INSNS);
    let weights: u64 = p["weights"].as_array().unwrap().iter().map(|w| w.as_u64().unwrap()).sum();
    assert_eq!(weights, FIB10_INSNS);
}

#[test]
fn without_a_trace_file_the_timeline_is_the_same() {
    let (_d, p) = program("prog.fasm", &fib10());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    let (code, _, err) = flux(&["run", p.to_str().unwrap(), "--profile", out.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (55, ""));
    let alone: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let (_, _, traced, _) = profile(&fib10(), &[]);
    // the same events (the frames differ only in the program's temp path)
    assert!(alone["profiles"] == traced["profiles"], "the profiles differ with and without --trace");
    assert_eq!(frame_names(&alone), frame_names(&traced));
}

/// The saved profile `name` in `dir`.
/// gdb's session (the commands in `-batch`) on fib(10) under a stub whose
/// save directory is the returned one.
fn gdb_on_fib10(commands: &[&str]) -> (String, tempfile::TempDir) {
    let (_d, p) = program("prog.fasm", &fib10());
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start(&p, &["--once", "--save-dir", dir.path().to_str().unwrap()]);
    (gdb_batch(stub.port, commands), dir)
}

fn saved(dir: &std::path::Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

/// `monitor profile save` through gdb writes the timeline `run --profile`
/// writes: armed before the first instruction and saved at the breakpoint
/// on HALT (which has not run), the same 177 calls of fib, nested, over
/// every instruction the profile counted; past `monitor profile events N`
/// aggregated samples, said in the answer.
#[test]
fn monitor_profile_save_writes_the_timeline_through_gdb() {
    let (out, dir) = gdb_on_fib10(&[
        "monitor profile on",
        "break *0x0B",
        "continue",
        "monitor profile save t.json",
        "monitor profile events 356",
        "monitor profile save t356.json",
        "monitor profile events 355",
        "monitor profile save a.json",
        "monitor profile events 1000",
        "monitor profile events x",
        "monitor profile events 20000001",
        "monitor profile events 20000000",
    ]);
    let n = FIB10_INSNS - 1;
    assert!(out.contains(&format!("saved the profile ({n} instructions) to t.json (speedscope JSON)\n")), "{out}");
    assert!(out.contains(&format!("saved the profile ({n} instructions) to t356.json (speedscope JSON)\n")), "{out}");
    assert!(out.contains("the timeline keeps at most 355 call events; this profile has more: it will be saved as aggregated samples\n"), "{out}");
    assert!(
        out.contains(&format!(
            "saved the profile ({n} instructions) to a.json (speedscope JSON) as aggregated samples: more than 355 call events (monitor profile events N raises the limit, monitor profile reset starts again)\n"
        )),
        "{out}"
    );
    assert!(out.contains("the timeline keeps at most 1000 call events; this profile's were dropped past the old limit (monitor profile reset starts a new one)\n"), "{out}");
    assert!(out.contains("error: usage: monitor profile events N (the most call events a saved timeline holds)\n"), "{out}");
    // a client cannot make the stub hold unbounded events: refused, and the limit stays
    assert!(out.contains("error: a timeline keeps at most 20000000 call events (16 bytes each, held until saved)\n"), "{out}");
    assert!(out.contains("the timeline keeps at most 20000000 call events; this profile's were dropped past the old limit"), "{out}");

    for name in ["t.json", "t356.json"] {
        let v = saved(dir.path(), name);
        assert_eq!(frame_names(&v), ["start", "fib"], "{name}");
        let profiles = v["profiles"].as_array().unwrap();
        assert_eq!(profiles.len(), 1);
        let p = &profiles[0];
        assert_eq!((p["type"].as_str(), p["name"].as_str()), (Some("evented"), Some("prog.fasm agent 1 (instructions)")));
        assert_eq!((p["startValue"].as_u64(), p["endValue"].as_u64()), (Some(0), Some(n)));
        // start: LOAD_IMM, CALL, DBG_PRINT (HALT has not run); the rest in fib
        assert_eq!(check_nesting(p, 2), [3, n - 3]);
        assert_eq!((opens_of(p, 0), opens_of(p, 1)), (1, 177));
        let first: Vec<(&str, u64, u64)> =
            p["events"].as_array().unwrap()[..3].iter().map(|e| (e["type"].as_str().unwrap(), e["frame"].as_u64().unwrap(), e["at"].as_u64().unwrap())).collect();
        assert_eq!(first, [("O", 0, 0), ("O", 1, 2), ("O", 1, 7)]);
    }
    let v = saved(dir.path(), "a.json");
    let note = "aggregated samples: more than 355 call events";
    assert_eq!(v["name"], format!("prog.fasm ({note})"));
    let p = &v["profiles"][0];
    assert_eq!((p["type"].as_str(), p["endValue"].as_u64()), (Some("sampled"), Some(n)));
    let weights: u64 = p["weights"].as_array().unwrap().iter().map(|w| w.as_u64().unwrap()).sum();
    assert_eq!(weights, n);
}

/// A profile made of many runs (breakpoints hit, single steps, a profile
/// turned off and on again) is one timeline over the instructions it
/// counted: it nests, its length is the profile's count, and fib opens once
/// per call that ran while profiling.
#[test]
fn a_profile_over_stops_and_steps_is_one_timeline() {
    let (out, dir) = gdb_on_fib10(&[
        // the first instruction (LOAD_IMM) runs unprofiled
        "stepi",
        "monitor profile on",
        "break fib",
        "continue",
        "continue",
        "continue",
        "delete",
        "stepi 5",
        // CMP_I16 and JL of a call run unprofiled: the call is still counted
        "monitor profile off",
        "stepi 2",
        "monitor profile on",
        "break *0x0B",
        "continue",
        "monitor profile save s.json",
        "monitor profile report 1",
    ]);
    let n = FIB10_INSNS - 1 - 1 - 2;
    assert!(out.contains(&format!("saved the profile ({n} instructions) to s.json (speedscope JSON)\n")), "{out}");
    let v = saved(dir.path(), "s.json");
    let p = &v["profiles"][0];
    assert_eq!((p["type"].as_str(), p["startValue"].as_u64(), p["endValue"].as_u64()), (Some("evented"), Some(0), Some(n)));
    assert_eq!(frame_names(&v), ["start", "fib"]);
    let self_time = check_nesting(p, 2);
    assert_eq!(self_time.iter().sum::<u64>(), n);
    // start's first frame opens where it was: at the CALL (LOAD_IMM ran before)
    assert_eq!(self_time[0], 2);
    assert_eq!((opens_of(p, 0), opens_of(p, 1)), (1, 177));
}

/// A restart while profiling starts the profile again: `monitor reset` and
/// the same run to the same stop give the same counts and the same timeline
/// as the first run gave, not the two runs run together.
#[test]
fn a_restart_while_profiling_starts_the_profile_again() {
    let (out, dir) = gdb_on_fib10(&[
        "monitor profile on",
        "break *0x0B",
        "continue",
        "monitor profile save first.json",
        "monitor reset",
        "continue",
        "monitor profile save second.json",
    ]);
    let n = FIB10_INSNS - 1;
    for name in ["first.json", "second.json"] {
        assert!(out.contains(&format!("saved the profile ({n} instructions) to {name} (speedscope JSON)\n")), "{out}");
    }
    let (first, second) = (saved(dir.path(), "first.json"), saved(dir.path(), "second.json"));
    assert_eq!(first["profiles"], second["profiles"]);
    let p = &second["profiles"][0];
    assert_eq!((p["type"].as_str(), p["startValue"].as_u64(), p["endValue"].as_u64()), (Some("evented"), Some(0), Some(n)));
    assert_eq!(check_nesting(p, 2), [3, n - 3]);
    assert_eq!((opens_of(p, 0), opens_of(p, 1)), (1, 177));
}
