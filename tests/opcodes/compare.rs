//! compare: CMP_EQ..CMP_UGT, TEST, CMP_I16, RANGE_CHK, SET_FLAG, GET_FLAG,
//! CMP_TEST, BOUND, CMPX.
use super::*;
use cuda_flux_debugger::vm::{FLAG_C, FLAG_O, FLAG_S, FLAG_Z};

programs! {
    OP_CMP_EQ = "CMP_EQ r3, r1, r2\nHALT\n";
    OP_CMP_NE = "CMP_NE r3, r1, r2\nHALT\n";
    OP_CMP_LT = "CMP_LT r3, r1, r2\nHALT\n";
    OP_CMP_GT = "CMP_GT r3, r1, r2\nHALT\n";
    OP_CMP_LE = "CMP_LE r3, r1, r2\nHALT\n";
    OP_CMP_GE = "CMP_GE r3, r1, r2\nHALT\n";
    OP_CMP_ULT = "CMP_ULT r3, r1, r2\nHALT\n";
    OP_CMP_UGT = "CMP_UGT r3, r1, r2\nHALT\n";
    OP_CMPX = "CMPX r3, r1, r2\nHALT\n";
    OP_TEST = "TEST r1, r2\nHALT\n";
    OP_CMP_TEST = "CMP_TEST r1, r2\nHALT\n";
    OP_CMP_I16 = "CMP_I16 r1, -2\nHALT\n";
    OP_RANGE_CHK = "RANGE_CHK r3, r1, 200\nHALT\n";
    FLAGS_BY_NUMBER = "
        LOAD_IMM r1, 1
        SET_FLAG r1, 0               ; Z
        GET_FLAG r2, 0
        SET_FLAG r1, 3               ; O
        GET_FLAG r3, 3
        SET_FLAG r1, 2               ; C
        SET_FLAG r1, 1               ; S
        GET_FLAG r4, 1
        MOV r10, r1
        LOAD_IMM r1, 0
        SET_FLAG r1, 0               ; clear Z only
        GET_FLAG r5, 0
        GET_FLAG r6, 2
        HALT
    ";
    SET_FLAG_BAD = "LOAD_IMM r1, 1\nbad: SET_FLAG r1, 4\n";
    GET_FLAG_BAD = "LOAD_IMM r1, 1\nbad: GET_FLAG r1, 0xFF\n";
    BOUND_OK = "LOAD_IMM r1, 9\nBOUND r1, 10\nLOAD_IMM r1, 0\nBOUND r1, 1\nHALT\n";
    BOUND_HIGH = "LOAD_IMM r1, 10\nbad: BOUND r1, 10\n";
    BOUND_NEGATIVE = "LOAD_IMM r1, -1\nbad: BOUND r1, 0xFFFF\n";
    BOUND_EMPTY = "bad: BOUND r1, 0\n";
}

const MIN: i32 = i32::MIN;
const MAX: i32 = i32::MAX;

fn cmp(src: &str, x: i32, y: i32) -> Vm {
    halted_with(src, |g| {
        g.r[1] = x;
        g.r[2] = y;
        g.r[3] = 55;
        g.conf[1] = 0.5;
        g.conf[2] = 0.25;
    })
}

/// The sub flags of x - y.
fn sub_flags(x: i32, y: i32) -> u32 {
    let (a, b) = (x as u32, y as u32);
    let res = a.wrapping_sub(b);
    let mut f = 0;
    if res == 0 {
        f |= FLAG_Z;
    }
    if res >> 31 == 1 {
        f |= FLAG_S;
    }
    if a < b {
        f |= FLAG_C;
    }
    if x.checked_sub(y).is_none() {
        f |= FLAG_O;
    }
    f
}

const PAIRS: [(i32, i32); 8] = [(1, 2), (2, 1), (3, 3), (-1, 1), (1, -1), (MIN, MAX), (MAX, MIN), (0, MIN)];

#[test]
fn comparisons_write_0_or_1_and_set_sub_flags() {
    let cases: [(&str, &str, fn(i32, i32) -> bool); 8] = [
        ("CMP_EQ", OP_CMP_EQ, |x, y| x == y),
        ("CMP_NE", OP_CMP_NE, |x, y| x != y),
        ("CMP_LT", OP_CMP_LT, |x, y| x < y),
        ("CMP_GT", OP_CMP_GT, |x, y| x > y),
        ("CMP_LE", OP_CMP_LE, |x, y| x <= y),
        ("CMP_GE", OP_CMP_GE, |x, y| x >= y),
        ("CMP_ULT", OP_CMP_ULT, |x, y| (x as u32) < (y as u32)),
        ("CMP_UGT", OP_CMP_UGT, |x, y| (x as u32) > (y as u32)),
    ];
    for (name, src, pred) in cases {
        for (x, y) in PAIRS {
            let m = cmp(src, x, y);
            assert_eq!(r(&m, 3), pred(x, y) as i32, "{name} {x} {y}");
            assert_eq!(flags(&m), sub_flags(x, y), "{name} {x} {y}: flags");
            assert_close(c(&m, 3), 0.125);
        }
    }
    // A few flag values spelled out.
    assert_eq!(sub_flags(3, 3), FLAG_Z);
    assert_eq!(sub_flags(1, 2), FLAG_S | FLAG_C);
    assert_eq!(sub_flags(MIN, MAX), FLAG_O);
    assert_eq!(sub_flags(0, MIN), FLAG_S | FLAG_C | FLAG_O);
}

#[test]
fn cmpx_is_three_way() {
    for (x, y) in PAIRS {
        let m = cmp(OP_CMPX, x, y);
        assert_eq!(r(&m, 3), x.cmp(&y) as i32, "CMPX {x} {y}");
        assert_eq!(flags(&m), sub_flags(x, y));
        assert_close(c(&m, 3), 0.125);
    }
    assert_eq!(r(&cmp(OP_CMPX, -5, 3), 3), -1);
}

#[test]
fn test_and_cmp_test_only_set_flags() {
    for (x, y, fl) in [(0xF0, 0x0F, FLAG_Z), (-1, MIN, FLAG_S), (6, 3, 0)] {
        let m = halted_with(OP_TEST, |g| {
            g.r[1] = x;
            g.r[2] = y;
            g.flags = FLAG_C | FLAG_O;
        });
        assert_eq!(flags(&m), fl, "TEST {x} {y}");
        assert_eq!((r(&m, 1), r(&m, 2)), (x, y));
    }
    for (x, y) in PAIRS {
        let m = cmp(OP_CMP_TEST, x, y);
        assert_eq!(flags(&m), sub_flags(x, y), "CMP_TEST {x} {y}");
        assert_eq!(r(&m, 3), 55);
    }
}

#[test]
fn cmp_i16_sign_extends() {
    for x in [-2, 0, -3, MIN, 5] {
        let m = cmp(OP_CMP_I16, x, 0);
        assert_eq!(flags(&m), sub_flags(x, -2), "CMP_I16 {x}, -2");
    }
    assert_eq!(flags(&cmp(OP_CMP_I16, -2, 0)), FLAG_Z);
}

#[test]
fn range_chk_is_unsigned() {
    for (x, want) in [(0, 1), (199, 1), (200, 0), (-1, 0), (MAX, 0)] {
        let m = cmp(OP_RANGE_CHK, x, 0);
        assert_eq!(r(&m, 3), want, "RANGE_CHK {x}");
        assert_eq!(flags(&m), if want == 0 { FLAG_Z } else { 0 });
        assert_close(c(&m, 3), 0.5); // c[a]
    }
}

#[test]
fn set_flag_and_get_flag() {
    let m = halted(FLAGS_BY_NUMBER);
    assert_eq!((r(&m, 2), r(&m, 3), r(&m, 4)), (1, 1, 1));
    assert_eq!((r(&m, 5), r(&m, 6)), (0, 1));
    assert_close(c(&m, 5), 1.0);
    assert_eq!(flags(&m), FLAG_S | FLAG_C | FLAG_O);
    for src in [SET_FLAG_BAD, GET_FLAG_BAD] {
        let (m, reason) = fault_at_label(src, Signal::Ill, "bad");
        assert!(reason.contains("illegal flag number"), "{reason}");
        assert_eq!((flags(&m), r(&m, 1)), (0, 1));
    }
}

#[test]
fn bound_checks_zero_to_n() {
    let m = halted(BOUND_OK);
    assert_eq!(regs(&m).cycles, 5);
    for src in [BOUND_HIGH, BOUND_NEGATIVE, BOUND_EMPTY] {
        let (_, reason) = fault_at_label(src, Signal::Segv, "bad");
        assert!(reason.contains("BOUND"), "{reason}");
    }
}
