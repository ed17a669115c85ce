//! Writing a run's report into the results directory: one report per
//! package version at `<ecosystem>/<name>/<version>/report.json`, written
//! atomically (temp file, then rename), so a killed run never leaves half a
//! report. What differs between two runs of the same package — pids, the
//! canary values unique to each run, the count of ptrace stops, event
//! sequence numbers — is
//! replaced by placeholders, so the stored reports of two runs are equal
//! when the behaviour is.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::canaries::Canary;
use crate::report::Report;

/// Where the report of a package version goes.
pub fn report_path(results: &Path, ecosystem: &str, name: &str, version: &str) -> PathBuf {
    results.join(ecosystem).join(name).join(version).join("report.json")
}

/// The report with run-specific values replaced by placeholders.
pub fn normalized(report: &Report, canaries: &[Canary]) -> Value {
    let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
    let mut replacements: Vec<(String, String)> = Vec::new();
    for c in canaries {
        let kind = c.value.split('-').nth(1).unwrap_or("x").to_ascii_uppercase();
        let placeholder = format!("$CANARY_{kind}");
        let hex: String = c.value.bytes().map(|b| format!("{b:02x}")).collect();
        replacements.push((c.value.clone(), placeholder.clone()));
        replacements.push((c.value.to_ascii_lowercase(), placeholder.clone()));
        replacements.push((hex, format!("{placeholder}_HEX")));
    }
    let mut pids = HashMap::new();
    walk(&mut v, &replacements, &mut pids);
    v
}

fn walk(v: &mut Value, rep: &[(String, String)], pids: &mut HashMap<i64, i64>) {
    match v {
        Value::String(s) => {
            for (from, to) in rep {
                if s.contains(from.as_str()) {
                    *s = s.replace(from.as_str(), to);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, rep, pids)),
        Value::Object(map) => {
            map.remove("stops");
            map.remove("wall_ms");
            map.remove("setup_ms");
            map.remove("seq");
            for (k, x) in map.iter_mut() {
                if matches!(k.as_str(), "pid" | "parent") {
                    if let Some(n) = x.as_i64() {
                        let next = pids.len() as i64 + 1;
                        *x = Value::from(*pids.entry(n).or_insert(next));
                        continue;
                    }
                }
                walk(x, rep, pids);
            }
        }
        _ => {}
    }
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
