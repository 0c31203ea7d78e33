//! What armed-but-never-hit debugger hooks cost the interpreter itself, with
//! no gdb and no process start-up in the way: `Vm::run` over fib30.fasm and
//! loop.fasm with nothing armed, with 10 breakpoints in the VM's bitmap that
//! are never hit, with one write watchpoint on a word nothing writes, and with
//! both; with stub-side conditions, tracing, profiling, and recording; and the
//! cost of one hit of a breakpoint whose condition is false, in the stub's
//! condition language and as gdb's agent expression.  `cargo bench --bench vm` (FLUX_BENCH_RUNS=N, default 7); best and
//! median of N runs; nothing is asserted about the times.
use std::time::{Duration, Instant};

use cuda_flux_debugger::{asm, disasm};
use cuda_flux_debugger::condition::Condition;
use cuda_flux_debugger::debugger::{BreakCondition, Breakpoint, Debugger, WatchPurpose};
use cuda_flux_debugger::history::History;
use cuda_flux_debugger::vm::{StopKind, Vm, VmConfig, WatchKind};

struct Case {
    name: &'static str,
    source: &'static str,
    exit: u8,
    /// Addresses that are never executed (breakpoints go there).
    never: u32,
    /// A word the program never touches (the watchpoint goes there).
    quiet_word: u32,
}

const CASES: [Case; 2] = [
    // fib30: calls and returns; PUSH/POP touch the stack, so the watchpoint check runs.
    Case { name: "fib30", source: include_str!("fib30.fasm"), exit: (832040 & 0xFF) as u8, never: 0x200, quiet_word: 0x9000 },
    // loop: a STORE on every iteration (see the comment at the top of loop.fasm).
    Case { name: "loop", source: include_str!("loop.fasm"), exit: 91, never: 0x100, quiet_word: 0x9000 },
];

#[derive(Clone, Copy)]
struct Hooks {
    name: &'static str,
    breakpoints: bool,
    watchpoint: bool,
    /// Stub-side conditional breakpoints (never hit) and watch-if conditions
    /// (never true), armed through the library's `Debugger` as the stub does.
    conditional: usize,
    watch_ifs: &'static [&'static str],
    /// Tracing: every record is taken from the VM (parsed, disassembly
    /// included) and dropped; profiling: exact counts per address and call path.
    trace: bool,
    profile: bool,
    /// Recording (crate::history: checkpoints every 32,768 instructions), as
    /// `serve --record` and `monitor trace on` do.
    record: bool,
}

thread_local! {
    /// The disassembly of trace records, kept across runs (as a session keeps it).
    static TEXTS: std::cell::RefCell<disasm::TextCache> = Default::default();
}

/// How trace records leave the VM in the "trace" settings.
static PARSE_TRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

const HOOKS: [Hooks; 10] = [
    Hooks { name: "no hooks", breakpoints: false, watchpoint: false, conditional: 0, watch_ifs: &[], trace: false, profile: false, record: false },
    Hooks { name: "10 breakpoints", breakpoints: true, watchpoint: false, conditional: 0, watch_ifs: &[], trace: false, profile: false, record: false },
    Hooks { name: "1 watchpoint", breakpoints: false, watchpoint: true, conditional: 0, watch_ifs: &[], trace: false, profile: false, record: false },
    Hooks { name: "10 bp + 1 watch", breakpoints: true, watchpoint: true, conditional: 0, watch_ifs: &[], trace: false, profile: false, record: false },
    // issue #3's figure: 5 stub-side conditional breakpoints + 2 watch-if
    Hooks {
        name: "5 cond + 2 wif",
        breakpoints: false,
        watchpoint: false,
        conditional: 5,
        watch_ifs: &["energy < 1000", "mem32[0x9000] != 0"],
        trace: false,
        profile: false,
        record: false,
    },
    // a watch-if on a register is checked after every instruction
    Hooks { name: "wif r5 == 7", breakpoints: false, watchpoint: false, conditional: 0, watch_ifs: &["r5 == 7"], trace: false, profile: false, record: false },
    Hooks { name: "trace (capture)", breakpoints: false, watchpoint: false, conditional: 0, watch_ifs: &[], trace: true, profile: false, record: false },
    Hooks { name: "trace (records)", breakpoints: false, watchpoint: false, conditional: 0, watch_ifs: &[], trace: true, profile: false, record: false },
    Hooks { name: "profile", breakpoints: false, watchpoint: false, conditional: 0, watch_ifs: &[], trace: false, profile: true, record: false },
    Hooks { name: "record", breakpoints: false, watchpoint: false, conditional: 0, watch_ifs: &[], trace: false, profile: false, record: true },
];

/// Runs the loaded program from reset to HALT; returns (time, instructions).
fn run_once(vm: &mut Vm, exit: u8, record: bool) -> (Duration, u64) {
    vm.reset();
    let t0 = Instant::now();
    let mut history = record.then(|| History::start(vm).expect("recording"));
    let mut executed = 0u64;
    loop {
        let stop = match &mut history {
            Some(h) => {
                let stop = vm.run(h.run_budget(u64::MAX));
                h.after_run(vm, &stop);
                stop
            }
            None => vm.run(u64::MAX),
        };
        executed += stop.executed;
        match stop.kind {
            StopKind::Output => {
                vm.take_output();
            }
            StopKind::TraceFull => {
                if PARSE_TRACE.load(std::sync::atomic::Ordering::Relaxed) {
                    TEXTS.with(|texts| std::hint::black_box(disasm::take_trace(vm, &mut texts.borrow_mut())));
                } else {
                    std::hint::black_box(vm.discard_trace());
                }
            }
            StopKind::Budget if history.is_some() => {}
            StopKind::Halted { code } => {
                let dt = t0.elapsed();
                std::hint::black_box(history.as_ref().map(|h| h.memory_bytes()));
                assert_eq!(code, exit, "wrong exit code");
                vm.take_output();
                return (dt, executed);
            }
            other => panic!("unexpected stop {other:?} at 0x{:04X}", stop.pc),
        }
    }
}

fn main() {
    let runs: usize = std::env::var("FLUX_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(7).max(1);
    println!("Vm::run to HALT, best of {runs} (median), the settings interleaved; ratio = best / best with no hooks");
    println!("{:<8} {:<16} {:>10} {:>10} {:>11} {:>7}", "program", "hooks", "best ms", "median ms", "M instr/s", "ratio");
    for case in &CASES {
        let program = asm::assemble(case.source).expect("bench program assembles").bytes;
        let mut vms: Vec<Vm> = HOOKS
            .iter()
            .map(|hooks| {
                let mut vm = Vm::with_program(&program, VmConfig::default()).expect("VM");
                if hooks.breakpoints {
                    for i in 0..10 {
                        vm.set_breakpoint(case.never + i, true);
                    }
                }
                if hooks.watchpoint {
                    vm.add_watchpoint(case.quiet_word, 4, WatchKind::Write).expect("watchpoint");
                }
                let mut debugger = Debugger::new();
                for i in 0..hooks.conditional as u32 {
                    let cond = BreakCondition::Expr(Condition::parse("r1 == -1 && conf2 < 0.5").expect("condition"));
                    debugger.add_breakpoint_to(&mut vm, Breakpoint::with_condition(case.never + i, cond)).expect("arm");
                }
                if hooks.trace {
                    vm.set_tracing(true).expect("tracing");
                }
                if hooks.profile {
                    vm.set_profiling(true).expect("profiling");
                }
                for text in hooks.watch_ifs {
                    let cond = Condition::parse(text).expect("condition");
                    debugger.add_watch_to(&mut vm, cond, WatchPurpose::Condition).expect("arm");
                }
                vm
            })
            .collect();
        let mut times = vec![Vec::with_capacity(runs); HOOKS.len()];
        let mut executed = vec![0u64; HOOKS.len()];
        // Interleaved, so that a busy machine slows every setting alike.
        for _ in 0..runs {
            for (i, vm) in vms.iter_mut().enumerate() {
                // "trace (capture)" drops the raw records; "trace (records)" turns them into TraceRecords
                PARSE_TRACE.store(HOOKS[i].name != "trace (capture)", std::sync::atomic::Ordering::Relaxed);
                let (dt, n) = run_once(vm, case.exit, HOOKS[i].record);
                times[i].push(dt.as_secs_f64());
                executed[i] = n;
            }
        }
        assert!(executed.iter().all(|&n| n == executed[0]), "settings retired different counts: {executed:?}");
        let mut base = None;
        for (i, hooks) in HOOKS.iter().enumerate() {
            let t = &mut times[i];
            t.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let best = t[0];
            let median = t[t.len() / 2];
            let base = *base.get_or_insert(best);
            println!(
                "{:<8} {:<16} {:>10.1} {:>10.1} {:>11.0} {:>6.2}x",
                case.name,
                hooks.name,
                best * 1e3,
                median * 1e3,
                executed[i] as f64 / best / 1e6,
                best / base
            );
        }
    }
    cond_hits(runs);
}

/// A breakpoint on a hot address whose condition never holds: what one hit
/// costs with the stub's condition language (`monitor break 0x6 if r1 == 999`)
/// and with gdb's agent expression for `$r1 == 999` (what `break *0x6 if
/// $r1 == 999` sends), both checked inside the VM's loop.
fn cond_hits(runs: usize) {
    const HITS: u32 = 5_000_000;
    let src = format!("LOAD_IMM r2, {HITS}\nhot: DECR r2\nJNZ r2, hot\nHALT\n");
    let program = asm::assemble(&src).expect("assembles").bytes;
    // reg 33 (r1); ext 32; const16 999; equal; end
    let gdb_r1_eq_999 = vec![0x26, 0x00, 0x21, 0x16, 0x20, 0x23, 0x03, 0xe7, 0x13, 0x27];
    // gdb's simple comparisons are armed as the condition language too (see
    // agent_expr::to_comparison); this times the bytecode interpreter, which
    // runs every other condition
    let settings = ["no breakpoint", "monitor break", "agent bytecode"];
    let mut vms: Vec<Vm> = (0..settings.len())
        .map(|i| {
            let mut vm = Vm::with_program(&program, VmConfig::default()).expect("VM");
            match i {
                1 => vm.add_cond_breakpoint(1, 0x6, Some(&Condition::parse("r1 == 999").expect("condition"))).expect("arm"),
                2 => vm.add_ax_breakpoint(0x8000_0006, 0x6, &[gdb_r1_eq_999.clone()], &[]).expect("arm"),
                _ => {}
            }
            vm
        })
        .collect();
    let mut times = vec![Vec::new(); settings.len()];
    for _ in 0..runs {
        for (i, vm) in vms.iter_mut().enumerate() {
            vm.reset();
            let t0 = Instant::now();
            let stop = vm.run(u64::MAX);
            times[i].push(t0.elapsed().as_secs_f64());
            assert!(matches!(stop.kind, StopKind::Halted { .. }), "{:?}", stop.kind);
        }
    }
    println!("\n{HITS} hits of a breakpoint whose condition is false, best of {runs} (median)");
    let best: Vec<f64> = times.iter_mut().map(|t| {
        t.sort_by(|a, b| a.partial_cmp(b).unwrap());
        t[0]
    }).collect();
    for (i, name) in settings.iter().enumerate() {
        let t = &times[i];
        let per_hit = if i == 0 { String::new() } else { format!("  {:.1} ns per hit", (t[0] - best[0]) / HITS as f64 * 1e9) };
        println!("{:<18} {:>8.1} ms {:>8.1} ms{per_hit}", name, t[0] * 1e3, t[t.len() / 2] * 1e3);
    }
    println!("agent bytecode / monitor break: {:.2}x (whole runs)", best[2] / best[1]);
}
