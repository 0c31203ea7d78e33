//! The interpreter of the text commands (`monitor …` in gdb, `monitor …` and
//! `flux …` in the DAP REPL): [`Session::command`].  Each answers in one or a
//! few lines; a command that is wrong in any way gets one line of usage and
//! changes nothing.  The families are in their own files ([`super::flux`],
//! [`super::trace`], [`super::record`], [`super::query`], [`super::agents`]);
//! here are the general ones (help, why, disas, info, reset, isa json).
use crate::analysis::session::Session;
use crate::program::disasm;
use crate::runtime::isa;
use crate::runtime::vm::{FLAG_C, FLAG_O, FLAG_S, FLAG_Z, MEM_SIZE};

/// (usage, what it does) for `monitor help`.
pub const COMMANDS: &[(&str, &str)] = &[
    ("help", "this list"),
    ("why [stub]", "the last stop in words: signal, pc, instruction, reason (with `stub`: only a stop the stub caused)"),
    ("disas [ADDR [N]]", "disassemble N instructions (default 8) from ADDR (default pc)"),
    ("info", "a summary of the VM: registers, energy, breakpoints, state"),
    ("reset", "start the program over (breakpoints stay)"),
    ("isa json", "the opcode table as JSON, for tools"),
];

pub use super::args::parse_u32;
use crate::program::disasm::instruction_at;

/// Stops gdb did not ask for (no breakpoint, watchpoint or step of its own):
/// stub-side conditions, BRK, faults, terminations.
fn is_stub_side(kind: &crate::runtime::vm::StopKind) -> bool {
    use crate::runtime::vm::StopKind::*;
    matches!(kind, Brk | CondBreakpoint { .. } | WatchCondition { .. } | TrustFail | Fault { .. } | Terminated { .. })
}

fn flags_text(f: u32) -> String {
    let mut v = Vec::new();
    for (bit, name) in [(FLAG_Z, "Z"), (FLAG_S, "S"), (FLAG_C, "C"), (FLAG_O, "O")] {
        if f & bit != 0 {
            v.push(name);
        }
    }
    if v.is_empty() {
        "-".into()
    } else {
        v.join(" ")
    }
}

/// What a command changed that a front-end shows: the client refreshes its
/// registers, stack and variables after `Moved` or `Restarted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Changed {
    /// Nothing a front-end shows (breakpoints of the stub's own, recording,
    /// files written, or nothing at all).
    #[default]
    Nothing,
    /// The program is at another point of its run (`goto N`).
    Moved,
    /// The program started over (`reset`).
    Restarted,
}

/// A command's answer: its text (no trailing newline) and what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub text: String,
    pub changed: Changed,
}

/// Where the program is: a command that changes this moved it.
fn position(s: &Session) -> (u32, u32, u64, Option<u64>, bool) {
    (s.vm.current_agent(), s.vm.pc(), s.vm.regs().cycles as u64, s.history.as_ref().map(|h| h.now()), s.vm.finished())
}

impl Session {
    /// Runs one command line (the words after `monitor`) for `agent` (the
    /// agent the front-end shows: history queries about registers read its
    /// registers) and returns its answer.
    pub fn command(&mut self, line: &str, agent: u32) -> Answer {
        let before = position(self);
        let restart = matches!(line.split_whitespace().collect::<Vec<_>>().as_slice(), ["reset"]);
        let text = self.command_text(line, agent);
        let changed = if restart {
            Changed::Restarted
        } else if position(self) != before {
            Changed::Moved
        } else {
            Changed::Nothing
        };
        Answer { text, changed }
    }

    fn command_text(&mut self, line: &str, agent: u32) -> String {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] | ["help"] => {
                let mut s = String::from("FLUX monitor commands:");
                for (usage, what) in COMMANDS
                    .iter()
                    .chain(super::flux::COMMANDS)
                    .chain(super::trace::COMMANDS)
                    .chain(super::record::COMMANDS)
                    .chain(super::query::COMMANDS)
                    .chain(super::agents::COMMANDS)
                {
                    s.push_str(&format!("\n  monitor {usage:<40} {what}"));
                }
                s.push_str(&format!("\n{}", super::flux::COND_HELP));
                s
            }
            ["why"] => match &self.last_stop {
                Some(l) => l.description.clone(),
                None => format!(
                    "not stopped by anything yet: at 0x{:04X}: {}",
                    self.vm.pc(),
                    instruction_at(&self.vm, self.vm.pc())
                ),
            },
            // For scripts/flux-gdb.py's stop hook: gdb reports the stub's own
            // stops as plain SIGTRAP (or a fault's signal), which a script
            // cannot tell from the end of a step; the stub can.
            ["why", "stub"] => match &self.last_stop {
                Some(l) if is_stub_side(&l.stop.kind) => l.description.clone(),
                _ => String::new(),
            },
            ["disas", rest @ ..] => self.monitor_disas(rest),
            ["info"] => self.monitor_info(),
            ["reset"] => {
                self.restart();
                let r = self.vm.regs();
                format!("reset: pc=0x{:04X} sp=0x{:X} energy={}", r.pc, r.sp, r.energy)
            }
            ["isa", "json"] => isa::to_json(),
            [cmd, ..] if !matches!(*cmd, "help" | "why" | "disas" | "info" | "reset" | "isa") => {
                match self
                    .flux_command(line, &words)
                    .or_else(|| self.trace_command(&words))
                    .or_else(|| self.record_command(&words))
                    .or_else(|| self.query_command(&words, agent))
                    .or_else(|| self.agents_command(&words))
                {
                    Some(answer) => answer,
                    None => format!("error: unknown monitor command '{cmd}'; `monitor help` lists them"),
                }
            }
            [cmd, ..] => {
                let known = COMMANDS.iter().map(|(u, _)| u.split(' ').next().unwrap_or("")).collect::<Vec<_>>();
                if known.contains(cmd) {
                    let usage = COMMANDS.iter().find(|(u, _)| u.split(' ').next() == Some(*cmd)).map(|(u, _)| *u).unwrap_or("");
                    format!("error: usage: monitor {usage}")
                } else {
                    format!("error: unknown monitor command '{cmd}'; `monitor help` lists them")
                }
            }
        }
    }

    fn monitor_disas(&self, args: &[&str]) -> String {
        const USAGE: &str = "error: usage: monitor disas [ADDR [N]] (ADDR and N decimal or 0x hex, N <= 1000)";
        let pc = self.vm.pc();
        let (start, count) = match args {
            [] => (pc, 8),
            [a] => match parse_u32(a) {
                Some(a) => (a, 8),
                None => return USAGE.into(),
            },
            [a, n] => match (parse_u32(a), parse_u32(n)) {
                (Some(a), Some(n)) if n <= 1000 => (a, n),
                _ => return USAGE.into(),
            },
            _ => return USAGE.into(),
        };
        if start >= MEM_SIZE {
            return format!("error: address 0x{start:X} is outside the 64 KiB of memory");
        }
        let mut lines = Vec::new();
        let mut addr = start;
        for _ in 0..count {
            if addr >= MEM_SIZE {
                break;
            }
            let mut buf = [0u8; 6];
            let n = ((MEM_SIZE - addr) as usize).min(6);
            if self.vm.read_mem(addr, &mut buf[..n]).is_err() {
                break;
            }
            let Some(d) = disasm::decode(&buf[..n], addr) else { break };
            let marker = if addr == pc { "=>" } else { "  " };
            let bp = if self.vm.has_breakpoint(addr) { "*" } else { " " };
            lines.push(format!("{marker}{bp}{:04X}: {}", addr, d.text()));
            addr += d.len() as u32;
        }
        lines.join("\n")
    }

    fn monitor_info(&self) -> String {
        let r = self.vm.regs();
        let state = if self.vm.finished() {
            "finished"
        } else if let Some(l) = &self.last_stop {
            if matches!(l.stop.kind, crate::runtime::vm::StopKind::Fault { .. }) { "stopped by a fault" } else { "stopped" }
        } else {
            "ready"
        };
        let regs: Vec<String> = (0..16).map(|i| format!("r{i}={} ({:.2})", r.r[i], r.conf[i])).collect();
        let mut bps: Vec<String> = self.sw_breakpoints.union(&self.hw_breakpoints).map(|a| format!("0x{a:04X}")).collect();
        if bps.is_empty() {
            bps.push("none".into());
        }
        format!(
            "program: {} ({} bytes)\nstate: {state}\npc=0x{:04X} sp=0x{:X} fp=0x{:X} flags={}\nenergy={} cycles={}\n{}\n{}\nbreakpoints: {}\ntrust threshold: {:.2}",
            self.program.path.display(),
            self.program.bytes.len(),
            r.pc,
            r.sp,
            r.fp,
            flags_text(r.flags),
            r.energy,
            r.cycles,
            regs[..8].join(" "),
            regs[8..].join(" "),
            bps.join(" "),
            self.vm.trust_threshold(),
        )
    }
}
