//! `pkgtrace query`: questions across the results repository, answered
//! from its index (the `results` crate's [`results::query`]).

use std::io::{self, Write as _};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::exit::Exit;
use report::Severity;

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Args)]
pub struct QueryArgs {
    /// The results repository.
    #[arg(long, value_name = "DIR", default_value = "pkgtrace-results")]
    results: PathBuf,
    /// Active findings of this rule.
    #[arg(long, value_name = "ID")]
    rule: Option<String>,
    /// Active findings at least this severe.
    #[arg(long, value_name = "SEVERITY")]
    severity: Option<Severity>,
    /// DNS queries whose name matches GLOB (`'*'`: any).
    #[arg(long, value_name = "GLOB")]
    dns: Option<String>,
    /// Connections to HOST or IP, optionally to PORT (`[IPv6]:PORT`).
    #[arg(long, value_name = "HOST|IP[:PORT]")]
    connects: Option<String>,
    /// Commands whose argv (joined by spaces) matches GLOB.
    #[arg(long, value_name = "GLOB")]
    exec: Option<String>,
    /// Files outside the package whose path matches GLOB (`$HOME/.ssh/*`).
    #[arg(long, value_name = "GLOB")]
    file: Option<String>,
    /// With --file: only files written (or deleted, chmod-ed).
    #[arg(long, requires = "file")]
    write: bool,
    /// Only this phase (install, start).
    #[arg(long)]
    phase: Option<String>,
    /// Only this ecosystem (npm, pypi, cargo).
    #[arg(long)]
    ecosystem: Option<String>,
    /// Only this package (NAME may be a glob), or one version of it.
    #[arg(long, value_name = "NAME[@VERSION]")]
    package: Option<String>,
    /// Only phases that ended so: completed, failed, timeout, error.
    #[arg(long)]
    status: Option<String>,
    /// A read-only SELECT on the index instead of filters (schema: README).
    #[arg(long, value_name = "SELECT", conflicts_with_all = ["rule", "severity", "dns", "connects", "exec", "file", "phase", "ecosystem", "package", "status"])]
    sql: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub fn query(args: QueryArgs) -> Result<i32> {
    let repo = results::Repo::open(&args.results)?;
    let index = repo.index_path();
    if !index.exists() {
        // Derived: a clone has none until it is built.
        for w in results::rebuild_index(&repo)?.warnings {
            eprintln!("pkgtrace: {}", event::terminal::esc(&w));
        }
    } else if results::index::head_of(&index) != repo.head().ok() {
        eprintln!("pkgtrace: the index is behind the repository's history; `pkgtrace index --rebuild` updates it");
    }
    let table = match &args.sql {
        Some(sql) => results::query::sql(&index, sql)?,
        None => {
            let f = results::Filters {
                rule: args.rule,
                severity: args.severity,
                dns: args.dns,
                connects: args.connects,
                exec: args.exec,
                file: args.file,
                write: args.write,
                phase: args.phase,
                ecosystem: args.ecosystem,
                package: args.package,
                status: args.status,
            };
            results::query::run(&index, &f)?
        }
    };
    let mut out = io::stdout().lock();
    match args.format {
        Format::Table => out.write_all(table.to_text().as_bytes())?,
        Format::Csv => out.write_all(table.to_csv().as_bytes())?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &table.to_json())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(Exit::Clean.code())
}
