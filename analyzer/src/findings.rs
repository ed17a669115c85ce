//! Findings: what the rules flagged, de-duplicated per (rule, subject) with
//! a count and the first evidence. Suppressed findings are kept, labelled.

use std::collections::HashMap;

use crate::rules::{Rule, Verdict};
pub use report::{Evidence, Finding};

/// Findings of one phase, in first-seen order until sorted.
#[derive(Debug, Default)]
pub struct Findings {
    list: Vec<Finding>,
    index: HashMap<(usize, String), usize>,
}

impl Findings {
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        rule_idx: usize,
        rule: &Rule,
        phase: &str,
        subject: String,
        pid: i32,
        process: String,
        package: Option<String>,
        evidence: Evidence,
        verdict: Verdict<'_>,
    ) {
        let suppressed_by = match verdict {
            Verdict::Suppressed(reason) => Some(reason.to_string()),
            _ => None,
        };
        if let Some(&i) = self.index.get(&(rule_idx, subject.clone())) {
            let f = &mut self.list[i];
            f.count += 1;
            // One unsuppressed occurrence makes the finding active, and a
            // successful occurrence is better evidence than a failed attempt
            // (a PATH search fails on every directory before the real exec).
            let better = f.evidence.result.as_deref() != Some("ok") && evidence.result.as_deref() == Some("ok");
            if suppressed_by.is_none() && (f.suppressed_by.is_some() || better) {
                f.suppressed_by = None;
                f.pid = pid;
                f.process = process;
                f.package = package;
                f.evidence = evidence;
            }
            return;
        }
        self.index.insert((rule_idx, subject.clone()), self.list.len());
        self.list.push(Finding {
            rule: rule.id.clone(),
            severity: rule.severity_in(phase),
            message: format!("{}: {subject}", rule.summary),
            subject,
            pid,
            process,
            package,
            evidence,
            count: 1,
            tags: rule.tags.clone(),
            suppressed_by,
            baseline: false,
        });
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Findings first seen after the first `n`.
    pub fn since(&self, n: usize) -> &[Finding] {
        &self.list[n.min(self.list.len())..]
    }

    /// Most severe first, then by rule and subject: stable across runs.
    /// `adjust` may lower a finding's severity first (see
    /// `Rule::severity_if_nothing_sent`).
    pub fn into_sorted(self, mut adjust: impl FnMut(&mut Finding)) -> Vec<Finding> {
        let mut v = self.list;
        v.iter_mut().for_each(&mut adjust);
        v.sort_by(|a, b| {
            b.severity.cmp(&a.severity).then_with(|| a.rule.cmp(&b.rule)).then_with(|| a.subject.cmp(&b.subject))
        });
        v
    }
}
