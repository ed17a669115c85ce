//! `pkgtrace merge`: joins shard repositories into one ([`results::merge`]).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::exit::Exit;

#[derive(Args)]
pub struct MergeArgs {
    /// The shard repositories (each written by `pkgtrace scan --shard I/N`).
    #[arg(value_name = "REPO", required = true)]
    shards: Vec<PathBuf>,
    /// The repository they are merged into (created when missing).
    #[arg(long, value_name = "DIR", default_value = "pkgtrace-results")]
    results: PathBuf,
}

pub fn merge(args: MergeArgs) -> Result<i32> {
    let shards: Vec<&std::path::Path> = args.shards.iter().map(PathBuf::as_path).collect();
    let merged = results::merge::merge(&args.results, &shards)?;
    eprintln!(
        "pkgtrace: merged {} shard{} into {}: {} stored versions",
        merged.shards,
        if merged.shards == 1 { "" } else { "s" },
        args.results.display(),
        merged.versions
    );
    Ok(Exit::Clean.code())
}
