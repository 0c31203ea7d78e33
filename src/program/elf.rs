//! FLUX programs as ELF32 i386 executables (`flux-gdbstub asm --elf`), and
//! reading them back (`serve` and `run` accept them).
//!
//! The file is what stock gdb needs to debug FLUX at source level on the
//! i386 carrier target: the bytecode in `.text` at its load address (0,
//! where pc starts) under one PT_LOAD segment, entry point 0, a symbol per
//! label (functions for CALL targets), and the DWARF of [`crate::program::debuginfo`].
//! Written with `object`'s ELF writer: `object::write::Object` only makes
//! relocatable files, and an executable with a program header is what gdb and
//! `readelf` expect of a program.
use std::path::Path;

use object::elf;
use object::read::elf::{ElfFile32, FileHeader as _, ProgramHeader as _, SectionHeader as _};
use object::write::elf::{FileHeader, ProgramHeader, SectionHeader, Sym, Writer};
use object::Endianness;

use crate::program::asm::Assembled;
use crate::program::debuginfo::{self, DebugInfo, DebugInfoError};
use crate::runtime::vm::MEM_SIZE;

/// The functions an ELF file names (its STT_FUNC symbols), by address: the
/// names gdb shows, so that reports on a program loaded from the ELF use
/// them too.  A file without a symbol table names none.
pub fn function_symbols(data: &[u8]) -> std::collections::BTreeMap<u32, String> {
    use object::{Object as _, ObjectSymbol as _, SymbolKind};
    let Ok(file) = ElfFile32::<Endianness>::parse(data) else { return Default::default() };
    file.symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.is_global())
        .filter_map(|s| Some((u32::try_from(s.address()).ok()?, s.name().ok()?.to_string())))
        .collect()
}

/// The ELF magic, for telling an ELF program file from raw bytecode.
pub const MAGIC: &[u8; 4] = b"\x7fELF";

#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error(transparent)]
    DebugInfo(#[from] DebugInfoError),
    #[error("writing ELF: {0}")]
    Write(#[from] object::write::Error),
    #[error("not a FLUX ELF file: {0}")]
    Malformed(String),
}

/// True when `data` starts with the ELF magic.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// Writes `a` (assembled from `source`) as an ELF32 i386 executable.
pub fn write(a: &Assembled, source: &Path) -> Result<Vec<u8>, ElfError> {
    let info = debuginfo::build(a, source)?;
    write_with(a, &info)
}

fn write_with(a: &Assembled, info: &DebugInfo) -> Result<Vec<u8>, ElfError> {
    let mut buffer = Vec::new();
    let mut w = Writer::new(Endianness::Little, false, &mut buffer);

    // Layout: header, one program header, .text, the DWARF sections, then
    // the symbol and string tables and the section headers.
    w.reserve_file_header();
    w.reserve_program_headers(1);
    let text_name = w.add_section_name(b".text");
    let text_index = w.reserve_section_index();
    let text_offset = w.reserve(a.bytes.len(), 4);
    let mut debug = Vec::new();
    for (name, data) in &info.sections {
        let name_id = w.add_section_name(name.as_bytes());
        let index = w.reserve_section_index();
        let offset = w.reserve(data.len(), 1);
        debug.push((name_id, index, offset, data));
    }

    // Symbols: locals (the file, labels that start no function) first, as
    // ELF requires, then a global function symbol per function.
    let file_name = w.add_string(info.file.as_bytes());
    w.reserve_null_symbol_index();
    w.reserve_symbol_index(None);
    let labels: Vec<_> = info.local_labels.iter().map(|(n, addr)| (w.add_string(n.as_bytes()), *addr)).collect();
    for _ in &labels {
        w.reserve_symbol_index(Some(text_index));
    }
    let funcs: Vec<_> = info.functions.iter().map(|f| (w.add_string(f.name.as_bytes()), f)).collect();
    for _ in &funcs {
        w.reserve_symbol_index(Some(text_index));
    }
    let num_local = 2 + labels.len() as u32;
    w.reserve_symtab_section_index();
    w.reserve_symtab();
    w.reserve_strtab_section_index();
    w.reserve_strtab();
    w.reserve_shstrtab_section_index();
    w.reserve_shstrtab();
    w.reserve_section_headers();

    w.write_file_header(&FileHeader {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_type: elf::ET_EXEC,
        e_machine: elf::EM_386,
        e_entry: 0,
        e_flags: 0,
    })?;
    w.write_align_program_headers();
    w.write_program_header(&ProgramHeader {
        p_type: elf::PT_LOAD,
        // FLUX memory is all readable, writable and executable.
        p_flags: elf::PF_R | elf::PF_W | elf::PF_X,
        p_offset: text_offset as u64,
        p_vaddr: 0,
        p_paddr: 0,
        p_filesz: a.bytes.len() as u64,
        p_memsz: a.bytes.len() as u64,
        p_align: 4,
    });
    w.write_align(4);
    w.write(&a.bytes);
    for (_, _, _, data) in &debug {
        w.write(data);
    }

    w.write_null_symbol();
    w.write_symbol(&Sym {
        name: Some(file_name),
        section: None,
        st_info: (elf::STB_LOCAL << 4) | elf::STT_FILE,
        st_other: 0,
        st_shndx: elf::SHN_ABS,
        st_value: 0,
        st_size: 0,
    });
    for (name, addr) in &labels {
        w.write_symbol(&Sym {
            name: Some(*name),
            section: Some(text_index),
            st_info: (elf::STB_LOCAL << 4) | elf::STT_NOTYPE,
            st_other: 0,
            st_shndx: 0,
            st_value: *addr as u64,
            st_size: 0,
        });
    }
    for (name, f) in &funcs {
        w.write_symbol(&Sym {
            name: Some(*name),
            section: Some(text_index),
            st_info: (elf::STB_GLOBAL << 4) | elf::STT_FUNC,
            st_other: elf::STV_DEFAULT,
            st_shndx: 0,
            st_value: f.start as u64,
            st_size: (f.end - f.start) as u64,
        });
    }
    w.write_strtab();
    w.write_shstrtab();

    w.write_null_section_header();
    w.write_section_header(&SectionHeader {
        name: Some(text_name),
        sh_type: elf::SHT_PROGBITS,
        sh_flags: (elf::SHF_ALLOC | elf::SHF_WRITE | elf::SHF_EXECINSTR) as u64,
        sh_addr: 0,
        sh_offset: text_offset as u64,
        sh_size: a.bytes.len() as u64,
        sh_link: 0,
        sh_info: 0,
        sh_addralign: 1,
        sh_entsize: 0,
    });
    for (name, _, offset, data) in &debug {
        w.write_section_header(&SectionHeader {
            name: Some(*name),
            sh_type: elf::SHT_PROGBITS,
            sh_flags: 0,
            sh_addr: 0,
            sh_offset: *offset as u64,
            sh_size: data.len() as u64,
            sh_link: 0,
            sh_info: 0,
            sh_addralign: 1,
            sh_entsize: 0,
        });
    }
    w.write_symtab_section_header(num_local);
    w.write_strtab_section_header();
    w.write_shstrtab_section_header();
    debug_assert_eq!(w.reserved_len(), w.len());
    Ok(buffer)
}

/// The memory image of an ELF program file: its PT_LOAD segments (or, with
/// none, its allocated sections) at their addresses, zeros between.
pub fn load(data: &[u8]) -> Result<Vec<u8>, ElfError> {
    let bad = |m: String| ElfError::Malformed(m);
    let file = ElfFile32::<Endianness>::parse(data).map_err(|e| bad(format!("{e} (an ELF32 file is expected)")))?;
    let header = file.elf_header();
    let endian = file.endian();
    let machine = header.e_machine(endian);
    if machine != elf::EM_386 {
        return Err(bad(format!("e_machine is {machine}, not EM_386 (3), the FLUX carrier `asm --elf` writes")));
    }
    let mut pieces: Vec<(u64, u64, &[u8])> = Vec::new();
    for ph in file.elf_program_headers() {
        if ph.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        let bytes = ph.data(endian, data).map_err(|()| bad("a PT_LOAD segment lies outside the file".into()))?;
        pieces.push((ph.p_vaddr(endian) as u64, ph.p_memsz(endian) as u64, bytes));
    }
    if pieces.is_empty() {
        for sh in file.elf_section_table().iter() {
            let flags = sh.sh_flags(endian) as u64;
            if flags & elf::SHF_ALLOC as u64 == 0 || sh.sh_type(endian) != elf::SHT_PROGBITS {
                continue;
            }
            let bytes = sh.data(endian, data).map_err(|_| bad("a section lies outside the file".into()))?;
            pieces.push((sh.sh_addr(endian) as u64, sh.sh_size(endian) as u64, bytes));
        }
    }
    if pieces.is_empty() {
        return Err(bad("no PT_LOAD segment and no allocated section: nothing to load".into()));
    }
    let mut image = Vec::new();
    for (addr, memsz, bytes) in pieces {
        let size = memsz.max(bytes.len() as u64);
        let end = addr.checked_add(size).filter(|&e| e <= MEM_SIZE as u64).ok_or_else(|| {
            bad(format!("{size} bytes at 0x{addr:X} do not fit in the 64 KiB of FLUX memory"))
        })?;
        if image.len() < end as usize {
            image.resize(end as usize, 0);
        }
        image[addr as usize..addr as usize + bytes.len()].copy_from_slice(bytes);
    }
    if image.is_empty() {
        return Err(bad("the loadable segments are empty".into()));
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::asm::assemble;

    #[test]
    fn round_trip() {
        let a = assemble(include_str!("../../examples/fibonacci.fasm")).unwrap();
        let bytes = write(&a, Path::new("examples/fibonacci.fasm")).unwrap();
        assert!(is_elf(&bytes));
        assert_eq!(load(&bytes).unwrap(), a.bytes);
    }

    #[test]
    fn malformed_input_is_one_error() {
        let a = assemble("HALT\n").unwrap();
        let good = write(&a, Path::new("x.fasm")).unwrap();
        // every truncation and a few corruptions: errors or a loaded image, never a panic
        for n in 0..good.len() {
            let _ = load(&good[..n]);
        }
        for k in 0..good.len() {
            let mut bad = good.clone();
            bad[k] ^= 0xFF;
            let _ = load(&bad);
        }
        let e = load(b"\x7fELF\x02\x01\x01").unwrap_err().to_string();
        assert!(e.starts_with("not a FLUX ELF file:"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
