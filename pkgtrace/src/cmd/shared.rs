//! What the subcommands share: the report options of analyze, trace and run
//! ([`ReportArgs`]), the rule pack ([`load_pack`]) and durations given in
//! seconds ([`seconds`]).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::exit::Exit;
use analyzer::rules::RulePack;
use report::severity::Severity;
use report::Report;

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
pub struct ReportArgs {
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Use the rules in DIR instead of the built-in pack.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Exit 1 when an active finding is at least this severe.
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    fail_on: Severity,
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

impl ReportArgs {
    /// Prints the report; the exit code its findings call for.
    pub fn finish(&self, report: &Report) -> Result<i32> {
        write_report(report, self.format, self.color)?;
        Ok(match report.worst() {
            Some(s) if s >= self.fail_on => Exit::Findings.code(),
            _ => Exit::Clean.code(),
        })
    }
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

/// The rules in `dir`, or the built-in pack.
pub fn load_pack(dir: Option<&Path>) -> Result<RulePack> {
    Ok(match dir {
        Some(d) => RulePack::load_dir(d)?,
        None => RulePack::embedded()?,
    })
}

/// `secs` as a duration; `what` names the flag in the error.
pub fn seconds(what: &str, secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| anyhow::anyhow!("invalid {what}: {secs}"))
}
