//! The text commands every front-end offers (gdb's `monitor …`, the DAP
//! REPL's `monitor …` and `flux …`), defined once over a
//! [`Session`](crate::analysis::session::Session): [`interpreter`]'s
//! `Session::command` takes a line and answers with text and what changed.
//!
//! - [`interpreter`]: the dispatcher, `help`, `why`, `disas`, `info`, `reset`, `isa json`,
//! - [`flux`]: stub-side conditional breakpoints, watch-if, apoptosis
//!   warnings, the trust log, confidence provenance,
//! - [`trace`]: the trace window and the profile,
//! - [`record`]: recording, `when`, `goto N`, `replay save`,
//! - [`query`]: `origin`, `last-write`, `history`, `calls` over the recording,
//! - [`agents`]: `agents`, `mailbox N`,
//! - [`stops`]: the last stop in words (`why`),
//! - [`args`]: the words of commands.
pub mod agents;
pub mod args;
pub mod flux;
pub mod interpreter;
pub mod query;
pub mod record;
pub mod stops;
pub mod trace;
