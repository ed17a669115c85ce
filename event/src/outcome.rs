//! How a live run ended: produced by the ptrace tracer, carried in the
//! trailer of a recorded stream.

/// How the run ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// The command's exit code, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that killed it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// The run hit `--timeout` and was killed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// pkgtrace got SIGINT or SIGTERM and killed the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Processes still running after the command exited and the linger
    /// time passed, killed by pkgtrace.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub killed_at_end: u32,
    /// Processes found in the run's cgroup that the tracer was not
    /// tracing (they escaped it somehow): should never happen; said loudly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untraced: Vec<Untraced>,
    /// ptrace stops taken (a measure of the tracing cost). Not in stored
    /// reports (it differs between two runs of the same package).
    #[serde(default)]
    pub stops: u64,
    /// Wall-clock time of the run, in milliseconds.
    #[serde(default)]
    pub wall_ms: u64,
    /// From fork to the command's first exec: building the sandbox and
    /// attaching the tracer, in milliseconds.
    #[serde(default)]
    pub setup_ms: u64,
}

/// A process of the run that was not traced.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Untraced {
    pub pid: i32,
    /// Its command line (or `comm`), as far as it could be read.
    pub command: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
