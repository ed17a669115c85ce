//! `pkgtrace index --rebuild`: the results repository's index recreated
//! from its reports alone.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::exit::Exit;
use event::terminal::esc;

#[derive(Args)]
pub struct IndexArgs {
    /// The results repository.
    #[arg(long, value_name = "DIR", default_value = "pkgtrace-results")]
    results: PathBuf,
    /// Recreate `.pkgtrace/index.sqlite` from the stored reports.
    #[arg(long, required = true)]
    rebuild: bool,
}

pub fn index(args: IndexArgs) -> Result<i32> {
    let repo = results::Repo::open(&args.results)?;
    let rebuilt = results::rebuild_index(&repo)?;
    for w in &rebuilt.warnings {
        eprintln!("pkgtrace: {}", esc(w));
    }
    eprintln!("pkgtrace: indexed {} stored versions in {}", rebuilt.versions, repo.index_path().display());
    Ok(Exit::Clean.code())
}
