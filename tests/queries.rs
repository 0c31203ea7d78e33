//! History queries (`analysis::queries`) against a brute-force replay: the
//! program re-executed one instruction at a time, each register compared
//! before and after, each memory operand under a write watchpoint.
mod common;

use std::collections::HashMap;

use common::*;

use cuda_flux_debugger::analysis::queries::{self, Operand, Subject, Value, Write};
use cuda_flux_debugger::asm::assemble;
use cuda_flux_debugger::history::History;
use cuda_flux_debugger::vm::{StopKind, Vm, VmConfig, WatchKind};

fn record(program: &[u8], config: VmConfig) -> (Vm, History) {
    let mut vm = Vm::with_program(program, config).unwrap();
    let mut h = History::start(&mut vm).unwrap();
    loop {
        let stop = vm.run(h.run_budget(u64::MAX));
        vm.take_output();
        h.after_run(&mut vm, &stop);
        if !matches!(stop.kind, StopKind::Budget | StopKind::Output) {
            return (vm, h);
        }
    }
}

/// Every write of the register operands of `agents` (value or confidence
/// changed), by stepping.
fn brute_regs(program: &[u8], config: VmConfig, agents: &[u32]) -> HashMap<Subject, Vec<Write>> {
    let mut vm = Vm::with_program(program, config).unwrap();
    let mut out: HashMap<Subject, Vec<Write>> = HashMap::new();
    let mut index = 0u64;
    loop {
        let pc_of: HashMap<u32, u32> = vm.agents().iter().map(|a| (a.id, a.pc)).collect();
        let before: HashMap<u32, _> = agents.iter().filter_map(|&a| vm.agent_regs(a).map(|r| (a, r))).collect();
        let stop = vm.run(1);
        vm.take_output();
        if stop.executed == 0 {
            return out;
        }
        for &a in agents {
            let (Some(b), Some(r)) = (before.get(&a), vm.agent_regs(a)) else { continue };
            for k in 0..16u8 {
                let i = k as usize;
                let pc = pc_of.get(&a).copied().unwrap_or(0);
                if b.r[i] != r.r[i] || b.conf[i].to_bits() != r.conf[i].to_bits() {
                    out.entry(Subject { operand: Operand::Reg(k), agent: a }).or_default().push(Write {
                        index,
                        pc,
                        agent: a,
                        opcode: vm.read_u8(pc).unwrap(),
                        old: Value::Int(b.r[i] as i64),
                        new: Value::Int(r.r[i] as i64),
                    });
                }
                if b.conf[i].to_bits() != r.conf[i].to_bits() {
                    out.entry(Subject { operand: Operand::Conf(k), agent: a }).or_default().push(Write {
                        index,
                        pc,
                        agent: a,
                        opcode: vm.read_u8(pc).unwrap(),
                        old: Value::Conf(b.conf[i]),
                        new: Value::Conf(r.conf[i]),
                    });
                }
            }
        }
        index += 1;
        if !matches!(stop.kind, StopKind::Budget | StopKind::Output) {
            return out;
        }
    }
}

/// Every write of one memory operand, by stepping under a watchpoint.
fn brute_mem(program: &[u8], config: VmConfig, addr: u32, size: u8) -> Vec<Write> {
    let mut vm = Vm::with_program(program, config).unwrap();
    vm.add_watchpoint(addr, size as u32, WatchKind::Write).unwrap();
    let value = |vm: &Vm| {
        let mut b = [0u8; 4];
        vm.read_mem(addr, &mut b[..size as usize]).unwrap();
        u32::from_le_bytes(b) as i64
    };
    let mut out = Vec::new();
    let mut index = 0u64;
    loop {
        let pc_of: HashMap<u32, u32> = vm.agents().iter().map(|a| (a.id, a.pc)).collect();
        let old = value(&vm);
        let stop = vm.run(1);
        vm.take_output();
        if stop.executed == 0 {
            return out;
        }
        if let StopKind::Watchpoint { .. } = stop.kind {
            let pc = pc_of[&stop.agent];
            out.push(Write { index, pc, agent: stop.agent, opcode: vm.read_u8(pc).unwrap(), old: Value::Int(old), new: Value::Int(value(&vm)) });
        } else if !matches!(stop.kind, StopKind::Budget | StopKind::Output) {
            return out;
        }
        index += 1;
    }
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn fib_program(n: u32) -> Vec<u8> {
    let src = include_str!("../examples/fibonacci.fasm").replace("LOAD_IMM  r1, 20", &format!("LOAD_IMM  r1, {n}"));
    assemble(&src).unwrap().bytes
}

// 100 random questions (every write of an operand; the last N writes before
// a random instruction) on fib(19) — 108,000 instructions, four
// checkpoints — and on the two-agent FizzBuzz, each equal to what the
// brute-force replay finds.
#[test]
fn a_hundred_random_queries_equal_a_brute_force_replay() {
    let fizz = assemble(&std::fs::read_to_string("examples/fizzbuzz_fixed.fasm").unwrap()).unwrap().bytes;
    let cases: Vec<(Vec<u8>, Vec<u32>)> = vec![(fib_program(19), vec![1]), (fizz, vec![1, 2])];
    let mut rng = Rng(7);
    let mut asked = 0;
    for (ci, (program, agents)) in cases.iter().enumerate() {
        let config = VmConfig::default();
        let (_vm, h) = record(program, config);
        let end = h.end();
        if ci == 0 {
            assert!(h.checkpoint_count() >= 3, "{} checkpoints", h.checkpoint_count());
        }
        let regs = brute_regs(program, config, agents);
        // the stack's top words, a word across two lines, bytes and halves
        let mems: Vec<(u32, u8)> = vec![(0xFFFC, 4), (0xFFF8, 4), (0xFFE0, 4), (0xFFDE, 4), (0xFFF0, 2), (0xFFF5, 1), (0xFF80, 4)];
        let mut brute_m: HashMap<(u32, u8), Vec<Write>> = HashMap::new();
        for &(a, s) in &mems {
            brute_m.insert((a, s), brute_mem(program, config, a, s));
        }
        if ci == 0 {
            assert!(brute_m[&(0xFF80, 4)].len() > 100, "a deep stack word is written often");
        }
        for _ in 0..50 {
            let subject = if rng.below(2) == 0 {
                let (a, s) = mems[rng.below(mems.len() as u64) as usize];
                Subject { operand: Operand::Mem { addr: a, size: s }, agent: 1 }
            } else {
                let agent = agents[rng.below(agents.len() as u64) as usize];
                let k = rng.below(5) as u8;
                let operand = if rng.below(4) == 0 { Operand::Conf(k) } else { Operand::Reg(k) };
                Subject { operand, agent }
            };
            let brute: Vec<Write> = match subject.operand {
                Operand::Mem { addr, size } => brute_m[&(addr, size)].clone(),
                _ => regs.get(&subject).cloned().unwrap_or_default(),
            };
            if rng.below(2) == 0 {
                assert_eq!(queries::writes(&h, subject).unwrap(), brute, "history of {subject} (agent {})", subject.agent);
            } else {
                let before = rng.below(end + 1);
                let n = 1 + rng.below(4) as usize;
                let want: Vec<Write> = brute.iter().filter(|w| w.index < before).rev().take(n).cloned().collect();
                assert_eq!(queries::last_writes(&h, subject, before, n).unwrap(), want, "last {n} writes of {subject} before {before}");
            }
            asked += 1;
        }
    }
    assert_eq!(asked, 100);
}

/// A value made by LOAD_IMM in agent 2, moved by MOV, STORE32, LOAD32, sent
/// by TELL, taken by agent 1's ASK, pushed, popped and moved again.
const ORIGIN_PROG: &str = "
start:  SPAWN    worker
        MOV      r10, r0
        ASK      r5, r10
        PUSH_R   r5
        POP_R    r6
        MOV      r7, r6
done:   HALT
worker: LOAD_IMM r1, 42
        MOV      r2, r1
        STORE32  r2, 0x8000
        LOAD32   r3, 0x8000
        LOAD_IMM r4, 1
        TELL     r4, r3
        HALT
";

fn label(src: &str, name: &str) -> u32 {
    assemble(src).unwrap().labels[name]
}

/// The monitor's answer lines (gdb prints them as they are).
fn lines_after<'a>(out: &'a str, first: &str) -> Vec<&'a str> {
    out.lines().skip_while(|l| !l.starts_with(first)).collect()
}

// `monitor origin r7` follows the value back through every copy, across the
// two agents, to the LOAD_IMM that made it; each index is one `monitor goto` takes.
#[test]
fn origin_follows_copies_through_memory_the_stack_and_messages_to_the_load_imm() {
    let (_d, p) = program("origin.fasm", ORIGIN_PROG);
    let stub = Stub::start(&p, &["--once", "--record"]);
    let done = label(ORIGIN_PROG, "done");
    let out = gdb_batch(stub.port, &[&format!("break *{done}"), "continue", "monitor origin r7", "monitor when"]);
    let chain = lines_after(&out, "#");
    let chain: Vec<&str> = chain.into_iter().take_while(|l| l.starts_with('#')).collect();
    assert!(!out.contains("operands:"), "a LOAD_IMM has no operands to ask about: {out}");
    let tails: Vec<String> = chain.iter().map(|l| l.split_once(' ').unwrap().1.to_string()).collect();
    assert_eq!(
        tails,
        [
            "0x000D MOV r7, r6: r7 = 42 [agent 1], a copy of r6",
            "0x000B POP_R r6: r6 = 42 [agent 1], a copy of mem32[0xFFFC]",
            "0x0009 PUSH_R r5: mem32[0xFFFC] = 42 [agent 1], a copy of r5",
            "0x0006 ASK r5, r10: r5 = 42 [agent 1], the message agent 2 sent",
            "0x0028 TELL r4, r3: sent r3 = 42 [agent 2], a copy of r3",
            "0x001E LOAD32 r3, 0x8000: r3 = 42 [agent 2], a copy of mem32[0x8000]",
            "0x001A STORE32 r2, 0x8000: mem32[0x8000] = 42 [agent 2], a copy of r2",
            "0x0017 MOV r2, r1: r2 = 42 [agent 2], a copy of r1",
            "0x0011 LOAD_IMM r1, 0x2A: r1 = 42 [agent 2]: origin",
        ],
        "{out}"
    );
    // indices go back in time, and `goto` reaches them
    let idx: Vec<u64> = chain.iter().map(|l| l[1..].split_once(' ').unwrap().0.parse().unwrap()).collect();
    assert!(idx.windows(2).all(|w| w[0] > w[1]), "{idx:?}");
    assert_eq!(idx[8], 2, "{out}");
    let out = gdb_batch_again(&p, &[&format!("break *{done}"), "continue", "monitor goto 2", "monitor when", "monitor origin r7"]);
    assert!(out.contains("instruction 2 of 0..13"), "{out}");
    // before the MOV ran, r7 was never written
    assert!(out.lines().any(|l| l == "r7 = 0 [agent 1] since the start of the history (instruction 0): origin"), "{out}");
}

fn gdb_batch_again(p: &std::path::Path, cmds: &[&str]) -> String {
    let stub = Stub::start(p, &["--once", "--record"]);
    gdb_batch(stub.port, cmds)
}

/// `monitor when`'s instruction indices in gdb's output, in order.
fn whens(out: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("instruction "))
        .filter_map(|l| l.split_once(' ').and_then(|(n, _)| n.parse().ok()))
        .collect()
}

// fib(10): the writes `monitor history` and `last-write` name for a stack
// word are where gdb's reverse watchpoint stops, with the same values.
#[test]
fn last_write_and_history_of_a_stack_word_equal_what_reverse_watchpoints_find() {
    let src = include_str!("../examples/fibonacci.fasm").replace("LOAD_IMM  r1, 20", "LOAD_IMM  r1, 10");
    let (_d, p) = program("fib10.fasm", &src);
    let stub = Stub::start(&p, &["--once", "--record"]);
    let mut cmds: Vec<String> = vec!["break *0x09".into(), "continue".into(), "monitor history mem32[0xFFE8]".into(),
        "monitor last-write mem32[0xFFE8] 3".into(), "watch *(int*)0xFFE8".into()];
    for _ in 0..40 {
        cmds.push("reverse-continue".into());
        cmds.push("monitor when".into());
    }
    let cmds: Vec<&str> = cmds.iter().map(String::as_str).collect();
    let out = gdb_batch(stub.port, &cmds);
    let history: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    let count_line = out.lines().find(|l| l.ends_with(" writes")).expect("a count");
    let n: usize = count_line.split_once(' ').unwrap().0.parse().unwrap();
    assert_eq!(n, 8, "fib(10) writes this word 8 times: {out}");
    let (all, last3) = history.split_at(n);
    assert_eq!(last3.len(), 3, "{out}");
    let rev: Vec<&str> = all.iter().rev().take(3).copied().collect();
    assert_eq!(last3, rev, "last-write 3 = the newest three of the history");
    // gdb's software-checked `watch` stops where the value changed
    let changed: Vec<u64> = all
        .iter()
        .filter(|l| {
            let (_, vals) = l.split_once("mem32[0xFFE8] ").unwrap();
            let (old, rest) = vals.split_once(" -> ").unwrap();
            old != rest.split_once(' ').unwrap().0
        })
        .map(|l| l[1..].split_once(' ').unwrap().0.parse().unwrap())
        .collect();
    let mut stops = whens(&out);
    stops.dedup();
    let stops: Vec<u64> = stops.into_iter().filter(|&i| i > 0).collect();
    let mut want = changed.clone();
    want.reverse();
    assert_eq!(stops, want, "{out}");
    assert!(out.contains("No more reverse-execution history."), "{out}");
}

fn fib(n: i64) -> i64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

// `monitor calls fib` of fib(10): 177 calls, each returning fib(r1).
#[test]
fn calls_of_fib_10_count_177_each_returning_fib_of_its_argument() {
    let src = include_str!("../examples/fibonacci.fasm").replace("LOAD_IMM  r1, 20", "LOAD_IMM  r1, 10");
    let (_d, p) = program("fib10.fasm", &src);
    let stub = Stub::start(&p, &["--once", "--record"]);
    let out = gdb_batch(stub.port, &["break *0x09", "continue", "monitor calls fib", "monitor calls main", "monitor calls"]);
    let calls: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(calls.len(), 177 * 2, "{out}");
    assert!(out.contains("\n177 calls\n0 calls\n") || out.contains("177 calls\n0 calls"), "{out}");
    assert_eq!(out.matches("177 calls").count(), 2, "{out}");
    assert_eq!(calls[0], "#1 fib from 0x0006 r1=10 -> #".to_string() + calls[0].split("-> #").nth(1).unwrap());
    for l in &calls[..177] {
        // #I fib from 0xPC r1=N -> #J r0=V [agent 1]
        let r1: i64 = l.split("r1=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let r0: i64 = l.split("r0=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert_eq!(r0, fib(r1), "{l}");
        assert!(l.ends_with("[agent 1]"), "{l}");
    }
}

// Bad operands: one error line each, and nothing changed.
#[test]
fn bad_operands_are_one_error_line_and_change_nothing() {
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once", "--record"]);
    let out = gdb_batch(
        stub.port,
        &[
            "stepi 50",
            "monitor when",
            "p $r1",
            "monitor origin mem32[0xFFFE]",
            "monitor last-write r16",
            "monitor history conf99",
            "monitor origin pc",
            "monitor last-write r1 0",
            "monitor calls a b",
            "monitor when",
            "p $r1",
        ],
    );
    for line in [
        "error: 'mem32[0xFFFE]': outside memory (0x0000-0xFFFF)",
        "error: 'r16': no such register (r0-r15, conf0-conf15)",
        "error: 'conf99': no such register (r0-r15, conf0-conf15)",
        "error: 'pc' is not an operand (rN, confN, mem8[A], mem16[A] or mem32[A])",
        "error: last-write: '0' is not a count (1 or more)",
        "error: usage: monitor origin OPERAND | last-write OPERAND [N] | history OPERAND | calls [FUNCTION] (OPERAND: rN, confN, mem8[A], mem16[A], mem32[A])",
    ] {
        assert!(out.lines().any(|l| l == line), "{line}\n{out}");
    }
    let w = whens(&out);
    assert_eq!(w, [50, 50], "{out}");
    let v = values(&out);
    assert_eq!(v[0], v[1], "{out}");
    // without a recording
    let stub = Stub::start(&example("fibonacci.fasm"), &["--once"]);
    let out = gdb_batch(stub.port, &["stepi 5", "monitor origin r1"]);
    assert!(out.lines().any(|l| l == "error: not recording (monitor record on, or serve --record)"), "{out}");
}

