//! Program files: FLUX assembly (`.fasm`) or raw bytecode (anything else).
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

    pub fn load(path: &Path) -> Result<Program, ProgramError> {
        let data = std::fs::read(path).map_err(|error| ProgramError::Read { path: path.into(), error })?;
        if Program::is_assembly(path) {
            let text = String::from_utf8_lossy(&data).into_owned();
            let assembled = asm::assemble(&text).map_err(|error| ProgramError::Assembly { path: path.into(), error })?;
            return Ok(Program { path: path.into(), bytes: assembled.bytes.clone(), source: Some((text, assembled)) });
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
