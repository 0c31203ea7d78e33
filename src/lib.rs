//! cuda-flux-debugger: a debugger for FLUX bytecode.
//!
//! - [`agent_expr`]: gdb's agent expressions (breakpoint conditions gdb hands the stub).
//! - [`vm`]: the FLUX runtime (runtime-c, compiled by build.rs) behind a safe wrapper.
//! - [`isa`]: the opcode table, read from runtime-c.
//! - [`asm`] / [`disasm`]: FLUX assembly in flux-disasm's syntax, both ways.
//! - [`program`]: loading a program file (assembly, an ELF from `asm --elf`, or raw bytecode).
//! - [`debuginfo`] / [`elf`]: functions, line table and call-frame information
//!   as DWARF, in an ELF32 i386 executable for stock gdb.
//! - [`gdb`]: the GDB remote-serial-protocol target (gdbstub), one module per extension.
//! - [`server`]: serving that target over TCP or stdio.
//! - [`machine_state`]: the fields of a saved machine state, by name (runtime-c's table).
//! - [`explore`]: one run per scheduler seed, grouped by outcome (races).
//! - [`save_path`]: where files written on a debugger's request may go.
pub mod agent_expr;
pub mod asm;
pub mod codetracer;
pub mod condition;
pub mod debugger;
pub mod debuginfo;
pub mod disasm;
pub mod elf;
pub mod explore;
mod ffi;
pub mod gdb;
pub mod isa;
pub mod machine_state;
pub mod profile_report;
pub mod profiler;
pub mod program;
pub mod provenance;
pub mod history;
pub mod replay;
pub mod replay_file;
pub mod save_path;
pub mod server;
pub mod trace_format;
pub mod tracer;
pub mod vm;

pub use debugger::{BreakCondition, Breakpoint, DebugEvent, Debugger, MemWidth, VmState};
pub use tracer::TraceRecord;
