//! trust: TRUST_CHECK TRUST_UPDATE TRUST_QUERY TRUST_SET TRUST_DECAY
//! TRUST_BOOST TRUST_TRANSFER TRUST_VERIFY TRUST_REVOKE TRUST_LIST TRUST_SCORE
//! TRUST_THRESHOLD TRUST_AUDIT TRUST_RESTORE TRUST_HISTORY TRUST_PENALTY.
use super::*;
use cuda_flux_debugger::vm::FLAG_Z;

programs! {
    SET_QUERY = "
        LOAD_IMM r1, 7
        TRUST_SET r1, 80
        TRUST_QUERY r1
        LOAD_IMM r2, 9
        TRUST_SET r2, 250
        LOAD_IMM r3, 255
        TRUST_SET r3, 1
        HALT
    ";
    CHECKS = "
        LOAD_IMM r1, 7
        TRUST_SET r1, 50
        TRUST_CHECK r2, r1           ; 0.5 >= 0.5
        LOAD_IMM r3, 8
        TRUST_CHECK r4, r3           ; 0.0 < 0.5: fails
        GET_FLAG r9, 0
        TRUST_AUDIT r5
        TRUST_THRESHOLD r6, 0
        TRUST_CHECK r7, r3           ; 0.0 >= 0.0
        TRUST_AUDIT r8
        LOAD_IMM r10, 60
        TRUST_VERIFY r10, r1         ; 0.5 >= 0.6? no
        GET_FLAG r12, 0
        LOAD_IMM r11, 50
        TRUST_VERIFY r11, r1         ; 0.5 >= 0.5
        TRUST_AUDIT r13
        HALT
    ";
    UPDATE = "
        LOAD_IMM r1, 7
        TRUST_SET r1, 50
        LOAD_IMM r2, 100
        LOAD_IMM r3, 75
        TRUST_UPDATE r1, r2, r3      ; 0.5 * 0.75 + 1.0 * 0.25
        HALT
    ";
    DECAY_BOOST = "
        LOAD_IMM r1, 7
        TRUST_SET r1, 80
        LOAD_IMM r2, 25
        TRUST_DECAY r1, r2           ; 0.6
        TRUST_SCORE r4, r1
        LOAD_IMM r2, 30
        TRUST_BOOST r1, r2           ; 0.9
        TRUST_SCORE r5, r1
        TRUST_BOOST r1, r2           ; 1.0 (clamped)
        HALT
    ";
    TRANSFER = "
        LOAD_IMM r2, 7
        TRUST_SET r2, 80
        LOAD_IMM r1, 9
        LOAD_IMM r3, 50
        TRUST_TRANSFER r1, r2, r3    ; trust[9] = 0.8 * 0.5
        HALT
    ";
    REVOKE_LIST = "
        LOAD_IMM r1, 7
        TRUST_SET r1, 80
        LOAD_IMM r2, 0
        TRUST_SET r2, 1
        LOAD_IMM r3, 255
        TRUST_SET r3, 100
        TRUST_LIST r4                ; 3
        TRUST_REVOKE r1
        TRUST_LIST r5                ; 2
        HALT
    ";
    SCORE = "LOAD_IMM r1, 7\nTRUST_SET r1, 80\nTRUST_SCORE r2, r1\nLOAD_IMM r3, 4\nTRUST_SCORE r6, r3\nHALT\n";
    THRESHOLD = "TRUST_THRESHOLD r1, 70\nTRUST_THRESHOLD r2, 1000\nHALT\n";
    RESTORE_HISTORY = "
        LOAD_IMM r1, 7
        TRUST_SET r1, 30
        TRUST_SET r1, 60
        TRUST_HISTORY r2, 7          ; 30
        TRUST_RESTORE r1             ; back to 0.3
        TRUST_HISTORY r3, 7          ; 60
        TRUST_SCORE r4, r1
        TRUST_RESTORE r1             ; 0.6 again
        TRUST_HISTORY r5, 8          ; never set: 0
        HALT
    ";
    PENALTY = "
        LOAD_IMM r1, 7
        TRUST_SET r1, 50
        TRUST_PENALTY r1, r2, 20     ; 0.3
        TRUST_PENALTY r1, r3, 200    ; 0.0
        HALT
    ";
    BAD_AGENT_SET = "LOAD_IMM r1, 256\nbad: TRUST_SET r1, 50\n";
    BAD_AGENT_CHECK = "LOAD_IMM r1, -1\nbad: TRUST_CHECK r2, r1\n";
    BAD_AGENT_TRANSFER = "LOAD_IMM r2, 1000\nbad: TRUST_TRANSFER r1, r2, r3\n";
    BAD_AGENT_HISTORY = "bad: TRUST_HISTORY r1, 256\n";
}

#[test]
fn set_and_query_percentages() {
    let m = halted(SET_QUERY);
    assert_eq!(r(&m, 1), 80);
    assert_close(c(&m, 1), 1.0);
    assert_close(m.trust(7), 0.8);
    assert_close(m.trust(9), 1.0); // clamped
    assert_close(m.trust(255), 0.01);
    assert_close(m.trust(1), 0.0); // reset value
    assert_close(m.trust_threshold(), 0.5);
}

#[test]
fn check_verify_and_audit() {
    let m = halted(CHECKS);
    assert_eq!((r(&m, 2), r(&m, 4), r(&m, 9)), (1, 0, 1)); // the failure set Z
    assert_eq!(r(&m, 5), 1);
    assert_eq!(r(&m, 6), 50);
    assert_eq!(r(&m, 7), 1);
    assert_eq!(r(&m, 8), 1);
    assert_eq!((r(&m, 10), r(&m, 12), r(&m, 11)), (0, 1, 1));
    assert_eq!(r(&m, 13), 2);
    assert_close(c(&m, 10), 1.0);
    assert_eq!(flags(&m) & FLAG_Z, 0);
    assert_close(m.trust_threshold(), 0.0);
}

#[test]
fn update_is_a_moving_average() {
    let m = halted(UPDATE);
    assert_close(m.trust(7), 0.625);
}

#[test]
fn decay_and_boost() {
    let m = halted(DECAY_BOOST);
    assert_eq!((r(&m, 4), r(&m, 5)), (60, 90));
    assert_close(m.trust(7), 1.0);
}

#[test]
fn transfer_derives_trust() {
    let m = halted(TRANSFER);
    assert_close(m.trust(9), 0.4);
    assert_close(m.trust(7), 0.8);
}

#[test]
fn revoke_and_list() {
    let m = halted(REVOKE_LIST);
    assert_eq!((r(&m, 4), r(&m, 5)), (3, 2));
    assert_close(m.trust(7), 0.0);
}

#[test]
fn score_carries_the_trust_as_confidence() {
    let m = halted(SCORE);
    assert_eq!(r(&m, 2), 80);
    assert_close(c(&m, 2), 0.8);
    assert_eq!(r(&m, 6), 0);
    assert_close(c(&m, 6), 0.0);
}

#[test]
fn threshold_returns_the_old_one() {
    let m = halted(THRESHOLD);
    assert_eq!((r(&m, 1), r(&m, 2)), (50, 70));
    assert_close(m.trust_threshold(), 1.0);
}

#[test]
fn restore_and_history() {
    let m = halted(RESTORE_HISTORY);
    assert_eq!((r(&m, 2), r(&m, 3), r(&m, 4), r(&m, 5)), (30, 60, 30, 0));
    assert_close(m.trust(7), 0.6);
}

#[test]
fn penalty_lowers_and_reports() {
    let m = halted(PENALTY);
    assert_eq!((r(&m, 2), r(&m, 3)), (30, 0));
    assert_close(m.trust(7), 0.0);
}

#[test]
fn agent_ids_outside_0_255_are_sigill() {
    for src in [BAD_AGENT_SET, BAD_AGENT_CHECK, BAD_AGENT_TRANSFER, BAD_AGENT_HISTORY] {
        let (m, reason) = fault_at_label(src, Signal::Ill, "bad");
        assert!(reason.contains("outside 0-255"), "{reason}");
        assert!((0..256).all(|a| m.trust(a) == 0.0));
    }
}
