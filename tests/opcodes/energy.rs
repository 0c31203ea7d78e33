//! energy: exhaustion, ATP_GEN ATP_USE ATP_QRY ATP_XFER APOPTOSIS ENERGY_POOL
//! ENERGY_DRAIN ENERGY_SHARE ENERGY_RESERVE ENERGY_RELEASE ENERGY_MIN
//! ENERGY_MAX ENERGY_SYNC ENERGY_QUERY ENERGY_MONITOR ENERGY_ALARM.
use super::*;

programs! {
    FIVE_NOPS = "NOP\nNOP\nNOP\nNOP\nNOP\nHALT\n";
    COSTLY_FIRST = "CMUL r1, r1, r1\nHALT\n";
    GEN_QRY = "
        ATP_QRY
        MOV r5, r0
        LOAD_IMM r1, 100
        ATP_GEN r1
        ATP_QRY
        MOV r6, r0
        LOAD_IMM r1, -50
        ATP_GEN r1                   ; nothing
        ATP_QRY
        MOV r7, r0
        HALT
    ";
    GEN_SATURATES = "LOAD_IMM r1, 100\nATP_GEN r1\nATP_QRY\nENERGY_QUERY r2\nHALT\n";
    USE = "
        LOAD_IMM r1, 100
        ATP_USE r1                   ; 1 + 100
        LOAD_IMM r1, -5
        ATP_USE r1                   ; 1
        ENERGY_MONITOR r2
        LOAD_IMM r1, 2000
    bad: ATP_USE r1                  ; cannot be paid
        HALT
    ";
    XFER = "LOAD_IMM r1, 1\nLOAD_IMM r2, 1\nLOAD_IMM r0, 5\nATP_XFER r0, r1, r2\nHALT\n";
    XFER_NEGATIVE = "LOAD_IMM r1, 1\nLOAD_IMM r0, -5\nbad: ATP_XFER r0, r1, r1\n";
    XFER_NOBODY = "LOAD_IMM r1, 1\nLOAD_IMM r2, 2\nbad: ATP_XFER r0, r1, r2\n";
    DIE = "LOAD_IMM r0, 1\nap: APOPTOSIS\nHALT\n";
    POOL_DRAIN = "
        LOAD_IMM r1, 300
        ENERGY_POOL r1
        LOAD_IMM r2, 100
        ENERGY_DRAIN r3, r2
        LOAD_IMM r2, 1000
        ENERGY_DRAIN r4, r2          ; the rest: 200
        ENERGY_DRAIN r5, r2          ; empty
        LOAD_IMM r2, -5
        ENERGY_DRAIN r6, r2
        ENERGY_MONITOR r7
        LOAD_IMM r1, -7
        ENERGY_POOL r1               ; nothing
        HALT
    ";
    POOL_TOO_MUCH = "LOAD_IMM r1, 200\nbad: ENERGY_POOL r1\n";
    SHARE = "LOAD_IMM r1, 1\nLOAD_IMM r2, 50\nLOAD_IMM r3, 9\nENERGY_SHARE r3, r1, r2\nHALT\n";
    SHARE_NOBODY = "LOAD_IMM r1, 2\nbad: ENERGY_SHARE r3, r1, r2\n";
    RESERVE_RELEASE = "
        ENERGY_RESERVE r1, 50
        ENERGY_RESERVE r2, 25
        LOAD_IMM r3, 60
        ENERGY_RELEASE r3
        LOAD_IMM r4, 100
        ENERGY_RELEASE r4            ; the rest: 15
        ENERGY_MONITOR r5
        HALT
    ";
    RESERVE_TOO_MUCH = "bad: ENERGY_RESERVE r1, 100\n";
    LEVELS = "
        ENERGY_MIN r1, 999           ; 999 >= 999
        ENERGY_MIN r2, 999           ; 998
        ENERGY_MAX r3, 997           ; 997 <= 997
        ENERGY_MAX r4, 995           ; 996
        ENERGY_QUERY r5
        LOAD_IMM r9, 1
        ENERGY_SYNC r6, r9
        ENERGY_ALARM r7, 993         ; 992 < 993
        ENERGY_ALARM r8, 991         ; 991 < 991? no
        ENERGY_MIN r10, 0xFFFF       ; unsigned: 990 < 65535
        HALT
    ";
    SYNC_NOBODY = "LOAD_IMM r1, 0\nbad: ENERGY_SYNC r2, r1\n";
}

fn with_energy(src: &str, energy: i64) -> Vm {
    vm_with(src, VmConfig { energy, seed: 0 })
}

#[test]
fn exhaustion_stops_at_the_next_instruction_then_terminates() {
    let mut m = with_energy(FIVE_NOPS, 3);
    let stop = m.run(u64::MAX);
    let reason = expect_fault(&stop, Signal::Xcpu, 3);
    assert!(reason.contains("energy exhausted at 0x0003"), "{reason}");
    let g = regs(&m);
    assert_eq!((g.pc, g.energy, g.cycles, stop.executed), (3, 0, 3, 3));
    assert!(!m.finished());
    // Going on ends the program.
    for _ in 0..2 {
        let stop = m.run(u64::MAX);
        match &stop.kind {
            StopKind::Terminated { signal: Signal::Xcpu, reason } => {
                assert!(reason.contains("apoptosis: energy exhausted at 0x0003"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!((stop.pc, stop.executed), (3, 0));
        assert!(m.finished());
    }
    assert_eq!(regs(&m).cycles, 3);
}

#[test]
fn exhaustion_is_exact() {
    // 5 NOPs and HALT cost 6: with 6 the program ends with nothing left.
    let mut m = with_energy(FIVE_NOPS, 6);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    assert_eq!(regs(&m).energy, 0);
    let mut m = with_energy(FIVE_NOPS, 5);
    expect_fault(&m.run(u64::MAX), Signal::Xcpu, 5);
    // No energy at all: the first instruction cannot run.
    let mut m = with_energy(FIVE_NOPS, 0);
    expect_fault(&m.run(u64::MAX), Signal::Xcpu, 0);
    assert_eq!(regs(&m).cycles, 0);
    // An instruction of cost 2 needs 2.
    let mut m = with_energy(COSTLY_FIRST, 1);
    expect_fault(&m.run(u64::MAX), Signal::Xcpu, 0);
    assert_eq!(regs(&m).energy, 1);
}

#[test]
fn headless_exhaustion_and_a_debugger_refill() {
    let mut m = with_energy(FIVE_NOPS, 2);
    let mut out = Vec::new();
    let outcome = m.run_to_end(&mut out).unwrap();
    match &outcome {
        Outcome::Signalled { signal: Signal::Xcpu, pc: 2, .. } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(outcome.exit_status(), 128 + 24);
    // A debugger may give energy back before going on.
    let mut m = with_energy(FIVE_NOPS, 2);
    expect_fault(&m.run(u64::MAX), Signal::Xcpu, 2);
    let mut g = m.regs();
    g.energy = 10;
    m.set_regs(&g);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    assert_eq!(regs(&m).energy, 6);
}

#[test]
fn atp_gen_and_atp_qry() {
    let mut m = with_energy(GEN_QRY, 1000);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: (1091 & 0xFF) as u8 }); // r0
    assert_eq!((r(&m, 5), r(&m, 6), r(&m, 7)), (999, 1095, 1091));
    assert_close(c(&m, 0), 1.0);
    assert_eq!(regs(&m).energy, 1089);
    let mut m = with_energy(GEN_SATURATES, i64::MAX - 10);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0xFF });
    assert_eq!((r(&m, 0), r(&m, 2)), (i32::MAX, i32::MAX));
    assert_eq!(regs(&m).energy, i64::MAX - 3);
}

#[test]
fn atp_use_charges_its_operand() {
    let mut m = with_energy(USE, 1000);
    let stop = m.run(u64::MAX);
    let reason = expect_fault(&stop, Signal::Xcpu, label(USE, "bad"));
    assert!(reason.contains("ATP_USE"), "{reason}");
    assert_eq!(r(&m, 2), 105); // 1 + 101 + 1 + 1 + 1
    assert_eq!(regs(&m).energy, 1000 - 106);
    assert!(matches!(m.run(u64::MAX).kind, StopKind::Terminated { signal: Signal::Xcpu, .. }));
}

#[test]
fn atp_xfer_between_agent_1_and_itself() {
    let m = halted(XFER);
    assert_eq!(regs(&m).energy, 1_000_000_000 - 5);
    assert_eq!(r(&m, 0), 5);
    let (_, reason) = fault_at_label(XFER_NEGATIVE, Signal::Ill, "bad");
    assert!(reason.contains("negative amount -5"), "{reason}");
    let (_, reason) = fault_at_label(XFER_NOBODY, Signal::Ill, "bad");
    assert!(reason.contains("no agent 2"), "{reason}");
}

#[test]
fn apoptosis_terminates_with_sigxcpu() {
    let (mut m, stop) = run(DIE);
    let ap = label(DIE, "ap");
    match &stop.kind {
        StopKind::Terminated { signal: Signal::Xcpu, reason } => {
            assert!(reason.contains("APOPTOSIS at 0x0006"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((stop.pc, stop.executed), (ap, 2));
    let g = regs(&m);
    assert_eq!((g.pc, g.cycles, g.energy), (ap, 2, 1_000_000_000 - 2));
    assert!(m.finished());
    let again = m.run(u64::MAX);
    assert!(matches!(again.kind, StopKind::Terminated { signal: Signal::Xcpu, .. }));
    assert_eq!((again.pc, again.executed), (ap, 0));
    let (text, outcome) = output(DIE);
    assert_eq!(text, "");
    assert_eq!(outcome.exit_status(), 152);
}

#[test]
fn pool_and_drain() {
    let mut m = with_energy(POOL_DRAIN, 10_000);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    assert_eq!((r(&m, 3), r(&m, 4), r(&m, 5), r(&m, 6)), (100, 200, 0, 0));
    assert_eq!(r(&m, 7), 10); // ten instructions, pool moves excluded
    assert_eq!(regs(&m).energy, 10_000 - 13);
    let mut m = with_energy(POOL_TOO_MUCH, 100);
    expect_fault(&m.run(u64::MAX), Signal::Xcpu, label(POOL_TOO_MUCH, "bad"));
    assert_eq!(regs(&m).energy, 99);
}

#[test]
fn share_moves_nothing_with_one_agent() {
    let m = halted(SHARE);
    assert_eq!(r(&m, 3), 0);
    assert_close(c(&m, 3), 1.0);
    assert_eq!(regs(&m).energy, 1_000_000_000 - 5);
    let (_, reason) = fault_at_label(SHARE_NOBODY, Signal::Ill, "bad");
    assert!(reason.contains("no agent 2"), "{reason}");
}

#[test]
fn reserve_and_release() {
    let mut m = with_energy(RESERVE_RELEASE, 1000);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    assert_eq!((r(&m, 1), r(&m, 2), r(&m, 3), r(&m, 4)), (50, 75, 60, 15));
    assert_eq!(r(&m, 5), 7);
    assert_eq!(regs(&m).energy, 992);
    let mut m = with_energy(RESERVE_TOO_MUCH, 100);
    expect_fault(&m.run(u64::MAX), Signal::Xcpu, 0);
    assert_eq!(regs(&m).energy, 100);
}

#[test]
fn min_max_query_sync_alarm() {
    let mut m = with_energy(LEVELS, 1000);
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    assert_eq!((r(&m, 1), r(&m, 2), r(&m, 3), r(&m, 4)), (1, 0, 1, 0));
    assert_eq!((r(&m, 5), r(&m, 6)), (995, 993));
    assert_eq!((r(&m, 7), r(&m, 8)), (1, 0));
    assert_eq!(r(&m, 10), 0);
    assert_close(c(&m, 5), 1.0);
    let (_, reason) = fault_at_label(SYNC_NOBODY, Signal::Ill, "bad");
    assert!(reason.contains("no agent 0"), "{reason}");
}
