//! Reverse execution (gdb's `reverse-stepi`, `reverse-continue`, …): the
//! `bs` and `bc` packets.  The work is done by [`crate::analysis::history`]; without a
//! recording there is no history, and gdb is told it is at its start.
//! reverse-stepi goes back to the selected agent's previous instruction,
//! across the other agents' slices in between.
use gdbstub::common::Tid;
use gdbstub::target::ext::base::reverse_exec::{ReverseCont, ReverseStep};

use super::{ExecMode, FluxTarget};

impl ReverseStep<Tid> for FluxTarget {
    fn reverse_step(&mut self, t: Tid) -> Result<(), Self::Error> {
        // gdb sends `Hc0` (any thread) before `bs` unless scheduler-locking
        // is on: step back the thread it shows, the one whose registers it read
        let live = |a: u32| self.session.vm.agents().iter().any(|x| x.id == a);
        let agent = self.regs_agent.filter(|&a| live(a)).unwrap_or(t.get() as u32);
        self.plan.step = Some(agent);
        self.set_exec(ExecMode::ReverseStep, None);
        Ok(())
    }
}

impl ReverseCont<Tid> for FluxTarget {
    fn reverse_cont(&mut self) -> Result<(), Self::Error> {
        self.set_exec(ExecMode::ReverseContinue, None);
        Ok(())
    }
}
