//! The FLUX disassembler.  Its listing is flux-disasm's default format:
//!
//! ```text
//! ; flux-disasm: 19 bytes
//!   0000: PUSH          0x2A
//!   0003: POP           r0
//!   0012: DB 0xFF
//! ```
//!
//! Two spaces, four uppercase hex digits, ": ", the mnemonic left-aligned in 14
//! columns (with at least one space after a longer one), operands joined by
//! ", ", registers as rN for any byte, immediates as 0x%X, and `DB 0x%02X` for
//! a byte that starts no complete instruction.
use std::sync::Arc;

use crate::runtime::isa::{self, OpcodeInfo, Operand};
use crate::runtime::records::TraceRecord;
use crate::runtime::vm::Vm;

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    pub addr: u32,
    pub op: &'static OpcodeInfo,
    /// Operand values in encoding order (register numbers or immediates).
    pub operands: Vec<u32>,
}

impl Instruction {
    pub fn len(&self) -> usize {
        self.op.len()
    }

    /// `MNEMONIC      op, op` without the address.
    pub fn text(&self) -> String {
        format_instruction(self.op, &self.operands)
    }
}

/// What starts at a given offset: an instruction, or a byte that is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Instruction(Instruction),
    Byte { addr: u32, value: u8 },
}

impl Decoded {
    pub fn len(&self) -> usize {
        match self {
            Decoded::Instruction(i) => i.len(),
            Decoded::Byte { .. } => 1,
        }
    }

    /// The text of a listing line after `ADDR: `.
    pub fn text(&self) -> String {
        match self {
            Decoded::Instruction(i) => i.text(),
            Decoded::Byte { value, .. } => format!("DB 0x{value:02X}"),
        }
    }
}

/// Decodes the instruction at `bytes[0]`, which lives at address `addr`.
/// An invalid opcode, or an instruction cut short by the end of `bytes`,
/// decodes as a single data byte.
pub fn decode(bytes: &[u8], addr: u32) -> Option<Decoded> {
    let &first = bytes.first()?;
    let Some(op) = isa::opcode(first) else {
        return Some(Decoded::Byte { addr, value: first });
    };
    if bytes.len() < op.len() {
        return Some(Decoded::Byte { addr, value: first });
    }
    let mut operands = Vec::with_capacity(4);
    let mut at = 1usize;
    for kind in op.mode.operands() {
        let (v, n) = match kind {
            Operand::Reg | Operand::Imm8 => (bytes[at] as u32, 1),
            Operand::Imm16 => (u16::from_le_bytes([bytes[at], bytes[at + 1]]) as u32, 2),
            Operand::Imm32 => (
                u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]),
                4,
            ),
        };
        operands.push(v);
        at += n;
    }
    Some(Decoded::Instruction(Instruction { addr, op, operands }))
}

/// `MNEMONIC      r1, 0x2A` in flux-disasm's layout.
pub fn format_instruction(op: &OpcodeInfo, operands: &[u32]) -> String {
    let ops: Vec<String> = op
        .mode
        .operands()
        .iter()
        .zip(operands)
        .map(|(kind, v)| match kind {
            Operand::Reg => format!("r{v}"),
            _ => format!("0x{v:X}"),
        })
        .collect();
    if ops.is_empty() {
        return op.mnemonic.to_string();
    }
    let mut s = format!("{:<14}", op.mnemonic);
    if op.mnemonic.len() >= 14 {
        s.push(' ');
    }
    s.push_str(&ops.join(", "));
    s
}

/// Decodes every instruction of `bytes`, which start at address `base`.
pub fn decode_all(bytes: &[u8], base: u32) -> Vec<Decoded> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < bytes.len() {
        let Some(d) = decode(&bytes[off..], base.wrapping_add(off as u32)) else { break };
        off += d.len();
        out.push(d);
    }
    out
}

/// One listing line: `  0000: PUSH          0x2A`.
pub fn listing_line(d: &Decoded) -> String {
    let addr = match d {
        Decoded::Instruction(i) => i.addr,
        Decoded::Byte { addr, .. } => *addr,
    };
    format!("  {:04X}: {}", addr, d.text())
}

/// The whole listing of a program file, header included.
pub fn listing(bytes: &[u8]) -> String {
    let mut s = format!("; flux-disasm: {} bytes\n", bytes.len());
    for d in decode_all(bytes, 0) {
        s.push_str(&listing_line(&d));
        s.push('\n');
    }
    s
}


/// The instruction at `addr` in listing form, or a note when there is none
/// (what `monitor why`, trace records and replay diffs show).
pub fn instruction_at(vm: &Vm, addr: u32) -> String {
    instruction_in(vm.memory_view(), addr)
}

/// [`instruction_at`] over a copy of memory.
pub fn instruction_in(mem: &[u8], addr: u32) -> String {
    let Some(bytes) = mem.get(addr as usize..).filter(|b| !b.is_empty()) else {
        return "(outside memory)".into();
    };
    decode(&bytes[..bytes.len().min(6)], addr).map(|d| d.text()).unwrap_or_default()
}

/// The disassembly of each address, made once while the bytes there stay
/// the same (a trace visits the same few addresses millions of times).
#[derive(Default)]
pub struct TextCache {
    slots: Vec<Option<(u64, Arc<str>)>>,
}

impl TextCache {
    pub fn text(&mut self, mem: &[u8], pc: u32) -> Arc<str> {
        let Some(bytes) = mem.get(pc as usize..) else { return Arc::from("") };
        // the key: up to 6 instruction bytes and how many there are
        let n = bytes.len().min(6);
        let key = bytes[..n].iter().rev().fold(n as u64, |k, &b| k << 8 | u64::from(b));
        if self.slots.is_empty() {
            self.slots = vec![None; mem.len()];
        }
        match &mut self.slots[pc as usize] {
            Some((k, text)) if *k == key => text.clone(),
            slot => {
                let text: Arc<str> = instruction_in(mem, pc).into();
                *slot = Some((key, text.clone()));
                text
            }
        }
    }
}


impl TextCache {
    /// Fills in the disassembly of records parsed by the runtime, from
    /// memory as it is now.
    pub fn fill(&mut self, mem: &[u8], records: &mut [TraceRecord]) {
        for r in records {
            r.text = self.text(mem, r.pc);
        }
    }
}

/// The trace records the VM made since the last call, with their disassembly.
pub fn take_trace(vm: &mut Vm, texts: &mut TextCache) -> Vec<TraceRecord> {
    let mut records = vm.take_trace();
    texts.fill(vm.memory_view(), &mut records);
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_flux_disasm_example() {
        let bytes = [
            0x04, 0x2A, 0x00, 0x05, 0x00, 0x20, 0x02, 0x00, 0x01, 0x07, 0x03, 0x10, 0x00, 0x82,
            0x03, 0x5F, 0x00, 0x0B, 0xFF,
        ];
        let expected = "; flux-disasm: 19 bytes
  0000: PUSH          0x2A
  0003: POP           r0
  0005: CADD          r2, r0, r1
  0009: JZ            r3, 0x10
  000D: CONF_SET      r3, 0x5F
  0011: HALT
  0012: DB 0xFF
";
        assert_eq!(listing(&bytes), expected);
    }

    #[test]
    fn truncated_instruction_is_data() {
        // JZ needs three operand bytes and MOV two: both are cut short.
        assert_eq!(listing(&[0x07, 0x01]), "; flux-disasm: 2 bytes\n  0000: DB 0x07\n  0001: DB 0x01\n");
    }

    #[test]
    fn long_mnemonics_keep_a_space() {
        let op = isa::by_mnemonic("TRUST_THRESHOLD").unwrap();
        assert_eq!(format_instruction(op, &[1, 50]), "TRUST_THRESHOLD r1, 0x32");
    }
}
