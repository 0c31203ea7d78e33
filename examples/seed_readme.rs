//! The walk-through of the debugger library's README, with a real VM behind
//! the profile: `cargo run --example seed_readme`.
use cuda_flux_debugger::vm::{StopKind, Vm, VmConfig};
use cuda_flux_debugger::*;

fn main() {
    let mut debugger = Debugger::new();

    // A breakpoint that fires at 0x100 when the last result is less than 30% sure.
    debugger.add_breakpoint(Breakpoint::with_condition(0x100, BreakCondition::ConfidenceBelow { threshold: 0.3 }));

    tracer::trace_enable(&mut debugger);

    // One state at an instruction boundary, as the runtime would export it.
    let mut state = VmState::new();
    state.pc = 0x100;
    state.opcode = 0x20; // CADD
    state.confidence = 0.1;
    tracer::trace_record(&mut debugger, &state);

    if let Some(event) = debugger.check_breakpoints(&state) {
        println!("Debug event: {event:?}");
    }

    // Profile a real run: the confidence pipeline, one instruction at a time.
    let session = profiler::profile_begin(&debugger);
    let source = include_str!("confidence.fasm");
    let program = asm::assemble(source).expect("examples/confidence.fasm assembles");
    let mut vm = Vm::with_program(&program.bytes, VmConfig::default()).expect("a VM");
    loop {
        tracer::trace_record(&mut debugger, &VmState::capture(&vm));
        let stop = vm.run(1);
        if matches!(stop.kind, StopKind::Halted { .. } | StopKind::Fault { .. } | StopKind::Terminated { .. }) {
            break;
        }
    }
    let result = profiler::profile_end(&debugger, session);
    println!("{}", profiler::bottleneck_analysis(&result));
    print!("{}", tracer::trace_to_string(&debugger));
}
