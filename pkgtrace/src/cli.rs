//! The `pkgtrace` command line: the subcommands, the dispatch to their
//! implementations in [`crate::cmd`], logging, and how an error becomes an
//! exit code.
//!
//! Exit codes are in [`crate::exit`].

use std::io::{self, IsTerminal};

use clap::{Parser, Subcommand};

use crate::cmd::{analyze, baseline, diff, index, merge, parse, query, reanalyze, rules, run, scan, trace};
use crate::exit::Exit;
use event::terminal::esc;

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
    Analyze(analyze::AnalyzeArgs),
    /// Run a command under pkgtrace's own tracer and report what it did.
    Trace(trace::TraceArgs),
    /// Fetch a package, install and start it in a sandbox, trace, report, store.
    Run(run::RunArgs),
    /// Scan many packages (lists, lockfiles, purls) in parallel into the
    /// results repository; resumable, shardable.
    Scan(scan::ScanArgs),
    /// Merge shard repositories (`scan --shard`) into one.
    Merge(merge::MergeArgs),
    /// Make an ecosystem's control baselines in the cache (`scan` runs it).
    #[command(hide = true)]
    Baseline(baseline::BaselineArgs),
    /// Parse logs into an event stream (JSON Lines) on stdout.
    Parse(parse::ParseArgs),
    /// Print the system calls the live tracer stops on (comma-separated),
    /// e.g. for `strace -e trace=` in benchmarks.
    #[command(hide = true)]
    TracedSyscalls,
    /// Show or self-test the rule pack.
    Rules(rules::RulesArgs),
    /// Search the results repository (filters, or read-only SQL).
    Query(query::QueryArgs),
    /// Recompute stored reports from their stored events with a rule pack.
    Reanalyze(reanalyze::ReanalyzeArgs),
    /// Maintain the results repository's index (`--rebuild`).
    Index(index::IndexArgs),
    /// What a new version does that the old one did not (two versions, or two lockfiles).
    Diff(diff::DiffArgs),
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
        Command::Analyze(args) => analyze::analyze(args),
        Command::Trace(args) => trace::trace(args),
        Command::Run(args) => run::run_package(args),
        Command::Scan(args) => scan::scan(args),
        Command::Merge(args) => merge::merge(args),
        Command::Baseline(args) => baseline::baseline(args),
        Command::Parse(args) => parse::parse(args),
        Command::TracedSyscalls => trace::traced_syscalls(),
        Command::Rules(args) => rules::rules(args),
        Command::Query(args) => query::query(args),
        Command::Reanalyze(args) => reanalyze::reanalyze(args),
        Command::Index(args) => index::index(args),
        Command::Diff(args) => diff::diff(args),
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
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter: tracing_subscriber::filter::Targets = std::env::var("PKGTRACE_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| tracing_subscriber::filter::Targets::new().with_default(tracing::Level::WARN));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry().with(fmt).with(filter).try_init();
}

/// A closed stdout (`pkgtrace ... | head`) is not an error; it may reach us
/// as an I/O error or wrapped in serde_json's.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>().and_then(|j| j.io_error_kind()) == Some(io::ErrorKind::BrokenPipe)
    })
}
