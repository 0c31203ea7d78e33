//! Reverse execution (gdb's `reverse-stepi`, `reverse-continue`, …): the
//! `bs` and `bc` packets.  The work is done by [`crate::history`]; without a
//! recording there is no history, and gdb is told it is at its start.
use gdbstub::target::ext::base::reverse_exec::{ReverseCont, ReverseStep};

use super::{ExecMode, FluxTarget};

impl ReverseStep<()> for FluxTarget {
    fn reverse_step(&mut self, _tid: ()) -> Result<(), Self::Error> {
        self.set_exec(ExecMode::ReverseStep, None);
        Ok(())
    }
}

impl ReverseCont<()> for FluxTarget {
    fn reverse_cont(&mut self) -> Result<(), Self::Error> {
        self.set_exec(ExecMode::ReverseContinue, None);
        Ok(())
    }
}
