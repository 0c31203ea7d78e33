//! crypto: RNG_SEED RNG_NEXT CRC32 and the unimplemented crypto opcodes;
//! vector: VADD VSUB VMUL VDOT VLOAD VSTORE and VMAP (not implemented).
use super::*;

programs! {
    RNG_DEFAULT = "RNG_NEXT r1\nRNG_NEXT r2\nRNG_NEXT r3\nHALT\n";
    RNG_RESEED = "
        LOAD_IMM r1, -1
        RNG_SEED r1                  ; 0xFFFFFFFF, not sign-extended
        CONF_SET r2, 10
        RNG_NEXT r2
        RNG_NEXT r3
        LOAD_IMM r1, 0
        RNG_SEED r1
        RNG_NEXT r4                  ; as with seed 0
        HALT
    ";
    CRC = "
        LOAD_IMM r1, 9
        LEA r2, text
        CONF_SET r2, 50
        CRC32 r1, r2
        LOAD_IMM r3, 0
        CRC32 r3, r2                 ; no bytes
        HALT
    text: DB \"123456789\"
    ";
    CRC_OUTSIDE = "LOAD_IMM r1, 0x20\nLOAD_IMM r2, 0xFFF0\nbad: CRC32 r1, r2\n";
    CRC_COSTLY = "LOAD_IMM r1, 0x400\nbad: CRC32 r1, r2\nHALT\n";
    NOT_IMPLEMENTED = "
        NOP
    md5:    HASH_MD5 r1, r2
    sha256: HASH_SHA256 r1, r2
    sha512: HASH_SHA512 r1, r2
    hmacg:  HMAC_GEN r1, r2, r3
    hmacv:  HMAC_VERIFY r1, r2, r3
    aese:   AES_ENC r1, r2, r3
    aesd:   AES_DEC r1, r2, r3
    sigg:   SIG_GEN r1, r2
    sigv:   SIG_VERIFY r1, r2, r3
    base64e: BASE64_ENC r1, r2
    base64d: BASE64_DEC r1, r2
    keyg:   KEY_GEN r99
    keyd:   KEY_DERIVE r1, r2, r3
    vmapx:  VMAP r0, r4, r8
        HALT
    ";
    VECTORS = "
        VADD r8, r0, r4
        VSUB r12, r4, r0
        HALT
    ";
    VMUL_DOT = "
        VMUL r8, r0, r4
        VDOT r15, r0, r4
        HALT
    ";
    VADD_OVERLAP = "VADD r1, r0, r0\nHALT\n";
    VLOAD_STORE = "
        LOAD_IMM r1, 0x11111111
        STORE32 r1, 0x800
        LOAD_IMM r1, -2
        STORE32 r1, 0x804
        LOAD_IMM r1, 3
        STORE32 r1, 0x808
        LOAD_IMM r1, 0x7FFFFFFF
        STORE32 r1, 0x80C
        VLOAD r4, 0x800
        VSTORE r4, 0x901
        HALT
    ";
    VADD_R13 = "bad: VADD r13, r0, r4\n";
    VSUB_R14 = "bad: VSUB r0, r14, r4\n";
    VMUL_R15 = "bad: VMUL r0, r4, r15\n";
    VDOT_R13 = "bad: VDOT r0, r13, r0\n";
    VLOAD_R13 = "bad: VLOAD r13, 0x100\n";
    VSTORE_R14 = "bad: VSTORE r14, 0x100\n";
    VLOAD_END = "bad: VLOAD r0, 0xFFF1\n";
    VSTORE_END = "bad: VSTORE r0, 0xFFF1\n";
}

/// The reference splitmix64 (Vigna), one step.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn high(state: &mut u64) -> u32 {
    (splitmix64(state) >> 32) as u32
}

#[test]
fn rng_next_is_splitmix64_from_the_seed() {
    let m = halted(RNG_DEFAULT);
    assert_eq!(u(&m, 1), 0xE220_A839); // splitmix64(0) = 0xE220A8397B1DCDAF
    let mut s = 0u64;
    assert_eq!([u(&m, 1), u(&m, 2), u(&m, 3)], [high(&mut s), high(&mut s), high(&mut s)]);
    // --seed: another seed, another sequence, the same on every run.
    let run_seed = |seed: u64| {
        let mut m = vm_with(RNG_DEFAULT, VmConfig { energy: 1000, seed });
        assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
        [u(&m, 1), u(&m, 2), u(&m, 3)]
    };
    let mut s = 42u64;
    assert_eq!(run_seed(42), [high(&mut s), high(&mut s), high(&mut s)]);
    assert_eq!(run_seed(42), run_seed(42));
    assert_ne!(run_seed(42), run_seed(43));
    // Reset restarts the sequence.
    let mut m = vm(RNG_DEFAULT);
    m.run(u64::MAX);
    let first = u(&m, 1);
    m.reset();
    m.run(u64::MAX);
    assert_eq!(u(&m, 1), first);
}

#[test]
fn rng_seed_takes_the_register_unsigned() {
    let m = halted(RNG_RESEED);
    let mut s = 0xFFFF_FFFFu64;
    assert_eq!((u(&m, 2), u(&m, 3)), (high(&mut s), high(&mut s)));
    assert_close(c(&m, 2), 1.0);
    assert_eq!(u(&m, 4), 0xE220_A839);
}

#[test]
fn crc32_is_zlibs() {
    let m = halted(CRC);
    assert_eq!(u(&m, 1), 0xCBF4_3926);
    assert_close(c(&m, 1), 0.5); // c[a]
    assert_eq!(r(&m, 3), 0);
    // LOAD_IMM, LEA, CONF_SET, CRC32 (2 + 9/4), LOAD_IMM, CRC32 (2), HALT
    assert_eq!(regs(&m).energy, 1_000_000_000 - (3 + 4 + 1 + 2 + 1));
    let (_, reason) = fault_at_label(CRC_OUTSIDE, Signal::Segv, "bad");
    assert!(reason.contains("outside memory"), "{reason}");
    // 0x400 bytes cost 2 + 256.
    let mut m = vm_with(CRC_COSTLY, VmConfig { energy: 258, seed: 0 });
    expect_fault(&m.run(u64::MAX), Signal::Xcpu, label(CRC_COSTLY, "bad"));
    let mut m = vm_with(CRC_COSTLY, VmConfig { energy: 260, seed: 0 });
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    assert_eq!(regs(&m).energy, 0);
}

#[test]
fn unimplemented_crypto_and_vmap_are_sigill() {
    let names = [
        ("md5", "HASH_MD5"),
        ("sha256", "HASH_SHA256"),
        ("sha512", "HASH_SHA512"),
        ("hmacg", "HMAC_GEN"),
        ("hmacv", "HMAC_VERIFY"),
        ("aese", "AES_ENC"),
        ("aesd", "AES_DEC"),
        ("sigg", "SIG_GEN"),
        ("sigv", "SIG_VERIFY"),
        ("base64e", "BASE64_ENC"),
        ("base64d", "BASE64_DEC"),
        ("keyg", "KEY_GEN"),
        ("keyd", "KEY_DERIVE"),
        ("vmapx", "VMAP"),
    ];
    let mut m = vm(NOT_IMPLEMENTED);
    for (at, name) in names {
        let pc = label(NOT_IMPLEMENTED, at);
        let mut g = m.regs();
        g.pc = pc;
        m.set_regs(&g);
        let stop = m.run(u64::MAX);
        let reason = expect_fault(&stop, Signal::Ill, pc);
        assert_eq!(reason, format!("{name} at 0x{pc:04X} is not implemented yet (see docs/ISA.md)"));
        assert_eq!(stop.executed, 0);
    }
    assert_eq!(regs(&m).energy, 1_000_000_000); // nothing charged, not even the 8 of the table
    assert_eq!(regs(&m).cycles, 0);
}

/// r0..r3 = 1, 2, 3, 4 at confidences 0.5; r4..r7 = 10, 20, 30, i32::MAX at 0.5, 1, 1, 0.25.
fn lanes(g: &mut Regs) {
    g.r[..8].copy_from_slice(&[1, 2, 3, 4, 10, 20, 30, i32::MAX]);
    g.conf[..8].copy_from_slice(&[0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 0.25]);
}

#[test]
fn vadd_and_vsub_are_lane_wise() {
    let m = halted_with(VECTORS, lanes);
    let g = regs(&m);
    assert_eq!(g.r[8..12], [11, 22, 33, i32::MIN + 3]);
    assert_eq!(g.r[12..16], [9, 18, 27, i32::MAX - 4]);
    for (k, want) in [0.25, 0.5, 0.5, 0.125].into_iter().enumerate() {
        assert_close(g.conf[8 + k], want);
        assert_close(g.conf[12 + k], want);
    }
    assert_eq!(g.flags, 0);
}

#[test]
fn vmul_and_vdot() {
    let m = halted_with(VMUL_DOT, lanes);
    let g = regs(&m);
    assert_eq!(g.r[8..12], [10, 40, 90, i32::MAX.wrapping_mul(4)]);
    assert_eq!(g.r[15], 10 + 40 + 90 + i32::MAX.wrapping_mul(4));
    assert_close(g.conf[15], 0.5f32.powi(4) * 0.5 * 0.25);
    // VMUL 1 + VDOT 2 + HALT 1
    assert_eq!(g.energy, 1_000_000_000 - 4);
}

#[test]
fn vector_operands_may_overlap() {
    let m = halted_with(VADD_OVERLAP, |g| g.r[..5].copy_from_slice(&[1, 2, 3, 4, 5]));
    assert_eq!(regs(&m).r[..5], [1, 2, 4, 6, 8]);
}

#[test]
fn vload_and_vstore() {
    let m = halted_with(VLOAD_STORE, |g| g.conf[4] = 0.5);
    assert_eq!(regs(&m).r[4..8], [0x11111111, -2, 3, i32::MAX]);
    assert_close(c(&m, 4), 1.0);
    let mut b = [0u8; 18];
    m.read_mem(0x900, &mut b).unwrap();
    assert_eq!(b[0], 0);
    assert_eq!(&b[1..5], &0x11111111u32.to_le_bytes());
    assert_eq!(&b[5..9], &(-2i32).to_le_bytes());
    assert_eq!(&b[13..17], &i32::MAX.to_le_bytes());
    assert_eq!(b[17], 0);
}

#[test]
fn vectors_past_r15_are_sigill() {
    for src in [VADD_R13, VSUB_R14, VMUL_R15, VDOT_R13, VLOAD_R13, VSTORE_R14] {
        let (_, reason) = fault_at_label(src, Signal::Ill, "bad");
        assert!(reason.contains("goes past r15"), "{reason}");
    }
    for src in [VLOAD_END, VSTORE_END] {
        let (m, reason) = fault_at_label(src, Signal::Segv, "bad");
        assert!(reason.contains("outside memory"), "{reason}");
        assert_eq!(mem8(&m, 0xFFF1), 0);
    }
}
