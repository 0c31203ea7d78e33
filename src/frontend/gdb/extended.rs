//! `target extended-remote` (gdbstub's ExtendedMode) and qXfer:exec-file.
//!
//! Extended mode behaves as gdbserver's multi mode: when the program exits,
//! is killed or is detached, gdb stays connected, `monitor` still answers, and
//! `run` starts the program again on a fresh VM with the same options (see
//! [`FluxTarget::start_fresh`]).  There is one "process", pid 1: the program
//! being served.  With plain `target remote` gdb never sends `!`, and kill,
//! exit and detach end the session exactly as before.
use gdbstub::common::Pid;
use gdbstub::target::ext::exec_file::ExecFile;
use gdbstub::target::ext::extended_mode::{
    Args, AttachKind, CurrentActivePid, CurrentActivePidOps, ExtendedMode, ShouldTerminate,
};
use gdbstub::target::{TargetError as GdbTargetError, TargetResult};

use super::host_io::HostFiles;
use super::{FluxTarget, LastStop};
use crate::runtime::vm::{Stop, StopKind};

/// The one process the stub serves: pid 1.
pub const PID: Pid = std::num::NonZeroUsize::MIN;

/// What the stub knows of the gdb session's mode and of "the process".
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    /// gdb sent `!` (`target extended-remote`).
    pub extended: bool,
    /// The program ended (exited, was terminated or killed) and has not
    /// been started again: the next `run` or session starts it over.
    pub ended: bool,
    /// gdb started the program with `run` (vRun) rather than finding it
    /// there: gdb then kills it on quit, as it does with gdbserver.
    pub started_by_run: bool,
    /// gdb detached in extended mode: the VM stays where it was, and
    /// `attach 1` takes it up again.
    pub detached: bool,
    /// The program's ELF, in memory (see [`super::host_io`]): its path goes
    /// to gdb through qXfer:exec-file, its bytes through Host I/O.
    pub files: HostFiles,
}

impl FluxTarget {
    /// Starts the program over on a fresh VM with the options it was served
    /// with (energy, seed, apoptosis warning, breakpoints).  Every start-over
    /// comes through here — `run` in extended mode, `R`, and a new session
    /// after the program ended — so a future "fresh recording per run" hooks
    /// in at this one place.
    pub fn start_fresh(&mut self) {
        self.restart();
        self.process.ended = false;
        self.process.detached = false;
    }

    /// A new connection: the descriptors an earlier gdb left open on the
    /// served file are closed.
    pub fn new_connection(&mut self) {
        self.process.files = HostFiles::new(self.process.files.image.take());
    }

    /// Whether the stub should keep serving this gdb after `reason` ended
    /// gdbstub's session: in extended mode an exit, a termination or a
    /// detach leaves gdb connected, as gdbserver's multi mode does.
    pub fn stays_connected(&mut self, reason: gdbstub::stub::DisconnectReason) -> bool {
        use gdbstub::stub::DisconnectReason as R;
        if !self.process.extended {
            return false;
        }
        match reason {
            R::TargetExited(_) | R::TargetTerminated(_) => {
                self.process.ended = true;
                true
            }
            R::Disconnect => {
                self.process.detached = true;
                true
            }
            R::Kill => false,
        }
    }

    /// Whether gdb has a live process to look at: not after an exit, a kill
    /// or a detach in extended mode.
    pub fn has_process(&self) -> bool {
        !(self.process.ended || self.process.detached)
    }

    /// After a session: whether the program must start over for the next one.
    pub fn program_ended(&self) -> bool {
        self.process.ended || self.session.vm.finished()
    }
}

impl ExtendedMode for FluxTarget {
    fn run(&mut self, filename: Option<&[u8]>, args: Args<'_, '_>) -> TargetResult<Pid, Self> {
        if let Some(name) = filename {
            // gdb sends `set remote exec-file`; the stub serves one program.
            let name = String::from_utf8_lossy(name);
            let ours = [Some(self.session.program.path.clone()), self.process.files.image.as_ref().map(|i| i.path.clone())];
            let same = ours.iter().flatten().any(|p| {
                std::fs::canonicalize(p).ok() == std::fs::canonicalize(name.as_ref()).ok() || p.to_string_lossy() == name
            });
            if !same {
                log::warn!("gdb asked to run {name}; this stub serves only {}", self.session.program.path.display());
                return Err(GdbTargetError::Errno(2)); // ENOENT
            }
        }
        let ignored: Vec<String> = args.map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if !ignored.is_empty() {
            log::warn!("FLUX programs take no arguments; ignoring {ignored:?}");
        }
        self.start_fresh();
        self.process.started_by_run = true;
        log::info!("run: the program starts over");
        Ok(PID)
    }

    fn attach(&mut self, pid: Pid) -> TargetResult<(), Self> {
        // Only the served program, and only while it has not ended.
        if pid != PID || self.process.ended {
            return Err(GdbTargetError::Errno(3)); // ESRCH
        }
        self.process.detached = false;
        self.process.started_by_run = false;
        Ok(())
    }

    fn query_if_attached(&mut self, _pid: Pid) -> TargetResult<AttachKind, Self> {
        Ok(if self.process.started_by_run { AttachKind::Run } else { AttachKind::Attach })
    }

    fn kill(&mut self, _pid: Option<Pid>) -> TargetResult<ShouldTerminate, Self> {
        if !self.process.extended {
            // plain `target remote`: the session ends, as it always did
            return Ok(ShouldTerminate::Yes);
        }
        self.process.ended = true;
        let pc = self.session.vm.pc();
        let stop = Stop { kind: StopKind::Halted { code: 0 }, pc, executed: 0, agent: self.session.vm.current_agent() };
        self.session.last_stop = Some(LastStop { stop, signal: None, description: format!("killed by gdb at 0x{pc:04X}") });
        Ok(ShouldTerminate::No)
    }

    fn restart(&mut self) -> Result<(), Self::Error> {
        self.start_fresh();
        Ok(())
    }

    fn on_start(&mut self) -> Result<(), Self::Error> {
        log::info!("gdb asked for extended mode");
        self.process.extended = true;
        Ok(())
    }

    fn support_current_active_pid(&mut self) -> Option<CurrentActivePidOps<'_, Self>> {
        Some(self)
    }
}

impl CurrentActivePid for FluxTarget {
    fn current_active_pid(&mut self) -> Result<Pid, Self::Error> {
        Ok(PID)
    }
}

impl ExecFile for FluxTarget {
    fn get_exec_file(&self, _pid: Option<Pid>, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let Some(image) = &self.process.files.image else {
            return Err(GdbTargetError::Errno(2));
        };
        let path = &image.path;
        let bytes = path.as_os_str().as_encoded_bytes();
        let start = (offset as usize).min(bytes.len());
        let n = length.min(buf.len()).min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }
}
