//! The scanner's record of packages that did not end in a complete stored
//! report: `.pkgtrace/failures.jsonl`, one [`Failure`] per line, appended
//! under the repository's lock; the last line of a purl wins, and a line
//! with `reason: null` clears it (the package was later stored complete).
//!
//! It is git-ignored, not committed: a failure says what happened on this
//! machine's attempt (a registry outage, a sandbox the machine could not
//! give, a timeout on a busy host), not what the package does, and a
//! repository others clone should hold only reports. `pkgtrace merge` joins
//! the shards' records; `pkgtrace scan --retry-failed` reads it.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::repo::{Lock, Repo, STATE_DIR};

/// One package's last attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// What the scan was given (a purl, or a local path).
    pub input: String,
    /// `fetch`, `install failed`, `timeout`, `sandbox`, `crashed`; None: cleared.
    pub reason: Option<String>,
    /// The child's last error line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Whether a (partial) report was stored for it.
    #[serde(default)]
    pub stored: bool,
    /// When (RFC 3339).
    pub at: String,
}

pub fn path(repo: &Repo) -> PathBuf {
    repo.root().join(STATE_DIR).join("failures.jsonl")
}

/// Appends `f` (call with the lock held).
pub fn record(repo: &Repo, _lock: &Lock, f: &Failure) -> Result<()> {
    let path = path(repo);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    // One write per line: a line is appended whole or not at all.
    let mut line = serde_json::to_vec(f)?;
    line.push(b'\n');
    file.write_all(&line).with_context(|| format!("failed to write {}", path.display()))
}

/// The current failures by input (cleared ones left out); a line that does
/// not parse (cut by a full disk) is skipped.
pub fn load(path: &Path) -> BTreeMap<String, Failure> {
    let mut out = BTreeMap::new();
    for line in fs::read_to_string(path).unwrap_or_default().lines() {
        if let Ok(f) = serde_json::from_str::<Failure>(line) {
            if f.reason.is_some() {
                out.insert(f.input.clone(), f);
            } else {
                out.remove(&f.input);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_of_an_input_wins() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::open_or_init(dir.path()).unwrap();
        let lock = repo.lock().unwrap();
        let f = |input: &str, reason: Option<&str>| Failure {
            input: input.into(),
            reason: reason.map(String::from),
            detail: String::new(),
            stored: false,
            at: "t".into(),
        };
        record(&repo, &lock, &f("a", Some("fetch"))).unwrap();
        record(&repo, &lock, &f("b", Some("timeout"))).unwrap();
        record(&repo, &lock, &f("a", None)).unwrap();
        fs::OpenOptions::new().append(true).open(path(&repo)).unwrap().write_all(b"{cut").unwrap();
        let now = load(&path(&repo));
        assert_eq!(now.keys().collect::<Vec<_>>(), ["b"]);
    }
}
