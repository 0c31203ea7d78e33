//! Where each instruction of a program is in a text a person reads: the
//! program's own assembly for a `.fasm` file, else its disassembly (the
//! `disasm` listing, with the ELF's symbols as labels).  Every line of either
//! holds at most one instruction, so a source line and an instruction are
//! the same step.  Front-ends that show sources (the DAP server) and the
//! call-stack unwinder read it.
use std::collections::BTreeMap;

use crate::program::asm::{self, Assembled};
use crate::program::debuginfo::{self, Function};
use crate::program::disasm;
use crate::program::load::Program;
use crate::runtime::isa;

#[derive(Debug, Clone)]
pub struct SourceMap {
    /// The text the lines count in.
    pub text: String,
    /// True for the program's own assembly; false for its disassembly.
    pub is_source: bool,
    pub assembled: Assembled,
    pub functions: Vec<Function>,
    /// Bytes each function has on the stack beyond its return address,
    /// before each of its instructions (the DWARF call-frame rules).
    pub depths: BTreeMap<u32, i64>,
}

impl SourceMap {
    pub fn of(program: &Program) -> SourceMap {
        let (text, is_source, assembled) = match &program.source {
            Some((text, a)) => (text.clone(), true, a.clone()),
            None => {
                let text = disasm::listing(&program.bytes);
                // asm(disasm(x)) == x: the listing assembles to the same bytes
                let mut a = asm::assemble(&text).unwrap_or_else(|e| {
                    log::warn!("the disassembly does not assemble again ({e}): no lines");
                    Assembled::default()
                });
                for (&addr, name) in &program.symbols {
                    a.labels.entry(name.clone()).or_insert(addr);
                }
                (text, false, a)
            }
        };
        let functions = debuginfo::functions(&assembled);
        let mut depths = BTreeMap::new();
        for f in &functions {
            depths.extend(debuginfo::stack_depths(&assembled, f));
        }
        SourceMap { text, is_source, assembled, functions, depths }
    }

    /// The line of the instruction at `addr`.
    pub fn line_of(&self, addr: u32) -> Option<usize> {
        self.assembled.line_of(addr)
    }

    /// The first instruction on `line` or after it: (address, its line).
    pub fn instruction_at_line(&self, line: usize) -> Option<(u32, usize)> {
        self.assembled.line_table.iter().filter(|&&(_, l)| l >= line).min_by_key(|&&(a, l)| (l, a)).copied()
    }

    /// The function `pc` is in.
    pub fn function_at(&self, pc: u32) -> Option<&Function> {
        self.functions.iter().find(|f| f.start <= pc && pc < f.end)
    }

    /// The function named `name` (its label or its one name).
    pub fn function_named(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The instruction that ends where `addr` starts (the CALL before a
    /// return address), if one does.
    pub fn instruction_before(&self, addr: u32) -> Option<disasm::Instruction> {
        let k = self.assembled.line_table.partition_point(|&(a, _)| a < addr);
        let &(prev, _) = self.assembled.line_table.get(k.checked_sub(1)?)?;
        match disasm::decode(self.assembled.bytes.get(prev as usize..)?, prev)? {
            disasm::Decoded::Instruction(i) if prev + i.len() as u32 == addr => Some(i),
            _ => None,
        }
    }

    /// Whether the instruction before `addr` is a call (so `addr` is a return address).
    pub fn follows_call(&self, addr: u32) -> bool {
        self.instruction_before(addr).is_some_and(|i| i.op.flow == isa::Flow::Call)
    }

    /// The addresses of the instructions, in order.
    pub fn instruction_addresses(&self) -> impl Iterator<Item = u32> + '_ {
        self.assembled.line_table.iter().map(|&(a, _)| a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytecode_gets_its_listing_as_source() {
        let a = asm::assemble("start: LOAD_IMM r1, 2\n CALL f\n HALT\nf: RET\n").unwrap();
        let p = Program::from_bytes("x.bin".into(), a.bytes.clone());
        let m = SourceMap::of(&p);
        assert!(!m.is_source);
        // line 1 is the listing's header
        assert_eq!(m.line_of(0), Some(2));
        assert_eq!(m.text.lines().nth(1), Some("  0000: LOAD_IMM      r1, 0x2"));
        let names: Vec<&str> = m.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["main", "fn_0x000A"]);
        assert!(m.follows_call(9));
        assert_eq!(m.instruction_at_line(1), Some((0, 2)));
    }
}
