//! One rule: its TOML form ([`RuleFile`]) and its compiled form ([`Rule`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::fact::Fact;
use super::lists::Lists;
use super::matcher::Conds;
use report::Severity;

/// The fact kinds a rule may name in `event`.
pub const FACT_KINDS: &[&str] = &[
    "open", "probe", "exec", "unlink", "rename", "mkdir", "chmod", "link", "connect", "bind", "listen", "send", "dns",
    "dup", "ptrace", "kill", "denied", "other", "request",
];

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A rule file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub id: String,
    pub severity: Severity,
    pub summary: String,
    pub why: String,
    pub event: OneOrMany,
    #[serde(default)]
    pub phases: Option<Vec<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub severity_by_phase: BTreeMap<String, Severity>,
    /// The severity when, in the whole phase, package code sent nothing
    /// off the machine (no connection, datagram, DNS query or request):
    /// a credential read that went nowhere is less than one that left.
    #[serde(default)]
    pub severity_if_nothing_sent: Option<Severity>,
    #[serde(default, rename = "match")]
    pub matcher: toml::Table,
    #[serde(default)]
    pub unless: Vec<toml::Table>,
    #[serde(default)]
    pub test: Vec<TestCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub event: toml::Table,
    pub expect: Expect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Match,
    NoMatch,
}

/// A compiled `[[unless]]` block.
#[derive(Debug)]
pub struct Unless {
    pub conds: Conds,
    pub reason: String,
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub summary: String,
    pub why: String,
    pub events: Vec<String>,
    pub phases: Option<Vec<String>>,
    pub tags: Vec<String>,
    pub severity_by_phase: BTreeMap<String, Severity>,
    pub severity_if_nothing_sent: Option<Severity>,
    pub conds: Conds,
    pub unless: Vec<Unless>,
    pub tests: Vec<TestCase>,
    /// Where the rule came from, for messages.
    pub file: String,
}

/// The outcome of trying a rule on a fact.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    NoMatch,
    Fires,
    /// It matches, but an `[[unless]]` block holds: kept, labelled.
    Suppressed(&'a str),
}

impl Rule {
    pub fn compile(file: &str, text: &str, lists: &Lists) -> Result<Rule, String> {
        let raw: RuleFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let events = match raw.event {
            OneOrMany::One(e) => vec![e],
            OneOrMany::Many(v) => v,
        };
        for e in &events {
            if !FACT_KINDS.contains(&e.as_str()) {
                return Err(format!("unknown event kind {e:?} (one of {})", FACT_KINDS.join(", ")));
            }
        }
        let stem = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".toml");
        if stem != raw.id {
            return Err(format!("id {:?} does not match the file name {stem:?}", raw.id));
        }
        let conds = Conds::compile(&raw.matcher, lists, &[])?;
        let mut unless = Vec::new();
        for (i, table) in raw.unless.iter().enumerate() {
            let reason = table
                .get("reason")
                .and_then(|r| r.as_str())
                .ok_or_else(|| format!("unless block {} has no reason", i + 1))?
                .to_string();
            let conds =
                Conds::compile(table, lists, &["reason"]).map_err(|e| format!("unless block {}: {e}", i + 1))?;
            unless.push(Unless { conds, reason });
        }
        Ok(Rule {
            id: raw.id,
            severity: raw.severity,
            summary: raw.summary,
            why: raw.why,
            events,
            phases: raw.phases,
            tags: raw.tags,
            severity_by_phase: raw.severity_by_phase,
            severity_if_nothing_sent: raw.severity_if_nothing_sent,
            conds,
            unless,
            tests: raw.test,
            file: file.to_string(),
        })
    }

    /// Compiles the rule's glob sets and regexes now instead of when a
    /// fact first reaches them.
    pub fn force(&self) -> Result<(), String> {
        self.conds.force()?;
        for (i, u) in self.unless.iter().enumerate() {
            u.conds.force().map_err(|e| format!("unless block {}: {e}", i + 1))?;
        }
        Ok(())
    }

    /// The severity in a phase.
    pub fn severity_in(&self, phase: &str) -> Severity {
        self.severity_by_phase.get(phase).copied().unwrap_or(self.severity)
    }

    pub fn evaluate(&self, f: &Fact) -> Verdict<'_> {
        if !self.events.iter().any(|e| e == f.kind) {
            return Verdict::NoMatch;
        }
        if let Some(phases) = &self.phases {
            if !phases.contains(&f.phase) {
                return Verdict::NoMatch;
            }
        }
        if !self.conds.holds(f) {
            return Verdict::NoMatch;
        }
        match self.unless.iter().find(|u| u.conds.holds(f)) {
            Some(u) => Verdict::Suppressed(&u.reason),
            None => Verdict::Fires,
        }
    }
}
