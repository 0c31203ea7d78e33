//! `monitor origin`, `last-write`, `history`, `calls`: questions about the
//! whole recorded history (see [`crate::analysis::queries`]).  Every line
//! that names an instruction (`#N`) can be reached with `monitor goto N`.
use crate::analysis::session::Session;

pub const COMMANDS: &[(&str, &str)] = &[
    ("origin OPERAND", "where OPERAND's value came from: back through copies to the instruction that made it"),
    ("last-write OPERAND [N]", "the last N (default 1) instructions before now that wrote OPERAND: old -> new"),
    ("history OPERAND", "every write of OPERAND over the whole recording, in order"),
    ("calls [FUNCTION]", "every call (of FUNCTION): CALL index, callee, caller pc, r1, return index, r0, agent"),
];

const USAGE: &str = "error: usage: monitor origin OPERAND | last-write OPERAND [N] | history OPERAND | calls [FUNCTION] \
                     (OPERAND: rN, confN, mem8[A], mem16[A], mem32[A])";

impl Session {
    pub(crate) fn query_command(&mut self, words: &[&str], agent: u32) -> Option<String> {
        let answer = match words {
            ["origin", op] => self.query_origin(op, agent),
            ["last-write", op] => self.query_last_writes(op, 1, agent),
            ["last-write", op, n] => match n.parse::<usize>() {
                Ok(n) if n > 0 => self.query_last_writes(op, n, agent),
                _ => return Some(format!("error: last-write: '{n}' is not a count (1 or more)")),
            },
            ["history", op] => self.query_writes(op, agent),
            ["calls"] => self.query_calls(None),
            ["calls", f] => self.query_calls(Some(f)),
            ["origin" | "last-write" | "history" | "calls", ..] => return Some(USAGE.into()),
            _ => return None,
        };
        Some(match answer {
            Ok(lines) => lines.join("\n"),
            Err(e) => format!("error: {e}"),
        })
    }
}
