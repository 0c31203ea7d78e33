//! The FLOW and stack columns of the opcode table (runtime-c/flux_opcodes.h,
//! read through `isa`) are what the VM does: every opcode of the table runs
//! once, from one or more machine states, and where control went and how far
//! sp moved are compared with what the table says.
//!
//! - Next: pc is the next instruction in every state tried;
//! - Jump: pc is the target in every state;
//! - Branch: pc is the target or the next instruction, and both are seen;
//! - Call: pc is the routine, and the return address was pushed;
//! - Return: pc is the address popped;
//! - End: the program (or the agent) ended in some state, and fell through
//!   in the others;
//! - Trap: the run stopped with the opcode's signal in some state, and fell
//!   through in the others.
//!
//! Opcodes not implemented fault with SIGILL.  A fixed stack effect is the
//! sp change of every state where the instruction ran; a variable one is
//! checked against its rule (ALLOCA: imm16 rounded up; FREEA: the register).
use cuda_flux_debugger::isa::{self, Flow, Mode, OpcodeInfo, StackEffect};
use cuda_flux_debugger::vm::{Regs, Signal, StopKind, Vm, VmConfig};

/// Where the instruction under test lies.
const AT: u32 = 0x100;
/// The target its imm16 operands name (jumps, branches, CALL, SPAWN).
const TARGET: u32 = 0x40;
/// sp when it runs: 16 slots below hold RET_TO.
const SP0: u32 = 0xFF00;
/// What RET and IRET pop as their return address.
const RET_TO: u32 = 0x300;
/// SWI 1's handler (IVT entry 1).
const HANDLER: u32 = 0x500;
const IVT_BASE: u32 = 0xBE00;

const FLAG_C: u32 = 1 << 0;
const FLAG_Z: u32 = 1 << 6;
const FLAG_S: u32 = 1 << 7;
const FLAG_O: u32 = 1 << 11;

/// The machine state an opcode runs from.
#[derive(Clone)]
struct State {
    /// Instructions run before the one under test (from address 0).
    prelude: Vec<u8>,
    operands: Vec<u8>,
    r1: i32,
    flags: u32,
}

/// What one run of the instruction did.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The run went on: pc and how far sp moved down.
    Went { pc: u32, pushed: i64 },
    /// The program or the running agent ended (HALT, APOPTOSIS, KILL).
    Ended,
    /// BRK or a fault: the signal.
    Stopped(Signal),
}

fn ins(mnemonic: &str, operands: &[u8]) -> Vec<u8> {
    let op = isa::by_mnemonic(mnemonic).unwrap_or_else(|| panic!("no opcode {mnemonic}"));
    assert_eq!(op.operand_bytes as usize, operands.len(), "{mnemonic}'s operands");
    let mut v = vec![op.code];
    v.extend_from_slice(operands);
    v
}

/// Operands with registers r1, r2, r3 in turn, imm16/imm32 TARGET, imm8 1.
fn default_operands(mode: Mode) -> Vec<u8> {
    let t = TARGET as u8;
    match mode {
        Mode::None => vec![],
        Mode::R => vec![1],
        Mode::RR => vec![1, 2],
        Mode::RRR => vec![1, 2, 3],
        Mode::RI16 => vec![1, t, 0],
        Mode::I16 => vec![t, 0],
        Mode::I8 => vec![1],
        Mode::RI8 => vec![1, 1],
        Mode::RRI8 => vec![1, 2, 1],
        Mode::RRRI8 => vec![1, 2, 3, 1],
        Mode::I32 => vec![t, 0, 0, 0],
        Mode::RI32 => vec![1, t, 0, 0, 0],
    }
}

/// The states an opcode is run from.  Default: r_k = k, no flags, operands
/// as `default_operands`.  Opcodes whose outcome can vary are also run with
/// r1 in {0, 1, 2, 0x50} under each of the 16 combinations of C Z S O.
/// Opcodes that need a partner (a message, a proposal, another agent) get a
/// prelude that provides it.
fn states(op: &OpcodeInfo) -> Vec<State> {
    let base = State { prelude: vec![], operands: default_operands(op.mode), r1: 1, flags: 0 };
    let with = |prelude: Vec<u8>, operands: Vec<u8>| State { prelude, operands, ..base.clone() };
    let spawn = ins("SPAWN", &[TARGET as u8, 0]); // r0 = the new agent's id (2)
    match op.mnemonic {
        // a message from agent 1 to itself, then take it
        "ASK" => return vec![with(ins("TELL", &[1, 2]), vec![4, 1])],
        "RELAY" => return vec![with(ins("TELL", &[1, 2]), vec![4, 1, 3])],
        // an open proposal in slot 0 (r1 = 0)
        "VOTE" | "CONSENSUS" => return vec![with(ins("PROPOSE", &[1, 2, 3]), base.operands.clone())],
        "SUBSCRIBE" | "UNSUBSCRIBE" => return vec![with(vec![], vec![1, 2, 0])],
        // live agents named by registers: agent 1 is r1
        "ATP_XFER" => return vec![with(vec![], vec![2, 1, 1])],
        "ENERGY_SHARE" => return vec![with(vec![], vec![3, 1, 2])],
        "ENERGY_SYNC" => return vec![with(vec![], vec![2, 1])],
        // JOIN an agent that ended (KILLed): it goes on with its exit code
        "JOIN" => return vec![with([spawn.clone(), ins("KILL", &[0])].concat(), vec![0])],
        // KILL agent 1 (itself): the program ends; KILL agent 2: it goes on
        "KILL" => return vec![base.clone(), with(spawn, vec![0])],
        _ => {}
    }
    if matches!(op.flow, Flow::Next) {
        return vec![base];
    }
    let mut v = Vec::new();
    for r1 in [0, 1, 2, 0x50] {
        for bits in 0..16u32 {
            let flags = [FLAG_C, FLAG_Z, FLAG_S, FLAG_O]
                .iter()
                .enumerate()
                .filter(|(k, _)| bits >> k & 1 == 1)
                .fold(0, |f, (_, b)| f | b);
            v.push(State { r1, flags, ..base.clone() });
        }
    }
    v
}

/// Runs `op` from `state`: the outcome, and sp before it ran.
fn run(op: &OpcodeInfo, state: &State) -> (Outcome, Vm, u32) {
    // the prelude, a jump to AT, zeros (NOP) elsewhere, HALT at TARGET
    // (agents spawned there end at once)
    let mut image = vec![0; AT as usize + 16];
    image[TARGET as usize] = isa::by_mnemonic("HALT").unwrap().code;
    let mut head = state.prelude.clone();
    head.extend(ins("JMP", &[AT as u8, (AT >> 8) as u8]));
    image[..head.len()].copy_from_slice(&head);
    let insn = [vec![op.code], state.operands.clone()].concat();
    image[AT as usize..AT as usize + insn.len()].copy_from_slice(&insn);

    let mut vm = Vm::with_program(&image, VmConfig::default()).expect("fits");
    let mut g: Regs = vm.regs();
    for k in 0..16 {
        g.r[k] = k as i32;
    }
    g.r[1] = state.r1;
    g.sp = SP0;
    g.fp = SP0;
    vm.set_regs(&g);
    for slot in 0..16 {
        vm.write_mem(SP0 + 4 * slot, &RET_TO.to_le_bytes()).unwrap();
    }
    vm.write_mem(IVT_BASE + 2, &(HANDLER as u16).to_le_bytes()).unwrap();

    vm.set_breakpoint(AT, true);
    let stop = vm.run(10_000);
    assert_eq!((stop.kind.clone(), stop.pc), (StopKind::Breakpoint, AT), "{}: the prelude", op.mnemonic);
    vm.clear_breakpoints();
    // flags last: the prelude may have set them
    let mut g = vm.regs();
    g.flags = state.flags;
    vm.set_regs(&g);
    let agent = stop.agent;
    let sp = g.sp;

    let stop = vm.run(1);
    let outcome = match stop.kind {
        StopKind::Budget => {
            let after = vm.agent_regs(agent).unwrap_or_else(|| vm.regs());
            Outcome::Went { pc: after.pc, pushed: sp as i64 - after.sp as i64 }
        }
        StopKind::Halted { .. } | StopKind::Terminated { .. } => Outcome::Ended,
        StopKind::Brk => Outcome::Stopped(Signal::Trap),
        StopKind::Fault { signal, .. } => Outcome::Stopped(signal),
        other => panic!("{}: unexpected stop {other:?}", op.mnemonic),
    };
    (outcome, vm, sp)
}

/// The signal each trapping opcode stops with.
fn trap_signal(mnemonic: &str) -> Signal {
    match mnemonic {
        "BRK" => Signal::Trap,
        "PANIC" | "ASSERT" => Signal::Abrt,
        "BOUND" => Signal::Segv,
        other => panic!("{other} is a TRAP in the table: name the signal it stops with here"),
    }
}

fn imm16(state: &State) -> u32 {
    let n = state.operands.len();
    u32::from(state.operands[n - 2]) | u32::from(state.operands[n - 1]) << 8
}

/// The sp change a variable stack effect has in this state.
fn variable_effect(op: &OpcodeInfo, state: &State) -> i64 {
    match op.mnemonic {
        "ALLOCA" => ((imm16(state) + 3) & !3) as i64,
        "FREEA" => -((state.r1 as i64 + 3) & !3),
        other => panic!("{other}: a variable stack effect without a rule here"),
    }
}

#[test]
fn every_opcode_does_what_its_flow_and_stack_columns_say() {
    let mut checked = 0;
    for op in isa::all() {
        let len = op.len() as u32;
        let next = AT + len;
        if !op.implemented {
            let state = State { prelude: vec![], operands: default_operands(op.mode), r1: 1, flags: 0 };
            let (outcome, _, _) = run(op, &state);
            assert_eq!(outcome, Outcome::Stopped(Signal::Ill), "{} is not implemented", op.mnemonic);
            checked += 1;
            continue;
        }
        let mut outcomes = Vec::new();
        for state in states(op) {
            let (outcome, vm, sp) = run(op, &state);
            let ctx = format!("{} ({:?}, r1 = {:#x}, flags = {:#x})", op.mnemonic, op.flow, state.r1, state.flags);
            if let Outcome::Went { pushed, .. } = outcome {
                let want = match op.stack_effect {
                    StackEffect::Fixed(n) => n as i64,
                    StackEffect::Variable => variable_effect(op, &state),
                };
                assert_eq!(pushed, want, "{ctx}: sp moved");
            }
            match (op.flow, &outcome) {
                (Flow::Next | Flow::Branch | Flow::End | Flow::Trap, Outcome::Went { pc, .. }) if *pc == next => {}
                (Flow::Jump | Flow::Branch, Outcome::Went { pc, .. }) if *pc == imm16(&state) => {}
                (Flow::Call, Outcome::Went { pc, .. }) => {
                    let (routine, ret_at) = match op.mnemonic {
                        "CALL" => (imm16(&state), sp - 4),
                        "SWI" => (HANDLER, sp - 4), // the flags below it, at sp - 8
                        other => panic!("{other}: a CALL kind whose routine this test does not know"),
                    };
                    assert_eq!(*pc, routine, "{ctx}: pc");
                    assert_eq!(vm.read_u32(ret_at).unwrap(), next, "{ctx}: the return address pushed");
                }
                (Flow::Return, Outcome::Went { pc, .. }) => assert_eq!(*pc, RET_TO, "{ctx}: pc"),
                (Flow::End, Outcome::Ended) => {}
                (Flow::Trap, Outcome::Stopped(s)) if *s == trap_signal(op.mnemonic) => {}
                _ => panic!("{ctx}: the VM did {outcome:?} (next instruction 0x{next:04X})"),
            }
            outcomes.push(outcome);
        }
        let fell = outcomes.iter().any(|o| matches!(o, Outcome::Went { pc, .. } if *pc == next));
        let special = outcomes.iter().any(|o| !matches!(o, Outcome::Went { pc, .. } if *pc == next));
        match op.flow {
            Flow::Branch => assert!(fell && special, "{}: both ways are seen: {outcomes:?}", op.mnemonic),
            Flow::End | Flow::Trap => assert!(special, "{}: never ended or trapped: {outcomes:?}", op.mnemonic),
            _ => {}
        }
        checked += 1;
    }
    assert_eq!(checked, isa::all().count());
    assert_eq!(checked, 247);
}

/// The table's columns as `isa json` carries them (scripts/flux-gdb.py and
/// other tools read that).
#[test]
fn the_json_table_carries_flow_and_stack_effect() {
    let v: serde_json::Value = serde_json::from_str(&isa::to_json()).unwrap();
    let by = |m: &str| v.as_array().unwrap().iter().find(|o| o["mnemonic"] == m).unwrap().clone();
    assert_eq!(by("JNZ")["flow"], "branch");
    assert_eq!(by("CALL")["flow"], "call");
    assert_eq!(by("CALL")["stack_effect"], 4);
    assert_eq!(by("IRET")["stack_effect"], -8);
    assert_eq!(by("PUSH_ALL")["stack_effect"], 64);
    assert_eq!(by("ALLOCA")["stack_effect"], "variable");
    assert_eq!(by("NOP")["flow"], "next");
}
