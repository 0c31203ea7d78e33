//! system: DBG_PRINT BARRIER RESOURCE TIMER_START TIMER_STOP TIMER_READ LOG
//! TRACE ASSERT PANIC YIELD SLEEP WAKE with one agent (SPAWN JOIN KILL and
//! the rest with several agents: agents.rs).
use super::*;

programs! {
    PRINTS = "
        LOAD_IMM r1, -7
        DBG_PRINT r1
        LOAD_IMM r2, 2147483647
        DBG_PRINT r2
        LOG r1, 3
        LOG r2, 255
        LOAD_IMM r3, 0x80000000
        DBG_PRINT r3
        HALT
    ";
    MUCH_OUTPUT = "
        LOAD_IMM r1, -1000000000
        LOAD_IMM r2, 500
    l:  DBG_PRINT r1
        LOOP r2, l
        HALT
    ";
    NOTHING_HAPPENS = "
        LOAD_IMM r1, 3
        CMP_I16 r1, 4
        BARRIER
        YIELD
        TRACE
        SLEEP 1000
        LOAD_IMM r2, 1
        WAKE r2
        TIMER_READ r3
        HALT
    ";
    RESOURCES = "
        LOAD_IMM r1, 0
        RESOURCE r10, r1
        LOAD_IMM r1, 1
        RESOURCE r11, r1
        LOAD_IMM r1, 2
        RESOURCE r12, r1
        LOAD_IMM r1, 3
        RESOURCE r13, r1
        LOAD_IMM r1, 4
        RESOURCE r14, r1             ; 9 instructions before it
        HALT
    ";
    RESOURCE_BAD = "LOAD_IMM r1, 5\nbad: RESOURCE r2, r1\n";
    RESOURCE_NEGATIVE = "LOAD_IMM r1, -1\nbad: RESOURCE r2, r1\n";
    TIMERS = "
        TIMER_START r1
        NOP
        TIMER_STOP r2
        TIMER_READ r3
        TIMER_STOP r4
        TIMER_START r5
        TIMER_STOP r6
        HALT
    ";
    ASSERTS = "
        LOAD_IMM r1, 5
        LOAD_IMM r2, 5
        ASSERT r1, r2
        ASSERT r3, r3
        LOAD_IMM r2, 6
    bad: ASSERT r1, r2
        HALT
    ";
    PANICS = "NOP\nbad: PANIC 0x2A\nHALT\n";
    WAKE_NOBODY = "LOAD_IMM r1, 3\nbad: WAKE r1\n";
    JOIN_NOBODY = "bad: JOIN r1\nHALT\n";
    KILL_NOBODY = "LOAD_IMM r1, 200\nbad: KILL r1\nHALT\n";
}

#[test]
fn dbg_print_and_log_formats() {
    let (text, outcome) = output(PRINTS);
    assert_eq!(text, "-7\n2147483647\nlog[3]: -7\nlog[255]: 2147483647\n-2147483648\n");
    assert_eq!(outcome, Outcome::Exited(0));
    let (mut m, _) = run(PRINTS);
    assert_eq!(m.take_output(), text.as_bytes());
    assert_eq!(m.take_output(), b"");
}

#[test]
fn a_nearly_full_output_buffer_stops_the_run() {
    let (text, outcome) = output(MUCH_OUTPUT);
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(text.len(), 500 * 12);
    assert!(text.lines().all(|l| l == "-1000000000"));
    let mut m = vm(MUCH_OUTPUT);
    let stop = m.run(u64::MAX);
    assert_eq!(stop.kind, StopKind::Output);
    // The 337th line takes the buffer past 4096 - 64: the stop comes after it.
    assert_eq!(stop.pc, label(MUCH_OUTPUT, "l") + 2);
    assert_eq!(m.take_output().len(), 337 * 12);
    assert_eq!(regs(&m).cycles, 2 + 336 * 2 + 1);
    let stop = m.run(u64::MAX);
    assert_eq!(stop.kind, StopKind::Halted { code: 0 });
    assert_eq!(m.take_output().len(), 163 * 12);
}

#[test]
fn barrier_yield_trace_sleep_wake_do_nothing() {
    let m = halted(NOTHING_HAPPENS);
    let g = regs(&m);
    assert_eq!(g.r[3], 8); // SLEEP does not advance virtual time
    assert_eq!((g.cycles, g.energy), (10, 1_000_000_000 - 10));
    assert_eq!(g.flags, cuda_flux_debugger::vm::FLAG_S | cuda_flux_debugger::vm::FLAG_C);
    assert_eq!((g.r[1], g.r[2]), (3, 1));
    let (_, reason) = fault_at_label(WAKE_NOBODY, Signal::Ill, "bad");
    assert!(reason.contains("no agent 3"), "{reason}");
}

#[test]
fn resource_reports_the_machine() {
    let m = halted(RESOURCES);
    assert_eq!((r(&m, 10), r(&m, 11), r(&m, 12), r(&m, 13), r(&m, 14)), (65536, 0xC000, 1, 1, 9));
    assert_close(c(&m, 14), 1.0);
    for src in [RESOURCE_BAD, RESOURCE_NEGATIVE] {
        let (_, reason) = fault_at_label(src, Signal::Ill, "bad");
        assert!(reason.contains("names no resource"), "{reason}");
    }
}

#[test]
fn timers_count_retired_instructions() {
    let m = halted(TIMERS);
    assert_eq!((r(&m, 1), r(&m, 2), r(&m, 3), r(&m, 4)), (0, 2, 3, 4));
    assert_eq!((r(&m, 5), r(&m, 6)), (5, 1));
}

#[test]
fn assert_and_panic_abort() {
    let (m, reason) = fault_at_label(ASSERTS, Signal::Abrt, "bad");
    assert!(reason.contains("ASSERT failed") && reason.contains("r1 = 5, r2 = 6"), "{reason}");
    assert_eq!(regs(&m).cycles, 5);
    let (_, reason) = fault_at_label(PANICS, Signal::Abrt, "bad");
    assert!(reason.contains("PANIC 0x2A"), "{reason}");
    let (_, outcome) = output(PANICS);
    assert_eq!(outcome.exit_status(), 128 + 6);
}

#[test]
fn join_and_kill_of_no_agent_are_sigill() {
    // r1 = 0 names no agent (ids start at 1); 200 was never spawned
    for (src, name, id, before) in [(JOIN_NOBODY, "JOIN", 0, 0), (KILL_NOBODY, "KILL", 200, 1)] {
        let (m, reason) = fault_at_label(src, Signal::Ill, "bad");
        assert!(reason.contains(&format!("{name} at")) && reason.contains(&format!("no agent {id}")), "{reason}");
        // only the instructions before it were charged
        assert_eq!(regs(&m).energy, 1_000_000_000 - before);
    }
}
