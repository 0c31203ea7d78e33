//! Replay files (`serve --replay`, `replay diff`): never a panic, whatever
//! the bytes; a file that loads also verifies or is refused with an error
//! (its replay is bounded by its own events).
#![no_main]

use cuda_flux_debugger::replay_file::Recording;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = Recording::parse(data, "fuzz.replay") {
        let _ = rec.verify();
        let _ = cuda_flux_debugger::replay_file::diff(&rec, &rec);
    }
});
