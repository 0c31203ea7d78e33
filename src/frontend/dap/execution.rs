//! Running: configurationDone, continue, next, stepIn, stepOut, stepBack,
//! reverseContinue, pause, goto (an instruction index of the recorded
//! history: the custom request `fluxGoto`, or gotoTargets/goto to the last
//! time a line ran), restart, terminate; and the `stopped`, `exited` and
//! `terminated` events.
//!
//! Every source line holds one instruction, so the stepping granularities
//! (statement, line, instruction) step alike: `next` steps over a CALL,
//! `stepIn` into it, `stepOut` runs until the function returns, `stepBack`
//! goes back one instruction over a call (gdb's reverse-next and
//! reverse-nexti).
use std::collections::VecDeque;
use std::sync::mpsc::Receiver;

use serde_json::{json, Value};

use super::breakpoints::Breakpoints;
use super::inspect::hex;
use super::protocol::{Incoming, Outbox};
use super::Adapter;
use crate::analysis::commands::interpreter::Changed;
use crate::analysis::debugger::WatchPurpose;
use crate::analysis::stepping::{RunControl, RunEnd, StepError, STEP_BP_ID};
use crate::runtime::vm::{Signal, Stop, StopKind, Vm};

/// The last stop, for exceptionInfo and for what `continue` does after a fault.
#[derive(Debug, Clone)]
pub struct StopInfo {
    pub description: String,
    /// The exception filter's id (`SIGSEGV`, `apoptosis`, `trust`, ...) for an exception stop.
    pub exception: Option<String>,
    /// A fault stop: going on delivers the signal, which ends the program.
    pub fault: Option<Signal>,
}

/// The adapter's side of a run: pause requests, log points, hit counts.
struct Ctl<'a> {
    rx: &'a Receiver<Incoming>,
    out: &'a Outbox,
    deferred: &'a mut VecDeque<Value>,
    bps: &'a mut Breakpoints,
    /// The apoptosis warning's watch ids, while its filter is off.
    quiet_warnings: Vec<u32>,
}

impl RunControl for Ctl<'_> {
    fn interrupted(&mut self) -> bool {
        let mut stop = false;
        while let Ok(m) = self.rx.try_recv() {
            match m {
                Incoming::Message(m) if m.get("command").and_then(Value::as_str) == Some("pause") => {
                    self.out.respond(&m, Ok(json!({})));
                    stop = true;
                }
                Incoming::Message(m) => {
                    if matches!(m.get("command").and_then(Value::as_str), Some("disconnect" | "terminate" | "restart")) {
                        stop = true;
                    }
                    self.deferred.push_back(m);
                }
                Incoming::Closed => {
                    self.deferred.push_back(json!({ "type": "request", "command": "disconnect", "seq": 0, "closed": true }));
                    stop = true;
                }
            }
        }
        stop
    }

    fn console(&mut self, text: &[u8]) {
        self.out.event("output", json!({ "category": "console", "output": String::from_utf8_lossy(text) }));
    }

    fn pass(&mut self, vm: &Vm, stop: &Stop, reverse: bool) -> bool {
        match stop.kind {
            StopKind::CondBreakpoint { id } if self.bps.table.contains_key(&id) => {
                if reverse {
                    return self.bps.table[&id].log.is_some();
                }
                let (log, stops) = self.bps.hit(vm, stop.agent, id);
                if let Some(text) = log {
                    self.out.event("output", json!({ "category": "console", "output": text }));
                }
                !stops
            }
            StopKind::WatchCondition { id } => self.quiet_warnings.contains(&id),
            _ => false,
        }
    }
}

impl Adapter {
    fn ctl_parts(&mut self) -> Result<(), String> {
        self.launched()?;
        Ok(())
    }

    /// Runs `what` with the adapter's run control, then reports how it ended.
    fn run_with(&mut self, what: &str, agent: u32) {
        let Some(l) = self.launched.as_mut() else { return };
        let quiet_warnings = if self.bps.filters.contains("apoptosis") {
            Vec::new()
        } else {
            l.session.debugger.watches().iter().filter(|w| matches!(w.purpose, WatchPurpose::ApoptosisWarning { .. })).map(|w| w.id).collect()
        };
        let mut ctl = Ctl { rx: &self.rx, out: &self.out, deferred: &mut self.deferred, bps: &mut self.bps, quiet_warnings };
        let s = &mut l.session;
        let end = match what {
            "continue" => s.resume(&mut ctl),
            "next" => s.step_over(agent, &mut ctl),
            "stepIn" => s.step_instruction(agent, &mut ctl),
            "stepOut" => s.step_out(agent, &l.map, &mut ctl),
            "stepBack" => s.step_back(agent, &l.map, &mut ctl),
            _ => s.reverse_resume(&mut ctl),
        };
        self.report(end);
    }

    /// continue, next, stepIn, stepOut, stepBack, reverseContinue: the
    /// response at once, the `stopped` (or `exited`) event when it stops.
    pub(super) fn run_request(&mut self, command: &str, args: &Value, msg: &Value) -> Option<Result<Value, String>> {
        if let Err(e) = self.ctl_parts() {
            return Some(Err(e));
        }
        if self.ended {
            return Some(Err(format!("{command}: the program has ended (restart it)")));
        }
        let agent = match self.agent_of_thread(args) {
            Ok(a) => a,
            Err(e) => return Some(Err(e)),
        };
        let reverse = matches!(command, "stepBack" | "reverseContinue");
        let l = self.launched.as_mut()?;
        if reverse && l.session.history.is_none() {
            return Some(Err(format!("{command}: not recording (launch with \"record\": true, or `monitor record on`)")));
        }
        if command == "stepOut" {
            let frames = crate::analysis::stepping::backtrace(&l.map, &l.session.vm, agent);
            if frames.len() < 2 {
                let f = frames.first().map_or("??".to_string(), |f| f.function.clone());
                return Some(Err(StepError::Outermost(f).to_string()));
            }
        }
        let fault = self.last_stop.as_ref().and_then(|s| s.fault);
        self.out.respond(msg, Ok(if command == "continue" { json!({ "allThreadsContinued": true }) } else { json!({}) }));
        match fault {
            // FLUX programs have no signal handlers: going on delivers the signal
            Some(sig) if !reverse => self.end_program(128 + sig.number() as i64, &format!("killed by {sig}")),
            _ => self.run_with(command, agent),
        }
        None
    }

    fn agent_of_thread(&mut self, args: &Value) -> Result<u32, String> {
        let l = self.launched()?;
        let vm = &l.session.vm;
        Ok(match args.get("threadId").and_then(Value::as_u64) {
            Some(t) if vm.agent_regs(t as u32).is_some() => t as u32,
            _ => vm.current_agent(),
        })
    }

    pub(super) fn configuration_done(&mut self, msg: &Value) -> Option<Result<Value, String>> {
        self.out.respond(msg, Ok(json!({})));
        self.start();
        None
    }

    /// After configurationDone or restart: stop at the entry, or run.
    fn start(&mut self) {
        let Some(l) = self.launched.as_ref() else { return };
        let agent = l.session.vm.current_agent();
        if l.args.stop_on_entry {
            self.stopped("entry", agent, "the program's first instruction".into(), None, Vec::new());
        } else {
            self.run_with("continue", agent);
        }
    }

    fn stopped(&mut self, reason: &str, agent: u32, description: String, exception: Option<(String, Option<Signal>)>, ids: Vec<u32>) {
        let agent = match self.launched.as_ref() {
            Some(l) => {
                let agents = l.session.vm.agents();
                if agents.iter().any(|a| a.id == agent) { agent } else { agents.first().map_or(agent, |a| a.id) }
            }
            None => agent,
        };
        let mut body = json!({ "reason": reason, "threadId": agent, "allThreadsStopped": true, "description": description });
        if let Some((id, _)) = &exception {
            body["text"] = json!(id);
        }
        if !ids.is_empty() {
            body["hitBreakpointIds"] = json!(ids);
        }
        self.last_stop = Some(StopInfo { description, exception: exception.as_ref().map(|e| e.0.clone()), fault: exception.and_then(|e| e.1) });
        self.out.event("stopped", body);
    }

    fn end_program(&mut self, code: i64, why: &str) {
        log::info!("program ended: {why}");
        self.ended = true;
        self.last_stop = None;
        self.out.event("exited", json!({ "exitCode": code }));
        self.out.event("terminated", json!({}));
    }

    fn report(&mut self, end: Result<RunEnd, StepError>) {
        let end = match end {
            Ok(e) => e,
            Err(e) => {
                self.out.event("output", json!({ "category": "stderr", "output": format!("error: {e}\n") }));
                let agent = self.launched.as_ref().map_or(0, |l| l.session.vm.current_agent());
                return self.stopped("pause", agent, format!("error: {e}"), None, Vec::new());
            }
        };
        match end {
            RunEnd::Stepped { agent } => self.stopped("step", agent, "step".into(), None, Vec::new()),
            RunEnd::Interrupted { agent } => self.stopped("pause", agent, "paused".into(), None, Vec::new()),
            RunEnd::HistoryBegin { agent } => self.stopped("step", agent, "the start of the recorded history".into(), None, Vec::new()),
            RunEnd::NoHistory => {
                let agent = self.launched.as_ref().map_or(0, |l| l.session.vm.current_agent());
                self.stopped("step", agent, "no recorded history".into(), None, Vec::new())
            }
            RunEnd::Stopped(stop) => self.report_stop(stop),
        }
    }

    fn report_stop(&mut self, stop: Stop) {
        let Some(l) = self.launched.as_mut() else { return };
        let signal = match &stop.kind {
            StopKind::Fault { signal, .. } | StopKind::Terminated { signal, .. } => Some(*signal),
            _ => None,
        };
        l.session.record_stop(&stop, signal);
        let why = l.session.last_stop.as_ref().map(|s| s.description.clone()).unwrap_or_default();
        let agent = stop.agent;
        match &stop.kind {
            StopKind::CondBreakpoint { id: STEP_BP_ID } => self.stopped("step", agent, "step".into(), None, Vec::new()),
            StopKind::CondBreakpoint { id } => {
                let reason = self.bps.table.get(id).map_or("breakpoint", |b| b.kind.reason());
                self.stopped(reason, agent, why, None, vec![*id])
            }
            StopKind::WatchCondition { .. } if why.starts_with("apoptosis") || why.contains("apoptosis warning") => {
                self.stopped("exception", agent, why, Some(("apoptosis".into(), None)), Vec::new())
            }
            StopKind::WatchCondition { .. } => self.stopped("breakpoint", agent, why, None, Vec::new()),
            StopKind::TrustFail => self.stopped("exception", agent, why, Some(("trust".into(), None)), Vec::new()),
            StopKind::Watchpoint { addr, .. } => {
                let ids = self.bps.data_ids_at(*addr);
                self.stopped("data breakpoint", agent, why, None, ids)
            }
            StopKind::Breakpoint => self.stopped("breakpoint", agent, why, None, Vec::new()),
            StopKind::Brk => self.stopped("exception", agent, why, Some(("SIGTRAP".into(), None)), Vec::new()),
            StopKind::Fault { signal, .. } if self.bps.stops_on(*signal) => {
                self.stopped("exception", agent, why, Some((signal.name().into(), Some(*signal))), Vec::new())
            }
            StopKind::Fault { signal, reason } | StopKind::Terminated { signal, reason } => {
                let text = format!("{signal} at {}: {reason}\n", hex(stop.pc));
                self.out.event("output", json!({ "category": "stderr", "output": text }));
                self.end_program(128 + signal.number() as i64, reason)
            }
            StopKind::Halted { code } => self.end_program(*code as i64, "HALT"),
            StopKind::Blocked => self.stopped("pause", agent, why, None, Vec::new()),
            StopKind::Budget | StopKind::Output | StopKind::TraceFull => self.stopped("step", agent, why, None, Vec::new()),
        }
    }

    /// `fluxGoto {index}` (an instruction index of the recorded history), or
    /// `goto {targetId}` from gotoTargets (the last time before now the
    /// target's instruction ran).
    pub(super) fn goto(&mut self, command: &str, args: &Value) -> Result<Value, String> {
        let l = self.launched()?;
        let s = &mut l.session;
        let Some(h) = &s.history else { return Err(format!("{command}: not recording: nothing to go to")) };
        let now = h.now();
        let answer = if command == "fluxGoto" {
            let index = args.get("index").and_then(Value::as_u64).ok_or("fluxGoto: no index (an instruction index of the recorded history)")?;
            let answer = s.goto(index);
            if !answer.starts_with("at instruction") {
                return Err(answer);
            }
            answer
        } else {
            let addr = args.get("targetId").and_then(Value::as_u64).ok_or("goto: no targetId")? as u32;
            s.vm.add_cond_breakpoint(STEP_BP_ID, addr, None).map_err(|e| e.to_string())?;
            let found = s.run_reverse(None);
            s.vm.remove_cond_breakpoint(STEP_BP_ID);
            match found.map_err(|e| e.to_string())? {
                crate::analysis::session::ReverseEnd::Stopped(stop) if stop.pc == addr => {}
                _ => {
                    s.goto(now);
                    return Err(format!("goto: {} did not run before now", hex(addr)));
                }
            }
            format!("at instruction {}, pc={}", s.history.as_ref().map_or(0, |h| h.now()), hex(addr))
        };
        let agent = s.vm.current_agent();
        self.ended = false;
        self.stopped("goto", agent, answer.clone(), None, Vec::new());
        Ok(json!({ "message": answer }))
    }

    /// After a REPL command that moved the program (`monitor goto N`,
    /// `monitor reset`): a `stopped` event, so the client refreshes.
    pub(super) fn after_command(&mut self, changed: Changed, text: String) {
        let Some(l) = self.launched.as_ref() else { return };
        let agent = l.session.vm.current_agent();
        let finished = l.session.vm.finished();
        if changed == Changed::Restarted {
            self.bps.reset_hits();
        }
        if finished {
            // (`goto` to the end of a run that has ended: still ended)
            return;
        }
        self.ended = false;
        let reason = if changed == Changed::Restarted { "entry" } else { "goto" };
        self.stopped(reason, agent, text, None, Vec::new());
    }

    /// gotoTargets: the instruction on a line; goto then goes back to the
    /// last time it ran.
    pub(super) fn goto_targets(&mut self, args: &Value) -> Result<Value, String> {
        let l = self.launched()?;
        let line = args.get("line").and_then(Value::as_u64).ok_or("gotoTargets: no line")? as usize;
        let Some((addr, at)) = l.map.instruction_at_line(line) else { return Ok(json!({ "targets": [] })) };
        Ok(json!({ "targets": [{
            "id": addr, "label": format!("back to the last time line {at} ran ({})", hex(addr)), "line": at,
            "instructionPointerReference": hex(addr),
        }]}))
    }

    pub(super) fn restart(&mut self, msg: &Value) -> Option<Result<Value, String>> {
        let l = match self.launched() {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        l.session.restart();
        if let Some(level) = l.args.apoptosis_warn {
            if let Err(e) = l.session.set_apoptosis_warning(level) {
                return Some(Err(e.to_string()));
            }
        }
        self.bps.reset_hits();
        self.ended = false;
        self.last_stop = None;
        self.out.respond(msg, Ok(json!({})));
        self.start();
        None
    }

    pub(super) fn terminate(&mut self) -> Result<Value, String> {
        self.launched()?;
        if !self.ended {
            self.ended = true;
            self.out.event("terminated", json!({}));
        }
        Ok(json!({}))
    }
}
