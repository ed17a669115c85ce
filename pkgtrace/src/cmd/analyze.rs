//! `pkgtrace analyze`: recorded strace logs (or recorded event streams),
//! grouped by phase, analyzed into one report.
//!
//! What the inputs gave decides the exit code before the findings do:
//! - an input that yields no event (empty, or not one line in strace's
//!   format) is warned about; when no input yields one, there is nothing
//!   to judge: no report, exit 2 (a "0 findings" report of a file that was
//!   never a log would pass a CI gate);
//! - a compressed input cut half-way (corrupt or truncated) is analyzed up
//!   to the cut, which is said on stderr and in `stats.cut`; it is exit 2
//!   only when not one line could be read from it;
//! - an input that cannot be opened is exit 2, after the report of the rest.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use tracer::source::{discover, Input};

use super::shared::{load_pack, say_cut, ReportArgs};
use crate::exit::Exit;
use analyzer::analysis::{Analyzer, Context};
use analyzer::pipeline::run_input;
use event::terminal::esc;
use event::ParseStats;
use report::{Report, Stats, SCHEMA_VERSION};

#[derive(Args)]
pub struct AnalyzeArgs {
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

pub fn analyze(args: AnalyzeArgs) -> Result<i32> {
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
    // Events from lines that were understood, over every input.
    let mut parsed = 0;
    for (phase, inputs) in phases {
        let ctx = Context {
            phase: phase.clone(),
            ecosystem: args.ecosystem.clone(),
            home: args.home.clone(),
            cwd: args.cwd.clone(),
            project: args.project.clone(),
            canaries: args.canaries.clone(),
            package: None,
            // Learnt from the log's recorded environments, if any.
            identity: Vec::new(),
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
                    let unreadable = say_cut(&stats.cut, "report");
                    input_errors += unreadable;
                    if stats.parsed() == 0 && unreadable == 0 {
                        eprintln!("pkgtrace: {}", esc(&nothing_read(input, &stats)));
                    }
                    parsed += stats.parsed();
                    report.stats.cut.extend(stats.cut);
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
    if parsed == 0 {
        return Ok(Exit::Usage.code());
    }
    let verdict = args.report.finish(&report)?;
    Ok(if input_errors > 0 { Exit::Usage } else { verdict }.code())
}

/// Why `input` gave nothing to analyze.
fn nothing_read(input: &Input, stats: &ParseStats) -> String {
    let name = input.display_name();
    match input {
        Input::Events(_) => format!(
            "{name}: no event could be read from it; is it a stream written by `pkgtrace parse` or `pkgtrace trace -o`?"
        ),
        Input::Strace(_) if stats.lines == 0 => {
            format!("{name}: no system call could be read from it (it is empty); is it an strace -f log?")
        }
        Input::Strace(_) => format!(
            "{name}: no system call could be read from it ({} lines, none in strace's format); is it an strace -f log?",
            stats.lines
        ),
    }
}
