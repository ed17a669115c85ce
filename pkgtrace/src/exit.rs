//! The exit status of `pkgtrace`, in one place (the README has the same
//! table):
//!
//! | code | name | when |
//! |---|---|---|
//! | 0 | [`Exit::Clean`] | no active finding at or above `--fail-on`, and everything ran to its end |
//! | 1 | [`Exit::Findings`] | findings at or above `--fail-on` (or a failed rule self-test) |
//! | 2 | [`Exit::Usage`] | a usage or input error: bad arguments, a bad purl, no such package or version, an unreadable input, a log with no system call in it |
//! | 3 | [`Exit::Environment`] | the machine cannot do what was asked: no root, cgroups or namespaces for the sandbox, a package client (npm, pip, cargo) missing, a sandboxed phase that could not run |
//! | 4 | [`Exit::Incomplete`] | no finding at or above `--fail-on`, but the run stopped before its end: a `run` phase that failed or timed out, a `trace` killed by `--timeout` or an interrupt |
//!
//! When more than one applies: 2 and 3 (nothing trustworthy to judge) win
//! over 1, and 1 wins over 4. Findings are the CI gate's verdict: what ran
//! before the stop already called for a failure, and that is the answer
//! whether or not the rest would have added to it. 4 says "the report is
//! clean so far, but it does not cover everything": a clean-looking report
//! of an install that was killed half-way must not pass as a clean run.
//!
//! `pkgtrace diff` judges what is new: 1 when a finding that appeared (or
//! whose severity went up) is at or above `--fail-on`, else 0, whatever the
//! two versions had in common.
//!
//! `pkgtrace analyze` never gives 4: a log is bad input (2) or is judged on
//! what it holds (0/1). A compressed log cut half-way is judged on the lines
//! before the cut (and says so); only one that gave no line at all is 2.

use package::PackageError;

use crate::run::driver::SandboxUnavailable;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Clean = 0,
    Findings = 1,
    Usage = 2,
    Environment = 3,
    Incomplete = 4,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status for a command that failed with `e`: the environment's
    /// fault or the input's.
    pub fn of_error(e: &anyhow::Error) -> Exit {
        let environment = e.chain().any(|c| {
            c.is::<SandboxUnavailable>() || matches!(c.downcast_ref::<PackageError>(), Some(PackageError::Tool { .. }))
        });
        if environment {
            Exit::Environment
        } else {
            Exit::Usage
        }
    }

    /// The verdict `self` (0 or 1), made 4 when the run was `incomplete`
    /// and nothing at or above `--fail-on` was found in what did run.
    pub fn unless_incomplete(self, incomplete: bool) -> Exit {
        if incomplete && self == Exit::Clean {
            Exit::Incomplete
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn findings_win_over_an_incomplete_run() {
        assert_eq!(Exit::Clean.unless_incomplete(true), Exit::Incomplete);
        assert_eq!(Exit::Findings.unless_incomplete(true), Exit::Findings);
        assert_eq!(Exit::Clean.unless_incomplete(false), Exit::Clean);
        assert_eq!(Exit::Incomplete.code(), 4);
    }
}
