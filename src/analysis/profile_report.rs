//! Exact profiles: the VM's per-pc counters and call paths turned into a
//! report in words ([`report`]) and a speedscope file ([`speedscope_json`]).
//!
//! The counters are exact (every instruction is counted), so the report
//! needs no sampling caveats: shares are shares of what ran.  What the bytes
//! do not say (the opcode at a pc, basic blocks, functions) is worked out
//! from the program's bytes:
//!
//! - the opcode of a pc is the instruction decoded at that pc (only pcs that
//!   ran are decoded, so code reached at an odd alignment is read as it ran);
//! - basic blocks start at 0, at jump and call targets, after jumps, calls,
//!   returns and halts, at function entries, and wherever the count changes
//!   between two adjacent instructions (an entry the bytes do not show, such
//!   as an interrupt handler or a return into the middle of straight code);
//! - functions start at 0 (the program entry), at the targets of CALLs that
//!   ran and at the entries of the call paths, and run to the next function.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::program::disasm::{self, Decoded};
use crate::runtime::isa::{Flow, OpcodeInfo};
use crate::program::load::Program;

/// The VM's address space: the counters have one slot per byte of it.
pub const MEM_SIZE: usize = 0x10000;

/// Exact counts from one profiled run (filled from the VM's counters).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileData {
    /// Instructions executed at each address (len 65536).
    pub pc_count: Vec<u64>,
    /// Energy charged at each address (len 65536).
    pub pc_energy: Vec<u64>,
    /// Call paths: each a stack of function entry addresses from the outermost
    /// (the program entry, 0) down, with the instructions executed while that
    /// exact stack was current (self) and in total including callees (inclusive),
    /// and how many times the innermost function was called on that path.
    pub call_paths: Vec<CallPath>,
    pub total_instructions: u64,
    pub total_energy: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallPath {
    pub stack: Vec<u32>,
    pub self_count: u64,
    pub inclusive: u64,
    pub calls: u64,
}

/// `21891` -> `21,891`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0%".into();
    }
    format!("{:.1}%", 100.0 * part as f64 / whole as f64)
}

fn at(v: &[u64], pc: u32) -> u64 {
    v.get(pc as usize).copied().unwrap_or(0)
}

/// The instruction (or data byte) the program's bytes hold at `pc`; None past
/// the end of the program.
fn decode_at(bytes: &[u8], pc: u32) -> Option<Decoded> {
    bytes.get(pc as usize..).and_then(|b| disasm::decode(b, pc))
}

fn op_of(d: &Decoded) -> Option<&'static OpcodeInfo> {
    match d {
        Decoded::Instruction(i) => Some(i.op),
        Decoded::Byte { .. } => None,
    }
}

/// Where control may go besides the next instruction, for jumps and calls
/// whose target is in the instruction (the opcode table's control-flow column).
fn branch_target(d: &Decoded) -> Option<u32> {
    let Decoded::Instruction(i) = d else { return None };
    i.op.target_operand().and_then(|k| i.operands.get(k).copied())
}

/// Whether the instruction ends a basic block: anything but falling through
/// to the next instruction can happen after it.
fn ends_block(d: &Decoded) -> bool {
    match d {
        Decoded::Byte { .. } => true,
        Decoded::Instruction(i) => i.op.flow != Flow::Next,
    }
}

/// A call whose callee is known from the instruction (CALL; SWI's routine
/// is read from the interrupt table when it runs).
fn is_call(d: &Decoded) -> bool {
    matches!(d, Decoded::Instruction(i) if i.op.flow == Flow::Call && i.op.target_operand().is_some())
}

/// One function: an entry and the addresses up to the next entry.
#[derive(Debug, Clone)]
struct Func {
    entry: u32,
    /// Exclusive end of the addresses counted as this function's.
    end: u32,
    /// The last instruction start in the range (for display).
    last: u32,
    name: String,
    instructions: u64,
    energy: u64,
    calls: u64,
    recursive: bool,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    start: u32,
    last: u32,
    len: u64,
    count: u64,
}

impl Block {
    fn weight(&self) -> u64 {
        self.count.saturating_mul(self.len)
    }
}

#[derive(Debug, Clone)]
struct OpRow {
    name: String,
    category: &'static str,
    count: u64,
    energy: u64,
}

/// Everything the report and the speedscope file derive from the bytes.
struct Analysis<'a> {
    data: &'a ProfileData,
    program: &'a Program,
    /// (address, name), sorted by address then name.
    labels: Vec<(u32, &'a str)>,
    /// Instruction starts: the linear decode from 0 plus every pc that ran.
    insns: BTreeMap<u32, Decoded>,
    funcs: Vec<Func>,
    blocks: Vec<Block>,
}

impl<'a> Analysis<'a> {
    fn new(data: &'a ProfileData, program: &'a Program) -> Analysis<'a> {
        let bytes = &program.bytes;
        let mut labels: Vec<(u32, &str)> = program
            .source
            .as_ref()
            .map(|(_, a)| a.labels.iter().map(|(n, &addr)| (addr, n.as_str())).collect())
            .unwrap_or_default();
        labels.sort();

        let mut insns = BTreeMap::new();
        for d in disasm::decode_all(bytes, 0) {
            if let Decoded::Instruction(i) = &d {
                insns.insert(i.addr, d);
            }
        }
        let executed: Vec<u32> =
            (0..data.pc_count.len().min(MEM_SIZE) as u32).filter(|&pc| at(&data.pc_count, pc) > 0).collect();
        for &pc in &executed {
            if let std::collections::btree_map::Entry::Vacant(slot) = insns.entry(pc) {
                if let Some(d) = decode_at(bytes, pc) {
                    slot.insert(d);
                }
            }
        }

        // Functions.
        let mut entries = BTreeSet::from([0u32]);
        for (&addr, d) in &insns {
            if is_call(d) && at(&data.pc_count, addr) > 0 {
                entries.extend(branch_target(d));
            }
        }
        for cp in &data.call_paths {
            entries.extend(cp.stack.iter().copied());
        }
        let entries: Vec<u32> = entries.into_iter().collect();
        let mut funcs: Vec<Func> = entries
            .iter()
            .enumerate()
            .map(|(k, &entry)| {
                let end = entries.get(k + 1).copied().unwrap_or(MEM_SIZE as u32).max(entry);
                let last = insns.range(entry..end).next_back().map_or(entry, |(&a, _)| a);
                let (mut instructions, mut energy) = (0u64, 0u64);
                for pc in entry..end.min(MEM_SIZE as u32) {
                    instructions += at(&data.pc_count, pc);
                    energy += at(&data.pc_energy, pc);
                }
                Func { entry, end, last, name: func_name(program, entry), instructions, energy, calls: 0, recursive: false }
            })
            .collect();
        let index_of = |funcs: &[Func], entry: u32| funcs.binary_search_by_key(&entry, |f| f.entry).ok();
        if data.call_paths.is_empty() {
            // No call paths: count the CALLs that ran, by target.
            for (&addr, d) in &insns {
                let n = at(&data.pc_count, addr);
                if n == 0 || !is_call(d) {
                    continue;
                }
                let Some(t) = branch_target(d) else { continue };
                if let Some(k) = index_of(&funcs, t) {
                    funcs[k].calls += n;
                    if (funcs[k].entry..funcs[k].end).contains(&addr) {
                        funcs[k].recursive = true;
                    }
                }
            }
        } else {
            for cp in &data.call_paths {
                let Some(&inner) = cp.stack.last() else { continue };
                if let Some(k) = index_of(&funcs, inner) {
                    funcs[k].calls += cp.calls;
                }
                for &e in &cp.stack {
                    if cp.stack.iter().filter(|&&x| x == e).count() > 1 {
                        if let Some(k) = index_of(&funcs, e) {
                            funcs[k].recursive = true;
                        }
                    }
                }
            }
        }

        // Basic blocks.
        let mut leaders: BTreeSet<u32> = entries.iter().copied().collect();
        for (&addr, d) in &insns {
            if let Some(t) = branch_target(d) {
                leaders.insert(t);
            }
            if ends_block(d) {
                leaders.insert(addr + d.len() as u32);
            }
        }
        let mut blocks: Vec<Block> = Vec::new();
        let mut open: Option<(Block, u32, bool)> = None; // (block, next address, ended)
        for (&addr, d) in &insns {
            let count = at(&data.pc_count, addr);
            let continues = matches!(&open, Some((b, next, ended))
                if *next == addr && !*ended && b.count == count && !leaders.contains(&addr));
            if !continues {
                if let Some((b, _, _)) = open.take() {
                    blocks.push(b);
                }
                open = Some((Block { start: addr, last: addr, len: 0, count }, addr, false));
            }
            if let Some((b, next, ended)) = open.as_mut() {
                b.last = addr;
                b.len += 1;
                *next = addr + d.len() as u32;
                *ended = ends_block(d);
            }
        }
        if let Some((b, _, _)) = open {
            blocks.push(b);
        }
        blocks.retain(|b| b.count > 0);

        Analysis { data, program, labels, insns, funcs, blocks }
    }

    fn func_of(&self, pc: u32) -> Option<&Func> {
        let k = self.funcs.partition_point(|f| f.entry <= pc);
        k.checked_sub(1).map(|k| &self.funcs[k])
    }

    fn func_by_entry(&self, entry: u32) -> Option<&Func> {
        self.funcs.binary_search_by_key(&entry, |f| f.entry).ok().map(|k| &self.funcs[k])
    }

    fn name_of(&self, entry: u32) -> String {
        self.func_by_entry(entry).map_or_else(|| func_name(self.program, entry), |f| f.name.clone())
    }

    /// `fib+12`: the nearest label at or before `pc`, or else its function.
    fn location(&self, pc: u32) -> String {
        let k = self.labels.partition_point(|&(a, _)| a <= pc);
        let (base, name) = match k.checked_sub(1).map(|k| self.labels[k]) {
            Some((a, n)) => (a, n.to_string()),
            None => match self.func_of(pc) {
                Some(f) => (f.entry, f.name.clone()),
                None => return String::new(),
            },
        };
        if pc == base {
            name
        } else {
            format!("{name}+{}", pc - base)
        }
    }

    fn path_text(&self, stack: &[u32]) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < stack.len() {
            let mut j = i;
            while j < stack.len() && stack[j] == stack[i] {
                j += 1;
            }
            let name = self.name_of(stack[i]);
            if j - i >= 4 {
                parts.push(format!("{name} ×{}", j - i));
            } else {
                parts.extend(std::iter::repeat_n(name, j - i));
            }
            i = j;
        }
        parts.join(" > ")
    }

    fn opcode_rows(&self) -> Vec<OpRow> {
        let mut rows: BTreeMap<String, OpRow> = BTreeMap::new();
        let d = self.data;
        for pc in 0..d.pc_count.len().min(MEM_SIZE) as u32 {
            let count = at(&d.pc_count, pc);
            if count == 0 {
                continue;
            }
            let (name, category) = match self.insns.get(&pc) {
                Some(dec) => match op_of(dec) {
                    Some(op) => (op.mnemonic.to_string(), op.category),
                    None => ("DB".to_string(), "data"),
                },
                None => ("?".to_string(), "outside the program"),
            };
            let row = rows.entry(name.clone()).or_insert(OpRow { name, category, count: 0, energy: 0 });
            row.count += count;
            row.energy += at(&d.pc_energy, pc);
        }
        let mut rows: Vec<OpRow> = rows.into_values().collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then(b.energy.cmp(&a.energy)).then(a.name.cmp(&b.name)));
        rows
    }
}

fn func_name(program: &Program, entry: u32) -> String {
    program.function_name(entry)
}

/// What to do about an expensive opcode.
fn expensive_advice(mnemonic: &str) -> &'static str {
    match mnemonic {
        "CDIV" | "CMOD" | "DIVI" => {
            "divide less: shifts and masks for powers of two, a multiply by a reciprocal for constants, divisions hoisted out of loops"
        }
        "CMUL" | "MULI" => "strength-reduce multiplications (shifts and adds, or a running sum in loops)",
        "MEMCPY" | "MEMSET" | "MEMCMP" => {
            "they cost 2 + bytes/4: move fewer bytes or move them less often (pass addresses instead of copies)"
        }
        "PUSH_ALL" | "POP_ALL" => "save and restore only the registers that are live",
        _ => "keep it out of the hot path",
    }
}

/// The human report: opcode frequency, hot pcs, hot basic blocks, hot call
/// paths, and a bottleneck analysis in words; `top` rows per hot list.
pub fn report(data: &ProfileData, program: &Program, top: usize) -> String {
    let a = Analysis::new(data, program);
    let total = data.total_instructions;
    let energy = data.total_energy;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Profile of {}: {} instructions, {} energy",
        program.path.display(),
        thousands(total),
        thousands(energy)
    );

    // (1) Opcode frequency.
    let ops = a.opcode_rows();
    let _ = writeln!(s, "\nOpcode frequency ({} opcodes executed)", ops.len());
    let _ = writeln!(s, "  {:<16} {:>14} {:>13} {:>8}", "opcode", "count", "instructions", "energy");
    for r in &ops {
        let _ = writeln!(
            s,
            "  {:<16} {:>14} {:>13} {:>8}",
            r.name,
            thousands(r.count),
            pct(r.count, total),
            pct(r.energy, energy)
        );
    }

    // (2) Hot paths: pcs, blocks, call paths.
    let mut pcs: Vec<(u32, u64)> = (0..data.pc_count.len().min(MEM_SIZE) as u32)
        .map(|pc| (pc, at(&data.pc_count, pc)))
        .filter(|&(_, n)| n > 0)
        .collect();
    pcs.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let _ = writeln!(s, "\nHottest instructions");
    let _ = writeln!(s, "  {:<8} {:<20} {:>14} {:>7}  instruction", "addr", "location", "count", "share");
    for &(pc, n) in pcs.iter().take(top) {
        let text = a.insns.get(&pc).map_or_else(|| "?? (outside the program)".to_string(), |d| d.text());
        let _ = writeln!(s, "  0x{pc:04X}   {:<20} {:>14} {:>7}  {text}", a.location(pc), thousands(n), pct(n, total));
    }

    let mut blocks = a.blocks.clone();
    blocks.sort_by(|x, y| y.weight().cmp(&x.weight()).then(y.count.cmp(&x.count)).then(x.start.cmp(&y.start)));
    let _ = writeln!(s, "\nHottest basic blocks");
    let _ = writeln!(
        s,
        "  {:<15} {:<20} {:>6} {:>14} {:>7}",
        "range", "location", "instrs", "executions", "share"
    );
    for b in blocks.iter().take(top) {
        let _ = writeln!(
            s,
            "  0x{:04X}-0x{:04X}   {:<20} {:>6} {:>14} {:>7}",
            b.start,
            b.last,
            a.location(b.start),
            b.len,
            thousands(b.count),
            pct(b.weight(), total)
        );
    }

    let mut paths: Vec<&CallPath> = data.call_paths.iter().collect();
    paths.sort_by(|x, y| y.inclusive.cmp(&x.inclusive).then(y.self_count.cmp(&x.self_count)).then(x.stack.cmp(&y.stack)));
    let _ = writeln!(s, "\nHottest call paths (by inclusive instructions)");
    if paths.is_empty() {
        let _ = writeln!(s, "  (no call paths were recorded)");
    } else {
        let _ = writeln!(s, "  {:>14} {:>7} {:>14} {:>10}  path", "inclusive", "share", "self", "calls");
        for p in paths.iter().take(top) {
            let _ = writeln!(
                s,
                "  {:>14} {:>7} {:>14} {:>10}  {}",
                thousands(p.inclusive),
                pct(p.inclusive, total),
                thousands(p.self_count),
                thousands(p.calls),
                a.path_text(&p.stack)
            );
        }
    }

    // (3) Bottleneck analysis.
    let _ = writeln!(s, "\nBottleneck analysis");
    for line in bottleneck_lines(&a, &ops, &blocks) {
        let _ = writeln!(s, "  {line}");
    }
    s
}

fn bottleneck_lines(a: &Analysis, ops: &[OpRow], blocks_by_weight: &[Block]) -> Vec<String> {
    let data = a.data;
    let total = data.total_instructions;
    let energy = data.total_energy;
    let mut out = Vec::new();
    if total == 0 {
        out.push("No instructions were executed.".to_string());
        return out;
    }

    // Where the instructions go: functions by their own (self) instructions.
    let mut funcs: Vec<&Func> = a.funcs.iter().filter(|f| f.instructions > 0).collect();
    funcs.sort_by(|x, y| y.instructions.cmp(&x.instructions).then(x.entry.cmp(&y.entry)));
    let hot = funcs.first().copied();
    if let Some(f) = hot {
        let mut line = format!(
            "{} of instructions ({} of {}) in {} at 0x{:04X}–0x{:04X}",
            pct(f.instructions, total),
            thousands(f.instructions),
            thousands(total),
            f.name,
            f.entry,
            f.last
        );
        if f.calls > 0 {
            let _ = write!(
                line,
                "; {} call{}, {:.1} instructions per call",
                thousands(f.calls),
                if f.calls == 1 { "" } else { "s" },
                f.instructions as f64 / f.calls as f64
            );
        } else if f.entry == 0 {
            line.push_str(" (the program entry, not called)");
        }
        if f.recursive {
            line.push_str("; recursive");
        }
        line.push('.');
        out.push(line);
        let rest: Vec<String> = funcs
            .iter()
            .skip(1)
            .take(3)
            .map(|g| match g.calls {
                0 => format!("{} {}", g.name, pct(g.instructions, total)),
                1 => format!("{} {} (1 call)", g.name, pct(g.instructions, total)),
                n => format!("{} {} ({} calls)", g.name, pct(g.instructions, total), thousands(n)),
            })
            .collect();
        if !rest.is_empty() {
            out.push(format!("Next: {}.", rest.join(", ")));
        }
    }

    // Why: the hottest block.
    if let Some(b) = blocks_by_weight.first() {
        let loc = a.location(b.start);
        let place = match a.func_of(b.start) {
            Some(f) if f.name == loc => format!(" in {}", f.name),
            Some(f) => format!(" in {} ({loc})", f.name),
            None => String::new(),
        };
        out.push(format!(
            "Hottest block: 0x{:04X}-0x{:04X}{place}, {} instruction{} run {} times: {} of instructions.",
            b.start,
            b.last,
            b.len,
            if b.len == 1 { "" } else { "s" },
            thousands(b.count),
            pct(b.weight(), total)
        ));
    }

    // Where the energy goes.
    if energy > 0 {
        let mut cats: BTreeMap<&str, u64> = BTreeMap::new();
        for r in ops {
            *cats.entry(r.category).or_default() += r.energy;
        }
        let mut cats: Vec<(&str, u64)> = cats.into_iter().filter(|&(_, e)| e > 0).collect();
        cats.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
        let cat_text: Vec<String> = cats.iter().take(4).map(|(c, e)| format!("{c} {}", pct(*e, energy))).collect();
        let mut efuncs: Vec<&Func> = a.funcs.iter().filter(|f| f.energy > 0).collect();
        efuncs.sort_by(|x, y| y.energy.cmp(&x.energy).then(x.entry.cmp(&y.entry)));
        let mut line = format!(
            "Energy: {} in all, {:.2} per instruction",
            thousands(energy),
            energy as f64 / total as f64
        );
        if let Some(f) = efuncs.first() {
            let _ = write!(line, "; {} of it in {}", pct(f.energy, energy), f.name);
        }
        let _ = write!(line, "; by opcode category: {}.", cat_text.join(", "));
        out.push(line);
    }

    // Suggestions.
    let mut suggestions = Vec::new();
    if let Some(f) = hot {
        // CALL + RET are two instructions per call: the call overhead alone.
        let overhead = f.calls.saturating_mul(2);
        if f.calls >= 2 && overhead.saturating_mul(10) >= total {
            let fix = if f.recursive {
                "consider memoising it (results of earlier calls reused) or rewriting the recursion as a loop"
            } else {
                "consider inlining it into its callers"
            };
            suggestions.push(format!(
                "{} is called {} times for {:.1} instructions per call, so CALL and RET alone are {} of all instructions: {fix}.",
                f.name,
                thousands(f.calls),
                f.instructions as f64 / f.calls as f64,
                pct(overhead.min(total), total)
            ));
        }
    }
    if energy > 0 {
        let mut costly: Vec<&OpRow> =
            ops.iter().filter(|r| r.count > 0 && r.energy >= r.count.saturating_mul(2)).collect();
        costly.sort_by(|x, y| y.energy.cmp(&x.energy).then(x.name.cmp(&y.name)));
        let costly_energy: u64 = costly.iter().map(|r| r.energy).sum();
        if !costly.is_empty() {
            let list: Vec<String> = costly
                .iter()
                .take(4)
                .map(|r| {
                    format!(
                        "{} ({} runs, {:.1} energy each, {} of energy)",
                        r.name,
                        thousands(r.count),
                        r.energy as f64 / r.count as f64,
                        pct(r.energy, energy)
                    )
                })
                .collect();
            let mut line = format!(
                "expensive opcodes take {} of energy: {}",
                pct(costly_energy, energy),
                list.join(", ")
            );
            if costly_energy.saturating_mul(4) >= energy {
                let _ = write!(line, "; energy is dominated by them: {}", expensive_advice(&costly[0].name));
                line.push('.');
                suggestions.push(line);
            } else {
                line.push('.');
                out.push(format!("E{}", &line[1..]));
            }
        }
    }
    if suggestions.is_empty() {
        out.push(
            "No call overhead or expensive opcode stands out: the cost is the work itself; start with the hottest block."
                .to_string(),
        );
    } else {
        for s in suggestions {
            out.push(format!("Suggestion: {s}"));
        }
    }
    out
}

/// The most call events a [`Timeline`] keeps unless told otherwise
/// (`run --profile-events`).
pub const DEFAULT_MAX_EVENTS: u64 = 1_000_000;

/// A frame opened (`open`) or closed at an agent's instruction index `at`
/// (the instructions that agent ran before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEvent {
    pub open: bool,
    /// The function's entry address.
    pub func: u32,
    pub at: u64,
}

/// One agent's run as calls and returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentTimeline {
    /// Instructions the agent ran (in its turns that ended).
    pub instructions: u64,
    /// Its frames, outermost first (the pc it started at, then each
    /// function entered by a call and not yet left).
    stack: Vec<u32>,
    /// Where it starts running (its first frame), until it has run.
    entry: u32,
    /// It had run before the profile began: `entry` may lie inside a
    /// function, and the first frame is that function's.
    pub resumed: bool,
    pub events: Vec<FrameEvent>,
}

/// Calls and returns per agent, in the order each agent ran them, made from
/// the VM's profile events ([`Timeline::feed`]; see
/// [`crate::runtime::vm::Vm::take_profile_events`]): the VM logs each call,
/// return and agent turn at its global instruction index, and the timeline
/// counts each agent's own instructions from its turns.  An agent's first
/// frame is the pc it first ran from; a call (an opcode whose Flow is Call:
/// CALL, SWI) opens the frame of its callee at the index of the callee's
/// first instruction; a return (Flow Return: RET, IRET) closes the innermost
/// frame after it (never the first), as the VM's call-path counts charge
/// them.  Past `limit` events it keeps none (`overflowed`): the file is
/// then made of the aggregated counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The most events the file may hold.
    pub limit: u64,
    pub agents: BTreeMap<u32, AgentTimeline>,
    events: u64,
    pub overflowed: bool,
    /// The turn running: its agent and the global index it began at.
    turn: Option<(u32, u64)>,
}

impl Timeline {
    pub fn new(limit: u64) -> Timeline {
        Timeline { limit, agents: BTreeMap::new(), events: 0, overflowed: false, turn: None }
    }

    /// Events kept so far (an open counts two: it and the close that ends its frame).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Drops the events: the file will hold the aggregated counts.
    pub fn overflow(&mut self) {
        self.overflowed = true;
        for a in self.agents.values_mut() {
            a.events = Vec::new();
        }
    }

    /// A new limit; past it (already) the events are dropped.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
        if self.events > limit {
            self.overflow();
        }
    }

    fn add(&mut self, agent: u32, e: FrameEvent) {
        if self.overflowed {
            return;
        }
        // an open counts with the close that ends its frame (at a return or at the end)
        let cost = if e.open { 2 } else { 0 };
        if self.events + cost > self.limit {
            self.overflow();
            return;
        }
        self.events += cost;
        self.agents.entry(agent).or_default().events.push(e);
    }

    /// Opens `agent`'s first frame when it has none: it ran.
    fn started(&mut self, agent: u32) {
        let line = self.agents.entry(agent).or_default();
        if line.stack.is_empty() {
            let (func, at) = (line.entry, line.instructions);
            line.stack.push(func);
            self.add(agent, FrameEvent { open: true, func, at });
        }
    }

    /// Ends the turn running at global index `end`.
    fn end_turn(&mut self, end: u64) {
        if let Some((agent, begin)) = self.turn.take() {
            let ran = end.wrapping_sub(begin);
            if ran > 0 && ran < u64::MAX / 2 {
                self.started(agent);
                if let Some(line) = self.agents.get_mut(&agent) {
                    line.instructions += ran;
                }
            }
        }
    }

    /// The VM's profile events, in the order it logged them.
    pub fn feed(&mut self, events: &[crate::runtime::records::ProfEvent]) {
        use crate::runtime::records::ProfEventKind as K;
        for e in events {
            if self.overflowed {
                return;
            }
            match e.kind {
                K::Turn => {
                    self.end_turn(e.cycle);
                    self.turn = Some((e.agent, e.cycle));
                    let line = self.agents.entry(e.agent).or_default();
                    if line.stack.is_empty() {
                        line.entry = e.addr;
                        line.resumed = e.resumed;
                    }
                }
                K::End => self.end_turn(e.cycle),
                K::Call | K::Return => {
                    // the hot path (two events a call): one look-up, the
                    // limit checked in place
                    let Some((agent, begin)) = self.turn.filter(|&(a, _)| a == e.agent) else { continue };
                    let Some(line) = self.agents.get_mut(&agent) else { continue };
                    let mut cost = 0;
                    if line.stack.is_empty() {
                        cost += 2;
                    }
                    if e.kind == K::Call {
                        cost += 2;
                    }
                    if self.events + cost > self.limit {
                        self.overflow();
                        return;
                    }
                    self.events += cost;
                    if line.stack.is_empty() {
                        line.stack.push(line.entry);
                        line.events.push(FrameEvent { open: true, func: line.entry, at: line.instructions });
                    }
                    let at = line.instructions + e.cycle.wrapping_sub(begin);
                    if e.kind == K::Call {
                        line.stack.push(e.addr);
                        line.events.push(FrameEvent { open: true, func: e.addr, at });
                    } else if line.stack.len() > 1 {
                        let func = line.stack.pop().unwrap_or_default();
                        line.events.push(FrameEvent { open: false, func, at });
                    }
                }
            }
        }
    }

    /// The events of `agent` with the frames still open closed at its end.
    pub fn events_of(&self, agent: u32) -> Vec<FrameEvent> {
        let Some(line) = self.agents.get(&agent) else { return Vec::new() };
        let mut events = line.events.clone();
        events.extend(line.stack.iter().rev().map(|&func| FrameEvent { open: false, func, at: line.instructions }));
        events
    }

    /// Instructions run by all agents.
    pub fn instructions(&self) -> u64 {
        self.agents.values().map(|a| a.instructions).sum()
    }
}

/// A speedscope file (https://www.speedscope.app/file-format-schema.json):
/// one frame per function, one "sampled" profile whose samples are the call
/// paths and whose weights are their exact self instruction counts.
pub fn speedscope_json(data: &ProfileData, program: &Program) -> String {
    speedscope_json_with(data, program, None)
}

/// [`speedscope_json`], or with a [`Timeline`] that did not overflow one
/// "evented" profile per agent: its frames opened and closed at the agent's
/// instruction indices, so that speedscope's Time Order view shows the run
/// (Left Heavy and Sandwich aggregate it).  A timeline that overflowed gives
/// the aggregated samples, and the file's name and exporter say so.
pub fn speedscope_json_with(data: &ProfileData, program: &Program, timeline: Option<&Timeline>) -> String {
    let a = Analysis::new(data, program);
    let file = program.path.display().to_string();
    let frame_of = |name: &str, entry: u32| {
        let mut frame = serde_json::json!({ "name": name, "file": file });
        if let Some(line) = program.source.as_ref().and_then(|(_, asm)| asm.line_of(entry)) {
            frame["line"] = serde_json::json!(line);
        }
        frame
    };
    let mut frames: Vec<serde_json::Value> = a.funcs.iter().map(|f| frame_of(&f.name, f.entry)).collect();
    let index = |entry: u32| a.funcs.binary_search_by_key(&entry, |f| f.entry).unwrap_or(0);
    let name = program.path.file_name().map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
    let mut exporter = format!("cuda-flux-debugger {}", env!("CARGO_PKG_VERSION"));
    let mut doc_name = name.clone();
    // each evented profile's events, written as text and put in place of
    // the string EVENTS_SLOT + its index
    let mut placed: Vec<String> = Vec::new();
    let profiles = match timeline {
        Some(t) if !t.overflowed => {
            // frames for entries the counts do not show (an agent's start)
            let mut extra: BTreeMap<u32, usize> = BTreeMap::new();
            let mut profiles = Vec::new();
            for (&agent, line) in &t.agents {
                // the events as text: a million serde_json values would take
                // a hundred times the memory of the file
                let mut events = String::from("[");
                let all = t.events_of(agent);
                for (n, e) in all.iter().enumerate() {
                    // the first frame (the first event and the last) of an agent
                    // that had run before is the function its pc was in
                    let func = match line.resumed && (n == 0 || n + 1 == all.len()) {
                        true => a.func_of(e.func).map_or(e.func, |f| f.entry),
                        false => e.func,
                    };
                    let e = FrameEvent { func, ..*e };
                    let k = match a.funcs.binary_search_by_key(&e.func, |f| f.entry) {
                        Ok(k) => k,
                        Err(_) => *extra.entry(e.func).or_insert_with(|| {
                            frames.push(frame_of(&func_name(program, e.func), e.func));
                            frames.len() - 1
                        }),
                    };
                    let sep = if n == 0 { "" } else { "," };
                    let kind = if e.open { "O" } else { "C" };
                    let _ = write!(events, r#"{sep}{{"type":"{kind}","frame":{k},"at":{}}}"#, e.at);
                }
                events.push(']');
                profiles.push(serde_json::json!({
                    "type": "evented",
                    "name": format!("{name} agent {agent} (instructions)"),
                    "unit": "none",
                    "startValue": 0,
                    "endValue": line.instructions,
                    "events": format!("{EVENTS_SLOT}{}", placed.len()),
                }));
                placed.push(events);
            }
            profiles
        }
        _ => {
            let mut profile_name = format!("{name} (instructions)");
            if let Some(t) = timeline {
                let note = format!("aggregated samples: more than {} call events", t.limit);
                profile_name = format!("{name} (instructions; {note})");
                doc_name = format!("{name} ({note})");
                exporter = format!("{exporter} ({note})");
            }
            let mut samples: Vec<Vec<usize>> = Vec::new();
            let mut weights: Vec<u64> = Vec::new();
            if data.call_paths.is_empty() {
                // No call paths: one flat sample per function that ran.
                for (k, f) in a.funcs.iter().enumerate() {
                    if f.instructions > 0 {
                        samples.push(vec![k]);
                        weights.push(f.instructions);
                    }
                }
            } else {
                for p in &data.call_paths {
                    if p.self_count > 0 {
                        samples.push(p.stack.iter().map(|&e| index(e)).collect());
                        weights.push(p.self_count);
                    }
                }
            }
            vec![serde_json::json!({
                "type": "sampled",
                "name": profile_name,
                "unit": "none",
                "startValue": 0,
                "endValue": data.total_instructions,
                "samples": samples,
                "weights": weights,
            })]
        }
    };
    let doc = serde_json::json!({
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": { "frames": frames },
        "profiles": profiles,
        "name": doc_name,
        "activeProfileIndex": 0,
        "exporter": exporter,
    });
    let mut text = doc.to_string();
    for (k, events) in placed.iter().enumerate() {
        let slot = serde_json::Value::String(format!("{EVENTS_SLOT}{k}")).to_string();
        if let Some(at) = text.find(&slot) {
            text.replace_range(at..at + slot.len(), events);
        }
    }
    text
}

/// A placeholder no name can hold (a NUL): where an evented profile's events go.
const EVENTS_SLOT: &str = "\u{0}events:";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::asm;
    use std::path::PathBuf;

    /// examples/fibonacci.fasm's code with n = 5 and the entry labelled main.
    const FIB5: &str = "\
main:   LOAD_IMM  r1, 5
        CALL      fib
        DBG_PRINT r0
        HALT
fib:    CMP_I16   r1, 2
        JL        r1, small
        PUSH_R    r1
        DECR      r1
        CALL      fib
        POP_R     r1
        PUSH_R    r0
        SUBI      r1, 2
        CALL      fib
        POP_R     r2
        CADD      r0, r0, r2
        RET
small:  MOV       r0, r1
        RET
";

    fn program(src: &str, path: &str) -> Program {
        let a = asm::assemble(src).unwrap();
        Program { path: PathBuf::from(path), bytes: a.bytes.clone(), source: Some((src.to_string(), a)), symbols: Default::default(), elf_file: None }
    }

    fn data_from(counts: &[(u32, u64)], energy_each: impl Fn(u32) -> u64, call_paths: Vec<CallPath>) -> ProfileData {
        let mut d = ProfileData { pc_count: vec![0; MEM_SIZE], pc_energy: vec![0; MEM_SIZE], call_paths, ..Default::default() };
        for &(pc, n) in counts {
            d.pc_count[pc as usize] = n;
            d.pc_energy[pc as usize] = n * energy_each(pc);
            d.total_instructions += n;
            d.total_energy += n * energy_each(pc);
        }
        d
    }

    fn cp(stack: &[u32], self_count: u64, inclusive: u64, calls: u64) -> CallPath {
        CallPath { stack: stack.to_vec(), self_count, inclusive, calls }
    }

    /// fib(5): 15 calls of fib, 7 that recurse (12 instructions each) and 8
    /// leaves (4 each): 116 instructions in fib, 4 in main, every one costing 1.
    fn fib5() -> (Program, ProfileData) {
        let p = program(FIB5, "fib5.fasm");
        let counts = [
            (0x00, 1), (0x06, 1), (0x09, 1), (0x0B, 1), // main
            (0x0C, 15), (0x10, 15), // CMP_I16, JL
            (0x14, 7), (0x16, 7), (0x18, 7), (0x1B, 7), (0x1D, 7), (0x1F, 7), (0x23, 7), (0x26, 7), (0x28, 7), (0x2C, 7),
            (0x2D, 8), (0x30, 8), // small: MOV, RET
        ];
        // Per depth: calls 1, 2, 4, 6, 2; self 12, 24, 12*3+4, 12+4*5, 4*2.
        let paths = vec![
            cp(&[0], 4, 120, 0),
            cp(&[0, 12], 12, 116, 1),
            cp(&[0, 12, 12], 24, 104, 2),
            cp(&[0, 12, 12, 12], 40, 80, 4),
            cp(&[0, 12, 12, 12, 12], 32, 40, 6),
            cp(&[0, 12, 12, 12, 12, 12], 8, 8, 2),
        ];
        (p, data_from(&counts, |_| 1, paths))
    }

    fn lines(s: &str) -> Vec<&str> {
        s.lines().collect()
    }

    /// Agents' turns interleave: each agent's indices count only its own
    /// instructions, its first frame opens where it first ran (the function
    /// its pc is in when it had run before), a return never closes it.
    #[test]
    fn a_timeline_from_profile_events_counts_each_agent_in_its_turns() {
        use crate::runtime::records::{ProfEvent, ProfEventKind as K};
        let ev = |kind, agent, addr, cycle| ProfEvent { kind, agent, addr, cycle, resumed: false };
        let mut t = Timeline::new(100);
        t.feed(&[
            ev(K::Turn, 1, 0x00, 10),   // agent 1 runs from 0 at global 10
            ev(K::Call, 1, 0x20, 12),   // its third instruction is the callee's first
            ev(K::Turn, 2, 0x40, 15),   // agent 2 from 0x40: agent 1 ran 5
            ev(K::Call, 2, 0x20, 17),
            ev(K::Return, 2, 0x44, 19),
            ev(K::Turn, 1, 0x22, 20),   // agent 2 ran 5
            ev(K::Return, 1, 0x05, 21), // agent 1's sixth instruction returns
            ev(K::Return, 1, 0x00, 23), // a return from its first frame: nothing closes
            ev(K::End, 1, 0x00, 24),
        ]);
        assert!(!t.overflowed);
        assert_eq!((t.agents[&1].instructions, t.agents[&2].instructions, t.instructions()), (9, 5, 14));
        let e = |open, func, at| FrameEvent { open, func, at };
        assert_eq!(t.events_of(1), [e(true, 0, 0), e(true, 0x20, 2), e(false, 0x20, 6), e(false, 0, 9)]);
        assert_eq!(t.events_of(2), [e(true, 0x40, 0), e(true, 0x20, 2), e(false, 0x20, 4), e(false, 0x40, 5)]);
        assert_eq!(t.events(), 8);
        // past the limit nothing is kept
        let mut small = Timeline::new(3);
        small.feed(&[ev(K::Turn, 1, 0, 0), ev(K::Call, 1, 0x20, 1), ev(K::End, 1, 0, 2)]);
        assert!(small.overflowed);
        assert!(small.events_of(1).iter().all(|e| !e.open));
        // an agent that had run before starts in the function its pc is in
        let (p, d) = fib5();
        let mut mid = Timeline::new(100);
        mid.feed(&[ProfEvent { kind: K::Turn, agent: 1, addr: 0x14, cycle: 50, resumed: true }, ev(K::End, 1, 0, 53)]);
        let v: serde_json::Value = serde_json::from_str(&speedscope_json_with(&d, &p, Some(&mid))).unwrap();
        assert_eq!(v["profiles"][0]["events"], serde_json::json!([{"type": "O", "frame": 1, "at": 0}, {"type": "C", "frame": 1, "at": 3}]));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(21891), "21,891");
        assert_eq!(thousands(1234567890), "1,234,567,890");
    }

    #[test]
    fn fib5_layout_is_as_assembled() {
        let (p, _) = fib5();
        let asm = &p.source.as_ref().unwrap().1;
        assert_eq!(asm.labels["fib"], 0x0C);
        assert_eq!(asm.labels["small"], 0x2D);
        assert_eq!(p.bytes.len(), 0x31);
    }

    #[test]
    fn fib5_opcode_table() {
        let (p, d) = fib5();
        let r = report(&d, &p, 5);
        println!("{r}");
        let l = lines(&r);
        assert_eq!(l[0], "Profile of fib5.fasm: 120 instructions, 120 energy");
        let pos = l.iter().position(|x| x.starts_with("Opcode frequency")).unwrap();
        assert_eq!(l[pos], "Opcode frequency (13 opcodes executed)");
        let table = &l[pos + 1..pos + 15];
        assert_eq!(
            table,
            &[
                "  opcode                    count  instructions   energy",
                "  CALL                         15         12.5%    12.5%",
                "  CMP_I16                      15         12.5%    12.5%",
                "  JL                           15         12.5%    12.5%",
                "  RET                          15         12.5%    12.5%",
                "  POP_R                        14         11.7%    11.7%",
                "  PUSH_R                       14         11.7%    11.7%",
                "  MOV                           8          6.7%     6.7%",
                "  CADD                          7          5.8%     5.8%",
                "  DECR                          7          5.8%     5.8%",
                "  SUBI                          7          5.8%     5.8%",
                "  DBG_PRINT                     1          0.8%     0.8%",
                "  HALT                          1          0.8%     0.8%",
                "  LOAD_IMM                      1          0.8%     0.8%",
            ]
        );
    }

    #[test]
    fn fib5_hot_pcs_blocks_and_paths() {
        let (p, d) = fib5();
        let r = report(&d, &p, 3);
        let l = lines(&r);
        let hot = l.iter().position(|x| *x == "Hottest instructions").unwrap();
        assert_eq!(l[hot + 2], "  0x000C   fib                              15   12.5%  CMP_I16       r1, 0x2");
        assert_eq!(l[hot + 3], "  0x0010   fib+4                            15   12.5%  JL            r1, 0x2D");
        assert_eq!(l[hot + 4], "  0x002D   small                             8    6.7%  MOV           r0, r1");

        let blk = l.iter().position(|x| *x == "Hottest basic blocks").unwrap();
        assert_eq!(l[blk + 2], "  0x000C-0x0010   fib                       2             15   25.0%");
        assert_eq!(l[blk + 3], "  0x001B-0x0023   fib+15                    4              7   23.3%");

        let cps = l.iter().position(|x| x.starts_with("Hottest call paths")).unwrap();
        assert_eq!(l[cps + 2], "             120  100.0%              4          0  main");
        assert_eq!(l[cps + 3], "             116   96.7%             12          1  main > fib");
        assert_eq!(l[cps + 4], "             104   86.7%             24          2  main > fib > fib");
    }

    #[test]
    fn fib5_bottleneck_names_fib_and_its_calls() {
        let (p, d) = fib5();
        let r = report(&d, &p, 10);
        let pos = r.find("Bottleneck analysis").unwrap();
        let b = &r[pos..];
        assert!(
            b.contains("  96.7% of instructions (116 of 120) in fib at 0x000C–0x0030; 15 calls, 7.7 instructions per call; recursive."),
            "{b}"
        );
        assert!(b.contains("Next: main 3.3%."), "{b}");
        assert!(b.contains("Hottest block: 0x000C-0x0010 in fib, 2 instructions run 15 times: 25.0% of instructions."), "{b}");
        assert!(
            b.contains("Energy: 120 in all, 1.00 per instruction; 96.7% of it in fib; by opcode category: control 45.0%, stack 23.3%, arith 17.5%, compare 12.5%."),
            "{b}"
        );
        assert!(
            b.contains("Suggestion: fib is called 15 times for 7.7 instructions per call, so CALL and RET alone are 25.0% of all instructions: consider memoising"),
            "{b}"
        );
        // The deepest paths are compressed in the call-path table.
        let (_, mut d) = fib5();
        d.call_paths.push(cp(&[0, 12, 12, 12, 12, 12, 12], 0, 0, 0));
        let a = Analysis::new(&d, &p);
        assert_eq!(a.path_text(&[0, 12, 12, 12, 12, 12, 12]), "main > fib ×6");
    }

    #[test]
    fn expensive_opcodes_and_unlabelled_functions() {
        // A loop of divisions in a function with no label, as raw bytes.
        let src = "main: LOAD_IMM r1, 100\nLOAD_IMM r2, 7\nCALL 0x10\nHALT\ndivs: CDIV r3, r1, r2\nCMOD r4, r1, r2\nLOOP r1, 0x10\nRET\n";
        let a = asm::assemble(src).unwrap();
        assert_eq!(a.labels["divs"], 0x10);
        let p = Program::from_bytes(PathBuf::from("div.bin"), a.bytes);
        // 0x10 CDIV, 0x14 CMOD, 0x18 LOOP, 0x1C RET
        let counts = [(0x00, 1), (0x06, 1), (0x0C, 1), (0x0F, 1), (0x10, 100), (0x14, 100), (0x18, 100), (0x1C, 1)];
        let cost = |pc: u32| if pc == 0x10 || pc == 0x14 { 4 } else { 1 };
        let paths = vec![cp(&[0], 4, 305, 0), cp(&[0, 0x10], 301, 301, 1)];
        let d = data_from(&counts, cost, paths);
        assert_eq!((d.total_instructions, d.total_energy), (305, 905));
        let r = report(&d, &p, 5);
        println!("{r}");
        assert!(r.contains("98.7% of instructions (301 of 305) in fn_0x0010 at 0x0010–0x001C; 1 call, 301.0 instructions per call."), "{r}");
        assert!(r.contains("  0x0010-0x0018   fn_0x0010                 3            100   98.4%"), "{r}");
        assert!(r.contains("main > fn_0x0010"), "{r}");
        assert!(
            r.contains("Suggestion: expensive opcodes take 88.4% of energy: CDIV (100 runs, 4.0 energy each, 44.2% of energy), CMOD (100 runs, 4.0 energy each, 44.2% of energy); energy is dominated by them: divide less"),
            "{r}"
        );
        assert!(!r.contains("memoising"), "{r}");
    }

    #[test]
    fn without_call_paths_calls_come_from_call_sites() {
        let (p, mut d) = fib5();
        d.call_paths.clear();
        let r = report(&d, &p, 3);
        assert!(r.contains("in fib at 0x000C–0x0030; 15 calls, 7.7 instructions per call; recursive."), "{r}");
        assert!(r.contains("(no call paths were recorded)"), "{r}");
        let v: serde_json::Value = serde_json::from_str(&speedscope_json(&d, &p)).unwrap();
        let w: u64 = v["profiles"][0]["weights"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).sum();
        assert_eq!(w, 120);
    }

    #[test]
    fn empty_profile() {
        let (p, _) = fib5();
        let d = ProfileData { pc_count: vec![0; MEM_SIZE], pc_energy: vec![0; MEM_SIZE], ..Default::default() };
        let r = report(&d, &p, 5);
        assert!(r.contains("No instructions were executed."), "{r}");
        let v: serde_json::Value = serde_json::from_str(&speedscope_json(&d, &p)).unwrap();
        assert_eq!(v["profiles"][0]["endValue"], 0);
    }

    #[test]
    fn speedscope_has_the_schema_fields() {
        let (p, d) = fib5();
        let json = speedscope_json(&d, &p);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["$schema"], "https://www.speedscope.app/file-format-schema.json");
        let frames = v["shared"]["frames"].as_array().unwrap();
        let names: Vec<&str> = frames.iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["main", "fib"]);
        assert_eq!(frames[1]["file"], "fib5.fasm");
        assert_eq!(frames[0]["line"], 1);
        assert_eq!(frames[1]["line"], 5);
        assert_eq!(v["activeProfileIndex"], 0);
        assert!(v["exporter"].as_str().unwrap().starts_with("cuda-flux-debugger "));
        let profiles = v["profiles"].as_array().unwrap();
        assert_eq!(profiles.len(), 1);
        let prof = &profiles[0];
        assert_eq!(prof["type"], "sampled");
        assert!(prof["name"].is_string());
        assert_eq!(prof["unit"], "none");
        assert_eq!(prof["startValue"], 0);
        assert_eq!(prof["endValue"], 120);
        let samples = prof["samples"].as_array().unwrap();
        let weights = prof["weights"].as_array().unwrap();
        assert_eq!(samples.len(), weights.len());
        assert_eq!(samples.len(), 6);
        assert_eq!(samples[2], serde_json::json!([0, 1, 1]));
        let sum: u64 = weights.iter().map(|w| w.as_u64().unwrap()).sum();
        assert_eq!(sum, d.total_instructions);
        for s in samples {
            for i in s.as_array().unwrap() {
                assert!((i.as_u64().unwrap() as usize) < frames.len());
            }
        }
    }
}
