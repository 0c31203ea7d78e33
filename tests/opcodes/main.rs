//! Every FLUX opcode, through the Rust bindings: one integration test target,
//! one module per category of the opcode table (docs/ISA.md is the reference
//! these tests check).
//!
//! Every program a test runs is a named constant registered in its module's
//! `PROGRAMS` (the `programs!` macro does both), and the helpers refuse to run
//! a source that is not registered, so that `every_opcode_is_exercised` sees
//! every program the tests run.
#![allow(dead_code)]

use std::collections::BTreeSet;

use cuda_flux_debugger::vm::{Outcome, Regs, Signal, Stop, StopKind, Vm, VmConfig};
use cuda_flux_debugger::{asm, disasm, isa};

/// Declares each program as a `pub const` and lists them all in `PROGRAMS`.
macro_rules! programs {
    ($($name:ident = $src:expr;)*) => {
        $(pub const $name: &str = $src;)*
        pub const PROGRAMS: &[&str] = &[$($name),*];
    };
}

mod a2a;
mod agents;
mod arith;
mod compare;
mod confidence;
mod control;
mod crypto_vector;
mod energy;
mod instinct;
mod memory;
mod stack;
mod system;
mod trust;

/// Every registered program, of every category.
pub fn all_programs() -> impl Iterator<Item = &'static str> {
    [
        control::PROGRAMS,
        arith::PROGRAMS,
        memory::PROGRAMS,
        stack::PROGRAMS,
        compare::PROGRAMS,
        confidence::PROGRAMS,
        trust::PROGRAMS,
        a2a::PROGRAMS,
        agents::PROGRAMS,
        instinct::PROGRAMS,
        energy::PROGRAMS,
        system::PROGRAMS,
        crypto_vector::PROGRAMS,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// Assembles a registered program.
pub fn assemble(src: &str) -> asm::Assembled {
    assert!(
        all_programs().any(|p| p == src),
        "a test runs a program that no PROGRAMS list registers:\n{src}"
    );
    asm::assemble(src).unwrap_or_else(|e| panic!("assembly failed: {e}\n{src}"))
}

/// The address of a label of a registered program.
pub fn label(src: &str, name: &str) -> u32 {
    *assemble(src).labels.get(name).unwrap_or_else(|| panic!("no label '{name}' in\n{src}"))
}

/// A VM with the program loaded, default configuration (energy 10^9, seed 0).
pub fn vm(src: &str) -> Vm {
    vm_with(src, VmConfig::default())
}

pub fn vm_with(src: &str, config: VmConfig) -> Vm {
    Vm::with_program(&assemble(src).bytes, config).expect("program fits")
}

/// Runs to the first stop (no instruction budget).
pub fn run(src: &str) -> (Vm, Stop) {
    let mut m = vm(src);
    let stop = m.run(u64::MAX);
    (m, stop)
}

/// Runs a registered program after `set` edited its registers at reset
/// (inputs, confidences, flags): the way one program serves many cases.
pub fn run_with(src: &str, set: impl FnOnce(&mut Regs)) -> (Vm, Stop) {
    let mut m = vm(src);
    let mut g = m.regs();
    set(&mut g);
    m.set_regs(&g);
    let stop = m.run(u64::MAX);
    (m, stop)
}

/// `run_with`, expecting HALT.
pub fn halted_with(src: &str, set: impl FnOnce(&mut Regs)) -> Vm {
    let (m, stop) = run_with(src, set);
    assert!(matches!(stop.kind, StopKind::Halted { .. }), "expected HALT, got {stop:?}\n{src}");
    m
}

/// Runs and expects HALT; returns the VM for inspection.
pub fn halted(src: &str) -> Vm {
    let (m, stop) = run(src);
    assert!(matches!(stop.kind, StopKind::Halted { .. }), "expected HALT, got {stop:?}\n{src}");
    m
}

/// Runs and expects HALT with this exit code.
pub fn exit_code(src: &str) -> u8 {
    let (_, stop) = run(src);
    match stop.kind {
        StopKind::Halted { code } => code,
        other => panic!("expected HALT, got {other:?}\n{src}"),
    }
}

/// Asserts that `stop` is a fault with `signal` at `pc`; returns the reason.
#[track_caller]
pub fn expect_fault(stop: &Stop, signal: Signal, pc: u32) -> String {
    match &stop.kind {
        StopKind::Fault { signal: s, reason } => {
            assert_eq!(*s, signal, "wrong signal ({reason})");
            assert_eq!(stop.pc, pc, "fault pc ({reason})");
            reason.clone()
        }
        other => panic!("expected a {signal} fault at 0x{pc:04X}, got {other:?} at 0x{:04X}", stop.pc),
    }
}

/// Runs and expects a fault with `signal` at `pc`; returns the VM and the reason.
pub fn fault_at(src: &str, signal: Signal, pc: u32) -> (Vm, String) {
    let (m, stop) = run(src);
    match stop.kind {
        StopKind::Fault { signal: s, reason } => {
            assert_eq!(s, signal, "wrong signal ({reason})\n{src}");
            assert_eq!(stop.pc, pc, "fault pc ({reason})\n{src}");
            assert_eq!(m.pc(), pc, "vm pc after the fault\n{src}");
            (m, reason)
        }
        other => panic!("expected a {signal} fault at 0x{pc:04X}, got {other:?} at 0x{:04X}\n{src}", stop.pc),
    }
}

/// Runs and expects a fault with `signal` at the label `at`.
pub fn fault_at_label(src: &str, signal: Signal, at: &str) -> (Vm, String) {
    fault_at(src, signal, label(src, at))
}

/// Runs headless (`run_to_end`): the output text and how it ended.
pub fn output(src: &str) -> (String, Outcome) {
    let mut m = vm(src);
    let mut out = Vec::new();
    let outcome = m.run_to_end(&mut out).expect("writing to a Vec");
    (String::from_utf8(out).expect("utf-8 output"), outcome)
}

pub fn regs(m: &Vm) -> Regs {
    m.regs()
}

/// r[n] as i32.
pub fn r(m: &Vm, n: usize) -> i32 {
    m.regs().r[n]
}

/// r[n] as u32.
pub fn u(m: &Vm, n: usize) -> u32 {
    m.regs().r[n] as u32
}

/// conf[n].
pub fn c(m: &Vm, n: usize) -> f32 {
    m.regs().conf[n]
}

pub fn flags(m: &Vm) -> u32 {
    m.regs().flags
}

pub fn mem32(m: &Vm, addr: u32) -> u32 {
    m.read_u32(addr).expect("address in memory")
}

pub fn mem8(m: &Vm, addr: u32) -> u8 {
    m.read_u8(addr).expect("address in memory")
}

/// Asserts an f32 within 1e-6 (confidence arithmetic is f32).
#[track_caller]
pub fn assert_close(actual: f32, expected: f32) {
    assert!((actual - expected).abs() < 1e-6, "expected {expected}, got {actual}");
}

/// The opcode bytes every registered program contains, at the addresses its
/// assembler put instructions (data directives and ORG padding excluded).
fn exercised_opcodes() -> BTreeSet<u8> {
    let mut seen = BTreeSet::new();
    for src in all_programs() {
        let a = asm::assemble(src).unwrap_or_else(|e| panic!("assembly failed: {e}\n{src}"));
        for &(addr, _) in &a.line_table {
            match disasm::decode(&a.bytes[addr as usize..], addr) {
                Some(disasm::Decoded::Instruction(i)) => {
                    seen.insert(i.op.code);
                }
                other => panic!("0x{addr:04X} of a program does not decode: {other:?}\n{src}"),
            }
        }
    }
    seen
}

#[test]
fn every_opcode_is_exercised() {
    let seen = exercised_opcodes();
    let missing: Vec<String> = isa::all()
        .filter(|op| !seen.contains(&op.code))
        .map(|op| {
            format!("0x{:02X} {}{}", op.code, op.mnemonic, if op.implemented { "" } else { " (not implemented)" })
        })
        .collect();
    assert!(missing.is_empty(), "opcodes no test program contains: {}", missing.join(", "));
    assert_eq!(seen.len(), 247);
}

#[test]
fn the_table_matches_flux_disasm_opcodes_tsv() {
    // flux-disasm's table, kept in the repository (tests/data/README.md)
    let tsv = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/opcodes.tsv"))
        .expect("tests/data/opcodes.tsv");
    let mut lines = tsv.lines();
    assert_eq!(lines.next(), Some("code\tmnemonic\tmode\toperand_bytes\tcategory"));
    let mut n = 0;
    for (i, line) in lines.filter(|l| !l.trim().is_empty()).enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "line {}: {line}", i + 2);
        let code = u8::from_str_radix(f[0].trim_start_matches("0x"), 16).expect("hex code");
        assert_eq!(code as usize, i, "the table is in code order");
        let op = isa::opcode(code).unwrap_or_else(|| panic!("0x{code:02X} {} missing", f[1]));
        assert_eq!(op.code, code);
        assert_eq!(op.mnemonic, f[1], "mnemonic of 0x{code:02X}");
        assert_eq!(op.mode_name, f[2], "mode of {}", f[1]);
        assert_eq!(op.operand_bytes.to_string(), f[3], "operand bytes of {}", f[1]);
        assert_eq!(op.len(), 1 + f[3].parse::<usize>().unwrap());
        assert_eq!(op.category, f[4], "category of {}", f[1]);
        assert_eq!(isa::by_mnemonic(f[1]).map(|o| o.code), Some(code));
        n += 1;
    }
    assert_eq!(n, 247);
    for code in 0xF7..=0xFFu8 {
        assert!(isa::opcode(code).is_none(), "0x{code:02X} is no opcode");
    }
    assert_eq!(isa::all().count(), 247);
}

#[test]
fn the_implemented_column_and_costs() {
    let not_impl: Vec<&str> = isa::all().filter(|o| !o.implemented).map(|o| o.mnemonic).collect();
    assert_eq!(
        not_impl,
        [
            "HASH_MD5", "HASH_SHA256", "HASH_SHA512", "HMAC_GEN", "HMAC_VERIFY", "AES_ENC", "AES_DEC",
            "SIG_GEN", "SIG_VERIFY", "BASE64_ENC", "BASE64_DEC", "KEY_GEN", "KEY_DERIVE", "VMAP"
        ]
    );
    let cost = |m: &str| isa::by_mnemonic(m).unwrap().energy;
    for m in ["CMUL", "MULI", "MEMCPY", "MEMSET", "MEMCMP", "CRC32", "VDOT"] {
        assert_eq!(cost(m), 2, "{m}");
    }
    for m in ["CDIV", "CMOD", "DIVI", "PUSH_ALL", "POP_ALL"] {
        assert_eq!(cost(m), 4, "{m}");
    }
    let ones = isa::all().filter(|o| o.energy == 1).count();
    assert_eq!(ones, 247 - 7 - 5 - 13);
    assert!(isa::all().filter(|o| o.energy == 8).all(|o| !o.implemented && o.category == "crypto"));
}

