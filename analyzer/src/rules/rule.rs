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

/// A rule file's `[[test]]` tables only.
#[derive(Debug, Deserialize)]
struct TestsFile {
    #[serde(default)]
    test: Vec<TestCase>,
}

/// A rule's test cases, parsed when first asked for: they are more than
/// half of the default pack's text, and parsing them took a third of every
/// start-up, while only `pkgtrace rules test` runs them.
#[derive(Debug, Default)]
pub struct Tests {
    /// The `[[test]]` tables, as written (None: the rule has none, or they
    /// were parsed with the rule).
    text: Option<String>,
    parsed: std::sync::OnceLock<Result<Vec<TestCase>, String>>,
}

impl Tests {
    fn parsed(cases: Vec<TestCase>) -> Tests {
        Tests { text: None, parsed: std::sync::OnceLock::from(Ok(cases)) }
    }
    /// The test cases, or why they do not parse.
    pub fn get(&self) -> Result<&[TestCase], &str> {
        self.parsed
            .get_or_init(|| match &self.text {
                Some(t) => toml::from_str::<TestsFile>(t).map(|f| f.test).map_err(|e| format!("[[test]]: {e}")),
                None => Ok(Vec::new()),
            })
            .as_deref()
            .map_err(String::as_str)
    }
}

/// A rule file cut before its first `[[test]]` table, when only `[[test]]`
/// tables follow it: (the rule, its tests). Otherwise the whole text and
/// no tests (they are then parsed with the rule).
fn split_tests(text: &str) -> (&str, Option<&str>) {
    let header = |line: &str| {
        let l = line.trim_end();
        l.starts_with('[')
            && l.ends_with(']')
            && l.trim_matches(|c| c == '[' || c == ']').chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    };
    let mut at = 0;
    let mut first = None;
    for line in text.split_inclusive('\n') {
        if header(line) {
            match (first, line.trim_end() == "[[test]]") {
                (None, true) => first = Some(at),
                (Some(_), true) | (None, false) => {}
                (Some(_), false) => return (text, None),
            }
        }
        at += line.len();
    }
    match first {
        Some(cut) => (&text[..cut], Some(&text[cut..])),
        None => (text, None),
    }
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
    pub tests: Tests,
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
        let (head, tests) = split_tests(text);
        let (raw, tests): (RuleFile, _) = match toml::from_str(head) {
            Ok(raw) => (raw, tests),
            // Cut somewhere the split did not foresee (a `[[test]]` line
            // inside a multi-line string): the whole file says what is wrong.
            Err(_) if tests.is_some() => (toml::from_str(text).map_err(|e| e.to_string())?, None),
            Err(e) => return Err(e.to_string()),
        };
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
            tests: match tests {
                Some(t) => Tests { text: Some(t.to_string()), ..Tests::default() },
                None => Tests::parsed(raw.test),
            },
            file: file.to_string(),
        })
    }

    /// Compiles the rule's glob sets and regexes, and parses its tests,
    /// now instead of when first needed.
    pub fn force(&self) -> Result<(), String> {
        self.tests.get()?;
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
        self.evaluate_of_its_kind(f)
    }

    /// [`Rule::evaluate`] for a fact of a kind the rule is for (the pack
    /// looks rules up by kind).
    pub fn evaluate_of_its_kind(&self, f: &Fact) -> Verdict<'_> {
        if let Some(phases) = &self.phases {
            if !phases.iter().any(|p| **p == *f.phase) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "id = \"r\"\nseverity = \"low\"\nsummary = \"s\"\nwhy = \"w\"\nevent = \"exec\"\n\n\
                        [match]\nargv_re = 'curl'\n";
    const TESTS: &str = "[[test]]\nevent = { kind = \"exec\", argv = [\"curl\"] }\nexpect = \"match\"\n\
                         [[test]]\nevent = { kind = \"exec\", argv = [\"ls\"] }\nexpect = \"no_match\"\n";

    #[test]
    fn tests_are_cut_off_and_parsed_when_asked_for() {
        let text = format!("{HEAD}{TESTS}");
        assert_eq!(split_tests(&text), (HEAD, Some(TESTS)));
        let rule = Rule::compile("r.toml", &text, &Lists::default()).unwrap();
        assert!(rule.tests.text.is_some(), "not parsed at load");
        let cases = rule.tests.get().unwrap();
        assert_eq!(cases.iter().map(|c| c.expect).collect::<Vec<_>>(), [Expect::Match, Expect::NoMatch]);

        // A table after the tests: the file is parsed whole, as written.
        let text = format!("{HEAD}{TESTS}[[unless]]\nreason = \"x\"\nexe = \"git\"\n");
        assert_eq!(split_tests(&text), (text.as_str(), None));
        let rule = Rule::compile("r.toml", &text, &Lists::default()).unwrap();
        assert_eq!(rule.unless.len(), 1);
        assert_eq!(rule.tests.get().unwrap().len(), 2);

        // A bad test is found when the tests are asked for (`rules test`,
        // and `RulePack::force` for packs loaded from disk).
        let text = format!("{HEAD}[[test]]\nevent = {{ kind = \"exec\" }}\nexpect = \"maybe\"\n");
        let rule = Rule::compile("r.toml", &text, &Lists::default()).unwrap();
        assert!(rule.tests.get().unwrap_err().contains("maybe"));
        assert!(rule.force().is_err());

        // A `[[test]]` line inside a multi-line string: the cut breaks the
        // rule, which is then read whole.
        let text = HEAD.replace("argv_re = 'curl'", "argv_re = \"\"\"\n[[test]]\n\"\"\"") + TESTS;
        assert!(split_tests(&text).1.is_some_and(|t| t.len() > TESTS.len()), "cut inside the string");
        let rule = Rule::compile("r.toml", &text, &Lists::default()).unwrap();
        assert_eq!(rule.tests.get().unwrap().len(), 2);
        assert!(rule.tests.text.is_none(), "parsed with the rule");
    }
}
