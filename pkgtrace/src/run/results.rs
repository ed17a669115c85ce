//! Writing a run's report into the results directory: one report per
//! package version at `<ecosystem>/<name>/<version>/report.json`, written
//! atomically (temp file, then rename), so a killed run never leaves half a
//! report. What differs between two runs of the same package is replaced by
//! placeholders first ([`report::normalize`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::canaries::Canary;
use report::Report;

/// Where the report of a package version goes.
pub fn report_path(results: &Path, ecosystem: &str, name: &str, version: &str) -> PathBuf {
    results.join(ecosystem).join(name).join(version).join("report.json")
}

/// The report with run-specific values replaced by placeholders (see
/// [`report::normalize`]).
pub fn normalized(report: &Report, canaries: &[Canary]) -> Value {
    let values: Vec<String> = canaries.iter().map(|c| c.value.clone()).collect();
    report::normalize::normalized(report, &values)
}

/// Writes `value` to `path` atomically.
pub fn write_atomic(path: &Path, value: &Value) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other("report path has no directory"))?;
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".report.json.tmp-{}", std::process::id()));
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)
}
