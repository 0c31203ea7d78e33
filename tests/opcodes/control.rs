//! control: NOP MOV LOAD STORE PUSH POP JMP JZ JNZ CALL RET HALT BRK SWI IRET
//! LOOP LOOPE LOOPNE and the flag jumps JC..JNS; plus the faults every
//! instruction shares (illegal register operand, invalid opcode, running past
//! the end of memory).
use super::*;
use cuda_flux_debugger::vm::{FLAG_C, FLAG_O, FLAG_S, FLAG_Z};

/// A program that runs `$j r15, taken` under each of the 16 combinations of
/// C (bit 0), Z (bit 1), S (bit 2), O (bit 3) of r1 and sets bit r1 of r3
/// when the jump is taken: r3 ends as the jump's truth table.
macro_rules! flag_table {
    ($j:literal) => {
        concat!(
            "        LOAD_IMM r1, 0\n",
            "        LOAD_IMM r3, 0\n",
            "        LOAD_IMM r9, 1\n",
            "        LOAD_IMM r11, 16\n",
            "next:   MOV r4, r1\n",
            "        ANDI r4, 1\n",
            "        MOV r5, r1\n",
            "        SHRI r5, 1\n",
            "        ANDI r5, 1\n",
            "        MOV r6, r1\n",
            "        SHRI r6, 2\n",
            "        ANDI r6, 1\n",
            "        MOV r7, r1\n",
            "        SHRI r7, 3\n",
            "        SET_FLAG r4, 2\n",
            "        SET_FLAG r5, 0\n",
            "        SET_FLAG r6, 1\n",
            "        SET_FLAG r7, 3\n",
            "        ", $j, " r15, taken\n",
            "        JMP step\n",
            "taken:  CSHL r8, r9, r1\n",
            "        COR r3, r3, r8\n",
            "step:   INCR r1\n",
            "        CMP_EQ r10, r1, r11\n",
            "        JZ r10, next\n",
            "        HALT\n",
        )
    };
}

programs! {
    NOP_HALT = "NOP\nNOP\nLOAD_IMM r0, 300\nend: HALT\n";
    MOV_COPIES = "LOAD_IMM r1, -5\nCONF_SET r1, 40\nMOV r2, r1\nMOV r3, r3\nHALT\n";
    LOAD_STORE = "
        LOAD_IMM r1, 0x12345678
        LOAD_IMM r2, 0x201          ; unaligned
        STORE r1, r2
        CONF_SET r3, 10
        LOAD r3, r2
        LOAD_IMM r4, 0xFFFC         ; the last word of memory
        STORE r1, r4
        LOAD r5, r4
        HALT
    ";
    STORE_OUTSIDE = "LOAD_IMM r1, 7\nLOAD_IMM r2, 0xFFFD\nbad: STORE r1, r2\nHALT\n";
    LOAD_NEGATIVE = "LOAD_IMM r1, 7\nLOAD_IMM r2, -4\nbad: LOAD r1, r2\nHALT\n";
    PUSH_POP = "
        CONF_SET r0, 20
        PUSH 0x2A
        POP r0
        PUSH 0xFFFF                 ; zero-extended
        POP r1
        PUSH 0x1234
        HALT
    ";
    POP_EMPTY = "bad: POP r0\nHALT\n";
    PUSH_FULL = "
        LOAD_IMM r1, 4096
    l:  PUSH 1
        LOOP r1, l
    bad: PUSH 2
        HALT
    ";
    JMP_SKIPS = "JMP skip\nLOAD_IMM r0, 1\nskip: HALT\n";
    JZ_JNZ = "
        LOAD_IMM r1, 0
        LOAD_IMM r2, 5
        JZ r1, a                    ; taken
        ORI r3, 1
    a:  JZ r2, fail                 ; not taken
        ORI r3, 2
        JNZ r2, b                   ; taken
        ORI r3, 4
    b:  JNZ r1, fail                ; not taken
        ORI r3, 8
        HALT
    fail: LOAD_IMM r0, 99
        HALT
    ";
    CALL_RET = "
        CALL f
    back: HALT
    f:  LOAD_IMM r0, 7
        PEEK r5                     ; the return address
        CALL g
        ADDI r0, 1
        RET
    g:  ADDI r0, 10
        DEPTH r6
        RET
    ";
    RET_EMPTY = "bad: RET\n";
    RET_OUTSIDE = "PUSH_IMM32 0x10000\nbad: RET\n";
    RET_TO_END = "
        JMP c
    r:  RET
        ORG 0xFFFD
    c:  CALL r                      ; pushes 0x10000
    ";
    HALT_CODE = "LOAD_IMM r0, 0x1FF\nh: HALT\nLOAD_IMM r0, 3\nHALT\n";
    BRK_STOPS = "LOAD_IMM r0, 1\nb: BRK\nafter: LOAD_IMM r0, 2\nHALT\n";
    SWI_IRET = "
        LOAD_IMM r1, 5
        CMP_I16 r1, 5               ; Z
        SWI 3
    after: GET_FLAG r2, 0           ; Z again after IRET
        HALT
    handler:
        LOAD_IMM r0, 9
        PEEK r5                     ; the flags SWI pushed
        PICK 1
        POP r6                      ; the return address
        CMP_I16 r1, 6               ; clears Z
        GET_FLAG r7, 0
        IRET
        ORG 0xBE06
        DW handler
    ";
    SWI_NO_HANDLER = "LOAD_IMM r1, 1\nbad: SWI 7\nHALT\n";
    IRET_UNDERFLOW = "PUSH 1\nbad: IRET\n";
    IRET_OUTSIDE = "PUSH_IMM32 0x10000\nPUSH 0\nbad: IRET\n";
    IRET_MASKS_FLAGS = "
        PUSH after
        PUSH_IMM32 -1               ; every bit set
        IRET
    after: HALT
    ";
    LOOP_SUMS = "
        LOAD_IMM r1, 5
    l:  CADD r2, r2, r1
        LOOP r1, l
        HALT
    ";
    LOOP_WRAPS = "LOOP r1, t\nHALT\nt: HALT\n";
    LOOPE_LOOPNE = "
        LOAD_IMM r1, 10             ; LOOPNE: until r2 == 3
    l1: INCR r2
        CMP_I16 r2, 3
        LOOPNE r1, l1
        LOAD_IMM r5, 4
        LOAD_IMM r3, 10             ; LOOPE: while r4 < 4
    l2: INCR r4
        CMP_GE r6, r4, r5
        TEST r6, r6
        LOOPE r3, l2
        LOAD_IMM r7, 2              ; LOOPE ending on the count
    l3: INCR r8
        CMP_I16 r9, 0               ; r9 = 0: Z stays set
        LOOPE r7, l3
        LOAD_IMM r10, 2             ; LOOPNE ending on the count
    l4: INCR r11                    ; Z clear
        LOOPNE r10, l4
        HALT
    ";
    TABLE_JC = flag_table!("JC");
    TABLE_JNC = flag_table!("JNC");
    TABLE_JA = flag_table!("JA");
    TABLE_JAE = flag_table!("JAE");
    TABLE_JB = flag_table!("JB");
    TABLE_JBE = flag_table!("JBE");
    TABLE_JG = flag_table!("JG");
    TABLE_JGE = flag_table!("JGE");
    TABLE_JL = flag_table!("JL");
    TABLE_JLE = flag_table!("JLE");
    TABLE_JO = flag_table!("JO");
    TABLE_JNO = flag_table!("JNO");
    TABLE_JS = flag_table!("JS");
    TABLE_JNS = flag_table!("JNS");
    SIGNED_UNSIGNED_JUMPS = "
        LOAD_IMM r1, -1
        LOAD_IMM r2, 1
        CMP_TEST r1, r2             ; -1 vs 1: signed less, unsigned greater
        JL r0, s1
        HALT
    s1: ORI r3, 1
        CMP_TEST r1, r2
        JA r0, s2
        HALT
    s2: ORI r3, 2
        LOAD_IMM r4, 0x7FFFFFFF
        CMP_TEST r4, r1             ; MAX - (-1) overflows: O set, still greater
        JG r0, s3
        HALT
    s3: ORI r3, 4                   ; zs flags: O cleared
        CMP_TEST r4, r1
        JO r0, s4
        HALT
    s4: ORI r3, 8
        HALT
    ";
    ILL_REG_RR = "LOAD_IMM r1, 7\nbad: MOV r1, r20\nHALT\n";
    ILL_REG_RRR = "bad: CADD r1, r2, r16\nHALT\n";
    ILL_REG_R = "bad: INCR r255\nHALT\n";
    ILL_REG_RI16 = "bad: JC r16, 0\nHALT\n";
    ILL_REG_RRI8 = "bad: LOAD_OFF r1, r17, 0\nHALT\n";
    ILL_REG_RI32 = "bad: LOAD_IMM r16, 5\nHALT\n";
    ILL_REG_RI8 = "bad: LOG r99, 1\nHALT\n";
    INVALID_OPCODES = "NOP\nbad: DB 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF\n";
    PAST_END_3 = "JMP end\nORG 0xFFFE\nend: DB 0x30, 0x01\n";
    PAST_END_2 = "JMP end\nORG 0xFFFF\nend: DB 0x01\n";
    LAST_BYTE_HALT = "JMP end\nORG 0xFFFF\nend: HALT\n";
    RUN_OFF_END = "JMP end\nORG 0xFFFF\nend: NOP\n";
}

const TOP: u32 = 0x10000;
const E0: i64 = 1_000_000_000;

#[test]
fn nop_and_halt() {
    let (mut m, stop) = run(NOP_HALT);
    let end = label(NOP_HALT, "end");
    assert_eq!(end, 8);
    assert_eq!(stop.kind, StopKind::Halted { code: 44 }); // 300 & 0xFF
    assert_eq!((stop.pc, stop.executed), (end, 4));
    let g = regs(&m);
    assert_eq!((g.pc, g.cycles, g.energy, g.sp, g.flags), (end, 4, E0 - 4, TOP, 0));
    assert_eq!(g.r[0], 300);
    assert!(m.finished());
    // Running a halted VM reports the same stop and runs nothing.
    let again = m.run(u64::MAX);
    assert_eq!((again.kind, again.pc, again.executed), (StopKind::Halted { code: 44 }, end, 0));
    assert_eq!(regs(&m).cycles, 4);
}

#[test]
fn mov_copies_value_and_confidence() {
    let m = halted(MOV_COPIES);
    assert_eq!((r(&m, 1), r(&m, 2), r(&m, 3)), (-5, -5, 0));
    assert_close(c(&m, 2), 0.4);
    assert_close(c(&m, 3), 1.0);
}

#[test]
fn load_and_store_words() {
    let m = halted(LOAD_STORE);
    assert_eq!(mem32(&m, 0x201), 0x12345678);
    assert_eq!(mem8(&m, 0x201), 0x78); // little-endian
    assert_eq!(mem8(&m, 0x204), 0x12);
    assert_eq!(u(&m, 3), 0x12345678);
    assert_close(c(&m, 3), 1.0); // a load gives confidence 1.0
    assert_eq!(mem32(&m, 0xFFFC), 0x12345678);
    assert_eq!(u(&m, 5), 0x12345678);
}

#[test]
fn store_and_load_outside_memory_fault() {
    let (m, reason) = fault_at_label(STORE_OUTSIDE, Signal::Segv, "bad");
    assert!(reason.contains("outside memory"), "{reason}");
    assert_eq!(mem8(&m, 0xFFFD), 0); // no partial write
    assert_eq!(mem8(&m, 0xFFFF), 0);
    assert_eq!(regs(&m).cycles, 2); // the faulting STORE is not counted...
    assert_eq!(regs(&m).energy, E0 - 2); // ...nor charged
    let (m, _) = fault_at_label(LOAD_NEGATIVE, Signal::Segv, "bad");
    assert_eq!(r(&m, 1), 7);
}

#[test]
fn push_zero_extends_and_pop_sets_confidence() {
    let m = halted(PUSH_POP);
    assert_eq!(r(&m, 0), 42);
    assert_close(c(&m, 0), 1.0);
    assert_eq!(r(&m, 1), 0xFFFF);
    assert_eq!(regs(&m).sp, TOP - 4);
    assert_eq!(mem32(&m, TOP - 4), 0x1234);
}

#[test]
fn stack_underflow_and_overflow() {
    let (m, reason) = fault_at(POP_EMPTY, Signal::Segv, 0);
    assert!(reason.contains("underflow"), "{reason}");
    assert_eq!(regs(&m).sp, TOP);
    let (m, reason) = fault_at_label(PUSH_FULL, Signal::Segv, "bad");
    assert!(reason.contains("overflow"), "{reason}");
    let g = regs(&m);
    assert_eq!(g.sp, 0xC000); // 4096 slots in use
    assert_eq!(g.cycles, 1 + 2 * 4096);
    assert_eq!(mem32(&m, 0xC000), 1);
    assert_eq!(mem32(&m, 0xBFFC), 0); // nothing below the limit
}

#[test]
fn jmp_jz_jnz() {
    let m = halted(JMP_SKIPS);
    assert_eq!(r(&m, 0), 0);
    assert_eq!(regs(&m).pc, label(JMP_SKIPS, "skip"));
    let m = halted(JZ_JNZ);
    assert_eq!(r(&m, 0), 0);
    assert_eq!(r(&m, 3), 2 | 8); // only the fall-throughs ran
}

#[test]
fn call_and_ret_nest() {
    let m = halted(CALL_RET);
    assert_eq!(r(&m, 0), 18); // 7 + 10 + 1
    assert_eq!(u(&m, 5), label(CALL_RET, "back")); // CALL pushed the next address
    assert_eq!(r(&m, 6), 2); // two return addresses inside g
    assert_eq!(regs(&m).sp, TOP);
    assert_eq!(regs(&m).pc, label(CALL_RET, "back"));
}

#[test]
fn ret_faults() {
    let (m, reason) = fault_at(RET_EMPTY, Signal::Segv, 0);
    assert!(reason.contains("underflow"), "{reason}");
    assert_eq!(regs(&m).sp, TOP);
    let (m, reason) = fault_at_label(RET_OUTSIDE, Signal::Segv, "bad");
    assert!(reason.contains("outside memory"), "{reason}");
    assert_eq!(regs(&m).sp, TOP - 4); // the address stays on the stack
    // A CALL in the last three bytes returns to 0x10000: the RET faults.
    let (m, _) = fault_at_label(RET_TO_END, Signal::Segv, "r");
    assert_eq!(mem32(&m, TOP - 4), 0x10000);
    assert_eq!(regs(&m).sp, TOP - 4);
}

#[test]
fn halt_exit_code_is_r0_low_byte_and_pc_stays() {
    let (m, stop) = run(HALT_CODE);
    assert_eq!(stop.kind, StopKind::Halted { code: 0xFF });
    assert_eq!(stop.pc, label(HALT_CODE, "h"));
    assert_eq!(r(&m, 0), 0x1FF);
    let (_, outcome) = output(HALT_CODE);
    assert_eq!(outcome, Outcome::Exited(0xFF));
    assert_eq!(outcome.exit_status(), 255);
}

#[test]
fn brk_stops_after_itself_and_goes_on() {
    let (mut m, stop) = run(BRK_STOPS);
    assert_eq!(stop.kind, StopKind::Brk);
    assert_eq!(stop.pc, label(BRK_STOPS, "after"));
    assert_eq!((stop.executed, regs(&m).cycles, r(&m, 0)), (2, 2, 1));
    let stop = m.run(u64::MAX);
    assert_eq!(stop.kind, StopKind::Halted { code: 2 });
    // Headless runs ignore BRK.
    assert_eq!(output(BRK_STOPS), (String::new(), Outcome::Exited(2)));
}

#[test]
fn swi_and_iret() {
    let m = halted(SWI_IRET);
    let after = label(SWI_IRET, "after");
    assert_eq!(r(&m, 0), 9);
    assert_eq!(u(&m, 5), FLAG_Z); // the flags at the SWI
    assert_eq!(u(&m, 6), after); // the return address below them
    assert_eq!(r(&m, 7), 0); // the handler cleared Z
    assert_eq!(r(&m, 2), 1); // IRET restored it
    assert_eq!(flags(&m), FLAG_Z);
    assert_eq!(regs(&m).sp, TOP);
    assert_eq!(m.read_u16(0xBE06).unwrap() as u32, label(SWI_IRET, "handler"));
}

#[test]
fn swi_without_handler_is_sigill() {
    let (m, reason) = fault_at_label(SWI_NO_HANDLER, Signal::Ill, "bad");
    assert!(reason.contains("no handler at 0xBE0E"), "{reason}");
    assert_eq!(regs(&m).sp, TOP);
}

#[test]
fn iret_faults_and_masks() {
    let (m, reason) = fault_at_label(IRET_UNDERFLOW, Signal::Segv, "bad");
    assert!(reason.contains("underflow"), "{reason}");
    assert_eq!(regs(&m).sp, TOP - 4);
    let (m, reason) = fault_at_label(IRET_OUTSIDE, Signal::Segv, "bad");
    assert!(reason.contains("outside memory"), "{reason}");
    assert_eq!(regs(&m).sp, TOP - 8);
    let m = halted(IRET_MASKS_FLAGS);
    assert_eq!(flags(&m), FLAG_C | FLAG_Z | FLAG_S | FLAG_O);
    assert_eq!(regs(&m).sp, TOP);
}

#[test]
fn loop_counts_down() {
    let m = halted(LOOP_SUMS);
    assert_eq!((r(&m, 1), r(&m, 2)), (0, 15));
    assert_eq!(regs(&m).cycles, 1 + 5 * 2 + 1);
    // LOOP from 0 wraps to -1 and jumps.
    let m = halted(LOOP_WRAPS);
    assert_eq!(r(&m, 1), -1);
    assert_eq!(regs(&m).pc, label(LOOP_WRAPS, "t"));
}

#[test]
fn loope_and_loopne() {
    let m = halted(LOOPE_LOOPNE);
    assert_eq!((r(&m, 2), r(&m, 1)), (3, 7));
    assert_eq!((r(&m, 4), r(&m, 3)), (4, 6));
    assert_eq!((r(&m, 8), r(&m, 7)), (2, 0));
    assert_eq!((r(&m, 11), r(&m, 10)), (2, 0));
}

/// The truth table of a flag condition over r1 = C | Z<<1 | S<<2 | O<<3.
fn table(cond: fn(bool, bool, bool, bool) -> bool) -> i32 {
    (0..16).filter(|&k| cond(k & 1 != 0, k & 2 != 0, k & 4 != 0, k & 8 != 0)).map(|k| 1 << k).sum()
}

#[test]
fn flag_jumps_follow_their_conditions() {
    let cases: [(&str, &str, fn(bool, bool, bool, bool) -> bool); 14] = [
        ("JC", TABLE_JC, |c, _, _, _| c),
        ("JNC", TABLE_JNC, |c, _, _, _| !c),
        ("JA", TABLE_JA, |c, z, _, _| !c && !z),
        ("JAE", TABLE_JAE, |c, _, _, _| !c),
        ("JB", TABLE_JB, |c, _, _, _| c),
        ("JBE", TABLE_JBE, |c, z, _, _| c || z),
        ("JG", TABLE_JG, |_, z, s, o| !z && s == o),
        ("JGE", TABLE_JGE, |_, _, s, o| s == o),
        ("JL", TABLE_JL, |_, _, s, o| s != o),
        ("JLE", TABLE_JLE, |_, z, s, o| z || s != o),
        ("JO", TABLE_JO, |_, _, _, o| o),
        ("JNO", TABLE_JNO, |_, _, _, o| !o),
        ("JS", TABLE_JS, |_, _, s, _| s),
        ("JNS", TABLE_JNS, |_, _, s, _| !s),
    ];
    for (name, src, cond) in cases {
        let m = halted(src);
        assert_eq!(r(&m, 3), table(cond), "{name}: truth table");
        assert_eq!(r(&m, 1), 16, "{name}");
    }
    // Spot values: JC on C alone, JG on nothing set.
    assert_eq!(table(|c, _, _, _| c), 0xAAAA);
    assert_eq!(table(|_, z, s, o| !z && s == o) & 1, 1);
}

#[test]
fn compare_then_jump_signed_and_unsigned() {
    let m = halted(SIGNED_UNSIGNED_JUMPS);
    assert_eq!(r(&m, 3), 15);
    assert_eq!(flags(&m), 0); // the last ORI left zs flags of 15
}

#[test]
fn illegal_register_operands_are_sigill() {
    let cases = [
        (ILL_REG_RR, 20),
        (ILL_REG_RRR, 16),
        (ILL_REG_R, 255),
        (ILL_REG_RI16, 16),
        (ILL_REG_RRI8, 17),
        (ILL_REG_RI32, 16),
        (ILL_REG_RI8, 99),
    ];
    for (src, reg) in cases {
        let (m, reason) = fault_at_label(src, Signal::Ill, "bad");
        assert!(reason.contains(&format!("illegal register operand {reg}")), "{reason}");
        let bad = label(src, "bad");
        assert_eq!(regs(&m).cycles, bad.min(1) as u64);
        assert_eq!(regs(&m).energy, E0 - bad.min(1) as i64);
    }
    let (m, _) = fault_at_label(ILL_REG_RR, Signal::Ill, "bad");
    assert_eq!(r(&m, 1), 7); // nothing written
}

#[test]
fn bytes_f7_to_ff_are_invalid_opcodes() {
    let mut m = vm(INVALID_OPCODES);
    for (i, byte) in (0xF7..=0xFFu32).enumerate() {
        let mut g = m.regs();
        g.pc = 1 + i as u32;
        m.set_regs(&g);
        let stop = m.run(u64::MAX);
        match stop.kind {
            StopKind::Fault { signal: Signal::Ill, reason } => {
                assert!(reason.contains(&format!("invalid opcode 0x{byte:02X}")), "{reason}")
            }
            other => panic!("0x{byte:02X}: {other:?}"),
        }
        assert_eq!(stop.pc, 1 + i as u32);
        assert_eq!(stop.executed, 0);
    }
    assert_eq!(regs(&m).energy, E0); // faults are not charged
}

#[test]
fn an_instruction_past_the_end_of_memory_is_sigsegv() {
    for src in [PAST_END_3, PAST_END_2] {
        let (m, reason) = fault_at_label(src, Signal::Segv, "end");
        assert!(reason.contains("runs past the end of memory"), "{reason}");
        assert_eq!(regs(&m).cycles, 1);
        assert_eq!(regs(&m).energy, E0 - 1);
    }
    // A one-byte instruction at 0xFFFF runs.
    let (_, stop) = run(LAST_BYTE_HALT);
    assert_eq!((stop.kind, stop.pc), (StopKind::Halted { code: 0 }, 0xFFFF));
    // Falling through from 0xFFFF leaves memory: pc 0x10000 faults.
    let (m, reason) = fault_at(RUN_OFF_END, Signal::Segv, 0x10000);
    assert!(reason.contains("outside memory"), "{reason}");
    assert_eq!(regs(&m).cycles, 2);
    assert_eq!(regs(&m).energy, E0 - 2);
}
