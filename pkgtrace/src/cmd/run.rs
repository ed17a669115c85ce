//! `pkgtrace run`: the command line of a sandboxed run; the run itself is
//! [`crate::run`].

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::shared::{how_it_ended, load_pack, say_incomplete, seconds, ReportArgs};
use crate::exit::Exit;
use event::terminal::esc;
use report::PhaseStatus;

#[derive(Args)]
pub struct RunArgs {
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
    /// The results repository (a git repository, created on first use):
    /// `<ecosystem>/<name>/<version>/` with report.json, events.jsonl.zst,
    /// meta.json; one commit per stored version.
    #[arg(long, value_name = "DIR", default_value = "pkgtrace-results")]
    results: PathBuf,
    /// Don't store the report (nor commit, nor index).
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
    /// Let the command use every CPU. By default it runs on one CPU with
    /// its tracer, which makes each ptrace stop several times cheaper
    /// (most of all in VMs); choose this for builds that compute in
    /// parallel.
    #[arg(long)]
    pub all_cpus: bool,
    /// Read every call's result. By default a probe (stat, access,
    /// readlink) of a path no rule of the pack and no report section reads
    /// is recorded without its result, which saves a second ptrace stop;
    /// ask for every result when the event stream is to be analyzed again
    /// with other rules.
    #[arg(long)]
    pub all_results: bool,
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

pub fn run_package(args: RunArgs) -> Result<i32> {
    crate::run::progress::die_with_scanner();
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
        rule_pack_hash: if args.no_store { String::new() } else { results::pack_hash(args.report.rules.as_deref())? },
        baseline: !args.no_baseline,
        keep: args.keep,
        events: args.events.clone(),
        untraced: args.untraced,
        all_cpus: args.all_cpus,
        all_results: args.all_results,
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
    let verdict = args.report.finish(&result.report)?;
    // A phase that could not run at all is the machine's problem (3); one
    // that failed or timed out leaves a report of only what ran before it
    // stopped (4, unless that already had findings).
    let (mut could_not_run, mut incomplete) = (false, false);
    for p in &result.report.phases {
        match p.status {
            Some(PhaseStatus::Error) => {
                let error = p.error.as_deref().unwrap_or("unknown error");
                eprintln!("pkgtrace: phase {} could not run: {}", esc(&p.name), esc(error));
                could_not_run = true;
            }
            Some(status @ (PhaseStatus::Failed | PhaseStatus::Timeout)) => {
                let mut why = how_it_ended(p.run.as_ref(), Some(args.timeout));
                if status == PhaseStatus::Failed {
                    why = format!("failed: {why}");
                }
                if let Some(error) = &p.error {
                    why = format!("{why}; {error}");
                }
                say_incomplete(&p.name, &why);
                incomplete = true;
            }
            Some(PhaseStatus::Completed) | None => {}
        }
    }
    if let Some(stored) = &result.stored {
        eprintln!("pkgtrace: report stored in {} ({})", stored.dir.display(), esc(&stored.message));
        if let Some(w) = &stored.index_warning {
            eprintln!("pkgtrace: {}", esc(w));
        }
    }
    let code = if could_not_run { Exit::Environment } else { verdict.unless_incomplete(incomplete) };
    Ok(code.code())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_are_mib_or_have_a_unit() {
        assert_eq!(parse_size("4096"), Ok(4096 << 20));
        assert_eq!(parse_size("256m"), Ok(256 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1gb"), Ok(1 << 30));
        assert!(parse_size("0").is_err(), "a zero limit is no limit anyone means");
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999g").is_err(), "overflow is an error, not a wrap");
    }
}
