//! How a run that did not finish ends: `pkgtrace run` whose install phase
//! fails or times out exits 4 (incomplete), not 0, and says on stderr which
//! phase stopped and why; `pkgtrace trace` killed by its `--timeout` too,
//! while a traced command that merely exits non-zero is not incomplete.
//! The `run` tests need root (the sandbox), like CI.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

mod common;
use common::{code, finish, phase, run_command, stage_package, stderr, BIN};

/// The one stderr line that says `name` stopped early, or a panic.
fn incomplete_line<'a>(stderr: &'a str, name: &str) -> &'a str {
    let head = format!("pkgtrace: {name} phase incomplete (");
    stderr.lines().find(|l| l.starts_with(&head)).unwrap_or_else(|| panic!("no `{head}...` line on stderr:\n{stderr}"))
}

#[test]
fn install_script_that_fails_is_exit_4() {
    let pkg = stage_package("npm/outcome-fail", &json!({}));
    let cmd = run_command("outcome-fail", &pkg.path, 120, &["--phase", "install"]);
    let done = finish(cmd, Duration::from_secs(300));
    let report = done.report();
    let install = phase(&report, "install");
    assert_eq!(install["status"], "failed", "{}\n{}", install["run"], done.stderr);
    assert_eq!(done.status.code(), Some(4), "a failed phase is incomplete; stderr:\n{}", done.stderr);
    let line = incomplete_line(&done.stderr, "install");
    assert!(
        line.contains("failed: exit code") && line.ends_with("the report covers only what ran before it stopped"),
        "{line}"
    );
}

#[test]
fn install_script_past_the_timeout_is_exit_4() {
    let pkg = stage_package("npm/outcome-hang", &json!({}));
    let cmd = run_command("outcome-hang", &pkg.path, 3, &["--phase", "install"]);
    let done = finish(cmd, Duration::from_secs(120));
    let report = done.report();
    let install = phase(&report, "install");
    assert_eq!(install["status"], "timeout", "{}\n{}", install["run"], done.stderr);
    assert_eq!(install["run"]["timed_out"], true, "{}", install["run"]);
    assert_eq!(done.status.code(), Some(4), "a phase that timed out is incomplete; stderr:\n{}", done.stderr);
    let line = incomplete_line(&done.stderr, "install");
    assert!(line.contains("(timeout after 3 s)"), "{line}");
}

/// `pkgtrace trace` of `sh -c CMD` with `extra` options.
fn trace(extra: &[&str], cmd: &str) -> std::process::Output {
    common::needs_root("pkgtrace trace");
    Command::new(BIN)
        // cargo's test runner points LD_LIBRARY_PATH into target/ (build
        // outputs), which the traced command's loader would search: a
        // plantable path when the checkout is under /tmp.
        .env_remove("LD_LIBRARY_PATH")
        .args(["trace", "--format", "json"])
        .args(extra)
        .args(["--", "sh", "-c", cmd])
        .output()
        .expect("run pkgtrace trace")
}

#[test]
fn trace_killed_by_its_timeout_is_exit_4() {
    let o = trace(&["--timeout", "1", "--linger", "0"], "sleep 30");
    assert_eq!(code(&o), 4, "stderr:\n{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("the report is still printed");
    assert_eq!(report["phases"][0]["run"]["timed_out"], true);
    let err = stderr(&o);
    let line = incomplete_line(&err, "trace");
    assert!(line.contains("(timeout after 1 s)"), "{line}");
}

#[test]
fn traced_command_that_exits_1_is_not_incomplete() {
    // It ran to its end under the tracer: the report covers it all.
    let o = trace(&[], "exit 1");
    assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
    assert!(!stderr(&o).contains("incomplete"), "{}", stderr(&o));
}
