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
/// The scanner's pid: the child run dies with it ([`die_with_scanner`]).
pub const SCANNER_ENV: &str = "PKGTRACE_SCANNER_PID";

/// In a child run of a scan: asks the kernel to SIGKILL this run when the
/// scanner's thread that started it ends, however it ends (a scanner
/// killed with SIGKILL included). The run's sandbox dies with it (the
/// tracer's `PTRACE_O_EXITKILL`, the PID namespace). A scanner gone before
/// this call (the run is then someone else's child) ends the run at once.
pub fn die_with_scanner() {
    let Some(scanner) = std::env::var(SCANNER_ENV).ok().and_then(|v| v.parse::<i32>().ok()) else { return };
    if nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).is_err() {
        return;
    }
    if nix::unistd::getppid().as_raw() != scanner {
        eprintln!("pkgtrace: the scan that started this run is gone");
        std::process::exit(crate::exit::Exit::Incomplete.code());
    }
}
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
