//! The `pkgtrace` command line.
//!
//! Exit codes are in [`crate::exit`].

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use tracer::jsonl::EventsWriter;
use tracer::source::{discover, EventSource, Input};
use tracer::strace::ParseStats;
use tracer::Event;

use crate::exit::Exit;
use analyzer::analysis::{Analyzer, Context};
use analyzer::pipeline::{pipeline, run_input, LIVE_BATCHES};
use analyzer::rules::{selftest, RulePack};
use event::terminal::esc;
use report::severity::Severity;
use report::{Report, Stats, SCHEMA_VERSION};

/// Events travel from the reading thread to the analyzer in batches of this
/// many, through a channel of `CHANNEL_BATCHES` slots: memory stays bounded
/// and a slow analyzer slows the reader.

#[derive(Parser)]
#[command(
    name = "pkgtrace",
    version,
    about = "Shows what a software package does to a machine when it is installed and first used"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyze recorded strace logs (or recorded event streams) and report.
    Analyze(AnalyzeArgs),
    /// Run a command under pkgtrace's own tracer and report what it did.
    Trace(TraceArgs),
    /// Fetch a package, install and start it in a sandbox, trace, report, store.
    Run(RunArgs),
    /// Parse logs into an event stream (JSON Lines) on stdout.
    Parse {
        /// strace logs (plain, .gz, .zst) or directories of -ff files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the system calls the live tracer stops on (comma-separated),
    /// e.g. for `strace -e trace=` in benchmarks.
    #[command(hide = true)]
    TracedSyscalls,
    /// Show or self-test the rule pack.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
        /// Use the rules in DIR instead of the built-in pack.
        #[arg(long, global = true, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RulesAction {
    /// List every rule: id, severity, summary.
    List {
        /// `markdown` prints the table the README carries.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Run every rule's own test cases.
    Test,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How a report is judged and shown: shared by analyze, trace and run.
#[derive(Args)]
struct ReportArgs {
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Use the rules in DIR instead of the built-in pack.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Exit 1 when an active finding is at least this severe.
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    fail_on: Severity,
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

impl ReportArgs {
    /// Prints the report; the exit code its findings call for.
    fn finish(&self, report: &Report) -> Result<i32> {
        write_report(report, self.format, self.color)?;
        Ok(match report.worst() {
            Some(s) if s >= self.fail_on => Exit::Findings.code(),
            _ => Exit::Clean.code(),
        })
    }
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Logs to analyze: files, directories, or PHASE=PATH to name the phase.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    #[command(flatten)]
    report: ReportArgs,
    /// Phase name for paths given without PHASE=.
    #[arg(long, default_value = "install")]
    phase: String,
    /// Ecosystem of the package (npm, pypi, cargo), for rules that ask.
    #[arg(long)]
    ecosystem: Option<String>,
    /// The traced HOME (default: from a recorded environment, else /root and /home/*).
    #[arg(long, value_name = "DIR")]
    home: Option<String>,
    /// The directory the traced command started in.
    #[arg(long, value_name = "DIR")]
    cwd: Option<String>,
    /// The package's own directory (default: --cwd).
    #[arg(long, value_name = "DIR")]
    project: Option<String>,
    /// A canary value planted in the run's credentials (repeatable).
    #[arg(long = "canary", value_name = "VALUE")]
    canaries: Vec<String>,
}

#[derive(Args)]
struct TraceArgs {
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

#[derive(Args)]
struct RunArgs {
    /// A purl (`pkg:npm/left-pad@1.3.0`, `pkg:pypi/requests@2.31.0`,
    /// `pkg:cargo/serde@1.0.200`; no version: the latest) or a local
    /// directory or tarball.
    #[arg(value_name = "PURL|PATH")]
    package: String,
    /// The ecosystem of a local path when it cannot be told (npm, pypi, cargo).
    #[arg(long)]
    ecosystem: Option<String>,
    /// Phases to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "install,start")]
    phase: Vec<String>,
    /// Wall-clock limit of each phase; everything is killed past it.
    #[arg(long, value_name = "SECS", default_value = "300")]
    timeout: f64,
    /// PyPI: install from the sdist (where build-time code runs).
    #[arg(long)]
    sdist: bool,
    /// Results directory (`<ecosystem>/<name>/<version>/report.json`).
    #[arg(long, value_name = "DIR", default_value = "pkgtrace-results")]
    results: PathBuf,
    /// Don't store the report.
    #[arg(long)]
    no_store: bool,
    /// Don't compare with a control run of an empty package.
    #[arg(long)]
    no_baseline: bool,
    /// Download cache (default: ~/.cache/pkgtrace).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Keep the sandbox workspace on disk.
    #[arg(long)]
    keep: bool,
    /// Memory limit of each phase (all its processes together): MiB, or
    /// with a unit (512m, 4g).
    #[arg(long, value_name = "SIZE", default_value = "4096", value_parser = parse_size)]
    memory: u64,
    /// Size limit of everything the package may write (HOME with the
    /// project, /tmp, /var/tmp, /dev/shm together): MiB, or with a unit.
    #[arg(long, value_name = "SIZE", default_value = "2g", value_parser = parse_size)]
    disk: u64,
    /// Most processes and threads a phase may have at once.
    #[arg(long, value_name = "N", default_value = "1024")]
    pids: u64,
    /// Benchmarks only: run the phases in the sandbox without tracing.
    #[arg(long, hide = true)]
    untraced: bool,
    /// Record each phase's events as DIR/<phase>.events.jsonl
    /// (`pkgtrace analyze` reads them).
    #[arg(long, value_name = "DIR")]
    events: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    init_logging();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Usage.code() } else { Exit::Clean.code() };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Analyze(args) => analyze(args),
        Command::Trace(args) => trace(args),
        Command::Run(args) => run_package(args),
        Command::Parse { paths } => parse(&paths),
        Command::TracedSyscalls => {
            let names: Vec<&str> = tracer::ptrace::syscalls::table().iter().map(|s| s.name).collect();
            println!("{}", names.join(","));
            Ok(Exit::Clean.code())
        }
        Command::Rules { action, rules } => rules_cmd(action, rules.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => Exit::Clean.code(),
        Err(e) => {
            eprintln!("pkgtrace: {}", esc(&format!("{e:#}")));
            Exit::of_error(&e).code()
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PKGTRACE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .without_time()
        .try_init();
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>().and_then(|j| j.io_error_kind()) == Some(io::ErrorKind::BrokenPipe)
    })
}

fn load_pack(dir: Option<&Path>) -> Result<RulePack> {
    Ok(match dir {
        Some(d) => RulePack::load_dir(d)?,
        None => RulePack::embedded()?,
    })
}

/// `PHASE=PATH` or `PATH`. A path that exists is never split.
fn split_phase<'a>(arg: &'a str, default: &'a str) -> (&'a str, &'a str) {
    if !Path::new(arg).exists() {
        if let Some((phase, path)) = arg.split_once('=') {
            if !phase.is_empty() && phase.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return (phase, path);
            }
        }
    }
    (default, arg)
}

fn analyze(args: AnalyzeArgs) -> Result<i32> {
    let pack = load_pack(args.report.rules.as_deref())?;
    // Group inputs by phase, in the order phases first appear.
    let mut phases: Vec<(String, Vec<Input>)> = Vec::new();
    let mut input_errors = 0;
    for arg in &args.paths {
        let (phase, path) = split_phase(arg, &args.phase);
        match discover(Path::new(path)) {
            Ok(inputs) => match phases.iter_mut().find(|(p, _)| p == phase) {
                Some((_, v)) => v.extend(inputs),
                None => phases.push((phase.to_string(), inputs)),
            },
            Err(e) => {
                eprintln!("pkgtrace: {}", esc(&e.to_string()));
                input_errors += 1;
            }
        }
    }
    if phases.is_empty() {
        return Ok(Exit::Usage.code());
    }
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        package: None,
        canaries_leaked: Vec::new(),
        phases: Vec::new(),
        stats: Stats::default(),
    };
    for (phase, inputs) in phases {
        let ctx = Context {
            phase: phase.clone(),
            ecosystem: args.ecosystem.clone(),
            home: args.home.clone(),
            cwd: args.cwd.clone(),
            project: args.project.clone(),
            canaries: args.canaries.clone(),
        };
        let mut analyzer = Analyzer::new(&pack, ctx);
        let mut run = None;
        for input in &inputs {
            match run_input(input, &mut analyzer) {
                Ok((stats, outcome)) => {
                    run = run.or(outcome);
                    report.stats.lines += stats.lines;
                    report.stats.events += stats.events;
                    report.stats.unparsed += stats.unparsed;
                }
                Err(e) => {
                    eprintln!("pkgtrace: {}", esc(&format!("{e:#}")));
                    input_errors += 1;
                }
            }
        }
        let mut phase_report = analyzer.finish();
        phase_report.run = run;
        report.stats.processes += phase_report.processes;
        report.phases.push(phase_report);
    }
    let code = args.report.finish(&report)?;
    Ok(if input_errors > 0 { Exit::Usage.code() } else { code })
}

/// A size in bytes: `512` (MiB), `512k`, `256m`, `4g`.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, shift) = match s.as_bytes().last() {
        Some(b'k') => (&s[..s.len() - 1], 10),
        Some(b'm') => (&s[..s.len() - 1], 20),
        Some(b'g') => (&s[..s.len() - 1], 30),
        _ => (s, 20),
    };
    let n: u64 = num.parse().map_err(|_| format!("not a size: {s:?} (e.g. 512m, 2g)"))?;
    n.checked_shl(shift).filter(|v| *v >> shift == n && *v > 0).ok_or_else(|| format!("size out of range: {s:?}"))
}

fn run_package(args: RunArgs) -> Result<i32> {
    let pack = load_pack(args.report.rules.as_deref())?;
    let ecosystem = match &args.ecosystem {
        Some(e) => Some(e.parse::<package::Ecosystem>().map_err(|e| anyhow::anyhow!("{e}"))?),
        None => None,
    };
    let opts = crate::run::RunOptions {
        phases: args.phase.clone(),
        timeout: seconds("--timeout", args.timeout)?,
        ecosystem,
        sdist: args.sdist,
        cache: args.cache.clone().unwrap_or_else(crate::run::driver::default_cache),
        results: (!args.no_store).then(|| args.results.clone()),
        baseline: !args.no_baseline,
        keep: args.keep,
        events: args.events.clone(),
        untraced: args.untraced,
        memory: args.memory,
        disk: args.disk,
        pids: args.pids,
    };
    let result = match crate::run::run(&args.package, &pack, &opts) {
        Ok(r) => r,
        Err(e) => {
            // Bad input (unknown ecosystem, no such package or version, a
            // corrupt tarball) is one line and exit 2; a sandbox the machine
            // cannot give is exit 3.
            eprintln!("pkgtrace: {}", esc(&format!("{e:#}")));
            return Ok(Exit::of_error(&e).code());
        }
    };
    let mut code = args.report.finish(&result.report)?;
    for p in &result.report.phases {
        if p.status.as_deref() == Some("error") {
            let error = p.error.as_deref().unwrap_or("unknown error");
            eprintln!("pkgtrace: phase {} could not run: {}", esc(&p.name), esc(error));
            code = Exit::Environment.code();
        }
    }
    if let Some(path) = &result.stored {
        eprintln!("pkgtrace: report stored in {}", path.display());
    }
    Ok(code)
}

fn seconds(what: &str, secs: f64) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| anyhow::anyhow!("invalid {what}: {secs}"))
}

fn trace(args: TraceArgs) -> Result<i32> {
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
    };
    let opts = tracer::ptrace::Options {
        argv: args.command.clone(),
        timeout: args.timeout.map(|t| seconds("--timeout", t)).transpose()?,
        linger: seconds("--linger", args.linger)?,
        stdout_to_stderr: true,
        flush_each: args.follow,
        untraced: false,
        cgroup_procs: Vec::new(),
        sandbox: None,
        path: None,
    };
    let mut recorder = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("failed to create {}", path.display()))?;
            Some(EventsWriter::new(io::BufWriter::new(file)))
        }
        None => None,
    };
    let pack = match user_pack {
        Some(p) => p,
        None => load_pack(None)?,
    };
    let mut analyzer = Analyzer::new(&pack, ctx);
    let mut events = 0u64;
    let mut shown = 0;
    let follow = args.follow;
    let trace = move |tx: crossbeam_channel::Sender<Vec<Event>>| {
        tracer::ptrace::trace(&opts, |batch| {
            let _ = tx.send(batch);
        })
    };
    let outcome = pipeline(&mut analyzer, "tracer", LIVE_BATCHES, trace, |ev, analyzer| {
        events += 1;
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
    })??;
    let stats = ParseStats { lines: 0, calls: outcome.stops, events, unparsed: 0 };
    if let Some(w) = recorder {
        w.finish_run(&stats, Some(&outcome)).context("failed to write the event stream")?;
    }
    let mut phase = analyzer.finish();
    let processes = phase.processes;
    phase.run = Some(outcome);
    let report = Report {
        schema_version: SCHEMA_VERSION,
        package: None,
        canaries_leaked: Vec::new(),
        phases: vec![phase],
        stats: Stats { lines: 0, events, unparsed: 0, processes },
    };
    args.report.finish(&report)
}

fn write_report(report: &Report, format: Format, color: ColorChoice) -> Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, report)?;
            out.write_all(b"\n")?;
        }
        Format::Text => {
            let color = match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            out.write_all(crate::text::render(report, color).as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}

fn parse(paths: &[PathBuf]) -> Result<i32> {
    let stdout = io::stdout();
    let mut w = EventsWriter::new(io::BufWriter::with_capacity(1 << 16, stdout.lock()));
    let mut total = ParseStats::default();
    let mut errors = 0;
    for path in paths {
        let inputs = match discover(path) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("pkgtrace: {}", esc(&e.to_string()));
                errors += 1;
                continue;
            }
        };
        for input in inputs {
            let mut source = EventSource::open(&input)?;
            while let Some(ev) = source.next_event()? {
                w.write(&ev)?;
            }
            let s = source.stats();
            total.lines += s.lines;
            total.calls += s.calls;
            total.events += s.events;
            total.unparsed += s.unparsed;
        }
    }
    w.finish(&total)?;
    Ok(if errors > 0 { Exit::Usage.code() } else { Exit::Clean.code() })
}

fn rules_cmd(action: RulesAction, dir: Option<&Path>) -> Result<i32> {
    let pack = load_pack(dir)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match action {
        RulesAction::List { format: ListFormat::Text } => {
            for r in &pack.rules {
                writeln!(out, "{:<36} {:<8} {}", r.id, r.severity, r.summary)?;
            }
            Ok(Exit::Clean.code())
        }
        RulesAction::List { format: ListFormat::Markdown } => {
            out.write_all(analyzer::rules::markdown_table(&pack).as_bytes())?;
            Ok(Exit::Clean.code())
        }
        RulesAction::Test => {
            let outcome = selftest::run(&pack);
            for f in &outcome.failures {
                if f.case == 0 {
                    writeln!(out, "FAIL {}: {}", f.rule, f.message)?;
                } else {
                    writeln!(out, "FAIL {} test {}: {}", f.rule, f.case, f.message)?;
                }
            }
            writeln!(
                out,
                "{} rules, {} test cases, {} failures",
                outcome.rules,
                outcome.cases,
                outcome.failures.len()
            )?;
            Ok(if outcome.failures.is_empty() { Exit::Clean.code() } else { Exit::Findings.code() })
        }
    }
}
