//! cuda-flux-debugger: a debugger for FLUX bytecode.
//!
//! Four layers, each importing only those below it (docs/ARCHITECTURE.md):
//! - [`runtime`]: the FLUX runtime (runtime-c, compiled by build.rs) behind a
//!   safe wrapper ([`vm`]), the opcode table ([`isa`]), the fields of a saved
//!   machine state ([`machine_state`]), conditions and
//!   gdb's agent expressions evaluated in the VM;
//! - [`program`]: assembly and disassembly, ELF and DWARF, loading program files;
//! - [`analysis`]: breakpoints, history and replay files, traces, profiles,
//!   exploration: what a debugger does to a running program;
//! - [`frontend`]: the GDB remote-serial-protocol target and its server
//!   (the CLI is src/main.rs).
//!
//! The modules keep their earlier paths (`cuda_flux_debugger::vm`,
//! `::tracer`, `::replay`, ...) as re-exports.
pub mod analysis;
pub mod frontend;
pub mod program;
pub mod runtime;

pub use analysis::{codetracer, debugger, explore, history, profile_report, profiler, provenance, trace_format, tracer};
/// The seed's snapshot diff, under its earlier name.
pub use analysis::snapshot_diff as replay;
/// Replay files, under their earlier name.
pub use analysis::recording as replay_file;
pub use frontend::{gdb, server};
pub use program::{asm, debuginfo, disasm, elf, save_path};
pub use runtime::{agent_expr, condition, isa, machine_state, vm};

pub use debugger::{BreakCondition, Breakpoint, DebugEvent, Debugger, MemWidth, VmState};
pub use tracer::TraceRecord;
