//! arith: CADD..CMAX, CNOT..CABS, ADDI..DIVI, ANDI..SHRI, INCR, DECR, CLZ..BSWAP.
//!
//! Each opcode runs in a one-instruction program whose inputs the test sets
//! through the register file: r1 = x, r2 = y with confidences 0.5 and 0.25,
//! and flags preset to C|O so that the zs class visibly clears them.
use super::*;
use cuda_flux_debugger::vm::{FLAG_C, FLAG_O, FLAG_S, FLAG_Z};

programs! {
    OP_CADD = "CADD r3, r1, r2\nHALT\n";
    OP_CSUB = "CSUB r3, r1, r2\nHALT\n";
    OP_CMUL = "CMUL r3, r1, r2\nHALT\n";
    OP_CDIV = "CDIV r3, r1, r2\nHALT\n";
    OP_CMOD = "CMOD r3, r1, r2\nHALT\n";
    OP_CAND = "CAND r3, r1, r2\nHALT\n";
    OP_COR = "COR r3, r1, r2\nHALT\n";
    OP_CXOR = "CXOR r3, r1, r2\nHALT\n";
    OP_CSHL = "CSHL r3, r1, r2\nHALT\n";
    OP_CSHR = "CSHR r3, r1, r2\nHALT\n";
    OP_CSAR = "CSAR r3, r1, r2\nHALT\n";
    OP_CMIN = "CMIN r3, r1, r2\nHALT\n";
    OP_CMAX = "CMAX r3, r1, r2\nHALT\n";
    OP_CNOT = "CNOT r3, r1\nHALT\n";
    OP_CNEG = "CNEG r3, r1\nHALT\n";
    OP_CABS = "CABS r3, r1\nHALT\n";
    OP_CLZ = "CLZ r3, r1\nHALT\n";
    OP_CTZ = "CTZ r3, r1\nHALT\n";
    OP_POPCNT = "POPCNT r3, r1\nHALT\n";
    OP_BREV = "BREV r3, r1\nHALT\n";
    OP_BSWAP = "BSWAP r3, r1\nHALT\n";
    OP_ADDI = "ADDI r1, -3\nHALT\n";
    OP_ADDI_ONE = "ADDI r1, 1\nHALT\n";
    OP_SUBI = "SUBI r1, 0xFFFF\nHALT\n";
    OP_SUBI_ONE = "SUBI r1, 1\nHALT\n";
    OP_MULI = "MULI r1, -2\nHALT\n";
    OP_DIVI = "DIVI r1, -2\nHALT\n";
    OP_DIVI_MINUS_ONE = "DIVI r1, -1\nHALT\n";
    OP_DIVI_ZERO = "LOAD_IMM r1, 9\nbad: DIVI r1, 0\nHALT\n";
    OP_ANDI = "ANDI r1, 0xFFFF\nHALT\n";
    OP_ORI = "ORI r1, 0x8000\nHALT\n";
    OP_XORI = "XORI r1, 0xFFFF\nHALT\n";
    OP_SHLI = "SHLI r1, 33\nHALT\n";
    OP_SHRI = "SHRI r1, 4\nHALT\n";
    OP_INCR = "INCR r1\nHALT\n";
    OP_DECR = "DECR r1\nHALT\n";
    SAME_REGISTER = "LOAD_IMM r1, 21\nCONF_SET r1, 50\nCADD r1, r1, r1\nHALT\n";
    ARITH_COSTS = "CADD r1, r1, r1\nCMUL r1, r1, r1\nCDIV r1, r1, r2\nMULI r1, 1\nDIVI r1, 1\nHALT\n";
}

const PRESET: u32 = FLAG_C | FLAG_O;

/// Runs a two-input program: r1 = x, r2 = y, c1 = 0.5, c2 = 0.25, flags C|O.
fn bin(src: &str, x: i32, y: i32) -> Vm {
    halted_with(src, |g| {
        g.r[1] = x;
        g.r[2] = y;
        g.conf[1] = 0.5;
        g.conf[2] = 0.25;
        g.flags = PRESET;
    })
}

/// Checks r3 and the flags of `src` over (x, y, result, flags) cases; c3 = 0.125.
#[track_caller]
fn check_bin(name: &str, src: &str, cases: &[(i32, i32, i32, u32)]) {
    for &(x, y, res, fl) in cases {
        let m = bin(src, x, y);
        assert_eq!(r(&m, 3), res, "{name} {x}, {y}: result");
        assert_eq!(flags(&m), fl, "{name} {x}, {y}: flags");
        assert_close(c(&m, 3), 0.125);
        assert_eq!((r(&m, 1), r(&m, 2)), (x, y), "{name}: inputs kept");
    }
}

/// Checks r3 and the flags of a one-input program; c3 = c1 = 0.5.
#[track_caller]
fn check_un(name: &str, src: &str, cases: &[(i32, i32, u32)]) {
    for &(x, res, fl) in cases {
        let m = bin(src, x, 0);
        assert_eq!(r(&m, 3), res, "{name} {x}: result");
        assert_eq!(flags(&m), fl, "{name} {x}: flags");
        assert_close(c(&m, 3), 0.5);
    }
}

/// Checks r1 updated in place; its confidence (0.5) is unchanged.
#[track_caller]
fn check_imm(name: &str, src: &str, cases: &[(i32, i32, u32)]) {
    for &(x, res, fl) in cases {
        let m = bin(src, x, 0);
        assert_eq!(r(&m, 1), res, "{name} {x}: result");
        assert_eq!(flags(&m), fl, "{name} {x}: flags");
        assert_close(c(&m, 1), 0.5);
    }
}

const MIN: i32 = i32::MIN;
const MAX: i32 = i32::MAX;

#[test]
fn cadd_and_csub_set_add_and_sub_flags() {
    check_bin("CADD", OP_CADD, &[
        (1, 2, 3, 0),
        (-1, 1, 0, FLAG_Z | FLAG_C),
        (MAX, 1, MIN, FLAG_S | FLAG_O),
        (MIN, MIN, 0, FLAG_Z | FLAG_C | FLAG_O),
        (-1, -1, -2, FLAG_S | FLAG_C),
    ]);
    check_bin("CSUB", OP_CSUB, &[
        (5, 3, 2, 0),
        (3, 5, -2, FLAG_S | FLAG_C),
        (5, 5, 0, FLAG_Z),
        (MIN, 1, MAX, FLAG_O),
        (MAX, -1, MIN, FLAG_S | FLAG_O | FLAG_C),
    ]);
}

#[test]
fn cmul_flags_overflow_of_the_signed_product() {
    check_bin("CMUL", OP_CMUL, &[
        (6, 7, 42, 0),
        (-3, 5, -15, FLAG_S),
        (0x10000, 0x10000, 0, FLAG_Z | FLAG_C | FLAG_O),
        (0x4000_0000, 2, MIN, FLAG_S | FLAG_C | FLAG_O),
        (0x4000_0000, -2, MIN, FLAG_S), // -2^31 fits
        (0, 5, 0, FLAG_Z),
    ]);
}

#[test]
fn cdiv_and_cmod_truncate_like_c() {
    check_bin("CDIV", OP_CDIV, &[
        (7, 2, 3, 0),
        (-7, 2, -3, FLAG_S),
        (7, -2, -3, FLAG_S),
        (MIN, -1, MIN, FLAG_S),
        (0, 5, 0, FLAG_Z),
    ]);
    check_bin("CMOD", OP_CMOD, &[
        (7, 3, 1, 0),
        (-7, 3, -1, FLAG_S),
        (7, -3, 1, 0),
        (MIN, -1, 0, FLAG_Z),
        (6, 3, 0, FLAG_Z),
    ]);
}

#[test]
fn division_by_zero_is_sigfpe() {
    for (src, name) in [(OP_CDIV, "CDIV"), (OP_CMOD, "CMOD")] {
        let (m, stop) = run_with(src, |g| {
            g.r[1] = 9;
            g.r[3] = 77;
        });
        let reason = expect_fault(&stop, Signal::Fpe, 0);
        assert!(reason.contains(&format!("division by zero: {name}")), "{reason}");
        assert_eq!(r(&m, 3), 77);
        assert_eq!(regs(&m).energy, 1_000_000_000); // not charged
    }
    let (m, _) = fault_at_label(OP_DIVI_ZERO, Signal::Fpe, "bad");
    assert_eq!(r(&m, 1), 9);
}

#[test]
fn bitwise_ops_set_zs_and_clear_c_o() {
    check_bin("CAND", OP_CAND, &[(0xF0F0, 0xFF00, 0xF000, 0), (0xF0, 0x0F, 0, FLAG_Z), (-1, MIN, MIN, FLAG_S)]);
    check_bin("COR", OP_COR, &[(0xF0F0, 0xFF00, 0xFFF0, 0), (0, 0, 0, FLAG_Z), (MIN, 1, MIN + 1, FLAG_S)]);
    check_bin("CXOR", OP_CXOR, &[(0xF0F0, 0xFF00, 0x0FF0, 0), (5, 5, 0, FLAG_Z), (-1, 1, -2, FLAG_S)]);
}

#[test]
fn shifts_use_the_low_five_bits_of_the_count() {
    check_bin("CSHL", OP_CSHL, &[(1, 31, MIN, FLAG_S), (1, 33, 2, 0), (3, 32, 3, 0), (MIN, 1, 0, FLAG_Z)]);
    check_bin("CSHR", OP_CSHR, &[(MIN, 31, 1, 0), (-1, 28, 0xF, 0), (1, 1, 0, FLAG_Z), (-1, 32, -1, FLAG_S)]);
    check_bin("CSAR", OP_CSAR, &[(-16, 2, -4, FLAG_S), (MIN, 31, -1, FLAG_S), (16, 2, 4, 0), (1, 1, 0, FLAG_Z)]);
}

#[test]
fn cmin_and_cmax_are_signed() {
    check_bin("CMIN", OP_CMIN, &[(-1, 1, -1, FLAG_S), (3, 2, 2, 0), (0, 7, 0, FLAG_Z)]);
    check_bin("CMAX", OP_CMAX, &[(-1, 1, 1, 0), (MIN, MAX, MAX, 0), (-5, -9, -5, FLAG_S), (0, -1, 0, FLAG_Z)]);
}

#[test]
fn unary_ops_copy_the_confidence() {
    check_un("CNOT", OP_CNOT, &[(0, -1, FLAG_S), (-1, 0, FLAG_Z), (0x0F0F_0F0F, -0x0F0F_0F10, FLAG_S)]);
    check_un("CNEG", OP_CNEG, &[(5, -5, FLAG_S), (MIN, MIN, FLAG_S), (0, 0, FLAG_Z), (-7, 7, 0)]);
    check_un("CABS", OP_CABS, &[(-5, 5, 0), (MIN, MIN, FLAG_S), (7, 7, 0), (0, 0, FLAG_Z)]);
    check_un("CLZ", OP_CLZ, &[(1, 31, 0), (0, 32, 0), (-1, 0, FLAG_Z), (0x0001_0000, 15, 0)]);
    check_un("CTZ", OP_CTZ, &[(8, 3, 0), (0, 32, 0), (1, 0, FLAG_Z), (MIN, 31, 0)]);
    check_un("POPCNT", OP_POPCNT, &[(0xFF, 8, 0), (-1, 32, 0), (0, 0, FLAG_Z), (MIN, 1, 0)]);
    check_un("BREV", OP_BREV, &[(1, MIN, FLAG_S), (0xF, 0xF000_0000u32 as i32, FLAG_S), (0x8000, 0x0001_0000, 0), (0, 0, FLAG_Z)]);
    check_un("BSWAP", OP_BSWAP, &[(0x1234_5678, 0x7856_3412, 0), (0xFF, -0x0100_0000, FLAG_S), (0, 0, FLAG_Z)]);
}

#[test]
fn add_and_sub_immediates_are_sign_extended() {
    check_imm("ADDI -3", OP_ADDI, &[(10, 7, FLAG_C), (0, -3, FLAG_S), (3, 0, FLAG_Z | FLAG_C), (MIN, MAX - 2, FLAG_C | FLAG_O)]);
    check_imm("ADDI 1", OP_ADDI_ONE, &[(-1, 0, FLAG_Z | FLAG_C), (MAX, MIN, FLAG_S | FLAG_O), (1, 2, 0)]);
    // SUBI 0xFFFF subtracts -1.
    check_imm("SUBI 0xFFFF", OP_SUBI, &[(5, 6, FLAG_C), (-1, 0, FLAG_Z), (MAX, MIN, FLAG_S | FLAG_O | FLAG_C)]);
    check_imm("SUBI 1", OP_SUBI_ONE, &[(0, -1, FLAG_S | FLAG_C), (MIN, MAX, FLAG_O), (1, 0, FLAG_Z)]);
}

#[test]
fn muli_and_divi() {
    check_imm("MULI -2", OP_MULI, &[
        (21, -42, FLAG_S),
        (0x4000_0000, MIN, FLAG_S),
        (0x4000_0001, 0x7FFF_FFFE, FLAG_C | FLAG_O),
        (0, 0, FLAG_Z),
    ]);
    check_imm("DIVI -2", OP_DIVI, &[(7, -3, FLAG_S), (-7, 3, 0), (1, 0, FLAG_Z)]);
    check_imm("DIVI -1", OP_DIVI_MINUS_ONE, &[(MIN, MIN, FLAG_S), (5, -5, FLAG_S)]);
}

#[test]
fn logical_immediates_are_zero_extended() {
    check_imm("ANDI 0xFFFF", OP_ANDI, &[(-1, 0xFFFF, 0), (0x12_0000, 0, FLAG_Z)]);
    check_imm("ORI 0x8000", OP_ORI, &[(0, 0x8000, 0), (MIN, MIN | 0x8000, FLAG_S)]);
    check_imm("XORI 0xFFFF", OP_XORI, &[(-1, 0xFFFF_0000u32 as i32, FLAG_S), (0xFFFF, 0, FLAG_Z)]);
    check_imm("SHLI 33", OP_SHLI, &[(3, 6, 0), (MIN, 0, FLAG_Z), (0x4000_0000, MIN, FLAG_S)]);
    check_imm("SHRI 4", OP_SHRI, &[(-1, 0x0FFF_FFFF, 0), (0xF, 0, FLAG_Z), (0x120, 0x12, 0)]);
}

#[test]
fn incr_and_decr() {
    check_imm("INCR", OP_INCR, &[(-1, 0, FLAG_Z | FLAG_C), (MAX, MIN, FLAG_S | FLAG_O), (41, 42, 0)]);
    check_imm("DECR", OP_DECR, &[(0, -1, FLAG_S | FLAG_C), (MIN, MAX, FLAG_O), (1, 0, FLAG_Z)]);
}

#[test]
fn operands_may_be_the_same_register() {
    let m = halted(SAME_REGISTER);
    assert_eq!(r(&m, 1), 42);
    assert_close(c(&m, 1), 0.25);
}

#[test]
fn arith_energy_costs() {
    // CADD 1, CMUL 2, CDIV 4, MULI 2, DIVI 4, HALT 1.
    let m = halted_with(ARITH_COSTS, |g| g.r[2] = 1);
    assert_eq!(regs(&m).energy, 1_000_000_000 - 14);
    assert_eq!(regs(&m).cycles, 6);
}
