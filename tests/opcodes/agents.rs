//! Several agents in one VM (docs/ISA.md 1.11): SPAWN JOIN KILL, the a2a
//! opcodes between mailboxes, BARRIER, YIELD, energy moves, stacks, the
//! scheduler (round-robin and chaos) and deadlocks.
use super::*;
use cuda_flux_debugger::vm::{AgentState, InputKind, SchedKind, Schedule};

programs! {
    SPAWN_JOIN = "
        start:  LOAD_IMM  r1, 7
                SPAWN     child
                MOV       r5, r0           ; 2
                JOIN      r5               ; r5 = 42
                LOAD_IMM  r6, 1
                RESOURCE  r7, r6           ; stack limit: agent 1 gave 0xC000-0xC800 up
                LOAD_IMM  r6, 3
                RESOURCE  r8, r6           ; agents alive: 1 again
                HALT
        child:  LOAD_IMM  r1, 9
                LOAD_IMM  r6, 2
                RESOURCE  r2, r6           ; own id
                LOAD_IMM  r6, 1
                RESOURCE  r3, r6           ; own stack limit
                LOAD_IMM  r6, 3
                RESOURCE  r4, r6           ; agents alive
                DEPTH     r10
                PUSH      0x77
                DEPTH     r11
                LOAD_IMM  r0, 42
        cend:   HALT
    ";
    MESSAGES = "
        start:  SPAWN     child
                MOV       r5, r0
                LOAD_IMM  r1, 11
                CONF_SET  r1, 50
        send1:  TELL      r5, r1
                ASK       r2, r5           ; the reply
                JOIN      r5
                HALT
        child:  LOAD_IMM  r1, 1
                ASK       r3, r1           ; 11 (0.5) from agent 1
                ADDI      r3, 100
                TELL      r1, r3
                HALT
    ";
    ASK_FROM = "
        start:  SPAWN     two
                SPAWN     three
                LOAD_IMM  r1, 3
                ASK       r3, r1           ; 30, whoever sent first
                LOAD_IMM  r1, 2
                ASK       r2, r1           ; 20
                LOAD_IMM  r1, 0
        bad:    ASK       r4, r1           ; anyone: nobody is left to send
                HALT
        two:    LOAD_IMM  r1, 1
                LOAD_IMM  r2, 20
                TELL      r1, r2
                HALT
        three:  LOAD_IMM  r1, 1
                LOAD_IMM  r2, 30
                TELL      r1, r2
                HALT
    ";
    CROSSED_ASKS = "
        start:  SPAWN     child
                MOV       r5, r0
        ask1:   ASK       r1, r5
                HALT
        child:  LOAD_IMM  r1, 1
        ask2:   ASK       r2, r1
                HALT
    ";
    KILLS = "
        start:  SPAWN     spin
                MOV       r5, r0
                YIELD                      ; let it spin a while
                KILL      r5
                KILL      r5               ; already ended: nothing
                JOIN      r5               ; 137
                SPAWN     quitter
                MOV       r6, r0
                JOIN      r6               ; its HALT code: 9
                SPAWN     starver
                MOV       r7, r0
                JOIN      r7               ; APOPTOSIS: 128 + 24
                LOAD_IMM  r1, 1
        last:   KILL      r1               ; agent 1: the program ends with 137
                HALT
        spin:   JMP       spin
        quitter: LOAD_IMM r0, 9
                HALT
        starver: APOPTOSIS
    ";
    BARRIERS_2 = "
        start:  SPAWN     child
                BARRIER                    ; waits for the child's
                LOAD_IMM  r1, 0x8000
                LOAD      r2, r1           ; 5: written before its BARRIER
                HALT
        child:  LOAD_IMM  r1, 5
                LOAD_IMM  r2, 0x8000
                NOP
                NOP
                STORE     r1, r2
                BARRIER
                HALT
    ";
    TURNS = "
        start:  SPAWN     child
                LOAD_IMM  r1, 1
                DBG_PRINT r1
                DBG_PRINT r1
                DBG_PRINT r1
                JOIN      r0
                HALT
        child:  LOAD_IMM  r1, 2
                DBG_PRINT r1
                DBG_PRINT r1
                HALT
    ";
    YIELDS = "
        start:  SPAWN     child
                LOAD_IMM  r1, 1
                DBG_PRINT r1
                YIELD
                DBG_PRINT r1
                SLEEP     100
                DBG_PRINT r1
                JOIN      r0
                HALT
        child:  LOAD_IMM  r1, 2
                DBG_PRINT r1
                YIELD
                DBG_PRINT r1
                HALT
    ";
    ENERGY_MOVES = "
        start:  SPAWN     child
                MOV       r5, r0
                LOAD_IMM  r1, 1
                LOAD_IMM  r2, 1000
                ATP_XFER  r2, r1, r5       ; 1000 from agent 1 to agent 2
                ENERGY_SYNC r3, r5         ; agent 2's energy
                LOAD_IMM  r2, 500
                ENERGY_SHARE r4, r5, r2    ; 500 more: r4 = 500
                ENERGY_SYNC r6, r5
                ENERGY_QUERY r7
                KILL      r5
                HALT
        child:  JMP       child
    ";
    FANOUT = "
        start:  SPAWN     child
                MOV       r5, r0
                SPAWN     child
                MOV       r6, r0
                SUBSCRIBE r6, 3
                LOAD_IMM  r0, 3
                LOAD_IMM  r1, 77
                PUBLISH   r1               ; topic 3: agent 3 only
                BROADCAST 0x1234           ; both: r0 = 2
                MOV       r9, r0
                JOIN      r5               ; exit code: the sum agent 2 got
                JOIN      r6
                HALT
        child:  LOAD_IMM  r1, 1
                ASK       r2, r1
                LOAD_IMM  r3, 0
                REDUCE    r4, r3           ; sum of what else is queued
                CADD      r0, r2, r4
                HALT
    ";
    TOO_MANY = "
        start:  LOAD_IMM  r1, 8
        again:  SPAWN     spin
                DECR      r1
                JNZ       r1, again
                HALT
        spin:   JMP       spin
    ";
    DEEP_FIRST = "
        start:  LOAD_IMM  r1, 3600         ; 3600 slots: below 0xC800
        deeper: PUSH      0
                LOOP      r1, deeper
        bad:    SPAWN     spin
                HALT
        spin:   JMP       spin
    ";
    SELF_JOIN = "
        start:  SPAWN     child
                JOIN      r0
                HALT
        child:  LOAD_IMM  r1, 2
        bad:    JOIN      r1
    ";
    FULL_BOX = "
        start:  SPAWN     child
                MOV       r5, r0
                LOAD_IMM  r1, 20
        send:   TELL      r5, r1           ; blocks at 16 until the child reads
                LOOP      r1, send
                JOIN      r5
                HALT
        child:  LOAD_IMM  r1, 1
                LOAD_IMM  r3, 20
                LOAD_IMM  r4, 0
        take:   ASK       r2, r1
                CADD      r4, r4, r2
                LOOP      r3, take
                MOV       r0, r4           ; 20 + 19 + ... + 1 = 210
                HALT
    ";
}

fn sched_vm(src: &str, kind: SchedKind, slice: u32, seed: u64) -> Vm {
    let mut m = vm_with(src, VmConfig { seed, ..VmConfig::default() });
    m.set_schedule(Schedule::new(kind, slice));
    m
}

fn to_end(m: &mut Vm) -> (String, Outcome) {
    let mut out = Vec::new();
    let outcome = m.run_to_end(&mut out).expect("writing to a Vec");
    (String::from_utf8(out).expect("utf-8"), outcome)
}

#[test]
fn spawn_gives_an_agent_of_its_own_and_join_its_exit_code() {
    let m = halted(SPAWN_JOIN);
    assert_eq!(r(&m, 0), 2, "SPAWN's id in r0");
    assert_eq!(r(&m, 1), 7, "agent 1's r1 is its own");
    assert_eq!(r(&m, 5), 42, "JOIN: the child's exit code");
    assert_close(c(&m, 5), 1.0);
    assert_eq!(u(&m, 7), 0xC800, "agent 1 keeps [0xC800, 0x10000)");
    assert_eq!(r(&m, 8), 1);
    // the child, stopped at its HALT
    let mut m = vm(SPAWN_JOIN);
    m.set_breakpoint(label(SPAWN_JOIN, "cend"), true);
    let stop = m.run(u64::MAX);
    assert_eq!((stop.kind, stop.agent), (StopKind::Breakpoint, 2));
    let child = m.agent_regs(2).expect("agent 2 lives");
    assert_eq!(child.r[1], 9);
    assert_eq!(child.r[2], 2, "RESOURCE 2: own id");
    assert_eq!(child.r[3] as u32, 0xC000, "RESOURCE 1: its stack starts at the bottom");
    assert_eq!(child.r[4], 2, "RESOURCE 3: agents alive");
    assert_eq!((child.r[10], child.r[11]), (0, 1), "DEPTH counts its own stack");
    assert_eq!(child.sp, 0xC800 - 4);
    assert_eq!(m.read_u32(0xC800 - 4).unwrap(), 0x77);
    assert_eq!(m.agent_regs(1).unwrap().r[1], 7);
    let agents = m.agents();
    assert_eq!(agents.iter().map(|a| (a.id, a.state, a.running)).collect::<Vec<_>>(), [
        (1, AgentState::Join(2), false),
        (2, AgentState::Runnable, true)
    ]);
    assert_eq!(agents[1].stack, (0xC000, 0xC800));
    assert_eq!(agents[0].stack, (0xC800, 0x10000));
}

#[test]
fn tell_and_ask_carry_value_confidence_and_sender() {
    let m = halted(MESSAGES);
    assert_eq!(r(&m, 2), 111);
    assert_close(c(&m, 2), 0.5);
}

#[test]
fn asking_from_a_sender_waits_for_that_sender() {
    for kind in [SchedKind::RoundRobin, SchedKind::Chaos] {
        for seed in 0..20 {
            let mut m = sched_vm(ASK_FROM, kind, 3, seed);
            let stop = m.run(u64::MAX);
            // the last ASK (from anyone) waits for agents that have ended: a deadlock
            let reason = expect_fault(&stop, Signal::Abrt, label(ASK_FROM, "bad"));
            assert!(reason.contains("deadlock: agent 1 waits in ASK") && reason.contains("from anyone"), "{reason}");
            assert_eq!((r(&m, 3), r(&m, 2)), (30, 20), "{kind:?} seed {seed}");
        }
    }
}

#[test]
fn crossed_asks_are_a_deadlock_naming_both_agents() {
    let (m, stop) = run(CROSSED_ASKS);
    let reason = expect_fault(&stop, Signal::Abrt, label(CROSSED_ASKS, "ask2"));
    assert_eq!(stop.agent, 2);
    assert_eq!(
        reason,
        format!("deadlock: agent 2 waits in ASK at 0x{:04X} for a message from agent 1 (all 2 agents blocked)", label(CROSSED_ASKS, "ask2"))
    );
    let states: Vec<(u32, AgentState, u32)> = m.agents().iter().map(|a| (a.id, a.state, a.pc)).collect();
    assert_eq!(states, [(1, AgentState::Ask(2), label(CROSSED_ASKS, "ask1")), (2, AgentState::Ask(1), label(CROSSED_ASKS, "ask2"))]);
    // neither blocked ASK was charged or counted
    assert_eq!(regs(&m).cycles, 3);
}

#[test]
fn kill_ends_agents_and_exit_codes_say_how() {
    let mut m = vm(KILLS);
    m.set_breakpoint(label(KILLS, "last"), true);
    let stop = m.run(u64::MAX);
    assert_eq!((stop.kind, stop.agent), (StopKind::Breakpoint, 1));
    assert_eq!(r(&m, 5), 137, "KILLed");
    assert_eq!(r(&m, 6), 9, "HALT code");
    assert_eq!(r(&m, 7), 128 + 24, "APOPTOSIS of an agent other than 1 ends only that agent");
    assert_eq!(m.agents().len(), 1);
    let stop = m.run(u64::MAX);
    assert_eq!(stop.kind, StopKind::Halted { code: 137 }, "KILL of agent 1 ends the program");
}

#[test]
fn a_barrier_waits_for_every_agent() {
    for slice in [1, 2, 3, 10_000] {
        let mut m = sched_vm(BARRIERS_2, SchedKind::RoundRobin, slice, 0);
        let stop = m.run(u64::MAX);
        assert!(matches!(stop.kind, StopKind::Halted { .. }), "{stop:?}");
        assert_eq!(r(&m, 2), 5, "slice {slice}");
    }
}

#[test]
fn round_robin_turns_are_exact() {
    let mut m = sched_vm(TURNS, SchedKind::RoundRobin, 2, 0);
    m.log_inputs(true);
    let (text, outcome) = to_end(&mut m);
    assert_eq!(text, "1\n2\n1\n1\n2\n");
    assert_eq!(outcome, Outcome::Exited(0));
    let (events, lost) = m.take_inputs();
    assert_eq!(lost, 0);
    // (first instruction of the new turn, to, from, slice)
    let turns: Vec<(u64, u64, u64, u64)> =
        events.iter().filter(|e| e.kind == InputKind::Sched).map(|e| (e.cycle, e.value & 0xFF, (e.value >> 8) & 0xFF, e.value >> 32)).collect();
    assert_eq!(turns, [(3, 2, 1, 2), (5, 1, 2, 2), (7, 2, 1, 2), (9, 1, 2, 2)]);
    // the default slice: agent 1 runs to its JOIN first
    let (text, _) = to_end(&mut sched_vm(TURNS, SchedKind::RoundRobin, 10_000, 0));
    assert_eq!(text, "1\n1\n1\n2\n2\n");
}

#[test]
fn yield_and_sleep_end_the_slice() {
    let (text, _) = to_end(&mut sched_vm(YIELDS, SchedKind::RoundRobin, 10_000, 0));
    assert_eq!(text, "1\n2\n1\n2\n1\n");
}

#[test]
fn a_chaos_seed_names_one_interleaving() {
    let run = |seed| {
        let mut m = sched_vm(TURNS, SchedKind::Chaos, 3, seed);
        m.log_inputs(true);
        let (text, _) = to_end(&mut m);
        (text, m.take_inputs().0)
    };
    let mut outputs = BTreeSet::new();
    for seed in 0..40 {
        let (a, ea) = run(seed);
        let (b, eb) = run(seed);
        assert_eq!((&a, &ea), (&b, &eb), "seed {seed} twice");
        outputs.insert(a);
    }
    assert!(outputs.len() >= 3, "chaos finds several interleavings: {outputs:?}");
    // the RNG the program draws is not the scheduler's
    assert!(outputs.contains("1\n1\n1\n2\n2\n") || outputs.len() > 3);
}

#[test]
fn energy_moves_between_agents() {
    let m = halted(ENERGY_MOVES);
    let budget = 1_000_000_000i64;
    assert_eq!(r(&m, 3) as i64, budget + 1000);
    assert_eq!(r(&m, 4), 500);
    assert_eq!(r(&m, 6) as i64, budget + 1500);
    // agent 1: 10 instructions paid (ENERGY_QUERY's own included) and 1500 given
    assert_eq!(r(&m, 7) as i64, budget - 10 - 1500);
}

#[test]
fn publish_broadcast_and_reduce_across_mailboxes() {
    let m = halted(FANOUT);
    assert_eq!(r(&m, 9), 2, "BROADCAST reached both others");
    // exit codes are r0 & 0xFF
    assert_eq!(r(&m, 5), 0x1234 & 0xFF, "agent 2: the broadcast only");
    assert_eq!(r(&m, 6), (77 + 0x1234) & 0xFF, "agent 3: the publication, then the broadcast");
}

#[test]
fn limits_of_spawn() {
    let (m, stop) = run(TOO_MANY);
    let reason = expect_fault(&stop, Signal::Abrt, label(TOO_MANY, "again"));
    assert!(reason.contains("8 agents are alive"), "{reason}");
    assert_eq!(m.agents().len(), 8);
    assert_eq!(r(&m, 1), 1, "seven spawned");
    let (_, reason) = fault_at_label(DEEP_FIRST, Signal::Segv, "bad");
    assert!(reason.contains("reaches into the new agent's stack 0xC000-0xC800"), "{reason}");
    let (_, stop) = run(SELF_JOIN);
    let reason = expect_fault(&stop, Signal::Abrt, label(SELF_JOIN, "bad"));
    assert!(reason.contains("JOINs itself"), "{reason}");
}

#[test]
fn a_full_mailbox_blocks_the_sender_until_read() {
    for slice in [1, 5, 10_000] {
        let m = {
            let mut m = sched_vm(FULL_BOX, SchedKind::RoundRobin, slice, 0);
            let stop = m.run(u64::MAX);
            assert!(matches!(stop.kind, StopKind::Halted { .. }), "{stop:?}");
            m
        };
        assert_eq!(r(&m, 5), 210, "slice {slice}");
    }
}

#[test]
fn the_debugger_reads_writes_and_selects_agents() {
    let mut m = vm(MESSAGES);
    let child_ask = label(MESSAGES, "child") + 6;
    m.set_breakpoint(label(MESSAGES, "send1"), true);
    let stop = m.run(u64::MAX);
    assert_eq!((stop.kind, stop.agent), (StopKind::Breakpoint, 1));
    assert_eq!(m.mailbox(2), []);
    m.set_breakpoint(stop.pc, false);
    let stop = m.run(1); // the TELL
    assert_eq!(stop.executed, 1);
    let mail = m.mailbox(2);
    assert_eq!(mail.len(), 1);
    assert_eq!((mail[0].value, mail[0].from), (11, 1));
    assert_close(mail[0].conf, 0.5);
    // gdb's scheduler-locking: agent 2 runs alone
    assert_eq!(m.select_agent(2), Some(true));
    assert_eq!(m.current_agent(), 2);
    assert_eq!(m.select_agent(9), None);
    m.lock_scheduler(true);
    let stop = m.run(2); // LOAD_IMM, ASK
    assert_eq!((stop.executed, stop.agent), (2, 2));
    let mut child = m.agent_regs(2).unwrap();
    assert_eq!((child.pc, child.r[3]), (child_ask + 2 + 1, 11));
    child.r[3] = 1000;
    assert!(m.set_agent_regs(2, &child));
    let stop = m.run(u64::MAX); // ADDI, TELL, HALT: then alone it cannot go on
    assert!(!m.lock_scheduler(false), "the slice was long enough");
    assert_eq!(m.agents().len(), 1);
    let _ = stop;
    let stop = m.run(u64::MAX);
    assert!(matches!(stop.kind, StopKind::Halted { .. }), "{stop:?}");
    assert_eq!(r(&m, 2), 1100);
}

#[test]
fn a_locked_agent_that_blocks_stops_the_run() {
    let mut m = vm(CROSSED_ASKS);
    m.lock_scheduler(true);
    let stop = m.run(u64::MAX);
    assert_eq!((stop.kind, stop.agent, stop.pc), (StopKind::Blocked, 1, label(CROSSED_ASKS, "ask1")));
    m.lock_scheduler(false);
    let stop = m.run(u64::MAX);
    expect_fault(&stop, Signal::Abrt, label(CROSSED_ASKS, "ask2"));
}
