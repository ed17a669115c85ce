//! Baselines: the runtime's own noise. node opens `openssl.cnf`, pip reads
//! its config, cargo probes its registry config — in every run, whatever
//! the package. A control run of an empty package, per ecosystem and phase,
//! records those findings once (cached); in a real run, a finding the
//! control run also had is labelled `baseline` and does not count toward
//! `--fail-on`. It is kept in the report, never dropped.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use package::Ecosystem;
use report::PhaseReport;

/// (rule, subject) pairs the control run produced.
pub type Baseline = BTreeSet<(String, String)>;

fn cache_file(cache: &Path, eco: Ecosystem, phase: &str) -> PathBuf {
    // v2: subjects with the run's identity as placeholders.
    cache.join("baseline").join(format!("{eco}-{phase}.v2.json"))
}

/// The cached baseline, if any.
pub fn load(cache: &Path, eco: Ecosystem, phase: &str) -> Option<Baseline> {
    let text = fs::read_to_string(cache_file(cache, eco, phase)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the baseline atomically (a temp file renamed over it): runs of
/// `pkgtrace scan --jobs N` share the cache, and a reader must never see a
/// half-written file (it would parse as no baseline and make another).
pub fn save(cache: &Path, eco: Ecosystem, phase: &str, b: &Baseline) -> Result<()> {
    let path = cache_file(cache, eco, phase);
    let dir = path.parent().expect("has a parent");
    fs::create_dir_all(dir)?;
    results::repo::write_atomic(&path, serde_json::to_string_pretty(b)?.as_bytes(), dir)
}

/// The findings of a control phase, as a baseline. Only active ones: a
/// finding the rules already suppressed in the control run (npm reading
/// `~/.npmrc`) must not hide the same subject when package code does it.
pub fn from_phase(phase: &PhaseReport) -> Baseline {
    phase.findings.iter().filter(|f| f.is_active()).map(|f| (f.rule.clone(), key(phase, &f.subject))).collect()
}

/// Labels the findings the baseline has.
pub fn apply(phase: &mut PhaseReport, b: &Baseline) {
    let keys: Vec<String> = phase.findings.iter().map(|f| key(phase, &f.subject)).collect();
    for (f, k) in phase.findings.iter_mut().zip(keys) {
        if b.contains(&(f.rule.clone(), k)) {
            f.baseline = true;
        }
    }
}

/// A subject as the baseline knows it: every run has its own user, HOME
/// and host name, so those are placeholders (`$HOME/.npmrc`).
fn key(phase: &PhaseReport, subject: &str) -> String {
    match &phase.sandbox {
        Some(sb) => report::normalize::identity_free(subject, sb),
        None => subject.to_string(),
    }
}

/// An empty package of the ecosystem, written into `dir`, for the control
/// run. Runs going on at once write the same files there, and stage from it:
/// a file already right is left alone, and one that is not is replaced
/// whole by a rename, so nobody reads a half-written file.
pub fn write_control_package(dir: &Path, eco: Ecosystem) -> Result<()> {
    let files: &[(&str, &str)] = match eco {
        Ecosystem::Npm => &[
            ("package.json", "{\"name\":\"pkgtrace-control\",\"version\":\"1.0.0\",\"main\":\"index.js\"}\n"),
            ("index.js", "module.exports = {};\n"),
        ],
        Ecosystem::Pypi => &[
            (
                "pyproject.toml",
                "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"pkgtrace-control\"\nversion = \"1.0.0\"\n",
            ),
            ("pkgtrace_control/__init__.py", ""),
        ],
        Ecosystem::Cargo => &[
            (
                "Cargo.toml",
                "[package]\nname = \"pkgtrace-control\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[dependencies]\n",
            ),
            ("src/lib.rs", ""),
        ],
    };
    for (rel, text) in files {
        let path = dir.join(rel);
        if fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            continue;
        }
        let parent = path.parent().unwrap_or(dir);
        fs::create_dir_all(parent).with_context(|| format!("failed to create {}", parent.display()))?;
        // The temp file goes beside the package, not in it, where a concurrent staging would take it in.
        results::repo::write_atomic(&path, text.as_bytes(), dir.parent().unwrap_or(dir))?;
    }
    Ok(())
}
