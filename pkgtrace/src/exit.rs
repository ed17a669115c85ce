//! The exit status of `pkgtrace`, in one place:
//!
//! - [`Exit::Clean`] (0): no active finding at or above `--fail-on`;
//! - [`Exit::Findings`] (1): findings at or above `--fail-on` (or a failed
//!   rule self-test);
//! - [`Exit::Usage`] (2): a usage or input error: bad arguments, a bad purl,
//!   no such package or version, an unreadable or corrupt input;
//! - [`Exit::Environment`] (3): the machine cannot do what was asked: the
//!   sandbox cannot be built (no root, no cgroups, no namespaces), a
//!   package client is missing (npm, pip, cargo), a sandboxed phase could
//!   not run.

use package::PackageError;

use crate::run::driver::SandboxUnavailable;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Clean = 0,
    Findings = 1,
    Usage = 2,
    Environment = 3,
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
}
