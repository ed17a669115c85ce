//! From the tracer's [`event::Outcome`] to the report's [`report::RunOutcome`]
//! (the same fields and JSON shape; the report crate compiles no tracer).

use event::{Outcome, Untraced};
use report::{RunOutcome, UntracedProcess};

/// The report's copy of how a traced command ended.
pub fn run_outcome(o: Outcome) -> RunOutcome {
    let Outcome { exit_code, signal, timed_out, interrupted, killed_at_end, untraced, stops, wall_ms, setup_ms } = o;
    RunOutcome {
        exit_code,
        signal,
        timed_out,
        interrupted,
        killed_at_end,
        untraced: untraced.into_iter().map(|Untraced { pid, command }| UntracedProcess { pid, command }).collect(),
        stops,
        wall_ms,
        setup_ms,
    }
}
