//! `pkgtrace baseline` (hidden): makes an ecosystem's control baselines in
//! the cache, for `pkgtrace scan` to run once before its jobs.

use std::path::PathBuf;
use std::time::Duration;

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
    let opts = crate::run::RunOptions {
        phases: vec!["install".into(), "start".into()],
        // An empty package: it never takes long; this is a backstop.
        timeout: Duration::from_secs(300),
        ecosystem: Some(eco),
        sdist: false,
        cache: args.cache.unwrap_or_else(crate::run::driver::default_cache),
        results: None,
        rule_pack_hash: String::new(),
        baseline: true,
        keep: false,
        events: None,
        untraced: false,
        all_cpus: false,
        memory: 4096 << 20,
        disk: 2 << 30,
        pids: 1024,
    };
    crate::run::driver::prepare_baselines(eco, &pack, &opts)?;
    Ok(Exit::Clean.code())
}
