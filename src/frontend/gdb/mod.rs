//! The gdbstub target: the FLUX VM as stock gdb and lldb see it.
//!
//! One file per protocol extension, after gdbstub's own armv4t example:
//! - [`arch`]: the carrier target description and register layout,
//! - [`base`]: registers, memory, resume and single-step,
//! - [`breakpoints`]: Z0/Z1 breakpoints (a bitmap in the VM, memory is never
//!   patched) and Z2/Z3/Z4 watchpoints,
//! - [`monitor`]: `monitor` commands: gdb's console for the commands every
//!   front-end offers ([`crate::analysis::commands`]), for the thread gdb
//!   addressed,
//! - [`reverse`]: reverse-stepi and reverse-continue over the recorded
//!   history,
//! - [`event_loop`]: running the VM between packets, Ctrl-C included,
//! - [`extended`]: `target extended-remote` (run, kill, detach as with
//!   gdbserver's multi mode) and qXfer:exec-file,
//! - [`host_io`]: gdb's Host I/O, read-only, serving the program's ELF
//!   (built in memory for assembly) so gdb gets symbols and DWARF.
pub mod arch;
pub mod base;
pub mod breakpoints;
pub mod event_loop;
pub mod extended;
pub mod framing;
pub mod host_io;
pub mod monitor;
pub mod reverse;

use std::io::Write;

use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::BreakpointsOps;
use gdbstub::target::ext::exec_file::ExecFileOps;
use gdbstub::target::ext::extended_mode::ExtendedModeOps;
use gdbstub::target::ext::host_io::HostIoOps;
use gdbstub::target::ext::monitor_cmd::MonitorCmdOps;
use gdbstub::common::Tid;
use gdbstub::target::Target;

use crate::analysis::session::Session;
use crate::program::load::Program;
use crate::runtime::vm::{Signal, VmConfig, VmError};

/// What gdb asked the VM to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecMode {
    Step,
    Continue,
    ReverseStep,
    ReverseContinue,
}

pub use crate::analysis::session::LastStop;

/// Errors that end a debugging session (never caused by what gdb sends).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Vm(#[from] VmError),
    #[error("writing program output: {0}")]
    Output(#[from] std::io::Error),
}

/// The gdb target: a [`Session`] plus what is gdb's own (the protocol's
/// resume mode and pending signal, the vCont plan, the thread gdb addressed,
/// extended mode and "the process").
pub struct FluxTarget {
    /// The program under the debugger and all that is done to it.
    pub session: Session,
    pub(crate) exec: ExecMode,
    /// A signal gdb asked us to deliver on resume: FLUX programs have no
    /// handlers, so delivering one ends the program.
    pending_signal: Option<Signal>,
    /// Extended mode and the program's "process" (see [`extended`]).
    pub(crate) process: extended::SessionState,
    /// What the last vCont asked of each thread (agent).
    pub(crate) plan: base::ResumePlan,
    pub(crate) plan_signal: Option<Signal>,
    /// The agent gdb addressed last (Hg, then a register or memory read):
    /// its selected thread, as far as the stub can tell (gdb's `bs` names
    /// "any thread" when scheduler-locking is off).
    pub(crate) regs_agent: Option<u32>,
}

impl FluxTarget {
    pub fn new(program: Program, config: VmConfig, output: Box<dyn Write + Send>) -> Result<FluxTarget, VmError> {
        // the ELF gdb reads over Host I/O; a program without one is still
        // served, by instruction
        let image = program.exec_image().unwrap_or_else(|e| {
            log::warn!("no debug information for gdb: {e}");
            None
        });
        Ok(FluxTarget {
            session: Session::new(program, config, output)?,
            exec: ExecMode::Continue,
            pending_signal: None,
            process: extended::SessionState { files: host_io::HostFiles::new(image), ..Default::default() },
            plan: base::ResumePlan::default(),
            plan_signal: None,
            regs_agent: None,
        })
    }

    /// Starts the program over; breakpoints and watchpoints stay.
    pub fn restart(&mut self) {
        self.pending_signal = None;
        self.session.restart();
    }

    pub(crate) fn set_exec(&mut self, mode: ExecMode, signal: Option<Signal>) {
        self.exec = mode;
        self.pending_signal = signal;
    }

    pub(crate) fn exec_mode(&self) -> ExecMode {
        self.exec
    }

    pub(crate) fn take_pending_signal(&mut self) -> Option<Signal> {
        self.pending_signal.take()
    }
}

impl Target for FluxTarget {
    type Arch = arch::FluxArch;
    type Error = TargetError;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    fn support_extended_mode(&mut self) -> Option<ExtendedModeOps<'_, Self>> {
        Some(self)
    }

    /// For assembly and ELF programs (not raw bytecode): gdb then reads the
    /// ELF's symbols and DWARF over Host I/O by itself.
    fn support_exec_file(&mut self) -> Option<ExecFileOps<'_, Self>> {
        if self.process.files.image.is_some() {
            Some(self)
        } else {
            None
        }
    }

    /// Always, read-only: without an image every open is ENOENT, and gdb
    /// still learns that the stub transfers files.
    fn support_host_io(&mut self) -> Option<HostIoOps<'_, Self>> {
        Some(self)
    }

    /// pc, sp and fp ride on every `T` stop reply, as gdbserver sends them:
    /// gdb then reads no register file (`g`) after a stepi.
    fn expedited_registers(&mut self, tid: Option<Tid>, write: &mut dyn FnMut(usize, &[u8])) -> Result<(), Self::Error> {
        let agent = tid.map_or_else(|| self.session.vm.current_agent(), |t| t.get() as u32);
        if let Some(r) = self.session.vm.agent_regs(agent) {
            write(arch::REG_PC, &r.pc.to_le_bytes());
            write(arch::REG_SP, &r.sp.to_le_bytes());
            write(arch::REG_FP, &r.fp.to_le_bytes());
        }
        Ok(())
    }
}
