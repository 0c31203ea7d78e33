//! confidence: CONF_FUSE CONF_CHAIN CONF_SET CONF_THRESH CONF_DECAY CONF_BOOST
//! CONF_MERGE CONF_SPLIT CONF_QUERY CONF_RESET CONF_MIN CONF_MAX CONF_AVG
//! CONF_WEIGHT CONF_NORMALIZE CONF_SNAPSHOT, and confidence propagation.
use super::*;
use cuda_flux_debugger::vm::{FLAG_C, FLAG_O, FLAG_Z};

programs! {
    OP_FUSE = "CONF_FUSE r1, r2\nHALT\n";
    OP_CHAIN = "CONF_CHAIN r1\nHALT\n";
    OP_SET = "CONF_SET r1, 37\nCONF_SET r2, 250\nCONF_SET r3, 0\nCONF_SET r4, 100\nHALT\n";
    OP_THRESH = "CONF_THRESH r1, 50\nHALT\n";
    OP_THRESH_ALL = "CONF_THRESH r1, 500\nHALT\n";
    OP_DECAY = "CONF_DECAY r1, r2\nHALT\n";
    OP_BOOST = "CONF_BOOST r1, r2\nHALT\n";
    OP_MERGE = "CONF_MERGE r3, r1, r2\nHALT\n";
    OP_SPLIT = "CONF_SPLIT r1, r2\nCONF_SPLIT r5, r5\nHALT\n";
    OP_QUERY = "CONF_QUERY r1\nHALT\n";
    OP_RESET = "CONF_RESET r1\nHALT\n";
    OP_MIN = "CONF_MIN r1, 40\nHALT\n";
    OP_MAX = "CONF_MAX r1, 40\nHALT\n";
    OP_AVG = "CONF_AVG r3, r1, r2\nHALT\n";
    OP_WEIGHT = "CONF_WEIGHT r3, r1, 40\nCONF_WEIGHT r4, r1, 255\nHALT\n";
    OP_NORMALIZE = "CONF_NORMALIZE r1, r2\nCONF_NORMALIZE r5, r5\nHALT\n";
    SNAPSHOT = "LOAD_IMM r1, 0x900\nCONF_SNAPSHOT r1\nHALT\n";
    SNAPSHOT_LAST = "LOAD_IMM r1, 0xFFF0\nCONF_SNAPSHOT r1\nHALT\n";
    SNAPSHOT_OUTSIDE = "LOAD_IMM r1, 0xFFF1\nbad: CONF_SNAPSHOT r1\n";
    PIPELINE = "
        LOAD_IMM r1, 10
        CONF_SET r1, 90              ; a sensor reading, 90% sure
        LOAD_IMM r2, 20
        CONF_SET r2, 40
        CADD r3, r1, r2              ; 0.36
        CMUL r4, r3, r3              ; 0.1296
        CNEG r5, r4                  ; copied
        ADDI r5, 1                   ; kept
        STORE r5, r6                 ; into memory: dropped...
        LOAD r7, r6                  ; ...and back at 1.0
        CONF_FUSE r3, r2             ; 1 - 0.64 * 0.6 = 0.616
        CONF_QUERY r3                ; 62
        HALT
    ";
}

/// Runs with confidences c1, c2 (and c0, c5 = 0.6) and values r1, r2; flags C|O.
fn conf(src: &str, c1: f32, c2: f32, r1v: i32, r2v: i32) -> Vm {
    halted_with(src, |g| {
        g.conf[0] = 0.6;
        g.conf[1] = c1;
        g.conf[2] = c2;
        g.conf[5] = 0.6;
        g.r[1] = r1v;
        g.r[2] = r2v;
        g.r[3] = 33;
        g.flags = FLAG_C | FLAG_O;
    })
}

#[test]
fn fuse_combines_independent_evidence() {
    for (a, b, want) in [(0.5, 0.5, 0.75), (0.0, 0.3, 0.3), (1.0, 0.2, 1.0), (0.2, 0.0, 0.2)] {
        let m = conf(OP_FUSE, a, b, 7, 8);
        assert_close(c(&m, 1), want);
        assert_close(c(&m, 2), b);
        assert_eq!((r(&m, 1), flags(&m)), (7, FLAG_C | FLAG_O));
    }
}

#[test]
fn chain_multiplies_by_c0() {
    let m = conf(OP_CHAIN, 0.5, 1.0, 0, 0);
    assert_close(c(&m, 1), 0.3);
    assert_close(c(&m, 0), 0.6);
}

#[test]
fn set_takes_a_percentage_capped_at_100() {
    let m = halted(OP_SET);
    assert_close(c(&m, 1), 0.37);
    assert_close(c(&m, 2), 1.0);
    assert_close(c(&m, 3), 0.0);
    assert_close(c(&m, 4), 1.0);
}

#[test]
fn thresh_tests_and_resets() {
    for (c1, want) in [(0.5, 1), (0.49, 0), (1.0, 1), (0.0, 0)] {
        let m = conf(OP_THRESH, c1, 1.0, 77, 0);
        assert_eq!(r(&m, 1), want, "c1 = {c1}");
        assert_close(c(&m, 1), 1.0);
        assert_eq!(flags(&m), if want == 0 { FLAG_Z } else { 0 });
    }
    // Percentages of 100 and more mean 1.0.
    assert_eq!(r(&conf(OP_THRESH_ALL, 1.0, 1.0, 0, 0), 1), 1);
    assert_eq!(r(&conf(OP_THRESH_ALL, 0.99, 1.0, 0, 0), 1), 0);
}

#[test]
fn decay_and_boost_by_register_percentages() {
    for (r2v, want) in [(25, 0.6), (-5, 0.8), (200, 0.0), (0, 0.8)] {
        let m = conf(OP_DECAY, 0.8, 1.0, 0, r2v);
        assert_close(c(&m, 1), want);
        assert_eq!(r(&m, 2), r2v);
    }
    for (r2v, want) in [(30, 0.8), (80, 1.0), (-10, 0.5)] {
        let m = conf(OP_BOOST, 0.5, 1.0, 0, r2v);
        assert_close(c(&m, 1), want);
        assert_eq!(flags(&m), FLAG_C | FLAG_O);
    }
}

#[test]
fn merge_is_a_confidence_weighted_mean() {
    let cases = [
        (10, 0.75, 20, 0.25, 13, 0.75), // 12.5 rounds away from zero
        (-7, 0.5, 0, 0.5, -4, 0.5),     // -3.5 likewise
        (7, 0.0, 10, 0.0, 8, 0.0),      // no confidence at all: the plain mean, truncated
        (i32::MAX, 1.0, i32::MAX, 1.0, i32::MAX, 1.0),
        (i32::MIN, 0.3, i32::MIN, 0.9, i32::MIN, 0.9),
        (100, 1.0, 0, 0.0, 100, 1.0),
    ];
    for (a, ca, b, cb, want, wc) in cases {
        let m = conf(OP_MERGE, ca, cb, a, b);
        assert_eq!(r(&m, 3), want, "merge {a}@{ca} {b}@{cb}");
        assert_close(c(&m, 3), wc);
    }
}

#[test]
fn split_halves_and_shares() {
    let m = conf(OP_SPLIT, 0.1, 0.8, 5, 6);
    assert_close(c(&m, 1), 0.4);
    assert_close(c(&m, 2), 0.4);
    assert_eq!((r(&m, 1), r(&m, 2)), (5, 6));
    assert_close(c(&m, 5), 0.3); // the same register twice: halved
}

#[test]
fn query_reports_a_rounded_percentage() {
    for (c1, want) in [(0.375, 38), (1.0, 100), (0.0, 0), (0.004, 0), (0.995, 100)] {
        let m = conf(OP_QUERY, c1, 1.0, 0, 0);
        assert_eq!(r(&m, 1), want, "c1 = {c1}");
        assert_close(c(&m, 1), 1.0);
    }
    let m = conf(OP_RESET, 0.25, 1.0, 9, 0);
    assert_close(c(&m, 1), 1.0);
    assert_eq!(r(&m, 1), 9);
}

#[test]
fn min_is_a_floor_and_max_a_ceiling() {
    assert_close(c(&conf(OP_MIN, 0.2, 1.0, 0, 0), 1), 0.4);
    assert_close(c(&conf(OP_MIN, 0.9, 1.0, 0, 0), 1), 0.9);
    assert_close(c(&conf(OP_MAX, 0.9, 1.0, 0, 0), 1), 0.4);
    assert_close(c(&conf(OP_MAX, 0.2, 1.0, 0, 0), 1), 0.2);
}

#[test]
fn avg_averages_values_and_confidences() {
    for (a, b, want) in [(7, 10, 8), (-7, 0, -3), (i32::MAX, i32::MAX, i32::MAX), (i32::MIN, i32::MIN, i32::MIN)] {
        let m = conf(OP_AVG, 0.5, 0.25, a, b);
        assert_eq!(r(&m, 3), want, "avg {a} {b}");
        assert_close(c(&m, 3), 0.375);
    }
}

#[test]
fn weight_scales_by_an_immediate_percentage() {
    let m = conf(OP_WEIGHT, 0.5, 1.0, 0, 0);
    assert_close(c(&m, 3), 0.2);
    assert_close(c(&m, 4), 0.5);
    assert_eq!(r(&m, 3), 33);
}

#[test]
fn normalize_makes_a_pair_sum_to_one() {
    let m = conf(OP_NORMALIZE, 0.3, 0.1, 0, 0);
    assert_close(c(&m, 1), 0.75);
    assert_close(c(&m, 2), 0.25);
    assert_close(c(&m, 5), 0.6); // the same register twice: unchanged
    let m = conf(OP_NORMALIZE, 0.0, 0.0, 0, 0);
    assert_close(c(&m, 1), 0.0);
    assert_close(c(&m, 2), 0.0);
}

#[test]
fn snapshot_writes_sixteen_percentages() {
    let m = halted_with(SNAPSHOT, |g| {
        for k in 0..16 {
            g.conf[k] = k as f32 / 16.0;
        }
    });
    let mut b = [0u8; 17];
    m.read_mem(0x900, &mut b).unwrap();
    let want: Vec<u8> = (0..16).map(|k| if k == 1 { 100 } else { (k as f32 / 16.0 * 100.0).round() as u8 }).collect();
    assert_eq!(&b[..16], &want[..]);
    assert_eq!(b[16], 0);
    assert_eq!(b[3], 19); // 18.75 rounds up
    let m = halted(SNAPSHOT_LAST);
    assert_eq!(mem8(&m, 0xFFFF), 100);
    let (m, reason) = fault_at_label(SNAPSHOT_OUTSIDE, Signal::Segv, "bad");
    assert!(reason.contains("outside memory"), "{reason}");
    assert_eq!(mem8(&m, 0xFFF1), 0);
}

#[test]
fn confidence_propagates_through_a_computation() {
    let m = halted_with(PIPELINE, |g| g.r[6] = 0x900);
    assert_eq!(r(&m, 3), 62);
    assert_close(c(&m, 4), 0.1296);
    assert_eq!(r(&m, 4), 900);
    assert_close(c(&m, 5), 0.1296);
    assert_eq!(r(&m, 5), -899);
    assert_eq!(r(&m, 7), -899);
    assert_close(c(&m, 7), 1.0);
}
