//! Joining shard repositories (`pkgtrace scan --shard I/N`, each writing its
//! own) into one: `git fetch` of each shard's HEAD and `git merge
//! --allow-unrelated-histories`, so every shard's commits stay in the
//! history (`git log -- npm/left-pad` still shows when each version was
//! stored). Shards store disjoint package versions, so their paths never
//! collide; the one file they share, `.gitignore`, is the same in each and
//! merges cleanly. A merge that does conflict (the same version stored in
//! two shards, with different reports) is aborted and named, leaving the
//! destination as it was. The index is rebuilt from the merged reports and
//! the shards' failure records are joined.

use std::path::Path;

use anyhow::{bail, Context as _, Result};

use crate::failures;
use crate::repo::Repo;

/// What a merge did.
pub struct Merged {
    /// Shards merged (a shard with nothing new is counted too).
    pub shards: usize,
    /// Stored versions in the destination afterwards.
    pub versions: usize,
}

/// Merges each repository of `shards` into `dest` (created when missing).
pub fn merge(dest: &Path, shards: &[&Path]) -> Result<Merged> {
    let repo = Repo::open_or_init(dest)?;
    let lock = repo.lock()?;
    for shard in shards {
        let shard_repo = Repo::open(shard)?;
        let source = std::fs::canonicalize(shard).with_context(|| format!("failed to read {}", shard.display()))?;
        let source = source.to_string_lossy();
        repo.git(&["fetch", "-q", "--no-tags", &source, "HEAD"])
            .with_context(|| format!("failed to fetch {}", shard.display()))?;
        let message = format!("pkgtrace merge {}", shard.display());
        let merged =
            repo.git(&["merge", "-q", "--no-edit", "--allow-unrelated-histories", "-m", &message, "FETCH_HEAD"]);
        if let Err(e) = merged {
            let _ = repo.git(&["merge", "--abort"]);
            bail!("failed to merge {} (the same version stored differently in two shards?): {e:#}", shard.display());
        }
        // The shard's failures, unless this merge brought a complete report of them.
        let mut theirs: Vec<failures::Failure> = failures::load(&failures::path(&shard_repo)).into_values().collect();
        theirs.sort_by(|a, b| a.input.cmp(&b.input));
        for f in theirs {
            failures::record(&repo, &lock, &f)?;
        }
    }
    let head = repo.head()?;
    let rebuilt = crate::index::rebuild(repo.root(), &repo.index_path(), Some(&head))?;
    for w in &rebuilt.warnings {
        tracing::warn!("{w}");
    }
    Ok(Merged { shards: shards.len(), versions: rebuilt.versions })
}
