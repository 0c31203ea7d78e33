//! Program files: FLUX assembly (`.fasm`), an ELF executable from
//! `flux-gdbstub asm --elf` (told by its magic), or raw bytecode.
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::program::asm::{self, Assembled};

/// The largest assembly source or ELF file read as a program (raw bytecode:
/// the 64 KiB of memory).
pub const MAX_PROGRAM_FILE: u64 = 16 << 20;

/// Why an input file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}, not a regular file")]
    NotRegular(&'static str),
    #[error("{len} bytes, more than the {max} read at most")]
    TooLarge { len: u64, max: u64 },
}

/// Opens an input file for reading if it is a regular file.  A FIFO or a
/// device is refused before it is opened, and the open cannot block (a file
/// replaced by a FIFO in between is refused on the open descriptor).
/// Returns the file and its size.
pub fn open_regular(path: &Path) -> Result<(std::fs::File, u64), ReadError> {
    use rustix::fs::{FileType, Mode, OFlags};
    use std::os::unix::fs::MetadataExt;
    let check = |mode: u32| match FileType::from_raw_mode(mode) {
        FileType::RegularFile => Ok(()),
        t => Err(ReadError::NotRegular(crate::program::save_path::kind_of(t))),
    };
    check(std::fs::metadata(path)?.mode())?;
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())
        .map_err(std::io::Error::from)?;
    let st = rustix::fs::fstat(&fd).map_err(std::io::Error::from)?;
    check(st.st_mode as u32)?;
    Ok((std::fs::File::from(fd), st.st_size as u64))
}

/// Reads a whole input file: a regular file of at most `max` bytes (its size
/// is checked before reading, and no more than `max` bytes are read).
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let (file, len) = open_regular(path)?;
    if len > max {
        return Err(ReadError::TooLarge { len, max });
    }
    read_at_most(file, len, max)
}

fn read_at_most(file: std::fs::File, len: u64, max: u64) -> Result<Vec<u8>, ReadError> {
    let mut data = Vec::with_capacity(len as usize);
    file.take(max.saturating_add(1)).read_to_end(&mut data)?;
    if data.len() as u64 > max {
        // it grew since its size was read
        return Err(ReadError::TooLarge { len: data.len() as u64, max });
    }
    Ok(data)
}

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("{path}: {error}")]
    Read { path: PathBuf, error: ReadError },
    #[error("{path}:{error}")]
    Assembly { path: PathBuf, error: asm::AsmError },
    #[error("{path}: {len} bytes of bytecode do not fit in 64 KiB of memory")]
    TooLarge { path: PathBuf, len: usize },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: {error}")]
    Elf { path: PathBuf, error: crate::program::elf::ElfError },
}

/// A loaded program: its bytes and, for assembly, its source map.
#[derive(Debug, Clone)]
pub struct Program {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub source: Option<(String, Assembled)>,
    /// For a program loaded from an ELF file: its functions' names by
    /// address (empty otherwise; assembly has its labels in `source`).
    pub symbols: std::collections::BTreeMap<u32, String>,
    /// For a program loaded from an ELF file: the file as it was read.
    pub elf_file: Option<std::sync::Arc<[u8]>>,
}

/// The ELF file a debugger is given for a program (the stub serves it over
/// gdb's Host I/O, and names it through qXfer:exec-file): the program's
/// absolute path and the bytes of an ELF with its symbols and DWARF.
#[derive(Debug, Clone)]
pub struct ExecImage {
    pub path: PathBuf,
    pub bytes: std::sync::Arc<[u8]>,
}

impl Program {
    /// The one name of the function that starts at `entry` (see
    /// [`crate::program::names`]): from the source's labels, or from an ELF
    /// file's symbols.
    pub fn function_name(&self, entry: u32) -> String {
        let label = match &self.source {
            Some((_, a)) => a.label_at(entry),
            None => self.symbols.get(&entry).map(String::as_str),
        };
        crate::program::names::function_name(label, entry)
    }

    /// A program of raw bytecode, with no source and no symbols.
    pub fn from_bytes(path: PathBuf, bytes: Vec<u8>) -> Program {
        Program { path, bytes, source: None, symbols: Default::default(), elf_file: None }
    }

    pub fn is_assembly(path: &Path) -> bool {
        path.extension().is_some_and(|e| e.eq_ignore_ascii_case("fasm"))
    }

    /// The ELF file a debugger gets for this program, in memory: for an
    /// assembly source, the ELF `asm --elf` would write (symbols, DWARF with
    /// the source's lines); for a program loaded from an ELF file, that file
    /// as it was read; for raw bytecode, none.  Its path is the program's
    /// absolute path.
    pub fn exec_image(&self) -> Result<Option<ExecImage>, ProgramError> {
        let bytes: std::sync::Arc<[u8]> = match (&self.elf_file, &self.source) {
            (Some(file), _) => file.clone(),
            (None, Some((_, a))) => crate::program::elf::write(a, &self.path)
                .map_err(|error| ProgramError::Elf { path: self.path.clone(), error })?
                .into(),
            (None, None) => return Ok(None),
        };
        let path = std::fs::canonicalize(&self.path)
            .or_else(|_| std::path::absolute(&self.path))
            .unwrap_or_else(|_| self.path.clone());
        Ok(Some(ExecImage { path, bytes }))
    }

    /// The text of an assembly source file (UTF-8, at most [`MAX_PROGRAM_FILE`]
    /// bytes): what `asm` and loading a `.fasm` program read.
    pub fn read_source(path: &Path) -> Result<String, ProgramError> {
        let data = read_regular(path, MAX_PROGRAM_FILE).map_err(|error| ProgramError::Read { path: path.into(), error })?;
        asm::source_text(&data)
            .map(str::to_owned)
            .map_err(|error| ProgramError::Assembly { path: path.into(), error })
    }

    /// Loads a program file.  Only regular files are read, and the size is
    /// checked before reading: raw bytecode must fit in the 64 KiB of memory,
    /// an assembly source or an ELF file may have [`MAX_PROGRAM_FILE`] bytes.
    pub fn load(path: &Path) -> Result<Program, ProgramError> {
        let read = |error: ReadError| ProgramError::Read { path: path.into(), error };
        if Program::is_assembly(path) {
            let text = Program::read_source(path)?;
            let assembled = asm::assemble(&text).map_err(|error| ProgramError::Assembly { path: path.into(), error })?;
            return Ok(Program { path: path.into(), bytes: assembled.bytes.clone(), source: Some((text, assembled)), symbols: Default::default(), elf_file: None });
        }
        let (mut file, len) = open_regular(path).map_err(read)?;
        if len == 0 {
            return Err(ProgramError::Empty { path: path.into() });
        }
        // the first bytes tell an ELF file from raw bytecode
        let mut magic = Vec::with_capacity(4);
        (&mut file).take(4).read_to_end(&mut magic).map_err(|e| read(e.into()))?;
        let elf = crate::program::elf::is_elf(&magic);
        let max = if elf { MAX_PROGRAM_FILE } else { 0x10000 };
        if len > max {
            return Err(if elf { read(ReadError::TooLarge { len, max }) } else { ProgramError::TooLarge { path: path.into(), len: len as usize } });
        }
        let mut data = magic;
        data.extend(read_at_most(file, len, max - data.len() as u64).map_err(read)?);
        if elf {
            let bytes = crate::program::elf::load(&data).map_err(|error| ProgramError::Elf { path: path.into(), error })?;
            let symbols = crate::program::elf::function_symbols(&data);
            return Ok(Program { path: path.into(), bytes, source: None, symbols, elf_file: Some(data.into()) });
        }
        if data.is_empty() {
            return Err(ProgramError::Empty { path: path.into() });
        }
        Ok(Program::from_bytes(path.into(), data))
    }
}
