//! One phase of a sandboxed run: the command traced inside the sandbox, its
//! events analyzed as they come, the sinks' records collected, and a status
//! (`completed`, `failed`, `timeout`, `error`) with the tail of its output.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result};
use tracer::ptrace::sandbox::{enter_new_netns, ChildSetup, SandboxSpec, SANDBOX_HOME};
use tracer::ptrace::{self, Outcome};
use tracer::Event;

use super::canaries::Canary;
use super::workspace::{tail, Workspace, SANDBOX_PROJECT};
use crate::analysis::{Analyzer, Context};
use crate::report::{OutputTail, PhaseReport};
use crate::rules::RulePack;
use crate::sinks::{SinkLog, Sinks};

/// What to run in a phase.
pub struct PhaseSpec {
    pub name: String,
    pub commands: Vec<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub ecosystem: Option<String>,
    /// Host directories to show read-only inside (a toolchain).
    pub ro_binds: Vec<std::path::PathBuf>,
    /// Directories to put first on PATH inside.
    pub path_prefix: Vec<String>,
    /// Record the phase's event stream to this file.
    pub events: Option<std::path::PathBuf>,
    /// Run without tracing (benchmarks).
    pub untraced: bool,
    /// Memory limit for all processes of the phase, in bytes.
    pub memory: u64,
}

/// How much of the command's output the report keeps.
const TAIL: usize = 2048;

/// The PATH inside the sandbox: the system's directories only (a PATH
/// entry under the invoking user's home would not exist in there).
pub const SANDBOX_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs the phase's commands one after the other (stopping at the first
/// that fails) in the sandbox, all analyzed as one phase.
pub fn run(ws: &Workspace, spec: &PhaseSpec, pack: &RulePack, canaries: &[Canary]) -> Result<PhaseReport> {
    let ctx = Context {
        phase: spec.name.clone(),
        ecosystem: spec.ecosystem.clone(),
        home: Some(SANDBOX_HOME.into()),
        cwd: Some(SANDBOX_PROJECT.into()),
        project: Some(SANDBOX_PROJECT.into()),
        canaries: canaries.iter().map(|c| c.value.clone()).collect(),
    };
    let mut analyzer = Analyzer::new(pack, ctx);
    let path = spec.path_prefix.iter().map(String::as_str).chain([SANDBOX_PATH]).collect::<Vec<_>>().join(":");
    let mut env: Vec<String> = vec![
        format!("HOME={SANDBOX_HOME}"),
        "USER=pkgtrace".into(),
        "LOGNAME=pkgtrace".into(),
        "SHELL=/bin/sh".into(),
        format!("PATH={path}"),
        "LANG=C.UTF-8".into(),
        "TERM=dumb".into(),
        "CI=true".into(),
    ];
    env.extend(super::canaries::env(canaries).into_iter().map(|(k, v)| format!("{k}={v}")));
    env.extend(spec.env.iter().map(|(k, v)| format!("{k}={v}")));
    let stdout_path = ws.out.join(format!("{}.stdout", spec.name));
    let stderr_path = ws.out.join(format!("{}.stderr", spec.name));
    let stdout = std::fs::File::create(&stdout_path).context("failed to create the output capture")?;
    let stderr = std::fs::File::create(&stderr_path).context("failed to create the output capture")?;
    use std::os::fd::AsRawFd;
    let setup = Arc::new(
        ChildSetup::new(&SandboxSpec {
            home: ws.home.clone(),
            etc: ws.etc.clone(),
            cwd: SANDBOX_PROJECT.into(),
            env,
            tmpfs_size: "1g".into(),
            max_processes: 2048,
            max_file_size: 1 << 30,
            ro_binds: spec.ro_binds.clone(),
            stdout_fd: Some(stdout.as_raw_fd()),
            stderr_fd: Some(stderr.as_raw_fd()),
        })
        .context("failed to prepare the sandbox")?,
    );

    let mut recorder = match &spec.events {
        Some(path) => Some(tracer::jsonl::EventsWriter::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("failed to create {}", path.display()))?,
        ))),
        None => None,
    };
    let mut last: Option<Outcome> = None;
    let (mut wall_ms, mut setup_ms) = (0u64, None);
    let mut sink_log = SinkLog::default();
    let mut error: Option<String> = None;
    let deadline = std::time::Instant::now() + spec.timeout;
    let cgroup = super::memlimit::MemCgroup::create(spec.memory);
    if cgroup.is_none() {
        tracing::warn!("no memory cgroup available: the phase runs without a memory limit");
    }
    for argv in &spec.commands {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        let opts = ptrace::Options {
            argv: argv.iter().map(Into::into).collect(),
            timeout: Some(remaining.max(Duration::from_secs(1))),
            linger: Duration::from_secs(1),
            flush_each: false,
            untraced: spec.untraced,
            cgroup_procs: cgroup.as_ref().map(|c| c.procs()),
            sandbox: Some(setup.clone()),
            stdout_to_stderr: false,
            path: Some(path.clone()),
        };
        let (tx, rx) = crossbeam_channel::bounded::<Vec<Event>>(64);
        // The tracer thread enters the new network namespace, binds the
        // sinks there, then forks the command: both live in that namespace.
        let tracer = thread::Builder::new()
            .name("sandbox".into())
            .spawn(move || -> Result<(Outcome, SinkLog)> {
                enter_new_netns().context("failed to create the sandbox's network namespace (run as root)")?;
                let sinks = Sinks::start("127.0.0.1:53".parse().expect("address"), &[80, 443, 8080, 8443])
                    .context("failed to start the DNS and TCP sinks")?;
                let outcome = ptrace::trace(&opts, |batch| {
                    let _ = tx.send(batch);
                });
                let log = sinks.stop();
                Ok((outcome?, log))
            })
            .context("failed to start the sandbox thread")?;
        for ev in rx.iter().flatten() {
            if let Some(w) = recorder.as_mut() {
                w.write(&ev).context("failed to record the event stream")?;
            }
            analyzer.event(&ev);
        }
        match tracer.join().map_err(|_| anyhow::anyhow!("the sandbox thread panicked"))? {
            Ok((outcome, log)) => {
                wall_ms += outcome.wall_ms;
                setup_ms = setup_ms.or(Some(outcome.setup_ms));
                sink_log.dns.extend(log.dns);
                sink_log.tcp.extend(log.tcp);
                let ok = outcome.exit_code == Some(0);
                let stop = !ok || outcome.timed_out || outcome.interrupted;
                last = Some(outcome);
                if stop {
                    break;
                }
            }
            Err(e) => {
                error = Some(format!("{e:#}"));
                break;
            }
        }
    }
    drop((stdout, stderr));
    if let Some(w) = recorder {
        let stats = tracer::strace::ParseStats::default();
        w.finish_run(&stats, last.as_ref()).context("failed to record the event stream")?;
    }
    let mut report = analyzer.finish();
    let status = match (&error, &last) {
        (Some(_), _) | (None, None) => "error",
        (None, Some(o)) if o.timed_out => "timeout",
        (None, Some(o)) if o.exit_code == Some(0) => "completed",
        _ => "failed",
    };
    if cgroup.as_ref().is_some_and(|c| c.hit_limit()) && status != "completed" {
        error = error.or(Some(format!(
            "the phase hit its memory limit ({} MiB); the kernel killed processes",
            spec.memory >> 20
        )));
    }
    report.status = Some(status.to_string());
    report.error = error;
    report.run = last.map(|mut o| {
        // The phase's time is that of all its commands.
        o.wall_ms = wall_ms;
        o.setup_ms = setup_ms.unwrap_or(0);
        o
    });
    report.output = Some(OutputTail { stdout: tail(&stdout_path, TAIL), stderr: tail(&stderr_path, TAIL) });
    report.sinks = Some(sink_log);
    Ok(report)
}
