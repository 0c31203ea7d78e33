//! Replay files (`serve --replay`, `replay diff`): never a panic and never a
//! memory error, whatever the bytes; a file that loads also verifies or is
//! refused with an error (its replay is bounded by its own events).
//!
//! Most changes to a file stop at its checksum, so the input picks a mode:
//! - it starts with `{`: it is a whole file, as given;
//! - first byte even: the rest is a file without its checksum line, and the
//!   right checksum is appended;
//! - first byte odd: the rest are writes into the start state of a recording
//!   of a small two-agent program (messages, RNG, chaos scheduling), each 11
//!   bytes: a field (u16 index into runtime-c's field table,
//!   `machine_state::fields`), a flag byte (bit 0 clear: only the value's
//!   low byte), then a u64 value stored in the field's size (at most 8 bytes);
//!   with bit 15 of the index set, the low byte of the value goes to byte
//!   (index & 0x7FFF) of the state instead.  The file is written with the
//!   right checksum, so the crafted state reaches runtime-c's checks, and a
//!   state they accept is run: it must keep the VM inside its buffers.
#![no_main]

use std::sync::OnceLock;

use cuda_flux_debugger::machine_state;
use cuda_flux_debugger::replay_file::{diff, Event, Recording};
use cuda_flux_debugger::vm::{SchedKind, Schedule, Vm, VmConfig};
use libfuzzer_sys::fuzz_target;

const PROGRAM: &str = "
        SPAWN     child
        MOV       r10, r0
        LOAD_IMM  r3, 12
send:   RNG_NEXT  r1
        TELL      r10, r1
        LOOP      r3, send
        JOIN      r10
        HALT
child:  LOAD_IMM  r5, 12
recv:   ASK       r2, r6
        LOOP      r5, recv
        HALT
";

fn base() -> &'static (Recording, Vec<u8>) {
    static BASE: OnceLock<(Recording, Vec<u8>)> = OnceLock::new();
    BASE.get_or_init(|| {
        let program = cuda_flux_debugger::asm::assemble(PROGRAM).expect("the program assembles").bytes;
        let schedule = Schedule::new(SchedKind::Chaos, 4);
        let (rec, _) = Recording::record_run(&program, VmConfig { energy: 100_000, seed: 1 }, schedule, None, &mut std::io::sink())
            .expect("the program records");
        let Some(Event::Start { state, .. }) = rec.events.first() else { panic!("no start event") };
        let bytes = (0..state.len()).step_by(2).map(|i| u8::from_str_radix(&state[i..i + 2], 16).unwrap()).collect();
        (rec, bytes)
    })
}

fn check(data: &[u8]) {
    if let Ok(rec) = Recording::parse(data, "fuzz.replay") {
        let _ = rec.verify();
        let _ = diff(&rec, &rec);
        let _ = diff(&base().0, &rec);
    }
}

fn with_checksum(body: &[u8]) -> Vec<u8> {
    let mut data = body.to_vec();
    if !data.ends_with(b"\n") {
        data.push(b'\n');
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&data);
    data.extend_from_slice(format!("{{\"checksum\":\"{sum:016x}\"}}\n").as_bytes());
    data
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode == b'{' {
        check(data);
        return;
    }
    if mode % 2 == 0 {
        check(&with_checksum(rest));
        return;
    }
    let (rec, good) = base();
    let mut state = good.clone();
    let fields = machine_state::fields();
    for w in rest.chunks_exact(11) {
        let index = u16::from_le_bytes([w[0], w[1]]);
        let value = u64::from_le_bytes(w[3..11].try_into().expect("8 bytes"));
        if index & 0x8000 != 0 {
            let at = (index & 0x7FFF) as usize % state.len();
            state[at] = value as u8;
        } else {
            let f = &fields[index as usize % fields.len()];
            // w[2]: small values (0-255) more often, where most bounds lie
            let value = if w[2] & 1 == 0 { value & 0xFF } else { value };
            // (the text field is longer than a value: its first 8 bytes)
            let n = f.size.min(8);
            state[f.offset..f.offset + n].copy_from_slice(&value.to_le_bytes()[..n]);
        }
    }
    // straight into a VM: a state runtime-c accepts must run safely
    let mut vm = Vm::with_program(&rec.program, VmConfig { energy: rec.energy, seed: rec.seed }).expect("loads");
    if vm.load_state(&state).is_ok() {
        for budget in [1, 7, 1000, 20_000] {
            let _ = vm.run(budget);
            let _ = vm.agents();
            let _ = vm.regs();
        }
    }
    // and through a file with the right checksum
    let mut crafted = rec.clone();
    if let Some(Event::Start { state: s, .. }) = crafted.events.first_mut() {
        *s = state.iter().map(|b| format!("{b:02x}")).collect();
    }
    if let Ok(bytes) = crafted.to_bytes() {
        check(&bytes);
    }
});
