//! `pkgtrace reanalyze`: stored reports recomputed from their stored event
//! streams with the built-in or a given rule pack (the `results` crate's
//! [`results::reanalyze`]); prints what changed per package.

use std::io::{self, Write as _};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::shared::load_pack;
use crate::exit::Exit;
use event::terminal::esc;

#[derive(Args)]
pub struct ReanalyzeArgs {
    /// The results repository.
    #[arg(long, value_name = "DIR", default_value = "pkgtrace-results")]
    results: PathBuf,
    /// Use the rules in DIR instead of the built-in pack.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Only these (`pkg:npm/left-pad@1.3.0`; no version: all of the
    /// package's). Default: everything stored.
    #[arg(value_name = "PURL")]
    packages: Vec<String>,
}

pub fn reanalyze(args: ReanalyzeArgs) -> Result<i32> {
    let pack = load_pack(args.rules.as_deref())?;
    let hash = results::pack_hash(args.rules.as_deref())?;
    let repo = results::Repo::open(&args.results)?;
    let r = results::reanalyze::reanalyze(&repo, &pack, &hash, &args.packages)?;
    for w in &r.warnings {
        eprintln!("pkgtrace: {}", esc(w));
    }
    let mut out = io::stdout().lock();
    for c in &r.changes {
        writeln!(out, "{}", esc(&c.package))?;
        for f in &c.appeared {
            writeln!(out, "  + {}", esc(f))?;
        }
        for f in &c.disappeared {
            writeln!(out, "  - {}", esc(f))?;
        }
    }
    out.flush()?;
    let secs = r.elapsed.as_secs_f64();
    eprintln!(
        "pkgtrace: reanalyzed {} stored versions in {secs:.2} s ({:.1}/s); {} with changed findings{}",
        r.versions,
        r.versions as f64 / secs.max(1e-9),
        r.changes.len(),
        r.committed.as_deref().map(|c| format!("; commit {}", &c[..c.len().min(12)])).unwrap_or_default()
    );
    Ok(if r.warnings.is_empty() { Exit::Clean } else { Exit::Usage }.code())
}
