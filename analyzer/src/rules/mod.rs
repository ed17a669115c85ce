//! The rule engine: rules are data (TOML, one per file; see
//! rules/README.md), matched against [`Fact`]s. Every matching rule fires.

pub mod fact;
pub mod lists;
pub mod matcher;
pub mod pack;
pub mod rule;
pub mod selftest;

pub use fact::Fact;

/// The rule table of the README: category, id, severity (with per-phase
/// changes), summary.
pub fn markdown_table(pack: &RulePack) -> String {
    let mut rules: Vec<&Rule> = pack.rules.iter().collect();
    let category = |r: &Rule| r.file.split('/').next().unwrap_or("").to_string();
    rules.sort_by_key(|r| (category(r), std::cmp::Reverse(r.severity), r.id.clone()));
    let mut out = String::from("| category | rule | severity | flags |\n|---|---|---|---|\n");
    for r in rules {
        let mut sev = r.severity.to_string();
        for (phase, s) in &r.severity_by_phase {
            sev.push_str(&format!(" ({s} in {phase})"));
        }
        out.push_str(&format!("| {} | `{}` | {} | {} |\n", category(r), r.id, sev, r.summary.replace('|', "\\|")));
    }
    out
}
pub use pack::RulePack;
pub use rule::{Rule, Verdict};
