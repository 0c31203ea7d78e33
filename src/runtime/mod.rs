//! Layer 1, the runtime and its safe face: the C VM (runtime-c, compiled by
//! build.rs) behind [`vm`], its opcode table ([`isa`]), the stub's condition
//! language ([`condition`]) and gdb's agent expressions ([`agent_expr`]),
//! both evaluated inside the VM.  Imports nothing above it.
pub mod agent_expr;
pub mod condition;
#[cfg(test)]
mod differential;
pub(crate) mod ffi;
#[cfg(test)]
mod ffi_ref;
pub mod isa;
pub mod machine_state;
pub mod records;
pub mod vm;
pub mod vm_state;
