//! SARIF 2.1.0 output, so findings show up in code-scanning tools (GitHub
//! code scanning, SonarQube, VS Code's SARIF viewer).
//!
//! One run, `tool.driver` named `pkgtrace` with the rule pack's rules
//! ([`RuleInfo`]: id, `shortDescription` the summary, `fullDescription` why
//! it matters, `defaultConfiguration.level` from the severity), and one
//! result per finding ([`Located`]): `ruleId`, `level`, `message`, a
//! logical location naming the package, phase and process chain, and for a
//! finding about a file a physical location whose artifact URI is the path.
//! Severity maps to level: critical and high are `error`, medium
//! `warning`, low and info `note`.

use serde_json::{json, Value};

use crate::finding::Finding;
use crate::severity::Severity;

pub const VERSION: &str = "2.1.0";
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A rule of the pack, as SARIF describes it.
#[derive(Clone, Debug)]
pub struct RuleInfo {
    pub id: String,
    pub summary: String,
    pub why: String,
    pub severity: Severity,
}

/// A finding with where it was seen: the package (purl or name; None for a
/// trace of a command) and the phase.
#[derive(Clone, Debug)]
pub struct Located<'a> {
    pub package: Option<&'a str>,
    pub phase: &'a str,
    pub finding: &'a Finding,
}

/// The SARIF level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The SARIF log of `results` (active findings only: suppressed and
/// baseline ones are not the package's).
pub fn log(rules: &[RuleInfo], results: &[Located<'_>], tool_version: &str) -> Value {
    let rule_objects: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.why },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "severity": r.severity.as_str() },
            })
        })
        .collect();
    let results: Vec<Value> = results
        .iter()
        .filter(|l| l.finding.is_active())
        .map(|l| {
            let f = l.finding;
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": { "text": format!("{}: {}", f.message, f.subject) },
                "locations": [location(l)],
                "properties": { "severity": f.severity.as_str(), "phase": l.phase, "process": f.process, "count": f.count },
            });
            if let Some(i) = rules.iter().position(|r| r.id == f.rule) {
                result["ruleIndex"] = i.into();
            }
            result
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [{
            "tool": { "driver": {
                "name": "pkgtrace",
                "version": tool_version,
                "informationUri": "https://github.com/pkgtrace/pkgtrace",
                "rules": rule_objects,
            }},
            "results": results,
        }],
    })
}

fn location(l: &Located<'_>) -> Value {
    let f = l.finding;
    let package = l.package.or(f.package.as_deref()).unwrap_or("command");
    let mut loc = json!({
        "logicalLocations": [{
            "name": f.process,
            "fullyQualifiedName": format!("{package}/{}/{}", l.phase, f.process),
            "kind": "process",
        }],
    });
    // A file finding points at the file.
    if f.subject.starts_with('/') || f.subject.starts_with('$') || f.subject.starts_with('~') {
        let path = f.subject.split_whitespace().next().unwrap_or(&f.subject);
        if path.contains('/') {
            loc["physicalLocation"] = json!({ "artifactLocation": { "uri": uri(path) } });
        }
    }
    loc
}

/// A path as a URI reference: absolute paths as `file://`, placeholders
/// (`$HOME/.npmrc`) relative, characters outside the unreserved set escaped.
fn uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Evidence;

    #[test]
    fn paths_become_uris() {
        assert_eq!(uri("/etc/passwd"), "file:///etc/passwd");
        assert_eq!(uri("$HOME/.npmrc"), "%24HOME/.npmrc");
        assert_eq!(uri("/a b"), "file:///a%20b");
    }

    #[test]
    fn levels_follow_severity() {
        let f = Finding {
            rule: "r".into(),
            severity: Severity::Medium,
            message: "m".into(),
            subject: "/etc/x".into(),
            pid: 1,
            process: "npm → sh".into(),
            package: None,
            evidence: Evidence { at: None, syscall: "openat".into(), seq: 0, result: None },
            count: 1,
            tags: vec![],
            suppressed_by: None,
            baseline: false,
        };
        let rules = [RuleInfo { id: "r".into(), summary: "s".into(), why: "w".into(), severity: Severity::High }];
        let v = log(&rules, &[Located { package: Some("pkg:npm/x@1"), phase: "install", finding: &f }], "0.1.0");
        assert_eq!(v["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"], "error");
        let r = &v["runs"][0]["results"][0];
        assert_eq!(r["level"], "warning");
        assert_eq!(r["ruleIndex"], 0);
        assert_eq!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "file:///etc/x");
        assert_eq!(r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "pkg:npm/x@1/install/npm → sh");
    }
}
