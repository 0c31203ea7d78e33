//! Arbitrary bytes as a FLUX program in the C runtime, driven the way a
//! debugger drives it: runs with small budgets, breakpoints, watchpoints,
//! register and memory reads and writes, resets and interrupts.  Build it with
//! FLUX_SANITIZE=address,fuzzer (scripts/fuzz.sh does) so that AddressSanitizer
//! watches runtime-c too.
//!
//! Input: a 28-byte header, then the program (at most 64 KiB).
//!
//! | bytes  | meaning                                                        |
//! |--------|----------------------------------------------------------------|
//! | 0..2   | energy: 1 + 16 * u16 (at most about a million); 0xFFFE: i64::MIN |
//! | 2      | RNG seed                                                       |
//! | 3      | steps: 1 + (h & 7)                                             |
//! | 4..12  | one byte per step: budget (low 2 bits), action (the rest)      |
//! | 12..18 | three breakpoints (u16 each)                                   |
//! | 18..26 | two watchpoints: address u16, length u8, kind u8 (0: none)     |
//! | 26..28 | a value for the actions that need one (an address, pc, sp)     |
//! | 28     | hooks: 1 tracing, 2 profiling, 4 break on trust failure,       |
//! |        | 8 a conditional breakpoint, 16 a watch-if (32: once)           |
//! | 29..32 | the condition: operand (low nibble), operator (high), a u16    |
#![no_main]

use cuda_flux_debugger::condition::Condition;
use cuda_flux_debugger::vm::{StopKind, Vm, VmConfig, WatchKind, MEM_SIZE, STACK_TOP};
use libfuzzer_sys::fuzz_target;

const HEADER: usize = 32;
const BUDGETS: [u64; 4] = [1, 7, 1000, 100_000];

fn u16_at(h: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([h[i], h[i + 1]])
}

fn watch_kind(k: u8) -> Option<WatchKind> {
    match k & 3 {
        1 => Some(WatchKind::Write),
        2 => Some(WatchKind::Read),
        3 => Some(WatchKind::Access),
        _ => None,
    }
}

/// A condition in the condition language, as a user would type it (so that
/// the parser is on the path too).
fn condition_text(kind: u8, n: u16) -> String {
    let op = ["==", "!=", "<", "<=", ">", ">="][(kind >> 4) as usize % 6];
    let frac = format!("0.{}", n % 100);
    let (operand, value) = match kind & 15 {
        0 => (format!("r{}", n % 16), format!("{}", n as i16)),
        1 => (format!("conf{}", n % 16), frac),
        2 => ("energy".into(), format!("{n}")),
        3 => ("cycles".into(), format!("{n}")),
        4 => ("pc".into(), format!("0x{n:X}")),
        5 => ("sp".into(), format!("0x{:X}", n as u32 * 2)),
        6 => ("confidence".into(), frac),
        7 => (format!("mem8[0x{n:X}]"), format!("{}", n & 0xFF)),
        8 => (format!("mem16[0x{:X}]", n.min(0xFFFE)), format!("{n}")),
        9 => (format!("mem32[0x{:X}]", n.min(0xFFFC)), "0".into()),
        _ => (format!("trust[{}]", n % 256), frac),
    };
    format!("{operand} {op} {value}")
}

fuzz_target!(|data: &[u8]| {
    let mut h = [0u8; HEADER];
    let n = data.len().min(HEADER);
    h[..n].copy_from_slice(&data[..n]);
    let program = &data[n..];
    if program.len() > MEM_SIZE as usize {
        return;
    }
    let energy = match u16_at(&h, 0) {
        0xFFFE => i64::MIN, // what `--energy` accepts too
        e => 1 + 16 * e as i64,
    };
    let config = VmConfig { energy, seed: h[2] as u64 };
    let mut vm = Vm::with_program(program, config).expect("a program of at most 64 KiB loads");

    for i in 0..3 {
        vm.set_breakpoint(u16_at(&h, 12 + 2 * i) as u32, true);
    }
    let mut watches = Vec::new();
    for i in 0..2 {
        let at = 18 + 4 * i;
        let (addr, len) = (u16_at(&h, at) as u32, h[at + 2] as u32);
        if let Some(kind) = watch_kind(h[at + 3]) {
            let ok = vm.add_watchpoint(addr, len, kind).is_ok();
            assert_eq!(ok, len > 0 && addr + len <= MEM_SIZE, "watchpoint {addr:#x}+{len}");
            if ok {
                watches.push((addr, len, kind));
            }
        }
    }
    let value = u16_at(&h, 26) as u32;

    let hooks = h[28];
    let tracing = hooks & 1 != 0;
    vm.set_tracing(tracing).expect("tracing on");
    vm.set_profiling(hooks & 2 != 0).expect("profiling on");
    vm.set_break_on_trust_fail(hooks & 4 != 0);
    if hooks & (8 | 16) != 0 {
        let text = condition_text(h[29], u16_at(&h, 30));
        let cond = Condition::parse(&text).unwrap_or_else(|e| panic!("'{text}' does not parse: {e}"));
        if hooks & 8 != 0 {
            vm.add_cond_breakpoint(1, u16_at(&h, 12) as u32, Some(&cond)).expect("a conditional breakpoint");
        }
        if hooks & 16 != 0 {
            vm.add_watch_condition(2, &cond, hooks & 32 != 0).expect("a watch-if");
        }
    }

    let steps = 1 + (h[3] & 7) as usize;
    for &b in &h[4..4 + steps] {
        let mut budget = BUDGETS[(b & 3) as usize];
        if tracing {
            budget = budget.min(1000); // every record is parsed: keep it quick
        }
        match b >> 2 & 7 {
            0 => {}
            1 => {
                // Registers and the memory around pc and sp, as gdb reads them after a stop.
                let r = vm.regs();
                let mut buf = [0u8; 16];
                for addr in [r.pc, r.sp, r.fp] {
                    // sp and fp may be anywhere (gdb can write them)
                    let n = (MEM_SIZE.saturating_sub(addr) as usize).min(buf.len());
                    assert_eq!(vm.read_mem(addr, &mut buf[..n]).is_ok(), addr <= MEM_SIZE);
                }
                assert!(vm.read_mem(MEM_SIZE - 1, &mut buf[..2]).is_err());
            }
            2 => {
                let mut buf = [0u8; 16];
                let n = (MEM_SIZE - value) as usize;
                assert_eq!(vm.read_mem(value, &mut buf).is_ok(), n >= 16);
                let _ = vm.write_mem(value, &buf[..n.min(16)]);
            }
            3 => {
                let pc = vm.pc();
                let on = vm.has_breakpoint(pc);
                vm.set_breakpoint(pc, !on);
                assert_eq!(vm.has_breakpoint(pc), !on && pc < MEM_SIZE);
            }
            4 => {
                if let Some((addr, len, kind)) = watches.pop() {
                    assert!(vm.remove_watchpoint(addr, len, kind));
                }
            }
            5 => vm.reset(),
            6 => {
                // gdb may write any register: pc anywhere in memory, sp anywhere at all.
                let mut r = vm.regs();
                r.pc = value;
                r.sp = value << 2;
                r.fp = STACK_TOP;
                r.conf[(value & 15) as usize] = f32::from_bits(value << 16);
                r.energy = match value & 3 {
                    0 => value as i64 - 100,
                    1 => i64::MIN + value as i64,
                    2 => i64::MAX - value as i64,
                    _ => 0,
                };
                if value & 4 != 0 {
                    r.cycles = u64::MAX - value as u64;
                }
                vm.set_regs(&r);
            }
            _ => {
                // Ctrl-C before the run: it stops at once.
                // SAFETY: vm is alive.
                unsafe { vm.interrupter().interrupt() };
                let stop = vm.run(budget);
                assert!(stop.executed == 0, "{stop:?}");
            }
        }
        let before = vm.regs();
        let stop = vm.run(budget);
        let after = vm.regs();
        assert!(stop.executed <= budget, "{stop:?} with a budget of {budget}");
        assert_eq!(after.cycles, before.cycles.wrapping_add(stop.executed), "{stop:?}");
        assert_eq!(stop.pc, after.pc, "{stop:?}");
        // pc leaves memory only by running off its end: it faults there.
        assert!(
            stop.pc < MEM_SIZE || (stop.pc == MEM_SIZE && matches!(stop.kind, StopKind::Fault { .. } | StopKind::Budget)),
            "{stop:?}"
        );
        for c in after.conf {
            assert!((0.0..=1.0).contains(&c), "confidence {c} out of [0, 1]: {stop:?}");
        }
        match &stop.kind {
            StopKind::Halted { .. } | StopKind::Terminated { .. } => assert!(vm.finished()),
            StopKind::Budget => assert!(stop.executed == budget || stop.executed == 0),
            _ => {}
        }
        let out = vm.take_output();
        assert!(out.len() <= 4096);
        if tracing {
            let records = vm.take_trace();
            assert!(records.len() as u64 <= stop.executed + 1, "{} records for {stop:?}", records.len());
            if let Some(rec) = records.last() {
                let _ = format!("{rec:?}");
            }
        }
        let _ = vm.conf_trace(value & 15);
        let _ = vm.last_confidence();
    }
    let _ = vm.trust_log();
    if hooks & 2 != 0 {
        let _ = vm.profile_counts();
    }
});
