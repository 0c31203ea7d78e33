//! Debug information for an assembled FLUX program, as stock gdb reads it:
//! functions (the entry point and every CALL target), a DWARF line table,
//! DWARF subprograms, and call-frame information.
//!
//! The frame rules follow the VM (runtime-c/flux_vm.c): the stack grows down
//! in 4-byte slots, CALL pushes the 4-byte address of the next instruction
//! and jumps, RET pops it.  That is exactly i386's convention, so on the
//! carrier target (esp = sp, eip = pc) the rules are i386's: at a function's
//! first instruction the CFA is esp + 4 and the return address is at CFA - 4;
//! every push or pop inside the function moves the CFA offset by the bytes it
//! moves sp.  gdb then unwinds FLUX calls with no FLUX knowledge at all.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use gimli::write::{
    Address, AttributeValue, CallFrameInstruction, CommonInformationEntry, DebugFrame, DwarfUnit, EndianVec,
    Expression, FrameDescriptionEntry, FrameTable, LineProgram, LineString, Sections,
};
use gimli::{LittleEndian, X86};

use crate::program::asm::Assembled;
use crate::runtime::isa;
use crate::program::disasm::{self, Decoded, Instruction};

/// Errors from writing DWARF (gimli refuses what it cannot encode).
#[derive(Debug, thiserror::Error)]
pub enum DebugInfoError {
    #[error("writing DWARF: {0}")]
    Dwarf(#[from] gimli::write::Error),
}

/// A FLUX function: the entry point or a CALL target, up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub start: u32,
    /// One past the function's last instruction byte.
    pub end: u32,
    /// The source line of its first instruction (0 when unknown).
    pub line: usize,
    /// The program's entry point (address 0): nothing called it, so gdb must
    /// stop unwinding there.
    pub is_entry: bool,
}

/// Everything the ELF writer needs, computed once from the assembly.
#[derive(Debug, Clone)]
pub struct DebugInfo {
    pub functions: Vec<Function>,
    /// Labels that start no function: (name, address), for local symbols.
    pub local_labels: Vec<(String, u32)>,
    /// One past the last instruction byte.
    pub code_end: u32,
    /// The source file's name (without its directory).
    pub file: String,
    /// DWARF sections by name (`.debug_info`, `.debug_line`, `.debug_frame`, ...), non-empty ones only.
    pub sections: Vec<(&'static str, Vec<u8>)>,
}

/// The instructions of the program, in address order.
fn instructions(a: &Assembled) -> Vec<Instruction> {
    a.line_table
        .iter()
        .filter_map(|&(addr, _)| match disasm::decode(a.bytes.get(addr as usize..)?, addr)? {
            Decoded::Instruction(i) => Some(i),
            Decoded::Byte { .. } => None,
        })
        .collect()
}

/// Where control goes after an instruction inside its function, from the
/// opcode table's control-flow column (runtime-c/flux_opcodes.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    /// Always to this address (JMP).
    Jump(u32),
    /// To this address or the next instruction (conditional jumps and loops).
    Branch(u32),
    /// Nowhere in this function (RET, IRET: the table's RETURN kind).
    Leave,
}

fn flow(i: &Instruction) -> Flow {
    let target = i.op.target_operand().and_then(|k| i.operands.get(k).copied());
    match (i.op.flow, target) {
        (isa::Flow::Jump, Some(t)) => Flow::Jump(t),
        (isa::Flow::Branch, Some(t)) => Flow::Branch(t),
        (isa::Flow::Return, _) => Flow::Leave,
        // CALL and SWI come back here.  END and TRAP kinds may fall through
        // (KILL of another agent, ASSERT that holds); HALT does not, but an
        // instruction no other path reaches keeps the depth before it anyway
        // (stack_depths), so following it changes nothing.
        _ => Flow::Next,
    }
}

/// How an instruction moves sp, in bytes pushed (negative: popped), as the
/// VM executes it.  CALL and SWI count 0: the callee or handler takes back
/// what they push before control returns here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StackEffect {
    Bytes(i64),
    /// ALLOCA: its immediate, rounded up to whole slots (flux_vm.c).
    Alloca(i64),
    /// FREEA releases a register's worth of bytes, unknown before run time:
    /// taken as releasing everything this function's ALLOCAs took.
    FreeAlloca,
}

/// The opcode table's stack column, seen from inside the function.
fn stack_effect(i: &Instruction) -> StackEffect {
    match (i.op.flow, i.op.stack_effect) {
        (isa::Flow::Call, _) => StackEffect::Bytes(0),
        (_, isa::StackEffect::Fixed(n)) => StackEffect::Bytes(n as i64),
        // the variable ones: a size in the instruction (ALLOCA) or in a register (FREEA)
        (_, isa::StackEffect::Variable) => match i.op.mode.operands().last() {
            Some(isa::Operand::Imm16) => StackEffect::Alloca(((*i.operands.last().unwrap_or(&0) as i64) + 3) & !3),
            _ => StackEffect::FreeAlloca,
        },
    }
}

/// The functions: address 0 (where pc starts) and every CALL target that is
/// an instruction, each running up to the next.
pub fn functions(a: &Assembled) -> Vec<Function> {
    let insns = instructions(a);
    let code_end = code_end(a);
    let starts_insn: BTreeSet<u32> = insns.iter().map(|i| i.addr).collect();
    let mut starts: BTreeSet<u32> = insns
        .iter()
        .filter(|i| i.op.flow == isa::Flow::Call)
        .filter_map(|i| i.op.target_operand().and_then(|k| i.operands.get(k).copied()))
        .filter(|t| starts_insn.contains(t))
        .collect();
    starts.insert(0);
    let starts: Vec<u32> = starts.into_iter().collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| {
            let end = starts.get(k + 1).copied().unwrap_or(code_end.max(start + 1));
            let name = crate::program::names::function_name_in(Some(a), start);
            Function { name, start, end, line: a.line_of(start).unwrap_or(0), is_entry: start == 0 }
        })
        .collect()
}

fn code_end(a: &Assembled) -> u32 {
    instructions(a).last().map(|i| i.addr + i.len() as u32).unwrap_or(0)
}

/// Bytes the function has on the stack (beyond the return address) before
/// each of its instructions, found by following its jumps from the entry.
/// An instruction no path reaches takes the depth after the one before it.
pub fn stack_depths(a: &Assembled, f: &Function) -> BTreeMap<u32, i64> {
    let insns: Vec<Instruction> = instructions(a).into_iter().filter(|i| i.addr >= f.start && i.addr < f.end).collect();
    let index: HashMap<u32, usize> = insns.iter().enumerate().map(|(k, i)| (i.addr, k)).collect();
    // (depth, bytes taken by ALLOCA on this path)
    let mut state: HashMap<u32, (i64, i64)> = HashMap::new();
    let mut work = vec![(f.start, (0i64, 0i64))];
    while let Some((addr, st)) = work.pop() {
        let Some(&k) = index.get(&addr) else { continue };
        if let Some(seen) = state.get(&addr) {
            if *seen != st {
                log::debug!("{}: stack depth at 0x{addr:04X} differs between paths ({} and {})", f.name, seen.0, st.0);
            }
            continue;
        }
        state.insert(addr, st);
        let i = &insns[k];
        let after = match stack_effect(i) {
            StackEffect::Alloca(n) => (st.0 + n, st.1 + n),
            StackEffect::Bytes(n) => (st.0 + n, st.1),
            StackEffect::FreeAlloca => (st.0 - st.1, 0),
        };
        let next = i.addr + i.len() as u32;
        match flow(i) {
            Flow::Next => work.push((next, after)),
            Flow::Jump(t) => work.push((t, after)),
            Flow::Branch(t) => {
                work.push((t, after));
                work.push((next, after));
            }
            Flow::Leave => {}
        }
    }
    let mut depths = BTreeMap::new();
    let mut carried = 0i64;
    for i in &insns {
        let d = match state.get(&i.addr) {
            Some(&(d, _)) => d,
            None => carried,
        };
        depths.insert(i.addr, d);
        carried = match stack_effect(i) {
            StackEffect::Bytes(n) | StackEffect::Alloca(n) => d + n,
            StackEffect::FreeAlloca => d,
        };
    }
    depths
}

/// The DWARF encoding: 32-bit addresses, DWARF 4 (what gdb 13 reads best).
const ENCODING: gimli::Encoding = gimli::Encoding { format: gimli::Format::Dwarf32, version: 4, address_size: 4 };

/// Builds the debug information of `a`, assembled from `source` (its path
/// as given; the compile unit records its absolute directory so `list`
/// finds it from anywhere).
pub fn build(a: &Assembled, source: &Path) -> Result<DebugInfo, DebugInfoError> {
    let functions = functions(a);
    let code_end = code_end(a);
    let starts: BTreeSet<u32> = functions.iter().map(|f| f.start).collect();
    let local_labels: Vec<(String, u32)> =
        a.labels.iter().filter(|(_, addr)| !starts.contains(addr)).map(|(n, &addr)| (n.clone(), addr)).collect();

    let abs = std::path::absolute(source).unwrap_or_else(|_| source.to_path_buf());
    let dir = abs.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    let file = abs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "program.fasm".into());

    let mut dwarf = DwarfUnit::new(ENCODING);
    let mut program = LineProgram::new(
        ENCODING,
        gimli::LineEncoding::default(),
        LineString::String(dir.clone().into_bytes()),
        LineString::String(file.clone().into_bytes()),
        None,
    );
    let dir_id = program.default_directory();
    let file_id = program.add_file(LineString::String(file.clone().into_bytes()), dir_id, None);
    program.begin_sequence(Some(Address::Constant(0)));
    for &(addr, line) in &a.line_table {
        let row = program.row();
        row.address_offset = addr as u64;
        row.file = file_id;
        row.line = line as u64;
        row.is_statement = true;
        // gdb 13 honours prologue_end: a FLUX function has no prologue, so a
        // breakpoint on it goes on its first instruction (without the flag
        // gdb would analyse the bytes as an x86 prologue).
        row.prologue_end = starts.contains(&addr);
        program.generate_row();
    }
    program.end_sequence(code_end as u64);
    dwarf.unit.line_program = program;

    let root = dwarf.unit.root();
    let cu = dwarf.unit.get_mut(root);
    cu.set(gimli::DW_AT_producer, AttributeValue::String(format!("flux-gdbstub asm {}", env!("CARGO_PKG_VERSION")).into_bytes()));
    // No DW_AT_language.  DW_LANG_Mips_Assembler (what this is) made lldb
    // 14 build no Function for a subprogram (it has no type system for
    // "assembler"): `breakpoint set -n fib` then fell back to the ELF
    // symbol, whose "prologue" lldb takes to be the first line, and stopped
    // one line late.  With no language lldb uses its default type system,
    // makes Functions, and honours prologue_end as gdb does; gdb's only
    // difference is the language's name (`minimal` instead of `asm`).
    cu.set(gimli::DW_AT_name, AttributeValue::String(file.clone().into_bytes()));
    cu.set(gimli::DW_AT_comp_dir, AttributeValue::String(dir.into_bytes()));
    cu.set(gimli::DW_AT_low_pc, AttributeValue::Address(Address::Constant(0)));
    cu.set(gimli::DW_AT_high_pc, AttributeValue::Udata(code_end as u64));

    for f in &functions {
        let sp = dwarf.unit.add(root, gimli::DW_TAG_subprogram);
        let e = dwarf.unit.get_mut(sp);
        e.set(gimli::DW_AT_name, AttributeValue::String(f.name.clone().into_bytes()));
        e.set(gimli::DW_AT_external, AttributeValue::Flag(true));
        e.set(gimli::DW_AT_low_pc, AttributeValue::Address(Address::Constant(f.start as u64)));
        e.set(gimli::DW_AT_high_pc, AttributeValue::Udata((f.end - f.start) as u64));
        e.set(gimli::DW_AT_decl_file, AttributeValue::FileIndex(Some(file_id)));
        e.set(gimli::DW_AT_decl_line, AttributeValue::Udata(f.line as u64));
        let mut frame_base = Expression::new();
        frame_base.op(gimli::DW_OP_call_frame_cfa);
        e.set(gimli::DW_AT_frame_base, AttributeValue::Exprloc(frame_base));
        // Labels inside the function (`break fib:small`).
        for (name, addr) in local_labels.iter().filter(|(_, a)| *a >= f.start && *a < f.end) {
            let l = dwarf.unit.add(sp, gimli::DW_TAG_label);
            let e = dwarf.unit.get_mut(l);
            e.set(gimli::DW_AT_name, AttributeValue::String(name.clone().into_bytes()));
            e.set(gimli::DW_AT_low_pc, AttributeValue::Address(Address::Constant(*addr as u64)));
            e.set(gimli::DW_AT_decl_file, AttributeValue::FileIndex(Some(file_id)));
            e.set(gimli::DW_AT_decl_line, AttributeValue::Udata(a.line_of(*addr).unwrap_or(0) as u64));
        }
    }

    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    dwarf.write(&mut sections)?;
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    sections.for_each(|id, data| -> Result<(), gimli::write::Error> {
        if !data.slice().is_empty() {
            out.push((id.name(), data.slice().to_vec()));
        }
        Ok(())
    })?;

    let mut frames = FrameTable::default();
    // CIE version 4 (a CFI version: it carries the address size); code
    // alignment 1 (FLUX instructions are byte-aligned), data alignment -4
    // (stack slots).
    let mut cie = CommonInformationEntry::new(ENCODING, 1, -4, X86::RA);
    cie.add_instruction(CallFrameInstruction::Cfa(X86::ESP, 4));
    cie.add_instruction(CallFrameInstruction::Offset(X86::RA, -4));
    let cie_id = frames.add_cie(cie);
    for f in &functions {
        let mut fde = FrameDescriptionEntry::new(Address::Constant(f.start as u64), f.end - f.start);
        if f.is_entry {
            // Nothing called the entry point: gdb's backtrace ends here.
            fde.add_instruction(0, CallFrameInstruction::Undefined(X86::RA));
        }
        let mut offset = 0i64;
        for (addr, depth) in stack_depths(a, f) {
            if depth != offset && depth >= 0 {
                fde.add_instruction(addr - f.start, CallFrameInstruction::CfaOffset(4 + depth as i32));
                offset = depth;
            }
        }
        frames.add_fde(cie_id, fde);
    }
    let mut debug_frame = DebugFrame(EndianVec::new(LittleEndian));
    frames.write_debug_frame(&mut debug_frame)?;
    out.push((".debug_frame", debug_frame.0.into_vec()));

    Ok(DebugInfo { functions, local_labels, code_end, file, sections: out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::asm::assemble;

    const FIB: &str = include_str!("../../examples/fibonacci.fasm");

    #[test]
    fn fib_functions_and_depths() {
        let a = assemble(FIB).unwrap();
        let fs = functions(&a);
        let names: Vec<(&str, u32, u32)> = fs.iter().map(|f| (f.name.as_str(), f.start, f.end)).collect();
        assert_eq!(names, vec![("start", 0, 0x0C), ("fib", 0x0C, 0x31)]);
        assert!(fs[0].is_entry && !fs[1].is_entry);
        let d = stack_depths(&a, &fs[1]);
        // PUSH_R r1 at 0x18, DECR after it one slot deeper; POP_R r1 at 0x1F
        // back; `small` (after RET) reached by JL with depth 0.
        let depth = |line: usize| {
            let addr = a.line_table.iter().find(|&&(_, l)| l == line).unwrap().0;
            d[&addr]
        };
        let src: Vec<&str> = FIB.lines().collect();
        let line_of = |needle: &str| src.iter().position(|l| l.contains(needle)).unwrap() + 1;
        assert_eq!(depth(line_of("DECR")), 4);
        assert_eq!(depth(line_of("POP_R     r1")), 4);
        assert_eq!(depth(line_of("PUSH_R    r0")), 0);
        assert_eq!(depth(line_of("CADD")), 0);
        assert_eq!(depth(line_of("MOV       r0, r1")), 0);
    }

    /// The stack effects named above are the VM's: every opcode, run once
    /// with zero operands on a stack of 17 slots, moves sp by what
    /// `stack_effect` says (control transfers excepted: their callee or
    /// target decides).
    #[test]
    fn stack_effects_agree_with_the_vm() {
        use crate::runtime::vm::{StopKind, Vm, VmConfig, DEFAULT_ENERGY};
        let push = crate::runtime::isa::by_mnemonic("PUSH_IMM8").unwrap();
        let mut checked = 0;
        for op in crate::runtime::isa::all().filter(|o| o.implemented) {
            // control transfers and ends: their target, callee or end decides
            if !matches!(op.flow, isa::Flow::Next | isa::Flow::Jump | isa::Flow::Branch) {
                continue;
            }
            let mut bytes: Vec<u8> = (0..17).flat_map(|_| [push.code, 0]).collect();
            let at = bytes.len() as u32;
            bytes.push(op.code);
            bytes.extend(std::iter::repeat_n(0, op.operand_bytes as usize));
            let Ok(mut vm) = Vm::with_program(&bytes, VmConfig { energy: DEFAULT_ENERGY, seed: 0 }) else { continue };
            vm.run(17);
            let before = vm.regs().sp as i64;
            let stop = vm.run(1);
            if matches!(stop.kind, StopKind::Fault { .. } | StopKind::Terminated { .. }) {
                continue;
            }
            let moved = before - vm.regs().sp as i64;
            let insn = match disasm::decode(&bytes[at as usize..], at) {
                Some(Decoded::Instruction(i)) => i,
                _ => continue,
            };
            let declared = match stack_effect(&insn) {
                StackEffect::Bytes(n) | StackEffect::Alloca(n) => n,
                StackEffect::FreeAlloca => 0, // FREEA r0 with r0 = 0
            };
            assert_eq!(moved, declared, "{} moves sp by {moved}", op.mnemonic);
            checked += 1;
        }
        assert!(checked > 200, "only {checked} opcodes ran");
    }

    #[test]
    fn alloca_and_freea() {
        let a = assemble("CALL f\nHALT\nf: PUSH_R r1\nALLOCA r2, 6\nFREEA r2\nPOP_R r1\nRET\n").unwrap();
        let fs = functions(&a);
        let d: Vec<i64> = stack_depths(&a, &fs[1]).values().copied().collect();
        assert_eq!(d, vec![0, 4, 12, 4, 0]);
    }

    #[test]
    fn sections_are_written() {
        let a = assemble(FIB).unwrap();
        let info = build(&a, Path::new("examples/fibonacci.fasm")).unwrap();
        let names: Vec<&str> = info.sections.iter().map(|(n, _)| *n).collect();
        for want in [".debug_info", ".debug_abbrev", ".debug_line", ".debug_frame"] {
            assert!(names.contains(&want), "{names:?}");
        }
        assert_eq!(info.local_labels, vec![("small".to_string(), 0x2D)]);
    }
}
