//! Registers, memory, resume and single-step.
use gdbstub::common::Signal as GdbSignal;
use gdbstub::target::ext::base::single_register_access::{SingleRegisterAccess, SingleRegisterAccessOps};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::reverse_exec::{ReverseContOps, ReverseStepOps};
use gdbstub::target::{TargetError as GdbTargetError, TargetResult};

use super::arch::{FluxRegId, FluxRegs};
use super::{ExecMode, FluxTarget};
use crate::vm::{Signal, MEM_SIZE};

/// gdb's signal as a FLUX one (None for signals FLUX never raises).
pub(crate) fn from_gdb_signal(sig: GdbSignal) -> Option<Signal> {
    Signal::from_raw(sig.0 as i32)
}

pub(crate) fn to_gdb_signal(sig: Signal) -> GdbSignal {
    GdbSignal(sig.number())
}

impl SingleThreadBase for FluxTarget {
    fn read_registers(&mut self, regs: &mut FluxRegs) -> TargetResult<(), Self> {
        *regs = FluxRegs::from_vm(&self.vm.regs());
        Ok(())
    }

    fn write_registers(&mut self, regs: &FluxRegs) -> TargetResult<(), Self> {
        self.vm.set_regs(&regs.to_vm());
        if let Some(h) = &mut self.history {
            h.note_register_write();
        }
        Ok(())
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, (), Self>> {
        Some(self)
    }

    /// Reads what lies inside the 64 KiB; a read that starts outside is an error.
    fn read_addrs(&mut self, start: u32, data: &mut [u8]) -> TargetResult<usize, Self> {
        if start >= MEM_SIZE {
            return Err(GdbTargetError::Errno(14)); // EFAULT
        }
        let n = data.len().min((MEM_SIZE - start) as usize);
        self.vm.read_mem(start, &mut data[..n]).map_err(|_| GdbTargetError::Errno(14))?;
        Ok(n)
    }

    fn write_addrs(&mut self, start: u32, data: &[u8]) -> TargetResult<(), Self> {
        self.vm.write_mem(start, data).map_err(|_| GdbTargetError::Errno(14))?;
        if let Some(h) = &mut self.history {
            h.note_memory_write(start, data.len());
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleRegisterAccess<()> for FluxTarget {
    fn read_register(&mut self, _tid: (), reg: FluxRegId, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let bytes = FluxRegs::from_vm(&self.vm.regs()).read(reg);
        if bytes.len() > buf.len() {
            return Err(GdbTargetError::NonFatal);
        }
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }

    fn write_register(&mut self, _tid: (), reg: FluxRegId, val: &[u8]) -> TargetResult<(), Self> {
        let mut regs = FluxRegs::from_vm(&self.vm.regs());
        if !regs.write(reg, val) {
            return Err(GdbTargetError::NonFatal);
        }
        self.vm.set_regs(&regs.to_vm());
        if let Some(h) = &mut self.history {
            h.note_register_write();
        }
        Ok(())
    }
}

impl SingleThreadResume for FluxTarget {
    fn resume(&mut self, signal: Option<GdbSignal>) -> Result<(), Self::Error> {
        self.set_exec(ExecMode::Continue, signal.and_then(from_gdb_signal));
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_reverse_step(&mut self) -> Option<ReverseStepOps<'_, (), Self>> {
        Some(self)
    }

    fn support_reverse_cont(&mut self) -> Option<ReverseContOps<'_, (), Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for FluxTarget {
    fn step(&mut self, signal: Option<GdbSignal>) -> Result<(), Self::Error> {
        self.set_exec(ExecMode::Step, signal.and_then(from_gdb_signal));
        Ok(())
    }
}
