//! Profiling over the trace: exact opcode counts, energy per opcode, hot pcs,
//! and a bottleneck analysis in words.
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::analysis::debugger::Debugger;
use crate::runtime::isa;

pub use crate::runtime::records::{CallNode, ProfileCounts};

/// The runtime's counts as the report and speedscope writers take them.
pub fn profile_data(vm: &crate::runtime::vm::Vm) -> crate::analysis::profile_report::ProfileData {
    let c = vm.profile_counts();
    // inclusive counts: a node's own plus its descendants' (children come after parents)
    let mut inclusive: Vec<u64> = c.nodes.iter().map(|n| n.self_count).collect();
    for i in (1..c.nodes.len()).rev() {
        let p = c.nodes[i].parent as usize;
        if p < i {
            inclusive[p] += inclusive[i];
        }
    }
    let stack_of = |mut i: usize| {
        let mut s = Vec::new();
        loop {
            s.push(c.nodes[i].func);
            if i == 0 {
                break;
            }
            let p = c.nodes[i].parent as usize;
            if p >= i {
                break;
            }
            i = p;
        }
        s.reverse();
        s
    };
    let call_paths = (0..c.nodes.len())
        .map(|i| crate::analysis::profile_report::CallPath {
            stack: stack_of(i),
            self_count: c.nodes[i].self_count,
            inclusive: inclusive[i],
            calls: c.nodes[i].calls,
        })
        .collect();
    crate::analysis::profile_report::ProfileData {
        total_instructions: c.pc_count.iter().sum(),
        total_energy: c.pc_energy.iter().sum(),
        pc_count: c.pc_count,
        pc_energy: c.pc_energy,
        call_paths,
    }
}

/// A profile in progress: where the trace stood when it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileSession {
    start: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpcodeStats {
    pub count: u64,
    pub energy: i64,
}

/// What a session measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileResult {
    pub instructions: u64,
    pub energy: i64,
    pub by_opcode: BTreeMap<u8, OpcodeStats>,
    pub by_pc: HashMap<u32, u64>,
    /// Records between begin and end that the trace buffer no longer held.
    pub missing: u64,
}

pub fn profile_begin(debugger: &Debugger) -> ProfileSession {
    ProfileSession { start: debugger.trace.next_index() }
}

/// Aggregates the instructions traced since `session` began.  The energy of
/// an instruction is the energy drop to the next record.
pub fn profile_end(debugger: &Debugger, session: ProfileSession) -> ProfileResult {
    let recs: Vec<_> = debugger.trace.records().filter(|r| r.index >= session.start).collect();
    let mut result = ProfileResult {
        missing: debugger.trace.next_index().saturating_sub(session.start).saturating_sub(recs.len() as u64),
        ..ProfileResult::default()
    };
    for (i, r) in recs.iter().enumerate() {
        let spent = recs.get(i + 1).map_or(0, |next| (r.energy - next.energy).max(0));
        let s = result.by_opcode.entry(r.opcode).or_default();
        s.count += 1;
        s.energy += spent;
        *result.by_pc.entry(r.pc).or_default() += 1;
        result.instructions += 1;
        result.energy += spent;
    }
    result
}

/// The analysis `bottleneck_analysis` prints.
pub struct BottleneckReport<'a>(&'a ProfileResult);

pub fn bottleneck_analysis(result: &ProfileResult) -> BottleneckReport<'_> {
    BottleneckReport(result)
}

impl fmt::Display for BottleneckReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        writeln!(f, "bottleneck analysis: {} instructions, {} energy", r.instructions, r.energy)?;
        if r.instructions == 0 {
            return writeln!(f, "  no instructions were traced between profile_begin and profile_end");
        }
        let mut ops: Vec<_> = r.by_opcode.iter().collect();
        ops.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        for (code, s) in ops.iter().take(5) {
            let name = isa::opcode(**code).map_or("DB", |o| o.mnemonic);
            writeln!(
                f,
                "  {name:<14} {:>8} ({:5.1}% of instructions, {:5.1}% of energy)",
                s.count,
                100.0 * s.count as f64 / r.instructions as f64,
                if r.energy > 0 { 100.0 * s.energy as f64 / r.energy as f64 } else { 0.0 }
            )?;
        }
        let mut pcs: Vec<_> = r.by_pc.iter().collect();
        pcs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        if let Some((pc, n)) = pcs.first() {
            writeln!(f, "  hottest pc 0x{pc:04X}: {n} executions ({:.1}%)", 100.0 * **n as f64 / r.instructions as f64)?;
        }
        if r.missing > 0 {
            writeln!(f, "  ({} instructions fell out of the trace buffer and are not counted)", r.missing)?;
        }
        Ok(())
    }
}
