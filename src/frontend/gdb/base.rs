//! Registers, memory, resume and single-step.  Agents are gdb's threads:
//! thread id = agent id (agent 1 is the program's first), registers are per
//! agent, memory is shared.
use gdbstub::common::{Signal as GdbSignal, Tid};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::reverse_exec::{ReverseContOps, ReverseStepOps};
use gdbstub::target::ext::base::single_register_access::{SingleRegisterAccess, SingleRegisterAccessOps};
use gdbstub::target::ext::thread_extra_info::{ThreadExtraInfo, ThreadExtraInfoOps};
use gdbstub::target::{TargetError as GdbTargetError, TargetResult};

use super::arch::{FluxRegId, FluxRegs};
use super::{ExecMode, FluxTarget};
use crate::runtime::vm::{Regs, Signal, MEM_SIZE};

/// gdb's signal as a FLUX one (None for signals FLUX never raises).
pub(crate) fn from_gdb_signal(sig: GdbSignal) -> Option<Signal> {
    Signal::from_raw(sig.0 as i32)
}

pub(crate) fn to_gdb_signal(sig: Signal) -> GdbSignal {
    GdbSignal(sig.number())
}

/// An agent id as gdb's thread id (agent ids start at 1, as thread ids must).
pub(crate) fn tid(agent: u32) -> Tid {
    Tid::new(agent as usize).unwrap_or(Tid::MIN)
}

/// What gdb asked of the threads for the next resume (vCont).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResumePlan {
    /// The thread to single-step.
    pub step: Option<u32>,
    /// The thread named in a `continue` action (with scheduler-locking: the
    /// only one that runs).
    pub cont: Option<u32>,
    /// gdb's scheduler-locking: threads not named stay stopped.
    pub locked: bool,
}

impl FluxTarget {
    fn agent_regs(&mut self, t: Tid) -> TargetResult<Regs, Self> {
        self.regs_agent = Some(t.get() as u32);
        self.session.vm.agent_regs(t.get() as u32).ok_or(GdbTargetError::NonFatal)
    }

    fn set_agent_regs(&mut self, t: Tid, regs: &Regs) -> TargetResult<(), Self> {
        if !self.session.vm.set_agent_regs(t.get() as u32, regs) {
            return Err(GdbTargetError::NonFatal);
        }
        if let Some(h) = &mut self.session.history {
            h.note_register_write();
        }
        Ok(())
    }
}

impl MultiThreadBase for FluxTarget {
    fn read_registers(&mut self, regs: &mut FluxRegs, t: Tid) -> TargetResult<(), Self> {
        *regs = FluxRegs::from_vm(&self.agent_regs(t)?);
        Ok(())
    }

    fn write_registers(&mut self, regs: &FluxRegs, t: Tid) -> TargetResult<(), Self> {
        self.set_agent_regs(t, &regs.to_vm())
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, Tid, Self>> {
        Some(self)
    }

    /// Reads what lies inside the 64 KiB; a read that starts outside is an error.
    fn read_addrs(&mut self, start: u32, data: &mut [u8], t: Tid) -> TargetResult<usize, Self> {
        self.regs_agent = Some(t.get() as u32);
        if start >= MEM_SIZE {
            return Err(GdbTargetError::Errno(14)); // EFAULT
        }
        let n = data.len().min((MEM_SIZE - start) as usize);
        self.session.vm.read_mem(start, &mut data[..n]).map_err(|_| GdbTargetError::Errno(14))?;
        Ok(n)
    }

    fn write_addrs(&mut self, start: u32, data: &[u8], _t: Tid) -> TargetResult<(), Self> {
        self.session.vm.write_mem(start, data).map_err(|_| GdbTargetError::Errno(14))?;
        if let Some(h) = &mut self.session.history {
            h.note_memory_write(start, data.len());
        }
        Ok(())
    }

    /// The live agents; a spawned agent appears, an ended one disappears.
    #[inline(always)]
    fn list_active_threads(&mut self, thread_is_active: &mut dyn FnMut(Tid)) -> Result<(), Self::Error> {
        let agents = self.session.vm.agents();
        if agents.is_empty() {
            thread_is_active(tid(self.session.vm.current_agent()));
        }
        for a in agents {
            thread_is_active(tid(a.id));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }

    fn support_thread_extra_info(&mut self) -> Option<ThreadExtraInfoOps<'_, Self>> {
        Some(self)
    }
}

impl ThreadExtraInfo for FluxTarget {
    /// `info threads` shows what each agent does: running, blocked on ASK from 3, ...
    fn thread_extra_info(&self, t: Tid, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let text = match self.session.vm.agents().into_iter().find(|a| a.id == t.get() as u32) {
            Some(a) => a.state.to_string(),
            None => "ended".into(),
        };
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
        Ok(n)
    }
}

impl SingleRegisterAccess<Tid> for FluxTarget {
    fn read_register(&mut self, t: Tid, reg: FluxRegId, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let bytes = FluxRegs::from_vm(&self.agent_regs(t)?).read(reg);
        if bytes.len() > buf.len() {
            return Err(GdbTargetError::NonFatal);
        }
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }

    fn write_register(&mut self, t: Tid, reg: FluxRegId, val: &[u8]) -> TargetResult<(), Self> {
        let mut regs = FluxRegs::from_vm(&self.agent_regs(t)?);
        if !regs.write(reg, val) {
            return Err(GdbTargetError::NonFatal);
        }
        self.set_agent_regs(t, &regs.to_vm())
    }
}

impl MultiThreadResume for FluxTarget {
    fn resume(&mut self) -> Result<(), Self::Error> {
        let mode = if self.plan.step.is_some() { ExecMode::Step } else { ExecMode::Continue };
        let signal = self.plan_signal.take();
        self.set_exec(mode, signal);
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        self.plan = ResumePlan::default();
        self.plan_signal = None;
        Ok(())
    }

    fn set_resume_action_continue(&mut self, t: Tid, signal: Option<GdbSignal>) -> Result<(), Self::Error> {
        self.plan.cont = Some(t.get() as u32);
        if let Some(s) = signal.and_then(from_gdb_signal) {
            self.plan_signal = Some(s);
        }
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_reverse_step(&mut self) -> Option<ReverseStepOps<'_, Tid, Self>> {
        Some(self)
    }

    fn support_reverse_cont(&mut self) -> Option<ReverseContOps<'_, Tid, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadSingleStep for FluxTarget {
    fn set_resume_action_step(&mut self, t: Tid, signal: Option<GdbSignal>) -> Result<(), Self::Error> {
        self.plan.step = Some(t.get() as u32);
        if let Some(s) = signal.and_then(from_gdb_signal) {
            self.plan_signal = Some(s);
        }
        Ok(())
    }
}

impl MultiThreadSchedulerLocking for FluxTarget {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), Self::Error> {
        self.plan.locked = true;
        Ok(())
    }
}
