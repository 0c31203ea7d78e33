//! instinct: INSTINCT_ACT QRY LEARN FORGET PRUNE BLOOM MERGE FORK EVOLVE SCORE
//! SET GET RESET EXPORT IMPORT PRIME.
use super::*;

programs! {
    LEARN_ACT = "
        LOAD_IMM r1, 10
        LOAD_IMM r2, 500
        LOAD_IMM r3, 80
        INSTINCT_LEARN r1, r2, r3
        MOV r4, r1
        INSTINCT_ACT r4              ; 500 at 0.8
        GET_FLAG r5, 0
        LOAD_IMM r6, 11
        CONF_SET r6, 20
        INSTINCT_ACT r6              ; absent: unchanged, Z
        GET_FLAG r7, 0
        MOV r8, r1
        INSTINCT_QRY r8
        LOAD_IMM r9, 11
        INSTINCT_QRY r9
        GET_FLAG r14, 0
        INSTINCT_GET r10, r1
        INSTINCT_SCORE r11, r1
        INSTINCT_GET r12, r9         ; key 0: absent
        INSTINCT_SCORE r13, r6       ; key 11: absent
        HALT
    ";
    RELEARN_FORGET = "
        LOAD_IMM r1, 10
        LOAD_IMM r2, 500
        LOAD_IMM r3, 80
        INSTINCT_LEARN r1, r2, r3
        LOAD_IMM r2, 7
        LOAD_IMM r3, 300             ; clamped to 1.0
        INSTINCT_LEARN r1, r2, r3    ; replaces
        INSTINCT_GET r4, r1
        INSTINCT_FORGET r1
        MOV r5, r1
        INSTINCT_QRY r5
        LOAD_IMM r6, 99
        INSTINCT_FORGET r6           ; absent: nothing
        INSTINCT_RESET r7            ; nothing left
        HALT
    ";
    PRUNE_WEAK = "
        LOAD_IMM r1, 1
        LOAD_IMM r3, 10
        INSTINCT_LEARN r1, r1, r3
        LOAD_IMM r1, 2
        LOAD_IMM r3, 50
        INSTINCT_LEARN r1, r1, r3
        LOAD_IMM r1, 3
        LOAD_IMM r3, 90
        INSTINCT_LEARN r1, r1, r3
        LOAD_IMM r4, 50
        INSTINCT_PRUNE r4            ; strength < 0.5: key 1
        LOAD_IMM r5, 1
        INSTINCT_QRY r5
        LOAD_IMM r6, 2
        INSTINCT_QRY r6
        INSTINCT_RESET r7
        HALT
    ";
    BLOOM_EVOLVE = "
        LOAD_IMM r1, 1
        LOAD_IMM r3, 50
        INSTINCT_LEARN r1, r1, r3
        LOAD_IMM r2, 30
        INSTINCT_BLOOM r2            ; 0.8
        INSTINCT_SCORE r4, r1
        LOAD_IMM r2, 50
        INSTINCT_EVOLVE r2           ; 0.4
        INSTINCT_SCORE r5, r1
        LOAD_IMM r2, 100
        INSTINCT_BLOOM r2            ; 1.0
        INSTINCT_SCORE r6, r1
        INSTINCT_EVOLVE r2           ; 0.0
        INSTINCT_SCORE r7, r1
        MOV r8, r1
        INSTINCT_QRY r8              ; still there
        HALT
    ";
    MERGE_FORK = "
        LOAD_IMM r1, 1
        LOAD_IMM r2, 100
        LOAD_IMM r3, 30
        INSTINCT_LEARN r1, r2, r3    ; 1: 100 @ 0.3
        LOAD_IMM r4, 2
        LOAD_IMM r2, 200
        LOAD_IMM r3, 70
        INSTINCT_LEARN r4, r2, r3    ; 2: 200 @ 0.7
        LOAD_IMM r5, 3
        INSTINCT_MERGE r5, r1, r4    ; 3: the stronger, 200 @ 0.7
        INSTINCT_GET r6, r5
        LOAD_IMM r2, 400
        LOAD_IMM r3, 70
        LOAD_IMM r7, 4
        INSTINCT_LEARN r7, r2, r3    ; 4: 400 @ 0.7, as strong as 2
        LOAD_IMM r8, 5
        INSTINCT_MERGE r8, r7, r4    ; a tie: the first, 400
        INSTINCT_GET r9, r8
        LOAD_IMM r10, 77             ; absent
        LOAD_IMM r11, 6
        INSTINCT_MERGE r11, r10, r1  ; only the second: 100 @ 0.3
        INSTINCT_GET r12, r11
        LOAD_IMM r13, 78
        LOAD_IMM r14, 7
        INSTINCT_MERGE r14, r10, r13 ; neither: nothing
        LOAD_IMM r15, 20
        INSTINCT_FORK r15, r1        ; 20: 100 @ 0.3
        INSTINCT_FORK r13, r10       ; absent: nothing
        INSTINCT_GET r0, r15
        INSTINCT_RESET r3            ; keys 1 2 3 4 5 6 20
        HALT
    ";
    SET_FROM_REGISTER = "
        LOAD_IMM r1, 33
        CONF_SET r1, 60
        INSTINCT_SET r1, 200
        LOAD_IMM r2, 200
        INSTINCT_GET r3, r2
        HALT
    ";
    EXPORT_IMPORT = "
        LOAD_IMM r1, 5
        LOAD_IMM r2, 55
        LOAD_IMM r3, 25
        INSTINCT_LEARN r1, r2, r3
        LOAD_IMM r4, 0x1000
        INSTINCT_EXPORT r4
        INSTINCT_RESET r5
        LOAD_IMM r6, 150             ; record 1: key 9, value -9, 150% (1.0)
        STORE32 r6, 0x1014
        LOAD_IMM r6, 9
        STORE32 r6, 0x100C
        LOAD_IMM r6, -9
        STORE32 r6, 0x1010
        INSTINCT_IMPORT r4
        INSTINCT_GET r7, r1
        LOAD_IMM r8, 9
        INSTINCT_GET r9, r8
        INSTINCT_RESET r10
        HALT
    ";
    EXPORT_OUTSIDE = "LOAD_IMM r1, 0xFF41\nbad: INSTINCT_EXPORT r1\n";
    IMPORT_OUTSIDE = "LOAD_IMM r1, -192\nbad: INSTINCT_IMPORT r1\n";
    PRIME = "
        LOAD_IMM r1, 5
        LOAD_IMM r2, 55
        LOAD_IMM r3, 25
        INSTINCT_LEARN r1, r2, r3
        LOAD_IMM r4, 90
        INSTINCT_PRIME r1, r4        ; present: strength only
        INSTINCT_GET r5, r1
        LOAD_IMM r6, 6
        INSTINCT_PRIME r6, r4        ; absent: learned with value 0
        LOAD_IMM r8, 6
        CONF_SET r8, 10
        INSTINCT_ACT r8
        HALT
    ";
    FULL_TABLE = "
        LOAD_IMM r1, 16
    l:  MOV r3, r1
        MULI r3, 5
        INSTINCT_LEARN r1, r1, r3    ; key k, value k, 5k%
        LOOP r1, l
        LOAD_IMM r1, 17
        LOAD_IMM r3, 50
        INSTINCT_LEARN r1, r1, r3    ; evicts key 1, the weakest
        LOAD_IMM r4, 1
        INSTINCT_QRY r4
        LOAD_IMM r5, 17
        INSTINCT_QRY r5
        LOAD_IMM r6, 2
        INSTINCT_QRY r6
        INSTINCT_RESET r7
        HALT
    ";
}

#[test]
fn learn_act_query_get_score() {
    let m = halted(LEARN_ACT);
    assert_eq!(r(&m, 4), 500);
    assert_close(c(&m, 4), 0.8);
    assert_eq!(r(&m, 5), 0);
    assert_eq!(r(&m, 6), 11);
    assert_close(c(&m, 6), 0.2);
    assert_eq!(r(&m, 7), 1);
    assert_eq!((r(&m, 8), r(&m, 9), r(&m, 14)), (1, 0, 1));
    assert_eq!(r(&m, 10), 500);
    assert_close(c(&m, 10), 0.8);
    assert_eq!(r(&m, 11), 80);
    assert_eq!(r(&m, 12), 0);
    assert_close(c(&m, 12), 0.0);
    assert_eq!(r(&m, 13), 0);
}

#[test]
fn relearn_replaces_and_forget_frees() {
    let m = halted(RELEARN_FORGET);
    assert_eq!(r(&m, 4), 7);
    assert_close(c(&m, 4), 1.0);
    assert_eq!((r(&m, 5), r(&m, 7)), (0, 0));
}

#[test]
fn prune_frees_the_weak() {
    let m = halted(PRUNE_WEAK);
    assert_eq!(r(&m, 4), 1);
    assert_eq!((r(&m, 5), r(&m, 6), r(&m, 7)), (0, 1, 2));
}

#[test]
fn bloom_strengthens_and_evolve_decays() {
    let m = halted(BLOOM_EVOLVE);
    assert_eq!((r(&m, 4), r(&m, 5), r(&m, 6), r(&m, 7)), (80, 40, 100, 0));
    assert_eq!(r(&m, 8), 1);
}

#[test]
fn merge_and_fork_copy_instincts() {
    let m = halted(MERGE_FORK);
    assert_eq!(r(&m, 6), 200);
    assert_close(c(&m, 6), 0.7);
    assert_eq!(r(&m, 9), 400);
    assert_eq!(r(&m, 12), 100);
    assert_close(c(&m, 12), 0.3);
    assert_eq!(r(&m, 0), 100);
    assert_close(c(&m, 0), 0.3);
    assert_eq!(r(&m, 3), 7);
}

#[test]
fn set_takes_value_and_confidence() {
    let m = halted(SET_FROM_REGISTER);
    assert_eq!(r(&m, 3), 33);
    assert_close(c(&m, 3), 0.6);
}

#[test]
fn export_and_import_records() {
    let m = halted(EXPORT_IMPORT);
    // What EXPORT wrote, before the test's edits: record 0 and an unused record.
    assert_eq!((mem32(&m, 0x1000), mem32(&m, 0x1004), mem32(&m, 0x1008)), (5, 55, 25));
    assert_eq!(mem32(&m, 0x1020), 0xFFFF_FFFF); // record 2: unused
    assert_eq!(mem32(&m, 0x10BC), 0xFFFF_FFFF); // record 15
    assert_eq!(mem32(&m, 0x10C0), 0); // nothing past 192 bytes
    assert_eq!(r(&m, 5), 1);
    assert_eq!(r(&m, 7), 55);
    assert_close(c(&m, 7), 0.25);
    assert_eq!(r(&m, 9), -9);
    assert_close(c(&m, 9), 1.0);
    assert_eq!(r(&m, 10), 2);
    for src in [EXPORT_OUTSIDE, IMPORT_OUTSIDE] {
        let (_, reason) = fault_at_label(src, Signal::Segv, "bad");
        assert!(reason.contains("outside memory"), "{reason}");
    }
}

#[test]
fn prime_sets_or_learns_a_strength() {
    let m = halted(PRIME);
    assert_eq!(r(&m, 5), 55);
    assert_close(c(&m, 5), 0.9);
    assert_eq!(r(&m, 8), 0);
    assert_close(c(&m, 8), 0.9);
}

#[test]
fn a_full_table_evicts_the_weakest() {
    let m = halted(FULL_TABLE);
    assert_eq!((r(&m, 4), r(&m, 5), r(&m, 6), r(&m, 7)), (0, 1, 1, 16));
}
