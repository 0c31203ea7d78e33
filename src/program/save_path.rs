//! Where files written on a debugger's request may go: inside one save
//! directory (`serve --save-dir DIR`, by default the directory the stub was
//! started in), and only as regular files.
//!
//! Whoever reaches the stub's port can ask it to write files (`monitor replay
//! save PATH`, `monitor trace save PATH`, `monitor profile save PATH`), so a
//! PATH from gdb is resolved here and nowhere else:
//!
//! - lexically first ([`SaveDir::resolve`]): a relative path is taken below
//!   the save directory, an absolute one must lie inside its canonical path,
//!   and `..` may not climb out of it;
//! - then component by component with `openat(2)` from a descriptor of the
//!   save directory held since it was opened, each with `O_NOFOLLOW`: a
//!   symbolic link is read and followed here, by the same rules, so one that
//!   stays inside works and one that leads out is refused;
//! - the file itself is looked at before it is opened (a FIFO, a device, a
//!   directory or a file with other hard links is refused without opening
//!   it), then opened with `O_NOFOLLOW | O_NONBLOCK | O_NOCTTY` (nothing can
//!   block or become a controlling terminal), checked again on the open
//!   descriptor with `fstat`, and truncated only after that check.
//!
//! What this guarantees, concurrent changes to the file system included: no
//! file outside the save directory is created, truncated or written through a
//! path, a symbolic link, or a hard link present when the file is opened, and
//! only regular files are written.  A directory below the save directory that
//! another local process moves out of it while a file is being opened in it
//! is not guarded against (the descriptor follows the directory); nor is the
//! save directory itself, which is whatever `--save-dir` named at start.
//! Missing directories are created only for CodeTracer's directories
//! ([`SaveDir::create_file_in`]), inside the save directory.
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// At most this many symbolic links are followed for one path (as Linux's 40).
const MAX_LINKS: usize = 40;

/// Why a path from the debugger was refused.  Every message is one line that
/// names the path as given.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("{path}: outside the save directory {root}")]
    Outside { path: String, root: String },
    #[error("{path}: '..' leads out of the save directory {root}")]
    DotDot { path: String, root: String },
    #[error("{path}: a symbolic link in it leads out of the save directory {root}")]
    LinkOut { path: String, root: String },
    #[error("{path}: too many symbolic links")]
    Loop { path: String },
    #[error("{path}: names no file")]
    NoName { path: String },
    #[error("{path}: {kind}, not a regular file; files are saved only as regular files")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path}: '{component}' is not a directory")]
    NotDirectory { path: String, component: String },
    #[error("{path}: the file has other hard links; refusing to overwrite it")]
    HardLinks { path: String },
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("save directory {path}: {error}")]
    SaveDir { path: String, error: std::io::Error },
}

/// The save directory: its canonical path and a descriptor of it.
#[derive(Debug)]
pub struct SaveDir {
    root: PathBuf,
    fd: OwnedFd,
}

/// What kind of file `t` is, in words ("a FIFO").
pub(crate) fn kind_of(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "an unknown kind of file",
    }
}

/// `path` with `.` and `..` taken lexically; None when `..` climbs above its start.
fn normalize(path: &Path) -> Option<Vec<OsString>> {
    let mut out: Vec<OsString> = Vec::new();
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::Normal(n) => out.push(n.to_os_string()),
        }
    }
    Some(out)
}

impl SaveDir {
    /// Opens `dir` (which must exist and be a directory) as the save directory.
    pub fn open(dir: &Path) -> Result<SaveDir, PathError> {
        let fail = |error: std::io::Error| PathError::SaveDir { path: dir.display().to_string(), error };
        let root = std::fs::canonicalize(dir).map_err(fail)?;
        let fd = rustix::fs::open(&root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| fail(e.into()))?;
        Ok(SaveDir { root, fd })
    }

    /// The save directory's canonical path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn root_text(&self) -> String {
        self.root.display().to_string()
    }

    /// Where `user` lands, lexically, as components below the save directory
    /// (symbolic links are looked at when the file is opened).
    pub fn resolve(&self, user: &str) -> Result<PathBuf, PathError> {
        Ok(self.components(user)?.into_iter().collect())
    }

    fn components(&self, user: &str) -> Result<Vec<OsString>, PathError> {
        let path = Path::new(user);
        if path.is_absolute() {
            let outside = || PathError::Outside { path: user.to_string(), root: self.root_text() };
            let abs: PathBuf = normalize(path).ok_or_else(outside)?.into_iter().collect();
            let inside = Path::new("/").join(abs);
            let rel = inside.strip_prefix(&self.root).map_err(|_| outside())?;
            return Ok(rel.iter().map(OsStr::to_os_string).collect());
        }
        normalize(path).ok_or_else(|| PathError::DotDot { path: user.to_string(), root: self.root_text() })
    }

    /// Creates (or truncates) the regular file `user` names, inside the save
    /// directory; its directory must exist.
    pub fn create_file(&self, user: &str) -> Result<File, PathError> {
        let parts = self.components(user)?;
        self.walk(user, parts.into(), false)
    }

    /// Creates (or truncates) the regular file `relative` inside the directory
    /// `user` names, creating the directories that are missing on the way.
    /// `relative` is the program's choice (CodeTracer's file names), `user`
    /// the debugger's.
    pub fn create_file_in(&self, user: &str, relative: &Path) -> Result<File, PathError> {
        let shown = Path::new(user).join(relative).display().to_string();
        let mut parts = self.components(user)?;
        match normalize(relative) {
            Some(r) if !relative.is_absolute() => parts.extend(r),
            _ => return Err(PathError::DotDot { path: shown, root: self.root_text() }),
        }
        self.walk(&shown, parts.into(), true)
    }

    /// Follows `rest` from the save directory, one `openat` at a time.
    fn walk(&self, user: &str, mut rest: VecDeque<OsString>, mkdirs: bool) -> Result<File, PathError> {
        let io = |error: Errno| PathError::Io { path: user.to_string(), error: error.into() };
        let link_out = || PathError::LinkOut { path: user.to_string(), root: self.root_text() };
        // The directories entered below the save directory, innermost last.
        let mut stack: Vec<OwnedFd> = Vec::new();
        let mut links = 0;
        let mut retries = 0;
        if rest.is_empty() {
            return Err(PathError::NoName { path: user.to_string() });
        }
        loop {
            let Some(name) = rest.pop_front() else {
                // the path ends on a directory (a link's target ending in `..`)
                return Err(PathError::NotRegular { path: user.to_string(), kind: "a directory" });
            };
            if name.is_empty() || name == "." {
                continue;
            }
            if name == ".." {
                // only from a link's target: up from where it was found
                stack.pop().ok_or_else(link_out)?;
                continue;
            }
            let dir: BorrowedFd<'_> = stack.last().map_or(self.fd.as_fd(), |f| f.as_fd());
            let target = if rest.is_empty() {
                match self.open_file_at(user, dir, &name)? {
                    Opened::File(f) => return Ok(f),
                    Opened::Link(target) => target,
                }
            } else {
                match rustix::fs::openat(dir, name.as_os_str(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
                    Ok(fd) => {
                        stack.push(fd);
                        continue;
                    }
                    Err(Errno::NOENT) if mkdirs && retries < 8 => {
                        retries += 1;
                        match rustix::fs::mkdirat(dir, name.as_os_str(), Mode::from_bits_truncate(0o777)) {
                            Ok(()) | Err(Errno::EXIST) => {}
                            Err(e) => return Err(io(e)),
                        }
                        rest.push_front(name);
                        continue;
                    }
                    Err(Errno::LOOP | Errno::NOTDIR) => match rustix::fs::readlinkat(dir, name.as_os_str(), Vec::new()) {
                        Ok(t) => PathBuf::from(OsStr::from_bytes(t.as_bytes())),
                        Err(_) => {
                            return Err(PathError::NotDirectory { path: user.to_string(), component: name.to_string_lossy().into_owned() })
                        }
                    },
                    Err(e) => return Err(io(e)),
                }
            };
            // a symbolic link: its target takes its place, by the same rules
            links += 1;
            if links > MAX_LINKS {
                return Err(PathError::Loop { path: user.to_string() });
            }
            if target.as_os_str().is_empty() {
                return Err(io(Errno::NOENT));
            }
            let parts: Vec<OsString> = if target.is_absolute() {
                let abs: PathBuf = normalize(&target).ok_or_else(link_out)?.into_iter().collect();
                let rel = Path::new("/").join(abs);
                let rel = rel.strip_prefix(&self.root).map_err(|_| link_out())?;
                stack.clear();
                rel.iter().map(OsStr::to_os_string).collect()
            } else {
                target.iter().map(OsStr::to_os_string).collect()
            };
            for p in parts.into_iter().rev() {
                rest.push_front(p);
            }
            if rest.is_empty() {
                // a link to the save directory itself
                return Err(PathError::NotRegular { path: user.to_string(), kind: "a directory" });
            }
        }
    }

    /// Opens `name` in `dir` for writing if it is (or will be) a regular file.
    fn open_file_at(&self, user: &str, dir: BorrowedFd<'_>, name: &OsStr) -> Result<Opened, PathError> {
        let io = |error: Errno| PathError::Io { path: user.to_string(), error: error.into() };
        let not_regular = |kind| PathError::NotRegular { path: user.to_string(), kind };
        let read_link = || {
            rustix::fs::readlinkat(dir, name, Vec::new())
                .map(|t| Opened::Link(PathBuf::from(OsStr::from_bytes(t.as_bytes()))))
                .map_err(io)
        };
        // look before opening: a FIFO, a device or a directory is never opened
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                let t = FileType::from_raw_mode(st.st_mode);
                if t == FileType::Symlink {
                    return read_link();
                }
                if t != FileType::RegularFile {
                    return Err(not_regular(kind_of(t)));
                }
                if st.st_nlink > 1 {
                    return Err(PathError::HardLinks { path: user.to_string() });
                }
            }
            Err(Errno::NOENT) => {}
            Err(e) => return Err(io(e)),
        }
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(dir, name, flags, Mode::from_bits_truncate(0o666)) {
            Ok(fd) => fd,
            // it changed since it was looked at
            Err(Errno::LOOP) => return read_link(),
            Err(Errno::NXIO) => return Err(not_regular("a FIFO")),
            Err(Errno::ISDIR) => return Err(not_regular("a directory")),
            Err(e) => return Err(io(e)),
        };
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        let t = FileType::from_raw_mode(st.st_mode);
        if t != FileType::RegularFile {
            return Err(not_regular(kind_of(t)));
        }
        if st.st_nlink > 1 {
            return Err(PathError::HardLinks { path: user.to_string() });
        }
        rustix::fs::ftruncate(&fd, 0).map_err(io)?;
        Ok(Opened::File(File::from(fd)))
    }
}

enum Opened {
    File(File),
    Link(PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::symlink;

    fn save_dir() -> (tempfile::TempDir, SaveDir) {
        let d = tempfile::tempdir().unwrap();
        let s = SaveDir::open(d.path()).unwrap();
        (d, s)
    }

    fn write(s: &SaveDir, user: &str, text: &str) -> Result<(), PathError> {
        let mut f = s.create_file(user)?;
        f.write_all(text.as_bytes()).unwrap();
        Ok(())
    }

    #[test]
    fn relative_and_absolute_paths_inside_are_written() {
        let (d, s) = save_dir();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        write(&s, "a.txt", "one").unwrap();
        write(&s, "sub/../sub/./b.txt", "two").unwrap();
        let abs = s.root().join("sub/c.txt");
        write(&s, abs.to_str().unwrap(), "three").unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("a.txt")).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(d.path().join("sub/b.txt")).unwrap(), "two");
        assert_eq!(std::fs::read_to_string(d.path().join("sub/c.txt")).unwrap(), "three");
        // overwriting truncates
        write(&s, "a.txt", "1").unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("a.txt")).unwrap(), "1");
        assert_eq!(s.resolve("x/../y/z").unwrap(), Path::new("y/z"));
    }

    #[test]
    fn paths_that_leave_are_refused_with_one_line() {
        let (d, s) = save_dir();
        let root = s.root().display().to_string();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        std::fs::write(&target, "keep").unwrap();
        symlink(&target, d.path().join("link")).unwrap();
        symlink(outside.path(), d.path().join("dirlink")).unwrap();
        symlink("../../..", d.path().join("up")).unwrap();
        let cases = [
            ("/etc/passwd-nothere", format!("/etc/passwd-nothere: outside the save directory {root}")),
            ("../x", format!("../x: '..' leads out of the save directory {root}")),
            ("a/../../x", format!("a/../../x: '..' leads out of the save directory {root}")),
            ("link", format!("link: a symbolic link in it leads out of the save directory {root}")),
            ("dirlink/victim", format!("dirlink/victim: a symbolic link in it leads out of the save directory {root}")),
            ("up/x", format!("up/x: a symbolic link in it leads out of the save directory {root}")),
            ("", ": names no file".to_string()),
            ("sub/..", "sub/..: names no file".to_string()),
        ];
        for (user, msg) in cases {
            let e = write(&s, user, "bad").unwrap_err().to_string();
            assert_eq!(e, msg, "{user}");
            assert_eq!(e.lines().count(), 1);
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }

    #[test]
    fn links_that_stay_inside_are_followed() {
        let (d, s) = save_dir();
        std::fs::create_dir(d.path().join("real")).unwrap();
        symlink("real", d.path().join("alias")).unwrap();
        symlink(d.path().join("real/file"), d.path().join("abs")).unwrap();
        symlink("loop2", d.path().join("loop1")).unwrap();
        symlink("loop1", d.path().join("loop2")).unwrap();
        write(&s, "alias/f", "via alias").unwrap();
        write(&s, "abs", "via absolute link").unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("real/f")).unwrap(), "via alias");
        assert_eq!(std::fs::read_to_string(d.path().join("real/file")).unwrap(), "via absolute link");
        assert_eq!(write(&s, "loop1", "x").unwrap_err().to_string(), "loop1: too many symbolic links");
    }

    #[test]
    fn only_regular_files_are_written() {
        let (d, s) = save_dir();
        std::fs::create_dir(d.path().join("dir")).unwrap();
        std::fs::write(d.path().join("plain"), "").unwrap();
        std::fs::write(d.path().join("linked"), "keep").unwrap();
        std::fs::hard_link(d.path().join("linked"), d.path().join("linked2")).unwrap();
        let fifo = d.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert_eq!(write(&s, "dir", "x").unwrap_err().to_string(), "dir: a directory, not a regular file; files are saved only as regular files");
        assert_eq!(write(&s, "fifo", "x").unwrap_err().to_string(), "fifo: a FIFO, not a regular file; files are saved only as regular files");
        assert_eq!(write(&s, "plain/x", "x").unwrap_err().to_string(), "plain/x: 'plain' is not a directory");
        assert_eq!(write(&s, "linked", "x").unwrap_err().to_string(), "linked: the file has other hard links; refusing to overwrite it");
        assert_eq!(std::fs::read_to_string(d.path().join("linked")).unwrap(), "keep");
        let dev = SaveDir::open(Path::new("/dev")).unwrap();
        assert_eq!(write(&dev, "null", "x").unwrap_err().to_string(), "null: a character device, not a regular file; files are saved only as regular files");
    }

    #[test]
    fn codetracer_directories_are_made_inside_only() {
        let (d, s) = save_dir();
        let mut f = s.create_file_in("ct/run1", Path::new("files/tmp/x.fasm")).unwrap();
        f.write_all(b"NOP\n").unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("ct/run1/files/tmp/x.fasm")).unwrap(), "NOP\n");
        let outside = tempfile::tempdir().unwrap();
        symlink(outside.path(), d.path().join("out")).unwrap();
        let e = s.create_file_in("out/ct", Path::new("trace.json")).unwrap_err().to_string();
        assert!(e.starts_with("out/ct/trace.json: a symbolic link in it leads out"), "{e}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing made outside");
        assert!(s.create_file("missing/x").is_err(), "plain saves make no directories");
    }
}
