//! What the subcommands share: the report options of analyze, trace and run
//! ([`ReportArgs`]), the rule pack ([`load_pack`]), durations given in
//! seconds ([`seconds`]), and what is said on stderr about input cut short
//! ([`say_cut`]) and runs stopped early ([`say_incomplete`]).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::exit::Exit;
use analyzer::rules::RulePack;
use event::terminal::esc;
use event::{InputCut, Outcome};
use report::severity::Severity;
use report::Report;

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
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
    /// Prints the report; the verdict its findings call for (0 or 1).
    pub fn finish(&self, report: &Report) -> Result<Exit> {
        if let Format::Sarif = self.format {
            let pack = load_pack(self.rules.as_deref())?;
            let package = report.package.as_ref().map(|p| plain_purl(&p.purl));
            let located: Vec<report::sarif::Located<'_>> = report
                .phases
                .iter()
                .flat_map(|p| p.findings.iter().map(move |f| (p, f)))
                .map(|(p, f)| report::sarif::Located { package: package.as_deref(), phase: &p.name, finding: f })
                .collect();
            write_json(&report::sarif::log(&sarif_rules(&pack), &located, env!("CARGO_PKG_VERSION")))?;
        } else {
            write_report(report, self.format, self.color)?;
        }
        Ok(match report.worst() {
            Some(s) if s >= self.fail_on => Exit::Findings,
            _ => Exit::Clean,
        })
    }
}

/// The rule pack as SARIF describes its rules.
pub fn sarif_rules(pack: &RulePack) -> Vec<report::sarif::RuleInfo> {
    pack.rules
        .iter()
        .map(|r| report::sarif::RuleInfo {
            id: r.id.clone(),
            summary: r.summary.clone(),
            why: r.why.clone(),
            severity: r.severity,
        })
        .collect()
}

/// A purl without its qualifiers (`?local=/path` of a local package).
pub fn plain_purl(purl: &str) -> String {
    purl.split(['?', '#']).next().unwrap_or(purl).to_string()
}

/// A JSON value, pretty, on stdout.
pub fn write_json(v: &serde_json::Value) -> Result<()> {
    let mut out = buffered_stdout();
    serde_json::to_writer_pretty(&mut out, v)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Standard output in 64 KiB writes: `StdoutLock` alone writes each line
/// with a system call of its own (a large JSON report: thousands).
pub fn buffered_stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(1 << 16, io::stdout().lock())
}

fn write_report(report: &Report, format: Format, color: ColorChoice) -> Result<()> {
    let mut out = buffered_stdout();
    match format {
        Format::Sarif => unreachable!("SARIF is written by ReportArgs::finish"),
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

/// Says on stderr where each file was cut short (a corrupt or truncated
/// `.gz` or `.zst`) and that the `output` ("report", "stream") covers the
/// lines before; returns how many gave nothing before the cut: those are
/// unreadable inputs (exit 2).
pub fn say_cut(cuts: &[InputCut], output: &str) -> usize {
    let mut unreadable = 0;
    for cut in cuts {
        let covers = if cut.lines == 0 {
            unreadable += 1;
            "nothing could be read from it".to_string()
        } else {
            format!("the {output} covers the lines before it")
        };
        eprintln!("pkgtrace: {}; {covers}", esc(&cut.to_string()));
    }
    unreadable
}

/// Says on stderr, in one line, that `phase` stopped before its end and
/// `why` (`timeout after 300 s`, `failed: exit code 1`).
pub fn say_incomplete(phase: &str, why: &str) {
    eprintln!(
        "pkgtrace: {} phase incomplete ({}): the report covers only what ran before it stopped",
        esc(phase),
        esc(why)
    );
}

/// How a command ended, in a few words: `exit code 1`, `killed by
/// SIGKILL`, `interrupted`, `timeout after 3 s` (`timeout` is the limit
/// the run had, in seconds).
pub fn how_it_ended(run: Option<&Outcome>, timeout: Option<f64>) -> String {
    let Some(run) = run else { return "its end was not seen".into() };
    if run.timed_out {
        return match timeout {
            Some(t) => format!("timeout after {t} s"),
            None => "timeout".into(),
        };
    }
    if run.interrupted {
        return "interrupted".into();
    }
    match (run.exit_code, &run.signal) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by {s}"),
        (None, None) => "its end was not seen".into(),
    }
}
