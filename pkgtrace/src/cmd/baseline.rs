//! `pkgtrace baseline` (hidden): makes an ecosystem's control baselines in
//! the cache, for `pkgtrace scan` to run once before its jobs.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::shared::load_pack;
use crate::exit::Exit;

#[derive(Args)]
pub struct BaselineArgs {
    #[arg(long)]
    ecosystem: String,
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
}

pub fn baseline(args: BaselineArgs) -> Result<i32> {
    let pack = load_pack(args.rules.as_deref())?;
    let eco: package::Ecosystem = args.ecosystem.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    // An empty package: it never takes long; the 300 s are a backstop.
    let opts = crate::run::RunOptions {
        ecosystem: Some(eco),
        ..crate::run::RunOptions::with_defaults(args.cache.unwrap_or_else(crate::run::driver::default_cache))
    };
    crate::run::driver::prepare_baselines(eco, &pack, &opts)?;
    Ok(Exit::Clean.code())
}
