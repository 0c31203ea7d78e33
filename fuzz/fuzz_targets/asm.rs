//! Assembly text: never a panic; what assembles survives a trip through the
//! disassembler and back.
#![no_main]

use cuda_flux_debugger::{asm, disasm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(a) = asm::assemble(&text) else { return };
    assert!(a.bytes.len() <= 0x10000, "{} bytes assembled", a.bytes.len());
    // The line table is in address order and every entry names a line of the source.
    let lines = text.lines().count();
    for w in a.line_table.windows(2) {
        assert!(w[0].0 < w[1].0, "line table out of order: {:?}", w);
    }
    for &(addr, line) in &a.line_table {
        assert!((addr as usize) < a.bytes.len() && line >= 1 && line <= lines);
        assert_eq!(a.line_of(addr), Some(line));
    }
    let listing = disasm::listing(&a.bytes);
    match asm::assemble(&listing) {
        Ok(back) => assert_eq!(back.bytes, a.bytes, "listing:\n{listing}"),
        Err(e) => panic!("the listing does not assemble: {e}\n{listing}"),
    }
});
