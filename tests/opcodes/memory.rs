//! memory: LOAD8..STORE32, LEA, CMPXCHG, XCHG, PUSH_MEM, POP_MEM, LOADR,
//! STORER, MEMCPY, MEMSET, MEMCMP, ALLOCA, FREEA, LOAD_IND, STORE_IND,
//! LOAD_OFF, STORE_OFF, MOVZX, MOVSX, SWAP, PUSH_ALL, POP_ALL, LOAD_IMM,
//! STORE_IMM, FENCE, TLB_INV, CACHE_FLUSH.
use super::*;
use cuda_flux_debugger::vm::{FLAG_C, FLAG_S, FLAG_Z};

programs! {
    WIDTHS = "
        LOAD_IMM r1, 0x80FF7F01
        STORE32 r1, 0x300
        LOAD8 r2, 0x301
        LOAD8 r3, 0x302
        LOAD16 r4, 0x302
        LOAD32 r5, 0x300
        STORE8 r1, 0x310
        STORE16 r1, 0x320
        LOAD8 r6, 0xFFFF
        LOAD32 r7, 0xFFFC
        HALT
    ";
    LOAD16_END = "bad: LOAD16 r1, 0xFFFF\n";
    LOAD32_END = "bad: LOAD32 r1, 0xFFFD\n";
    STORE16_END = "bad: STORE16 r1, 0xFFFF\n";
    STORE32_END = "bad: STORE32 r1, 0xFFFD\n";
    LEA_ADDR = "CONF_SET r1, 5\nLEA r1, 0xFFFF\nHALT\n";
    CMPXCHG_BOTH = "
        LOAD_IMM r1, 0x400
        LOAD_IMM r2, 5
        STORE r2, r1
        LOAD_IMM r3, 5
        CONF_SET r3, 50
        LOAD_IMM r4, 9
        CMP_I16 r2, 6                ; S and C
        CMPXCHG r3, r1, r4           ; equal: store 9, Z
        GET_FLAG r5, 0
        GET_FLAG r8, 2
        LOAD_IMM r6, 5
        CONF_SET r6, 50
        CMPXCHG r6, r1, r4           ; 9 != 5: r6 = 9, Z cleared
        GET_FLAG r7, 0
        HALT
    ";
    CMPXCHG_OUTSIDE = "LOAD_IMM r1, 0xFFFE\nbad: CMPXCHG r3, r1, r4\n";
    XCHG_SWAPS = "
        LOAD_IMM r1, 0x400
        LOAD_IMM r3, 0x11111111
        STORE r3, r1
        LOAD_IMM r2, 0x22
        CONF_SET r2, 10
        XCHG r2, r1
        HALT
    ";
    XCHG_OUTSIDE = "LOAD_IMM r1, -1\nLOAD_IMM r2, 3\nbad: XCHG r2, r1\n";
    PUSH_POP_MEM = "
        LOAD_IMM r1, -4
        LOAD_IMM r2, 0xCAFE
        STORE32 r2, 0x500
        PUSH_MEM r1, 0x504           ; base + r1 wraps to 0x500
        PEEK r3
        LOAD_IMM r1, 8
        POP_MEM r1, 0x600            ; to 0x608
        HALT
    ";
    POP_MEM_EMPTY = "bad: POP_MEM r1, 0x600\n";
    POP_MEM_OUTSIDE = "PUSH 1\nLOAD_IMM r1, 0xFFFF\nbad: POP_MEM r1, 0\n";
    PUSH_MEM_OUTSIDE = "LOAD_IMM r1, 0xFFFD\nbad: PUSH_MEM r1, 0\n";
    LOADR_STORER = "
        LOAD_IMM r1, 0x700
        LOAD_IMM r2, 0x10
        LOAD_IMM r3, 77
        STORER r3, r1, r2
        CONF_SET r4, 1
        LOADR r4, r1, r2
        LOAD_IMM r5, -0x10
        LOADR r6, r1, r5             ; 0x700 - 0x10
        HALT
    ";
    LOADR_OUTSIDE = "LOAD_IMM r1, 0xFFF0\nLOAD_IMM r2, 0xE\nbad: LOADR r3, r1, r2\n";
    STORER_OUTSIDE = "LOAD_IMM r1, 0x10000\nbad: STORER r3, r1, r2\n";
    BLOCKS = "
        LOAD_IMM r1, 0x04030201
        STORE32 r1, 0x800
        LOAD_IMM r1, 0x08070605
        STORE32 r1, 0x804
        LOAD_IMM r2, 8
        MEMCPY r2, 0x08000900        ; 8 bytes 0x800 -> 0x900
        LOAD_IMM r3, 6
        MEMSET r3, 0x00AA0A00        ; 6 bytes of 0xAA at 0xA00
        LOAD_IMM r4, 8
        MEMCMP r4, 0x09000800
        HALT
    ";
    MEMCPY_OVERLAP = "
        LOAD_IMM r1, 0x04030201
        STORE32 r1, 0x800
        LOAD_IMM r1, 0x08070605
        STORE32 r1, 0x804
        LOAD_IMM r2, 8
        MEMCPY r2, 0x08000802        ; forward overlap
        LOAD_IMM r2, 4
        MEMCPY r2, 0x08050804        ; backward overlap
        HALT
    ";
    MEMCMP_ORDER = "
        LOAD_IMM r1, 0x00030201
        STORE32 r1, 0x800
        LOAD_IMM r1, 0x00040201
        STORE32 r1, 0x900
        LOAD_IMM r1, 0x80
        STORE32 r1, 0xA00
        LOAD_IMM r1, 0x01
        STORE32 r1, 0xA04
        LOAD_IMM r2, 3
        MEMCMP r2, 0x09000800        ; 01 02 03 < 01 02 04
        LOAD_IMM r3, 3
        MEMCMP r3, 0x08000900        ; greater
        LOAD_IMM r4, 1
        MEMCMP r4, 0x0A040A00        ; 0x80 > 0x01: bytes are unsigned
        MOV r7, r4
        GET_FLAG r8, 1
        LOAD_IMM r5, 0
        MEMCMP r5, 0x09000800        ; no bytes: equal
        HALT
    ";
    MEMCPY_OUTSIDE = "LOAD_IMM r1, 0x10\nbad: MEMCPY r1, 0x0000FFF8\n";
    MEMCPY_NEGATIVE = "LOAD_IMM r1, -1\nbad: MEMCPY r1, 0x01000200\n";
    MEMSET_OUTSIDE = "LOAD_IMM r1, 2\nbad: MEMSET r1, 0x00FFFFFF\n";
    MEMCMP_OUTSIDE = "LOAD_IMM r1, 0x20\nbad: MEMCMP r1, 0xFFF00000\n";
    MEMSET_DEAR = "LOAD_IMM r1, 0x1000\nbad: MEMSET r1, 0x00770100\nHALT\n";
    ALLOCA_FREEA = "
        ALLOCA r1, 10                ; 12 bytes
        PEEK r0
        ALLOCA r2, 0                 ; nothing
        LOAD_IMM r3, 6
        FREEA r3                     ; 8 bytes
        HALT
    ";
    ALLOCA_TOO_BIG = "ALLOCA r1, 0x3FF0\nbad: ALLOCA r2, 0x11\n";
    ALLOCA_ALL = "ALLOCA r1, 0x4000\nHALT\n";
    FREEA_UNDERFLOW = "ALLOCA r1, 4\nLOAD_IMM r2, 5\nbad: FREEA r2\n";
    FREEA_HUGE = "LOAD_IMM r2, 0x10004\nbad: FREEA r2\n";
    INDIRECT = "
        LOAD_IMM r4, 0xB10
        STORE32 r4, 0xB00            ; pointer at 0xB00 -> 0xB10
        LOAD_IMM r4, 1234
        STORE32 r4, 0xB10
        LOAD_IMM r1, 0xB00
        LOAD_IND r2, r1
        LOAD_IMM r3, 99
        STORE_IND r3, r1
        LOAD32 r5, 0xB10
        HALT
    ";
    INDIRECT_BAD_POINTER = "
        LOAD_IMM r4, -16
        STORE32 r4, 0xB04
        LOAD_IMM r1, 0xB04
        bad: LOAD_IND r2, r1
    ";
    STORE_IND_BAD_POINTER = "
        LOAD_IMM r4, 0xFFFE
        STORE32 r4, 0xB04
        LOAD_IMM r1, 0xB04
        bad: STORE_IND r2, r1
    ";
    OFFSETS = "
        LOAD_IMM r1, 0xD00
        LOAD_IMM r2, 0x5555
        STORE_OFF r2, r1, -4         ; 0xCFC
        LOAD_OFF r3, r1, -4
        LOAD_IMM r2, 0x7777
        STORE_OFF r2, r1, 127        ; 0xD7F
        LOAD_OFF r4, r1, 0x7F
        LOAD32 r5, 0xCFC
        LOAD32 r6, 0xD7F
        HALT
    ";
    OFFSET_OUTSIDE = "LOAD_IMM r1, 2\nbad: LOAD_OFF r3, r1, -4\n";
    STORE_OFF_OUTSIDE = "LOAD_IMM r1, 0xFFF0\nbad: STORE_OFF r3, r1, 0x0D\n";
    EXTEND = "
        LOAD_IMM r1, 0x123456F0
        CONF_SET r1, 50
        MOVZX r2, r1
        MOVSX r3, r1
        LOAD_IMM r4, 0x17F
        MOVSX r5, r4
        MOVZX r6, r4
        HALT
    ";
    SWAP_REGS = "
        LOAD_IMM r1, 1
        CONF_SET r1, 50
        LOAD_IMM r2, 2
        CONF_SET r2, 25
        SWAP r1, r2
        SWAP r3, r3
        HALT
    ";
    ALL_REGS = "
        PUSH_ALL
        CONF_SET r2, 30
        LOAD_IMM r3, -1
        LOAD_IMM r15, 0
        POP_ALL
        HALT
    ";
    PUSH_ALL_FULL = "ALLOCA r1, 0x3FC4\nbad: PUSH_ALL\n";
    POP_ALL_SHORT = "ALLOCA r1, 60\nbad: POP_ALL\n";
    IMMEDIATES = "
        CONF_SET r1, 20
        LOAD_IMM r1, -123456789
        LOAD_IMM r2, 0xFFFFFFFF
        STORE_IMM 0xBEEF0D10         ; mem16[0x0D10] = 0xBEEF
        LOAD32 r3, 0xD10
        HALT
    ";
    STORE_IMM_END = "bad: STORE_IMM 0x1234FFFF\n";
    BARRIERS = "
        LOAD_IMM r1, 7
        CMP_I16 r1, 9
        FENCE
        TLB_INV
        CACHE_FLUSH
        HALT
    ";
}

const TOP: u32 = 0x10000;
const E0: i64 = 1_000_000_000;

#[test]
fn loads_and_stores_of_each_width() {
    let m = halted_with(WIDTHS, |g| {
        for k in 2..8 {
            g.conf[k] = 0.5;
        }
    });
    assert_eq!(mem32(&m, 0x300), 0x80FF7F01);
    assert_eq!(r(&m, 2), 0x7F);
    assert_eq!(r(&m, 3), 0xFF); // zero-extended
    assert_eq!(r(&m, 4), 0x80FF); // zero-extended
    assert_eq!(u(&m, 5), 0x80FF7F01);
    for k in 2..8 {
        assert_close(c(&m, k), 1.0);
    }
    assert_eq!(mem32(&m, 0x310), 0x01);
    assert_eq!(mem32(&m, 0x320), 0x7F01);
    assert_eq!((r(&m, 6), r(&m, 7)), (0, 0)); // the last byte and word of memory
}

#[test]
fn accesses_past_the_end_fault() {
    for src in [LOAD16_END, LOAD32_END, STORE16_END, STORE32_END] {
        let (m, reason) = fault_at(src, Signal::Segv, 0);
        assert!(reason.contains("outside memory"), "{reason}");
        assert_eq!(mem32(&m, 0xFFFC), 0);
        assert_eq!(r(&m, 1), 0);
    }
}

#[test]
fn lea_zero_extends() {
    let m = halted(LEA_ADDR);
    assert_eq!(r(&m, 1), 0xFFFF);
    assert_close(c(&m, 1), 1.0);
}

#[test]
fn cmpxchg_succeeds_then_fails() {
    let m = halted(CMPXCHG_BOTH);
    assert_eq!(mem32(&m, 0x400), 9);
    assert_eq!((r(&m, 5), r(&m, 8)), (1, 1)); // Z set, C kept
    assert_eq!(r(&m, 3), 5);
    assert_close(c(&m, 3), 0.5); // untouched on success
    assert_eq!(r(&m, 6), 9); // the current value on failure...
    assert_close(c(&m, 6), 1.0); // ...loaded from memory
    assert_eq!(r(&m, 7), 0);
    assert_eq!(flags(&m), FLAG_S | FLAG_C);
    fault_at_label(CMPXCHG_OUTSIDE, Signal::Segv, "bad");
}

#[test]
fn xchg_swaps_register_and_memory() {
    let m = halted(XCHG_SWAPS);
    assert_eq!(r(&m, 2), 0x11111111);
    assert_close(c(&m, 2), 1.0);
    assert_eq!(mem32(&m, 0x400), 0x22);
    let (m, _) = fault_at_label(XCHG_OUTSIDE, Signal::Segv, "bad");
    assert_eq!(r(&m, 2), 3);
}

#[test]
fn push_mem_and_pop_mem() {
    let m = halted(PUSH_POP_MEM);
    assert_eq!(r(&m, 3), 0xCAFE);
    assert_eq!(mem32(&m, 0x608), 0xCAFE);
    assert_eq!(regs(&m).sp, TOP);
    let (m, reason) = fault_at_label(POP_MEM_EMPTY, Signal::Segv, "bad");
    assert!(reason.contains("underflow"), "{reason}");
    assert_eq!(regs(&m).sp, TOP);
    let (m, reason) = fault_at_label(POP_MEM_OUTSIDE, Signal::Segv, "bad");
    assert!(reason.contains("outside memory"), "{reason}");
    assert_eq!(regs(&m).sp, TOP - 4); // nothing popped
    let (m, _) = fault_at_label(PUSH_MEM_OUTSIDE, Signal::Segv, "bad");
    assert_eq!(regs(&m).sp, TOP);
}

#[test]
fn register_indexed_loads_and_stores() {
    let m = halted(LOADR_STORER);
    assert_eq!(mem32(&m, 0x710), 77);
    assert_eq!(r(&m, 4), 77);
    assert_close(c(&m, 4), 1.0);
    assert_eq!(r(&m, 6), mem32(&m, 0x6F0) as i32);
    fault_at_label(LOADR_OUTSIDE, Signal::Segv, "bad");
    fault_at_label(STORER_OUTSIDE, Signal::Segv, "bad");
}

#[test]
fn memcpy_memset_memcmp() {
    let m = halted(BLOCKS);
    assert_eq!((mem32(&m, 0x900), mem32(&m, 0x904)), (0x04030201, 0x08070605));
    assert_eq!((mem32(&m, 0xA00), mem32(&m, 0xA04)), (0xAAAAAAAA, 0x0000AAAA));
    assert_eq!(r(&m, 4), 0);
    assert_close(c(&m, 4), 1.0);
    assert_eq!(flags(&m), FLAG_Z);
    // base 2 each, plus 8/4, 6/4 and 8/4 extra.
    assert_eq!(regs(&m).energy, E0 - 19);
    assert_eq!(regs(&m).cycles, 11);
}

#[test]
fn memcpy_handles_overlap() {
    let m = halted(MEMCPY_OVERLAP);
    // 0x802.. = 01..08 (memmove); then 0x804.. = the 4 bytes that were at 0x805.
    let mut b = [0u8; 10];
    m.read_mem(0x800, &mut b).unwrap();
    assert_eq!(b, [1, 2, 1, 2, 4, 5, 6, 7, 7, 8]);
}

#[test]
fn memcmp_orders_unsigned_bytes() {
    let m = halted(MEMCMP_ORDER);
    assert_eq!((r(&m, 2), r(&m, 3), r(&m, 7), r(&m, 5)), (-1, 1, 1, 0));
    assert_eq!(r(&m, 8), 0); // S clear after a result of 1
    assert_eq!(flags(&m), FLAG_Z); // the empty compare
}

#[test]
fn block_ops_outside_memory_fault() {
    for src in [MEMCPY_OUTSIDE, MEMCPY_NEGATIVE, MEMSET_OUTSIDE, MEMCMP_OUTSIDE] {
        let (m, reason) = fault_at_label(src, Signal::Segv, "bad");
        assert!(reason.contains("outside memory"), "{reason}");
        assert_eq!(regs(&m).energy, E0 - 1); // only the LOAD_IMM paid
    }
    let (m, _) = fault_at_label(MEMCPY_OUTSIDE, Signal::Segv, "bad");
    assert_eq!(mem32(&m, 0xFFFC), 0);
}

#[test]
fn block_op_extra_cost_can_exhaust_energy() {
    // MEMSET of 0x1000 bytes costs 2 + 1024; with 1000 left after LOAD_IMM it cannot run.
    let mut m = vm_with(MEMSET_DEAR, VmConfig { energy: 1001, seed: 0 });
    let stop = m.run(u64::MAX);
    let reason = expect_fault(&stop, Signal::Xcpu, label(MEMSET_DEAR, "bad"));
    assert!(reason.contains("energy exhausted"), "{reason}");
    assert_eq!(regs(&m).energy, 1000);
    assert_eq!(mem8(&m, 0x100), 0); // nothing written
    // With 1 + 2 + 1024 + 1 it runs to the HALT with nothing left.
    let mut m = vm_with(MEMSET_DEAR, VmConfig { energy: 1028, seed: 0 });
    assert_eq!(m.run(u64::MAX).kind, StopKind::Halted { code: 0 });
    assert_eq!(regs(&m).energy, 0);
    assert_eq!((mem32(&m, 0x100), mem32(&m, 0x10FC), mem8(&m, 0x1100)), (0x77777777, 0x77777777, 0));
}

#[test]
fn alloca_and_freea_move_sp_and_fp() {
    let m = halted(ALLOCA_FREEA);
    let g = regs(&m);
    assert_eq!(r(&m, 1), 0xFFF4);
    assert_eq!(r(&m, 2), 0xFFF4); // ALLOCA 0 moves nothing
    assert_eq!((g.sp, g.fp), (0xFFFC, 0xFFFC));
    let m = halted(ALLOCA_ALL);
    assert_eq!((regs(&m).sp, r(&m, 1)), (0xC000, 0xC000));
    let (m, reason) = fault_at_label(ALLOCA_TOO_BIG, Signal::Segv, "bad");
    assert!(reason.contains("overflow"), "{reason}");
    assert_eq!(regs(&m).sp, 0xC010);
    let (m, reason) = fault_at_label(FREEA_UNDERFLOW, Signal::Segv, "bad");
    assert!(reason.contains("underflow"), "{reason}");
    assert_eq!(regs(&m).sp, 0xFFFC);
    let (m, _) = fault_at_label(FREEA_HUGE, Signal::Segv, "bad");
    assert_eq!(regs(&m).sp, TOP);
}

#[test]
fn indirect_loads_and_stores() {
    let m = halted(INDIRECT);
    assert_eq!((r(&m, 2), r(&m, 5)), (1234, 99));
    assert_close(c(&m, 2), 1.0);
    let (m, _) = fault_at_label(INDIRECT_BAD_POINTER, Signal::Segv, "bad");
    assert_eq!(r(&m, 2), 0);
    fault_at_label(STORE_IND_BAD_POINTER, Signal::Segv, "bad");
}

#[test]
fn offsets_are_signed_bytes() {
    let m = halted(OFFSETS);
    assert_eq!((r(&m, 3), r(&m, 5)), (0x5555, 0x5555));
    assert_eq!((r(&m, 4), r(&m, 6)), (0x7777, 0x7777));
    fault_at_label(OFFSET_OUTSIDE, Signal::Segv, "bad");
    fault_at_label(STORE_OFF_OUTSIDE, Signal::Segv, "bad");
}

#[test]
fn movzx_movsx_and_swap() {
    let m = halted(EXTEND);
    assert_eq!((r(&m, 2), r(&m, 3)), (0xF0, -16));
    assert_close(c(&m, 2), 0.5);
    assert_close(c(&m, 3), 0.5);
    assert_eq!((r(&m, 5), r(&m, 6)), (0x7F, 0x7F));
    let m = halted(SWAP_REGS);
    assert_eq!((r(&m, 1), r(&m, 2)), (2, 1));
    assert_close(c(&m, 1), 0.25);
    assert_close(c(&m, 2), 0.5);
}

#[test]
fn push_all_and_pop_all() {
    let m = halted_with(ALL_REGS, |g| {
        for k in 0..16 {
            g.r[k] = 100 + k as i32;
            g.conf[k] = 0.5;
        }
    });
    for k in 0..16u32 {
        assert_eq!(mem32(&m, TOP - 4 - 4 * k), 100 + k, "slot of r{k}");
        assert_eq!(r(&m, k as usize), 100 + k as i32);
        assert_close(c(&m, k as usize), 1.0);
    }
    assert_eq!(regs(&m).sp, TOP);
    assert_eq!(regs(&m).energy, E0 - 4 - 3 - 4 - 1);
    let (m, reason) = fault_at_label(PUSH_ALL_FULL, Signal::Segv, "bad");
    assert!(reason.contains("overflow"), "{reason}");
    assert_eq!(regs(&m).sp, 0xC03C);
    assert_eq!(mem32(&m, 0xC038), 0);
    let (m, reason) = fault_at_label(POP_ALL_SHORT, Signal::Segv, "bad");
    assert!(reason.contains("underflow"), "{reason}");
    assert_eq!(regs(&m).sp, TOP - 60);
}

#[test]
fn load_imm_and_store_imm() {
    let m = halted(IMMEDIATES);
    assert_eq!((r(&m, 1), r(&m, 2)), (-123456789, -1));
    assert_close(c(&m, 1), 1.0);
    assert_eq!(r(&m, 3), 0xBEEF); // a 16-bit store
    let (m, _) = fault_at(STORE_IMM_END, Signal::Segv, 0);
    assert_eq!(mem8(&m, 0xFFFF), 0);
}

#[test]
fn fence_tlb_inv_and_cache_flush_do_nothing() {
    let m = halted(BARRIERS);
    let g = regs(&m);
    assert_eq!((g.r[1], g.flags, g.sp, g.cycles, g.energy), (7, FLAG_S | FLAG_C, TOP, 6, E0 - 6));
    assert_eq!(g.pc, 6 + 4 + 3); // on the HALT
}
