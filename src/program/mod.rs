//! Layer 2, programs: FLUX assembly both ways ([`asm`], [`disasm`], the
//! instruction text at an address included), ELF and DWARF ([`elf`],
//! [`debuginfo`]), loading a program file ([`load`]), and where files may be
//! read and written ([`save_path`]), the one name of each function ([`names`]).  Imports the runtime only.
pub mod asm;
pub mod debuginfo;
pub mod disasm;
pub mod elf;
pub mod load;
pub mod names;
pub mod save_path;

pub use load::{open_regular, read_regular, Program, ProgramError, ReadError, MAX_PROGRAM_FILE};
