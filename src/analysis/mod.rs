//! Layer 3, analysis: what a debugger does to a running program, whatever
//! front-end asks: stub-side breakpoints ([`debugger`]), reverse execution
//! ([`history`]), replay files ([`recording`]), traces (one engine,
//! [`trace_buffer`], under [`tracer`], [`trace_window`] and `run`; formats
//! [`trace_format`], [`codetracer`]), profiles ([`profiler`],
//! [`profile_report`]), confidence provenance, exploring schedules, and the
//! seed's snapshot diff ([`snapshot_diff`]; one [`divergence`] type with
//! replay files), and the text commands every front-end offers
//! ([`commands`]).  Imports the runtime and programs, never a front-end.
pub mod codetracer;
pub mod commands;
pub mod coverage;
pub mod debugger;
pub mod divergence;
pub mod explore;
pub mod history;
pub mod profile_report;
pub mod profiler;
pub mod provenance;
pub mod queries;
pub mod recording;
pub mod rundb;
pub mod session;
pub mod snapshot_diff;
pub mod stepping;
pub mod trace_buffer;
pub mod trace_format;
pub mod trace_window;
pub mod tracer;
pub mod why;
