//! The **results repository**: where `pkgtrace run` stores what it found,
//! and what `query`, `reanalyze` and `index` work on.
//!
//! A plain git repository ([`repo::Repo`], driven through the git command
//! line: see [`repo`] for why) with one directory per package version,
//! `<ecosystem>/<name>/<version>/`, holding the normalised `report.json`,
//! the phases' event streams `events.jsonl.zst` and `meta.json` (what
//! produced it: [`store::Meta`]). Each store is one commit
//! (`npm/left-pad@1.3.0: 2 findings, max high`), so `git log --
//! npm/left-pad` is that package's history. A SQLite index
//! (`.pkgtrace/index.sqlite`, [`index`], derived and git-ignored) answers
//! [`query`]s; [`reanalyze`] recomputes reports from the stored streams
//! with another rule pack.
//!
//! ```no_run
//! let repo = results::Repo::open("pkgtrace-results".as_ref()).unwrap();
//! let f = results::Filters { phase: Some("start".into()), dns: Some("*".into()), ..Default::default() };
//! let answer = results::query::run(&repo.index_path(), &f).unwrap();
//! print!("{}", answer.to_text());
//! ```

pub mod failures;
pub mod identity;
pub mod index;
pub mod merge;
pub mod pack;
pub mod query;
pub mod reanalyze;
pub mod repo;
pub mod store;

pub use identity::RunIdentity;
pub use pack::pack_hash;
pub use query::{Filters, Table};
pub use repo::Repo;
pub use store::{Meta, Run};

use std::path::Path;

use anyhow::Result;

/// What a store did: where, and a warning when the index could not follow.
pub struct Stored {
    /// The version's directory.
    pub dir: std::path::PathBuf,
    pub message: String,
    pub index_warning: Option<String>,
}

/// Stores a run in the repository at `root` (created on first use): its
/// files, one commit, the index updated.
pub fn store_run(root: &Path, run: &Run<'_>) -> Result<Stored> {
    let repo = Repo::open_or_init(root)?;
    let (dir, files) = store::files(run)?;
    let report: serde_json::Value = serde_json::from_slice(&files[0].1)?;
    let message = store::commit_message(&report);
    let lock = repo.lock()?;
    let before = repo.head().ok();
    repo.store(&lock, &files, &message)?;
    // The report is committed; an index that cannot follow is a warning.
    let meta: Option<Meta> = serde_json::from_slice(&files[2].1).ok();
    let head = repo.head()?;
    let index_warning = update_index(&repo, before.as_deref(), &head, |ix| ix.put(&dir, &report, meta.as_ref()))
        .err()
        .map(|e| format!("the index was not updated ({e:#}); `pkgtrace index --rebuild` recreates it"));
    Ok(Stored { dir: root.join(&dir), message, index_warning })
}

/// Applies `change` to the index when it reflected `before`; else (missing,
/// or behind: reports were pulled or merged) rebuilds it from the reports.
/// Either way it then reflects `head`. Call with the lock held.
pub fn update_index(
    repo: &Repo,
    before: Option<&str>,
    head: &str,
    change: impl FnOnce(&mut index::Index) -> Result<()>,
) -> Result<()> {
    let path = repo.index_path();
    if path.exists() && before.is_some() && index::head_of(&path).as_deref() == before {
        let mut ix = index::Index::open(&path)?;
        change(&mut ix)?;
        ix.set_head(head)?;
    } else {
        for w in index::rebuild(repo.root(), &path, Some(head))?.warnings {
            tracing::warn!("{w}");
        }
    }
    Ok(())
}

/// Rebuilds the index of `repo` from its reports, under the lock.
pub fn rebuild_index(repo: &Repo) -> Result<index::Rebuilt> {
    let _lock = repo.lock()?;
    let head = repo.head().ok();
    index::rebuild(repo.root(), &repo.index_path(), head.as_deref())
}
