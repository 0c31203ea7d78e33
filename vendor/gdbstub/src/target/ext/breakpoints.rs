//! Add/Remove various kinds of breakpoints.

use crate::arch::Arch;
use crate::target::Target;
use crate::target::TargetResult;

/// Target Extension - Set/Remove Breakpoints.
pub trait Breakpoints: Target {
    /// Support for setting / removing software breakpoints.
    #[inline(always)]
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        None
    }

    /// Support for setting / removing hardware breakpoints.
    #[inline(always)]
    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        None
    }

    /// Support for setting / removing hardware watchpoints.
    #[inline(always)]
    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        None
    }

    /// Support for breakpoint conditions (and, optionally, commands)
    /// evaluated by the target: GDB's agent expressions, sent with `Z0`/`Z1`.
    #[inline(always)]
    fn support_breakpoint_bytecode(&mut self) -> Option<BreakpointBytecodeOps<'_, Self>> {
        None
    }
}

define_ext!(BreakpointsOps, Breakpoints);

/// Nested Target Extension - Set/Remove Software Breakpoints.
///
/// See [this stackoverflow discussion](https://stackoverflow.com/questions/8878716/what-is-the-difference-between-hardware-and-software-breakpoints)
/// about the differences between hardware and software breakpoints.
///
/// _Recommendation:_ If you're implementing `Target` for an emulator that's
/// using an _interpreted_ CPU (as opposed to a JIT), the simplest way to
/// implement "software" breakpoints would be to check the `PC` value after each
/// CPU cycle, ignoring the specified breakpoint `kind` entirely.
pub trait SwBreakpoint: Target + Breakpoints {
    /// Add a new software breakpoint.
    ///
    /// Return `Ok(false)` if the operation could not be completed.
    fn add_sw_breakpoint(
        &mut self,
        addr: <Self::Arch as Arch>::Usize,
        kind: <Self::Arch as Arch>::BreakpointKind,
    ) -> TargetResult<bool, Self>;

    /// Remove an existing software breakpoint.
    ///
    /// Return `Ok(false)` if the operation could not be completed.
    fn remove_sw_breakpoint(
        &mut self,
        addr: <Self::Arch as Arch>::Usize,
        kind: <Self::Arch as Arch>::BreakpointKind,
    ) -> TargetResult<bool, Self>;
}

define_ext!(SwBreakpointOps, SwBreakpoint);

/// Nested Target Extension - Set/Remove Hardware Breakpoints.
///
/// See [this stackoverflow discussion](https://stackoverflow.com/questions/8878716/what-is-the-difference-between-hardware-and-software-breakpoints)
/// about the differences between hardware and software breakpoints.
///
/// _Recommendation:_ If you're implementing `Target` for an emulator that's
/// using an _interpreted_ CPU (as opposed to a JIT), there shouldn't be any
/// reason to implement this extension (as software breakpoints are likely to be
/// just-as-fast).
pub trait HwBreakpoint: Target + Breakpoints {
    /// Add a new hardware breakpoint.
    ///
    /// Return `Ok(false)` if the operation could not be completed.
    fn add_hw_breakpoint(
        &mut self,
        addr: <Self::Arch as Arch>::Usize,
        kind: <Self::Arch as Arch>::BreakpointKind,
    ) -> TargetResult<bool, Self>;

    /// Remove an existing hardware breakpoint.
    ///
    /// Return `Ok(false)` if the operation could not be completed.
    fn remove_hw_breakpoint(
        &mut self,
        addr: <Self::Arch as Arch>::Usize,
        kind: <Self::Arch as Arch>::BreakpointKind,
    ) -> TargetResult<bool, Self>;
}

define_ext!(HwBreakpointOps, HwBreakpoint);

/// The kind of watchpoint that should be set/removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchKind {
    /// Fire when the memory location is written to.
    Write,
    /// Fire when the memory location is read from.
    Read,
    /// Fire when the memory location is written to and/or read from.
    ReadWrite,
}

/// Nested Target Extension - Set/Remove Hardware Watchpoints.
///
/// See the [GDB documentation](https://sourceware.org/gdb/current/onlinedocs/gdb/Set-Watchpoints.html)
/// regarding watchpoints for how they're supposed to work.
///
/// _Note:_ If this extension isn't implemented, GDB will default to using
/// _software watchpoints_, which tend to be excruciatingly slow (as hey are
/// implemented by single-stepping the system, and reading the watched memory
/// location after each step).
pub trait HwWatchpoint: Target + Breakpoints {
    /// Add a new hardware watchpoint.
    /// The number of bytes to watch is specified by `len`.
    ///
    /// Return `Ok(false)` if the operation could not be completed.
    fn add_hw_watchpoint(
        &mut self,
        addr: <Self::Arch as Arch>::Usize,
        len: <Self::Arch as Arch>::Usize,
        kind: WatchKind,
    ) -> TargetResult<bool, Self>;

    /// Remove an existing hardware watchpoint.
    /// The number of bytes to watch is specified by `len`.
    ///
    /// Return `Ok(false)` if the operation could not be completed.
    fn remove_hw_watchpoint(
        &mut self,
        addr: <Self::Arch as Arch>::Usize,
        len: <Self::Arch as Arch>::Usize,
        kind: WatchKind,
    ) -> TargetResult<bool, Self>;
}

define_ext!(HwWatchpointOps, HwWatchpoint);

/// Which packet a breakpoint came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakpointType {
    /// A software breakpoint (`Z0`).
    Software,
    /// A hardware breakpoint (`Z1`).
    Hardware,
}

/// A list of agent expressions sent with a breakpoint: the `cond_list` or
/// the `cmd_list` of a `Z0`/`Z1` packet.  Every expression in it has been
/// checked to be well-formed hex of the length the packet gives; iterating
/// yields the bytecode of each, in the order GDB sent them.
///
/// See the "Agent Expressions" appendix of the GDB manual for what the
/// bytecode means.
#[derive(Clone, Copy)]
pub struct BytecodeList<'a> {
    // the packet's text, each expression's hex decoded in place (see
    // `protocol::commands::breakpoint::decode_bytecode_list`)
    pub(crate) decoded: &'a [u8],
}

impl<'a> BytecodeList<'a> {
    /// Whether the list holds no expression.
    pub fn is_empty(&self) -> bool {
        self.clone().next().is_none()
    }
}

impl core::fmt::Debug for BytecodeList<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(*self).finish()
    }
}

impl<'a> Iterator for BytecodeList<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        crate::protocol::commands::breakpoint::next_bytecode(&mut self.decoded)
    }
}

/// Nested Target Extension - breakpoint conditions and commands evaluated by
/// the target.
///
/// Implementing it makes `gdbstub` advertise `ConditionalBreakpoints+` (and
/// `BreakpointCommands+` when [`use_breakpoint_commands`] says so): GDB then
/// compiles each breakpoint condition it can to an agent expression and
/// sends it with the breakpoint (`set breakpoint condition-evaluation auto`,
/// GDB's default), so that the target stops only where a condition holds.
///
/// Once this extension is implemented, every `Z0` and `Z1` packet comes
/// here, with or without conditions: [`SwBreakpoint::add_sw_breakpoint`]
/// and [`HwBreakpoint::add_hw_breakpoint`] are no longer called (removal
/// still goes through `remove_sw_breakpoint` / `remove_hw_breakpoint`).
///
/// [`use_breakpoint_commands`]: BreakpointBytecode::use_breakpoint_commands
pub trait BreakpointBytecode: Target + Breakpoints {
    /// Insert a breakpoint with the conditions and commands GDB sent with it.
    ///
    /// GDB sends a breakpoint again to change its conditions: the lists given
    /// replace whatever the breakpoint at `addr` had (an empty `conditions`
    /// list makes it unconditional).  The target should report a hit only
    /// when one of the conditions evaluates to nonzero, or when evaluating
    /// one fails (GDB then evaluates it itself).  `commands` are agent
    /// expressions to run at a hit where a condition holds (agent-style
    /// `dprintf`), with whether they persist after GDB disconnects; they only
    /// come when [`use_breakpoint_commands`] is true.  A breakpoint with
    /// commands is not reported to GDB.
    ///
    /// Return `Ok(false)` if the operation could not be completed (for
    /// example, bytecode the target will not run): GDB gets an error reply.
    ///
    /// [`use_breakpoint_commands`]: BreakpointBytecode::use_breakpoint_commands
    fn add_breakpoint_with_bytecode(
        &mut self,
        type_: BreakpointType,
        addr: <Self::Arch as Arch>::Usize,
        kind: <Self::Arch as Arch>::BreakpointKind,
        conditions: BytecodeList<'_>,
        commands: Option<(BytecodeList<'_>, bool)>,
    ) -> TargetResult<bool, Self>;

    /// Whether the target runs breakpoint commands (`BreakpointCommands+`).
    #[inline(always)]
    fn use_breakpoint_commands(&self) -> bool {
        false
    }
}

define_ext!(BreakpointBytecodeOps, BreakpointBytecode);
