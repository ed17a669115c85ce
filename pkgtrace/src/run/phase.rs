//! One phase of a sandboxed run: the command traced inside the sandbox, its
//! events analyzed as they come, the sinks' records collected, and a status
//! (`completed`, `failed`, `timeout`, `error`) with the tail of its output.
//! pkgtrace's own set-up commands (a venv) run first, in the same sandbox
//! and traced, but are not analyzed: they are not the package's behaviour.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result};
use sandbox::namespaces::{enter_new_netns, ChildSetup, SandboxSpec};
use tracer::ptrace::{self, Outcome};
use tracer::Event;

use super::canaries::Canary;
use super::cgroup::RunCgroup;
use super::workspace::Workspace;
use analyzer::analysis::{Analyzer, Context};
use analyzer::pipeline::{pipeline, LIVE_BATCHES};
use analyzer::rules::RulePack;
use report::{OutputTail, PhaseReport, PhaseStatus, SandboxInfo};
use sandbox::namespaces::SANDBOX_ADDR;
use sandbox::sinks::{RunCa, SinkLog, Sinks, World};

/// What to run in a phase.
pub struct PhaseSpec {
    pub name: String,
    /// pkgtrace's own set-up, run before `commands`: sandboxed and traced
    /// like them, so they are contained (same workspace, cgroup, limits and
    /// deadline), but their events are neither analyzed nor recorded with
    /// `--events`. Otherwise what they create (the venv's python) would be
    /// "created in this run" when the package's install runs it.
    pub setup: Vec<Vec<String>>,
    /// The package's commands: what the phase reports on.
    pub commands: Vec<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub ecosystem: Option<String>,
    /// The package under test, `name@version`.
    pub package: Option<String>,
    /// Host directories to show read-only inside (a toolchain).
    pub ro_binds: Vec<std::path::PathBuf>,
    /// Directories to put first on PATH inside.
    pub path_prefix: Vec<String>,
    /// Record the phase's event stream to this file.
    pub events: Option<std::path::PathBuf>,
    /// Run without tracing (benchmarks).
    pub untraced: bool,
    /// Let the commands use every CPU (see `tracer::ptrace::cpu`).
    pub all_cpus: bool,
    /// Read every call's result (see `tracer::ptrace::wanted`).
    pub all_results: bool,
    /// Memory limit for all processes of the phase, in bytes.
    pub memory: u64,
    /// Most processes (tasks) the phase may have at once.
    pub pids: u64,
}

/// Sequence numbers of the sinks' `request` events: after any the tracer
/// gives (they come after the trace's events in the stream).
const SINK_SEQ: u64 = 1 << 48;

/// How much of the command's output the report keeps.
const TAIL: usize = 2048;

/// The PATH inside the sandbox: the system's directories only (a PATH
/// entry under the invoking user's home would not exist in there).
pub const SANDBOX_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs the phase's commands one after the other (stopping at the first
/// that fails) in the sandbox, all analyzed as one phase.
pub fn run(
    ws: &Workspace,
    spec: &PhaseSpec,
    pack: &RulePack,
    canaries: &[Canary],
    ca: &Arc<RunCa>,
) -> Result<PhaseReport> {
    let ctx = Context {
        phase: spec.name.clone(),
        ecosystem: spec.ecosystem.clone(),
        home: Some(ws.identity.home.clone()),
        cwd: Some(ws.project()),
        project: Some(ws.project()),
        canaries: canaries.iter().map(|c| c.value.clone()).collect(),
        identity: vec![ws.identity.hostname.clone(), ws.identity.user.clone()],
        package: spec.package.clone(),
    };
    let mut analyzer = Analyzer::new(pack, ctx.clone());
    let path = spec.path_prefix.iter().map(String::as_str).chain([SANDBOX_PATH]).collect::<Vec<_>>().join(":");
    let mut env: Vec<String> = vec![
        format!("HOME={}", ws.identity.home),
        format!("USER={}", ws.identity.user),
        format!("LOGNAME={}", ws.identity.user),
        format!("SHELL={}", if std::path::Path::new("/bin/bash").exists() { "/bin/bash" } else { "/bin/sh" }),
        format!("PATH={path}"),
        "LANG=C.UTF-8".into(),
        // What a developer's terminal session has. No CI=true: malware
        // that stays quiet in CI would stay quiet here.
        "TERM=xterm-256color".into(),
    ];
    env.extend(super::canaries::env(canaries).into_iter().map(|(k, v)| format!("{k}={v}")));
    env.extend(spec.env.iter().map(|(k, v)| format!("{k}={v}")));
    // The command's output goes to pipes read here: only their ends are
    // kept, and a package that writes without end fills no disk.
    let (stdout_r, stdout_w) = std::io::pipe().context("failed to create a pipe")?;
    let (stderr_r, stderr_w) = std::io::pipe().context("failed to create a pipe")?;
    let stdout_tail = thread::spawn(move || keep_tail(stdout_r));
    let stderr_tail = thread::spawn(move || keep_tail(stderr_r));
    use std::os::fd::AsRawFd;
    let child = Arc::new(
        ChildSetup::new(&SandboxSpec {
            writable: ws.writable.clone(),
            etc: ws.etc_files(),
            cwd: ws.project(),
            env,
            uid: ws.uid,
            gid: ws.uid,
            hostname: ws.hostname.clone(),
            max_processes: spec.pids,
            max_file_size: 1 << 30,
            ro_binds: spec.ro_binds.clone(),
            stdout_fd: Some(stdout_w.as_raw_fd()),
            stderr_fd: Some(stderr_w.as_raw_fd()),
            detach: vec![ws.root.clone()],
        })
        .context("failed to prepare the sandbox")?,
    );
    let mut cgroup = RunCgroup::create(
        &format!("pkgtrace-{}-{}-{}", std::process::id(), ws.uid, spec.name),
        spec.memory,
        spec.pids,
    )
    .map_err(|e| {
        anyhow::Error::new(super::driver::SandboxUnavailable(format!(
            "failed to create the run's cgroup (memory and process limits, kill at the end; needs root and cgroup v2, or v1 memory and pids): {e:#}"
        )))
    })?;

    let mut recorder = match &spec.events {
        Some(path) => Some(tracer::jsonl::EventsWriter::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("failed to create {}", path.display()))?,
        ))),
        None => None,
    };
    let runner = Runner {
        child,
        cgroup_procs: cgroup.procs(),
        path: path.clone(),
        ca: Arc::clone(ca),
        untraced: spec.untraced,
        all_cpus: spec.all_cpus,
        deadline: std::time::Instant::now() + spec.timeout,
        results: (!spec.all_results).then(|| {
            std::sync::Arc::new(std::sync::OnceLock::from(
                Box::new(analyzer::wanted::ResultsRead::of(pack)) as Box<dyn tracer::ptrace::ResultsWanted>
            ))
        }),
    };
    let mut last: Option<Outcome> = None;
    let (mut wall_ms, mut setup_ms, mut stops) = (0u64, None, 0u64);
    let mut sink_log = SinkLog::default();
    let mut error: Option<String> = None;
    for argv in &spec.setup {
        // The pipeline wants an analyzer: a scratch one, whose report is dropped.
        let mut scratch = Analyzer::new(pack, ctx.clone());
        if let Err(e) = runner.setup(argv, &mut scratch) {
            error = Some(e);
            break;
        }
    }
    for argv in spec.commands.iter().filter(|_| error.is_none()) {
        match runner.trace(argv, &mut analyzer, recorder.as_mut())? {
            Ok((outcome, log)) => {
                wall_ms += outcome.wall_ms;
                stops += outcome.stops;
                setup_ms = setup_ms.or(Some(outcome.setup_ms));
                sink_log.dns.extend(log.dns);
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
    // Whatever is left of the run dies now; then the pipes end.
    let (memory_hit, pids_hit) = (cgroup.hit_memory_limit(), cgroup.hit_pids_limit());
    let survivors = cgroup.kill_and_remove().err();
    drop((stdout_w, stderr_w));
    let output =
        OutputTail { stdout: stdout_tail.join().unwrap_or_default(), stderr: stderr_tail.join().unwrap_or_default() };
    let mut report = analyzer.finish();
    if let Some(w) = recorder {
        // The analyzer saw exactly what was recorded.
        let stats = tracer::strace::ParseStats { calls: stops, events: report.events, ..Default::default() };
        w.finish_run(&stats, last.as_ref()).context("failed to record the event stream")?;
    }
    let status = match (&error, &last) {
        (Some(_), _) | (None, None) => PhaseStatus::Error,
        (None, Some(o)) if o.timed_out => PhaseStatus::Timeout,
        (None, Some(o)) if o.exit_code == Some(0) => PhaseStatus::Completed,
        _ => PhaseStatus::Failed,
    };
    if memory_hit && status != PhaseStatus::Completed {
        error = error.or(Some(format!(
            "the phase hit its memory limit ({} MiB); the kernel killed processes",
            spec.memory >> 20
        )));
    }
    if pids_hit {
        error = error.or(Some(format!("the phase hit its process limit ({}); forks were refused", spec.pids)));
    }
    if let Some(n) = last.as_ref().map(|o| o.untraced.len()).filter(|n| *n > 0) {
        // The processes themselves are listed once, in `run.untraced`.
        error = Some(format!("{n} process(es) ran UNTRACED in the sandbox: what they did is missing from this report"));
    }
    if let Some(e) = survivors {
        error = Some(format!("{e:#}"));
    }
    report.status = Some(status);
    report.error = error;
    report.run = last.map(|mut o| {
        // The phase's time is that of all its commands.
        o.wall_ms = wall_ms;
        o.setup_ms = setup_ms.unwrap_or(0);
        o
    });
    report.output = Some(output);
    report.sandbox = Some(SandboxInfo {
        uid: ws.uid,
        gid: ws.uid,
        hostname: ws.hostname.clone(),
        user: ws.identity.user.clone(),
        home: ws.identity.home.clone(),
        project: ws.project(),
        cgroups: cgroup.dirs().iter().map(|d| d.display().to_string()).collect(),
    });
    report.sinks = Some(sink_log);
    Ok(report)
}

type Recorder = tracer::jsonl::EventsWriter<std::io::BufWriter<std::fs::File>>;

/// Runs the commands of a phase, one at a time, in its sandbox.
struct Runner {
    child: Arc<ChildSetup>,
    cgroup_procs: Vec<std::path::PathBuf>,
    /// PATH inside.
    path: String,
    ca: Arc<RunCa>,
    untraced: bool,
    all_cpus: bool,
    /// The phase's deadline, shared by all its commands.
    deadline: std::time::Instant,
    /// Which results the phase's analysis reads (None: all).
    results: Option<tracer::ptrace::Wanted>,
}

/// How long processes a phase's command left behind (a daemon, a payload
/// detached with `setsid`/`nohup ... &` that sleeps a few seconds so the
/// installer is gone when it acts) may go on, traced, before they are
/// killed. A phase that leaves nothing behind does not wait.
const LINGER: Duration = Duration::from_secs(10);

impl Runner {
    /// Traces `argv` in a fresh network namespace with the sinks, feeding
    /// its events (then what the sinks received) to `analyzer` and, when
    /// given, to `recorder`. The inner error: the command could not be run.
    fn trace(
        &self,
        argv: &[String],
        analyzer: &mut Analyzer<'_>,
        mut recorder: Option<&mut Recorder>,
    ) -> Result<Result<(Outcome, SinkLog)>> {
        let remaining = self.deadline.saturating_duration_since(std::time::Instant::now());
        let opts = ptrace::Options {
            argv: argv.iter().map(Into::into).collect(),
            timeout: Some(remaining.max(Duration::from_secs(1))),
            linger: LINGER,
            flush_each: false,
            untraced: self.untraced,
            all_cpus: self.all_cpus,
            placed: None,
            cgroup_procs: self.cgroup_procs.clone(),
            sandbox: Some(self.child.clone()),
            stdout_to_stderr: false,
            path: Some(self.path.clone()),
            redirect: None,
            results: self.results.clone(),
        };
        let world =
            World { local: vec![std::net::Ipv4Addr::from(SANDBOX_ADDR).into()], ca: Some(Arc::clone(&self.ca)) };
        // The sandbox thread enters the new network namespace, binds the
        // sinks there, then forks the command: both live in that namespace.
        let sandboxed = move |tx: crossbeam_channel::Sender<Vec<Event>>| -> Result<(Outcome, SinkLog)> {
            let mut opts = opts;
            enter_new_netns().context("failed to create the sandbox's network namespace (run as root)")?;
            // No fixed ports: every internet address reaches the world
            // sink through the tracer's routes; loopback is the sandbox's.
            let sinks = Sinks::start("127.0.0.1:53".parse().expect("address"), &[], Some(world))
                .context("failed to start the network sinks")?;
            opts.redirect = sinks.routes().map(|r| r as Arc<dyn ptrace::Redirect>);
            let outcome = ptrace::trace(&opts, |batch| {
                let _ = tx.send(batch);
            });
            let recorded = sinks.stop();
            // What the sinks received, as events of the tasks that sent it.
            let requests: Vec<Event> =
                recorded.received.iter().enumerate().map(|(i, r)| r.event(SINK_SEQ + i as u64)).collect();
            if !requests.is_empty() {
                let _ = tx.send(requests);
            }
            Ok((outcome?, recorded.log))
        };
        pipeline(analyzer, "sandbox", LIVE_BATCHES, sandboxed, |ev, _| {
            if let Some(w) = recorder.as_mut() {
                w.write(ev).context("failed to record the event stream")?;
            }
            Ok(())
        })
    }

    /// Runs one of pkgtrace's set-up commands, analyzed by `scratch` and not
    /// recorded; the error is the phase's, naming the command.
    fn setup(&self, argv: &[String], scratch: &mut Analyzer<'_>) -> std::result::Result<(), String> {
        let what = format!("pkgtrace's set-up command `{}`", argv.join(" "));
        let outcome = match self.trace(argv, scratch, None) {
            Ok(Ok((outcome, _))) => outcome,
            Ok(Err(e)) | Err(e) => return Err(format!("{what} could not run: {e:#}")),
        };
        if !outcome.untraced.is_empty() {
            // Contained all the same (the cgroup is killed at the end); not the package's.
            tracing::warn!(command = %argv.join(" "), n = outcome.untraced.len(), "untraced processes in a set-up command");
        }
        match outcome {
            o if o.timed_out => Err(format!("{what} timed out")),
            o if o.interrupted => Err(format!("{what} was interrupted")),
            o if o.exit_code == Some(0) => Ok(()),
            Outcome { exit_code: Some(code), .. } => Err(format!("{what} failed with exit status {code}")),
            Outcome { signal, .. } => Err(format!("{what} was killed by {}", signal.as_deref().unwrap_or("a signal"))),
        }
    }
}

/// Reads a pipe to its end, keeping the last [`TAIL`] bytes.
fn keep_tail(mut pipe: std::io::PipeReader) -> String {
    use std::io::Read;
    let mut kept: Vec<u8> = Vec::with_capacity(2 * TAIL);
    let mut buf = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * TAIL {
            kept.drain(..kept.len() - TAIL);
        }
    }
    let start = kept.len().saturating_sub(TAIL);
    String::from_utf8_lossy(&kept[start..]).into_owned()
}
