//! The edges where planted bugs survived the rest of the suite (issue 18):
//! each test here fails on one of those mutants (tests/MUTANTS.md lists
//! which), through the library and through real gdb.
//!
//! - watchpoints: a 1-byte watch, a write touching only the last byte of a
//!   4- or 16-byte watch, a write one byte past the end (must not stop), and
//!   gdb's length reaching the VM unchanged when adding and removing;
//! - conditions on the last bytes of memory: `mem8[0xFFFF]`,
//!   `mem16[0xFFFE]`, `mem32[0xFFFC]` (stub-side conditions and gdb's agent
//!   expressions);
//! - flags and registers of agents that are not running (the lazily computed
//!   flags of a subtraction, an addition, a logical result);
//! - the extra energy of MEMCMP, MEMCPY, MEMSET and CRC32 for byte counts that
//!   are not multiples of 4 (rounded down).
mod common;

use common::*;
use cuda_flux_debugger::asm;
use cuda_flux_debugger::condition::Condition;
use cuda_flux_debugger::VmState;
use cuda_flux_debugger::agent_expr::{self, AxErrorKind};
use cuda_flux_debugger::machine_state;
use cuda_flux_debugger::vm::{AgentState, Signal, StopKind, Vm, VmConfig, WatchKind, DEFAULT_ENERGY, FLAG_C, FLAG_O, FLAG_S, FLAG_Z, MEM_SIZE, PCT_MAX_DEPTH, Schedule};

fn vm_of(src: &str) -> Vm {
    let a = asm::assemble(src).unwrap_or_else(|e| panic!("{e}\n{src}"));
    Vm::with_program(&a.bytes, VmConfig::default()).expect("program fits")
}

fn label(src: &str, name: &str) -> u32 {
    *asm::assemble(src).unwrap().labels.get(name).unwrap_or_else(|| panic!("no label {name}"))
}

// ---------------------------------------------------------------- watchpoints

/// Byte stores around a watched range at 0x8000: one byte before it, one
/// byte past a 4-byte watch, the last byte of a 4-byte watch, one byte past
/// a 16-byte watch, the last byte of a 16-byte watch.
const EDGE_STORES: &str = "
        LOAD_IMM r1, 0x11     ; 0x00
        STORE8   r1, 0x7FFF   ; 0x06 before every watch
        STORE8   r1, 0x8004   ; 0x0A one past a 4-byte watch
        STORE8   r1, 0x8003   ; 0x0E the last byte of a 4-byte watch
        STORE8   r1, 0x8010   ; 0x12 one past a 16-byte watch
        STORE8   r1, 0x800F   ; 0x16 the last byte of a 16-byte watch
        HALT                  ; 0x1A
";

/// The pcs (after the storing instruction) at which `len`-byte write watch at
/// 0x8000 stops, run to the end.
fn watch_stops(len: u32, at: u32) -> Vec<(u32, u32)> {
    let mut m = vm_of(EDGE_STORES);
    m.add_watchpoint(at, len, WatchKind::Write).unwrap();
    let mut stops = Vec::new();
    loop {
        let stop = m.run(u64::MAX);
        match stop.kind {
            StopKind::Watchpoint { addr, write: true, index: 0 } => stops.push((stop.pc, addr)),
            StopKind::Halted { code: 0 } => return stops,
            other => panic!("unexpected stop {other:?} at 0x{:X}", stop.pc),
        }
    }
}

#[test]
fn a_write_to_the_last_byte_of_a_watch_stops_and_one_byte_past_it_does_not() {
    // 4 bytes: only the store to 0x8003 (then the ones to 0x800F and 0x8010
    // lie outside)
    assert_eq!(watch_stops(4, 0x8000), [(0x12, 0x8003)]);
    // 16 bytes: 0x8004, 0x8003 and 0x800F are inside; 0x8010 is one past
    assert_eq!(watch_stops(16, 0x8000), [(0x0E, 0x8004), (0x12, 0x8003), (0x1A, 0x800F)]);
    // 1 byte, at each byte stored
    for (at, pc) in [(0x7FFF, 0x0A), (0x8004, 0x0E), (0x8003, 0x12), (0x8010, 0x16), (0x800F, 0x1A)] {
        assert_eq!(watch_stops(1, at), [(pc, at)], "1-byte watch at 0x{at:X}");
    }
    // 1 byte at 0x8002: nothing stores there
    assert_eq!(watch_stops(1, 0x8002), []);
}

#[test]
fn a_watch_is_removed_by_its_exact_range_only() {
    let mut m = vm_of(EDGE_STORES);
    m.add_watchpoint(0x8000, 4, WatchKind::Write).unwrap();
    assert!(!m.remove_watchpoint(0x8000, 3, WatchKind::Write), "a shorter range is another watch");
    assert!(!m.remove_watchpoint(0x8000, 5, WatchKind::Write), "a longer range is another watch");
    assert!(!m.remove_watchpoint(0x8000, 4, WatchKind::Read), "another kind is another watch");
    assert!(m.remove_watchpoint(0x8000, 4, WatchKind::Write));
    assert!(!m.remove_watchpoint(0x8000, 4, WatchKind::Write), "removed once");
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    // the last byte of memory can be watched, not one past it
    let mut m = vm_of(EDGE_STORES);
    m.add_watchpoint(0xFFFF, 1, WatchKind::Write).unwrap();
    m.add_watchpoint(0xFFFC, 4, WatchKind::Read).unwrap();
    assert!(m.add_watchpoint(0xFFFD, 4, WatchKind::Write).is_err());
    assert!(m.add_watchpoint(0x8000, 0, WatchKind::Write).is_err(), "an empty watch");
}

#[test]
fn removing_a_watch_condition_leaves_the_other_watches() {
    // a 4-byte watch at 0x8000 and two watch conditions; the first one
    // removed: the watch still stops at the store to 0x8003, the second
    // condition at the store to 0x8010, the removed one (0x800F) never
    let mut m = vm_of(EDGE_STORES);
    m.add_watchpoint(0x8000, 4, WatchKind::Write).unwrap();
    m.add_watch_condition(7, &Condition::parse("mem8[0x800F] == 0x11").unwrap(), false).unwrap();
    m.add_watch_condition(8, &Condition::parse("mem8[0x8010] == 0x11").unwrap(), false).unwrap();
    assert!(m.remove_watch_condition(7));
    assert!(!m.remove_watch_condition(7), "removed once");
    let mut stops = Vec::new();
    loop {
        let stop = m.run(u64::MAX);
        if stop.kind == (StopKind::Halted { code: 0 }) {
            break;
        }
        stops.push((stop.kind, stop.pc));
    }
    assert_eq!(
        stops,
        [(StopKind::Watchpoint { addr: 0x8003, write: true, index: 0 }, 0x12), (StopKind::WatchCondition { id: 8 }, 0x16)]
    );
}

#[test]
fn gdb_watch_on_the_last_byte_of_an_int_and_of_16_bytes() {
    let (_d, p) = program("edges.fasm", EDGE_STORES);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &["watch *(int*)0x8000", "continue", "p/x $pc", "delete", "watch *(char(*)[16])0x8000", "continue", "p/x $pc", "continue"],
    );
    // 0x11 in the top byte of the int: 0x11000000
    assert!(out.contains("Hardware watchpoint 1: *(int*)0x8000\n\nOld value = 0\nNew value = 285212672\n"), "{out}");
    assert!(out.contains("Hardware watchpoint 2: *(char(*)[16])0x8000\n\nOld value = "), "{out}");
    // the int stops after the store to 0x8003 (not after the one to 0x8004);
    // the 16 bytes after the store to 0x800F (not after the one to 0x8010)
    assert_eq!(values(&out), ["0x12", "0x1a"], "{out}");
    assert!(out.contains("[Inferior 1 (process 1) exited normally]"), "{out}");
}

#[test]
fn gdb_one_byte_watches_and_their_removal() {
    let (_d, p) = program("edges.fasm", EDGE_STORES);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &["set debug remote 1", "watch *(char*)0x8004", "continue", "p/x $pc", "delete", "watch *(char*)0x800F", "continue", "p/x $pc", "delete", "continue"],
    );
    // gdb's length arrives as it is, when adding and when removing
    let z: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split("Sending packet: $").nth(1))
        .filter(|p| p.starts_with("Z2") || p.starts_with("z2"))
        .map(|p| p.split('#').next().unwrap())
        .collect();
    assert_eq!(z.first(), Some(&"Z2,8004,1"), "{out}");
    assert!(z.contains(&"z2,8004,1") && z.contains(&"Z2,800f,1") && z.contains(&"z2,800f,1"), "{z:?}\n{out}");
    assert!(!out.contains("Could not"), "{out}");
    assert!(out.contains("Hardware watchpoint 1: *(char*)0x8004\n\nOld value = 0 '\\000'\nNew value = 17 '\\021'\n"), "{out}");
    assert!(out.contains("Hardware watchpoint 2: *(char*)0x800F\n\nOld value = 0 '\\000'\nNew value = 17 '\\021'\n"), "{out}");
    // after the deletes nothing stops: a watch left in the VM would stop
    // the last continue
    assert_eq!(values(&out), ["0xe", "0x1a"], "{out}");
    assert_eq!(out.lines().filter(|l| l.contains("Packet received: T05")).count(), 2, "{out}");
    assert!(out.contains("[Inferior 1 (process 1) exited normally]"), "{out}");
}

// ----------------------------------------------------- the last bytes of memory

#[test]
fn conditions_read_the_last_bytes_of_memory() {
    let mut m = vm_of("HALT\n");
    m.write_mem(0xFFFC, &[0x01, 0x02, 0x03, 0xAB]).unwrap();
    for (text, holds) in [
        ("mem8[0xFFFF] == 0xAB", true),
        ("mem8[0xFFFF] != 0xAB", false),
        ("mem8[0xFFFC] == 1", true),
        ("mem16[0xFFFE] == 0xAB03", true),
        ("mem16[0xFFFE] < 0xAB03", false),
        ("mem32[0xFFFC] == 0xAB030201", true),
        ("mem32[0xFFFC] >= 0xAB030202", false),
        ("mem32[0xFFF8] == 0", true),
    ] {
        let c = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(m.holds(&c), holds, "{text}");
    }
    // one byte further is outside memory, and refused where it is written
    for (text, col) in [("mem8[0x10000] == 0", 6), ("mem16[0xFFFF] == 0", 7), ("mem32[0xFFFD] == 0", 7)] {
        let e = Condition::parse(text).unwrap_err();
        assert_eq!(e.col, col, "{text}: {e}");
        assert!(e.message.ends_with("is outside memory"), "{text}: {e}");
    }
}

/// Byte, then word stores at the end of memory.
const LAST_BYTES: &str = "
        LOAD_IMM r1, 0x11     ; 0x00
        STORE8   r1, 0xFFFF   ; 0x06
        STORE32  r1, 0xFFFC   ; 0x0A
        HALT                  ; 0x0E
";

#[test]
fn watch_conditions_on_the_last_bytes_of_memory() {
    // (condition, pc after the instruction that made it true)
    for (text, pc) in [("mem8[0xFFFF] == 0x11", 0x0A), ("mem16[0xFFFE] == 0x1100", 0x0A), ("mem32[0xFFFC] == 0x11", 0x0E)] {
        let mut m = vm_of(LAST_BYTES);
        m.add_watch_condition(7, &Condition::parse(text).unwrap(), false).unwrap();
        let stop = m.run(u64::MAX);
        assert_eq!((stop.kind, stop.pc), (StopKind::WatchCondition { id: 7 }, pc), "{text}");
        assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 }, "{text}");
    }
    // a breakpoint condition: stop before the HALT only when it holds
    for (text, stops) in [("mem32[0xFFFC] == 0x11", true), ("mem8[0xFFFF] == 0x11", false), ("mem8[0xFFFF] == 0", true)] {
        let mut m = vm_of(LAST_BYTES);
        m.add_cond_breakpoint(3, 0x0E, Some(&Condition::parse(text).unwrap())).unwrap();
        let stop = m.run(u64::MAX);
        let expected = if stops { StopKind::CondBreakpoint { id: 3 } } else { StopKind::Halted { code: 0 } };
        assert_eq!(stop.kind, expected, "{text}");
    }
}

#[test]
fn gdb_conditions_on_the_last_bytes_of_memory() {
    let (_d, p) = program("last.fasm", LAST_BYTES);
    // the stub's own condition
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["monitor watch-if mem32[0xFFFC] == 0x11", "continue", "p/x $pc", "monitor why"]);
    assert_eq!(values(&out), ["0xe"], "{out}");
    assert!(
        out.contains("watch 1: mem32[0xFFFC] == 17 (mem32[0xFFFC] = 17); stopped after the instruction that made it true, now at 0x000E"),
        "{out}"
    );
    drop(stub);
    // gdb's conditions, evaluated by the stub: the false one never stops
    // (one the stub could not evaluate would stop and be left to gdb)
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &[
            "set debug remote 1",
            "break *0x0A if *(unsigned char*)0xFFFF == 0x12",
            "break *0x0E if *(unsigned short*)0xFFFE == 0x1100",
            "break *0x0E if *(unsigned int*)0xFFFC == 0x11",
            "continue",
            "p/x $pc",
            "continue",
        ],
    );
    assert_eq!(values(&out), ["0xe"], "{out}");
    assert!(out.contains("Breakpoint 3, main () at last.fasm:5"), "{out}");
    assert_eq!(out.lines().filter(|l| l.contains("Packet received: T05")).count(), 1, "{out}");
    assert!(out.contains("[Inferior 1 (process 1) exited normally]"), "{out}");
}

// ------------------------------------------------------ agents not running

/// Agent 1 computes `OP` (flags computed lazily) and waits for agent 2,
/// which stops at `cbrk`.
fn agent_prog(op: &str) -> String {
    format!(
        "
start:  LOAD_IMM r1, 1
        LOAD_IMM r2, 2
        LOAD_IMM r6, 0x7FFFFFFF
        LOAD_IMM r7, 1
        SPAWN    child
        MOV      r5, r0
        {op}
waits:  JOIN     r5
        HALT
child:  LOAD_IMM r1, 5
cbrk:   HALT
"
    )
}

/// (instruction, r3, flags of agent 1)
const AGENT_CASES: [(&str, i32, u32); 4] = [
    ("CSUB r3, r1, r2", -1, FLAG_S | FLAG_C),         // 1 - 2: borrow
    ("CADD r3, r6, r7", i32::MIN, FLAG_S | FLAG_O),   // 0x7FFFFFFF + 1: overflow
    ("CAND r3, r1, r2", 0, FLAG_Z),                   // 1 & 2
    ("CMP_LT r3, r6, r1", 0, 0),                      // 0x7FFFFFFF - 1: no flag
];

#[test]
fn flags_and_registers_of_an_agent_that_is_not_running() {
    for (op, r3, flags) in AGENT_CASES {
        let src = agent_prog(op);
        let mut m = vm_of(&src);
        m.set_breakpoint(label(&src, "cbrk"), true);
        let stop = m.run(u64::MAX);
        assert_eq!((stop.kind, stop.agent), (StopKind::Breakpoint, 2), "{op}");
        let a1 = m.agent_regs(1).expect("agent 1 lives");
        assert_eq!((a1.r[3], a1.flags), (r3, flags), "{op}: r3 and flags 0x{:X}", a1.flags);
        assert_eq!((a1.r[1], a1.r[5], a1.pc), (1, 2, label(&src, "waits")), "{op}: blocked on its JOIN");
        assert_eq!(m.agent_regs(2).unwrap().r[1], 5, "{op}");
        // made the running agent (as gdb's `thread 1` with scheduler-locking
        // would), the same values
        assert_eq!(m.select_agent(1), Some(true), "{op}");
        assert_eq!((m.regs().r[3], m.regs().flags), (r3, flags), "{op}");
        assert_eq!(m.agent_regs(1).unwrap().flags, flags, "{op}");
    }
}

#[test]
fn gdb_thread_n_shows_the_registers_and_flags_of_an_agent_that_is_not_running() {
    for (op, r3, flags) in AGENT_CASES {
        let src = agent_prog(op);
        let (_d, p) = program("agents.fasm", &src);
        let stub = Stub::start(&p, &["--once"]);
        let out = gdb_batch(
            stub.port,
            &[
                &format!("break *{}", label(&src, "cbrk")),
                "continue",
                "p $_thread",
                "thread 1",
                "p $r3",
                "p/x $eflags",
                "p/x $pc",
                "p $r1",
                "thread 2",
                "p $r1",
            ],
        );
        let expected = [
            "2".to_string(),
            r3.to_string(),
            format!("{flags:#x}"),
            format!("{:#x}", label(&src, "waits")),
            "1".into(),
            "5".into(),
        ];
        assert_eq!(values(&out), expected, "{op}\n{out}");
    }
}

// --------------------------------------------- energy of the block operations

/// (program, what the count register is): the extra cost is count / 4,
/// rounded down, on top of the base cost 2 (docs/ISA.md).
const BLOCK_OPS: [&str; 4] = [
    "MEMCMP r2, 0x09000800\nHALT\n",
    "MEMCPY r2, 0x08000900\nHALT\n",
    "MEMSET r2, 0x00550800\nHALT\n",
    "CRC32 r2, r3\nHALT\n",
];

#[test]
fn block_operations_pay_a_quarter_of_their_bytes_rounded_down() {
    for src in BLOCK_OPS {
        for n in 0..=9u32 {
            let mut m = vm_of(src);
            let mut g = m.regs();
            g.r[2] = n as i32;
            g.r[3] = 0x800;
            m.set_regs(&g);
            assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 }, "{src} n={n}");
            let paid = DEFAULT_ENERGY - m.regs().energy;
            assert_eq!(paid, 2 + (n / 4) as i64 + 1, "{src} with {n} bytes (+1 for HALT)");
        }
    }
}

#[test]
fn block_operations_fault_only_when_the_rounded_down_cost_is_missing() {
    // 7 bytes cost 2 + 1: energy 3 runs it (then HALT has nothing left)
    for src in BLOCK_OPS {
        let a = asm::assemble(src).unwrap();
        let mut m = Vm::with_program(&a.bytes, VmConfig { energy: 3, seed: 0 }).unwrap();
        let mut g = m.regs();
        g.r[2] = 7;
        g.r[3] = 0x800;
        m.set_regs(&g);
        let stop = m.run(u64::MAX);
        assert_eq!(stop.pc, a.bytes.len() as u32 - 1, "{src}: it ran; the HALT after it faults: {stop:?}");
        assert_eq!(m.regs().energy, 0, "{src}");
    }
}

#[test]
fn gdb_a_deleted_watch_no_longer_stops_at_the_next_write() {
    // WATCH_PROG stores 1, then 2 to 0x8000 and reads it back: after the
    // first stop the watch is deleted, so neither the second store nor the
    // load stops (a watch the VM kept, removed with another length, would)
    let (_d, p) = program("watch.fasm", WATCH_PROG);
    for (watch, len) in [("watch *(char*)0x8000", 1), ("awatch *(int*)0x8000", 4), ("watch *(char(*)[16])0x7FF4", 16)] {
        let stub = Stub::start(&p, &["--once"]);
        let out = gdb_batch(stub.port, &["set debug remote 1", watch, "continue", "p/x $pc", "delete", "continue"]);
        let z: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split("Sending packet: $").nth(1))
            .filter(|p| p.starts_with("z2") || p.starts_with("z4"))
            .collect();
        // gdb's removal names the length in hex
        assert!(!z.is_empty() && z.iter().all(|p| p.contains(&format!(",{len:x}#"))), "{watch}: {z:?}\n{out}");
        assert_eq!(values(&out), ["0xa"], "{watch}: {out}");
        assert_eq!(out.lines().filter(|l| l.contains("Packet received: T05")).count(), 1, "{watch}: one stop: {out}");
        assert!(out.contains("[Inferior 1 (process 1) exited normally]"), "{watch}: {out}");
    }
    // and through the library: removing with the right length, the store
    // at 0x10 runs unwatched
    let mut m = vm_of(WATCH_PROG);
    m.add_watchpoint(0x8000, 1, WatchKind::Write).unwrap();
    let stop = m.run(u64::MAX);
    assert_eq!((stop.kind, stop.pc), (StopKind::Watchpoint { addr: 0x8000, write: true, index: 0 }, 0x0A));
    assert!(m.remove_watchpoint(0x8000, 1, WatchKind::Write));
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
}

#[test]
fn agent_expressions_read_the_last_bytes_of_memory() {
    // gdb's bytecode for `*(T*)ADDR == V`: const16 ADDR; ref8/16/32; const32 V; equal; end
    let expr = |addr: u16, refn: u8, v: u32| {
        let mut c = vec![0x23, (addr >> 8) as u8, addr as u8, refn, 0x24];
        c.extend(v.to_be_bytes());
        c.extend([0x13, 0x27]);
        c
    };
    let (ref8, ref16, ref32) = (0x17, 0x18, 0x19);
    // before LAST_BYTES's HALT the last word of memory is 0x00000011
    for (code, stops) in [
        (expr(0xFFFF, ref8, 0), true),
        (expr(0xFFFF, ref8, 1), false),
        (expr(0xFFFE, ref16, 0), true),
        (expr(0xFFFE, ref16, 0x11), false),
        (expr(0xFFFC, ref32, 0x11), true),
        (expr(0xFFFC, ref32, 0x12), false),
    ] {
        let mut m = vm_of(LAST_BYTES);
        m.add_ax_breakpoint(5, 0x0E, &[code.clone()], &[]).unwrap();
        let stop = m.run(u64::MAX);
        if stops {
            assert_eq!(stop.kind, StopKind::CondBreakpoint { id: 5 }, "{code:02x?}");
            assert_eq!(m.ax_last(), Ok(()), "{code:02x?}: the condition held, it was read");
        } else {
            assert_eq!(stop.kind, StopKind::Halted { code: 0 }, "{code:02x?}: false, no stop");
        }
    }
    // one byte further: the read fails, and the VM stops to say so
    let mut m = vm_of(LAST_BYTES);
    m.add_ax_breakpoint(5, 0x0E, &[expr(0xFFFD, ref32, 0)], &[]).unwrap();
    assert_eq!(m.run(u64::MAX).kind, StopKind::CondBreakpoint { id: 5 });
    assert_eq!(m.ax_last().unwrap_err().to_string(), "read outside memory at 0xFFFD (bytecode offset 3)");
}

// ------------------------------------------------------------- the profiler

/// start calls f, f calls g: every instruction counts in the function it
/// runs in, its CALL in the caller and its RET in the callee.
const CALLS: &str = "
start:  CALL f        ; 0x00
        HALT          ; 0x03
f:      NOP           ; 0x04
        CALL g        ; 0x05
        RET           ; 0x08
g:      RET           ; 0x09
";

#[test]
fn the_call_tree_counts_a_ret_in_the_function_it_returns_from() {
    let mut m = vm_of(CALLS);
    m.set_profiling(true).unwrap();
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    let p = m.profile_counts();
    let mut by_func: Vec<(u32, u64, u64)> = p.nodes.iter().map(|n| (n.func, n.self_count, n.calls)).collect();
    by_func.sort();
    // start: CALL f and HALT; f (0x04): NOP, CALL g, RET; g (0x09): RET
    assert_eq!(by_func, [(0x00, 2, 0), (0x04, 3, 1), (0x09, 1, 1)], "{:?}", p.nodes);
    assert_eq!(p.pc_count[..0x0A].iter().sum::<u64>(), 6);
}

// ------------------------------------------- more survivors of sampled mutants

#[test]
fn agent_expression_shifts_by_64_or_more_give_0() {
    // gdb's bytecode `const8 A; const8 B; SHIFT; end` as a breakpoint
    // condition at LAST_BYTES's HALT: it stops when the result is not 0
    let shift = |a: u8, b: u8, op: u8| vec![0x22, a, 0x22, b, op, 0x27];
    let (lsh, rsh_signed, rsh_unsigned) = (0x09, 0x0a, 0x0b);
    for (code, stops) in [
        (shift(1, 63, lsh), true),
        (shift(1, 64, lsh), false),
        (shift(1, 65, lsh), false),
        (shift(0x80, 7, rsh_unsigned), true),
        (shift(1, 64, rsh_unsigned), false),
        (shift(1, 64, rsh_signed), false),
        (shift(1, 0, rsh_signed), true),
    ] {
        let mut m = vm_of(LAST_BYTES);
        m.add_ax_breakpoint(5, 0x0E, &[code.clone()], &[]).unwrap();
        let expected = if stops { StopKind::CondBreakpoint { id: 5 } } else { StopKind::Halted { code: 0 } };
        assert_eq!(m.run(u64::MAX).kind, expected, "{code:02x?}");
    }
}

#[test]
fn a_state_with_agent_id_256_is_refused() {
    let src = "SPAWN child\nJOIN r0\nHALT\nchild: NOP\ncend: HALT\n";
    let mut m = vm_of(src);
    m.set_breakpoint(label(src, "cend"), true);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Breakpoint);
    let good = m.save_state();
    Vm::check_state(&good).unwrap();
    let mut bad = good.to_vec();
    cuda_flux_debugger::machine_state::set(&mut bad, "agents[1].id", 256);
    assert_eq!(
        Vm::check_state(&bad).unwrap_err().to_string(),
        "machine state refused: agent slot 1: agent id 256 is outside 1-255"
    );
    // what an agent waits in is an opcode byte: 0xFF is one, 0x100 is not
    let mut ff = good.to_vec();
    cuda_flux_debugger::machine_state::set(&mut ff, "agents[1].wait_op", 0xFF);
    Vm::check_state(&ff).unwrap();
    cuda_flux_debugger::machine_state::set(&mut ff, "agents[1].wait_op", 0x100);
    assert_eq!(Vm::check_state(&ff).unwrap_err().to_string(), "machine state refused: agent slot 1: wait_op 256 is no opcode byte");
}

#[test]
fn agent_1_alone_again_keeps_the_stack_it_gave_up() {
    // after SPAWN agent 1's stack is 0xC800-0x10000, and stays so once the
    // child has ended (agent 1 alone again): pushing faults at 0xC800, not
    // at the bottom of the stack region
    let src = "SPAWN child\nJOIN r0\nfill: PUSH 1\nJMP fill\nchild: HALT\n";
    let mut m = vm_of(src);
    let stop = m.run(u64::MAX);
    assert!(matches!(&stop.kind, StopKind::Fault { reason, .. } if reason.contains("stack overflow")), "{stop:?}");
    assert_eq!((stop.pc, m.regs().sp), (label(src, "fill"), 0xC800), "{stop:?}");
}

#[test]
fn agent_dprintf_widths_with_a_zero_digit() {
    // r1 = 0x11 at LAST_BYTES's HALT; widths 10, 20 and 9, precisions 10
    // and 9 (the digits 0 and 9 at both ends of the digit range)
    let (_d, p) = program("last.fasm", LAST_BYTES);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(
        stub.port,
        &["set dprintf-style agent", "dprintf *0x0E,\"[%10d|%-20x|%.10d|%9d|%.9d]\\n\",$r1,$r1,$r1,$r1,$r1", "continue"],
    );
    let printed: Vec<&str> = out.lines().filter(|l| l.starts_with("[ ")).collect();
    assert_eq!(printed, [format!("[{:>10}|{:<20}|{}|{:>9}|{}]", 17, "11", "0000000017", 17, "000000017")], "{out}");
    assert!(out.contains("[Inferior 1 (process 1) exited normally]"), "{out}");
}

// ------------------------------------------------ survivors of the seed-1 sample

#[test]
fn the_seventeenth_proposal_is_refused_whatever_the_routes_hold() {
    // agent 16 routed through agent 0: the byte after the proposal table is 0
    // (a search past the 16th slot would find it "free")
    let src = "
        LOAD_IMM r3, 16
        ROUTE    r3, 0
        LOAD_IMM r1, 16
    l:  PROPOSE  r2, r1, r1
        LOOP     r1, l
    bad: PROPOSE r2, r1, r1
        HALT
    ";
    let mut m = vm_of(src);
    let stop = m.run(u64::MAX);
    assert_eq!(stop.pc, label(src, "bad"), "{stop:?}");
    match stop.kind {
        StopKind::Fault { signal: Signal::Abrt, reason } => {
            assert!(reason.contains("all 16 proposals are open"), "{reason}")
        }
        other => panic!("expected SIGABRT, got {other:?}"),
    }
    assert_eq!(m.regs().r[2], 15, "the 16th proposal's slot");
}

#[test]
fn vload_and_vstore_move_four_words_and_no_fifth() {
    let src = "
        LOAD_IMM r8, 77
        LOAD_IMM r1, 0x55
        STORE32  r1, 0x810
        LOAD_IMM r1, 9
        STORE32  r1, 0x80C
        VLOAD    r4, 0x800
        HALT
    ";
    let mut m = vm_of(src);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    assert_eq!(m.regs().r[3..10], [0, 0, 0, 0, 9, 77, 0]);
    // and VSTORE writes four words, not the register after them
    let src = "
        LOAD_IMM r7, 9
        LOAD_IMM r8, 77
        VSTORE   r4, 0x900
        HALT
    ";
    let mut m = vm_of(src);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    let mut b = [0xAAu8; 24];
    m.read_mem(0x900, &mut b).unwrap();
    let mut want = [0u8; 24];
    want[12] = 9;
    assert_eq!(b, want);
}

#[test]
fn output_of_exactly_the_flush_mark_does_not_stop_the_run() {
    // 4,032 bytes (FLUX_OUTPUT_CAP - 64): the run stops for its output only
    // past that mark; ending on a LOG, then on a DBG_PRINT
    let log_last = "DBG_PRINT r0\nLOAD_IMM r1, 403\nl: LOG r0, 0\nLOOP r1, l\nHALT\n";
    let print_last = "LOAD_IMM r1, 403\nl: LOG r0, 0\nLOOP r1, l\nDBG_PRINT r0\nHALT\n";
    for src in [log_last, print_last] {
        let mut m = vm_of(src);
        let stop = m.run(u64::MAX);
        assert_eq!(stop.kind, StopKind::Halted { code: 0 }, "{src}");
        assert_eq!(m.take_output().len(), 4032, "{src}");
    }
    // one byte more ("10\n" first) and the run stops for it before the HALT
    let mut m = vm_of(&format!("LOAD_IMM r2, 10\nDBG_PRINT r2\n{}", &log_last["DBG_PRINT r0\n".len()..]));
    let stop = m.run(u64::MAX);
    assert_eq!(stop.kind, StopKind::Output);
    assert_eq!(m.take_output().len(), 4033);
}

#[test]
fn the_call_tree_counts_a_swi_in_the_function_that_issues_it() {
    let src = "
    start:  SWI 3
            HALT
    h:      NOP
            IRET
            ORG 0xBE06
            DW h
    ";
    let mut m = vm_of(src);
    m.set_profiling(true).unwrap();
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    let p = m.profile_counts();
    let mut by_func: Vec<(u32, u64, u64)> = p.nodes.iter().map(|n| (n.func, n.self_count, n.calls)).collect();
    by_func.sort();
    // start: SWI and HALT; the handler: NOP and IRET, entered once
    assert_eq!(by_func, [(0x00, 2, 0), (label(src, "h"), 2, 1)], "{:?}", p.nodes);
}

#[test]
fn writing_back_a_waiting_agents_registers_leaves_it_waiting() {
    // agent 1 waits on its JOIN while agent 2 stops at cbrk; its registers
    // written back as they are (gdb's `thread 1`, `set $r3 = $r3`), it still
    // waits: only a new pc takes it off its blocking instruction
    let src = agent_prog("NOP");
    let mut m = vm_of(&src);
    m.set_breakpoint(label(&src, "cbrk"), true);
    assert_eq!(m.run(u64::MAX).agent, 2);
    let state_of_1 = |m: &Vm| m.agents().into_iter().find(|a| a.id == 1).map(|a| a.state);
    assert_eq!(state_of_1(&m), Some(AgentState::Join(2)));
    let a1 = m.agent_regs(1).unwrap();
    assert!(m.set_agent_regs(1, &a1));
    assert_eq!(state_of_1(&m), Some(AgentState::Join(2)));
    // a new pc (back to start) and it is runnable again
    let mut moved = a1;
    moved.pc = label(&src, "start");
    assert!(m.set_agent_regs(1, &moved));
    assert_eq!(state_of_1(&m), Some(AgentState::Runnable));
}

#[test]
fn a_breakpoint_one_past_memory_is_none_and_leaves_the_others() {
    // 0x10000 is outside memory: setting or clearing a breakpoint there
    // changes nothing, in particular not the breakpoint at 0 (bit 0 of the
    // word after the last one of the map)
    let src = "
    top:    INCR r1
            HALT
    start:  JMP top
    ";
    let mut m = vm_of(src);
    m.set_breakpoint(0, true);
    m.set_breakpoint(MEM_SIZE, true);
    assert!(!m.has_breakpoint(MEM_SIZE));
    m.set_breakpoint(MEM_SIZE, false);
    assert!(m.has_breakpoint(0));
    let mut r = m.regs();
    r.pc = label(src, "start");
    m.set_regs(&r);
    let stop = m.run(u64::MAX);
    assert_eq!((stop.kind, stop.pc, stop.executed), (StopKind::Breakpoint, 0, 1), "the JMP, then the breakpoint at 0");
    assert_eq!(m.regs().r[1], 0);
    // and a program running off the end of memory still faults there
    let mut m = vm_of("");
    m.set_breakpoint(MEM_SIZE, true);
    m.set_breakpoint(MEM_SIZE, false);
    let mut r = m.regs();
    r.pc = MEM_SIZE - 1;
    m.set_regs(&r);
    let stop = m.run(10);
    assert!(matches!(stop.kind, StopKind::Fault { signal: Signal::Segv, .. }), "{stop:?}");
    assert_eq!((stop.pc, stop.executed), (MEM_SIZE, 1));
}

#[test]
fn an_instinct_key_that_no_slot_holds_is_not_found() {
    // proposal 0 (the memory after the 16 instinct slots) holds value 42,
    // quorum 7 and one vote against: read as a 17th slot it would be a used
    // instinct with key 42 and value 7
    let src = "
        LOAD_IMM r1, 42
        LOAD_IMM r3, 7
        LOAD_IMM r4, 0
        PROPOSE  r2, r1, r3
        VOTE     r2, r4
        INSTINCT_GET r5, r1
        MOV      r6, r1
        INSTINCT_QRY r6
        HALT
    ";
    let mut m = vm_of(src);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    let r = m.regs();
    assert_eq!((r.r[2], r.r[5], r.conf[5], r.r[6]), (0, 0, 0.0, 0));
    assert_ne!(r.flags & FLAG_Z, 0, "INSTINCT_QRY found nothing");
}

#[test]
fn a_locked_agent_whose_join_is_over_goes_on() {
    // gdb's scheduler-locking: agent 1 blocks in its JOIN (the stop says
    // so), agent 2 is chosen and runs to its end, then agent 1, chosen
    // again, finds its JOIN over and goes on to its HALT
    let src = "
    start:  SPAWN child
    waits:  JOIN  r0
            HALT
    child:  NOP
            HALT
    ";
    let mut m = vm_of(src);
    m.lock_scheduler(true);
    let stop = m.run(u64::MAX);
    assert_eq!((&stop.kind, stop.pc, stop.agent), (&StopKind::Blocked, label(src, "waits"), 1), "{stop:?}");
    assert_eq!(m.select_agent(2), Some(true));
    let stop = m.run(u64::MAX);
    assert_eq!(stop.kind, StopKind::Blocked, "agent 2 ended, agent 1 may not run: {stop:?}");
    assert_eq!(m.select_agent(1), Some(true));
    let stop = m.run(u64::MAX);
    assert_eq!(stop.kind, StopKind::Halted { code: 0 }, "{stop:?}");
    assert_eq!(m.regs().r[0], 0, "the child's exit code");
}

#[test]
fn agent_1_spawning_into_a_freed_slot_keeps_the_stack_it_gave_up() {
    // agent 1 spawns into slots 1 and 2 (its stack now 0xD000-0x10000),
    // kills the first child and spawns into slot 1 again, all in one turn:
    // its stack stays 0xD000-0x10000 (pushing faults at 0xD000)
    let src = "
            SPAWN child
            MOV   r5, r0
            SPAWN child
            KILL  r5
            SPAWN child
    fill:   PUSH  1
            JMP   fill
    child:  HALT
    ";
    let mut m = vm_of(src);
    m.set_breakpoint(label(src, "fill"), true);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Breakpoint);
    let stacks: Vec<(u32, (u32, u32))> = m.agents().into_iter().map(|a| (a.id, a.stack)).collect();
    assert_eq!(stacks, [(1, (0xD000, 0x10000)), (3, (0xC800, 0xD000)), (4, (0xC000, 0xC800))]);
    m.set_breakpoint(label(src, "fill"), false);
    let stop = m.run(u64::MAX);
    assert!(matches!(&stop.kind, StopKind::Fault { reason, .. } if reason.contains("stack overflow")), "{stop:?}");
    assert_eq!((stop.agent, m.regs().sp), (1, 0xD000), "{stop:?}");
}

#[test]
fn a_written_negative_zero_confidence_is_zero() {
    // -0.0 is clamped like every value below 0: the register holds +0.0
    // (the bits gdb's agent expressions and saved states see are 0), for
    // the running agent and for one that is not running
    let src = agent_prog("NOP");
    let mut m = vm_of(&src);
    m.set_breakpoint(label(&src, "cbrk"), true);
    assert_eq!(m.run(u64::MAX).agent, 2);
    let mut r = m.regs();
    r.conf[3] = -0.0;
    r.conf[4] = -0.5;
    r.conf[5] = 0.25;
    m.set_regs(&r);
    let c = m.regs().conf;
    assert_eq!([c[3].to_bits(), c[4].to_bits(), c[5].to_bits()], [0, 0, 0.25f32.to_bits()]);
    let mut a1 = m.agent_regs(1).unwrap();
    a1.conf[3] = -0.0;
    assert!(m.set_agent_regs(1, &a1));
    assert_eq!(m.agent_regs(1).unwrap().conf[3].to_bits(), 0);
}

#[test]
fn gdb_a_written_negative_zero_confidence_reads_back_as_0() {
    let (_d, p) = program("count.fasm", COUNT_PROG);
    let stub = Stub::start(&p, &["--once"]);
    let out = gdb_batch(stub.port, &["set $conf3 = -0.0", "p $conf3", "info registers conf3", "set $conf4 = -0.5", "p $conf4"]);
    assert_eq!(values(&out), ["0", "0"], "{out}");
    let line = out.lines().find(|l| l.starts_with("conf3")).unwrap_or_else(|| panic!("{out}"));
    assert_eq!(line.split_whitespace().collect::<Vec<_>>(), ["conf3", "0", "(raw", "0x00000000)"], "{out}");
}

#[test]
fn agent_id_256_names_no_agent_whatever_the_pool_holds() {
    // the routing table has entries 0-255: id 256 is looked up nowhere (the
    // byte after the table, the energy pool's lowest, is 1 here, agent 1)
    let src = "
        LOAD_IMM r1, 1
        ENERGY_POOL r1
        LOAD_IMM r2, 256
        LOAD_IMM r3, 5
    bad: TELL    r2, r3
        HALT
    ";
    let mut m = vm_of(src);
    let stop = m.run(u64::MAX);
    assert_eq!(stop.pc, label(src, "bad"), "{stop:?}");
    match stop.kind {
        StopKind::Fault { signal: Signal::Ill, reason } => {
            assert_eq!(reason, format!("TELL at 0x{:04X}: no agent 256 (1 alive)", label(src, "bad")))
        }
        other => panic!("expected SIGILL, got {other:?}"),
    }
    assert!(m.mailbox(1).is_empty());
}

#[test]
fn conditions_on_a_snapshot_read_its_last_bytes() {
    // a snapshot's memory may be shorter than the VM's: a condition reads
    // up to its last byte, and not past it
    let mut s = VmState::new();
    s.memory = vec![0x01, 0x02, 0x03, 0x04];
    for (text, holds) in [
        ("mem32[0] == 0x04030201", true),
        ("mem16[2] == 0x0403", true),
        ("mem8[3] == 4", true),
        ("mem8[3] != 4", false),
        ("mem32[1] == 0x00040302", false),
        ("mem32[1] != 0x00040302", false),
        ("mem8[4] == 0", false),
    ] {
        assert_eq!(s.satisfies(&Condition::parse(text).unwrap()), holds, "{text}");
    }
    s.memory = vec![0xAB];
    assert!(s.satisfies(&Condition::parse("mem8[0] == 0xAB").unwrap()));
}

#[test]
fn a_jump_to_the_end_of_an_agent_expression_is_refused() {
    // the end (offset len) is no instruction: refused, whatever the
    // checker's table of instruction starts held from a longer expression
    // checked before (offset 6 an instruction there)
    let longer = [0x22, 1, 0x22, 1, 0x22, 1, 0x22, 1, 0x27];
    for code in [&[0x22, 1, 0x20, 0, 6, 0x27][..], &[0x22, 1, 0x21, 0, 6, 0x27][..]] {
        agent_expr::check(&longer, false).unwrap();
        let e = agent_expr::check(code, false).unwrap_err();
        assert_eq!((e.kind, e.at), (AxErrorKind::BadJump, 2), "{code:02x?}");
    }
}

#[test]
fn pct_takes_its_greatest_depth() {
    // depth 16 (PCT_MAX_DEPTH) is accepted as it is: 15 change points
    let mut m = vm_of("HALT\n");
    m.set_schedule(Schedule::pct(100, PCT_MAX_DEPTH, 1000));
    let state = m.save_state();
    let get = |name: &str| machine_state::value(&state, machine_state::field(name).unwrap());
    assert_eq!(PCT_MAX_DEPTH, 16);
    assert_eq!(get("pct_depth"), "16");
    assert_eq!(get("pct_next"), "0");
    // depth 17 is not (the library falls back to depth 1 over 1 step)
    m.set_schedule(Schedule::pct(100, PCT_MAX_DEPTH + 1, 1000));
    let state = m.save_state();
    assert_eq!(machine_state::value(&state, machine_state::field("pct_depth").unwrap()), "1");
}

#[test]
fn a_confidence_trace_holds_only_its_own_sources() {
    // conf1's record is followed in the ring by conf2's: conf1's trace is
    // its one write, not conf2's too
    let src = "
        CONF_SET r1, 50
        CONF_SET r2, 25
        HALT
    ";
    let mut m = vm_of(src);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    let t = m.conf_trace(1);
    let got: Vec<(u32, u8, u8, f32, f32, bool)> = t.iter().map(|e| (e.pc, e.dest, e.depth, e.before, e.after, e.truncated)).collect();
    assert_eq!(got, [(0, 1, 0, 1.0, 0.5, false)]);
    assert_eq!(m.conf_trace(2).iter().map(|e| (e.pc, e.dest)).collect::<Vec<_>>(), [(4, 2)]);
}

#[test]
fn an_illegal_first_register_operand_is_the_one_named() {
    // MOV r16, r3: register 16 is the first operand, named as it is
    let mut m = Vm::with_program(&[0x01, 0x10, 0x03, 0x0B], VmConfig::default()).unwrap();
    let stop = m.run(u64::MAX);
    match stop.kind {
        StopKind::Fault { signal: Signal::Ill, reason } => assert_eq!(reason, "illegal register operand 16 in MOV at 0x0000"),
        other => panic!("expected SIGILL, got {other:?}"),
    }
    // and the second: MOV r3, r16
    let mut m = Vm::with_program(&[0x01, 0x03, 0x10, 0x0B], VmConfig::default()).unwrap();
    match m.run(u64::MAX).kind {
        StopKind::Fault { signal: Signal::Ill, reason } => assert_eq!(reason, "illegal register operand 16 in MOV at 0x0000"),
        other => panic!("expected SIGILL, got {other:?}"),
    }
}

#[test]
fn watch_conditions_on_cycles_stop_where_they_turn_true() {
    // `cycles != 5` is true from the start, false after 5 instructions and
    // true again after the 6th: the run stops there, not at a later check;
    // `cycles < 3` and `cycles <= 3` only ever turn false
    let src = "
        LOAD_IMM r1, 1000
    l:  LOOP     r1, l
        HALT
    ";
    for (text, stop_at) in [("cycles != 5", Some(6)), ("cycles < 3", None), ("cycles <= 3", None), ("cycles == 7", Some(7))] {
        let mut m = vm_of(src);
        m.add_watch_condition(3, &Condition::parse(text).unwrap(), false).unwrap();
        let stop = m.run(u64::MAX);
        match stop_at {
            Some(c) => {
                assert_eq!(stop.kind, StopKind::WatchCondition { id: 3 }, "{text}");
                assert_eq!((m.regs().cycles, stop.executed), (c, c), "{text}");
            }
            None => assert_eq!(stop.kind, StopKind::Halted { code: 0 }, "{text}"),
        }
    }
}

#[test]
fn agent_expression_bit_not_negates_the_top_of_the_stack() {
    let s = VmState::new();
    // const8 5, bit_not, end
    assert_eq!(s.eval_agent(&[0x22, 5, 0x12, 0x27]), Ok(!5u64));
    // with a value popped above it first: const8 5, const8 9, pop, bit_not, end
    assert_eq!(s.eval_agent(&[0x22, 5, 0x22, 9, 0x29, 0x12, 0x27]), Ok(!5u64));
}

// ------------------------------------------------ survivors of the Rust sample (seed 1)

#[test]
fn describing_an_agent_expression_flips_only_a_comparison_at_its_top() {
    // `!(r1 == 3)` reads `r1 != 3`; `!mem8[r1 == 3]` is no comparison (an
    // atom whose address holds one), and keeps its `!`
    assert_eq!(agent_expr::describe(&[0x26, 0, 33, 0x22, 3, 0x13, 0x0e, 0x27]), "r1 != 3");
    assert_eq!(agent_expr::describe(&[0x26, 0, 33, 0x22, 3, 0x13, 0x17, 0x0e, 0x27]), "!mem8[r1 == 3]");
    // bytecode with no `end` is listed as it is, not read past its end
    assert_eq!(agent_expr::describe(&[0x22, 1]), "const8 1");
    assert_eq!(agent_expr::describe(&[0x26, 0, 33]), "reg r1");
}
