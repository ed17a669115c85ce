//! `pkgtrace scan`: the command line of a batch scan; the scan itself is
//! [`crate::scan`].

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};

use crate::exit::Exit;
use crate::scan::child::ChildArgs;
use crate::scan::plan::{self, Choice};
use crate::scan::summary::Summary;
use crate::scan::{inputs, scheduler};
use event::terminal::esc;
use report::Severity;

#[derive(Args)]
pub struct ScanArgs {
    /// Purls (`pkg:npm/x@1.0.0`; `pkg:npm/x@*` is every published version),
    /// local packages, lockfiles (package-lock.json, npm-shrinkwrap.json,
    /// requirements*.txt, Cargo.lock) or text files of purls and paths, one
    /// per line (`#` comments).
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<String>,
    /// Packages run at once, each in its own sandbox (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Scan only slice I of N (0-based), by a stable hash of each purl
    /// (64-bit FNV-1a, modulo N): for job arrays.
    #[arg(long, value_name = "I/N", value_parser = inputs::parse_shard)]
    shard: Option<(u64, u64)>,
    /// The results repository.
    #[arg(long, value_name = "DIR", default_value = "pkgtrace-results")]
    results: PathBuf,
    /// Run what is already stored again.
    #[arg(long, conflicts_with = "retry_failed")]
    rescan: bool,
    /// Run only the packages whose last attempt failed (`.pkgtrace/failures.jsonl`).
    #[arg(long)]
    retry_failed: bool,
    /// Wall-clock limit of each phase of each package.
    #[arg(long, value_name = "SECS", default_value = "300")]
    timeout: f64,
    /// Phases to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "install,start")]
    phase: Vec<String>,
    /// Download cache (default: ~/.cache/pkgtrace), shared by the jobs.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Use the rules in DIR instead of the built-in pack.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Memory limit of each phase (as `run --memory`).
    #[arg(long, value_name = "SIZE")]
    memory: Option<String>,
    /// Disk limit of each run (as `run --disk`).
    #[arg(long, value_name = "SIZE")]
    disk: Option<String>,
    /// Process limit of each phase (as `run --pids`).
    #[arg(long, value_name = "N")]
    pids: Option<u64>,
    /// Don't compare with the control runs.
    #[arg(long)]
    no_baseline: bool,
    /// PyPI: install from the sdist.
    #[arg(long)]
    sdist: bool,
    /// Let each run use every CPU (as `run --all-cpus`). By default each
    /// job runs on one CPU with its tracer, and jobs spread over the CPUs.
    #[arg(long)]
    all_cpus: bool,
    /// Read every call's result in each run (as `run --all-results`).
    #[arg(long)]
    all_results: bool,
    /// The summary on stdout as text or JSON.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Exit 1 when a package has an active finding at least this severe.
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    fail_on: Severity,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn scan(args: ScanArgs) -> Result<i32> {
    let cache = args.cache.clone().unwrap_or_else(crate::run::driver::default_cache);
    let repo = results::Repo::open_or_init(&args.results)?;
    let rule_pack = results::pack_hash(args.rules.as_deref())?;
    let (items, bad_lines) = inputs::read(&args.inputs, &cache);
    for b in &bad_lines {
        eprintln!("pkgtrace: {}: {}", esc(&b.at), esc(&b.error));
    }
    let choice =
        Choice { shard: args.shard, rescan: args.rescan, retry_failed: args.retry_failed, rule_pack: &rule_pack };
    let plan = plan::plan(items, &repo, &choice);
    let mut summary =
        Summary { total: plan.total, skipped: plan.skipped, bad_lines: bad_lines.clone(), ..Default::default() };
    let exe = std::env::current_exe().context("failed to find the pkgtrace binary")?;
    if !args.no_baseline {
        prepare_baselines(&exe, &plan.run, &args, &cache)?;
    }
    let child = ChildArgs { exe, args: child_args(&args, &cache) };
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    scheduler::run(&plan.run, jobs, &child, &repo, &mut summary)?;
    match args.format {
        Format::Text => print!("{}", summary.to_text()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&summary.to_json())?),
    }
    let worst = summary.flagged.keys().next_back().copied();
    let code = if worst.is_some_and(|w| w >= args.fail_on) {
        Exit::Findings
    } else if summary.failed_total() > 0 || !summary.bad_lines.is_empty() || summary.interrupted > 0 {
        Exit::Incomplete
    } else {
        Exit::Clean
    };
    Ok(code.code())
}

/// What every child `pkgtrace run` is given besides the package.
fn child_args(args: &ScanArgs, cache: &std::path::Path) -> Vec<String> {
    let mut out = vec![
        "--results".to_string(),
        args.results.display().to_string(),
        "--timeout".into(),
        args.timeout.to_string(),
        "--phase".into(),
        args.phase.join(","),
        "--cache".into(),
        cache.display().to_string(),
        "--fail-on".into(),
        args.fail_on.as_str().into(),
    ];
    if let Some(r) = &args.rules {
        out.extend(["--rules".into(), r.display().to_string()]);
    }
    for (flag, v) in [("--memory", &args.memory), ("--disk", &args.disk)] {
        if let Some(v) = v {
            out.extend([flag.to_string(), v.clone()]);
        }
    }
    if let Some(p) = args.pids {
        out.extend(["--pids".into(), p.to_string()]);
    }
    if args.no_baseline {
        out.push("--no-baseline".into());
    }
    if args.sdist {
        out.push("--sdist".into());
    }
    if args.all_cpus {
        out.push("--all-cpus".into());
    }
    if args.all_results {
        out.push("--all-results".into());
    }
    out
}

/// Makes each ecosystem's control baseline once, before the jobs start,
/// so that N first runs do not all make it at once (each would run the
/// control package twice more). A child `pkgtrace baseline`, for the same
/// isolation reasons as the runs.
fn prepare_baselines(
    exe: &std::path::Path,
    items: &[inputs::Item],
    args: &ScanArgs,
    cache: &std::path::Path,
) -> Result<()> {
    let mut ecosystems: Vec<package::Ecosystem> = items.iter().map(|i| i.ecosystem).collect();
    ecosystems.sort_by_key(|e| e.as_str());
    ecosystems.dedup();
    for eco in ecosystems {
        let mut cmd = Command::new(exe);
        cmd.args(["baseline", "--ecosystem", eco.as_str(), "--cache"]).arg(cache).stdin(Stdio::null());
        if let Some(r) = &args.rules {
            cmd.arg("--rules").arg(r);
        }
        let status = cmd.status().context("failed to start the control run")?;
        if !status.success() {
            eprintln!("pkgtrace: the {eco} control run failed; each run makes its own baseline");
        }
    }
    Ok(())
}
