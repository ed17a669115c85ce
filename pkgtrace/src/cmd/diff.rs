//! `pkgtrace diff`: what a new version of a package does that the old one
//! did not. This file resolves the two sides into reports (the results
//! repository, a run, a file) and prints; the comparison is the `diff`
//! crate's.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, ValueEnum};

use super::shared::{load_pack, plain_purl, sarif_rules, seconds, write_json};
use crate::exit::Exit;
use analyzer::RulePack;
use event::terminal::esc;
use report::{Report, Severity};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    /// For a pull-request comment.
    Markdown,
    /// SARIF 2.1.0 of the new findings.
    Sarif,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The old and the new version: each a purl with a version (looked up
    /// in the results repository, run and stored when missing), a
    /// report.json, a stored version's directory or its events.jsonl.zst,
    /// or a local package directory (run). One argument:
    /// `pkg:npm/x@1.0.0..1.0.1`, or `pkg:npm/x` (its two newest stored
    /// versions). With --lockfile: the old and the new lockfile.
    #[arg(value_name = "OLD", required = true)]
    old: String,
    #[arg(value_name = "NEW")]
    new: Option<String>,
    /// OLD and NEW are lockfiles (package-lock.json, requirements.txt,
    /// Cargo.lock): diff every package whose version changed or that is new.
    #[arg(long)]
    lockfile: bool,
    /// Don't run a version that is not stored yet: it is an error.
    #[arg(long)]
    no_run: bool,
    /// The results repository.
    #[arg(long, value_name = "DIR", default_value = "pkgtrace-results")]
    results: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Exit 1 when a new finding is at least this severe.
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    fail_on: Severity,
    /// Use the rules in DIR (runs, events files, SARIF rule descriptions).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Wall-clock limit of each phase of a run.
    #[arg(long, value_name = "SECS", default_value = "300")]
    timeout: f64,
    /// Download cache for runs (default: ~/.cache/pkgtrace).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
}

/// One side of a diff: a label and its report (None: nothing, a new dependency).
struct Side {
    label: String,
    report: Option<Report>,
}

pub fn diff(args: DiffArgs) -> Result<i32> {
    let pack = load_pack(args.rules.as_deref())?;
    let pairs: Vec<(Option<String>, String)> = if args.lockfile {
        let new = args.new.as_deref().context("--lockfile needs two lockfiles: OLD NEW")?;
        lockfile_pairs(Path::new(&args.old), Path::new(new))?
    } else {
        let (a, b) = match &args.new {
            Some(b) => (args.old.clone(), b.clone()),
            None => shorthand(&args.old, &args.results)?,
        };
        vec![(Some(a), b)]
    };
    let mut diffs = Vec::new();
    for (old, new) in &pairs {
        let old = match old {
            Some(spec) => resolve(spec, &args, &pack)?,
            None => Side { label: String::new(), report: None },
        };
        let new = resolve(new, &args, &pack)?;
        let new_report = new.report.as_ref().context("no report")?;
        diffs.push(diff::diff(&old.label, old.report.as_ref(), &new.label, new_report));
    }
    let mut summary = diff::Summary::default();
    for d in &diffs {
        summary.add(d);
    }
    match args.format {
        Format::Text => {
            let mut out = String::new();
            for d in &diffs {
                out.push_str(&diff::render::text(d));
            }
            if args.lockfile {
                out.push_str(&format!("{} changed package{}: ", diffs.len(), if diffs.len() == 1 { "" } else { "s" }));
            }
            out.push_str(&format!("{summary}\n"));
            print_stdout(&out)?;
        }
        Format::Markdown => print_stdout(&diff::render::markdown(&diffs, &summary))?,
        Format::Json => write_json(&serde_json::json!({
            "diffs": diffs,
            "summary": summary,
            "line": summary.to_string(),
        }))?,
        Format::Sarif => {
            let located: Vec<report::sarif::Located<'_>> = diffs
                .iter()
                .flat_map(|d| {
                    d.changes().filter_map(move |(phase, c)| {
                        c.new_finding().map(|f| report::sarif::Located { package: Some(&d.new), phase, finding: f })
                    })
                })
                .collect();
            write_json(&report::sarif::log(&sarif_rules(&pack), &located, env!("CARGO_PKG_VERSION")))?;
        }
    }
    Ok(match summary.worst_new() {
        Some(s) if s >= args.fail_on => Exit::Findings.code(),
        _ => Exit::Clean.code(),
    })
}

fn print_stdout(s: &str) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `pkg:npm/x@1.0.0..1.0.1`, or `pkg:npm/x` (the two newest stored versions).
fn shorthand(spec: &str, results: &Path) -> Result<(String, String)> {
    if let Some((left, right)) = spec.split_once("..") {
        let at = left
            .rfind('@')
            .filter(|i| left[..*i].contains('/'))
            .with_context(|| format!("{spec:?}: a range needs a version on the left (pkg:npm/x@1.0.0..1.0.1)"))?;
        if right.is_empty() || right.contains('/') {
            bail!("{spec:?}: expected pkg:<type>/<name>@<old>..<new>");
        }
        return Ok((left.to_string(), format!("{}@{right}", &left[..at])));
    }
    let pkg = package::parse(spec, None)?;
    if pkg.version.is_some() || pkg.is_local() {
        bail!("one argument must be pkg:<type>/<name> or pkg:<type>/<name>@<old>..<new>; give two versions to compare");
    }
    let dir = results.join(pkg.ecosystem.as_str()).join(&pkg.name);
    let mut versions: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join("report.json").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by(|a, b| version_key(a).cmp(&version_key(b)).then(a.cmp(b)));
    match versions.as_slice() {
        [.., a, b] => Ok((format!("{}@{a}", pkg.purl()), format!("{}@{b}", pkg.purl()))),
        _ => bail!("{} has {} stored version(s) in {}; two are needed", pkg.purl(), versions.len(), results.display()),
    }
}

/// Orders versions by their numbers (`1.10.0` after `1.9.0`).
fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap_or(u64::MAX)).collect()
}

/// The packages of `new` that are not in `old` at that version: (the old
/// version's purl, None for a new dependency; the new one's).
fn lockfile_pairs(old: &Path, new: &Path) -> Result<Vec<(Option<String>, String)>> {
    let a = package::lockfile::read(old)?;
    let b = package::lockfile::read(new)?;
    let mut out = Vec::new();
    for l in &b {
        if a.contains(l) {
            continue;
        }
        // The old version of the same package: the highest one locked.
        let before = a
            .iter()
            .filter(|x| x.ecosystem == l.ecosystem && x.name == l.name)
            .max_by(|x, y| version_key(&x.version).cmp(&version_key(&y.version)));
        out.push((before.map(|x| x.purl()), l.purl()));
    }
    let removed = a.iter().filter(|x| !b.iter().any(|y| y.ecosystem == x.ecosystem && y.name == x.name)).count();
    if removed > 0 {
        tracing::info!("{removed} package(s) removed from the lockfile (not diffed)");
    }
    Ok(out)
}

/// One side, as a report.
fn resolve(spec: &str, args: &DiffArgs, pack: &RulePack) -> Result<Side> {
    let path = Path::new(spec);
    if !spec.starts_with("pkg:") && path.exists() {
        return resolve_path(path, args, pack);
    }
    let pkg = package::parse(spec, None)?;
    let version = pkg.version.as_deref().with_context(|| format!("{spec}: a version is needed (pkg:npm/x@1.0.0)"))?;
    let dir = args.results.join(results::store::version_dir(pkg.ecosystem.as_str(), &pkg.name, version));
    if !dir.join(results::store::REPORT).is_file() {
        if args.no_run {
            bail!("{} is not stored in {} (drop --no-run to run it)", pkg.purl(), args.results.display());
        }
        eprintln!("pkgtrace: {} is not stored yet; running it", esc(&pkg.purl()));
        let dir = run(spec, args, pack)?;
        return read_report(&dir.join(results::store::REPORT));
    }
    read_report(&dir.join(results::store::REPORT))
}

fn resolve_path(path: &Path, args: &DiffArgs, pack: &RulePack) -> Result<Side> {
    if path.is_dir() {
        if path.join(results::store::REPORT).is_file() {
            return read_report(&path.join(results::store::REPORT));
        }
        // A local package: run (and store) it.
        let dir = run(&path.to_string_lossy(), args, pack)?;
        return read_report(&dir.join(results::store::REPORT));
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == results::store::EVENTS {
        let dir = path.parent().unwrap_or(Path::new("."));
        let v = results::reanalyze::recompute(dir, pack)
            .with_context(|| format!("failed to recompute the report of {}", path.display()))?;
        let report: Report = serde_json::from_value(v).with_context(|| format!("{} gave no report", path.display()))?;
        return side(report, path);
    }
    if name.ends_with(".jsonl") || name.ends_with(".zst") {
        bail!(
            "{}: only a stored version's {} can be diffed (or its report.json)",
            path.display(),
            results::store::EVENTS
        );
    }
    read_report(path)
}

fn read_report(path: &Path) -> Result<Side> {
    let bytes = std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    let report: Report =
        serde_json::from_slice(&bytes).map_err(|e| anyhow!("{} is not a pkgtrace report: {e}", path.display()))?;
    if report.schema_version > report::SCHEMA_VERSION {
        bail!(
            "{} has schema_version {} (this pkgtrace reads {})",
            path.display(),
            report.schema_version,
            report::SCHEMA_VERSION
        );
    }
    side(report, path)
}

fn side(report: Report, path: &Path) -> Result<Side> {
    let report = diff::prepare(report).with_context(|| format!("failed to normalise {}", path.display()))?;
    let label = match &report.package {
        Some(p) => plain_purl(&p.purl),
        None => path.display().to_string(),
    };
    Ok(Side { label, report: Some(report) })
}

/// Runs `spec` in the sandbox and stores it; the stored version's directory.
fn run(spec: &str, args: &DiffArgs, pack: &RulePack) -> Result<PathBuf> {
    let opts = crate::run::RunOptions {
        timeout: seconds("--timeout", args.timeout)?,
        results: Some(args.results.clone()),
        rule_pack_hash: results::pack_hash(args.rules.as_deref())?,
        ..crate::run::RunOptions::with_defaults(args.cache.clone().unwrap_or_else(crate::run::driver::default_cache))
    };
    let result = crate::run::run(spec, pack, &opts)?;
    let stored = result.stored.with_context(|| format!("the run of {spec} was not stored"))?;
    eprintln!("pkgtrace: report stored in {} ({})", stored.dir.display(), esc(&stored.message));
    Ok(stored.dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_to_two_purls() {
        let (a, b) = shorthand("pkg:npm/sharp@0.32.6..0.33.0", Path::new("/nonexistent")).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("pkg:npm/sharp@0.32.6", "pkg:npm/sharp@0.33.0"));
        let (a, b) = shorthand("pkg:npm/@s/x@1.0.0..2.0.0", Path::new("/nonexistent")).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("pkg:npm/@s/x@1.0.0", "pkg:npm/@s/x@2.0.0"));
        assert!(shorthand("pkg:npm/x..1.0.0", Path::new("/nonexistent")).is_err());
        assert!(shorthand("pkg:npm/x", Path::new("/nonexistent")).unwrap_err().to_string().contains("0 stored"));
    }

    #[test]
    fn versions_order_by_number() {
        let mut v = vec!["1.10.0", "1.9.0", "1.0.0"];
        v.sort_by_key(|x| version_key(x));
        assert_eq!(v, ["1.0.0", "1.9.0", "1.10.0"]);
    }
}
