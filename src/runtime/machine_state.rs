//! The fields of runtime-c's machine state (the blob `Vm::save_state`
//! returns), by name, from runtime-c's own table (`flux_vm_state_fields`):
//! `replay diff` names what differs between two start states with them, and
//! tests write single fields of a saved state.
use std::sync::OnceLock;

use crate::runtime::ffi;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Uint,
    Float,
    Text,
}

/// One element of one field: `r[3]`, `pc`, `instincts[2].key`, `agents[1].mail_count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub offset: usize,
    pub size: usize,
    pub kind: Kind,
}

fn kind_of(k: u32) -> Kind {
    match k {
        ffi::FLUX_FIELD_INT => Kind::Int,
        ffi::FLUX_FIELD_FLOAT => Kind::Float,
        ffi::FLUX_FIELD_TEXT => Kind::Text,
        _ => Kind::Uint,
    }
}

/// The element names of a table entry: `name`, `name[i]`, or `rec[i].member`.
fn element_name(name: &str, count: u32, i: u32) -> String {
    if name.contains("[]") {
        name.replacen("[]", &format!("[{i}]"), 1)
    } else if count > 1 {
        format!("{name}[{i}]")
    } else {
        name.to_string()
    }
}

fn table(ptr: *const ffi::flux_state_field, n: usize) -> &'static [ffi::flux_state_field] {
    // SAFETY: runtime-c's tables are static arrays of n entries.
    unsafe { std::slice::from_raw_parts(ptr, n) }
}

fn cstr(p: *const std::os::raw::c_char) -> String {
    // SAFETY: the table's names are static C string literals.
    unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Every element of every field of the machine state, in layout order
/// (padding is in none of them).
pub fn fields() -> &'static [Field] {
    static FIELDS: OnceLock<Vec<Field>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut out = Vec::new();
        let mut n = 0usize;
        // SAFETY: runtime-c returns its static field table and writes its length to `n`, a local.
        let top = table(unsafe { ffi::flux_vm_state_fields(&mut n) }, n);
        let (mut an, mut agents_offset, mut stride) = (0usize, 0u32, 0u32);
        // SAFETY: runtime-c returns its static per-agent field table and writes its length, offset and stride to locals.
        let agent = table(unsafe { ffi::flux_vm_agent_fields(&mut an, &mut agents_offset, &mut stride) }, an);
        for f in top {
            let name = cstr(f.name);
            if f.kind == ffi::FLUX_FIELD_AGENTS {
                for k in 0..f.count {
                    for g in agent {
                        let gname = cstr(g.name);
                        for i in 0..g.count {
                            out.push(Field {
                                name: format!("agents[{k}].{}", element_name(&gname, g.count, i)),
                                offset: (agents_offset + k * stride + g.offset + i * g.stride) as usize,
                                size: g.size as usize,
                                kind: kind_of(g.kind),
                            });
                        }
                    }
                }
                continue;
            }
            for i in 0..f.count {
                out.push(Field {
                    name: element_name(&name, f.count, i),
                    offset: (f.offset + i * f.stride) as usize,
                    size: f.size as usize,
                    kind: kind_of(f.kind),
                });
            }
        }
        out
    })
}

/// The element called `name`.
pub fn field(name: &str) -> Option<&'static Field> {
    fields().iter().find(|f| f.name == name)
}

/// Writes `value` (its low `size` bytes, little-endian; the first 8 of a text
/// field) into field `name` of `state`.  Panics on an unknown name: for tests
/// and tools that know the names.
pub fn set(state: &mut [u8], name: &str, value: u64) {
    let f = field(name).unwrap_or_else(|| panic!("no machine state field {name}"));
    let n = f.size.min(8);
    state[f.offset..f.offset + n].copy_from_slice(&value.to_le_bytes()[..n]);
}

/// Writes a float into field `name` of `state`.
pub fn set_f32(state: &mut [u8], name: &str, value: f32) {
    set(state, name, u64::from(value.to_bits()));
}

fn raw(state: &[u8], f: &Field) -> u64 {
    let mut b = [0u8; 8];
    b[..f.size.min(8)].copy_from_slice(&state[f.offset..f.offset + f.size.min(8)]);
    u64::from_le_bytes(b)
}

/// The value of field `f` in `state`, as text.
pub fn value(state: &[u8], f: &Field) -> String {
    let bytes = &state[f.offset..f.offset + f.size];
    match f.kind {
        Kind::Text => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            format!("{:?}", String::from_utf8_lossy(&bytes[..end]))
        }
        Kind::Float => format!("{}", f32::from_bits(raw(state, f) as u32)),
        Kind::Int => {
            let shift = 64 - 8 * f.size as u32;
            format!("{}", ((raw(state, f) << shift) as i64) >> shift)
        }
        Kind::Uint => {
            let v = raw(state, f);
            let last = f.name.rsplit('.').next().unwrap_or(&f.name);
            let last = last.split('[').next().unwrap_or(last);
            if matches!(last, "pc" | "sp" | "fp" | "stack_lo" | "stack_hi" | "flags") {
                format!("0x{v:X}")
            } else {
                format!("{v}")
            }
        }
    }
}

/// The elements in which two states differ, in layout order, leaving out
/// those named in `skip`: (name, value in a, value in b).
pub fn differences(a: &[u8], b: &[u8], skip: &[&str]) -> Vec<(String, String, String)> {
    fields()
        .iter()
        .filter(|f| a.get(f.offset..f.offset + f.size) != b.get(f.offset..f.offset + f.size))
        .filter(|f| !skip.iter().any(|s| f.name == *s || f.name.strip_prefix(s).is_some_and(|rest| rest.starts_with('['))))
        .filter(|f| f.offset + f.size <= a.len().min(b.len()))
        .map(|f| (f.name.clone(), value(a, f), value(b, f)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::vm::{Vm, VmConfig};

    #[test]
    fn the_table_covers_the_state_but_its_padding_and_names_are_unique() {
        let size = Vm::new(VmConfig::default()).unwrap().save_state().len();
        let mut covered = vec![0u8; size];
        for f in fields() {
            assert!(f.offset + f.size <= size, "{} lies outside the state", f.name);
            for c in &mut covered[f.offset..f.offset + f.size] {
                *c += 1;
            }
        }
        assert!(covered.iter().all(|&c| c <= 1), "fields overlap");
        // padding only: 3 bytes after each of the 16 instincts' and 16
        // proposals' `used`, 8 in each of the 8 agents (a field added to the
        // state but not to runtime-c's table shows up here)
        let gaps = covered.iter().filter(|&&c| c == 0).count();
        assert_eq!(gaps, 16 * 3 * 2 + 8 * 8, "bytes of the state in no field");
        let mut names: Vec<&str> = fields().iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), fields().len());
        for n in ["pc", "r[15]", "agents[7].mailbox[15].from", "instincts[3].strength", "trust_log[255].cycle", "term_reason", "cur"] {
            assert!(field(n).is_some(), "{n}");
        }
    }

    #[test]
    fn differences_name_fields_and_show_both_values() {
        let vm = Vm::new(VmConfig::default()).unwrap();
        let a = vm.save_state();
        let mut b = a.clone();
        set(&mut b, "r[5]", (-3i32) as u32 as u64);
        set(&mut b, "agents[0].stack_lo", 0xC800);
        set_f32(&mut b, "trust[9]", 0.25);
        let d = differences(&a, &b, &[]);
        assert_eq!(
            d,
            vec![
                ("r[5]".to_string(), "0".to_string(), "-3".to_string()),
                ("trust[9]".to_string(), "0".to_string(), "0.25".to_string()),
                ("agents[0].stack_lo".to_string(), "0xC000".to_string(), "0xC800".to_string()),
            ]
        );
        assert_eq!(differences(&a, &b, &["r[5]", "trust[9]", "agents[0].stack_lo"]), vec![]);
    }
}

/// runtime-c's checks of a loaded state, one class of field at a time: a
/// refused state names its field in one line and leaves the VM as it was.
#[cfg(test)]
mod check_tests {
    use super::*;
    use crate::runtime::vm::{Signal, StopKind, Vm, VmConfig, VmError};

    /// Agent 1 (slot 0) pushed a value; agent 2 (slot 1) was spawned and
    /// waits in ASK for a message; the state is taken with agent 1 running.
    fn two_agents() -> (Vm, Box<[u8]>) {
        let src = "        SPAWN child\n        PUSH_R r1\n        HALT\nchild:  ASK r2, r3\n        HALT\n";
        let program = crate::program::asm::assemble(src).unwrap().bytes;
        let mut vm = Vm::with_program(&program, VmConfig::default()).unwrap();
        assert_eq!(vm.run(2).executed, 2);
        let state = vm.save_state();
        (vm, state)
    }

    /// Loads `state` with `change` applied: the error's text (and the VM
    /// unchanged), or "" when it loads.
    fn load_with(change: impl FnOnce(&mut [u8])) -> String {
        let (mut vm, good) = two_agents();
        let mut state = good.to_vec();
        change(&mut state);
        let before = vm.save_state();
        match vm.load_state(&state) {
            Ok(()) => String::new(),
            Err(VmError::BadState(why)) => {
                assert_eq!(vm.save_state(), before, "a refused state changes nothing: {why}");
                assert_eq!(Vm::check_state(&state), Err(VmError::BadState(why.clone())), "check_state agrees");
                assert!(!why.contains('\n'), "{why}");
                why
            }
            Err(e) => panic!("{e}"),
        }
    }

    fn refused(change: impl FnOnce(&mut [u8])) -> String {
        let why = load_with(change);
        assert!(!why.is_empty(), "the state loaded");
        why
    }

    #[test]
    fn the_state_of_a_run_loads_and_a_wrong_size_is_refused() {
        assert_eq!(load_with(|_| {}), "");
        let (mut vm, good) = two_agents();
        assert_eq!(vm.load_state(&good[1..]), Err(VmError::StateSize(good.len() - 1)));
    }

    #[test]
    fn the_running_agent_slot() {
        assert_eq!(refused(|s| set(s, "cur", 9)), "running agent slot 9 is outside 0-7");
        assert_eq!(refused(|s| set(s, "cur", 0x7FFF_FFFF)), "running agent slot 2147483647 is outside 0-7");
        assert_eq!(refused(|s| set(s, "cur", 5)), "running agent slot 5 holds no agent");
        assert_eq!(load_with(|s| set(s, "cur", 1)), "", "agent 2 running is a state the scheduler makes");
    }

    #[test]
    fn stack_regions() {
        // the case: bounds 0..0xFFFFFFFF let PUSH_R write past memory into r0
        assert_eq!(
            refused(|s| {
                set(s, "stack_lo", 0);
                set(s, "stack_hi", 0xFFFF_FFFF);
                set(s, "sp", 0x10014);
            }),
            "running agent: stack 0x0-0xFFFFFFFF is not an aligned region inside 0xC000-0x10000"
        );
        assert_eq!(
            refused(|s| set(s, "agents[1].stack_hi", 0x10004)),
            "agent slot 1: stack 0xC000-0x10004 is not an aligned region inside 0xC000-0x10000"
        );
        assert!(refused(|s| set(s, "stack_lo", 0x10000)).contains("stack 0x10000-0x10000"));
        assert!(refused(|s| set(s, "agents[0].stack_lo", 0xC802)).starts_with("agent slot 0: stack 0xC802-0x10000"));
    }

    #[test]
    fn sp_fp_pc_cycles_and_registers_take_any_value_and_fault_cleanly() {
        // gdb may write them: such states are saved in histories and must load
        for (name, v) in [("sp", 0x10014u64), ("sp", 0xFFFF_FFFF), ("fp", 3), ("pc", 0xFFFF_FFFF), ("cycles", u64::MAX), ("r[0]", 0x4141_4141)] {
            assert_eq!(load_with(|s| set(s, name, v)), "", "{name} = {v:#x}");
        }
        // with sp above the stack, PUSH_R faults instead of writing past memory
        let (mut vm, mut state) = two_agents();
        set(&mut state, "sp", 0x10014);
        set(&mut state, "pc", 3); // PUSH_R r1
        set(&mut state, "r[1]", 0x4141_4141);
        vm.load_state(&state).unwrap();
        let r = vm.regs().r;
        let stop = vm.run(2);
        assert!(matches!(&stop.kind, StopKind::Fault { signal: Signal::Segv, reason } if reason.contains("stack overflow: sp=0x10014")), "{stop:?}");
        assert_eq!(vm.regs().r, r);
        // a pc far outside memory faults there
        set(&mut state, "pc", 0xFFFF_FFFF);
        vm.load_state(&state).unwrap();
        assert!(matches!(vm.run(1).kind, StopKind::Fault { signal: Signal::Segv, .. }));
    }

    #[test]
    fn agent_counts_ids_and_id_states() {
        assert_eq!(refused(|s| set(s, "nlive", 0)), "2 agents alive, but nlive says 0");
        assert_eq!(refused(|s| set(s, "nlive", 8)), "2 agents alive, but nlive says 8");
        assert_eq!(refused(|s| set(s, "next_id", 1)), "next agent id 1 is outside 2-256");
        assert_eq!(refused(|s| set(s, "next_id", 257)), "next agent id 257 is outside 2-256");
        assert_eq!(refused(|s| set(s, "next_id", 2)), "agent slot 1: id 2 was never given (next id 2)");
        assert_eq!(refused(|s| set(s, "agents[1].id", 300)), "agent slot 1: agent id 300 is outside 1-255");
        assert_eq!(refused(|s| set(s, "agents[1].id", 1)), "agent slots 0 and 1 both hold agent 1");
        assert_eq!(refused(|s| set(s, "id_state[2]", 2)), "agent 2 (slot 1) is alive, but its id state is 2");
        assert_eq!(refused(|s| set(s, "id_state[7]", 1)), "id state 1 of agent 7 (next id 3)");
        assert_eq!(refused(|s| set(s, "id_state[0]", 1)), "id state 1 of agent 0 (next id 3)");
        assert_eq!(
            refused(|s| {
                set(s, "agents[0].state", 5);
                set(s, "id_state[1]", 2);
                set(s, "nlive", 1);
            }),
            "agent slot 0 must hold agent 1, alive (it holds 1, state 5)"
        );
        assert_eq!(refused(|s| set(s, "agents[5].pc", 1)), "agent slot 5: holds no agent (id 0) but is not empty");
        // agent 2 ended (its id state says so, nlive counts one) is a state HALT makes
        assert_eq!(
            load_with(|s| {
                set(s, "agents[1].state", 5);
                set(s, "id_state[2]", 2);
                set(s, "nlive", 1);
            }),
            ""
        );
    }

    #[test]
    fn agent_states_and_what_they_wait_on() {
        assert_eq!(refused(|s| set(s, "agents[1].state", 6)), "agent slot 1: state 6 is no agent state (0-5)");
        assert_eq!(
            refused(|s| {
                set(s, "agents[1].state", 3); // BLOCKED_JOIN: wait_on indexes the id table
                set(s, "agents[1].wait_on", 0x7FFF_FFFF);
            }),
            "agent slot 1: waits on agent 2147483647, outside 0-255"
        );
        // ASK may wait on any value a register held
        assert_eq!(load_with(|s| set(s, "agents[1].wait_on", 0x7FFF_FFFF)), "");
        assert_eq!(refused(|s| set(s, "agents[1].wait_op", 256)), "agent slot 1: wait_op 256 is no opcode byte");
        assert_eq!(refused(|s| set(s, "agents[1].retry", 2)), "agent slot 1: retry 2 is not 0 or 1");
        assert_eq!(refused(|s| set(s, "agents[1].exit_code", 256)), "agent slot 1: exit code 256 is outside 0-255");
    }

    #[test]
    fn mailboxes() {
        assert_eq!(
            refused(|s| set(s, "agents[1].mail_count", 0x7FFF_FFFF)),
            "agent slot 1: mailbox head 0, count 2147483647: the ring holds 16"
        );
        assert_eq!(refused(|s| set(s, "agents[1].mail_head", 16)), "agent slot 1: mailbox head 16, count 0: the ring holds 16");
        assert_eq!(
            refused(|s| set(s, "agents[0].mailbox[3].from", 256)),
            "agent slot 0: mailbox entry 3 (from 256, confidence 0) is no message"
        );
        assert_eq!(load_with(|s| set(s, "agents[1].mail_count", 16)), "", "a full mailbox");
    }

    #[test]
    fn confidences_trust_and_strengths_lie_in_0_1() {
        assert_eq!(refused(|s| set_f32(s, "conf[3]", f32::NAN)), "running agent: conf3 = nan is outside [0, 1]");
        assert_eq!(refused(|s| set_f32(s, "conf[3]", 1.5)), "running agent: conf3 = 1.5 is outside [0, 1]");
        assert_eq!(refused(|s| set_f32(s, "agents[1].conf[0]", -1.0)), "agent slot 1: conf0 = -1 is outside [0, 1]");
        assert_eq!(refused(|s| set_f32(s, "last_conf", f32::INFINITY)), "running agent: last_conf = inf is outside [0, 1]");
        assert_eq!(refused(|s| set_f32(s, "trust[9]", 2.0)), "trust of agent 9 (2, before 0) is outside [0, 1]");
        assert_eq!(refused(|s| set_f32(s, "trust_threshold", -0.5)), "trust threshold -0.5 is outside [0, 1]");
        assert_eq!(refused(|s| set_f32(s, "instincts[2].strength", f32::NAN)), "instinct 2: used 0, strength nan");
        assert!(refused(|s| set_f32(s, "agents[0].mailbox[0].conf", 7.0)).contains("mailbox entry 0"));
        assert_eq!(load_with(|s| set_f32(s, "conf[3]", -0.0)), "", "clamp01 keeps -0");
    }

    #[test]
    fn enumerations_flags_and_the_scheduler() {
        assert_eq!(refused(|s| set(s, "state", 4)), "run state 4 is none of running, exhausted, halted, terminated");
        assert_eq!(refused(|s| set(s, "fl_kind", 4)), "running agent: fl_kind 4 is no flag computation (0-3)");
        // pending flags are those of fl_x + fl_y (2) or fl_x - fl_y (3), result included
        let pending = |kind: u64, x: u64, y: u64, res: u64| {
            move |s: &mut [u8]| {
                set(s, "fl_kind", kind);
                set(s, "fl_x", x);
                set(s, "fl_y", y);
                set(s, "fl_res", res);
            }
        };
        assert_eq!(refused(pending(3, 5, 7, 2)), "running agent: fl_res 0x2 is not fl_x - fl_y (0x5, 0x7)");
        assert_eq!(load_with(pending(3, 5, 7, 0xFFFF_FFFE)), "", "5 - 7 wraps");
        assert_eq!(refused(pending(2, 0xFFFF_FFFF, 1, 1)), "running agent: fl_res 0x1 is not fl_x + fl_y (0xFFFFFFFF, 0x1)");
        assert_eq!(load_with(pending(2, 0xFFFF_FFFF, 1, 0)), "", "the sum wraps");
        let slot1 = |s: &mut [u8]| {
            set(s, "agents[1].fl_kind", 3);
            set(s, "agents[1].fl_x", 4);
            set(s, "agents[1].fl_y", 4);
            set(s, "agents[1].fl_res", 9);
        };
        assert_eq!(refused(slot1), "agent slot 1: fl_res 0x9 is not fl_x - fl_y (0x4, 0x4)");
        assert_eq!(refused(|s| set(s, "agents[1].flags", 0x100)), "agent slot 1: flags 0x100 hold bits other than Z S C O");
        assert_eq!(refused(|s| set(s, "sched", 3)), "scheduler 3 is none of round-robin (0), chaos (1), pct (2)");
        assert_eq!(refused(|s| set(s, "sched", 2)), "PCT depth 0 is outside 1-16");
        assert_eq!(refused(|s| set(s, "slice", 0)), "time slice 0");
        assert_eq!(refused(|s| set(s, "exit_code", 256)), "exit code 256 is outside 0-255");
        assert_eq!(refused(|s| set(s, "term_signal", 11)), "termination signal 11 is neither 0 nor SIGXCPU");
        assert_eq!(
            refused(|s| {
                let f = field("term_reason").unwrap();
                s[f.offset..f.offset + f.size].fill(b'A');
            }),
            "the termination reason is not NUL-terminated"
        );
        assert_eq!(load_with(|s| set(s, "sched", 1)), "");
    }

    #[test]
    fn energies() {
        assert_eq!(refused(|s| set(s, "energy", u64::MAX)), "running agent: energy -1 is negative");
        assert_eq!(refused(|s| set(s, "agents[1].energy", 1 << 63)), "agent slot 1: energy -9223372036854775808 is negative");
        assert_eq!(
            refused(|s| set(s, "energy_pool", u64::MAX)),
            "energy pool -1, reserve 0, agents' budget 1000000000: none may be negative"
        );
        assert!(refused(|s| set(s, "agent_budget", 1 << 63)).starts_with("energy pool 0, reserve 0, agents' budget -"));
        assert_eq!(refused(|s| set(s, "energy_alarm", 0x10000)), "energy alarm 65536 is outside 0-65535");
        // net_in wraps by design
        assert_eq!(load_with(|s| set(s, "energy_net_in", 1 << 63)), "");
    }

    #[test]
    fn logs_records_and_provenance() {
        assert_eq!(
            refused(|s| set(s, "trust_log[4].agent", 256)),
            "trust log entry 4 (agent 256, passed 0, score 0, threshold 0) is no trust check"
        );
        assert!(refused(|s| set(s, "trust_log[0].passed", 2)).starts_with("trust log entry 0"));
        assert_eq!(refused(|s| set(s, "prov_head[3]", 1)), "running agent: provenance of r3 (1) is past the last record (0)");
        assert_eq!(refused(|s| set(s, "instincts[0].used", 2)), "instinct 0: used 2, strength 0");
        assert_eq!(refused(|s| set(s, "proposals[15].used", 2)), "proposal 15: used 2 is not 0 or 1");
        assert_eq!(load_with(|s| set(s, "trust_log_count", u64::MAX)), "", "the ring index is taken modulo");
    }

    fn get(s: &[u8], name: &str) -> u64 {
        raw(s, &field(name).unwrap())
    }

    /// PCT's state: depth, change points in order, each priority once,
    /// nothing past the depth, and zeros under the other schedulers.
    #[test]
    fn pct_state() {
        let (mut vm, _) = two_agents();
        vm.set_schedule(crate::runtime::vm::Schedule::pct(100, 3, 50));
        vm.run(3);
        let pct = vm.save_state().to_vec();
        let mut other = Vm::new(VmConfig::default()).unwrap();
        other.load_state(&pct).unwrap();
        let refused_pct = |change: &dyn Fn(&mut [u8])| {
            let mut s = pct.clone();
            change(&mut s);
            match Vm::check_state(&s) {
                Err(VmError::BadState(why)) => why,
                other => panic!("{other:?}"),
            }
        };
        let at0 = get(&pct, "pct_at[0]");
        let at1 = get(&pct, "pct_at[1]");
        assert!(at0 >= 1 && at0 <= at1 && at1 <= 50, "{at0} {at1}");
        assert_eq!(refused_pct(&|s| set(s, "pct_depth", 0)), "PCT depth 0 is outside 1-16");
        assert_eq!(refused_pct(&|s| set(s, "pct_depth", 17)), "PCT depth 17 is outside 1-16");
        assert_eq!(refused_pct(&|s| set(s, "pct_next", 3)), "PCT: 3 change points passed of 2");
        assert_eq!(
            refused_pct(&|s| set(s, "pct_at[1]", at0.saturating_sub(1))),
            format!("PCT change point 1 at {}: change points are at 1 or later, ascending", at0.saturating_sub(1))
        );
        assert_eq!(
            refused_pct(&|s| set(s, "pct_low[1]", get(s, "pct_low[0]"))),
            format!("PCT change point 1 gives priority {}: each of 1-2 once", get(&pct, "pct_low[0]"))
        );
        assert_eq!(refused_pct(&|s| set(s, "pct_at[2]", 7)), "PCT change point 2 (at 7, priority 0) beyond depth 3");
        // PCT's fields under another scheduler
        assert_eq!(refused_pct(&|s| set(s, "sched", 1)), "PCT state (depth 3) under a scheduler other than PCT");
        assert_eq!(refused(|s| set(s, "prio[1]", 5)), "PCT state (depth 0) under a scheduler other than PCT");
    }

    // Every state a run of the racy FizzBuzz passes through (two agents,
    // mailboxes, chaos scheduling, an agent that ends) is accepted.
    #[test]
    fn every_state_of_a_multi_agent_run_loads() {
        let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fizzbuzz_race.fasm")).unwrap();
        let program = crate::program::asm::assemble(&src).unwrap().bytes;
        let mut vm = Vm::with_program(&program, VmConfig { energy: 1_000_000, seed: 5 }).unwrap();
        vm.set_schedule(crate::runtime::vm::Schedule::new(crate::runtime::vm::SchedKind::Chaos, 3));
        let mut other = Vm::new(VmConfig::default()).unwrap();
        let mut steps = 0;
        loop {
            let state = vm.save_state();
            other.load_state(&state).unwrap_or_else(|e| panic!("after {steps} instructions: {e}"));
            let stop = vm.run(1);
            steps += 1;
            if matches!(stop.kind, StopKind::Halted { .. } | StopKind::Fault { .. } | StopKind::Terminated { .. }) {
                break;
            }
        }
        assert!(steps > 100, "{steps}");
        other.load_state(&vm.save_state()).unwrap();
    }
}
