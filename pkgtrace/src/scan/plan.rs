//! Which items a scan runs: its shard's slice, less what is already
//! stored with the same rule pack and pkgtrace version (unless `--rescan`),
//! or only the recorded failures (`--retry-failed`).
//!
//! "Stored" is read from the version's `meta.json` in the repository (the
//! files are the truth; the index is derived). An item whose version is not
//! known before it runs (a purl without a version: the latest) is always
//! run.

use std::path::Path;

use super::inputs::{shard_of, Item};
use results::failures;
use results::{Meta, Repo};

pub struct Plan {
    pub run: Vec<Item>,
    /// In the shard, not run: already stored (or, with `--retry-failed`, not failed).
    pub skipped: usize,
    /// In the shard.
    pub total: usize,
}

pub struct Choice<'a> {
    pub shard: Option<(u64, u64)>,
    pub rescan: bool,
    pub retry_failed: bool,
    pub rule_pack: &'a str,
}

pub fn plan(items: Vec<Item>, repo: &Repo, c: &Choice<'_>) -> Plan {
    let mine: Vec<Item> = match c.shard {
        Some((i, n)) => items.into_iter().filter(|it| shard_of(&it.key, n) == i).collect(),
        None => items,
    };
    let total = mine.len();
    let failed = failures::load(&failures::path(repo));
    let run: Vec<Item> = mine
        .into_iter()
        .filter(|it| {
            if c.retry_failed {
                failed.contains_key(&it.input)
            } else {
                c.rescan || !is_stored(repo.root(), it, c.rule_pack)
            }
        })
        .collect();
    Plan { skipped: total - run.len(), run, total }
}

/// Stored by this pkgtrace with this rule pack.
fn is_stored(root: &Path, item: &Item, rule_pack: &str) -> bool {
    let Some(dir) = &item.dir else { return false };
    let Ok(text) = std::fs::read(root.join(dir).join(results::store::META)) else { return false };
    let Ok(meta) = serde_json::from_slice::<Meta>(&text) else { return false };
    meta.rule_pack == rule_pack && meta.pkgtrace_version == env!("CARGO_PKG_VERSION")
}
