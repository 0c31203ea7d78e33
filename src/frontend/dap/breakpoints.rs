//! Breakpoints the client sets: by source line, function, instruction and
//! memory address (data), with conditions (the stub's condition language,
//! checked inside the VM), hit counts and log messages; and the exception
//! filters (each fault signal, the apoptosis warning, failing trust checks).
//!
//! Source, function and instruction breakpoints are stub-side breakpoints
//! of the session (`Debugger`), so their ids are the VM's and a stop names
//! the one hit.  A hit count or a log message is the adapter's own: at such
//! a stop it counts, or prints, and runs on.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::inspect::{hex, parse_int};
use super::{Adapter, Launched};
use crate::analysis::debugger::{BreakCondition, Breakpoint};
use crate::runtime::condition::Condition;
use crate::runtime::vm::{Signal, Vm, WatchKind, MEM_SIZE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BpKind {
    Source,
    Function,
    Instruction,
}

impl BpKind {
    /// The `stopped` event's reason.
    pub fn reason(self) -> &'static str {
        match self {
            BpKind::Source => "breakpoint",
            BpKind::Function => "function breakpoint",
            BpKind::Instruction => "instruction breakpoint",
        }
    }
}

/// `hitCondition`: `N` (the Nth hit and after, as lldb's ignore count),
/// `== N`, `> N`, `>= N`, `< N`, `<= N`, `% N` (every Nth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitCondition {
    AtLeast(u64),
    Exactly(u64),
    Below(u64),
    Every(u64),
}

impl HitCondition {
    pub fn parse(text: &str) -> Result<HitCondition, String> {
        let t = text.trim();
        let (op, n) = ["==", ">=", "<=", ">", "<", "%", "="]
            .iter()
            .find_map(|op| t.strip_prefix(op).map(|rest| (*op, rest.trim())))
            .unwrap_or(("", t));
        let n: u64 = n.parse().map_err(|_| format!("hit condition {text:?}: expected N, == N, > N, >= N, < N, <= N or % N"))?;
        Ok(match op {
            "" | ">=" => HitCondition::AtLeast(n),
            "==" | "=" => HitCondition::Exactly(n),
            ">" => HitCondition::AtLeast(n + 1),
            "<" => HitCondition::Below(n),
            "<=" => HitCondition::Below(n + 1),
            _ if n == 0 => return Err(format!("hit condition {text:?}: % 0")),
            _ => HitCondition::Every(n),
        })
    }

    pub fn holds(self, hits: u64) -> bool {
        match self {
            HitCondition::AtLeast(n) => hits >= n,
            HitCondition::Exactly(n) => hits == n,
            HitCondition::Below(n) => hits < n,
            HitCondition::Every(n) => hits % n == 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Bp {
    pub kind: BpKind,
    pub addr: u32,
    pub hit: Option<HitCondition>,
    pub log: Option<String>,
    pub hits: u64,
}

#[derive(Debug, Clone)]
pub struct DataBp {
    pub id: u32,
    pub addr: u32,
    pub len: u32,
    pub kind: WatchKind,
}

/// The ids of data breakpoints start here (the others are the VM's, from 1).
const DATA_IDS: u32 = 100_000;

/// The exception filters: (id, label, on by default).
pub const FILTERS: [(&str, &str, bool); 7] = [
    ("SIGILL", "SIGILL: invalid opcode or register", true),
    ("SIGSEGV", "SIGSEGV: memory or stack fault", true),
    ("SIGFPE", "SIGFPE: division by zero", true),
    ("SIGABRT", "SIGABRT: ASSERT, PANIC or deadlock", true),
    ("SIGXCPU", "SIGXCPU: energy exhausted", true),
    ("apoptosis", "Apoptosis warning (launch: apoptosisWarn)", true),
    ("trust", "Failing trust checks", false),
];

pub fn exception_filters() -> Value {
    Value::Array(FILTERS.iter().map(|(id, label, on)| json!({ "filter": id, "label": label, "default": on })).collect())
}

#[derive(Debug, Clone)]
pub struct Breakpoints {
    pub table: BTreeMap<u32, Bp>,
    pub data: Vec<DataBp>,
    next_data: u32,
    pub filters: BTreeSet<String>,
}

impl Default for Breakpoints {
    fn default() -> Self {
        Breakpoints {
            table: BTreeMap::new(),
            data: Vec::new(),
            next_data: DATA_IDS,
            filters: FILTERS.iter().filter(|f| f.2).map(|f| f.0.to_string()).collect(),
        }
    }
}

impl Breakpoints {
    pub fn stops_on(&self, signal: Signal) -> bool {
        self.filters.contains(signal.name())
    }

    /// A forward hit of breakpoint `id`: Some(text) of a log message to
    /// print, and whether to stop.
    pub fn hit(&mut self, vm: &Vm, agent: u32, id: u32) -> (Option<String>, bool) {
        let Some(bp) = self.table.get_mut(&id) else { return (None, true) };
        bp.hits += 1;
        if bp.hit.is_some_and(|h| !h.holds(bp.hits)) {
            return (None, false);
        }
        match &bp.log {
            Some(msg) => (Some(log_text(vm, agent, msg)), false),
            None => (None, true),
        }
    }

    /// The data breakpoints a watchpoint stop at `addr` belongs to.
    pub fn data_ids_at(&self, addr: u32) -> Vec<u32> {
        self.data.iter().filter(|d| d.addr <= addr && addr < d.addr + d.len).map(|d| d.id).collect()
    }

    pub fn reset_hits(&mut self) {
        for b in self.table.values_mut() {
            b.hits = 0;
        }
    }
}

/// A log message with each `{expr}` replaced by its value (`{{`, `}}`: braces).
pub fn log_text(vm: &Vm, agent: u32, msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(k) = rest.find(['{', '}']) {
        out.push_str(&rest[..k]);
        let c = rest.as_bytes()[k];
        rest = &rest[k + 1..];
        if rest.as_bytes().first() == Some(&c) {
            out.push(c as char);
            rest = &rest[1..];
            continue;
        }
        if c == b'}' {
            out.push('}');
            continue;
        }
        match rest.find('}') {
            Some(e) => {
                let expr = &rest[..e];
                out.push_str(&super::inspect::value_of(vm, agent, expr).unwrap_or_else(|err| format!("<{err}>")));
                rest = &rest[e + 1..];
            }
            None => {
                out.push('{');
            }
        }
    }
    out.push_str(rest);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn unverified(message: String) -> Value {
    json!({ "verified": false, "message": message })
}

impl Launched {
    /// Arms one breakpoint at `addr`; the DAP Breakpoint (verified, or why not).
    fn add_bp(&mut self, bps: &mut Breakpoints, kind: BpKind, addr: u32, spec: &Value) -> Value {
        let condition = match spec.get("condition").and_then(Value::as_str).map(str::trim).filter(|c| !c.is_empty()) {
            Some(text) => match Condition::parse(text) {
                Ok(c) => Some(BreakCondition::Expr(c)),
                Err(e) => return unverified(format!("condition {text:?}: {e}")),
            },
            None => None,
        };
        let hit = match spec.get("hitCondition").and_then(Value::as_str).map(str::trim).filter(|c| !c.is_empty()) {
            Some(text) => match HitCondition::parse(text) {
                Ok(h) => Some(h),
                Err(e) => return unverified(e),
            },
            None => None,
        };
        let log = spec.get("logMessage").and_then(Value::as_str).map(str::to_owned);
        let bp = match condition {
            Some(c) => Breakpoint::with_condition(addr, c),
            None => Breakpoint::new(addr),
        };
        let s = &mut self.session;
        match s.debugger.add_breakpoint_to(&mut s.vm, bp) {
            Ok(id) => {
                bps.table.insert(id, Bp { kind, addr, hit, log, hits: 0 });
                let mut v = json!({ "id": id, "verified": true, "instructionReference": hex(addr) });
                if let Some(line) = self.map.line_of(addr) {
                    v["line"] = json!(line);
                    v["source"] = self.source();
                }
                v
            }
            Err(e) => unverified(e.to_string()),
        }
    }

    fn clear_kind(&mut self, bps: &mut Breakpoints, kind: BpKind) {
        let ids: Vec<u32> = bps.table.iter().filter(|(_, b)| b.kind == kind).map(|(&id, _)| id).collect();
        let s = &mut self.session;
        for id in ids {
            s.debugger.remove_from(&mut s.vm, id);
            bps.table.remove(&id);
        }
    }
}

fn list<'a>(args: &'a Value, key: &str) -> Vec<&'a Value> {
    args.get(key).and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
}

/// `0xFFF8`, `mem32[0xFFF8]`, `[0xFFF8]`: an address and a default size.
fn address_of(text: &str) -> Option<(u32, u32)> {
    let t = text.trim();
    let (t, len) = [("mem8[", 1), ("mem16[", 2), ("mem32[", 4), ("[", 4)]
        .iter()
        .find_map(|(p, n)| t.strip_prefix(p).and_then(|r| r.strip_suffix(']')).map(|r| (r, *n)))
        .unwrap_or((t, 4));
    let a = parse_int(t)?;
    u32::try_from(a).ok().filter(|&a| a < MEM_SIZE).map(|a| (a, len))
}

impl Adapter {
    pub(super) fn set_breakpoints(&mut self, args: &Value) -> Result<Value, String> {
        let Some(l) = self.launched.as_mut() else { return Err("no program: launch one first".into()) };
        let bps = &mut self.bps;
        let source = args.get("source").cloned().unwrap_or(json!({}));
        let specs: Vec<Value> = list(args, "breakpoints").into_iter().cloned().collect();
        if !l.is_our_source(&source) {
            let name = source.get("path").or_else(|| source.get("name")).and_then(Value::as_str).unwrap_or("?").to_string();
            let out: Vec<Value> = specs.iter().map(|_| unverified(format!("{name} is not the program's source"))).collect();
            return Ok(json!({ "breakpoints": out }));
        }
        l.clear_kind(bps, BpKind::Source);
        let mut out = Vec::new();
        for spec in &specs {
            let line = spec.get("line").and_then(Value::as_u64).unwrap_or(0) as usize;
            out.push(match l.map.instruction_at_line(line) {
                Some((addr, _)) => l.add_bp(bps, BpKind::Source, addr, spec),
                None => unverified(format!("no instruction on line {line} or after it")),
            });
        }
        Ok(json!({ "breakpoints": out }))
    }

    pub(super) fn set_function_breakpoints(&mut self, args: &Value) -> Result<Value, String> {
        let Some(l) = self.launched.as_mut() else { return Err("no program: launch one first".into()) };
        let bps = &mut self.bps;
        l.clear_kind(bps, BpKind::Function);
        let mut out = Vec::new();
        for spec in list(args, "breakpoints") {
            let name = spec.get("name").and_then(Value::as_str).unwrap_or("").trim();
            let addr = l.map.function_named(name).map(|f| f.start).or_else(|| l.map.assembled.labels.get(name).copied());
            out.push(match addr {
                Some(a) => l.add_bp(bps, BpKind::Function, a, spec),
                None => unverified(format!("no function or label {name:?}")),
            });
        }
        Ok(json!({ "breakpoints": out }))
    }

    pub(super) fn set_instruction_breakpoints(&mut self, args: &Value) -> Result<Value, String> {
        let Some(l) = self.launched.as_mut() else { return Err("no program: launch one first".into()) };
        let bps = &mut self.bps;
        l.clear_kind(bps, BpKind::Instruction);
        let mut out = Vec::new();
        for spec in list(args, "breakpoints") {
            let reference = spec.get("instructionReference").and_then(Value::as_str).unwrap_or("");
            let offset = spec.get("offset").and_then(Value::as_i64).unwrap_or(0);
            let addr = parse_int(reference).and_then(|a| a.checked_add(offset)).and_then(|a| u32::try_from(a).ok()).filter(|&a| a < MEM_SIZE);
            out.push(match addr {
                Some(a) => l.add_bp(bps, BpKind::Instruction, a, spec),
                None => unverified(format!("{reference:?} + {offset} is not an address in memory")),
            });
        }
        Ok(json!({ "breakpoints": out }))
    }

    pub(super) fn set_exception_breakpoints(&mut self, args: &Value) -> Result<Value, String> {
        let mut on: BTreeSet<String> = list(args, "filters").iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
        on.extend(list(args, "filterOptions").iter().filter_map(|o| o.get("filterId").and_then(Value::as_str).map(str::to_owned)));
        let unknown: Vec<&String> = on.iter().filter(|f| !FILTERS.iter().any(|k| k.0 == f.as_str())).collect();
        if !unknown.is_empty() {
            return Err(format!("unknown exception filter {:?}", unknown[0]));
        }
        let trust = on.contains("trust");
        let n = on.len();
        self.bps.filters = on;
        if let Some(l) = self.launched.as_mut() {
            l.session.vm.set_break_on_trust_fail(trust);
        }
        Ok(json!({ "breakpoints": vec![json!({ "verified": true }); n] }))
    }

    pub(super) fn data_breakpoint_info(&mut self, args: &Value) -> Result<Value, String> {
        let name = args.get("name").and_then(Value::as_str).unwrap_or("");
        let in_stack = args.get("variablesReference").and_then(Value::as_u64).is_some_and(|r| r >> 24 == 3);
        let by_address = args.get("asAddress").and_then(Value::as_bool).unwrap_or(false);
        let found = if by_address || in_stack || name.starts_with("mem") || name.starts_with('[') { address_of(name) } else { None };
        Ok(match found {
            Some((addr, len)) => {
                let len = args.get("bytes").and_then(Value::as_u64).map_or(len, |b| b as u32);
                json!({
                    "dataId": format!("{}/{len}", hex(addr)),
                    "description": format!("{len} bytes at {}", hex(addr)),
                    "accessTypes": ["read", "write", "readWrite"],
                    "canPersist": true,
                })
            }
            None => json!({ "dataId": null, "description": format!("{name:?} is no memory address: watch mem32[ADDR] or a Stack word") }),
        })
    }

    pub(super) fn set_data_breakpoints(&mut self, args: &Value) -> Result<Value, String> {
        let Some(l) = self.launched.as_mut() else { return Err("no program: launch one first".into()) };
        let vm = &mut l.session.vm;
        for d in self.bps.data.drain(..) {
            vm.remove_watchpoint(d.addr, d.len, d.kind);
        }
        let mut out = Vec::new();
        for spec in list(args, "breakpoints") {
            let id = spec.get("dataId").and_then(Value::as_str).unwrap_or("");
            let parsed = id.split_once('/').and_then(|(a, n)| Some((parse_int(a)?, n.parse::<u32>().ok()?)));
            let kind = match spec.get("accessType").and_then(Value::as_str).unwrap_or("write") {
                "read" => WatchKind::Read,
                "readWrite" => WatchKind::Access,
                _ => WatchKind::Write,
            };
            out.push(match parsed.and_then(|(a, n)| Some((u32::try_from(a).ok()?, n))) {
                Some((addr, len)) if len > 0 => match vm.add_watchpoint(addr, len, kind) {
                    Ok(()) => {
                        self.bps.next_data += 1;
                        let id = self.bps.next_data;
                        self.bps.data.push(DataBp { id, addr, len, kind });
                        json!({ "id": id, "verified": true })
                    }
                    Err(e) => unverified(e.to_string()),
                },
                _ => unverified(format!("dataId {id:?}: expected ADDR/LEN from dataBreakpointInfo")),
            });
        }
        Ok(json!({ "breakpoints": out }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_conditions() {
        assert_eq!(HitCondition::parse("3"), Ok(HitCondition::AtLeast(3)));
        assert_eq!(HitCondition::parse("== 2"), Ok(HitCondition::Exactly(2)));
        assert_eq!(HitCondition::parse("%2"), Ok(HitCondition::Every(2)));
        // strict bounds are the inclusive ones moved by one
        assert_eq!(HitCondition::parse("> 2"), Ok(HitCondition::AtLeast(3)));
        assert_eq!(HitCondition::parse("<= 2"), Ok(HitCondition::Below(3)));
        assert_eq!(HitCondition::parse(">= 2"), Ok(HitCondition::AtLeast(2)));
        assert_eq!(HitCondition::parse("< 2"), Ok(HitCondition::Below(2)));
        assert!(HitCondition::parse("x").is_err());
        assert!(HitCondition::parse("% 0").is_err());
        assert!(!HitCondition::AtLeast(3).holds(2));
        assert!(HitCondition::AtLeast(3).holds(3));
        // hits 1, 2, 3, ...: which of them stop
        let stops = |c: HitCondition| (1..=6).map(|h| c.holds(h)).collect::<Vec<_>>();
        assert_eq!(stops(HitCondition::Every(2)), [false, true, false, true, false, true]);
        assert_eq!(stops(HitCondition::Exactly(2)), [false, true, false, false, false, false]);
        assert_eq!(stops(HitCondition::Below(3)), [true, true, false, false, false, false]);
    }

    #[test]
    fn a_watch_stop_belongs_to_the_data_breakpoints_whose_bytes_hold_it() {
        let mut b = Breakpoints::default();
        b.data.push(DataBp { id: 7, addr: 0x8000, len: 4, kind: WatchKind::Write });
        b.data.push(DataBp { id: 8, addr: 0x8003, len: 1, kind: WatchKind::Write });
        let at = |a: u32| b.data_ids_at(a);
        assert_eq!([at(0x7FFF), at(0x8000), at(0x8003), at(0x8004)], [vec![], vec![7], vec![7, 8], vec![]]);
        assert_eq!(address_of("mem16[0x10]"), Some((0x10, 2)));
        assert_eq!(address_of("0xFFF8"), Some((0xFFF8, 4)));
        assert_eq!(address_of("0x10000"), None);
    }
}
