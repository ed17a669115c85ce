//! `pkgtrace rules`: the rule pack listed (as text, or as the README's
//! table) or self-tested against each rule's own cases.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};

use super::shared::load_pack;
use crate::exit::Exit;
use analyzer::rules::selftest;

#[derive(Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    action: RulesAction,
    /// Use the rules in DIR instead of the built-in pack.
    #[arg(long, global = true, value_name = "DIR")]
    rules: Option<PathBuf>,
}

#[derive(Subcommand)]
enum RulesAction {
    /// List every rule: id, severity, summary.
    List {
        /// `markdown` prints the table the README carries.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Run every rule's own test cases.
    Test,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Markdown,
}

pub fn rules(args: RulesArgs) -> Result<i32> {
    let pack = load_pack(args.rules.as_deref())?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match args.action {
        RulesAction::List { format: ListFormat::Text } => {
            for r in &pack.rules {
                writeln!(out, "{:<36} {:<8} {}", r.id, r.severity, r.summary)?;
            }
            Ok(Exit::Clean.code())
        }
        RulesAction::List { format: ListFormat::Markdown } => {
            out.write_all(analyzer::rules::markdown_table(&pack).as_bytes())?;
            Ok(Exit::Clean.code())
        }
        RulesAction::Test => {
            let outcome = selftest::run(&pack);
            for f in &outcome.failures {
                if f.case == 0 {
                    writeln!(out, "FAIL {}: {}", f.rule, f.message)?;
                } else {
                    writeln!(out, "FAIL {} test {}: {}", f.rule, f.case, f.message)?;
                }
            }
            writeln!(
                out,
                "{} rules, {} test cases, {} failures",
                outcome.rules,
                outcome.cases,
                outcome.failures.len()
            )?;
            Ok(if outcome.failures.is_empty() { Exit::Clean.code() } else { Exit::Findings.code() })
        }
    }
}
