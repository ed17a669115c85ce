//! `pkgtrace trace`: a command run under pkgtrace's own tracer, its events
//! analyzed as they come (and recorded with `-o`), then one report.
//!
//! Also the hidden `pkgtrace traced-syscalls`, the live tracer's list of
//! system calls.

use std::io;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use tracer::jsonl::EventsWriter;
use tracer::strace::ParseStats;
use tracer::Event;

use super::shared::{how_it_ended, load_pack, say_incomplete, seconds, ReportArgs};
use crate::exit::Exit;
use analyzer::analysis::{Analyzer, Context};
use analyzer::pipeline::{pipeline_started_first, LIVE_BATCHES};
use event::terminal::esc;
use report::{Report, Stats, SCHEMA_VERSION};

#[derive(Args)]
pub struct TraceArgs {
    /// Record the event stream (JSON Lines) to FILE; `pkgtrace analyze FILE`
    /// gives the same report later.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
    /// Kill the whole run after SECS seconds (the report says so).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// After the command exits, how long processes it left behind may run
    /// before they are killed.
    #[arg(long, value_name = "SECS", default_value = "2")]
    linger: f64,
    /// Print findings on stderr as they happen.
    #[arg(long)]
    follow: bool,
    /// Let the command use every CPU. By default it runs on one CPU with
    /// its tracer, which makes each ptrace stop several times cheaper
    /// (most of all in VMs); choose this for builds that compute in
    /// parallel.
    #[arg(long)]
    all_cpus: bool,
    /// Read every call's result. By default a probe (stat, access,
    /// readlink) of a path no rule of the pack and no report section reads
    /// is recorded without its result, which saves a second ptrace stop;
    /// ask for every result when the event stream is to be analyzed again
    /// with other rules.
    #[arg(long)]
    all_results: bool,
    /// Phase name in the report.
    #[arg(long, default_value = "trace")]
    phase: String,
    /// Ecosystem of the package (npm, pypi, cargo), for rules that ask.
    #[arg(long)]
    ecosystem: Option<String>,
    /// The package's own directory (default: the current directory).
    #[arg(long, value_name = "DIR")]
    project: Option<String>,
    /// A canary value planted in the run's credentials (repeatable).
    #[arg(long = "canary", value_name = "VALUE")]
    canaries: Vec<String>,
    /// The command to trace, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<std::ffi::OsString>,
}

pub fn trace(args: TraceArgs) -> Result<i32> {
    // A pack from --rules may be invalid: check it before anything runs.
    // The built-in one is compiled while the command already runs.
    let user_pack = args.report.rules.as_deref().map(|d| load_pack(Some(d))).transpose()?;
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let ctx = Context {
        phase: args.phase.clone(),
        ecosystem: args.ecosystem.clone(),
        // The command runs with our environment: its HOME is ours.
        home: std::env::var("HOME").ok().filter(|h| h.starts_with('/')),
        cwd: Some(cwd.display().to_string()),
        project: args.project.clone(),
        canaries: args.canaries.clone(),
        package: None,
        // The command runs on this machine, as this user.
        identity: [std::fs::read_to_string("/proc/sys/kernel/hostname").ok(), std::env::var("USER").ok()]
            .into_iter()
            .flatten()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    let (placed_tx, placed_rx) = std::sync::mpsc::channel();
    // Which results the analysis reads: known once the pack is compiled.
    let results = tracer::ptrace::Wanted::default();
    let opts = tracer::ptrace::Options {
        argv: args.command.clone(),
        timeout: args.timeout.map(|t| seconds("--timeout", t)).transpose()?,
        linger: seconds("--linger", args.linger)?,
        stdout_to_stderr: true,
        flush_each: args.follow,
        all_cpus: args.all_cpus,
        placed: Some(placed_tx),
        untraced: false,
        cgroup_procs: Vec::new(),
        sandbox: None,
        path: None,
        redirect: None,
        results: (!args.all_results).then(|| results.clone()),
    };
    let mut recorder = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("failed to create {}", path.display()))?;
            Some(EventsWriter::new(io::BufWriter::new(file)))
        }
        None => None,
    };
    // The built-in pack is compiled while the command already runs.
    let pack_slot = std::sync::OnceLock::new();
    let make_analyzer = || -> Result<Analyzer<'_>> {
        // Out of the tracer's way until it has its CPU (see Options::placed).
        let _ = placed_rx.recv_timeout(std::time::Duration::from_millis(200));
        let pack = match user_pack {
            Some(p) => p,
            None => load_pack(None)?,
        };
        let pack = pack_slot.get_or_init(|| pack);
        let _ = results.set(Box::new(analyzer::wanted::ResultsRead::of(pack)));
        Ok(Analyzer::new(pack, ctx))
    };
    let mut events = 0u64;
    // Stops the tracer failed to decode (it reports them and goes on).
    let mut unparsed = 0u64;
    let mut shown = 0;
    let follow = args.follow;
    let trace = move |tx: crossbeam_channel::Sender<Vec<Event>>| {
        tracer::ptrace::trace(&opts, |batch| {
            let _ = tx.send(batch);
        })
    };
    let (outcome, analyzer) = pipeline_started_first("tracer", LIVE_BATCHES, trace, make_analyzer, |ev, analyzer| {
        events += 1;
        unparsed += u64::from(matches!(ev.kind, event::EventKind::Unparsed { .. }));
        if let Some(w) = recorder.as_mut() {
            w.write(ev).context("failed to write the event stream")?;
        }
        if follow && analyzer.findings().len() > shown {
            for f in analyzer.findings().since(shown) {
                let state = if f.is_active() { "" } else { " (suppressed)" };
                eprintln!("pkgtrace: {} [{}] {}{state} — {}", f.severity, f.rule, esc(&f.message), esc(&f.process));
            }
            shown = analyzer.findings().len();
        }
        Ok(())
    })?;
    let outcome = outcome?;
    let stats = ParseStats { calls: outcome.stops, events, unparsed, ..ParseStats::default() };
    if let Some(w) = recorder {
        w.finish_run(&stats, Some(&outcome)).context("failed to write the event stream")?;
    }
    // Only pkgtrace cutting the run short (--timeout, an interrupt) makes
    // the report incomplete. How the command itself ended (exit 1, a
    // crash) is its own business: it was traced to its end, and the
    // report covers all it did.
    let stopped = outcome.timed_out || outcome.interrupted;
    let why = how_it_ended(Some(&outcome), args.timeout);
    let mut phase = analyzer.finish();
    let processes = phase.processes;
    phase.run = Some(outcome);
    let report = Report {
        schema_version: SCHEMA_VERSION,
        package: None,
        canaries_leaked: Vec::new(),
        phases: vec![phase],
        stats: Stats { events, processes, ..Stats::default() },
    };
    let verdict = args.report.finish(&report)?;
    // The process ends now: freeing the report, the analyzer's state and
    // the rule pack one allocation at a time would only delay the exit
    // that the caller is waiting for (0.4 ms after a shell loop).
    std::mem::forget(report);
    std::mem::forget(pack_slot);
    if stopped {
        say_incomplete(&args.phase, &why);
    }
    Ok(verdict.unless_incomplete(stopped).code())
}

/// Prints the system calls the live tracer stops on, comma-separated.
pub fn traced_syscalls() -> Result<i32> {
    let names: Vec<&str> = tracer::ptrace::syscalls::table().iter().map(|s| s.name).collect();
    println!("{}", names.join(","));
    Ok(Exit::Clean.code())
}
