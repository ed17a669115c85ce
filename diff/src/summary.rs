//! The one-line verdict of one or more diffs: "2 new behaviours, 1 new
//! high finding", or "no behaviour change".

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use report::Severity;

use crate::compare::{Diff, Kind};

/// Counts over one diff, or every diff of a lockfile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Behaviours that are new or worse (a phase that now times out, a count that jumped).
    pub new_behaviours: usize,
    /// Behaviours that are gone (or better).
    pub gone_behaviours: usize,
    /// New findings (or raised severities), per severity.
    pub new_findings: BTreeMap<Severity, usize>,
    /// Findings that are gone (or were lowered).
    pub gone_findings: usize,
}

impl Summary {
    pub fn add(&mut self, d: &Diff) {
        for (_, c) in d.changes() {
            match (c.kind == Kind::Finding, c.news) {
                (true, true) => *self.new_findings.entry(c.severity.unwrap_or(Severity::Info)).or_default() += 1,
                (true, false) => self.gone_findings += 1,
                (false, true) => self.new_behaviours += 1,
                (false, false) => self.gone_behaviours += 1,
            }
        }
    }

    /// The most severe new finding.
    pub fn worst_new(&self) -> Option<Severity> {
        self.new_findings.keys().next_back().copied()
    }

    /// Nothing new and nothing gone.
    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no behaviour change");
        }
        let mut parts = Vec::new();
        if self.new_behaviours > 0 {
            parts.push(plural(self.new_behaviours, "new behaviour", "new behaviours"));
        }
        for (sev, n) in self.new_findings.iter().rev() {
            parts.push(plural(*n, &format!("new {sev} finding"), &format!("new {sev} findings")));
        }
        if self.gone_behaviours > 0 {
            parts.push(plural(self.gone_behaviours, "behaviour gone", "behaviours gone"));
        }
        if self.gone_findings > 0 {
            parts.push(plural(self.gone_findings, "finding gone", "findings gone"));
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_reads_well() {
        assert_eq!(Summary::default().to_string(), "no behaviour change");
        let mut s = Summary { new_behaviours: 2, ..Default::default() };
        s.new_findings.insert(Severity::High, 1);
        s.new_findings.insert(Severity::Low, 2);
        assert_eq!(s.to_string(), "2 new behaviours, 1 new high finding, 2 new low findings");
        assert_eq!(s.worst_new(), Some(Severity::High));
        let gone = Summary { gone_behaviours: 1, gone_findings: 3, ..Default::default() };
        assert_eq!(gone.to_string(), "1 behaviour gone, 3 findings gone");
    }
}
