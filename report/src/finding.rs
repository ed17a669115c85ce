//! A finding: what a rule flagged, with its first evidence and a count.

use serde::{Deserialize, Serialize};

use crate::severity::Severity;

/// Where a finding was seen first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `file:line` of the log, for recorded sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    pub syscall: String,
    /// The event's position in the stream (not in stored reports: it
    /// differs between two runs of the same package).
    #[serde(default)]
    pub seq: u64,
    /// `ok`, `failed`, or the errno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub subject: String,
    pub pid: i32,
    /// The process chain, root first: `npm → sh → node collect.js`.
    pub process: String,
    /// The package (`name@version`, or `name` when the version is not
    /// known) whose lifecycle script, build script or code did it: from
    /// the environment npm and cargo give a package's scripts, or the
    /// directory they run in (`node_modules/<name>`, pip's build directory
    /// of a distribution). None for the package manager itself, and in a
    /// trace that shows neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    pub evidence: Evidence,
    pub count: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The `[[unless]]` reason that suppressed it; suppressed findings do
    /// not count toward the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
    /// The control run of an empty package had it too: the runtime's own
    /// behaviour, not the package's. Kept, not counted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
}

impl Finding {
    /// Counts toward the verdict (`--fail-on`).
    pub fn is_active(&self) -> bool {
        self.suppressed_by.is_none() && !self.baseline
    }
}
