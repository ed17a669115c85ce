//! Running every rule's own `[[test]]` cases (`pkgtrace rules test`).
//!
//! A test case describes a fact with the match keys' names (see
//! rules/README.md). HOME is `/home/user` and the package directory
//! `/home/user/project`; `in_home`, `in_project` and `encoded_label` are
//! derived from the path and name unless the case sets them.

use std::sync::Arc;

use tracer::Access;

use super::fact::{Actor, Fact, TARGETS};
use super::pack::RulePack;
use super::rule::{Expect, Rule, Verdict, FACT_KINDS};

pub const TEST_HOME: &str = "/home/user";
pub const TEST_PROJECT: &str = "/home/user/project";

/// One failed case.
#[derive(Debug)]
pub struct Failure {
    pub rule: String,
    pub case: usize,
    pub message: String,
}

/// Results of running a pack's tests.
#[derive(Debug, Default)]
pub struct Outcome {
    pub rules: usize,
    pub cases: usize,
    pub failures: Vec<Failure>,
}

pub fn run(pack: &RulePack) -> Outcome {
    let mut out = Outcome { rules: pack.rules.len(), ..Outcome::default() };
    for rule in &pack.rules {
        let (mut matches, mut misses) = (0, 0);
        let cases = match rule.tests.get() {
            Ok(cases) => cases,
            Err(e) => {
                out.failures.push(Failure { rule: rule.id.clone(), case: 0, message: e.to_string() });
                continue;
            }
        };
        for (i, case) in cases.iter().enumerate() {
            out.cases += 1;
            match case.expect {
                Expect::Match => matches += 1,
                Expect::NoMatch => misses += 1,
            }
            if let Err(message) = check(rule, &case.event, case.expect) {
                out.failures.push(Failure { rule: rule.id.clone(), case: i + 1, message });
            }
        }
        if matches == 0 || misses == 0 {
            out.failures.push(Failure {
                rule: rule.id.clone(),
                case: 0,
                message: "needs at least one `match` and one `no_match` test".into(),
            });
        }
    }
    out
}

fn check(rule: &Rule, event: &toml::Table, expect: Expect) -> Result<(), String> {
    let fact = fact_from_table(event)?;
    let verdict = rule.evaluate(&fact);
    let got = match verdict {
        Verdict::Fires => Expect::Match,
        // A suppressed finding is not a match of the rule's intent.
        Verdict::Suppressed(_) | Verdict::NoMatch => Expect::NoMatch,
    };
    if got == expect {
        Ok(())
    } else {
        let detail = match verdict {
            Verdict::Suppressed(r) => format!(" (suppressed: {r})"),
            _ => String::new(),
        };
        Err(format!("expected {expect:?}, got {got:?}{detail} for {}", toml::Value::Table(event.clone())))
    }
}

/// Builds a fact from a test case's `event` table.
pub fn fact_from_table(t: &toml::Table) -> Result<Fact, String> {
    let kind_name = t.get("kind").and_then(|v| v.as_str()).ok_or("test event needs a `kind`")?;
    let kind = FACT_KINDS.iter().find(|k| **k == kind_name).ok_or_else(|| format!("unknown kind {kind_name:?}"))?;
    let mut f = Fact { kind, phase: "install".into(), success: Some(true), ..Fact::default() };
    let mut a = Actor::default();
    let mut explicit_home = None;
    let mut explicit_project = None;
    let mut explicit_encoded = None;
    for (key, v) in t {
        let s = || v.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` must be a string"));
        let b = || v.as_bool().ok_or_else(|| format!("`{key}` must be true or false"));
        let i = || v.as_integer().ok_or_else(|| format!("`{key}` must be an integer"));
        let strs = || -> Result<Vec<String>, String> {
            match v {
                toml::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` must hold strings")))
                    .collect(),
                toml::Value::String(s) => Ok(s.split_whitespace().map(str::to_string).collect()),
                _ => Err(format!("`{key}` must be a list of strings")),
            }
        };
        match key.as_str() {
            "kind" => {}
            "path" => f.path = Some(expand_home(&s()?)),
            "source" => f.source = Some(expand_home(&s()?)),
            "access" => {
                f.access = Some(match s()?.as_str() {
                    "read" => Access::Read,
                    "write" => Access::Write,
                    "read_write" => Access::ReadWrite,
                    "path" => Access::Path,
                    other => return Err(format!("unknown access {other:?}")),
                })
            }
            "result" => {
                f.success = match s()?.as_str() {
                    "success" => Some(true),
                    "failure" => Some(false),
                    other => return Err(format!("unknown result {other:?}")),
                }
            }
            "errno" => {
                f.errno = Some(s()?);
                f.success = Some(false);
            }
            "syscall" => f.syscall = s()?,
            "exe" => a.exe = Some(s()?),
            "argv" => a.argv = strs()?,
            "parent_exe" => a.parent_exe = Some(s()?),
            "ancestors" => a.ancestors = strs()?,
            "is_package_manager" => a.is_package_manager = b()?,
            "parent_is_package_manager" => a.parent_is_package_manager = b()?,
            "created_in_run" => f.created_in_run = b()?,
            "in_project" => explicit_project = Some(b()?),
            "in_home" => explicit_home = Some(b()?),
            "family" => f.family = Some(s()?),
            "ip" => f.ip = Some(s()?.parse().map_err(|_| format!("bad ip in `{key}`"))?),
            "port" => f.port = Some(u16::try_from(i()?).map_err(|_| "bad port".to_string())?),
            "host" => f.host = Some(s()?.to_ascii_lowercase()),
            "dns_name" => f.dns_name = Some(s()?.to_ascii_lowercase()),
            "dns_type" => f.dns_type = Some(s()?.to_ascii_uppercase()),
            "encoded_label" => explicit_encoded = Some(b()?),
            "carries_identity" => f.identity = b()?,
            "mode" => f.mode = Some(u32::try_from(i()?).map_err(|_| "bad mode".to_string())?),
            "env" => f.env = strs()?,
            "new_fd" => f.new_fd = Some(i32::try_from(i()?).map_err(|_| "bad fd".to_string())?),
            "fd_kind" => f.fd_kind = Some(s()?),
            "request" => f.request = Some(s()?),
            "target" => {
                let t = s()?;
                f.target = Some(TARGETS.iter().find(|k| **k == t).ok_or_else(|| format!("unknown target {t:?}"))?);
            }
            "target_pid" => f.target_pid = Some(i32::try_from(i()?).map_err(|_| "bad pid".to_string())?),
            "signal" => f.signal = Some(s()?),
            "refused" => f.refused = Some(s()?),
            "payload" => f.payload = Some(s()?),
            "in_package_dir" => f.in_package_dir = b()?,
            "package_code" => a.package_code = b()?,
            "downloaded" => f.downloaded = b()?,
            "protocol" => f.protocol = Some(s()?),
            "method" => f.method = Some(s()?.to_ascii_uppercase()),
            "url" => f.url = Some(s()?),
            "canary" => f.canary = b()?,
            "phase" => f.phase = s()?.into(),
            "ecosystem" => f.ecosystem = Some(s()?.into()),
            other => return Err(format!("unknown test event key {other:?}")),
        }
    }
    if f.kind == "open" && f.access.is_none() {
        f.access = Some(Access::Read);
    }
    if a.exe.is_none() {
        a.exe = a.argv.first().cloned();
    }
    if a.parent_exe.is_none() {
        a.parent_exe = a.ancestors.first().cloned();
    } else if a.ancestors.is_empty() {
        a.ancestors = a.parent_exe.iter().cloned().collect();
    }
    a.argv_line = a.argv.join(" ");
    f.actor = Arc::new(a);
    let home_prefix = format!("{TEST_HOME}/");
    f.home_rel = f.path.as_deref().and_then(|p| p.strip_prefix(&home_prefix)).map(str::to_string);
    if explicit_home == Some(false) {
        f.home_rel = None;
    } else if explicit_home == Some(true) && f.home_rel.is_none() {
        f.home_rel = Some(String::new());
    }
    f.in_project =
        explicit_project.unwrap_or_else(|| f.path.as_deref().is_some_and(|p| crate::paths::is_within(p, TEST_PROJECT)));
    f.encoded_label = explicit_encoded.unwrap_or_else(|| f.dns_name.as_deref().is_some_and(event::dns::looks_encoded));
    if f.kind == "dns" && f.host.is_none() {
        f.host = f.dns_name.clone();
    }
    Ok(f)
}

fn expand_home(p: &str) -> String {
    match p.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{TEST_HOME}{rest}"),
        _ => p.to_string(),
    }
}
