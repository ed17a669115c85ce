//! `pkgtrace reanalyze`: stored reports recomputed from their stored event
//! streams with a rule pack, no package re-run.
//!
//! Per stored version: the stream of each phase is read back with the run's
//! identity restored ([`crate::identity`]), analyzed with the context the
//! run had (phase, ecosystem, HOME, the package directory as cwd, canaries,
//! host and user name), and normalised as a run's report is. What the rules
//! do not decide is kept from the stored report: each phase's status,
//! error, outcome, output and what the sinks received, the canaries that
//! leaked, the package, the figures; findings the stored report labelled
//! `baseline` keep the label (no control run is re-run). All the changed
//! versions are one commit.

use std::collections::BTreeSet;
use std::io::{BufRead, Cursor};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::Value;

use crate::identity::RunIdentity;
use crate::index::{self, Index};
use crate::repo::Repo;
use crate::store::{self, Meta};
use analyzer::analysis::{Analyzer, Context};
use analyzer::pipeline::pipeline;
use analyzer::RulePack;
use event::jsonl::EventsReader;
use event::Event;
use report::{PhaseReport, Report, SandboxInfo, Stats, SCHEMA_VERSION};

/// Events per batch fed to the analyzer.
const BATCH: usize = 1024;

/// What changed in one package version: findings as `phase rule subject`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// `npm/left-pad@1.3.0`.
    pub package: String,
    pub appeared: Vec<String>,
    pub disappeared: Vec<String>,
}

/// The outcome of a reanalysis.
#[derive(Debug, Default)]
pub struct Reanalysis {
    /// Versions re-evaluated.
    pub versions: usize,
    /// Versions whose findings changed (others may have changed elsewhere).
    pub changes: Vec<Change>,
    /// Versions skipped, each naming its file and why.
    pub warnings: Vec<String>,
    pub elapsed: Duration,
    /// The commit, when anything changed.
    pub committed: Option<String>,
}

/// Reanalyzes the stored versions `select` names (all when empty): each a
/// purl (`pkg:npm/left-pad@1.3.0`; no version: all of the package's) or
/// `npm/left-pad[@1.3.0]`.
pub fn reanalyze(repo: &Repo, pack: &RulePack, pack_hash: &str, select: &[String]) -> Result<Reanalysis> {
    let start = Instant::now();
    let selectors = select.iter().map(|s| Selector::parse(s)).collect::<Result<Vec<_>>>()?;
    let lock = repo.lock()?;
    let mut out = Reanalysis::default();
    let mut reports = Vec::new();
    collect_reports(repo.root(), repo.root(), &mut reports);
    reports.sort();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut indexed: Vec<(String, Value, Meta)> = Vec::new();
    let (mut added, mut removed) = (0, 0);
    for path in reports {
        let (dir, old, _) = match index::load(repo.root(), &path) {
            Ok(x) => x,
            Err(why) => {
                out.warnings.push(format!("{}: {why}; skipped", path.display()));
                continue;
            }
        };
        if !selectors.is_empty() && !selectors.iter().any(|s| s.matches(&old)) {
            continue;
        }
        let version_dir = repo.root().join(&dir);
        let (new, mut meta) = match one(&version_dir, &old, pack) {
            Ok(x) => x,
            Err(e) => {
                out.warnings.push(format!("{}: {e:#}; skipped", version_dir.display()));
                continue;
            }
        };
        out.versions += 1;
        let change = diff(&old, &new);
        added += change.appeared.len();
        removed += change.disappeared.len();
        if !change.appeared.is_empty() || !change.disappeared.is_empty() {
            out.changes.push(change);
        }
        if new != old || meta.rule_pack != pack_hash {
            meta.rule_pack = pack_hash.to_string();
            meta.reanalyzed_at = Some(store::now_rfc3339());
            meta.pkgtrace_version = env!("CARGO_PKG_VERSION").to_string();
            files.push((format!("{dir}/{}", store::REPORT), store::pretty(&new)));
            files.push((format!("{dir}/{}", store::META), store::pretty(&serde_json::to_value(&meta)?)));
            indexed.push((dir, new, meta));
        }
    }
    if !files.is_empty() {
        let short = &pack_hash[..pack_hash.len().min(12)];
        let message = format!(
            "reanalyze: {} version{}, +{added} -{removed} findings (rules {short})",
            indexed.len(),
            if indexed.len() == 1 { "" } else { "s" }
        );
        let before = repo.head().ok();
        repo.store(&lock, &files, &message)?;
        let head = repo.head()?;
        crate::update_index(repo, before.as_deref(), &head, |ix: &mut Index| {
            ix.batch(|tx| {
                for (dir, report, meta) in &indexed {
                    index::put(tx, dir, report, Some(meta))?;
                }
                Ok(())
            })
        })?;
        out.committed = Some(head);
    }
    out.elapsed = start.elapsed();
    Ok(out)
}

/// The report of the stored version in `dir`, recomputed from its stored
/// events (`events.jsonl.zst`) with `pack` (what `pkgtrace diff` does with
/// an events file).
pub fn recompute(dir: &Path, pack: &RulePack) -> Result<Value> {
    let path = dir.join(store::REPORT);
    let old: Value =
        serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("failed to read {}", path.display()))?)
            .with_context(|| format!("{} is not a report", path.display()))?;
    Ok(one(dir, &old, pack)?.0)
}

/// One stored version, reanalyzed: the new report and its meta.
fn one(dir: &Path, old: &Value, pack: &RulePack) -> Result<(Value, Meta)> {
    let meta_path = dir.join(store::META);
    let meta: Meta = serde_json::from_slice(
        &std::fs::read(&meta_path).with_context(|| format!("no {} (stored without its events)", store::META))?,
    )
    .with_context(|| format!("{} is not pkgtrace's", meta_path.display()))?;
    let events_path = dir.join(store::EVENTS);
    let bytes = std::fs::read(&events_path).with_context(|| format!("failed to read {}", events_path.display()))?;
    let decoded =
        zstd::decode_all(Cursor::new(bytes)).with_context(|| format!("{} is corrupt", events_path.display()))?;
    let streams = split_phases(&decoded, &meta.context);
    let id = &meta.context;
    let sandbox = SandboxInfo {
        hostname: id.hostname.clone(),
        user: id.user.clone(),
        home: id.home.clone(),
        project: id.project.clone(),
        ..Default::default()
    };
    let mut phases = Vec::new();
    for p in old["phases"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or("").to_string();
        let stream = streams.iter().find(|(n, _)| *n == name).map(|(_, s)| s.as_slice()).unwrap_or(&[]);
        let mut phase = analyze(&name, stream, id, pack)?;
        phase.sandbox = Some(sandbox.clone());
        phases.push(phase);
    }
    let fresh = Report {
        schema_version: SCHEMA_VERSION,
        package: None,
        canaries_leaked: Vec::new(),
        phases,
        stats: Stats::default(),
    };
    let fresh = report::normalize::normalized(&fresh, &id.canaries);
    let mut new = old.clone();
    let baseline: BTreeSet<(String, String, String)> = findings(old)
        .filter(|(_, f)| f["baseline"] == true)
        .map(|(phase, f)| (phase, text(&f["rule"]), text(&f["subject"])))
        .collect();
    let new_phases = new["phases"].as_array_mut().context("the report has no phases")?;
    for (stored, fresh) in new_phases.iter_mut().zip(fresh["phases"].as_array().into_iter().flatten()) {
        let name = text(&stored["name"]);
        // The rules' part is the new analysis; the run's part stays.
        for key in ["findings", "behaviour", "network"] {
            match fresh.get(key) {
                Some(v) => stored[key] = v.clone(),
                None => {
                    stored.as_object_mut().map(|o| o.remove(key));
                }
            }
        }
        for f in stored["findings"].as_array_mut().into_iter().flatten() {
            if baseline.contains(&(name.clone(), text(&f["rule"]), text(&f["subject"]))) {
                f["baseline"] = true.into();
            }
        }
    }
    Ok((new, meta))
}

/// The phases of a stored stream: (phase, its JSON Lines, identity restored).
fn split_phases(text: &[u8], id: &RunIdentity) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        if line.starts_with(b"{\"phase\":") {
            if let Some(name) =
                serde_json::from_slice::<Value>(line).ok().and_then(|v| v["phase"].as_str().map(String::from))
            {
                out.push((name, Vec::new()));
                continue;
            }
        }
        if let Some((_, buf)) = out.last_mut() {
            buf.extend_from_slice(id.restore_line(&String::from_utf8_lossy(line)).as_bytes());
            buf.push(b'\n');
        }
    }
    out
}

/// Analyzes one phase's stream with the run's context.
fn analyze(phase: &str, stream: &[u8], id: &RunIdentity, pack: &RulePack) -> Result<PhaseReport> {
    let ctx = Context {
        phase: phase.to_string(),
        ecosystem: id.ecosystem.clone(),
        home: Some(id.home.clone()),
        cwd: Some(id.project.clone()),
        project: Some(id.project.clone()),
        canaries: id.canaries.clone(),
        identity: vec![id.hostname.clone(), id.user.clone()],
        package: id.package.clone(),
    };
    let mut analyzer = Analyzer::new(pack, ctx);
    let reader: Box<dyn BufRead + Send> = Box::new(Cursor::new(stream.to_vec()));
    let mut events = EventsReader::new(&format!("{phase}.events.jsonl"), reader);
    let read = move |tx: crossbeam_channel::Sender<Vec<Event>>| -> Result<()> {
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(ev) = events.next_event()? {
            batch.push(ev);
            if batch.len() == BATCH && tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err() {
                return Ok(());
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
        Ok(())
    };
    pipeline(&mut analyzer, "reanalyze", 16, read, |_, _| Ok(()))??;
    Ok(analyzer.finish())
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

/// Every finding of a stored report, with its phase.
fn findings(r: &Value) -> impl Iterator<Item = (String, &Value)> {
    r["phases"].as_array().into_iter().flatten().flat_map(|p| {
        let phase = text(&p["name"]);
        p["findings"].as_array().into_iter().flatten().map(move |f| (phase.clone(), f))
    })
}

/// Findings (as `phase: rule subject`) in `new` and not `old`, and the reverse.
pub fn diff(old: &Value, new: &Value) -> Change {
    let keys = |r: &Value| -> BTreeSet<String> {
        findings(r).map(|(phase, f)| format!("{phase}: {} {}", text(&f["rule"]), text(&f["subject"]))).collect()
    };
    let (a, b) = (keys(old), keys(new));
    let pkg = &new["package"];
    Change {
        package: format!("{}/{}@{}", text(&pkg["ecosystem"]), text(&pkg["name"]), text(&pkg["version"])),
        appeared: b.difference(&a).cloned().collect(),
        disappeared: a.difference(&b).cloned().collect(),
    }
}

fn collect_reports(root: &Path, dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        if dir == root && (name == ".git" || name == crate::repo::STATE_DIR) {
            continue;
        }
        if path.is_dir() {
            collect_reports(root, &path, out);
        } else if name == store::REPORT {
            out.push(path);
        }
    }
}

/// Which stored versions a PURL names.
struct Selector {
    ecosystem: String,
    name: String,
    version: Option<String>,
}

impl Selector {
    fn parse(s: &str) -> Result<Selector> {
        let bare = s.strip_prefix("pkg:").unwrap_or(s);
        let bare = bare.split(['?', '#']).next().unwrap_or(bare);
        let (eco, rest) =
            bare.split_once('/').with_context(|| format!("not a purl: {s:?} (pkg:npm/left-pad@1.3.0)"))?;
        let eco = eco.parse::<report::Ecosystem>().map_err(|e| anyhow::anyhow!("{e}"))?;
        let rest = rest.replace("%40", "@");
        let (name, version) = match rest.rfind('@').filter(|i| *i > 0) {
            Some(i) => (rest[..i].to_string(), Some(rest[i + 1..].to_string())),
            None => (rest, None),
        };
        Ok(Selector { ecosystem: eco.as_str().to_string(), name, version })
    }

    fn matches(&self, report: &Value) -> bool {
        let p = &report["package"];
        p["ecosystem"] == self.ecosystem.as_str()
            && p["name"] == self.name.as_str()
            && self.version.as_ref().is_none_or(|v| p["version"] == v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_select_versions() {
        let r = serde_json::json!({"package": {"ecosystem": "npm", "name": "@s/x", "version": "1.0.0"}});
        assert!(Selector::parse("pkg:npm/%40s/x@1.0.0").unwrap().matches(&r));
        assert!(Selector::parse("npm/@s/x").unwrap().matches(&r));
        assert!(!Selector::parse("pkg:npm/@s/x@2").unwrap().matches(&r));
        assert!(Selector::parse("left-pad").is_err());
    }

    #[test]
    fn the_diff_names_findings_by_phase() {
        let old = serde_json::json!({"package": {"ecosystem": "npm", "name": "a", "version": "1"},
            "phases": [{"name": "install", "findings": [{"rule": "r1", "subject": "s"}, {"rule": "r2", "subject": "s"}]}]});
        let mut new = old.clone();
        new["phases"][0]["findings"][1] = serde_json::json!({"rule": "r3", "subject": "t"});
        let c = diff(&old, &new);
        assert_eq!(c.package, "npm/a@1");
        assert_eq!(c.appeared, ["install: r3 t"]);
        assert_eq!(c.disappeared, ["install: r2 s"]);
    }
}
