//! The condition language of `monitor break ADDR if COND` and `monitor
//! watch-if COND`: never a panic, and what parses prints as text that parses
//! back to the same condition (the stub shows conditions that way and reads
//! them again to explain a stop).
#![no_main]

use cuda_flux_debugger::condition::Condition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(c) = Condition::parse(&text) else { return };
    let shown = c.to_string();
    match Condition::parse(&shown) {
        Ok(back) => assert_eq!(back, c, "'{text}' shows as '{shown}'"),
        Err(e) => panic!("'{text}' shows as '{shown}', which does not parse: {e}"),
    }
    let _ = c.to_raw();
});
