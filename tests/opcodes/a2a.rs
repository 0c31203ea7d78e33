//! a2a with one agent (agent 1): TELL ASK DELEGATE BROADCAST REDUCE GOSSIP
//! PROPOSE VOTE CONSENSUS NEGOTIATE MEDIATE PUBLISH SUBSCRIBE UNSUBSCRIBE RELAY
//! ROUTE.
use super::*;
use cuda_flux_debugger::vm::FLAG_Z;

programs! {
    TELL_ASK = "
        LOAD_IMM r1, 1
        LOAD_IMM r2, 42
        CONF_SET r2, 70
        TELL r1, r2
        LOAD_IMM r3, 43
        DELEGATE r1, r3
        LOAD_IMM r0, 0
        ASK r4, r0                   ; from anyone: the oldest
        ASK r5, r1                   ; from agent 1
        HALT
    ";
    TELL_NOBODY = "LOAD_IMM r1, 2\nbad: TELL r1, r2\n";
    DELEGATE_NOBODY = "bad: DELEGATE r0, r2\n";
    ASK_EMPTY = "bad: ASK r1, r0\n";
    ASK_OTHER = "LOAD_IMM r1, 1\nTELL r1, r1\nLOAD_IMM r2, 2\nbad: ASK r3, r2\n";
    MAILBOX_FULL = "
        LOAD_IMM r1, 1
        LOAD_IMM r2, 16
    l:  TELL r1, r2
        LOOP r2, l
    bad: TELL r1, r2
    ";
    BROADCAST_NOBODY = "LOAD_IMM r0, 5\nCONF_SET r0, 10\nBROADCAST 0x1234\nHALT\n";
    REDUCE_ALL = "
        LOAD_IMM r1, 1
        LOAD_IMM r2, 5
        CONF_SET r2, 90
        TELL r1, r2
        LOAD_IMM r2, 3
        CONF_SET r2, 50
        TELL r1, r2
        LOAD_IMM r2, 9
        TELL r1, r2
        LOAD_IMM r3, 0
        REDUCE r4, r3                ; sum
        REDUCE r5, r3                ; empty: 0
        LOAD_IMM r2, -4
        TELL r1, r2
        LOAD_IMM r2, 8
        TELL r1, r2
        LOAD_IMM r3, 1
        REDUCE r6, r3                ; min
        TELL r1, r2
        LOAD_IMM r2, -4
        TELL r1, r2
        LOAD_IMM r3, 2
        REDUCE r7, r3                ; max
        LOAD_IMM r2, 0x7FFFFFFF
        TELL r1, r2
        TELL r1, r2
        LOAD_IMM r3, 0
        REDUCE r8, r3                ; saturated sum
        HALT
    ";
    REDUCE_BAD = "LOAD_IMM r1, 3\nbad: REDUCE r2, r1\n";
    GOSSIP_TRUST = "
        LOAD_IMM r1, 1
        LOAD_IMM r2, 11
        CONF_SET r2, 80
        GOSSIP r1, r2                ; trust[1] = 0: confidence 0
        TRUST_SET r1, 50
        GOSSIP r1, r2                ; 0.8 * 0.5
        ASK r3, r1
        ASK r4, r1
        HALT
    ";
    GOSSIP_NOBODY = "LOAD_IMM r1, 3\nbad: GOSSIP r1, r2\n";
    VOTING = "
        LOAD_IMM r1, 99
        LOAD_IMM r2, 2
        PROPOSE r3, r1, r2           ; id 0, quorum 2
        LOAD_IMM r9, 1
        VOTE r3, r9
        MOV r4, r3
        CONSENSUS r4                 ; 1 yes: not yet
        GET_FLAG r5, 0
        LOAD_IMM r8, 0
        VOTE r3, r8                  ; a no vote
        VOTE r3, r9
        MOV r6, r3
        CONSENSUS r6                 ; 2 yes: 99, closes id 0
        LOAD_IMM r10, -5
        PROPOSE r7, r10, r8          ; quorum 0 means 1; id 0 is free again
        PROPOSE r11, r10, r8         ; id 1
        VOTE r7, r9
        MOV r12, r7
        CONSENSUS r12
        HALT
    ";
    VOTE_CLOSED = "
        LOAD_IMM r1, 1
        PROPOSE r3, r1, r1
        VOTE r3, r1
        MOV r4, r3
        CONSENSUS r4
    bad: VOTE r3, r1
    ";
    CONSENSUS_NONE = "LOAD_IMM r1, 16\nbad: CONSENSUS r1\n";
    TOO_MANY_PROPOSALS = "
        LOAD_IMM r1, 16
    l:  PROPOSE r2, r1, r1
        LOOP r1, l
    bad: PROPOSE r2, r1, r1
    ";
    OP_NEGOTIATE = "NEGOTIATE r3, r1, r2\nHALT\n";
    OP_MEDIATE = "MEDIATE r1, r2\nHALT\n";
    TOPICS = "
        LOAD_IMM r1, 1
        SUBSCRIBE r1, 3
        LOAD_IMM r0, 3
        LOAD_IMM r2, 77
        CONF_SET r2, 40
        PUBLISH r2                   ; delivered
        LOAD_IMM r0, 4
        PUBLISH r2                   ; not subscribed
        LOAD_IMM r0, 99
        PUBLISH r2                   ; no such topic: dropped
        LOAD_IMM r0, 15
        SUBSCRIBE r1, 15
        LOAD_IMM r2, 5
        PUBLISH r2                   ; delivered
        UNSUBSCRIBE r1, 15
        PUBLISH r2                   ; dropped
        LOAD_IMM r3, 0
        REDUCE r4, r3                ; 77 + 5
        HALT
    ";
    SUBSCRIBE_BAD_TOPIC = "LOAD_IMM r1, 1\nbad: SUBSCRIBE r1, 16\n";
    UNSUBSCRIBE_NOBODY = "LOAD_IMM r1, 2\nbad: UNSUBSCRIBE r1, 1\n";
    RELAYING = "
        LOAD_IMM r1, 1
        LOAD_IMM r2, 5
        CONF_SET r2, 60
        TELL r1, r2
        LOAD_IMM r2, 6
        TELL r1, r2
        RELAY r3, r1, r0             ; takes 5, sends it again
        ASK r4, r0
        ASK r5, r0
        HALT
    ";
    RELAY_EMPTY = "LOAD_IMM r1, 1\nbad: RELAY r3, r1, r0\n";
    RELAY_NOBODY = "LOAD_IMM r1, 1\nTELL r1, r1\nLOAD_IMM r2, 9\nbad: RELAY r3, r2, r0\n";
    ROUTING = "
        LOAD_IMM r1, 5
        ROUTE r1, 1                  ; agent 5 is reached through agent 1
        LOAD_IMM r2, 12
        TELL r1, r2
        ASK r3, r0
        LOAD_IMM r6, 1
        ROUTE r6, 2                  ; and agent 1 through agent 2, which is not running
    bad: TELL r6, r2
    ";
    ROUTE_BAD_VIA = "LOAD_IMM r1, 5\nbad: ROUTE r1, 256\n";
    ROUTE_BAD_AGENT = "LOAD_IMM r1, 300\nbad: ROUTE r1, 1\n";
}

#[test]
fn tell_delegate_and_ask_use_the_own_mailbox() {
    let m = halted(TELL_ASK);
    assert_eq!(r(&m, 4), 42);
    assert_close(c(&m, 4), 0.7);
    assert_eq!(r(&m, 5), 43);
    assert_close(c(&m, 5), 1.0);
}

#[test]
fn sending_to_an_agent_that_is_not_running_is_sigill() {
    for (src, id) in [(TELL_NOBODY, 2), (DELEGATE_NOBODY, 0), (GOSSIP_NOBODY, 3)] {
        let (_, reason) = fault_at_label(src, Signal::Ill, "bad");
        assert!(reason.contains(&format!("no agent {id}")), "{reason}");
    }
}

#[test]
fn ask_with_nothing_to_receive_is_a_deadlock() {
    let (_, reason) = fault_at_label(ASK_EMPTY, Signal::Abrt, "bad");
    assert!(reason.contains("deadlock") && reason.contains("from anyone"), "{reason}");
    let (m, reason) = fault_at_label(ASK_OTHER, Signal::Abrt, "bad");
    assert!(reason.contains("deadlock") && reason.contains("from agent 2"), "{reason}");
    assert_eq!(r(&m, 3), 0);
}

#[test]
fn a_full_mailbox_is_a_deadlock() {
    let (m, reason) = fault_at_label(MAILBOX_FULL, Signal::Abrt, "bad");
    assert!(reason.contains("deadlock") && reason.contains("full mailbox"), "{reason}");
    assert_eq!(regs(&m).cycles, 2 + 16 * 2);
}

#[test]
fn broadcast_reaches_nobody() {
    let m = halted(BROADCAST_NOBODY);
    assert_eq!(r(&m, 0), 0);
    assert_close(c(&m, 0), 1.0);
}

#[test]
fn reduce_drains_the_mailbox() {
    let m = halted(REDUCE_ALL);
    assert_eq!(r(&m, 4), 17);
    assert_close(c(&m, 4), 0.5); // the least sure message
    assert_eq!(r(&m, 5), 0);
    assert_close(c(&m, 5), 1.0);
    assert_eq!((r(&m, 6), r(&m, 7)), (-4, 8));
    assert_eq!(r(&m, 8), i32::MAX);
    let (_, reason) = fault_at_label(REDUCE_BAD, Signal::Ill, "bad");
    assert!(reason.contains("no reduction"), "{reason}");
}

#[test]
fn gossip_is_discounted_by_trust() {
    let m = halted(GOSSIP_TRUST);
    assert_eq!((r(&m, 3), r(&m, 4)), (11, 11));
    assert_close(c(&m, 3), 0.0);
    assert_close(c(&m, 4), 0.4);
}

#[test]
fn propose_vote_consensus() {
    let m = halted(VOTING);
    assert_eq!(r(&m, 3), 0);
    assert_eq!(r(&m, 4), 0);
    assert_close(c(&m, 4), 0.0);
    assert_eq!(r(&m, 5), 1); // Z: no consensus yet
    assert_eq!(r(&m, 6), 99);
    assert_close(c(&m, 6), 1.0);
    assert_eq!((r(&m, 7), r(&m, 11)), (0, 1));
    assert_eq!(r(&m, 12), -5); // quorum 1 reached by one vote
    assert_eq!(flags(&m) & FLAG_Z, 0);
    let (_, reason) = fault_at_label(VOTE_CLOSED, Signal::Ill, "bad");
    assert!(reason.contains("no open proposal 0"), "{reason}");
    let (_, reason) = fault_at_label(CONSENSUS_NONE, Signal::Ill, "bad");
    assert!(reason.contains("no open proposal 16"), "{reason}");
    let (m, reason) = fault_at_label(TOO_MANY_PROPOSALS, Signal::Abrt, "bad");
    assert!(reason.contains("proposals are open"), "{reason}");
    assert_eq!(r(&m, 2), 15);
}

#[test]
fn negotiate_and_mediate() {
    let set = |g: &mut Regs| {
        g.r[1] = 10;
        g.conf[1] = 0.75;
        g.r[2] = 20;
        g.conf[2] = 0.25;
    };
    let m = halted_with(OP_NEGOTIATE, set);
    assert_eq!(r(&m, 3), 13);
    assert_close(c(&m, 3), 0.25);
    let m = halted_with(OP_MEDIATE, set);
    assert_eq!(r(&m, 1), 15);
    assert_close(c(&m, 1), 0.5);
    let m = halted_with(OP_MEDIATE, |g| {
        g.r[1] = -7;
        g.r[2] = 0;
    });
    assert_eq!(r(&m, 1), -3);
}

#[test]
fn publish_reaches_subscribed_topics_only() {
    let m = halted(TOPICS);
    assert_eq!(r(&m, 4), 82);
    assert_close(c(&m, 4), 0.4);
    let (_, reason) = fault_at_label(SUBSCRIBE_BAD_TOPIC, Signal::Ill, "bad");
    assert!(reason.contains("topic 16"), "{reason}");
    let (_, reason) = fault_at_label(UNSUBSCRIBE_NOBODY, Signal::Ill, "bad");
    assert!(reason.contains("no agent 2"), "{reason}");
}

#[test]
fn relay_passes_the_oldest_message_on() {
    let m = halted(RELAYING);
    assert_eq!(r(&m, 3), 5);
    assert_close(c(&m, 3), 0.6);
    assert_eq!(r(&m, 4), 6);
    assert_eq!(r(&m, 5), 5);
    assert_close(c(&m, 5), 0.6);
    let (_, reason) = fault_at_label(RELAY_EMPTY, Signal::Abrt, "bad");
    assert!(reason.contains("deadlock"), "{reason}");
    let (_, reason) = fault_at_label(RELAY_NOBODY, Signal::Ill, "bad");
    assert!(reason.contains("no agent 9"), "{reason}");
}

#[test]
fn route_maps_agent_ids() {
    let (m, reason) = fault_at_label(ROUTING, Signal::Ill, "bad");
    assert_eq!(r(&m, 3), 12);
    assert!(reason.contains("no agent 1"), "{reason}");
    for src in [ROUTE_BAD_VIA, ROUTE_BAD_AGENT] {
        let (_, reason) = fault_at_label(src, Signal::Ill, "bad");
        assert!(reason.contains("outside 0-255"), "{reason}");
    }
}
