//! How gdb sees the FLUX machine: an i386 carrier description (the only
//! architecture stock x86-64 gdb accepts) plus the FLUX registers.
//!
//! Register numbers follow target.xml: 0–31 are the i386 core registers
//! (only esp, ebp, eip and eflags carry FLUX state: sp, fp, pc and the Z S C O
//! flags), 32–47 are r0–r15, 48–63 conf0–conf15, 64 energy, 65 cycles,
//! and 66–106 the i386 features gdb numbers before any register it does not
//! know (sse, avx, mpx, avx512, pkeys, linux: all unavailable, outside the
//! `g` block).  Declaring them leaves gdb no empty register number before
//! the FLUX registers (gdb numbers those from 73): front-ends that list
//! `-data-list-register-names` without the empty names and take values by
//! position (gdbgui) showed every FLUX value under another name.
use std::num::NonZeroUsize;

use gdbstub::arch::{Arch, RegId, Registers};
use gdbstub_arch::x86::reg::id::X86CoreRegId;

use crate::runtime::vm::{self, NUM_REGS};

/// The carrier description served through qXfer:features:read.
pub const TARGET_XML: &str = include_str!("target.xml");

/// The i386 core registers, in description order, with their sizes.
const CORE_SIZES: [usize; 32] = [
    4, 4, 4, 4, 4, 4, 4, 4, // eax ecx edx ebx esp ebp esi edi
    4, 4, // eip eflags
    4, 4, 4, 4, 4, 4, // cs ss ds es fs gs
    10, 10, 10, 10, 10, 10, 10, 10, // st0-st7
    4, 4, 4, 4, 4, 4, 4, 4, // fctrl fstat ftag fiseg fioff foseg fooff fop
];
/// After the FLUX registers: the i386 features gdb numbers before any
/// register it does not know (sse, avx, mpx, avx512, pkeys, segments),
/// declared so that gdb leaves no empty register number before the FLUX
/// ones; all unavailable, and not in the `g` block (gdb asks for them with
/// `p` if ever).
const FILLER_SIZES: [usize; 41] = [
    16, 16, 16, 16, 16, 16, 16, 16, 4, // xmm0-7 mxcsr
    16, 16, 16, 16, 16, 16, 16, 16, // ymm0h-7h
    16, 16, 16, 16, 8, 8, // bnd0raw-3raw bndcfgu bndstatus
    8, 8, 8, 8, 8, 8, 8, 8, // k0-7
    32, 32, 32, 32, 32, 32, 32, 32, // zmm0h-7h
    4, // pkru
    4, // orig_eax (gdb's GNU/Linux osabi numbers it right after pkru)
];
/// orig_eax, the last filler: gdb's GNU/Linux osabi writes -1 to it with
/// every write of the pc (`jump`, `run`), so a write is accepted and dropped.
pub const ORIG_EAX: usize = CYCLES + FILLER_SIZES.len();
/// gdb's numbers of the i386 core registers that carry FLUX state (the `p`
/// packet's numbers; the stop replies' expedited registers use them too).
pub const REG_SP: usize = 4; // esp
pub const REG_FP: usize = 5; // ebp
pub const REG_PC: usize = 8; // eip
pub const REG_FLAGS: usize = 9; // eflags
const FIRST_R: usize = 32;
const FIRST_CONF: usize = FIRST_R + NUM_REGS;
const ENERGY: usize = FIRST_CONF + NUM_REGS;
const CYCLES: usize = ENERGY + 1;

pub enum FluxArch {}

impl Arch for FluxArch {
    type Usize = u32;
    type Registers = FluxRegs;
    type BreakpointKind = usize;
    type RegId = FluxRegId;

    fn target_description_xml() -> Option<&'static str> {
        Some(TARGET_XML)
    }
}

/// One register as gdb numbers it.
#[derive(Debug, Clone, Copy)]
pub enum FluxRegId {
    /// An i386 core register (gdbstub_arch's naming).
    Core(X86CoreRegId),
    /// The i386 core slot `n` that FLUX has no register for.
    Unavailable { n: usize },
    R(u8),
    Conf(u8),
    Energy,
    Cycles,
}

impl RegId for FluxRegId {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        let (reg, size) = match id {
            REG_SP => (FluxRegId::Core(X86CoreRegId::Esp), 4),
            REG_FP => (FluxRegId::Core(X86CoreRegId::Ebp), 4),
            REG_PC => (FluxRegId::Core(X86CoreRegId::Eip), 4),
            REG_FLAGS => (FluxRegId::Core(X86CoreRegId::Eflags), 4),
            n if n < FIRST_R => (FluxRegId::Unavailable { n }, CORE_SIZES[n]),
            n if n < FIRST_CONF => (FluxRegId::R((n - FIRST_R) as u8), 4),
            n if n < ENERGY => (FluxRegId::Conf((n - FIRST_CONF) as u8), 4),
            ENERGY => (FluxRegId::Energy, 8),
            CYCLES => (FluxRegId::Cycles, 8),
            n if n <= CYCLES + FILLER_SIZES.len() => (FluxRegId::Unavailable { n }, FILLER_SIZES[n - CYCLES - 1]),
            _ => return None,
        };
        Some((reg, NonZeroUsize::new(size)))
    }
}

/// The register file as gdb's `g` packet carries it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FluxRegs {
    pub pc: u32,
    pub sp: u32,
    pub fp: u32,
    pub flags: u32,
    pub r: [i32; NUM_REGS],
    pub conf: [f32; NUM_REGS],
    pub energy: i64,
    pub cycles: u64,
}

impl FluxRegs {
    pub fn from_vm(r: &vm::Regs) -> FluxRegs {
        FluxRegs {
            pc: r.pc,
            sp: r.sp,
            fp: r.fp,
            flags: r.flags,
            r: r.r,
            conf: r.conf,
            energy: r.energy,
            cycles: r.cycles,
        }
    }

    pub fn to_vm(&self) -> vm::Regs {
        vm::Regs {
            r: self.r,
            conf: self.conf,
            pc: self.pc,
            sp: self.sp,
            fp: self.fp,
            flags: self.flags & (vm::FLAG_C | vm::FLAG_Z | vm::FLAG_S | vm::FLAG_O),
            energy: self.energy,
            cycles: self.cycles,
        }
    }

    /// The bytes of one register, little-endian; empty when it is unavailable.
    pub fn read(&self, id: FluxRegId) -> Vec<u8> {
        match id {
            FluxRegId::Core(X86CoreRegId::Esp) => self.sp.to_le_bytes().to_vec(),
            FluxRegId::Core(X86CoreRegId::Ebp) => self.fp.to_le_bytes().to_vec(),
            FluxRegId::Core(X86CoreRegId::Eip) => self.pc.to_le_bytes().to_vec(),
            FluxRegId::Core(X86CoreRegId::Eflags) => self.flags.to_le_bytes().to_vec(),
            FluxRegId::Core(_) | FluxRegId::Unavailable { .. } => Vec::new(),
            FluxRegId::R(n) => self.r[n as usize].to_le_bytes().to_vec(),
            FluxRegId::Conf(n) => self.conf[n as usize].to_le_bytes().to_vec(),
            FluxRegId::Energy => self.energy.to_le_bytes().to_vec(),
            FluxRegId::Cycles => self.cycles.to_le_bytes().to_vec(),
        }
    }

    /// Writes one register; false when it is unavailable or `val` has the wrong size.
    pub fn write(&mut self, id: FluxRegId, val: &[u8]) -> bool {
        let u32_of = |v: &[u8]| v.try_into().ok().map(u32::from_le_bytes);
        let u64_of = |v: &[u8]| v.try_into().ok().map(u64::from_le_bytes);
        match id {
            FluxRegId::Core(X86CoreRegId::Esp) => u32_of(val).map(|v| self.sp = v).is_some(),
            FluxRegId::Core(X86CoreRegId::Ebp) => u32_of(val).map(|v| self.fp = v).is_some(),
            FluxRegId::Core(X86CoreRegId::Eip) => u32_of(val).map(|v| self.pc = v).is_some(),
            FluxRegId::Core(X86CoreRegId::Eflags) => u32_of(val).map(|v| self.flags = v).is_some(),
            FluxRegId::Unavailable { n: ORIG_EAX } => val.len() == 4,
            FluxRegId::Core(_) | FluxRegId::Unavailable { .. } => false,
            FluxRegId::R(n) => u32_of(val).map(|v| self.r[n as usize] = v as i32).is_some(),
            FluxRegId::Conf(n) => u32_of(val).map(|v| self.conf[n as usize] = f32::from_bits(v)).is_some(),
            FluxRegId::Energy => u64_of(val).map(|v| self.energy = v as i64).is_some(),
            FluxRegId::Cycles => u64_of(val).map(|v| self.cycles = v).is_some(),
        }
    }
}

fn all_ids() -> impl Iterator<Item = (FluxRegId, usize)> {
    (0..=CYCLES).filter_map(|n| FluxRegId::from_raw_id(n).map(|(id, size)| (id, size.map_or(0, |s| s.get()))))
}

impl Registers for FluxRegs {
    type ProgramCounter = u32;

    fn pc(&self) -> u32 {
        self.pc
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        for (id, size) in all_ids() {
            let bytes = self.read(id);
            if bytes.is_empty() {
                (0..size).for_each(|_| write_byte(None));
            } else {
                bytes.into_iter().for_each(|b| write_byte(Some(b)));
            }
        }
    }

    /// A `G` packet's data: exactly the block a `g` reply sends (gdb sends
    /// back what it got).  gdbstub starts from default registers, so a
    /// shorter block would zero the rest: any other length is an error (the
    /// packet layer refuses it before it gets here, see `framing::check`).
    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() != all_ids().map(|(_, size)| size).sum::<usize>() {
            return Err(());
        }
        let mut at = 0usize;
        for (id, size) in all_ids() {
            self.write(id, &bytes[at..at + size]);
            at += size;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_and_numbering_agree() {
        let names: Vec<&str> = TARGET_XML
            .lines()
            .filter_map(|l| l.trim().strip_prefix("<reg name=\""))
            .map(|l| &l[..l.find('"').unwrap()])
            .collect();
        assert_eq!(names.len(), CYCLES + 1 + FILLER_SIZES.len());
        assert_eq!(names[CYCLES + 1], "xmm0");
        assert_eq!(names[CYCLES + FILLER_SIZES.len()], "orig_eax");
        let bits: Vec<usize> = TARGET_XML
            .lines()
            .filter_map(|l| l.split("bitsize=\"").nth(1))
            .map(|b| b[..b.find('"').unwrap()].parse::<usize>().unwrap() / 8)
            .collect();
        assert_eq!(&bits[CYCLES + 1..], &FILLER_SIZES, "filler sizes follow the description");
        assert!(FluxRegId::from_raw_id(CYCLES + FILLER_SIZES.len() + 1).is_none());
        assert_eq!(names[ORIG_EAX], "orig_eax");
        // gdb writes orig_eax with the pc: accepted, dropped; other fillers refuse
        let mut r = FluxRegs::default();
        assert!(r.write(FluxRegId::from_raw_id(ORIG_EAX).unwrap().0, &[0xFF; 4]));
        assert!(r.read(FluxRegId::from_raw_id(ORIG_EAX).unwrap().0).is_empty());
        assert!(!r.write(FluxRegId::from_raw_id(CYCLES + 1).unwrap().0, &[0; 16]));
        assert_eq!(r, FluxRegs::default());
        assert_eq!(names[4], "esp");
        assert_eq!(names[8], "eip");
        assert_eq!(names[FIRST_R], "r0");
        assert_eq!(names[FIRST_CONF + 15], "conf15");
        assert_eq!(names[ENERGY], "energy");
        assert_eq!(names[CYCLES], "cycles");
    }

    #[test]
    fn g_packet_round_trip() {
        let mut r = FluxRegs { pc: 0x12, sp: 0xFFFC, r: [7; NUM_REGS], energy: -3, cycles: 9, ..Default::default() };
        r.conf[3] = 0.25;
        let mut bytes = Vec::new();
        r.gdb_serialize(|b| bytes.push(b.unwrap_or(0)));
        let mut back = FluxRegs::default();
        back.gdb_deserialize(&bytes).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.gdb_deserialize(&bytes[1..]), Err(()));
        assert_eq!(back.gdb_deserialize(&[bytes.clone(), vec![0]].concat()), Err(()));
        assert_eq!(back, r, "a wrong length changes nothing");
    }
}
