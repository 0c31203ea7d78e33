//! The FLUX opcode table, read from runtime-c through the bindings.
//!
//! runtime-c/flux_opcodes.h is the one definition; this module only exposes it
//! to Rust (the assembler, the disassembler, the stub's `monitor isa json`).
use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::OnceLock;

use crate::runtime::ffi;

/// How an instruction's operand bytes are laid out after the opcode byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    None,
    R,
    RR,
    RRR,
    RI16,
    I16,
    I8,
    RI8,
    RRI8,
    RRRI8,
    I32,
    RI32,
}

/// One operand slot of a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    Reg,
    Imm8,
    Imm16,
    Imm32,
}

impl Mode {
    fn from_raw(raw: u8) -> Mode {
        match raw as u32 {
            ffi::FLUX_MODE_R => Mode::R,
            ffi::FLUX_MODE_RR => Mode::RR,
            ffi::FLUX_MODE_RRR => Mode::RRR,
            ffi::FLUX_MODE_RI16 => Mode::RI16,
            ffi::FLUX_MODE_I16 => Mode::I16,
            ffi::FLUX_MODE_I8 => Mode::I8,
            ffi::FLUX_MODE_RI8 => Mode::RI8,
            ffi::FLUX_MODE_RRI8 => Mode::RRI8,
            ffi::FLUX_MODE_RRRI8 => Mode::RRRI8,
            ffi::FLUX_MODE_I32 => Mode::I32,
            ffi::FLUX_MODE_RI32 => Mode::RI32,
            _ => Mode::None,
        }
    }

    /// The operands in encoding order.
    pub fn operands(self) -> &'static [Operand] {
        use Operand::*;
        match self {
            Mode::None => &[],
            Mode::R => &[Reg],
            Mode::RR => &[Reg, Reg],
            Mode::RRR => &[Reg, Reg, Reg],
            Mode::RI16 => &[Reg, Imm16],
            Mode::I16 => &[Imm16],
            Mode::I8 => &[Imm8],
            Mode::RI8 => &[Reg, Imm8],
            Mode::RRI8 => &[Reg, Reg, Imm8],
            Mode::RRRI8 => &[Reg, Reg, Reg, Imm8],
            Mode::I32 => &[Imm32],
            Mode::RI32 => &[Reg, Imm32],
        }
    }
}

/// Where control can go when an instruction runs, besides a fault (the FLOW
/// column of runtime-c/flux_opcodes.h, whose comment defines each kind).
/// An opcode whose outcome depends on its operands or the machine state has
/// the kind of what it can do beyond falling through (LOOP: `Branch`,
/// ASSERT: `Trap`, KILL: `End`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flow {
    /// Falls through to the next instruction only.
    Next,
    /// Always to its target (JMP).
    Jump,
    /// To its target or the next instruction (JZ, JNZ, Jcc, LOOPs).
    Branch,
    /// To a routine, pushing the return address: CALL (to its operand), SWI
    /// (to the handler in its IVT entry; it pushes the flags after the address).
    Call,
    /// To the address it pops: RET, IRET.
    Return,
    /// Can end the running agent, and with agent 1 the program: HALT,
    /// APOPTOSIS, KILL.
    End,
    /// Stops the run on purpose: BRK, PANIC always; ASSERT and BOUND when
    /// their check fails.
    Trap,
}

impl Flow {
    fn from_raw(raw: u8) -> Flow {
        match raw as u32 {
            ffi::FLUX_FLOW_JUMP => Flow::Jump,
            ffi::FLUX_FLOW_BRANCH => Flow::Branch,
            ffi::FLUX_FLOW_CALL => Flow::Call,
            ffi::FLUX_FLOW_RETURN => Flow::Return,
            ffi::FLUX_FLOW_END => Flow::End,
            ffi::FLUX_FLOW_TRAP => Flow::Trap,
            _ => Flow::Next,
        }
    }
}

/// How far an instruction moves sp down when it runs: bytes pushed minus
/// bytes popped (the stack column of runtime-c/flux_opcodes.h).  A CALL
/// counts its own push (CALL 4, SWI 8), which the routine's RETURN takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StackEffect {
    /// Always this many bytes (negative: popped).
    Fixed(i32),
    /// Depends on an operand or a register: ALLOCA pushes its imm16 rounded
    /// up to a 4-byte slot, FREEA pops its register's value rounded up.
    Variable,
}

impl StackEffect {
    fn from_raw(raw: i8) -> StackEffect {
        if raw as i32 == ffi::FLUX_STACK_VAR as i32 {
            StackEffect::Variable
        } else {
            StackEffect::Fixed(raw as i32)
        }
    }
}

/// What the table says of one opcode.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OpcodeInfo {
    pub code: u8,
    pub mnemonic: &'static str,
    #[serde(skip)]
    pub mode: Mode,
    #[serde(rename = "mode")]
    pub mode_name: &'static str,
    pub operand_bytes: u8,
    pub category: &'static str,
    pub energy: u8,
    pub implemented: bool,
    pub flow: Flow,
    /// In JSON: a number of bytes, or "variable".
    #[serde(serialize_with = "stack_effect_json")]
    pub stack_effect: StackEffect,
}

fn stack_effect_json<S: serde::Serializer>(e: &StackEffect, s: S) -> Result<S::Ok, S::Error> {
    match e {
        StackEffect::Fixed(n) => s.serialize_i32(*n),
        StackEffect::Variable => s.serialize_str("variable"),
    }
}

impl OpcodeInfo {
    /// Bytes of the whole instruction, opcode included.
    pub fn len(&self) -> usize {
        1 + self.operand_bytes as usize
    }

    /// Which operand is the address a JUMP, BRANCH or CALL goes to, when the
    /// instruction holds it (its 16-bit immediate); None for every other
    /// kind, and for SWI, whose routine is read from the interrupt table.
    pub fn target_operand(&self) -> Option<usize> {
        match self.flow {
            Flow::Jump | Flow::Branch | Flow::Call => {
                let ops = self.mode.operands();
                matches!(ops.last(), Some(Operand::Imm16)).then(|| ops.len() - 1)
            }
            _ => None,
        }
    }
}

struct Table {
    by_code: Vec<Option<OpcodeInfo>>,
    by_name: HashMap<&'static str, u8>,
}

fn static_str(p: *const std::os::raw::c_char) -> &'static str {
    // SAFETY: runtime-c returns pointers to string literals (static storage).
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("?")
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut by_code = Vec::with_capacity(256);
        let mut by_name = HashMap::new();
        for code in 0..=255u8 {
            // SAFETY: flux_opcode_info_of accepts every byte and returns a
            // pointer into a static table.
            let raw = unsafe { &*ffi::flux_opcode_info_of(code) };
            if raw.mnemonic.is_null() {
                by_code.push(None);
                continue;
            }
            let info = OpcodeInfo {
                code,
                mnemonic: static_str(raw.mnemonic),
                mode: Mode::from_raw(raw.mode),
                // SAFETY: runtime-c returns a pointer to a static C string literal (never freed) for any mode value.
                mode_name: static_str(unsafe { ffi::flux_mode_name(raw.mode) }),
                operand_bytes: raw.operand_bytes,
                // SAFETY: runtime-c returns a pointer to a static C string literal (never freed) for any category value.
                category: static_str(unsafe { ffi::flux_category_name(raw.category) }),
                energy: raw.energy,
                implemented: raw.implemented != 0,
                flow: Flow::from_raw(raw.flow),
                stack_effect: StackEffect::from_raw(raw.stack),
            };
            by_name.insert(info.mnemonic, code);
            by_code.push(Some(info));
        }
        Table { by_code, by_name }
    })
}

/// The opcode with this byte, or None for 0xF7–0xFF.
pub fn opcode(code: u8) -> Option<&'static OpcodeInfo> {
    table().by_code[code as usize].as_ref()
}

/// Looks a mnemonic up, case-insensitively.
pub fn by_mnemonic(name: &str) -> Option<&'static OpcodeInfo> {
    let upper = name.to_ascii_uppercase();
    table().by_name.get(upper.as_str()).and_then(|&c| opcode(c))
}

/// Every opcode, in code order.
pub fn all() -> impl Iterator<Item = &'static OpcodeInfo> {
    table().by_code.iter().flatten()
}

/// The table as JSON (for `monitor isa json` and the gdb extension).
pub fn to_json() -> String {
    let ops: Vec<&OpcodeInfo> = all().collect();
    serde_json::to_string(&ops).unwrap_or_else(|_| "[]".into())
}
