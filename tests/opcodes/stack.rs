//! stack: PUSH_R POP_R DUP SWAP2 ROT OVER PICK ROLL DEPTH DROP NIP TUCK
//! PUSH_IMM8 PUSH_IMM16 PUSH_IMM32 PEEK.
use super::*;

programs! {
    PUSH_POP_R = "
        LOAD_IMM r1, -7
        CONF_SET r1, 50
        PUSH_R r1
        CONF_SET r2, 50
        POP_R r2
        HALT
    ";
    POP_R_EMPTY = "bad: POP_R r2\n";
    PUSH_R_FULL = "ALLOCA r1, 0x4000\nbad: PUSH_R r1\n";
    DUP_TOP = "PUSH 5\nDUP\nHALT\n";
    DUP_EMPTY = "bad: DUP\n";
    DUP_FULL = "ALLOCA r1, 0x4000\nbad: DUP\n";
    SWAP2_TOP = "PUSH 1\nPUSH 2\nSWAP2\nHALT\n";
    SWAP2_SHORT = "PUSH 1\nbad: SWAP2\n";
    ROT_THREE = "PUSH 1\nPUSH 2\nPUSH 3\nROT\nHALT\n";
    ROT_SHORT = "PUSH 1\nPUSH 2\nbad: ROT\n";
    OVER_TWO = "PUSH 1\nPUSH 2\nOVER\nHALT\n";
    OVER_SHORT = "PUSH 1\nbad: OVER\n";
    OVER_FULL = "ALLOCA r1, 0x4000\nbad: OVER\n";
    PICK_DEEP = "PUSH 10\nPUSH 20\nPUSH 30\nPICK 0\nPICK 3\nHALT\n";
    PICK_SHORT = "PUSH 1\nPUSH 2\nbad: PICK 2\n";
    ROLL_DEEP = "
        PUSH 1
        PUSH 2
        PUSH 3
        PUSH 4
        ROLL 3                       ; 2 3 4 1
        ROLL 0                       ; unchanged
        ROLL 1                       ; 2 3 1 4
        HALT
    ";
    ROLL_SHORT = "PUSH 1\nPUSH 2\nPUSH 3\nPUSH 4\nbad: ROLL 4\n";
    DEPTHS = "
        DEPTH r1
        PUSH 1
        PUSH 2
        PUSH 3
        CONF_SET r2, 10
        DEPTH r2
        ALLOCA r0, 0x3FF4
        DEPTH r3
        HALT
    ";
    DROP_NIP = "PUSH 1\nPUSH 2\nPUSH 3\nDROP\nNIP\nHALT\n";
    DROP_EMPTY = "bad: DROP\n";
    NIP_SHORT = "PUSH 1\nbad: NIP\n";
    TUCK_TWO = "PUSH 1\nPUSH 2\nTUCK\nHALT\n";
    TUCK_SHORT = "PUSH 1\nbad: TUCK\n";
    TUCK_FULL = "ALLOCA r1, 0x4000\nbad: TUCK\n";
    PUSH_IMMS = "
        PUSH_IMM8 0xFF
        PUSH_IMM8 0x7F
        PUSH_IMM16 0x8000
        PUSH_IMM16 0x7FFF
        PUSH_IMM32 0xDEADBEEF
        HALT
    ";
    PUSH_IMM_FULL = "ALLOCA r1, 0x4000\nbad: PUSH_IMM8 1\n";
    PUSH_IMM16_FULL = "ALLOCA r1, 0x4000\nbad: PUSH_IMM16 1\n";
    PUSH_IMM32_FULL = "ALLOCA r1, 0x4000\nbad: PUSH_IMM32 1\n";
    PEEK_TOP = "PUSH 9\nCONF_SET r1, 50\nPEEK r1\nHALT\n";
    PEEK_EMPTY = "bad: PEEK r1\n";
}

const TOP: u32 = 0x10000;

/// The stack, bottom first.
fn stack(m: &Vm) -> Vec<i32> {
    let sp = regs(m).sp;
    (sp..TOP).step_by(4).rev().map(|a| mem32(m, a) as i32).collect()
}

#[test]
fn push_r_and_pop_r() {
    let m = halted(PUSH_POP_R);
    assert_eq!(r(&m, 2), -7);
    assert_close(c(&m, 2), 1.0); // the stack holds no confidence
    assert_eq!(regs(&m).sp, TOP);
    assert_eq!(mem32(&m, TOP - 4) as i32, -7);
    let (m, reason) = fault_at_label(POP_R_EMPTY, Signal::Segv, "bad");
    assert!(reason.contains("underflow"), "{reason}");
    assert_eq!(regs(&m).sp, TOP);
    let (m, reason) = fault_at_label(PUSH_R_FULL, Signal::Segv, "bad");
    assert!(reason.contains("overflow"), "{reason}");
    assert_eq!(regs(&m).sp, 0xC000);
}

#[test]
fn dup_swap2_rot_over() {
    assert_eq!(stack(&halted(DUP_TOP)), [5, 5]);
    assert_eq!(stack(&halted(SWAP2_TOP)), [2, 1]);
    assert_eq!(stack(&halted(ROT_THREE)), [2, 3, 1]);
    assert_eq!(stack(&halted(OVER_TWO)), [1, 2, 1]);
}

#[test]
fn pick_copies_from_depth() {
    assert_eq!(stack(&halted(PICK_DEEP)), [10, 20, 30, 30, 10]);
}

#[test]
fn roll_rotates_the_top_n_plus_one() {
    assert_eq!(stack(&halted(ROLL_DEEP)), [2, 3, 1, 4]);
}

#[test]
fn depth_counts_slots() {
    let m = halted(DEPTHS);
    assert_eq!((r(&m, 1), r(&m, 2), r(&m, 3)), (0, 3, 4096));
    assert_close(c(&m, 2), 1.0);
}

#[test]
fn drop_nip_tuck() {
    assert_eq!(stack(&halted(DROP_NIP)), [2]);
    assert_eq!(stack(&halted(TUCK_TWO)), [2, 1, 2]);
}

#[test]
fn push_immediates_sign_extend() {
    let m = halted(PUSH_IMMS);
    assert_eq!(stack(&m), [-1, 127, -32768, 0x7FFF, 0xDEADBEEFu32 as i32]);
}

#[test]
fn peek_reads_without_popping() {
    let m = halted(PEEK_TOP);
    assert_eq!(r(&m, 1), 9);
    assert_close(c(&m, 1), 1.0);
    assert_eq!(regs(&m).sp, TOP - 4);
}

#[test]
fn short_stacks_underflow() {
    for src in [DUP_EMPTY, SWAP2_SHORT, ROT_SHORT, OVER_SHORT, PICK_SHORT, ROLL_SHORT, DROP_EMPTY, NIP_SHORT, TUCK_SHORT, PEEK_EMPTY] {
        let (m, reason) = fault_at_label(src, Signal::Segv, "bad");
        assert!(reason.contains("underflow"), "{reason}\n{src}");
        // Nothing moved: the stack is what the pushes before it left.
        let pushes = src.matches("PUSH").count();
        assert_eq!(stack(&m), (1..=pushes as i32).collect::<Vec<_>>(), "{src}");
    }
}

#[test]
fn full_stacks_overflow() {
    for src in [DUP_FULL, OVER_FULL, TUCK_FULL, PUSH_IMM_FULL, PUSH_IMM16_FULL, PUSH_IMM32_FULL] {
        let (m, reason) = fault_at_label(src, Signal::Segv, "bad");
        // DUP, OVER and TUCK need items first: 4096 zero slots are there.
        assert!(reason.contains("overflow"), "{reason}\n{src}");
        assert_eq!(regs(&m).sp, 0xC000);
        assert_eq!(mem32(&m, 0xBFFC), 0);
    }
}
