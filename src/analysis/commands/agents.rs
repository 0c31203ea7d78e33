//! Monitor commands about agents: `monitor agents` (each live agent's
//! state, mailbox length, energy) and `monitor mailbox N` (agent N's queued
//! messages).  gdb's own `info threads` shows the same agents as threads.
use super::args::parse_u32;
use crate::analysis::session::Session;
use crate::runtime::isa;

/// (usage, what it does) for `monitor help`.
pub const COMMANDS: &[(&str, &str)] = &[
    ("agents", "every live agent: state, pc, mailbox length, energy, instructions run, stack"),
    ("mailbox N", "agent N's queued messages, oldest first: value, confidence, sender"),
];

impl Session {
    /// Answers the agent commands; None for other commands.
    pub(crate) fn agents_command(&self, words: &[&str]) -> Option<String> {
        match words {
            ["agents"] => Some(self.monitor_agents()),
            ["agents", ..] => Some("error: usage: monitor agents".into()),
            ["mailbox", n] => Some(match parse_u32(n) {
                Some(id) => self.monitor_mailbox(id),
                None => "error: usage: monitor mailbox N (an agent id)".into(),
            }),
            ["mailbox", ..] => Some("error: usage: monitor mailbox N (an agent id)".into()),
            _ => None,
        }
    }

    fn monitor_agents(&self) -> String {
        let agents = self.vm.agents();
        let mut lines = vec![format!("{} agent{} alive", agents.len(), if agents.len() == 1 { "" } else { "s" })];
        for a in agents {
            let waits_in = match a.state {
                crate::runtime::vm::AgentState::Runnable | crate::runtime::vm::AgentState::Ended => String::new(),
                _ => isa::opcode(a.wait_op).map_or(String::new(), |o| format!(" (in {})", o.mnemonic)),
            };
            lines.push(format!(
                "{} agent {}: {}{waits_in}, pc=0x{:04X}, mailbox {}, energy {}, ran {}, stack 0x{:04X}-0x{:04X}",
                if a.running { "*" } else { " " },
                a.id,
                a.state,
                a.pc,
                a.mailbox,
                a.energy,
                a.retired,
                a.stack.0,
                a.stack.1
            ));
        }
        lines.join("\n")
    }

    fn monitor_mailbox(&self, id: u32) -> String {
        if !self.vm.agents().iter().any(|a| a.id == id) {
            return format!("error: no live agent {id}");
        }
        let msgs = self.vm.mailbox(id);
        if msgs.is_empty() {
            return format!("agent {id}: mailbox empty");
        }
        let mut lines = vec![format!("agent {id}: {} message{}", msgs.len(), if msgs.len() == 1 { "" } else { "s" })];
        for (k, m) in msgs.iter().enumerate() {
            lines.push(format!("  {k}: {} (conf {:.2}) from agent {}", m.value, m.conf, m.from));
        }
        lines.join("\n")
    }
}
