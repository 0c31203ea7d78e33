//! Layer 2, programs: FLUX assembly both ways ([`asm`], [`disasm`], the
//! instruction text at an address included), ELF and DWARF ([`elf`],
//! [`debuginfo`]), loading a program file ([`load`]), and where files may be
//! read and written ([`save_path`]), the one name of each function ([`names`]),
//! where each instruction is in a text a person reads ([`source_map`]).  Imports the runtime only.
pub mod asm;
pub mod debuginfo;
pub mod disasm;
pub mod elf;
pub mod load;
pub mod names;
pub mod save_path;
pub mod source_map;

pub use load::{open_regular, read_regular, Program, ProgramError, ReadError, MAX_PROGRAM_FILE};
