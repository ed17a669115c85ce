//! Where a run is and where its time went, for `pkgtrace scan`: a scanner
//! runs each package as a child `pkgtrace run` with `PKGTRACE_PROGRESS=1`,
//! and the child then writes one line per step to stderr:
//!
//! ```text
//! pkgtrace-progress: {"step":"fetch","ms":812}
//! pkgtrace-progress: {"begin":"install"}
//! pkgtrace-progress: {"step":"install","ms":2310}
//! ```
//!
//! Steps: `fetch` (staging outside the sandbox), `setup` (namespace, uid,
//! workspace, the run's CA), each phase by name, `baseline` (labelling
//! against the control run, which includes making it when not cached) and
//! `store` (files, commit, index). Without the variable nothing is written.

use std::time::Instant;

/// The variable that turns the lines on.
pub const ENV: &str = "PKGTRACE_PROGRESS";
/// What each line starts with.
pub const PREFIX: &str = "pkgtrace-progress: ";

fn enabled() -> bool {
    std::env::var_os(ENV).is_some_and(|v| v == "1")
}

/// Says that `phase` begins.
pub fn begin(phase: &str) {
    if enabled() {
        eprintln!("{PREFIX}{}", serde_json::json!({ "begin": phase }));
    }
}

/// Says that `step` took the time since `since`.
pub fn step(step: &str, since: Instant) {
    if enabled() {
        let ms = since.elapsed().as_millis() as u64;
        eprintln!("{PREFIX}{}", serde_json::json!({ "step": step, "ms": ms }));
    }
}
