//! gdb's agent expressions: the bytecode gdb compiles breakpoint conditions
//! (and agent-style `dprintf`) to when the stub advertises
//! `ConditionalBreakpoints+` (the "Agent Expressions" appendix of the gdb
//! manual).
//!
//! runtime-c checks and evaluates them (`flux_ax_check`, `flux_ax_eval`, and
//! inside the VM's loop the same code, through the hook that also checks the
//! stub's own conditions), so a hit whose condition is false never leaves the
//! VM.  This module wraps those entry points and shows an expression in
//! words for `monitor why` and `monitor list`.
use std::fmt;

use crate::runtime::ffi;

/// Why an agent expression was refused or could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (bytecode offset {at})")]
pub struct AxError {
    pub kind: AxErrorKind,
    /// Offset of the bytecode at fault.
    pub at: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxErrorKind {
    Empty,
    BadOpcode(u8),
    Truncated,
    BadJump,
    BadFormat,
    NoEnd,
    StackOverflow,
    StackUnderflow,
    StepLimit,
    BadRegister(u64),
    BadMemory(u64),
    DivZero,
    Unsupported(u8),
}

impl fmt::Display for AxErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AxErrorKind::Empty => write!(f, "empty, or longer than {} bytes", ffi::FLUX_AX_MAX_LEN),
            AxErrorKind::BadOpcode(op) => write!(f, "0x{op:02x} is no agent-expression opcode"),
            AxErrorKind::Truncated => f.write_str("an operand runs past the end"),
            AxErrorKind::BadJump => f.write_str("a jump outside the expression or into an operand"),
            AxErrorKind::BadFormat => f.write_str("printf's format is not NUL-terminated"),
            AxErrorKind::NoEnd => f.write_str("ran past the end without `end`"),
            AxErrorKind::StackOverflow => write!(f, "more than {} values on the stack", ffi::FLUX_AX_STACK),
            AxErrorKind::StackUnderflow => f.write_str("too few values on the stack"),
            AxErrorKind::StepLimit => write!(f, "more than {} bytecodes ran", ffi::FLUX_AX_MAX_STEPS),
            AxErrorKind::BadRegister(r) => write!(f, "register {r} is not available"),
            AxErrorKind::BadMemory(a) => write!(f, "read outside memory at 0x{a:X}"),
            AxErrorKind::DivZero => f.write_str("division by zero"),
            AxErrorKind::Unsupported(op) => write!(f, "opcode {} is not supported here", name(*op)),
        }
    }
}

fn from_raw(r: ffi::flux_ax_result, code: &[u8]) -> Result<u64, AxError> {
    let op = code.get(r.at as usize).copied().unwrap_or(0);
    let kind = match r.status {
        ffi::FLUX_AX_OK => return Ok(r.value),
        ffi::FLUX_AX_EMPTY => AxErrorKind::Empty,
        ffi::FLUX_AX_BAD_OPCODE => AxErrorKind::BadOpcode(op),
        ffi::FLUX_AX_TRUNCATED => AxErrorKind::Truncated,
        ffi::FLUX_AX_BAD_JUMP => AxErrorKind::BadJump,
        ffi::FLUX_AX_BAD_FORMAT => AxErrorKind::BadFormat,
        ffi::FLUX_AX_NO_END => AxErrorKind::NoEnd,
        ffi::FLUX_AX_STACK_OVERFLOW => AxErrorKind::StackOverflow,
        ffi::FLUX_AX_STACK_UNDERFLOW => AxErrorKind::StackUnderflow,
        ffi::FLUX_AX_STEP_LIMIT => AxErrorKind::StepLimit,
        ffi::FLUX_AX_BAD_REGISTER => AxErrorKind::BadRegister(r.addr),
        ffi::FLUX_AX_BAD_MEMORY => AxErrorKind::BadMemory(r.addr),
        ffi::FLUX_AX_DIV_ZERO => AxErrorKind::DivZero,
        _ => AxErrorKind::Unsupported(op),
    };
    Err(AxError { kind, at: r.at })
}

/// Checks bytecode as the VM does before arming it: opcodes, operands,
/// jumps.  `commands`: printf is allowed (breakpoint commands).
pub fn check(code: &[u8], commands: bool) -> Result<(), AxError> {
    let len = u32::try_from(code.len()).unwrap_or(u32::MAX);
    // SAFETY: `code` is a live slice of `len` bytes; the checker reads only those.
    let r = unsafe { ffi::flux_ax_check(code.as_ptr(), len, commands as i32) };
    from_raw(r, code).map(|_| ())
}

/// Evaluates a condition on a view of the machine (runtime-c's evaluator).
pub(crate) fn eval_on(code: &[u8], view: &ffi::flux_view) -> Result<u64, AxError> {
    let len = u32::try_from(code.len()).unwrap_or(u32::MAX);
    // SAFETY: `code` is a live slice of `len` bytes and `view` points at
    // buffers of the lengths flux_view documents.
    let r = unsafe { ffi::flux_ax_eval(code.as_ptr(), len, view) };
    from_raw(r, code)
}

/// The result of a stop at one of gdb's breakpoints with agent-expression
/// conditions: Ok when a condition held, or the error that made it stop.
pub(crate) fn last_result(r: ffi::flux_ax_result) -> Result<(), AxError> {
    from_raw(r, &[]).map(|_| ())
}

/// The runtime's list form: each expression as [len low, len high, bytes...].
pub(crate) fn pack(list: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for code in list {
        let n = code.len().min(u16::MAX as usize);
        out.extend_from_slice(&(n as u16).to_le_bytes());
        out.extend_from_slice(&code[..n]);
    }
    out
}

const NAMES: [&str; 0x35] = [
    "invalid", "float", "add", "sub", "mul", "div_signed", "div_unsigned", "rem_signed", "rem_unsigned", "lsh",
    "rsh_signed", "rsh_unsigned", "trace", "trace_quick", "log_not", "bit_and", "bit_or", "bit_xor", "bit_not",
    "equal", "less_signed", "less_unsigned", "ext", "ref8", "ref16", "ref32", "ref64", "ref_float", "ref_double",
    "ref_long_double", "l_to_d", "d_to_l", "if_goto", "goto", "const8", "const16", "const32", "const64", "reg", "end",
    "dup", "pop", "zero_ext", "swap", "getv", "setv", "tracev", "tracenz", "trace16", "invalid2", "pick", "rot",
    "printf",
];

fn name(op: u8) -> String {
    NAMES.get(op as usize).map_or(format!("0x{op:02x}"), |n| n.to_string())
}

/// The name of register `n` in the carrier description.
pub fn register_name(n: u64) -> String {
    match n {
        4 => "sp".into(),
        5 => "fp".into(),
        8 => "pc".into(),
        9 => "flags".into(),
        32..=47 => format!("r{}", n - 32),
        48..=63 => format!("conf{}", n - 48),
        64 => "energy".into(),
        65 => "cycles".into(),
        _ => format!("$reg{n}"),
    }
}

fn operand_len(op: u8) -> usize {
    match op {
        0x0d | 0x16 | 0x22 | 0x2a | 0x32 => 1,
        0x20 | 0x21 | 0x23 | 0x26 | 0x2c | 0x2d | 0x2e | 0x30 => 2,
        0x24 => 4,
        0x25 => 8,
        _ => 0,
    }
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |v, &x| v << 8 | x as u64)
}

/// The stub's own form of a condition gdb compiled, when the bytecode is one
/// of the straight-line shapes gdb compiles `$REG OP CONSTANT` to and both
/// forms mean the same: `r0`-`r15` read signed (`reg; ext 32`) or `energy`
/// (`reg 64; ext 64`), compared signed with a constant.  Such a condition is
/// then checked by the condition-language evaluator (`flux_cond_eval`), the
/// one `monitor break` uses; anything else runs as bytecode.
pub fn to_comparison(code: &[u8]) -> Option<crate::runtime::condition::Comparison> {
    use crate::runtime::condition::{CmpOp, Comparison, Operand, Value};
    let (operand, rest) = match code {
        [0x26, 0x00, r @ 32..=47, 0x16, 32, rest @ ..] => (Operand::Reg(r - 32), rest),
        [0x26, 0x00, 64, 0x16, 64, rest @ ..] => (Operand::Energy, rest),
        _ => return None,
    };
    let n = match rest.first()? {
        0x22 => 1,
        0x23 => 2,
        0x24 => 4,
        0x25 => 8,
        _ => return None,
    };
    let mut value = be(rest.get(1..1 + n)?) as i64;
    let mut rest = &rest[1 + n..];
    if let [0x16, bits @ 1..=63, tail @ ..] = rest {
        let shift = 64 - *bits as u32;
        value = (value << shift) >> shift;
        rest = tail;
    }
    let op = match rest {
        [0x13, 0x27] => CmpOp::Eq,
        [0x13, 0x0e, 0x27] => CmpOp::Ne,
        [0x14, 0x27] => CmpOp::Lt,
        [0x14, 0x0e, 0x27] => CmpOp::Ge,
        [0x2b, 0x14, 0x27] => CmpOp::Gt,
        [0x2b, 0x14, 0x0e, 0x27] => CmpOp::Le,
        _ => return None,
    };
    Some(Comparison { operand, op, value: Value::Int(value) })
}

/// An expression in words: `r1 == 999` for the straight-line shapes gdb
/// compiles comparisons to, else the bytecode listed (`reg 33; ext 32; ...`).
pub fn describe(code: &[u8]) -> String {
    decompile(code).unwrap_or_else(|| listing(code))
}

/// `reg 33; ext 32; const16 999; equal; end`.
pub fn listing(code: &[u8]) -> String {
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let op = code[pc];
        let n = operand_len(op);
        let Some(arg) = code.get(pc + 1..pc + 1 + n) else {
            out.push(format!("{} <truncated>", name(op)));
            break;
        };
        out.push(match op {
            0x26 => format!("reg {}", register_name(be(arg))),
            _ if n > 0 => format!("{} {}", name(op), be(arg)),
            0x34 => {
                out.push("printf".into());
                break;
            }
            _ => name(op),
        });
        pc += 1 + n;
    }
    out.join("; ")
}

/// Straight-line code (no jumps) to an infix expression.
fn decompile(code: &[u8]) -> Option<String> {
    #[derive(Clone)]
    struct E {
        text: String,
        atom: bool,
    }
    let atom = |t: String| E { text: t, atom: true };
    let paren = |e: &E| if e.atom { e.text.clone() } else { format!("({})", e.text) };
    let mut st: Vec<E> = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let op = code[pc];
        let n = operand_len(op);
        let arg = code.get(pc + 1..pc + 1 + n)?;
        pc += 1 + n;
        let bin = |st: &mut Vec<E>, sym: &str| -> Option<()> {
            let b = st.pop()?;
            let a = st.pop()?;
            st.push(E { text: format!("{} {sym} {}", paren(&a), paren(&b)), atom: false });
            Some(())
        };
        match op {
            0x02 => bin(&mut st, "+")?,
            0x03 => bin(&mut st, "-")?,
            0x04 => bin(&mut st, "*")?,
            0x05 | 0x06 => bin(&mut st, "/")?,
            0x07 | 0x08 => bin(&mut st, "%")?,
            0x09 => bin(&mut st, "<<")?,
            0x0a | 0x0b => bin(&mut st, ">>")?,
            0x0f => bin(&mut st, "&")?,
            0x10 => bin(&mut st, "|")?,
            0x11 => bin(&mut st, "^")?,
            0x13 => bin(&mut st, "==")?,
            0x14 | 0x15 => bin(&mut st, "<")?,
            0x0e => {
                let a = st.pop()?;
                // log_not of a comparison is its opposite
                let t = a.text.clone();
                let flipped = [(" == ", " != "), (" < ", " >= ")]
                    .iter()
                    .find_map(|(x, y)| (!a.atom && t.matches(x).count() == 1 && !t.contains('(')).then(|| t.replace(x, y)));
                st.push(match flipped {
                    Some(t) => E { text: t, atom: false },
                    None => atom(format!("!{}", paren(&a))),
                });
            }
            0x12 => {
                let a = st.pop()?;
                st.push(atom(format!("~{}", paren(&a))));
            }
            0x16 | 0x2a => {} // sign and zero extension: the value as written
            0x17 | 0x18 | 0x19 | 0x1a => {
                let a = st.pop()?;
                let w = [8, 16, 32, 64][(op - 0x17) as usize];
                let addr = a.text.parse::<u64>().map_or(a.text.clone(), |v| format!("0x{v:X}"));
                st.push(atom(format!("mem{w}[{addr}]")));
            }
            0x22..=0x25 => {
                let v = be(arg);
                st.push(atom(if v > 0xFFFF { format!("0x{v:X}") } else { v.to_string() }));
            }
            0x26 => st.push(atom(register_name(be(arg)))),
            0x28 => {
                let a = st.last()?.clone();
                st.push(a);
            }
            0x29 => {
                st.pop()?;
            }
            0x2b => {
                let b = st.pop()?;
                let a = st.pop()?;
                st.push(b);
                st.push(a);
            }
            0x27 => return (st.len() == 1 && pc == code.len()).then(|| st.pop().map(|e| e.text)).flatten(),
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::vm_state::VmState;

    // gdb 13's bytecode for `$r1 == 999` (i386 carrier: r1 is register 33)
    const R1_EQ_999: &[u8] = &[0x26, 0x00, 0x21, 0x16, 0x20, 0x23, 0x03, 0xe7, 0x13, 0x27];

    #[test]
    fn checks_and_evaluates() {
        check(R1_EQ_999, false).unwrap();
        let mut s = VmState::new();
        assert_eq!(s.eval_agent(R1_EQ_999), Ok(0));
        s.registers[1] = 999;
        assert_eq!(s.eval_agent(R1_EQ_999), Ok(1));
        assert_eq!(describe(R1_EQ_999), "r1 == 999");
    }

    #[test]
    fn registers_memory_and_errors() {
        let mut s = VmState::new();
        s.confidences[2] = 0.5;
        s.registers[3] = -2;
        s.memory = vec![0; 0x10000];
        s.memory[0xFFF8..0xFFFC].copy_from_slice(&20u32.to_le_bytes());
        // conf2's bits
        assert_eq!(s.eval_agent(&[0x26, 0x00, 50, 0x27]), Ok(0.5f32.to_bits() as u64));
        // r3 zero-extended, then sign-extended by `ext 32`
        assert_eq!(s.eval_agent(&[0x26, 0x00, 35, 0x27]), Ok(0xFFFF_FFFE));
        assert_eq!(s.eval_agent(&[0x26, 0x00, 35, 0x16, 32, 0x27]), Ok(u64::MAX - 1));
        // *(int*)0xFFF8 == 20
        let mem = [0x23, 0xff, 0xf8, 0x19, 0x16, 0x20, 0x22, 20, 0x13, 0x27];
        assert_eq!(s.eval_agent(&mem), Ok(1));
        assert_eq!(describe(&mem), "mem32[0xFFF8] == 20");
        // a read past the end of memory is an error, not a value
        let past = [0x23, 0xff, 0xfe, 0x19, 0x27];
        assert_eq!(s.eval_agent(&past), Err(AxError { kind: AxErrorKind::BadMemory(0xFFFE), at: 3 }));
        assert_eq!(s.eval_agent(&[0x26, 0x00, 0x00, 0x27]).unwrap_err().kind, AxErrorKind::BadRegister(0));
        assert_eq!(s.eval_agent(&[0x22, 1, 0x22, 0, 0x05, 0x27]).unwrap_err().kind, AxErrorKind::DivZero);
    }

    #[test]
    fn jumps_stack_and_limits() {
        let s = VmState::new();
        // 1 ? 7 : 9 with if_goto / goto
        let code = [0x22, 1, 0x20, 0, 9, 0x22, 9, 0x21, 0, 11, 0x22, 7, 0x27];
        // offsets: 0 const8 1; 2 if_goto 9?  (the target must be an opcode)
        assert_eq!(check(&code, false).unwrap_err().kind, AxErrorKind::BadJump);
        let code = [0x22, 1, 0x20, 0, 10, 0x22, 9, 0x21, 0, 12, 0x22, 7, 0x27];
        check(&code, false).unwrap();
        assert_eq!(s.eval_agent(&code), Ok(7));
        // an endless loop is cut off
        let spin = [0x21, 0, 0];
        check(&spin, false).unwrap();
        assert_eq!(s.eval_agent(&spin).unwrap_err().kind, AxErrorKind::StepLimit);
        // pushing forever overflows the bounded stack
        let push = [0x22, 1, 0x21, 0, 0];
        assert_eq!(s.eval_agent(&push).unwrap_err().kind, AxErrorKind::StackOverflow);
        assert_eq!(s.eval_agent(&[0x02, 0x27]).unwrap_err().kind, AxErrorKind::StackUnderflow);
        assert_eq!(s.eval_agent(&[0x22, 1]).unwrap_err().kind, AxErrorKind::NoEnd);
        // rot: a b c => c a b; pick 1 copies b of a b
        assert_eq!(s.eval_agent(&[0x22, 1, 0x22, 2, 0x22, 3, 0x33, 0x27]), Ok(2));
        assert_eq!(s.eval_agent(&[0x22, 1, 0x22, 2, 0x32, 1, 0x27]), Ok(1));
    }

    #[test]
    fn malformed_bytecode_is_refused() {
        assert_eq!(check(&[], false).unwrap_err().kind, AxErrorKind::Empty);
        assert_eq!(check(&[0xff, 0x27], false).unwrap_err().kind, AxErrorKind::BadOpcode(0xff));
        assert_eq!(check(&[0x00], false).unwrap_err().kind, AxErrorKind::BadOpcode(0));
        assert_eq!(check(&[0x25, 1, 2], false).unwrap_err().kind, AxErrorKind::Truncated);
        assert_eq!(check(&[0x21, 0, 1, 0x27], false).unwrap_err().kind, AxErrorKind::BadJump);
        let printf = [0x22, 0, 0x22, 0, 0x34, 0, 0, 3, b'h', b'i', 0, 0x27];
        assert_eq!(check(&printf, false).unwrap_err().kind, AxErrorKind::Unsupported(0x34));
        check(&printf, true).unwrap();
        let unterminated = [0x22, 0, 0x22, 0, 0x34, 0, 0, 2, b'h', b'i', 0x27];
        assert_eq!(check(&unterminated, true).unwrap_err().kind, AxErrorKind::BadFormat);
    }

    #[test]
    fn armed_in_the_vm_replaced_and_removed() {
        use crate::runtime::vm::{StopKind, Vm, VmConfig};
        // r1 counts 1..10; 0x0C is the CMP_EQ of each round
        let src = "LOAD_IMM r2, 10\ntop: INCR r1\nSTORE32 r1, 0x8000\nCMP_EQ r3, r1, r2\nJZ r3, top\nHALT\n";
        let program = crate::program::asm::assemble(src).unwrap().bytes;
        let r1_is = |v: u8| vec![0x26, 0x00, 0x21, 0x22, v, 0x13, 0x27];
        let mut vm = Vm::with_program(&program, VmConfig::default()).unwrap();
        // another breakpoint's bytecode before ours in the pool, removed later
        vm.add_ax_breakpoint(7, 0x10, &[r1_is(99)], &[]).unwrap();
        vm.add_ax_breakpoint(9, 0x0C, &[r1_is(3)], &[]).unwrap();
        // sent again with two conditions: any of them
        vm.add_ax_breakpoint(9, 0x0C, &[r1_is(5), r1_is(8)], &[]).unwrap();
        assert!(vm.remove_cond_breakpoint(7));
        let mut seen = Vec::new();
        loop {
            let stop = vm.run(u64::MAX);
            match stop.kind {
                StopKind::CondBreakpoint { id: 9 } => seen.push(vm.regs().r[1]),
                StopKind::Halted { .. } => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, [5, 8]);
        // a bad expression is refused and the old one stays
        assert!(matches!(vm.add_ax_breakpoint(9, 0x0C, &[vec![0xff]], &[]), Err(crate::runtime::vm::VmError::AgentExpr(0x0C, _))));
        vm.reset();
        let stop = vm.run(u64::MAX);
        assert_eq!((stop.kind, vm.regs().r[1]), (StopKind::CondBreakpoint { id: 9 }, 5));
    }

    #[test]
    fn simple_comparisons_become_the_condition_language() {
        let c = to_comparison(R1_EQ_999).unwrap();
        assert_eq!(c.to_string(), "r1 == 999");
        // $energy < 5
        assert_eq!(to_comparison(&[0x26, 0x00, 0x40, 0x16, 0x40, 0x22, 0x05, 0x14, 0x27]).unwrap().to_string(), "energy < 5");
        // $r2 > -3 (a sign-extended constant), $r2 <= 7, $r2 != 1
        assert_eq!(to_comparison(&[0x26, 0x00, 34, 0x16, 32, 0x22, 0xfd, 0x16, 8, 0x2b, 0x14, 0x27]).unwrap().to_string(), "r2 > -3");
        assert_eq!(to_comparison(&[0x26, 0x00, 34, 0x16, 32, 0x22, 7, 0x2b, 0x14, 0x0e, 0x27]).unwrap().to_string(), "r2 <= 7");
        assert_eq!(to_comparison(&[0x26, 0x00, 34, 0x16, 32, 0x22, 1, 0x13, 0x0e, 0x27]).unwrap().to_string(), "r2 != 1");
        // the same meaning on every value: the two evaluators agree
        let mut s = VmState::new();
        for v in [-5, -3, -2, 0, 1, 7, 8, 999] {
            s.registers[2] = v;
            for code in [
                &[0x26, 0x00, 34, 0x16, 32, 0x22, 0xfd, 0x16, 8, 0x2b, 0x14, 0x27][..],
                &[0x26, 0x00, 34, 0x16, 32, 0x22, 7, 0x2b, 0x14, 0x0e, 0x27],
                &[0x26, 0x00, 34, 0x16, 32, 0x22, 1, 0x13, 0x0e, 0x27],
                &[0x26, 0x00, 34, 0x16, 32, 0x22, 7, 0x14, 0x0e, 0x27],
            ] {
                let c = to_comparison(code).unwrap();
                let cond = crate::runtime::condition::Condition::single(c.operand, c.op, c.value);
                assert_eq!(s.satisfies(&cond), s.eval_agent(code).unwrap() != 0, "{c} with r2 = {v}");
            }
        }
        // unsigned, memory, two comparisons: left to the bytecode evaluator
        assert!(to_comparison(&[0x26, 0x00, 33, 0x22, 3, 0x13, 0x27]).is_none());
        assert!(to_comparison(&[0x24, 0, 0, 0xff, 0xf8, 0x19, 0x16, 32, 0x22, 20, 0x13, 0x27]).is_none());
        assert!(to_comparison(&[0x26, 0x00, 33, 0x16, 32, 0x22, 3, 0x13, 0x27, 0x27]).is_none());
    }
}
