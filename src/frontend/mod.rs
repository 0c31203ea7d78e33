//! Layer 4, front-ends: the gdb remote-serial-protocol target ([`gdb`]) and
//! serving it ([`server`]).  The CLI's entry is src/main.rs.  Nothing imports
//! a front-end.
pub mod gdb;
pub mod server;
