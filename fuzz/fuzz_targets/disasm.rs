//! Any bytes disassemble, and the listing assembles back to the same bytes.
#![no_main]

use cuda_flux_debugger::{asm, disasm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 0x10000 {
        return;
    }
    let decoded = disasm::decode_all(data, 0);
    let total: usize = decoded.iter().map(|d| d.len()).sum();
    assert_eq!(total, data.len(), "the decoded lengths do not cover the bytes");
    let listing = disasm::listing(data);
    match asm::assemble(&listing) {
        Ok(back) => assert_eq!(back.bytes, data, "listing:\n{listing}"),
        Err(e) => panic!("the listing does not assemble: {e}\n{listing}"),
    }
});
