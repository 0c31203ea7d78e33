//! Threads (the agents), stack frames (the names gdb's `bt` shows), scopes
//! and variables (Registers, Stack, Agent), setVariable, evaluate and
//! exceptionInfo.
use serde_json::{json, Value};

use super::Adapter;
use crate::analysis::commands::interpreter::Changed;
use crate::analysis::stepping::backtrace;
use crate::runtime::condition::Condition;
use crate::runtime::vm::{Regs, Vm, FLAG_C, FLAG_O, FLAG_S, FLAG_Z, NUM_REGS};

/// variablesReference = kind << 24 | agent << 16 | frame.
const REGISTERS: u32 = 1;
const FLAGS: u32 = 2;
const STACK: u32 = 3;
const AGENT: u32 = 4;
const MAILBOX: u32 = 5;
const TRUST: u32 = 6;

/// Words of the Stack scope shown at most.
pub const MAX_STACK_WORDS: u32 = 1024;

const FLAG_BITS: [(&str, u32); 4] = [("Z", FLAG_Z), ("S", FLAG_S), ("C", FLAG_C), ("O", FLAG_O)];

fn reference(kind: u32, agent: u32, frame: u32) -> u32 {
    kind << 24 | (agent & 0xFF) << 16 | (frame & 0xFFFF)
}

/// A frame id: agent << 16 | frame index.
pub fn frame_id(agent: u32, index: usize) -> u32 {
    (agent & 0xFF) << 16 | (index as u32 & 0xFFFF)
}

pub fn hex(v: u32) -> String {
    format!("0x{v:04X}")
}

pub fn flags_text(f: u32) -> String {
    let set: Vec<&str> = FLAG_BITS.iter().filter(|(_, b)| f & b != 0).map(|(n, _)| *n).collect();
    if set.is_empty() {
        "-".into()
    } else {
        set.join(" ")
    }
}

/// A number as the client writes it: decimal, `0x` hex, or negative.
pub fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => t.parse::<i64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// `mem32[0xFFF8]`: (width in bytes, address).
fn memory_operand(text: &str) -> Option<(usize, u32)> {
    let (width, rest) = [("mem8[", 1), ("mem16[", 2), ("mem32[", 4)].iter().find_map(|(p, w)| text.strip_prefix(p).map(|r| (*w, r)))?;
    let addr = parse_int(rest.strip_suffix(']')?)?;
    u32::try_from(addr).ok().map(|a| (width, a))
}

fn register_index(name: &str, prefix: &str) -> Option<usize> {
    let n: usize = name.strip_prefix(prefix)?.parse().ok()?;
    (n < NUM_REGS && !name[prefix.len()..].starts_with('0') || name == format!("{prefix}0")).then_some(n).filter(|&n| n < NUM_REGS)
}

/// The value of `expr` for `agent`: a register, a memory word, a number,
/// or a condition of the stub's language (1 or 0).
pub fn value_of(vm: &Vm, agent: u32, expr: &str) -> Result<String, String> {
    let e = expr.trim();
    let name = e.strip_prefix('$').unwrap_or(e);
    let regs = vm.agent_regs(agent).ok_or_else(|| format!("agent {agent} does not exist"))?;
    if let Some(n) = register_index(name, "r") {
        return Ok(regs.r[n].to_string());
    }
    if let Some(n) = register_index(name, "conf") {
        return Ok(regs.conf[n].to_string());
    }
    match name {
        "pc" => return Ok(hex(regs.pc)),
        "sp" => return Ok(hex(regs.sp)),
        "fp" => return Ok(hex(regs.fp)),
        "flags" => return Ok(flags_text(regs.flags)),
        "energy" => return Ok(regs.energy.to_string()),
        "cycles" => return Ok(regs.cycles.to_string()),
        _ => {}
    }
    if let Some((width, addr)) = memory_operand(name) {
        let mut b = [0u8; 4];
        vm.read_mem(addr, &mut b[..width]).map_err(|e| e.to_string())?;
        return Ok(u32::from_le_bytes(b).to_string());
    }
    if let Some(v) = parse_int(name) {
        return Ok(v.to_string());
    }
    if ["==", "!=", "<", ">"].iter().any(|op| e.contains(op)) {
        let cond = Condition::parse(e).map_err(|err| format!("{e}: {err}"))?;
        let holds = if agent == vm.current_agent() {
            vm.holds(&cond)
        } else {
            // another agent's registers over the shared memory
            let mut st = crate::runtime::vm_state::VmState::capture(vm);
            (st.pc, st.registers, st.confidences, st.energy, st.cycles, st.sp, st.fp, st.flags) =
                (regs.pc, regs.r, regs.conf, regs.energy, regs.cycles, regs.sp, regs.fp, regs.flags);
            st.satisfies(&cond)
        };
        return Ok(if holds { "1" } else { "0" }.into());
    }
    Err(format!(
        "cannot evaluate {e:?}: a register (r0-r15, conf0-conf15, pc, sp, fp, flags, energy, cycles), mem8/mem16/mem32[ADDR], a number, or a condition (r1 == 10)"
    ))
}

/// Sets register `name` of `regs` from `text`; the value as shown.
fn set_register(regs: &mut Regs, name: &str, text: &str) -> Result<String, String> {
    let int = || parse_int(text).ok_or_else(|| format!("{text:?} is not a number"));
    let addr = || int().and_then(|v| u32::try_from(v).map_err(|_| format!("{v} is not an address")));
    if let Some(n) = register_index(name, "r") {
        let v = int()?;
        regs.r[n] = i32::try_from(v).or_else(|_| u32::try_from(v).map(|u| u as i32)).map_err(|_| format!("{v} does not fit in 32 bits"))?;
        return Ok(regs.r[n].to_string());
    }
    if let Some(n) = register_index(name, "conf") {
        let v: f32 = text.trim().parse().map_err(|_| format!("{text:?} is not a number"))?;
        if !(0.0..=1.0).contains(&v) {
            return Err(format!("a confidence is in [0, 1], not {v}"));
        }
        regs.conf[n] = v;
        return Ok(v.to_string());
    }
    match name {
        "pc" => regs.pc = addr()?,
        "sp" => regs.sp = addr()?,
        "fp" => regs.fp = addr()?,
        "energy" => regs.energy = int()?,
        "cycles" => regs.cycles = u64::try_from(int()?).map_err(|_| "cycles cannot be negative".to_string())?,
        "flags" => regs.flags = addr()? & (FLAG_Z | FLAG_S | FLAG_C | FLAG_O),
        _ => return Err(format!("{name} cannot be set")),
    }
    Ok(match name {
        "pc" | "sp" | "fp" => hex(addr()?),
        "flags" => flags_text(regs.flags),
        _ => int()?.to_string(),
    })
}

fn var(name: &str, value: String, reference: u32) -> Value {
    json!({ "name": name, "value": value, "variablesReference": reference })
}

impl Adapter {
    fn agent_of(&mut self, thread: Option<&Value>) -> Result<u32, String> {
        let l = self.launched()?;
        let vm = &l.session.vm;
        match thread.and_then(Value::as_u64) {
            Some(t) if vm.agent_regs(t as u32).is_some() => Ok(t as u32),
            Some(t) => Err(format!("thread {t}: no such agent")),
            None => Ok(vm.current_agent()),
        }
    }

    pub(super) fn threads(&mut self) -> Value {
        let threads: Vec<Value> = match &self.launched {
            Some(l) => l
                .session
                .vm
                .agents()
                .iter()
                .map(|a| json!({ "id": a.id, "name": format!("agent {} ({})", a.id, a.state) }))
                .collect(),
            None => Vec::new(),
        };
        json!({ "threads": threads })
    }

    pub(super) fn stack_trace(&mut self, args: &Value) -> Result<Value, String> {
        let agent = self.agent_of(args.get("threadId"))?;
        let l = self.launched()?;
        let frames = backtrace(&l.map, &l.session.vm, agent);
        let start = args.get("startFrame").and_then(Value::as_u64).unwrap_or(0) as usize;
        let levels = args.get("levels").and_then(Value::as_u64).filter(|&n| n > 0).map_or(usize::MAX, |n| n as usize);
        let source = l.source();
        let out: Vec<Value> = frames
            .iter()
            .enumerate()
            .skip(start)
            .take(levels)
            .map(|(k, f)| {
                let mut v = json!({
                    "id": frame_id(agent, k),
                    "name": f.function,
                    "line": f.line.unwrap_or(0),
                    "column": if f.line.is_some() { 1 } else { 0 },
                    "instructionPointerReference": hex(f.pc),
                });
                if f.line.is_some() {
                    v["source"] = source.clone();
                }
                v
            })
            .collect();
        Ok(json!({ "stackFrames": out, "totalFrames": frames.len() }))
    }

    pub(super) fn scopes(&mut self, args: &Value) -> Result<Value, String> {
        let id = args.get("frameId").and_then(Value::as_u64).ok_or("scopes: no frameId")? as u32;
        let (agent, frame) = (id >> 16, id & 0xFFFF);
        self.agent_of(Some(&json!(agent)))?;
        Ok(json!({ "scopes": [
            { "name": "Registers", "presentationHint": "registers", "variablesReference": reference(REGISTERS, agent, frame), "expensive": false },
            { "name": "Stack", "variablesReference": reference(STACK, agent, frame), "expensive": false },
            { "name": "Agent", "variablesReference": reference(AGENT, agent, frame), "expensive": false },
        ]}))
    }

    pub(super) fn variables(&mut self, args: &Value) -> Result<Value, String> {
        let r = args.get("variablesReference").and_then(Value::as_u64).ok_or("variables: no variablesReference")? as u32;
        let (kind, agent) = (r >> 24, r >> 16 & 0xFF);
        let l = self.launched()?;
        let vm = &l.session.vm;
        let regs = vm.agent_regs(agent).ok_or_else(|| format!("agent {agent} does not exist"))?;
        let info = vm.agents().into_iter().find(|a| a.id == agent);
        let vars: Vec<Value> = match kind {
            REGISTERS => {
                let mut v: Vec<Value> = (0..NUM_REGS).map(|n| var(&format!("r{n}"), regs.r[n].to_string(), 0)).collect();
                v.extend((0..NUM_REGS).map(|n| var(&format!("conf{n}"), regs.conf[n].to_string(), 0)));
                v.push(json!({ "name": "pc", "value": hex(regs.pc), "variablesReference": 0, "memoryReference": hex(regs.pc) }));
                v.push(json!({ "name": "sp", "value": hex(regs.sp), "variablesReference": 0, "memoryReference": hex(regs.sp) }));
                v.push(var("fp", hex(regs.fp), 0));
                v.push(var("flags", flags_text(regs.flags), reference(FLAGS, agent, 0)));
                v.push(var("energy", regs.energy.to_string(), 0));
                v.push(var("cycles", regs.cycles.to_string(), 0));
                v
            }
            FLAGS => FLAG_BITS.iter().map(|(n, b)| var(n, u32::from(regs.flags & b != 0).to_string(), 0)).collect(),
            STACK => {
                let top = info.map_or(crate::runtime::vm::STACK_TOP, |a| a.stack.1);
                let mut v = Vec::new();
                let mut a = regs.sp;
                while a.checked_add(4).is_some_and(|e| e <= top) && (v.len() as u32) < MAX_STACK_WORDS {
                    let word = vm.read_u32(a).map(|w| (w as i32).to_string()).unwrap_or_else(|e| e.to_string());
                    v.push(json!({ "name": hex(a), "value": word, "variablesReference": 0, "memoryReference": hex(a), "type": "int32" }));
                    a += 4;
                }
                v
            }
            AGENT => {
                let Some(a) = info else { return Err(format!("agent {agent} does not exist")) };
                vec![
                    var("id", a.id.to_string(), 0),
                    var("state", a.state.to_string(), 0),
                    var("pc", hex(a.pc), 0),
                    var("energy", a.energy.to_string(), 0),
                    var("instructions", a.retired.to_string(), 0),
                    var("stack", format!("{}..{}", hex(a.stack.0), hex(a.stack.1)), 0),
                    var("mailbox", format!("{} messages", a.mailbox), if a.mailbox > 0 { reference(MAILBOX, agent, 0) } else { 0 }),
                    var("trust log", format!("{} checks", vm.trust_log().len()), if vm.trust_log().is_empty() { 0 } else { reference(TRUST, agent, 0) }),
                ]
            }
            MAILBOX => vm
                .mailbox(agent)
                .iter()
                .enumerate()
                .map(|(k, m)| var(&format!("[{k}]"), format!("{} (conf {}) from agent {}", m.value, m.conf, m.from), 0))
                .collect(),
            TRUST => vm
                .trust_log()
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    var(
                        &format!("[{k}]"),
                        format!("{} at {}: agent {}, score {} vs threshold {}", if t.passed { "passed" } else { "failed" }, hex(t.pc), t.agent, t.score, t.threshold),
                        0,
                    )
                })
                .collect(),
            _ => return Err(format!("variables: no such reference {r}")),
        };
        Ok(json!({ "variables": vars }))
    }

    pub(super) fn set_variable(&mut self, args: &Value) -> Result<Value, String> {
        let r = args.get("variablesReference").and_then(Value::as_u64).ok_or("setVariable: no variablesReference")? as u32;
        let name = args.get("name").and_then(Value::as_str).ok_or("setVariable: no name")?;
        let text = args.get("value").and_then(Value::as_str).ok_or("setVariable: no value")?;
        let (kind, agent) = (r >> 24, r >> 16 & 0xFF);
        let l = self.launched()?;
        let s = &mut l.session;
        let mut regs = s.vm.agent_regs(agent).ok_or_else(|| format!("agent {agent} does not exist"))?;
        let shown = match kind {
            REGISTERS => set_register(&mut regs, name, text)?,
            FLAGS => {
                let bit = FLAG_BITS.iter().find(|(n, _)| *n == name).ok_or_else(|| format!("no flag {name}"))?.1;
                match text.trim() {
                    "1" | "true" => regs.flags |= bit,
                    "0" | "false" => regs.flags &= !bit,
                    other => return Err(format!("a flag is 0 or 1, not {other:?}")),
                }
                u32::from(regs.flags & bit != 0).to_string()
            }
            STACK => {
                let addr = parse_int(name).and_then(|a| u32::try_from(a).ok()).ok_or_else(|| format!("{name} is not an address"))?;
                let v = parse_int(text).ok_or_else(|| format!("{text:?} is not a number"))?;
                let w = i32::try_from(v).or_else(|_| u32::try_from(v).map(|u| u as i32)).map_err(|_| format!("{v} does not fit in 32 bits"))?;
                s.vm.write_mem(addr, &w.to_le_bytes()).map_err(|e| e.to_string())?;
                if let Some(h) = &mut s.history {
                    h.note_memory_write(addr, 4);
                }
                return Ok(json!({ "value": w.to_string() }));
            }
            _ => return Err(format!("{name} cannot be set here")),
        };
        s.vm.set_agent_regs(agent, &regs);
        if let Some(h) = &mut s.history {
            h.note_register_write();
        }
        Ok(json!({ "value": shown }))
    }

    /// evaluate; a REPL command that moved the program is followed by a
    /// `stopped` event (reason `goto`, or `entry` after `reset`), so the
    /// client reads registers, stack and variables again.
    pub(super) fn evaluate_request(&mut self, args: &Value, msg: &Value) -> Option<Result<Value, String>> {
        let (result, changed) = match self.evaluate(args) {
            Ok((v, changed)) => (Ok(v), changed),
            Err(e) => (Err(e), None),
        };
        self.out.respond(msg, result);
        if let Some((changed, text)) = changed {
            self.after_command(changed, text);
        }
        None
    }

    fn evaluate(&mut self, args: &Value) -> Result<(Value, Option<(Changed, String)>), String> {
        let expr = args.get("expression").and_then(Value::as_str).ok_or("evaluate: no expression")?.to_string();
        let trimmed = expr.trim();
        let command = ["monitor", "flux"].iter().find_map(|p| {
            trimmed.strip_prefix(p).filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace)).map(str::trim)
        });
        let agent = match args.get("frameId").and_then(Value::as_u64) {
            Some(id) => self.agent_of(Some(&json!(id >> 16)))?,
            None => self.agent_of(None)?,
        };
        if let Some(command) = command {
            let l = self.launched()?;
            let answer = l.session.command(command, agent);
            let changed = (answer.changed != Changed::Nothing).then(|| (answer.changed, answer.text.clone()));
            return Ok((json!({ "result": answer.text, "variablesReference": 0 }), changed));
        }
        let l = self.launched()?;
        let result = value_of(&l.session.vm, agent, &expr)?;
        Ok((json!({ "result": result, "variablesReference": 0 }), None))
    }

    pub(super) fn exception_info(&mut self) -> Result<Value, String> {
        match &self.last_stop {
            Some(s) if s.exception.is_some() => {
                let id = s.exception.clone().unwrap_or_default();
                Ok(json!({
                    "exceptionId": id,
                    "description": s.description,
                    "breakMode": "always",
                    "details": { "message": s.description, "typeName": id },
                }))
            }
            _ => Err("exceptionInfo: the last stop was no exception".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_by_name() {
        assert_eq!(register_index("r1", "r"), Some(1));
        assert_eq!(register_index("r15", "r"), Some(15));
        assert_eq!(register_index("r16", "r"), None);
        assert_eq!(register_index("r01", "r"), None);
        assert_eq!(register_index("conf0", "conf"), Some(0));
        assert_eq!(memory_operand("mem32[0xFFF8]"), Some((4, 0xFFF8)));
        assert_eq!(parse_int("-0x10"), Some(-16));
    }
}
