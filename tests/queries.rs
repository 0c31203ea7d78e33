//! History queries (`analysis::queries`) against a brute-force replay: the
//! program re-executed one instruction at a time, each register compared
//! before and after, each memory operand under a write watchpoint.
use std::collections::HashMap;

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
