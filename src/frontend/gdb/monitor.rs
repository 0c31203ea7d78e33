//! `monitor` commands: gdb's console for the commands every front-end offers
//! ([`crate::analysis::commands`]).  What is gdb's: the commands run for the
//! thread gdb addressed last, and the answer goes to gdb's console line by
//! line (`O` packets).
use gdbstub::target::ext::monitor_cmd::{outputln, ConsoleOutput, MonitorCmd};

use super::FluxTarget;
use crate::analysis::commands::interpreter::Changed;

impl FluxTarget {
    /// Runs one monitor command and returns its answer (no trailing newline).
    pub fn monitor(&mut self, line: &str) -> String {
        let agent = self.regs_agent.unwrap_or_else(|| self.session.vm.current_agent());
        let answer = self.session.command(line, agent);
        if answer.changed == Changed::Restarted {
            // a signal gdb asked to deliver belongs to the run that is gone
            self.take_pending_signal();
            return format!("{} (gdb caches registers: `maintenance flush register-cache` shows the new ones)", answer.text);
        }
        answer.text
    }
}

impl MonitorCmd for FluxTarget {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), Self::Error> {
        let answer = match std::str::from_utf8(cmd) {
            Ok(line) => self.monitor(line),
            Err(_) => "error: monitor commands are text (UTF-8)".to_string(),
        };
        for line in answer.lines() {
            outputln!(out, "{}", line);
        }
        Ok(())
    }
}
