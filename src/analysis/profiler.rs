//! Profiles: the runtime's exact counts as the reports take them
//! ([`profile_data`]), and the seed's profile over a `Debugger`'s trace
//! (opcode counts, energy per opcode, hot pcs, a bottleneck analysis in
//! words), counted the way the runtime counts (see [`profile_end`]).
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::analysis::debugger::Debugger;
use crate::analysis::profile_report::{CallPath, ProfileData};
use crate::runtime::isa;
use crate::runtime::vm::MEM_SIZE;

pub use crate::runtime::records::{CallNode, ProfileCounts};

/// The runtime's counts as the report and speedscope writers take them.
pub fn profile_data(vm: &crate::runtime::vm::Vm) -> ProfileData {
    data_of(vm.profile_counts())
}

/// Counts (the runtime's, or the seed's made from snapshots) as
/// [`ProfileData`]: the totals, and each call path with its inclusive count.
fn data_of(c: ProfileCounts) -> ProfileData {
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
        .map(|i| CallPath { stack: stack_of(i), self_count: c.nodes[i].self_count, inclusive: inclusive[i], calls: c.nodes[i].calls })
        .collect();
    ProfileData {
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
///
/// The seed's profile is a façade over the runtime's counts: the snapshots
/// are counted into a [`ProfileCounts`], one slot per address as the VM
/// counts (its energy slots hold the drops, the VM's what it charged), and
/// `instructions`, `energy` and `by_pc` are what [`profile_data`] makes of
/// the VM's counts.  Two parts cannot come from those counts, and are
/// counted from the records as before: `by_opcode` (the counts are per
/// address, and the opcode at an address would be decoded from memory,
/// which a snapshot need not carry; a caller's snapshots may also give one
/// address several opcodes), and snapshots whose pc lies outside the VM's
/// 64 KiB of memory (the counts have no slot for it; a hand-made
/// `VmState` may say any pc).
pub fn profile_end(debugger: &Debugger, session: ProfileSession) -> ProfileResult {
    let recs: Vec<_> = debugger.trace.records().filter(|r| r.index >= session.start).collect();
    let mut counts = ProfileCounts {
        pc_count: vec![0; MEM_SIZE as usize],
        pc_energy: vec![0; MEM_SIZE as usize],
        nodes: vec![CallNode { parent: 0, func: 0, self_count: 0, calls: 1 }],
    };
    let mut result = ProfileResult {
        missing: debugger.trace.next_index().saturating_sub(session.start).saturating_sub(recs.len() as u64),
        ..ProfileResult::default()
    };
    for (i, r) in recs.iter().enumerate() {
        let spent = recs.get(i + 1).map_or(0, |next| (r.energy - next.energy).max(0));
        let s = result.by_opcode.entry(r.opcode).or_default();
        s.count += 1;
        s.energy += spent;
        match counts.pc_count.get_mut(r.pc as usize) {
            Some(n) => {
                *n += 1;
                counts.pc_energy[r.pc as usize] += spent as u64;
                counts.nodes[0].self_count += 1;
            }
            None => {
                *result.by_pc.entry(r.pc).or_default() += 1;
                result.instructions += 1;
                result.energy += spent;
            }
        }
    }
    let data = data_of(counts);
    result.instructions += data.total_instructions;
    result.energy += data.total_energy as i64;
    result.by_pc.extend(data.pc_count.iter().enumerate().filter(|(_, &n)| n > 0).map(|(pc, &n)| (pc as u32, n)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tracer;
    use crate::runtime::vm_state::VmState;

    #[test]
    fn the_seed_profile_counts_snapshots_as_the_vm_counts_addresses() {
        let mut d = Debugger::new();
        tracer::trace_enable(&mut d);
        let push = |d: &mut Debugger, pc: u32, opcode: u8, energy: i64| {
            let mut s = VmState::new();
            (s.pc, s.opcode, s.energy) = (pc, opcode, energy);
            tracer::trace_record(d, &s);
        };
        push(&mut d, 0x40, 0x00, 100); // before the profile began
        let session = profile_begin(&d);
        push(&mut d, 0x10, 0x08, 100); // 3 spent
        push(&mut d, 0x14, 0x08, 97); // 1 spent
        push(&mut d, 0x10, 0x08, 96); // 2 spent
        push(&mut d, 0x2_0000, 0x00, 94); // outside the VM's memory: 4 spent
        push(&mut d, 0x10, 0x09, 90); // the last: nothing to compare with
        let r = profile_end(&d, session);
        assert_eq!((r.instructions, r.energy, r.missing), (5, 10, 0));
        assert_eq!(r.by_pc, HashMap::from([(0x10, 3), (0x14, 1), (0x2_0000, 1)]));
        assert_eq!(
            r.by_opcode,
            BTreeMap::from([
                (0x00, OpcodeStats { count: 1, energy: 4 }),
                (0x08, OpcodeStats { count: 3, energy: 6 }),
                (0x09, OpcodeStats { count: 1, energy: 0 }),
            ])
        );
        // a buffer of two: three of the five fell out
        d.trace.set_capacity(2);
        let r = profile_end(&d, session);
        assert_eq!((r.instructions, r.energy, r.missing), (2, 4, 3));
    }
}
