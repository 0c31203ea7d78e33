//! Z0/Z1 breakpoints and Z2/Z3/Z4 watchpoints.  Breakpoints are bits in the
//! VM's 64 Ki-bit map (memory is never patched, so `x/i` and checksums see the
//! program as it is); watchpoints are ranges the VM checks on every access.
//!
//! Breakpoint conditions: the stub advertises `ConditionalBreakpoints+` and
//! `BreakpointCommands+` (gdbstub's `BreakpointBytecode` extension, see
//! vendor/gdbstub/PATCH.md), so gdb sends each condition it can compile as
//! an agent expression with the Z0/Z1 packet.  A breakpoint with conditions
//! is armed in the VM's table of conditional breakpoints (the one `monitor
//! break` uses) and checked inside its loop; agent-style `dprintf` commands
//! run there too, and their text reaches gdb's console without a stop.

use gdbstub::target::ext::breakpoints::{
    BreakpointBytecode, BreakpointBytecodeOps, BreakpointType, Breakpoints, BytecodeList, HwBreakpoint,
    HwBreakpointOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint, SwBreakpointOps, WatchKind as GdbWatchKind,
};
use gdbstub::target::TargetResult;

use super::FluxTarget;
use crate::runtime::vm::{WatchKind, MEM_SIZE};

pub use crate::analysis::session::{describe_list, gdb_bp_id, gdb_bp_of, GdbBytecode, GdbBytecodeMap, GDB_BP_ID};

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

    fn support_breakpoint_bytecode(&mut self) -> Option<BreakpointBytecodeOps<'_, Self>> {
        Some(self)
    }
}

impl FluxTarget {
    /// The VM's plain bit at `addr`: on while one of gdb's breakpoints there
    /// has no conditions (the others are in the conditional table).
    fn sync_breakpoint(&mut self, addr: u32) {
        let plain = |set: &std::collections::BTreeSet<u32>, hw: bool| set.contains(&addr) && !self.session.gdb_bytecode.contains_key(&(addr, hw));
        let on = plain(&self.session.sw_breakpoints, false) || plain(&self.session.hw_breakpoints, true);
        self.session.vm.set_breakpoint(addr, on);
    }

    /// Inserts (or re-sends) one of gdb's breakpoints with its agent expressions.
    fn insert_gdb_breakpoint(&mut self, addr: u32, hw: bool, code: GdbBytecode) -> bool {
        if addr >= MEM_SIZE {
            return false;
        }
        let id = gdb_bp_id(addr, hw);
        if code.conditions.is_empty() && code.commands.is_empty() {
            if self.session.gdb_bytecode.remove(&(addr, hw)).is_some() {
                self.session.vm.remove_cond_breakpoint(id);
            }
        } else {
            // comparisons of a register with a constant run as the stub's own
            // conditions; the rest (and every command) as bytecode
            let simple: Option<Vec<_>> = code.conditions.iter().map(|c| crate::runtime::agent_expr::to_comparison(c)).collect();
            let how = match simple.filter(|s| code.commands.is_empty() && s.len() <= crate::runtime::condition::MAX_COMPARISONS) {
                Some(cmps) => {
                    let cond = crate::runtime::condition::Condition { groups: cmps.into_iter().map(|c| vec![c]).collect() };
                    self.session.vm.remove_cond_breakpoint(id);
                    if let Err(e) = self.session.vm.add_cond_breakpoint(id, addr, Some(&cond)) {
                        // (the slot was just freed: not expected) no breakpoint rather than an unconditional one
                        log::warn!("{e}");
                        self.session.gdb_bytecode.remove(&(addr, hw));
                        if hw { self.session.hw_breakpoints.remove(&addr) } else { self.session.sw_breakpoints.remove(&addr) };
                        self.sync_breakpoint(addr);
                        return false;
                    }
                    format!("as the stub's condition {cond}")
                }
                None => {
                    if let Err(e) = self.session.vm.add_ax_breakpoint(id, addr, &code.conditions, &code.commands) {
                        log::warn!("{e}");
                        return false;
                    }
                    "as bytecode".to_string()
                }
            };
            log::info!(
                "breakpoint at 0x{addr:04X}: condition {}{} ({how})",
                describe_list(&code.conditions),
                if code.commands.is_empty() { String::new() } else { format!(", {} command(s)", code.commands.len()) }
            );
            self.session.gdb_bytecode.insert((addr, hw), code);
        }
        if hw {
            self.session.hw_breakpoints.insert(addr);
        } else {
            self.session.sw_breakpoints.insert(addr);
        }
        self.sync_breakpoint(addr);
        true
    }

    fn remove_gdb_breakpoint(&mut self, addr: u32, hw: bool) -> bool {
        let had = if hw { self.session.hw_breakpoints.remove(&addr) } else { self.session.sw_breakpoints.remove(&addr) };
        if self.session.gdb_bytecode.remove(&(addr, hw)).is_some() {
            self.session.vm.remove_cond_breakpoint(gdb_bp_id(addr, hw));
        }
        self.sync_breakpoint(addr);
        had
    }
}


impl BreakpointBytecode for FluxTarget {
    fn add_breakpoint_with_bytecode(
        &mut self,
        type_: BreakpointType,
        addr: u32,
        _kind: usize,
        conditions: BytecodeList<'_>,
        commands: Option<(BytecodeList<'_>, bool)>,
    ) -> TargetResult<bool, Self> {
        let code = GdbBytecode {
            conditions: conditions.map(<[u8]>::to_vec).collect(),
            // persistence only matters to an agent that outlives gdb's connection
            commands: commands.map(|(list, _persist)| list.map(<[u8]>::to_vec).collect()).unwrap_or_default(),
        };
        Ok(self.insert_gdb_breakpoint(addr, type_ == BreakpointType::Hardware, code))
    }

    fn use_breakpoint_commands(&self) -> bool {
        true
    }
}

impl SwBreakpoint for FluxTarget {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.insert_gdb_breakpoint(addr, false, GdbBytecode::default()))
    }

    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove_gdb_breakpoint(addr, false))
    }
}

impl HwBreakpoint for FluxTarget {
    fn add_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.insert_gdb_breakpoint(addr, true, GdbBytecode::default()))
    }

    fn remove_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove_gdb_breakpoint(addr, true))
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
        Ok(self.session.vm.add_watchpoint(addr, len, kind_of(kind)).is_ok())
    }

    fn remove_hw_watchpoint(&mut self, addr: u32, len: u32, kind: GdbWatchKind) -> TargetResult<bool, Self> {
        Ok(self.session.vm.remove_watchpoint(addr, len, kind_of(kind)))
    }
}
