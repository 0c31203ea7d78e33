//! The FLUX-aware monitor commands: stub-side conditional breakpoints,
//! watch-if conditions, apoptosis warnings, the trust log and confidence
//! provenance.  Conditions are parsed once (`condition`) and evaluated by the
//! runtime inside its loop.
use super::args::parse_u32;
use crate::analysis::session::Session;
use crate::runtime::condition::{Condition, Operand};
use crate::analysis::debugger::{BreakCondition, Breakpoint, WatchPurpose};
use crate::runtime::vm::{Vm, MEM_SIZE};

/// (usage, what it does) for `monitor help`.
pub const COMMANDS: &[(&str, &str)] = &[
    ("break ADDR [if COND]", "stub-side breakpoint: stop before ADDR when COND holds"),
    ("watch-if COND", "stop after the instruction that makes COND true"),
    ("delete [ID]", "delete stub-side breakpoint or watch ID (all without ID)"),
    ("list", "stub-side breakpoints and watches, with their hits"),
    ("apoptosis-warn ENERGY|off", "stop once when energy first falls below ENERGY"),
    ("break-on trust-fail|off", "stop right after a failing TRUST_CHECK or TRUST_VERIFY"),
    ("trust-log [N]", "the last N trust checks (default 20)"),
    ("conf-trace rN", "where confN came from: the instructions that produced it"),
];

/// COND: comparisons `OPERAND OP NUMBER` joined by && and ||; OPERAND rN confN
/// energy cycles pc sp confidence mem8[A] mem16[A] mem32[A] trust[A]; OP == != < <= > >=.
pub const COND_HELP: &str = "COND: OPERAND OP NUMBER joined by && and ||; OPERAND: rN confN energy cycles pc sp confidence mem8[A] mem16[A] mem32[A] trust[A]; OP: == != < <= > >=";

/// The current value of an operand, as conditions read it.
pub fn operand_value(vm: &Vm, op: Operand) -> String {
    let r = vm.regs();
    match op {
        Operand::Reg(n) => r.r[n as usize].to_string(),
        Operand::Conf(n) => format!("{}", r.conf[n as usize]),
        Operand::Energy => r.energy.to_string(),
        Operand::Cycles => r.cycles.to_string(),
        Operand::Pc => format!("0x{:04X}", r.pc),
        Operand::Sp => format!("0x{:X}", r.sp),
        Operand::Confidence => format!("{}", vm.last_confidence()),
        Operand::Mem8(a) => vm.read_u8(a as u32).map_or("?".into(), |v| v.to_string()),
        Operand::Mem16(a) => vm.read_u16(a as u32).map_or("?".into(), |v| v.to_string()),
        Operand::Mem32(a) => vm.read_u32(a as u32).map_or("?".into(), |v| v.to_string()),
        Operand::Trust(a) => format!("{}", vm.trust(a as u32)),
    }
}

/// `(conf1 = 0.5, r2 = 3)`: the values a condition read.
pub fn condition_values(vm: &Vm, cond: &Condition) -> String {
    let mut seen: Vec<Operand> = Vec::new();
    for c in cond.comparisons() {
        if !seen.contains(&c.operand) {
            seen.push(c.operand);
        }
    }
    let parts: Vec<String> = seen.iter().map(|o| format!("{o} = {}", operand_value(vm, *o))).collect();
    format!("({})", parts.join(", "))
}

fn parse_cond(text: &str) -> Result<Condition, String> {
    Condition::parse(text).map_err(|e| {
        let token: String = text.chars().skip(e.col.saturating_sub(1)).take_while(|c| !c.is_whitespace()).collect();
        if token.is_empty() {
            format!("error: condition '{text}': {} (at the end)", e.message)
        } else {
            format!("error: condition '{text}': {} (column {}, at '{token}')", e.message, e.col)
        }
    })
}

impl Session {
    /// The FLUX-aware commands; None when `words` is none of them.
    pub(crate) fn flux_command(&mut self, line: &str, words: &[&str]) -> Option<String> {
        let rest_after = |n: usize| -> String {
            // the text after the first n words, as typed
            let mut s = line.trim_start();
            for _ in 0..n {
                s = s.trim_start();
                s = s.find(char::is_whitespace).map_or("", |i| &s[i..]);
            }
            s.trim().to_string()
        };
        Some(match words {
            ["break", addr, rest @ ..] => {
                let usage = format!("error: usage: monitor break ADDR [if COND] ({COND_HELP})");
                let Some(addr) = parse_u32(addr) else {
                    return Some(format!("error: '{addr}' is not an address (decimal or 0x hex); usage: monitor break ADDR [if COND]"));
                };
                if addr >= MEM_SIZE {
                    return Some(format!("error: address 0x{addr:X} is outside the 64 KiB of memory"));
                }
                let cond = match rest {
                    [] => None,
                    ["if", ..] => match parse_cond(&rest_after(3)) {
                        Ok(c) => Some(c),
                        Err(e) => return Some(e),
                    },
                    _ => return Some(usage),
                };
                let text = cond.as_ref().map(|c| format!(" if {c}")).unwrap_or_default();
                let bp = match cond {
                    Some(c) => Breakpoint::with_condition(addr, BreakCondition::Expr(c)),
                    None => Breakpoint::new(addr),
                };
                match self.debugger.add_breakpoint_to(&mut self.vm, bp) {
                    Ok(id) => format!("breakpoint {id} at 0x{addr:04X}{text}"),
                    Err(e) => format!("error: {e}"),
                }
            }
            ["break"] => format!("error: usage: monitor break ADDR [if COND] ({COND_HELP})"),
            ["watch-if", ..] => {
                let text = rest_after(1);
                if text.is_empty() {
                    return Some(format!("error: usage: monitor watch-if COND ({COND_HELP})"));
                }
                match parse_cond(&text) {
                    Ok(c) => {
                        let shown = c.to_string();
                        match self.debugger.add_watch_to(&mut self.vm, c, WatchPurpose::Condition) {
                            Ok(id) => format!("watch {id}: {shown}"),
                            Err(e) => format!("error: {e}"),
                        }
                    }
                    Err(e) => e,
                }
            }
            ["delete"] => format!("deleted {} stub-side breakpoints and watches", self.debugger.clear_from(&mut self.vm)),
            ["delete", id] => match parse_u32(id) {
                Some(id) if self.debugger.remove_from(&mut self.vm, id) => format!("deleted {id}"),
                Some(id) => format!("error: no stub-side breakpoint or watch {id} (`monitor list` shows them)"),
                None => "error: usage: monitor delete [ID]".into(),
            },
            ["list"] => self.monitor_list(),
            ["apoptosis-warn", "off"] => {
                self.clear_apoptosis_warning();
                "apoptosis warning off".into()
            }
            ["apoptosis-warn", level] => match level.parse::<i64>() {
                Ok(level) if level > 0 => match self.set_apoptosis_warning(level) {
                    Ok(id) => format!("apoptosis warning {id}: stop once when energy falls below {level} (energy now {})", self.vm.regs().energy),
                    Err(e) => format!("error: {e}"),
                },
                _ => "error: usage: monitor apoptosis-warn ENERGY|off (ENERGY a positive integer)".into(),
            },
            ["break-on", "trust-fail"] => {
                self.vm.set_break_on_trust_fail(true);
                "break on failing trust checks: on".into()
            }
            ["break-on", "off"] | ["break-on", "trust-fail", "off"] => {
                self.vm.set_break_on_trust_fail(false);
                "break on failing trust checks: off".into()
            }
            ["break-on", ..] => "error: usage: monitor break-on trust-fail|off".into(),
            ["trust-log"] => self.monitor_trust_log(20),
            ["trust-log", n] => match n.parse::<usize>() {
                Ok(n) => self.monitor_trust_log(n),
                Err(_) => "error: usage: monitor trust-log [N]".into(),
            },
            ["conf-trace", reg] => self.monitor_conf_trace(reg),
            ["conf-trace", ..] => "error: usage: monitor conf-trace rN".into(),
            _ => return None,
        })
    }

    fn monitor_list(&self) -> String {
        let mut lines = Vec::new();
        for b in self.debugger.breakpoints() {
            let cond = b.condition.as_ref().map(|c| format!(" if {c}")).unwrap_or_default();
            lines.push(format!("{:<3} break 0x{:04X}{cond}  (hits {})", b.id, b.addr, b.hits));
        }
        for w in self.debugger.watches() {
            let what = match w.purpose {
                WatchPurpose::Condition => format!("watch-if {}", w.condition),
                WatchPurpose::ApoptosisWarning { level } => format!("apoptosis-warn {level}"),
            };
            lines.push(format!("{:<3} {what}  (hits {})", w.id, w.hits));
        }
        if lines.is_empty() {
            "no stub-side breakpoints or watches".into()
        } else {
            lines.join("\n")
        }
    }

    fn monitor_trust_log(&self, n: usize) -> String {
        let log = self.vm.trust_log();
        if log.is_empty() {
            return "no trust checks yet".into();
        }
        let start = log.len().saturating_sub(n);
        let mut lines = vec![format!("{:<6} {:<6} {:<6} {:<9} {:<7} {}", "pc", "agent", "score", "threshold", "result", "cycle")];
        for e in &log[start..] {
            lines.push(format!(
                "0x{:04X} {:<6} {:<6.2} {:<9.2} {:<7} {}",
                e.pc,
                e.agent,
                e.score,
                e.threshold,
                if e.passed { "pass" } else { "FAIL" },
                e.cycle
            ));
        }
        lines.join("\n")
    }

    fn monitor_conf_trace(&self, reg: &str) -> String {
        let Some(n) = reg.strip_prefix('r').and_then(|d| d.parse::<u8>().ok()).filter(|n| *n < 16) else {
            return format!("error: '{reg}' is not a register r0-r15; usage: monitor conf-trace rN");
        };
        crate::analysis::provenance::describe(&self.vm, n)
    }
}
