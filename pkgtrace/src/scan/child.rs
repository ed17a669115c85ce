//! One package of a scan: a child `pkgtrace run` of this same binary, and
//! what it ended with ([`Outcome`]).
//!
//! Why a child process and not a thread: a run enters its own mount
//! namespace, claims a uid lease, builds a cgroup and a sandbox, and
//! reacts to signals; in a process of its own, all of that is private to
//! it, and whatever a package does to its run (a hang past `--timeout`, a
//! fork bomb, a full disk, a crash of pkgtrace itself) ends that child
//! alone. The results repository's lock serialises the children's stores.
//! The scanner only schedules, reads the children's progress lines
//! ([`crate::run::progress`]) and their reports, and records failures.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use serde_json::Value;

use crate::run::progress;
use report::Severity;

/// How the child is to be run: everything but the package.
#[derive(Clone)]
pub struct ChildArgs {
    pub exe: PathBuf,
    /// `run` options passed on as given (`--timeout`, `--results`, ...).
    pub args: Vec<String>,
}

/// What a child tells the scanner while it runs, and when it ends.
pub enum Event {
    Started { job: usize, pid: u32 },
    Phase { job: usize, phase: String },
    Step { step: String, ms: u64 },
    Done { job: usize, outcome: Outcome },
}

/// Why a package has no complete report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The package could not be fetched (no such package or version, the
    /// registry unreachable, a bad purl): `run` exited 2.
    Fetch,
    /// A phase ran and failed (the install's exit status).
    InstallFailed,
    /// A phase was killed at `--timeout`.
    Timeout,
    /// The machine could not build the sandbox or run a phase: exit 3.
    Sandbox,
    /// The child died of a signal, or said nothing pkgtrace understands.
    Crashed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Fetch => "fetch",
            Reason::InstallFailed => "install failed",
            Reason::Timeout => "timeout",
            Reason::Sandbox => "sandbox",
            Reason::Crashed => "crashed",
        }
    }
}

/// How one package ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// A report was stored (complete, or of what ran before a stop).
    pub stored: bool,
    /// Active findings and the worst of them, from the report.
    pub findings: usize,
    pub worst: Option<Severity>,
    pub failure: Option<Reason>,
    /// The child's last `pkgtrace:` line (why it failed).
    pub detail: String,
    pub wall: Duration,
}

/// Runs `input` as child job `job` and reports on `tx` until it is done.
pub fn run(job: usize, input: &str, args: &ChildArgs, tx: &Sender<Event>) {
    let start = Instant::now();
    let mut cmd = Command::new(&args.exe);
    cmd.arg("run")
        .args(&args.args)
        .args(["--format", "json", "--"])
        .arg(input)
        .env(progress::ENV, "1")
        .env(progress::SCANNER_ENV, std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group: a Ctrl-C at the terminal reaches the scanner
    // only, which then kills the children itself (see `scheduler`).
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let outcome = failed(Reason::Crashed, format!("failed to start {}: {e}", args.exe.display()), start);
            let _ = tx.send(Event::Done { job, outcome });
            return;
        }
    };
    let _ = tx.send(Event::Started { job, pid: child.id() });
    let mut stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let mut detail = String::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        match line.strip_prefix(progress::PREFIX).and_then(|j| serde_json::from_str::<Value>(j).ok()) {
            Some(v) => {
                if let Some(phase) = v["begin"].as_str() {
                    let _ = tx.send(Event::Phase { job, phase: phase.to_string() });
                }
                if let (Some(step), Some(ms)) = (v["step"].as_str(), v["ms"].as_u64()) {
                    let _ = tx.send(Event::Step { step: step.to_string(), ms });
                }
            }
            None => {
                if let Some(msg) = line.strip_prefix("pkgtrace: ") {
                    if !msg.starts_with("report stored in") {
                        detail = msg.to_string();
                    }
                }
            }
        }
    }
    let status = child.wait();
    let stdout = out_reader.join().unwrap_or_default();
    let outcome = match status {
        Ok(s) => judge(s.code(), &stdout, detail, start),
        Err(e) => failed(Reason::Crashed, format!("failed to wait for the run: {e}"), start),
    };
    let _ = tx.send(Event::Done { job, outcome });
}

fn failed(reason: Reason, detail: String, start: Instant) -> Outcome {
    Outcome { stored: false, findings: 0, worst: None, failure: Some(reason), detail, wall: start.elapsed() }
}

/// The outcome from `run`'s exit code (see [`crate::exit`]) and report.
fn judge(code: Option<i32>, stdout: &[u8], detail: String, start: Instant) -> Outcome {
    let report: Option<Value> = serde_json::from_slice(stdout).ok();
    let Some(code) = code else {
        return failed(Reason::Crashed, if detail.is_empty() { "killed by a signal".into() } else { detail }, start);
    };
    let Some(report) = report else {
        let reason = match code {
            2 => Reason::Fetch,
            3 => Reason::Sandbox,
            _ => Reason::Crashed,
        };
        return failed(reason, detail, start);
    };
    let (findings, worst) = results::store::active_findings(&report);
    let statuses: Vec<&str> =
        report["phases"].as_array().into_iter().flatten().filter_map(|p| p["status"].as_str()).collect();
    let failure = if statuses.contains(&"error") || code == 3 {
        Some(Reason::Sandbox)
    } else if statuses.contains(&"timeout") {
        Some(Reason::Timeout)
    } else if statuses.contains(&"failed") {
        Some(Reason::InstallFailed)
    } else {
        None
    };
    Outcome { stored: true, findings, worst, failure, detail, wall: start.elapsed() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_reports_make_outcomes() {
        let t = Instant::now();
        let fetch = judge(Some(2), b"", "pkg:npm/x@1 not found".into(), t);
        assert_eq!((fetch.stored, fetch.failure), (false, Some(Reason::Fetch)));
        let hang = br#"{"phases":[{"status":"timeout","findings":[{"severity":"low"}]}]}"#;
        let hang = judge(Some(4), hang, String::new(), t);
        assert_eq!((hang.stored, hang.failure, hang.findings), (true, Some(Reason::Timeout), 1));
        let bad = br#"{"phases":[{"status":"completed","findings":[{"severity":"critical"}]}]}"#;
        let bad = judge(Some(1), bad, String::new(), t);
        assert_eq!((bad.failure, bad.worst), (None, Some(Severity::Critical)));
        assert_eq!(judge(None, b"", String::new(), t).failure, Some(Reason::Crashed));
    }
}
