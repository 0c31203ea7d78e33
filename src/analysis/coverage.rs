//! Schedule coverage: a fingerprint of one run's interleaving up to the
//! reordering of independent steps (its Mazurkiewicz trace).
//!
//! The VM's access log (`Vm::log_accesses`) lists, per agent, the locations
//! each step touched: memory bytes, mailboxes, agents' lives and the FLUX
//! state all agents share.  Two events conflict when they touch the same
//! location and at least one writes (a SPAWN writes the set of live agents,
//! and the child's first event comes after it).  Two interleavings are
//! equivalent when every agent makes the same events in the same order and
//! every pair of conflicting events comes in the same order; the
//! happens-before order is then the same.  The fingerprint hashes, for each
//! agent in id order, its events in program order, each with the events of
//! other agents it directly depends on (for a write: the last write of each
//! location and the last read of it by each agent since; for a read: the
//! last write), named by (agent, index).  Those edges are a function of the
//! trace, and with program order they determine it, so equal traces give
//! equal fingerprints and different ones (but for a 128-bit hash collision)
//! different ones.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::runtime::vm::{Access, ACC_READ, ACC_SPAWN, ACC_WRITE, LOC_SHARED, MEM_SIZE, SHARED_AGENTS};

/// An event: (agent id, its index among that agent's events).
type Epoch = (u8, u32);

#[derive(Default)]
struct LocState {
    write: Option<Epoch>,
    /// The last read of each agent since the last write.
    reads: Vec<Epoch>,
}

#[derive(Clone, Copy, Default)]
struct AgentLog {
    events: u32,
    h: [u64; 2],
    /// The SPAWN that started it, for its first event.
    started_by: Option<Epoch>,
}

/// A multiplicative hasher for the location map (keys are small integers).
#[derive(Default)]
struct LocHasher(u64);

impl Hasher for LocHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (u64::from(n) ^ 0x9E37_79B9).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

fn mix(h: u64, v: u64) -> u64 {
    let mut z = (h ^ v).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn absorb(h: &mut [u64; 2], v: u64) {
    h[0] = mix(h[0], v);
    h[1] = mix(h[1] ^ 0x5851_F42D_4C95_7F2D, v.rotate_left(29));
}

/// Builds the fingerprint of one run from its access log, fed in order.
/// Reusable: [`Fingerprinter::finish`] leaves it ready for the next run.
pub struct Fingerprinter {
    agents: Vec<AgentLog>,
    locs: HashMap<u32, LocState, BuildHasherDefault<LocHasher>>,
    preds: Vec<Epoch>,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Fingerprinter { agents: vec![AgentLog::default(); 256], locs: HashMap::default(), preds: Vec::new() }
    }
}

impl Fingerprinter {
    pub fn new() -> Fingerprinter {
        Fingerprinter::default()
    }

    /// Takes the next events of the run.
    pub fn feed(&mut self, events: &[Access]) {
        for e in events {
            self.event(e);
        }
    }

    fn touch(&mut self, loc: u32, write: bool, me: Epoch) {
        let st = self.locs.entry(loc).or_default();
        if let Some(w) = st.write {
            self.preds.push(w);
        }
        if write {
            self.preds.extend_from_slice(&st.reads);
            st.write = Some(me);
            st.reads.clear();
        } else if let Some(r) = st.reads.iter_mut().find(|r| r.0 == me.0) {
            *r = me;
        } else {
            st.reads.push(me);
        }
    }

    fn event(&mut self, e: &Access) {
        let a = e.agent;
        let log = &mut self.agents[usize::from(a)];
        let me: Epoch = (a, log.events);
        log.events += 1;
        self.preds.clear();
        if me.1 == 0 {
            if let Some(s) = log.started_by {
                self.preds.push(s);
            }
        }
        let (loc, len, write) = match e.kind {
            ACC_SPAWN => {
                self.agents[(e.loc & 0xFF) as usize].started_by = Some(me);
                (LOC_SHARED + SHARED_AGENTS, 1, true)
            }
            k => (e.loc, if e.loc < MEM_SIZE { e.len.max(1) } else { 1 }, k == ACC_WRITE),
        };
        for l in loc..loc.saturating_add(len) {
            self.touch(l, write, me);
        }
        self.preds.retain(|p| p.0 != a);
        self.preds.sort_unstable();
        self.preds.dedup();
        let h = &mut self.agents[usize::from(a)].h;
        absorb(h, u64::from(e.kind) | u64::from(e.loc) << 8 | u64::from(e.len) << 40);
        for p in &self.preds {
            absorb(h, 1 << 63 | u64::from(p.0) << 32 | u64::from(p.1));
        }
        absorb(h, 2 << 62 | self.preds.len() as u64);
        debug_assert!(e.kind == ACC_READ || e.kind == ACC_WRITE || e.kind == ACC_SPAWN);
    }

    /// The fingerprint of the run fed so far; then ready for another run.
    pub fn finish(&mut self) -> u128 {
        let mut h = [0x243F_6A88_85A3_08D3u64, 0x1319_8A2E_0370_7344];
        for (id, log) in self.agents.iter().enumerate() {
            if log.events > 0 {
                absorb(&mut h, (id as u64) << 32 | u64::from(log.events));
                absorb(&mut h, log.h[0]);
                absorb(&mut h, log.h[1]);
            }
        }
        self.agents.iter_mut().for_each(|a| *a = AgentLog::default());
        self.locs.clear();
        u128::from(h[0]) << 64 | u128::from(h[1])
    }
}

/// The fingerprint of a whole access log.
pub fn fingerprint(events: &[Access]) -> u128 {
    let mut f = Fingerprinter::new();
    f.feed(events);
    f.finish()
}

/// How many distinct fingerprints the first n seeds of a range found, for n
/// = 1, 2, 4, 8, ... and the whole range (`first_seeds`: each
/// fingerprint's first seed, as offsets from the range's start).
pub fn growth(first_seeds: impl Iterator<Item = u64>, runs: u64) -> Vec<(u64, u64)> {
    let mut firsts: Vec<u64> = first_seeds.collect();
    firsts.sort_unstable();
    let mut out = Vec::new();
    let mut n = 1u64;
    loop {
        let n_now = n.min(runs);
        out.push((n_now, firsts.partition_point(|&f| f < n_now) as u64));
        if n_now >= runs {
            return out;
        }
        n = n.saturating_mul(2);
    }
}

/// A fingerprint as 32 hex digits.
pub fn to_hex(f: u128) -> String {
    format!("{f:032x}")
}

/// Reads 32 hex digits.
pub fn from_hex(s: &str) -> Option<u128> {
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(agent: u8, kind: u8, loc: u32) -> Access {
        Access { loc, len: 4, kind, agent }
    }

    #[test]
    fn independent_steps_commute_and_conflicts_do_not() {
        // agent 1 writes 0x100, agent 2 writes 0x200: either order, one trace
        let a = [acc(1, ACC_WRITE, 0x100), acc(2, ACC_WRITE, 0x200)];
        let b = [acc(2, ACC_WRITE, 0x200), acc(1, ACC_WRITE, 0x100)];
        assert_eq!(fingerprint(&a), fingerprint(&b));
        // both write 0x100: the order matters
        let c = [acc(1, ACC_WRITE, 0x100), acc(2, ACC_WRITE, 0x100)];
        let d = [acc(2, ACC_WRITE, 0x100), acc(1, ACC_WRITE, 0x100)];
        assert_ne!(fingerprint(&c), fingerprint(&d));
        // two reads commute; a read and a write of overlapping bytes do not
        let e = [acc(1, ACC_READ, 0x100), acc(2, ACC_READ, 0x102)];
        let f = [acc(2, ACC_READ, 0x102), acc(1, ACC_READ, 0x100)];
        assert_eq!(fingerprint(&e), fingerprint(&f));
        let g = [acc(1, ACC_READ, 0x100), acc(2, ACC_WRITE, 0x103)];
        let h = [acc(2, ACC_WRITE, 0x103), acc(1, ACC_READ, 0x100)];
        assert_ne!(fingerprint(&g), fingerprint(&h));
        // a reused fingerprinter starts afresh
        let mut fp = Fingerprinter::new();
        fp.feed(&c);
        assert_eq!(fp.finish(), fingerprint(&c));
        fp.feed(&a);
        assert_eq!(fp.finish(), fingerprint(&a));
    }

    #[test]
    fn growth_counts_by_seed_order() {
        // first seeds (offsets) 0, 1, 5 over 10 runs
        assert_eq!(growth([5, 0, 1].into_iter(), 10), vec![(1, 1), (2, 2), (4, 2), (8, 3), (10, 3)]);
        assert_eq!(growth([0].into_iter(), 1), vec![(1, 1)]);
        assert_eq!(growth(std::iter::empty(), 0), vec![(0, 0)]);
    }
}
