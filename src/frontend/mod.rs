//! Layer 4, front-ends: the gdb remote-serial-protocol target ([`gdb`]),
//! serving it ([`server`]), and the Debug Adapter Protocol server ([`dap`]).  The CLI's entry is src/main.rs.  Nothing imports
//! a front-end.
pub mod dap;
pub mod gdb;
pub mod server;
