//! Confidence provenance: where a register's confidence came from.
//!
//! The runtime records every write of a confidence that is not certain
//! (1.0 staying 1.0 costs nothing but a store), with links to the records of
//! the confidences it was computed from.  `describe` walks them back from a
//! register, newest first, to where the value was set or loaded.
use crate::program::disasm;
use crate::runtime::vm::{ProvEntry, Vm};

/// The text `monitor conf-trace rN` prints.
pub fn describe(vm: &Vm, reg: u8) -> String {
    let conf = vm.regs().conf[reg as usize];
    let entries = vm.conf_trace(reg as u32);
    if entries.is_empty() {
        return format!("conf{reg} = {conf}: certain, from a load or a set (no uncertain computation produced it)");
    }
    let mut lines = vec![format!("conf{reg} = {conf}, produced by (newest first; sources indented below what they fed):")];
    for e in &entries {
        lines.push(line(e));
    }
    lines.join("\n")
}

fn line(e: &ProvEntry) -> String {
    let text = disasm::decode(&e.insn, e.pc).map(|d| d.text()).unwrap_or_default();
    let indent = "  ".repeat(e.depth as usize + 1);
    let more = if e.truncated { "  (older sources no longer recorded)" } else { "" };
    format!("{indent}0x{:04X}  {:<28} conf{} {} -> {}  (cycle {}){more}", e.pc, text, e.dest, e.before, e.after, e.cycle)
}
