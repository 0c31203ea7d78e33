//! The differential test of the interpreter: the VM as built (computed-goto
//! dispatch and whatever else makes it fast) against the reference build of
//! the same sources with the plain switch (`FLUX_NO_COMPUTED_GOTO`, see
//! build.rs and [`super::ffi_ref`]), on random valid programs.
//!
//! A generator writes programs over every implemented opcode: registers set
//! up to point into data, code and the stack, calls and returns, stack
//! traffic, interrupt handlers, memory writes into the code itself, spawned
//! agents, register operands out of range, small energy budgets that run
//! out.  Each program runs twice on both VMs:
//! - step by step, the full machine state compared after every instruction
//!   (registers, confidences, flags, energy, cycles, agents, the FLUX state:
//!   `flux_vm_save_state`'s block; the pages written; the output; the stop);
//! - in runs of random lengths with breakpoints, watchpoints, tracing and
//!   profiling armed at random, the debugger writing into the code between
//!   runs, everything (memory whole, trace records, profile counts,
//!   provenance, logged inputs) compared at every stop.
//!
//! `FLUX_DIFF_PROGRAMS` sets how many programs (the default fits a test run
//! of a few seconds); `FLUX_DIFF_SEED` the first seed.
use super::ffi::*;
use super::ffi_ref::*;
use super::isa::{self, Flow, Operand};

/// One build's entry points.
struct Api {
    name: &'static str,
    new: unsafe extern "C" fn(*const flux_config) -> *mut flux_vm, // SAFETY: a type; each call says why it is sound
    free: unsafe extern "C" fn(*mut flux_vm), // SAFETY: a type; each call says why it is sound
    load: unsafe extern "C" fn(*mut flux_vm, *const u8, usize) -> i32, // SAFETY: a type; each call says why it is sound
    run: unsafe extern "C" fn(*mut flux_vm, u64) -> flux_stop, // SAFETY: a type; each call says why it is sound
    save_state: unsafe extern "C" fn(*const flux_vm, *mut std::ffi::c_void), // SAFETY: a type; each call says why it is sound
    state_size: unsafe extern "C" fn() -> usize, // SAFETY: a type; each call says why it is sound
    memory: unsafe extern "C" fn(*const flux_vm) -> *const u8, // SAFETY: a type; each call says why it is sound
    output: unsafe extern "C" fn(*const flux_vm, *mut usize) -> *const u8, // SAFETY: a type; each call says why it is sound
    clear_output: unsafe extern "C" fn(*mut flux_vm), // SAFETY: a type; each call says why it is sound
    take_dirty: unsafe extern "C" fn(*mut flux_vm, *mut u8), // SAFETY: a type; each call says why it is sound
    take_rehash: unsafe extern "C" fn(*mut flux_vm, *mut u8), // SAFETY: a type; each call says why it is sound
    set_breakpoint: unsafe extern "C" fn(*mut flux_vm, u32, i32), // SAFETY: a type; each call says why it is sound
    add_watchpoint: unsafe extern "C" fn(*mut flux_vm, u32, u32, u32) -> i32, // SAFETY: a type; each call says why it is sound
    write_mem: unsafe extern "C" fn(*mut flux_vm, u32, *const u8, usize) -> i32, // SAFETY: a type; each call says why it is sound
    set_regs: unsafe extern "C" fn(*mut flux_vm, *const flux_regs), // SAFETY: a type; each call says why it is sound
    get_regs: unsafe extern "C" fn(*const flux_vm, *mut flux_regs), // SAFETY: a type; each call says why it is sound
    set_tracing: unsafe extern "C" fn(*mut flux_vm, i32) -> i32, // SAFETY: a type; each call says why it is sound
    trace_data: unsafe extern "C" fn(*const flux_vm, *mut usize) -> *const u8, // SAFETY: a type; each call says why it is sound
    trace_clear: unsafe extern "C" fn(*mut flux_vm), // SAFETY: a type; each call says why it is sound
    set_profiling: unsafe extern "C" fn(*mut flux_vm, i32) -> i32, // SAFETY: a type; each call says why it is sound
    profile_counts: unsafe extern "C" fn(*const flux_vm) -> *const u64, // SAFETY: a type; each call says why it is sound
    profile_energy: unsafe extern "C" fn(*const flux_vm) -> *const u64, // SAFETY: a type; each call says why it is sound
    conf_trace: unsafe extern "C" fn(*const flux_vm, u32, *mut flux_prov_entry, usize) -> usize, // SAFETY: a type; each call says why it is sound
    log_inputs: unsafe extern "C" fn(*mut flux_vm, i32), // SAFETY: a type; each call says why it is sound
    take_inputs: unsafe extern "C" fn(*mut flux_vm, *mut flux_input_event, usize, *mut u32) -> usize, // SAFETY: a type; each call says why it is sound
}

const OPT: Api = Api {
    name: "optimized",
    new: flux_vm_new,
    free: flux_vm_free,
    load: flux_vm_load,
    run: flux_vm_run,
    save_state: flux_vm_save_state,
    state_size: flux_vm_state_size,
    memory: flux_vm_memory,
    output: flux_vm_output,
    clear_output: flux_vm_clear_output,
    take_dirty: flux_vm_take_dirty_pages,
    take_rehash: flux_vm_take_rehash_pages,
    set_breakpoint: flux_vm_set_breakpoint,
    add_watchpoint: flux_vm_add_watchpoint,
    write_mem: flux_vm_write_mem,
    set_regs: flux_vm_set_regs,
    get_regs: flux_vm_get_regs,
    set_tracing: flux_vm_set_tracing,
    trace_data: flux_vm_trace_data,
    trace_clear: flux_vm_trace_clear,
    set_profiling: flux_vm_set_profiling,
    profile_counts: flux_vm_profile_counts,
    profile_energy: flux_vm_profile_energy,
    conf_trace: flux_vm_conf_trace,
    log_inputs: flux_vm_log_inputs,
    take_inputs: flux_vm_take_inputs,
};

const REFERENCE: Api = Api {
    name: "reference",
    new: fluxref_vm_new,
    free: fluxref_vm_free,
    load: fluxref_vm_load,
    run: fluxref_vm_run,
    save_state: fluxref_vm_save_state,
    state_size: fluxref_vm_state_size,
    memory: fluxref_vm_memory,
    output: fluxref_vm_output,
    clear_output: fluxref_vm_clear_output,
    take_dirty: fluxref_vm_take_dirty_pages,
    take_rehash: fluxref_vm_take_rehash_pages,
    set_breakpoint: fluxref_vm_set_breakpoint,
    add_watchpoint: fluxref_vm_add_watchpoint,
    write_mem: fluxref_vm_write_mem,
    set_regs: fluxref_vm_set_regs,
    get_regs: fluxref_vm_get_regs,
    set_tracing: fluxref_vm_set_tracing,
    trace_data: fluxref_vm_trace_data,
    trace_clear: fluxref_vm_trace_clear,
    set_profiling: fluxref_vm_set_profiling,
    profile_counts: fluxref_vm_profile_counts,
    profile_energy: fluxref_vm_profile_energy,
    conf_trace: fluxref_vm_conf_trace,
    log_inputs: fluxref_vm_log_inputs,
    take_inputs: fluxref_vm_take_inputs,
};

/// A VM of one build, freed on drop.
struct Machine {
    api: &'static Api,
    vm: *mut flux_vm,
}

impl Machine {
    fn new(api: &'static Api, program: &[u8], energy: i64, seed: u64) -> Machine {
        let cfg = flux_config { energy, seed };
        // SAFETY: the config is valid for the call; a null answer is checked.
        let vm = unsafe { (api.new)(&cfg) };
        assert!(!vm.is_null(), "{}: flux_vm_new failed", api.name);
        // SAFETY: vm is live; the program slice is valid for its length.
        assert_eq!(unsafe { (api.load)(vm, program.as_ptr(), program.len()) }, 0);
        // SAFETY: vm is live.
        unsafe { (api.log_inputs)(vm, 1) };
        Machine { api, vm }
    }

    fn run(&mut self, budget: u64) -> String {
        // SAFETY: vm is live.
        let st = unsafe { (self.api.run)(self.vm, budget) };
        format!("{st:?}")
    }

    fn state(&self) -> Vec<u8> {
        // SAFETY: the buffer has the size the build asks for.
        let mut b = vec![0u8; unsafe { (self.api.state_size)() }];
        // SAFETY: the VM is live (Machine owns it) and the buffers are as large as the call needs.
        unsafe { (self.api.save_state)(self.vm, b.as_mut_ptr().cast()) };
        b
    }

    fn regs(&self) -> flux_regs {
        let mut r = flux_regs::default();
        // SAFETY: vm is live; r is a valid out-parameter.
        unsafe { (self.api.get_regs)(self.vm, &mut r) };
        r
    }

    fn memory(&self) -> &[u8] {
        // SAFETY: the VM's memory is FLUX_MEM_SIZE bytes and lives as long as the VM.
        unsafe { std::slice::from_raw_parts((self.api.memory)(self.vm), FLUX_MEM_SIZE as usize) }
    }

    fn output(&self) -> Vec<u8> {
        let mut n = 0usize;
        // SAFETY: the VM answers a pointer to n bytes of its own.
        let p = unsafe { (self.api.output)(self.vm, &mut n) };
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(p, n) }.to_vec()
    }

    fn dirty(&mut self) -> Vec<u8> {
        let mut d = vec![0u8; FLUX_PAGES as usize];
        // SAFETY: the buffer holds FLUX_PAGES bytes.
        unsafe { (self.api.take_dirty)(self.vm, d.as_mut_ptr()) };
        d
    }

    /// The third map of written pages (replay digests' own).
    fn rehash(&mut self) -> Vec<u8> {
        let mut d = vec![0u8; FLUX_PAGES as usize];
        // SAFETY: the buffer holds FLUX_PAGES bytes.
        unsafe { (self.api.take_rehash)(self.vm, d.as_mut_ptr()) };
        d
    }

    fn trace(&mut self) -> Vec<u8> {
        let mut n = 0usize;
        // SAFETY: the VM answers a pointer to n bytes of its own (or null with 0).
        let p = unsafe { (self.api.trace_data)(self.vm, &mut n) };
        // SAFETY: the VM is live (Machine owns it) and the buffers are as large as the call needs.
        let v = if n == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(p, n) }.to_vec() };
        // SAFETY: vm is live.
        unsafe { (self.api.trace_clear)(self.vm) };
        v
    }

    fn profile(&self) -> (Vec<u64>, Vec<u64>) {
        // SAFETY: while profiling, both arrays hold FLUX_MEM_SIZE counters.
        unsafe {
            let c = (self.api.profile_counts)(self.vm);
            let e = (self.api.profile_energy)(self.vm);
            if c.is_null() || e.is_null() {
                return (Vec::new(), Vec::new());
            }
            (
                std::slice::from_raw_parts(c, FLUX_MEM_SIZE as usize).to_vec(),
                std::slice::from_raw_parts(e, FLUX_MEM_SIZE as usize).to_vec(),
            )
        }
    }

    fn provenance(&self) -> String {
        let mut s = String::new();
        for reg in 0..FLUX_NUM_REGS {
            let mut buf = vec![flux_prov_entry::default(); 8];
            // SAFETY: the buffer holds 8 entries.
            let n = unsafe { (self.api.conf_trace)(self.vm, reg, buf.as_mut_ptr(), buf.len()) };
            s += &format!("{:?}", &buf[..n.min(buf.len())]);
        }
        s
    }

    fn inputs(&mut self) -> String {
        let mut buf = vec![flux_input_event::default(); 1024];
        let mut lost = 0u32;
        // SAFETY: the buffer holds 1024 events.
        let n = unsafe { (self.api.take_inputs)(self.vm, buf.as_mut_ptr(), buf.len(), &mut lost) };
        format!("{:?} lost {lost}", &buf[..n])
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        // SAFETY: vm came from this build's flux_vm_new and is freed once.
        unsafe { (self.api.free)(self.vm) };
    }
}

/// splitmix64: the generator's own deterministic random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const DATA: u32 = 0x4000;

/// A generated program: its bytes, where its instructions start, and its
/// energy budget and seed.
struct Program {
    bytes: Vec<u8>,
    starts: Vec<u32>,
    energy: i64,
    seed: u64,
}

fn op(name: &str) -> &'static isa::OpcodeInfo {
    isa::by_mnemonic(name).unwrap_or_else(|| panic!("no opcode {name}"))
}

fn generate(rng: &mut Rng) -> Program {
    let implemented: Vec<&isa::OpcodeInfo> = isa::all().filter(|o| o.implemented).collect();
    // frequent in real programs: arithmetic, memory, stack, calls and branches
    let common: Vec<&isa::OpcodeInfo> = [
        "MOV", "LOAD", "STORE", "PUSH", "POP", "JMP", "JZ", "JNZ", "CALL", "RET", "LOOP", "JL", "JGE", "CADD",
        "CSUB", "CMUL", "CDIV", "ADDI", "SUBI", "INCR", "DECR", "CMP_I16", "LOAD8", "STORE8", "STORE16",
        "STORE32", "LOAD32", "PUSH_R", "POP_R", "DUP", "SWAP2", "LOAD_IMM", "STORE_OFF", "LOAD_OFF", "CONF_SET",
        "CONF_FUSE", "DBG_PRINT", "RNG_NEXT", "TRUST_CHECK",
    ]
    .iter()
    .map(|n| op(n))
    .collect();

    // Pass 1: the instructions, their addresses.
    let mut ops: Vec<&isa::OpcodeInfo> = Vec::new();
    let load_imm = op("LOAD_IMM");
    let nregs = 4 + rng.below(8);
    for _ in 0..nregs {
        ops.push(load_imm);
    }
    let nswi = rng.below(3);
    for _ in 0..nswi {
        ops.push(load_imm);
        ops.push(op("STORE16"));
    }
    let body = 8 + rng.below(90);
    for _ in 0..body {
        let o = if rng.chance(60) {
            common[rng.below(common.len() as u64) as usize]
        } else {
            implemented[rng.below(implemented.len() as u64) as usize]
        };
        ops.push(o);
    }
    ops.push(op("HALT"));
    let mut starts = Vec::with_capacity(ops.len());
    let mut at = 0u32;
    for o in &ops {
        starts.push(at);
        at += o.len() as u32;
    }
    let code_end = at;

    // Pass 2: the operands.
    let mut bytes = Vec::with_capacity(code_end as usize);
    let value = |rng: &mut Rng, wide: bool| -> u32 {
        match rng.below(8) {
            0 | 1 => rng.below(8) as u32,
            2 => DATA + rng.below(256) as u32,
            3 => starts[rng.below(starts.len() as u64) as usize], // code: writes into it
            4 => 0xFFF0 - 4 * rng.below(64) as u32,                  // the stack
            5 => (rng.below(16) as u32).wrapping_neg(),
            _ => {
                if wide {
                    rng.next() as u32
                } else {
                    rng.next() as u32 & 0xFFFF
                }
            }
        }
    };
    for (i, o) in ops.iter().enumerate() {
        bytes.push(o.code);
        let target = o.target_operand();
        let prologue_reg = i < nregs as usize;
        let swi_setup = i >= nregs as usize && i < (nregs + 2 * nswi) as usize;
        for (k, kind) in o.mode.operands().iter().enumerate() {
            match kind {
                Operand::Reg => {
                    let r = if prologue_reg {
                        i as u8
                    } else if swi_setup {
                        15
                    } else if rng.chance(2) {
                        16 + rng.below(240) as u8 // an illegal register: SIGILL
                    } else {
                        rng.below(16) as u8
                    };
                    bytes.push(r);
                }
                Operand::Imm8 => {
                    let v = if o.code == op("SWI").code { rng.below(3) as u8 } else { value(rng, false) as u8 };
                    bytes.push(v);
                }
                Operand::Imm16 => {
                    let v = if Some(k) == target {
                        starts[rng.below(starts.len() as u64) as usize]
                    } else if swi_setup {
                        let n = (i - nregs as usize) / 2;
                        FLUX_IVT_BASE + 2 * n as u32
                    } else if o.code == op("SPAWN").code {
                        starts[rng.below(starts.len() as u64) as usize]
                    } else {
                        value(rng, false)
                    };
                    bytes.extend_from_slice(&(v as u16).to_le_bytes());
                }
                Operand::Imm32 => {
                    let v = if swi_setup {
                        starts[rng.below(starts.len() as u64) as usize] // a handler
                    } else {
                        value(rng, true)
                    };
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        debug_assert!(o.flow != Flow::Call || o.target_operand().is_some() || o.code == op("SWI").code);
    }
    assert_eq!(bytes.len() as u32, code_end);
    let energy = if rng.chance(40) { 20 + rng.below(3000) as i64 } else { 1_000_000 };
    Program { bytes, starts, energy, seed: rng.next() }
}

/// Panics with what differs, the program and where.
/// Compares the two builds; answers the pages `a` marks written since the
/// last comparison, on both of its page maps.
fn compare(a: &mut Machine, b: &mut Machine, what: &str, full_memory: bool) -> (Vec<u8>, Vec<u8>) {
    let ctx = || what.to_string();
    assert_eq!(a.regs().pc, b.regs().pc, "{}: pc", ctx());
    let (sa, sb) = (a.state(), b.state());
    if sa != sb {
        let at = sa.iter().zip(&sb).position(|(x, y)| x != y).unwrap_or(0);
        panic!("{}: machine state differs at byte {at}: {:?} vs {:?}", ctx(), a.regs(), b.regs());
    }
    let (da, db) = (a.dirty(), b.dirty());
    assert_eq!(da, db, "{}: pages written", ctx());
    let (ra, rb) = (a.rehash(), b.rehash());
    assert_eq!(ra, rb, "{}: pages written, the re-hash map", ctx());
    let page = FLUX_PAGE_SIZE as usize;
    for (p, &d) in da.iter().enumerate() {
        if d != 0 {
            assert_eq!(a.memory()[p * page..(p + 1) * page], b.memory()[p * page..(p + 1) * page], "{}: page {p}", ctx());
        }
    }
    if full_memory {
        if let Some(at) = a.memory().iter().zip(b.memory()).position(|(x, y)| x != y) {
            panic!("{}: memory differs at {at:#x}", ctx());
        }
        assert_eq!(a.provenance(), b.provenance(), "{}: provenance", ctx());
        assert_eq!(a.inputs(), b.inputs(), "{}: inputs", ctx());
    }
    assert_eq!(a.output(), b.output(), "{}: output", ctx());
    // SAFETY: both VMs are live.
    unsafe {
        (a.api.clear_output)(a.vm);
        (b.api.clear_output)(b.vm);
    }
    (da, ra)
}

fn finished(stop: &str) -> bool {
    // flux_stop's Debug: `kind: N`
    let kind = |k: u32| stop.starts_with(&format!("flux_stop {{ kind: {k},"));
    kind(FLUX_STOP_HALTED) || kind(FLUX_STOP_FAULT) || kind(FLUX_STOP_TERMINATED)
}

/// Both builds step by step, the state compared after every instruction.
fn lockstep(p: &Program, label: &str, steps: u32) -> u32 {
    let mut a = Machine::new(&OPT, &p.bytes, p.energy, p.seed);
    let mut b = Machine::new(&REFERENCE, &p.bytes, p.energy, p.seed);
    let mut n = 0;
    // Every page whose bytes changed is marked written on both maps: over
    // windows of 64 steps, memory against its copy at the window's start
    // (both builds could miss the same write; checkpoints and digests would
    // then go wrong together).
    let page = FLUX_PAGE_SIZE as usize;
    let mut window_start = a.memory().to_vec();
    let mut marked = (vec![0u8; FLUX_PAGES as usize], vec![0u8; FLUX_PAGES as usize]);
    let check_marks = |a: &Machine, marked: &mut (Vec<u8>, Vec<u8>), start: &mut Vec<u8>, at: &str| {
        for (p, (was, is)) in start.chunks(page).zip(a.memory().chunks(page)).enumerate() {
            if was != is {
                assert!(marked.0[p] != 0 && marked.1[p] != 0, "{label}: {at}: page {p} changed but is not marked written ({}, {})", marked.0[p], marked.1[p]);
            }
        }
        start.copy_from_slice(a.memory());
        marked.0.fill(0);
        marked.1.fill(0);
    };
    for i in 0..steps {
        let (sa, sb) = (a.run(1), b.run(1));
        assert_eq!(sa, sb, "{label}: stop after step {i}");
        let (dirty, rehash) = compare(&mut a, &mut b, &format!("{label}: after step {i}"), i % 64 == 0);
        for (m, d) in marked.0.iter_mut().zip(&dirty).chain(marked.1.iter_mut().zip(&rehash)) {
            *m |= d;
        }
        if i % 64 == 63 {
            check_marks(&a, &mut marked, &mut window_start, &format!("steps up to {i}"));
        }
        n += 1;
        if finished(&sa) {
            // going on after the end answers the end again
            let (sa, sb) = (a.run(1), b.run(1));
            assert_eq!(sa, sb, "{label}: after the end");
            break;
        }
    }
    let (dirty, rehash) = compare(&mut a, &mut b, &format!("{label}: at the end"), true);
    for (m, d) in marked.0.iter_mut().zip(&dirty).chain(marked.1.iter_mut().zip(&rehash)) {
        *m |= d;
    }
    check_marks(&a, &mut marked, &mut window_start, "the end");
    n
}

/// Both builds in runs of random lengths, with hooks armed at random and the
/// debugger writing into the code between runs.
fn stops_and_resumes(p: &Program, rng: &mut Rng, label: &str) -> u32 {
    let mut a = Machine::new(&OPT, &p.bytes, p.energy, p.seed);
    let mut b = Machine::new(&REFERENCE, &p.bytes, p.energy, p.seed);
    let both = |a: &mut Machine, b: &mut Machine, f: &dyn Fn(&Machine)| {
        f(a);
        f(b);
    };
    for _ in 0..rng.below(4) {
        let at = p.starts[rng.below(p.starts.len() as u64) as usize];
        // SAFETY: the VMs are live; any address is valid for the call.
        both(&mut a, &mut b, &|m| unsafe { (m.api.set_breakpoint)(m.vm, at, 1) });
    }
    for _ in 0..rng.below(3) {
        let addr = if rng.chance(50) { DATA + rng.below(256) as u32 } else { 0xFFF0 - 4 * rng.below(64) as u32 };
        let len = 1 + rng.below(8) as u32;
        let kind = 1 + rng.below(3) as u32;
        // SAFETY: as above.
        both(&mut a, &mut b, &|m| {
            // SAFETY: the VM is live (Machine owns it) and the buffers are as large as the call needs.
            unsafe { (m.api.add_watchpoint)(m.vm, addr, len, kind) };
        });
    }
    let tracing = rng.chance(20);
    let profiling = rng.chance(20);
    // SAFETY: as above.
    both(&mut a, &mut b, &|m| unsafe {
        (m.api.set_tracing)(m.vm, tracing as i32);
        (m.api.set_profiling)(m.vm, profiling as i32);
    });
    let mut stops = 0;
    for i in 0..200 {
        let budget = match rng.below(4) {
            0 => 1 + rng.below(4),
            1 => 1 + rng.below(100),
            2 => 1 + rng.below(5000),
            _ => 1 << 20,
        };
        let (sa, sb) = (a.run(budget), b.run(budget));
        let what = format!("{label}: run {i} of {budget}");
        assert_eq!(sa, sb, "{what}: stop");
        compare(&mut a, &mut b, &what, true);
        assert_eq!(a.trace(), b.trace(), "{what}: trace records");
        stops += 1;
        if finished(&sa) {
            break;
        }
        if rng.chance(20) {
            // the debugger writes into the code (a patch, or gdb's `set`)
            let at = p.starts[rng.below(p.starts.len() as u64) as usize];
            let byte = [rng.below(256) as u8];
            // SAFETY: as above; the buffer holds one byte.
            both(&mut a, &mut b, &|m| {
                // SAFETY: the VM is live (Machine owns it) and the buffers are as large as the call needs.
                unsafe { (m.api.write_mem)(m.vm, at, byte.as_ptr(), 1) };
            });
        }
        if rng.chance(10) {
            // ... or moves pc (`jump`, `set $pc`)
            let mut r = a.regs();
            r.pc = p.starts[rng.below(p.starts.len() as u64) as usize];
            // SAFETY: as above.
            both(&mut a, &mut b, &|m| unsafe { (m.api.set_regs)(m.vm, &r) });
        }
    }
    if profiling {
        assert!(a.profile() == b.profile(), "{label}: profile counts");
    }
    stops
}

#[test]
fn optimized_vm_matches_the_reference_build() {
    let programs: u64 = std::env::var("FLUX_DIFF_PROGRAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let first: u64 = std::env::var("FLUX_DIFF_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let (mut steps, mut stops) = (0u64, 0u64);
    for seed in first..first + programs {
        let mut rng = Rng(seed);
        let p = generate(&mut rng);
        let label = format!("program seed {seed} ({} bytes, energy {})", p.bytes.len(), p.energy);
        steps += lockstep(&p, &label, 3000) as u64;
        stops += stops_and_resumes(&p, &mut rng, &label) as u64;
    }
    eprintln!("differential: {programs} programs, {steps} instructions compared step by step, {stops} stops");
    assert!(steps > programs * 10, "the programs ran too little: {steps} steps");
}
