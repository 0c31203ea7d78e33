//! The Debug Adapter Protocol server: `flux-gdbstub dap` (stdin/stdout, as
//! editors start adapters) and `dap --listen ADDR:PORT`.  It translates DAP
//! requests into calls on a [`Session`], the steps into
//! [`crate::analysis::stepping`], the REPL's `monitor …`/`flux …` into
//! [`crate::analysis::commands`] (the commands gdb's `monitor` runs), and
//! answers back.
//!
//! One file per concern, as in the gdb target:
//! - [`protocol`]: framing (Content-Length), the numbered writer, output events,
//! - [`launch`]: the launch arguments, the program and its source,
//! - [`breakpoints`]: source, function, instruction, data and exception breakpoints,
//! - [`execution`]: continue, steps both ways, pause, goto, restart, stop events,
//! - [`inspect`]: threads, stack frames, scopes, variables, evaluate,
//! - [`memory`]: disassemble, readMemory, writeMemory.
pub mod breakpoints;
pub mod execution;
pub mod inspect;
pub mod launch;
pub mod memory;
pub mod protocol;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::analysis::session::Session;
use crate::program::source_map::SourceMap;
use protocol::{Incoming, Outbox};

/// The program under the adapter (after `launch`).
pub struct Launched {
    pub session: Session,
    pub map: SourceMap,
    pub args: launch::LaunchArgs,
}

/// One client's debugging session.
pub struct Adapter {
    out: Arc<Outbox>,
    rx: Receiver<Incoming>,
    /// Requests that came while the VM ran, served after it stopped.
    deferred: VecDeque<Value>,
    launched: Option<Launched>,
    bps: breakpoints::Breakpoints,
    /// The last stop, for exceptionInfo.
    last_stop: Option<execution::StopInfo>,
    /// The program has ended (exited/terminated sent).
    ended: bool,
    /// The client has gone or asked to disconnect.
    done: bool,
}

impl Adapter {
    pub fn new(out: Box<dyn Write + Send>, rx: Receiver<Incoming>) -> Adapter {
        Adapter {
            out: Arc::new(Outbox::new(out)),
            rx,
            deferred: VecDeque::new(),
            launched: None,
            bps: Default::default(),
            last_stop: None,
            ended: false,
            done: false,
        }
    }

    /// Serves requests until the client disconnects or goes away.
    pub fn serve(&mut self) {
        while !self.done {
            if self.deferred.is_empty() {
                // the responses are out: work while the client reads them
                if let Some(l) = &mut self.launched {
                    l.session.idle();
                }
            }
            let msg = match self.deferred.pop_front() {
                Some(m) => m,
                None => match self.rx.recv() {
                    Ok(Incoming::Message(m)) => m,
                    Ok(Incoming::Closed) | Err(_) => break,
                },
            };
            self.handle(msg);
        }
        log::info!("DAP client gone");
    }

    fn handle(&mut self, msg: Value) {
        if msg.get("type").and_then(Value::as_str) != Some("request") {
            log::debug!("ignored a message that is no request: {msg}");
            return;
        }
        let Some(command) = msg.get("command").and_then(Value::as_str).map(str::to_owned) else {
            eprintln!("flux-gdbstub dap: a request without a command: skipped");
            return;
        };
        let args = msg.get("arguments").cloned().unwrap_or(json!({}));
        log::debug!("request {command} {args}");
        let result = self.dispatch(&command, &args, &msg);
        if let Some(result) = result {
            self.out.respond(&msg, result);
        }
    }

    /// The response to a request (None: the handler has responded itself).
    fn dispatch(&mut self, command: &str, args: &Value, msg: &Value) -> Option<Result<Value, String>> {
        let r = match command {
            "initialize" => Ok(capabilities()),
            "launch" => self.launch(args),
            "attach" => Err("attach is not supported: use launch (flux-gdbstub serve is for gdb)".into()),
            "configurationDone" => return self.configuration_done(msg),
            "setBreakpoints" => self.set_breakpoints(args),
            "setFunctionBreakpoints" => self.set_function_breakpoints(args),
            "setInstructionBreakpoints" => self.set_instruction_breakpoints(args),
            "setExceptionBreakpoints" => self.set_exception_breakpoints(args),
            "dataBreakpointInfo" => self.data_breakpoint_info(args),
            "setDataBreakpoints" => self.set_data_breakpoints(args),
            "threads" => Ok(self.threads()),
            "stackTrace" => self.stack_trace(args),
            "scopes" => self.scopes(args),
            "variables" => self.variables(args),
            "setVariable" => self.set_variable(args),
            "evaluate" => return self.evaluate_request(args, msg),
            "source" => self.source(args),
            "exceptionInfo" => self.exception_info(),
            "continue" | "next" | "stepIn" | "stepOut" | "stepBack" | "reverseContinue" => {
                return self.run_request(command, args, msg);
            }
            "pause" => Ok(json!({})), // nothing runs between requests: already paused
            "goto" | "fluxGoto" => self.goto(command, args),
            "gotoTargets" => self.goto_targets(args),
            "restart" => return self.restart(msg),
            "terminate" => self.terminate(),
            "disconnect" => {
                self.done = true;
                Ok(json!({}))
            }
            "disassemble" => self.disassemble(args),
            "readMemory" => self.read_memory(args),
            "writeMemory" => self.write_memory(args),
            other => Err(format!("unknown request '{other}'")),
        };
        Some(r)
    }

    fn launched(&mut self) -> Result<&mut Launched, String> {
        self.launched.as_mut().ok_or_else(|| "no program: launch one first".to_string())
    }
}

/// What the adapter can do (the `initialize` response).
pub fn capabilities() -> Value {
    json!({
        "supportsConfigurationDoneRequest": true,
        "supportsFunctionBreakpoints": true,
        "supportsConditionalBreakpoints": true,
        "supportsHitConditionalBreakpoints": true,
        "supportsLogPoints": true,
        "supportsEvaluateForHovers": true,
        "supportsStepBack": true,
        "supportsSetVariable": true,
        "supportsRestartRequest": true,
        "supportsGotoTargetsRequest": true,
        "supportsExceptionInfoRequest": true,
        "supportsTerminateRequest": true,
        "supportsDataBreakpoints": true,
        "supportsDataBreakpointBytes": true,
        "supportsReadMemoryRequest": true,
        "supportsWriteMemoryRequest": true,
        "supportsDisassembleRequest": true,
        "supportsSteppingGranularity": true,
        "supportsInstructionBreakpoints": true,
        "supportsExceptionFilterOptions": true,
        "supportsSingleThreadExecutionRequests": false,
        "exceptionBreakpointFilters": breakpoints::exception_filters(),
    })
}

/// Serves one client on `input`/`output` (stdin/stdout, or a socket).
pub fn serve_streams(input: impl Read + Send + 'static, output: Box<dyn Write + Send>) {
    let (tx, rx): (Sender<Incoming>, Receiver<Incoming>) = std::sync::mpsc::channel();
    std::thread::spawn(move || protocol::pump(input, tx));
    Adapter::new(output, rx).serve();
}

/// `dap`: one client on stdin/stdout.
pub fn serve_stdio() {
    serve_streams(std::io::stdin(), Box::new(std::io::stdout()));
}

/// `dap --listen`: clients one after another, each with its own session.
pub fn serve_tcp(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept()?;
        log::info!("DAP client {peer}");
        let reader = stream.try_clone()?;
        let _ = stream.set_nodelay(true);
        let closer = stream.try_clone()?;
        serve_streams(reader, Box::new(stream));
        let _ = closer.shutdown(std::net::Shutdown::Both);
    }
}
