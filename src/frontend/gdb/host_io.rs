//! gdb's Host I/O (`vFile:`), read-only, for one file: the program's ELF in
//! memory ([`ExecImage`]).
//!
//! qXfer:exec-file names the program's absolute path; gdb (whose sysroot is
//! `target:` by default) then opens that path with `vFile:open` and reads the
//! symbols and DWARF over the connection, so `serve prog.fasm` is debugged at
//! source level with no `asm --elf` step and no `file` command, from this
//! machine or another.  Answering `vFile:open` at all also tells gdb that the
//! stub transfers files, so it no longer warns "remote target does not
//! support file transfer".
//!
//! Nothing here touches the file system: `open` succeeds only for the exact
//! path named by qXfer:exec-file and only for reading; any other path is
//! ENOENT, any flag that writes, creates, truncates or appends is EACCES.
//! `pwrite`, `unlink` and `readlink` are not offered.
use std::collections::BTreeMap;

use gdbstub::target::ext::host_io::{
    FsKind, HostIo, HostIoClose, HostIoCloseOps, HostIoErrno, HostIoError, HostIoFstat, HostIoFstatOps, HostIoOpen,
    HostIoOpenFlags, HostIoOpenMode, HostIoOpenOps, HostIoPread, HostIoPreadOps, HostIoResult, HostIoSetfs,
    HostIoSetfsOps, HostIoStat,
};

use super::FluxTarget;
use crate::program::load::ExecImage;

/// At most this many descriptors are open at once (gdb uses one or two).
pub const MAX_OPEN: usize = 16;

/// The served file and the descriptors gdb holds on it.
#[derive(Debug, Clone, Default)]
pub struct HostFiles {
    /// The program's ELF (None for raw bytecode: every open is ENOENT).
    pub image: Option<ExecImage>,
    /// Open descriptors (all on `image`); the value is unused.
    open: BTreeMap<u32, ()>,
}

impl HostFiles {
    pub fn new(image: Option<ExecImage>) -> HostFiles {
        HostFiles { image, open: BTreeMap::new() }
    }

    /// The served file's bytes, if `fd` is open.
    fn bytes(&self, fd: u32) -> Result<&[u8], HostIoErrno> {
        match (&self.image, self.open.contains_key(&fd)) {
            (Some(image), true) => Ok(&image.bytes),
            _ => Err(HostIoErrno::EBADF),
        }
    }

    /// Opens `filename` for reading: only the served file's path.
    pub fn open(&mut self, filename: &[u8], flags: HostIoOpenFlags) -> Result<u32, HostIoErrno> {
        let Some(image) = &self.image else { return Err(HostIoErrno::ENOENT) };
        if filename != image.path.as_os_str().as_encoded_bytes() {
            return Err(HostIoErrno::ENOENT);
        }
        let writes = HostIoOpenFlags::O_WRONLY
            | HostIoOpenFlags::O_RDWR
            | HostIoOpenFlags::O_APPEND
            | HostIoOpenFlags::O_CREAT
            | HostIoOpenFlags::O_TRUNC
            | HostIoOpenFlags::O_EXCL;
        if flags.intersects(writes) {
            return Err(HostIoErrno::EACCES);
        }
        if self.open.len() >= MAX_OPEN {
            return Err(HostIoErrno::EMFILE);
        }
        let fd = (0..).find(|fd| !self.open.contains_key(fd)).unwrap_or(0);
        self.open.insert(fd, ());
        Ok(fd)
    }

    pub fn close(&mut self, fd: u32) -> Result<(), HostIoErrno> {
        self.open.remove(&fd).ok_or(HostIoErrno::EBADF)
    }

    /// Up to `count` bytes from `offset`, into `buf` (at most its length).
    pub fn pread(&self, fd: u32, count: usize, offset: u64, buf: &mut [u8]) -> Result<usize, HostIoErrno> {
        let bytes = self.bytes(fd)?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
        let n = count.min(buf.len()).min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }

    pub fn size(&self, fd: u32) -> Result<u64, HostIoErrno> {
        Ok(self.bytes(fd)?.len() as u64)
    }
}

fn errno<E>(e: HostIoErrno) -> HostIoError<E> {
    HostIoError::Errno(e)
}

impl HostIo for FluxTarget {
    fn support_open(&mut self) -> Option<HostIoOpenOps<'_, Self>> {
        Some(self)
    }
    fn support_close(&mut self) -> Option<HostIoCloseOps<'_, Self>> {
        Some(self)
    }
    fn support_pread(&mut self) -> Option<HostIoPreadOps<'_, Self>> {
        Some(self)
    }
    fn support_fstat(&mut self) -> Option<HostIoFstatOps<'_, Self>> {
        Some(self)
    }
    fn support_setfs(&mut self) -> Option<HostIoSetfsOps<'_, Self>> {
        Some(self)
    }
}

impl HostIoOpen for FluxTarget {
    fn open(&mut self, filename: &[u8], flags: HostIoOpenFlags, _mode: HostIoOpenMode) -> HostIoResult<u32, Self> {
        let r = self.process.files.open(filename, flags);
        match &r {
            Ok(fd) => log::info!("vFile:open {} -> fd {fd}", String::from_utf8_lossy(filename)),
            Err(e) => log::info!("vFile:open {} refused: {e:?}", String::from_utf8_lossy(filename)),
        }
        r.map_err(errno)
    }
}

impl HostIoClose for FluxTarget {
    fn close(&mut self, fd: u32) -> HostIoResult<(), Self> {
        self.process.files.close(fd).map_err(errno)
    }
}

impl HostIoPread for FluxTarget {
    fn pread(&mut self, fd: u32, count: usize, offset: u64, buf: &mut [u8]) -> HostIoResult<usize, Self> {
        self.process.files.pread(fd, count, offset, buf).map_err(errno)
    }
}

impl HostIoFstat for FluxTarget {
    fn fstat(&mut self, fd: u32) -> HostIoResult<HostIoStat, Self> {
        let size = self.process.files.size(fd).map_err(errno)?;
        Ok(HostIoStat {
            st_dev: 0,
            st_ino: 0,
            // a regular file, read-only for everyone
            st_mode: HostIoOpenMode::S_IFREG | HostIoOpenMode::S_IRUSR | HostIoOpenMode::S_IRGRP | HostIoOpenMode::S_IROTH,
            st_nlink: 1,
            st_uid: 0,
            st_gid: 0,
            st_rdev: 0,
            st_size: size,
            st_blksize: 4096,
            st_blocks: size.div_ceil(512),
            st_atime: 0,
            st_mtime: 0,
            st_ctime: 0,
        })
    }
}

impl HostIoSetfs for FluxTarget {
    /// The stub's file system and the one process's are the same one file.
    fn setfs(&mut self, fs: FsKind) -> HostIoResult<(), Self> {
        match fs {
            FsKind::Stub => Ok(()),
            // pid 1, the one process (`extended::PID`)
            FsKind::Pid(pid) if pid.get() == 1 => Ok(()),
            FsKind::Pid(_) => Err(errno(HostIoErrno::EINVAL)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// errno values as numbers (HostIoErrno has no PartialEq)
    fn n<T>(r: Result<T, HostIoErrno>) -> Result<T, u32> {
        r.map_err(|e| e as u32)
    }

    fn files() -> HostFiles {
        HostFiles::new(Some(ExecImage { path: PathBuf::from("/p/fib.fasm"), bytes: b"\x7fELF0123456789".as_slice().into() }))
    }

    #[test]
    fn only_the_served_path_opens_and_only_for_reading() {
        let mut f = files();
        assert_eq!(n(f.open(b"/etc/passwd", HostIoOpenFlags::O_RDONLY)), Err(HostIoErrno::ENOENT as u32));
        assert_eq!(n(f.open(b"/p/fib.fasm/", HostIoOpenFlags::O_RDONLY)), Err(HostIoErrno::ENOENT as u32));
        assert_eq!(n(f.open(b"/p/fib.fasm", HostIoOpenFlags::O_WRONLY)), Err(HostIoErrno::EACCES as u32));
        assert_eq!(n(f.open(b"/p/fib.fasm", HostIoOpenFlags::O_RDWR)), Err(HostIoErrno::EACCES as u32));
        assert_eq!(n(f.open(b"/p/fib.fasm", HostIoOpenFlags::O_CREAT)), Err(HostIoErrno::EACCES as u32));
        assert_eq!(n(f.open(b"/p/fib.fasm", HostIoOpenFlags::O_TRUNC)), Err(HostIoErrno::EACCES as u32));
        let fd = f.open(b"/p/fib.fasm", HostIoOpenFlags::O_RDONLY).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(n(f.pread(fd, 4, 0, &mut buf)), Ok(4));
        assert_eq!(&buf[..4], b"\x7fELF");
        // short read at the end, nothing past it, count bounded by the buffer
        assert_eq!(n(f.pread(fd, 100, 10, &mut buf)), Ok(4));
        assert_eq!(&buf[..4], b"6789");
        assert_eq!(n(f.pread(fd, 100, 14, &mut buf)), Ok(0));
        assert_eq!(n(f.pread(fd, 100, u64::MAX, &mut buf)), Ok(0));
        assert_eq!(n(f.pread(fd, 100, 0, &mut buf)), Ok(8));
        assert_eq!(n(f.size(fd)), Ok(14));
        assert_eq!(n(f.close(fd)), Ok(()));
        assert_eq!(n(f.pread(fd, 4, 0, &mut buf)), Err(HostIoErrno::EBADF as u32));
        assert_eq!(n(f.close(fd)), Err(HostIoErrno::EBADF as u32));
    }

    #[test]
    fn descriptors_are_bounded_and_raw_bytecode_serves_nothing() {
        let mut f = files();
        for _ in 0..MAX_OPEN {
            f.open(b"/p/fib.fasm", HostIoOpenFlags::O_RDONLY).unwrap();
        }
        assert_eq!(n(f.open(b"/p/fib.fasm", HostIoOpenFlags::O_RDONLY)), Err(HostIoErrno::EMFILE as u32));
        let mut none = HostFiles::new(None);
        assert_eq!(n(none.open(b"/p/fib.fasm", HostIoOpenFlags::O_RDONLY)), Err(HostIoErrno::ENOENT as u32));
    }
}
