//! The CodeTracer export, read back with runtime_tracing's own types.
use std::fs;
use std::path::{Path, PathBuf};

use cuda_flux_debugger::asm;
use cuda_flux_debugger::codetracer::{copied_source_path, write_codetracer};
use cuda_flux_debugger::disasm;
use cuda_flux_debugger::isa;
use cuda_flux_debugger::program::Program;
use cuda_flux_debugger::tracer::{RegWrite, TraceRecord};
use cuda_flux_debugger::vm::{StopKind, Vm, VmConfig};
use runtime_tracing::{
    create_trace_reader, TraceEventsFileFormat, TraceLowLevelEvent, TraceMetadata, ValueRecord,
};

/// examples/fibonacci.fasm computing fib(n) instead of fib(20).
fn fibonacci_source(n: u32) -> String {
    let text = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fibonacci.fasm")).unwrap();
    assert!(text.contains("LOAD_IMM  r1, 20"));
    text.replacen("LOAD_IMM  r1, 20", &format!("LOAD_IMM  r1, {n}"), 1)
}

/// Runs `bytes` one instruction at a time and records each, with the registers
/// whose value or confidence changed as the registers it wrote.
fn simulate(bytes: &[u8]) -> Vec<TraceRecord> {
    let mut vm = Vm::with_program(bytes, VmConfig::default()).unwrap();
    let mut records = Vec::new();
    for _ in 0..100_000 {
        let before = vm.regs();
        let pc = vm.pc();
        let opcode = vm.read_u8(pc).unwrap();
        let stop = vm.run(1);
        vm.take_output();
        if stop.executed == 0 {
            assert_eq!(stop.kind, StopKind::Output, "stopped without running: {stop:?}");
            continue;
        }
        let after = vm.regs();
        let regs = (0..16)
            .filter(|&r| before.r[r] != after.r[r] || before.conf[r] != after.conf[r])
            .map(|r| RegWrite { reg: r as u8, value: after.r[r], conf: after.conf[r] })
            .collect();
        let text = disasm::decode(&bytes[pc as usize..], pc).unwrap().text();
        records.push(TraceRecord {
            index: records.len() as u64,
            pc,
            opcode,
            mnemonic: isa::opcode(opcode).map_or("DB", |o| o.mnemonic),
            text: text.into(),
            regs,
            mem: Vec::new(),
            confidence: vm.last_confidence(),
            energy: after.energy,
            cycles: after.cycles,
            events: Vec::new(),
            agent: 1,
        });
        if matches!(stop.kind, StopKind::Halted { .. }) {
            return records;
        }
    }
    panic!("the program did not halt");
}

fn load_events(dir: &Path) -> Vec<TraceLowLevelEvent> {
    // Both ways runtime_tracing reads a JSON trace: serde into its event type,
    // and its own reader.
    let text = fs::read_to_string(dir.join("trace.json")).unwrap();
    let events: Vec<TraceLowLevelEvent> = serde_json::from_str(&text).unwrap();
    let read = create_trace_reader(TraceEventsFileFormat::Json).load_trace_events(&dir.join("trace.json")).unwrap();
    assert_eq!(serde_json::to_string(&events).unwrap(), serde_json::to_string(&read).unwrap());
    events
}

fn step_lines(events: &[TraceLowLevelEvent]) -> Vec<i64> {
    events
        .iter()
        .filter_map(|e| match e {
            TraceLowLevelEvent::Step(s) => Some(s.line.0),
            _ => None,
        })
        .collect()
}

fn function_names(events: &[TraceLowLevelEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            TraceLowLevelEvent::Function(f) => Some(f.name.clone()),
            _ => None,
        })
        .collect()
}

/// The names of the functions called, in order (the top level first).
fn calls(events: &[TraceLowLevelEvent]) -> Vec<String> {
    let names = function_names(events);
    events
        .iter()
        .filter_map(|e| match e {
            TraceLowLevelEvent::Call(c) => Some(names[c.function_id.0].clone()),
            _ => None,
        })
        .collect()
}

fn count(events: &[TraceLowLevelEvent], f: impl Fn(&TraceLowLevelEvent) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}

/// The depth of calls after each event, checking it never drops below the top level.
fn max_depth(events: &[TraceLowLevelEvent]) -> (usize, usize) {
    let (mut depth, mut max) = (0usize, 0usize);
    for e in events {
        match e {
            TraceLowLevelEvent::Call(_) => depth += 1,
            TraceLowLevelEvent::Return(_) => {
                assert!(depth > 1, "a return out of the top level");
                depth -= 1;
            }
            TraceLowLevelEvent::Step(_) => assert!(depth >= 1, "a step before the top-level call"),
            _ => {}
        }
        max = max.max(depth);
    }
    (depth, max)
}

/// The values of `name` after each step: (step number, value).
fn values_of(events: &[TraceLowLevelEvent], name: &str) -> Vec<(usize, ValueRecord)> {
    let mut variables = Vec::new();
    let mut step = 0usize;
    let mut out = Vec::new();
    for e in events {
        match e {
            TraceLowLevelEvent::VariableName(n) => variables.push(n.clone()),
            TraceLowLevelEvent::Step(_) => step += 1,
            TraceLowLevelEvent::Value(v) if variables[v.variable_id.0] == name => out.push((step - 1, v.value.clone())),
            _ => {}
        }
    }
    out
}

fn int(v: &ValueRecord) -> i64 {
    match v {
        ValueRecord::Int { i, .. } => *i,
        other => panic!("not an Int: {other:?}"),
    }
}

#[test]
fn recursive_fibonacci_from_fasm() {
    let dir = tempfile::tempdir().unwrap();
    let source = fibonacci_source(5);
    let src_path = dir.path().join("fib5.fasm");
    fs::write(&src_path, &source).unwrap();
    let program = Program::load(&src_path).unwrap();
    let assembled = program.source.as_ref().unwrap().1.clone();
    let records = simulate(&program.bytes);
    assert_eq!(records.last().unwrap().mnemonic, "HALT");

    let out = dir.path().join("trace");
    write_codetracer(&out, &program, &records).unwrap();
    let events = load_events(&out);

    // One step per record, each on its instruction's line of the .fasm file.
    let lines = step_lines(&events);
    assert_eq!(lines.len(), records.len());
    let expected: Vec<i64> = records.iter().map(|r| assembled.line_of(r.pc).unwrap() as i64).collect();
    assert_eq!(lines, expected);
    // LOAD_IMM (5), CALL fib (6), CMP_I16 (10, fib's first), JL (11), PUSH_R (12).
    assert_eq!(lines[..5], [5, 6, 10, 11, 12]);

    // fib(5) makes 15 calls of fib (1 + C(n-1) + C(n-2), C(0) = C(1) = 1), each returning.
    let call_records = records.iter().filter(|r| r.mnemonic == "CALL").count();
    let ret_records = records.iter().filter(|r| r.mnemonic == "RET").count();
    assert_eq!((call_records, ret_records), (15, 15));
    let called = calls(&events);
    assert_eq!(called.len(), call_records + 1, "the calls and the top level");
    assert_eq!(called[0], "start", "the top level is the label at 0");
    assert!(called[1..].iter().all(|n| n == "fib"));
    assert_eq!(count(&events, |e| matches!(e, TraceLowLevelEvent::Return(_))), ret_records);
    let names = function_names(&events);
    assert_eq!(names, ["start", "fib"]);
    // Recursion: fib(5) -> fib(4) -> fib(3) -> fib(2) -> fib(1) under the top level,
    // and everything returned at the end but the top level.
    assert_eq!(max_depth(&events), (1, 6));
    // Each call's first step is fib's first line, and the step after each return
    // is in the caller, after a CALL.
    for (i, e) in events.iter().enumerate() {
        if let TraceLowLevelEvent::Call(c) = e {
            if c.function_id.0 != 0 {
                let TraceLowLevelEvent::Step(s) = &events[i - 1] else { panic!("no step before call {i}") };
                assert_eq!(s.line.0, 10);
            }
        }
    }

    // Register values: r1 = 5 on the first step (the LOAD_IMM), with its confidence.
    let r1 = values_of(&events, "r1");
    assert_eq!(r1[0].0, 0);
    assert_eq!(int(&r1[0].1), 5);
    assert!(matches!(values_of(&events, "conf1")[0].1, ValueRecord::Float { .. }));
    // r0 = fib(5) = 5 when the program halts, and energy on every step.
    let r0 = values_of(&events, "r0");
    assert_eq!(int(&r0.last().unwrap().1), 5);
    let energy = values_of(&events, "energy");
    assert_eq!(energy.len(), records.len());
    assert_eq!(int(&energy.last().unwrap().1), records.last().unwrap().energy);
    // The disassembly rides along as each step's Asm.
    let asm: Vec<&Vec<String>> = events
        .iter()
        .filter_map(|e| match e {
            TraceLowLevelEvent::Asm(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(asm.len(), records.len());
    assert!(asm[0][0].starts_with("LOAD_IMM"));

    // Metadata, paths, and the copy of the source.
    let metadata: TraceMetadata = serde_json::from_str(&fs::read_to_string(out.join("trace_metadata.json")).unwrap()).unwrap();
    assert_eq!(metadata.program, src_path.display().to_string());
    let paths: Vec<PathBuf> = serde_json::from_str(&fs::read_to_string(out.join("trace_paths.json")).unwrap()).unwrap();
    let abs = std::path::absolute(&src_path).unwrap();
    assert_eq!(paths, std::slice::from_ref(&abs));
    assert_eq!(fs::read_to_string(copied_source_path(&out, &abs)).unwrap(), source);
    // Every step and function points at that path.
    for e in &events {
        match e {
            TraceLowLevelEvent::Step(s) => assert_eq!(s.path_id.0, 0),
            TraceLowLevelEvent::Function(f) => assert_eq!(f.path_id.0, 0),
            _ => {}
        }
    }
}

#[test]
fn raw_bytecode_steps_on_a_generated_listing() {
    let dir = tempfile::tempdir().unwrap();
    let assembled = asm::assemble(&fibonacci_source(3)).unwrap();
    let bin_path = dir.path().join("fib3.bin");
    fs::write(&bin_path, &assembled.bytes).unwrap();
    let program = Program::load(&bin_path).unwrap();
    assert!(program.source.is_none());
    let records = simulate(&program.bytes);

    let out = dir.path().join("trace");
    write_codetracer(&out, &program, &records).unwrap();
    let events = load_events(&out);

    // The listing is in files/, and steps are on its lines: 2 + the instruction's index.
    let listing_path = std::path::absolute(dir.path().join("fib3.listing.fasm")).unwrap();
    let paths: Vec<PathBuf> = serde_json::from_str(&fs::read_to_string(out.join("trace_paths.json")).unwrap()).unwrap();
    assert_eq!(paths, std::slice::from_ref(&listing_path));
    let listing = fs::read_to_string(copied_source_path(&out, &listing_path)).unwrap();
    assert_eq!(listing, disasm::listing(&program.bytes));
    let listing_lines: Vec<&str> = listing.lines().collect();
    let lines = step_lines(&events);
    assert_eq!(lines.len(), records.len());
    for (r, &line) in records.iter().zip(&lines) {
        assert!(
            listing_lines[line as usize - 1].starts_with(&format!("  {:04X}: ", r.pc)),
            "pc {:04X} on line {line}: {}",
            r.pc,
            listing_lines[line as usize - 1]
        );
    }
    assert_eq!(lines[0], 2);

    // No labels: functions are named by address.  fib(3) makes 5 calls.
    let fib = assembled.labels["fib"];
    let fn_name = format!("fn_0x{fib:04X}");
    assert_eq!(function_names(&events), ["main".to_string(), fn_name.clone()]);
    let called = calls(&events);
    assert_eq!(called.len(), 1 + 5);
    assert!(called[1..].iter().all(|n| *n == fn_name));
    assert_eq!(count(&events, |e| matches!(e, TraceLowLevelEvent::Return(_))), 5);
    assert_eq!(max_depth(&events), (1, 4));
    assert_eq!(int(&values_of(&events, "r1")[0].1), 3);
}
