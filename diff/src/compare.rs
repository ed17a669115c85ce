//! The comparison: two reports, phase by phase, into [`Change`]s ordered
//! most severe first.

use std::collections::BTreeMap;

use serde::Serialize;

use report::{Finding, PhaseReport, PhaseStatus, Report, Severity};

use crate::behaviour::{self, Items};
use crate::normalize::Normalizer;

/// What a change is about. The order is the order of importance among
/// behaviours (findings are ordered by their severity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A rule's finding.
    Finding,
    /// A planted canary seen leaving the sandbox.
    Leak,
    /// How the phase ended (completed, failed, timeout, error).
    Status,
    /// A credential or secret file read or written.
    Credential,
    /// A lifecycle or build script (`sh -c` of an npm script, a cargo build script, setup.py).
    Script,
    /// A file the phase wrote and then ran.
    Executable,
    /// Processes still running at the end (killed by pkgtrace).
    LeftBehind,
    /// A DNS name looked up.
    Dns,
    /// A host and port contacted, or what a sink received.
    Network,
    /// A command run.
    Command,
    /// Another file outside the package read, written, deleted or chmodded.
    File,
    /// A count that jumped (processes started, files written).
    Count,
}

impl Kind {
    /// How much a change of this kind weighs when ordering (findings: by severity).
    fn weight(self) -> u8 {
        match self {
            Kind::Finding => 0,
            Kind::Leak => 44,
            Kind::Status => 38,
            Kind::Credential => 36,
            Kind::Script => 34,
            Kind::Executable => 33,
            Kind::LeftBehind => 32,
            Kind::Dns => 30,
            Kind::Network => 29,
            Kind::Command => 20,
            Kind::File => 12,
            Kind::Count => 10,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Finding => "finding",
            Kind::Leak => "leak",
            Kind::Status => "status",
            Kind::Credential => "credential",
            Kind::Script => "script",
            Kind::Executable => "executable",
            Kind::LeftBehind => "left-behind",
            Kind::Dns => "dns",
            Kind::Network => "network",
            Kind::Command => "command",
            Kind::File => "file",
            Kind::Count => "count",
        }
    }
}

/// Appeared, disappeared, or changed (a finding's severity, a status, a count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sign {
    Added,
    Changed,
    Removed,
}

/// One difference between the old and the new version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub sign: Sign,
    pub kind: Kind,
    /// What it is, as the report (of the new version; of the old for a removal) says it.
    pub text: String,
    /// A finding's severity (the new one when it changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// What it was before, for a change (`medium`, `completed`, `4`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was: Option<String>,
    /// The finding itself (the new version's; the old one's for a removal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<Finding>,
    /// This is news: something new, something worse (a raised severity, a
    /// phase that now times out, a count that jumped).
    pub news: bool,
}

impl Change {
    fn weight(&self) -> u8 {
        match (self.kind, self.severity) {
            (Kind::Finding, Some(s)) => 5 + 10 * s as u8,
            (k, _) => k.weight(),
        }
    }

    /// A new finding, or one whose severity went up: what `--fail-on` judges.
    pub fn new_finding(&self) -> Option<&Finding> {
        (self.kind == Kind::Finding && self.news).then_some(self.finding.as_ref()).flatten()
    }
}

/// The changes of one phase, most severe first.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseDiff {
    pub phase: String,
    pub changes: Vec<Change>,
}

/// What changed between two versions of a package.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    /// The old version (a purl, or a file path); `None`: nothing (a new dependency).
    pub old: Option<String>,
    pub new: String,
    /// Phases with at least one change.
    pub phases: Vec<PhaseDiff>,
}

impl Diff {
    pub fn changes(&self) -> impl Iterator<Item = (&str, &Change)> {
        self.phases.iter().flat_map(|p| p.changes.iter().map(move |c| (p.phase.as_str(), c)))
    }

    pub fn is_empty(&self) -> bool {
        self.phases.is_empty()
    }

    pub fn summary(&self) -> crate::Summary {
        let mut s = crate::Summary::default();
        s.add(self);
        s
    }
}

/// A report as it is stored ([`report::normalize`]: `$HOME`, `$PKG`,
/// `$TMP`, renumbered pids), so that a report straight from `run --format
/// json` compares with a stored one. A report that is stored already is
/// returned as is.
pub fn prepare(report: Report) -> Result<Report, serde_json::Error> {
    if report.phases.iter().all(|p| p.sandbox.is_none()) {
        return Ok(report);
    }
    serde_json::from_value(report::normalize::normalized(&report, &[]))
}

/// Compares `old` (None: a package that was not there) with `new`; the
/// labels name the two sides in the output.
pub fn diff(old_label: &str, old: Option<&Report>, new_label: &str, new: &Report) -> Diff {
    let n_old = Normalizer::new(old.and_then(|r| r.package.as_ref()).map(|p| p.version.as_str()));
    let n_new = Normalizer::new(new.package.as_ref().map(|p| p.version.as_str()));
    let mut names: Vec<&str> = new.phases.iter().map(|p| p.name.as_str()).collect();
    for p in old.iter().flat_map(|r| &r.phases) {
        if !names.contains(&p.name.as_str()) {
            names.push(&p.name);
        }
    }
    let empty = Report {
        schema_version: report::SCHEMA_VERSION,
        package: None,
        canaries_leaked: vec![],
        phases: vec![],
        stats: Default::default(),
    };
    let old_report = old.unwrap_or(&empty);
    let mut phases = Vec::new();
    for name in names {
        let a = old_report.phases.iter().find(|p| p.name == name);
        let b = new.phases.iter().find(|p| p.name == name);
        let mut changes = compare_phase(old_report, a, &n_old, new, b, &n_new);
        changes.sort_by(|x, y| {
            y.weight().cmp(&x.weight()).then(x.sign.cmp(&y.sign)).then(x.kind.cmp(&y.kind)).then(x.text.cmp(&y.text))
        });
        if !changes.is_empty() {
            phases.push(PhaseDiff { phase: name.to_string(), changes });
        }
    }
    Diff { old: old.map(|_| old_label.to_string()), new: new_label.to_string(), phases }
}

fn compare_phase(
    old_report: &Report,
    old: Option<&PhaseReport>,
    n_old: &Normalizer,
    new_report: &Report,
    new: Option<&PhaseReport>,
    n_new: &Normalizer,
) -> Vec<Change> {
    let mut out = Vec::new();
    // Findings, keyed by rule and normalised subject.
    let findings = |p: Option<&PhaseReport>, n: &Normalizer| -> BTreeMap<(String, String), Finding> {
        let mut m = BTreeMap::new();
        for f in p.iter().flat_map(|p| &p.findings).filter(|f| f.is_active()) {
            m.entry((f.rule.clone(), n.text(&f.subject))).or_insert_with(|| f.clone());
        }
        m
    };
    let (fa, fb) = (findings(old, n_old), findings(new, n_new));
    for (key, f) in &fb {
        match fa.get(key) {
            None => out.push(finding_change(Sign::Added, f, None, true)),
            Some(was) if was.severity != f.severity => {
                out.push(finding_change(Sign::Changed, f, Some(was.severity.to_string()), f.severity > was.severity))
            }
            Some(_) => {}
        }
    }
    for (key, f) in &fa {
        if !fb.contains_key(key) {
            out.push(finding_change(Sign::Removed, f, None, false));
        }
    }

    // Status: completed → timeout is news.
    let status = |p: Option<&PhaseReport>| p.and_then(|p| p.status);
    if let (Some(a), Some(b)) = (status(old), status(new)) {
        if a != b {
            out.push(Change {
                sign: Sign::Changed,
                kind: Kind::Status,
                text: format!("status {a} → {b}"),
                severity: None,
                was: Some(a.to_string()),
                finding: None,
                news: b != PhaseStatus::Completed,
            });
        }
    }

    // Behaviour.
    let ia: Items = old.map(|p| behaviour::items(old_report, p, n_old)).unwrap_or_default();
    let ib: Items = new.map(|p| behaviour::items(new_report, p, n_new)).unwrap_or_default();
    for (key, text) in &ib {
        if !ia.contains_key(key) {
            out.push(behaviour_change(Sign::Added, key.0, text));
        }
    }
    for (key, text) in &ia {
        if !ib.contains_key(key) {
            out.push(behaviour_change(Sign::Removed, key.0, text));
        }
    }

    // Counts that jumped.
    if let (Some(a), Some(b)) = (old, new) {
        for ((what, x), (_, y)) in behaviour::counts(a).into_iter().zip(behaviour::counts(b)) {
            if behaviour::jumped(x, y) {
                out.push(Change {
                    sign: Sign::Changed,
                    kind: Kind::Count,
                    text: format!("{what}: {x} → {y}"),
                    severity: None,
                    was: Some(x.to_string()),
                    finding: None,
                    news: true,
                });
            }
        }
    }
    out
}

fn finding_change(sign: Sign, f: &Finding, was: Option<String>, news: bool) -> Change {
    Change {
        sign,
        kind: Kind::Finding,
        text: format!("{} {}: {}", f.severity, f.rule, f.subject),
        severity: Some(f.severity),
        was,
        finding: Some(f.clone()),
        news,
    }
}

fn behaviour_change(sign: Sign, kind: Kind, text: &str) -> Change {
    Change { sign, kind, text: text.to_string(), severity: None, was: None, finding: None, news: sign == Sign::Added }
}
