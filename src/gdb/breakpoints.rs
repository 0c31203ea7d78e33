//! Z0/Z1 breakpoints and Z2/Z3/Z4 watchpoints.  Breakpoints are bits in the
//! VM's 64 Ki-bit map (memory is never patched, so `x/i` and checksums see the
//! program as it is); watchpoints are ranges the VM checks on every access.
use gdbstub::target::ext::breakpoints::{
    Breakpoints, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint,
    SwBreakpointOps, WatchKind as GdbWatchKind,
};
use gdbstub::target::TargetResult;

use super::FluxTarget;
use crate::vm::{WatchKind, MEM_SIZE};

impl Breakpoints for FluxTarget {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl FluxTarget {
    fn sync_breakpoint(&mut self, addr: u32) {
        let on = self.sw_breakpoints.contains(&addr) || self.hw_breakpoints.contains(&addr);
        self.vm.set_breakpoint(addr, on);
    }
}

impl SwBreakpoint for FluxTarget {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        if addr >= MEM_SIZE {
            return Ok(false);
        }
        self.sw_breakpoints.insert(addr);
        self.sync_breakpoint(addr);
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        let had = self.sw_breakpoints.remove(&addr);
        self.sync_breakpoint(addr);
        Ok(had)
    }
}

impl HwBreakpoint for FluxTarget {
    fn add_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        if addr >= MEM_SIZE {
            return Ok(false);
        }
        self.hw_breakpoints.insert(addr);
        self.sync_breakpoint(addr);
        Ok(true)
    }

    fn remove_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        let had = self.hw_breakpoints.remove(&addr);
        self.sync_breakpoint(addr);
        Ok(had)
    }
}

fn kind_of(kind: GdbWatchKind) -> WatchKind {
    match kind {
        GdbWatchKind::Write => WatchKind::Write,
        GdbWatchKind::Read => WatchKind::Read,
        GdbWatchKind::ReadWrite => WatchKind::Access,
    }
}

impl HwWatchpoint for FluxTarget {
    fn add_hw_watchpoint(&mut self, addr: u32, len: u32, kind: GdbWatchKind) -> TargetResult<bool, Self> {
        Ok(self.vm.add_watchpoint(addr, len, kind_of(kind)).is_ok())
    }

    fn remove_hw_watchpoint(&mut self, addr: u32, len: u32, kind: GdbWatchKind) -> TargetResult<bool, Self> {
        Ok(self.vm.remove_watchpoint(addr, len, kind_of(kind)))
    }
}
