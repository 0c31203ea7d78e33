//! Program files: FLUX assembly (`.fasm`), an ELF executable from
//! `flux-gdbstub asm --elf` (told by its magic), or raw bytecode.
use std::path::{Path, PathBuf};

use crate::asm::{self, Assembled};

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("{path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path}:{error}")]
    Assembly { path: PathBuf, error: asm::AsmError },
    #[error("{path}: {len} bytes of bytecode do not fit in 64 KiB of memory")]
    TooLarge { path: PathBuf, len: usize },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: {error}")]
    Elf { path: PathBuf, error: crate::elf::ElfError },
}

/// A loaded program: its bytes and, for assembly, its source map.
#[derive(Debug, Clone)]
pub struct Program {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub source: Option<(String, Assembled)>,
}

impl Program {
    pub fn is_assembly(path: &Path) -> bool {
        path.extension().is_some_and(|e| e.eq_ignore_ascii_case("fasm"))
    }

    /// For a program loaded from an ELF file, the file's absolute path: the
    /// stub hands it to gdb (qXfer:exec-file) so gdb reads its symbols and
    /// DWARF without a `file` command.
    pub fn elf_path(&self) -> Option<PathBuf> {
        let mut magic = [0u8; 4];
        let mut f = std::fs::File::open(&self.path).ok()?;
        std::io::Read::read_exact(&mut f, &mut magic).ok()?;
        if !crate::elf::is_elf(&magic) {
            return None;
        }
        std::fs::canonicalize(&self.path).ok()
    }

    pub fn load(path: &Path) -> Result<Program, ProgramError> {
        let data = std::fs::read(path).map_err(|error| ProgramError::Read { path: path.into(), error })?;
        if Program::is_assembly(path) {
            let text = String::from_utf8_lossy(&data).into_owned();
            let assembled = asm::assemble(&text).map_err(|error| ProgramError::Assembly { path: path.into(), error })?;
            return Ok(Program { path: path.into(), bytes: assembled.bytes.clone(), source: Some((text, assembled)) });
        }
        if crate::elf::is_elf(&data) {
            let bytes = crate::elf::load(&data).map_err(|error| ProgramError::Elf { path: path.into(), error })?;
            return Ok(Program { path: path.into(), bytes, source: None });
        }
        if data.is_empty() {
            return Err(ProgramError::Empty { path: path.into() });
        }
        if data.len() > 0x10000 {
            return Err(ProgramError::TooLarge { path: path.into(), len: data.len() });
        }
        Ok(Program { path: path.into(), bytes: data, source: None })
    }
}
