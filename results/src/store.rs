//! What a stored package version holds, at `<ecosystem>/<name>/<version>/`:
//!
//! - `report.json`: the report, normalised ([`report::normalize`]);
//! - `events.jsonl.zst`: every phase's recorded event stream, each after a
//!   line `{"phase":"<name>"}`, with the run's identity (HOME, the package
//!   directory, user and host name, canary values) as the report's
//!   placeholders. Pids and temp names are kept as recorded: the analyzer
//!   rebuilds the process tree and file provenance from them;
//! - `meta.json`: what produced it ([`Meta`]), including the run's context,
//!   so that [`crate::reanalyze`] can map the placeholders back and analyze
//!   the stream as the run did.

use std::io::{BufRead, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::RunIdentity;
use report::Report;

/// `report.json`, `events.jsonl.zst`, `meta.json`.
pub const REPORT: &str = "report.json";
pub const EVENTS: &str = "events.jsonl.zst";
pub const META: &str = "meta.json";

/// zstd level: streams compress ~20x at 3; higher levels cost run time.
const ZSTD_LEVEL: i32 = 3;

/// What produced a stored report.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Meta {
    /// The pkgtrace that ran the package (and the one that last reanalyzed it).
    pub pkgtrace_version: String,
    /// SHA-256 of the rule pack's files ([`crate::pack_hash`]).
    pub rule_pack: String,
    /// When the run was stored (UTC, RFC 3339).
    pub stored_at: String,
    /// When it was last reanalyzed, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reanalyzed_at: Option<String>,
    /// Wall time of each phase, in milliseconds.
    #[serde(default)]
    pub wall_ms: std::collections::BTreeMap<String, u64>,
    /// The context the run's analyzer had (see [`RunIdentity`]).
    pub context: RunIdentity,
}

/// A run to store: its report (with the sandbox sections, before
/// normalisation), the event stream files of its phases, and its context.
pub struct Run<'a> {
    pub report: &'a Report,
    /// (phase, recorded JSON Lines file).
    pub events: Vec<(String, &'a Path)>,
    pub identity: RunIdentity,
    pub rule_pack: String,
}

/// Where a package version is stored, relative to the repository's root.
pub fn version_dir(ecosystem: &str, name: &str, version: &str) -> String {
    format!("{ecosystem}/{name}/{version}")
}

/// A file to store: its path relative to the root, its contents.
pub type File = (String, Vec<u8>);

/// The version's directory, and the files of the stored run.
pub fn files(run: &Run<'_>) -> Result<(String, Vec<File>)> {
    let pkg = run.report.package.as_ref().context("the report names no package")?;
    let dir = version_dir(pkg.ecosystem.as_str(), &pkg.name, &pkg.version);
    let report = report::normalize::normalized(run.report, &run.identity.canaries);
    let mut events = zstd::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
    for (phase, path) in &run.events {
        let file = std::fs::File::open(path).with_context(|| format!("failed to read {}", path.display()))?;
        writeln!(events, "{}", serde_json::json!({ "phase": phase }))?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.with_context(|| format!("failed to read {}", path.display()))?;
            writeln!(events, "{}", run.identity.normalize_line(&line))?;
        }
    }
    let events = events.finish()?;
    let meta = Meta {
        pkgtrace_version: env!("CARGO_PKG_VERSION").to_string(),
        rule_pack: run.rule_pack.clone(),
        stored_at: now_rfc3339(),
        reanalyzed_at: None,
        wall_ms: run
            .report
            .phases
            .iter()
            .map(|p| (p.name.clone(), p.run.as_ref().map(|r| r.wall_ms).unwrap_or(0)))
            .collect(),
        context: run.identity.clone(),
    };
    Ok((
        dir.clone(),
        vec![
            (format!("{dir}/{REPORT}"), pretty(&report)),
            (format!("{dir}/{EVENTS}"), events),
            (format!("{dir}/{META}"), pretty(&serde_json::to_value(&meta)?)),
        ],
    ))
}

/// A value as stored: pretty JSON with a final newline (diffs read well).
pub fn pretty(v: &Value) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(v).unwrap_or_default();
    text.push(b'\n');
    text
}

/// The commit message of a stored report: `npm/left-pad@1.3.0: 2 findings, max high`.
pub fn commit_message(report: &Value) -> String {
    let pkg = &report["package"];
    let s = |v: &Value| v.as_str().unwrap_or("?").to_string();
    let (n, max) = active_findings(report);
    let max = max.map(|m| format!(", max {m}")).unwrap_or_default();
    format!("{}/{}@{}: {n} finding{}{max}", s(&pkg["ecosystem"]), s(&pkg["name"]), s(&pkg["version"]), plural(n))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// How many active findings a stored report has, and the worst severity.
pub fn active_findings(report: &Value) -> (usize, Option<report::Severity>) {
    let mut n = 0;
    let mut max = None;
    for f in report["phases"].as_array().into_iter().flatten().flat_map(|p| p["findings"].as_array()).flatten() {
        if f.get("suppressed_by").is_some_and(|s| !s.is_null()) || f["baseline"] == true {
            continue;
        }
        n += 1;
        let sev: Option<report::Severity> = f["severity"].as_str().and_then(|s| s.parse().ok());
        max = max.max(sev);
    }
    (n, max)
}

/// The current time, UTC, as RFC 3339 (`2026-01-31T12:00:00Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_messages_count_active_findings() {
        let r = serde_json::json!({"package": {"ecosystem": "npm", "name": "left-pad", "version": "1.3.0"},
            "phases": [{"findings": [
                {"severity": "high"}, {"severity": "low"},
                {"severity": "critical", "baseline": true}, {"severity": "critical", "suppressed_by": "x"}]}]});
        assert_eq!(commit_message(&r), "npm/left-pad@1.3.0: 2 findings, max high");
        let clean = serde_json::json!({"package": {"ecosystem": "pypi", "name": "a", "version": "1"}, "phases": []});
        assert_eq!(commit_message(&clean), "pypi/a@1: 0 findings");
    }

    #[test]
    fn time_is_rfc3339() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
