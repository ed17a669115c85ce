//! The end of a scan: what was scanned, flagged (by worst severity),
//! failed (by reason), skipped, how long it took, and where each package's
//! time went. Text for a person, JSON (`--format json`) for a program.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use super::child::{Outcome, Reason};
use super::inputs::BadLine;
use report::Severity;

#[derive(Default)]
pub struct Summary {
    /// Items after deduplication and sharding.
    pub total: usize,
    /// Already stored with this rule pack and pkgtrace version.
    pub skipped: usize,
    /// Runs that ended (stored or failed).
    pub done: usize,
    /// Runs that stored a report.
    pub stored: usize,
    /// Packages with active findings, by their worst severity.
    pub flagged: BTreeMap<Severity, usize>,
    pub failed: BTreeMap<Reason, usize>,
    pub bad_lines: Vec<BadLine>,
    /// Runs not started or killed because of an interrupt.
    pub interrupted: usize,
    pub wall: Duration,
    /// Per step (fetch, setup, install, start, baseline, store): total ms, count.
    pub steps: BTreeMap<String, (u64, u64)>,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        self.done += 1;
        self.stored += usize::from(o.stored);
        if o.findings > 0 {
            if let Some(w) = o.worst {
                *self.flagged.entry(w).or_default() += 1;
            }
        }
        if let Some(r) = o.failure {
            *self.failed.entry(r).or_default() += 1;
        }
    }

    pub fn step(&mut self, step: &str, ms: u64) {
        let e = self.steps.entry(step.to_string()).or_default();
        e.0 += ms;
        e.1 += 1;
    }

    pub fn flagged_total(&self) -> usize {
        self.flagged.values().sum()
    }

    pub fn failed_total(&self) -> usize {
        self.failed.values().sum()
    }

    /// Packages run per hour of wall time.
    pub fn per_hour(&self) -> f64 {
        per_hour(self.done, self.wall)
    }

    pub fn to_json(&self) -> Value {
        let flagged: BTreeMap<&str, usize> = self.flagged.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        let failed: BTreeMap<&str, usize> = self.failed.iter().map(|(r, n)| (r.as_str(), *n)).collect();
        let steps: BTreeMap<&str, Value> = self
            .steps
            .iter()
            .map(|(s, (ms, n))| (s.as_str(), json!({ "total_ms": ms, "count": n, "mean_ms": ms / (*n).max(1) })))
            .collect();
        json!({
            "total": self.total,
            "skipped": self.skipped,
            "scanned": self.done,
            "stored": self.stored,
            "flagged": flagged,
            "flagged_total": self.flagged_total(),
            "failed": failed,
            "failed_total": self.failed_total(),
            "bad_lines": self.bad_lines.iter().map(|b| json!({ "at": b.at, "error": b.error })).collect::<Vec<_>>(),
            "interrupted": self.interrupted,
            "wall_secs": (self.wall.as_secs_f64() * 10.0).round() / 10.0,
            "packages_per_hour": self.per_hour().round(),
            "steps": steps,
        })
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "scanned {} of {} ({} already stored, skipped){}",
            self.done,
            self.total,
            self.skipped,
            if self.interrupted > 0 {
                format!("; interrupted, {} not finished", self.interrupted)
            } else {
                String::new()
            }
        );
        let list = |m: Vec<(&str, usize)>| {
            if m.is_empty() {
                "none".to_string()
            } else {
                m.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
            }
        };
        let flagged = list(self.flagged.iter().rev().map(|(k, n)| (k.as_str(), *n)).collect());
        let _ = writeln!(s, "flagged {}: {flagged}", self.flagged_total());
        let failed = list(self.failed.iter().map(|(k, n)| (k.as_str(), *n)).collect());
        let _ = writeln!(s, "failed  {}: {failed}", self.failed_total());
        for b in &self.bad_lines {
            let _ = writeln!(s, "bad input {}: {}", b.at, b.error);
        }
        let _ = writeln!(s, "wall {:.1}s, {:.0} packages/hour", self.wall.as_secs_f64(), self.per_hour());
        if !self.steps.is_empty() {
            let order = ["fetch", "setup", "install", "start", "baseline", "store"];
            let mut names: Vec<&String> = self.steps.keys().collect();
            names.sort_by_key(|n| order.iter().position(|o| o == n).unwrap_or(order.len()));
            let parts: Vec<String> = names
                .iter()
                .map(|n| {
                    let (ms, c) = self.steps[*n];
                    format!("{n} {:.2}s", ms as f64 / c.max(1) as f64 / 1000.0)
                })
                .collect();
            let _ = writeln!(s, "mean per package: {}", parts.join(", "));
        }
        s
    }
}

pub fn per_hour(n: usize, wall: Duration) -> f64 {
    let secs = wall.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        n as f64 * 3600.0 / secs
    }
}
