//! The index: `.pkgtrace/index.sqlite`, what the stored reports say, in
//! tables `query` can search fast. Derived (git-ignored): every store
//! updates it, and [`rebuild`] recreates it from the reports alone.
//!
//! The schema (documented for `pkgtrace query --sql` in the README):
//! `packages`, `versions`, `phases`, `findings`, `dns`, `connections`,
//! `commands`, `files`, the view `package_versions`, and `meta` (which
//! commit the index reflects).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection, OpenFlags, Transaction};
use serde_json::Value;

use crate::store::{self, Meta};
use report::{Severity, SCHEMA_VERSION};

/// The index's schema version: a different one is rebuilt, not migrated.
const INDEX_VERSION: &str = "1";

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE packages (
    id INTEGER PRIMARY KEY, ecosystem TEXT NOT NULL, name TEXT NOT NULL, UNIQUE (ecosystem, name));
CREATE TABLE versions (
    id INTEGER PRIMARY KEY, package_id INTEGER NOT NULL REFERENCES packages(id), version TEXT NOT NULL,
    purl TEXT, path TEXT NOT NULL, findings INTEGER NOT NULL, max_severity TEXT,
    rule_pack TEXT, stored_at TEXT, UNIQUE (package_id, version));
CREATE TABLE phases (
    version_id INTEGER NOT NULL REFERENCES versions(id), phase TEXT NOT NULL, status TEXT,
    exit_code INTEGER, error TEXT, PRIMARY KEY (version_id, phase));
CREATE TABLE findings (
    version_id INTEGER NOT NULL, phase TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL, subject TEXT NOT NULL, process TEXT, package TEXT, message TEXT,
    count INTEGER, active INTEGER NOT NULL, baseline INTEGER NOT NULL, suppressed_by TEXT);
CREATE TABLE dns (version_id INTEGER NOT NULL, phase TEXT NOT NULL, name TEXT NOT NULL, type TEXT, server TEXT);
CREATE TABLE connections (
    version_id INTEGER NOT NULL, phase TEXT NOT NULL, host TEXT, address TEXT NOT NULL, port INTEGER,
    protocol TEXT NOT NULL, result TEXT);
CREATE TABLE commands (
    version_id INTEGER NOT NULL, phase TEXT NOT NULL, argv TEXT NOT NULL, argv_json TEXT NOT NULL,
    exe TEXT, process TEXT, failed TEXT);
CREATE TABLE files (
    version_id INTEGER NOT NULL, phase TEXT NOT NULL, path TEXT NOT NULL, mode TEXT NOT NULL,
    read INTEGER NOT NULL, write INTEGER NOT NULL, exec INTEGER NOT NULL, failed INTEGER NOT NULL);
CREATE INDEX findings_by_rule ON findings (rule, severity_rank);
CREATE INDEX findings_by_phase ON findings (version_id, phase);
CREATE INDEX dns_by_phase ON dns (version_id, phase);
CREATE INDEX connections_by_phase ON connections (version_id, phase);
CREATE INDEX commands_by_phase ON commands (version_id, phase);
CREATE INDEX files_by_phase ON files (version_id, phase);
CREATE VIEW package_versions AS
    SELECT v.id AS version_id, p.ecosystem, p.name, v.version, v.purl, v.path, v.findings, v.max_severity
    FROM versions v JOIN packages p ON p.id = v.package_id;
";

/// The tables that hold one row per piece of evidence of a version.
const PER_VERSION: [&str; 6] = ["phases", "findings", "dns", "connections", "commands", "files"];

/// The index, open for writing.
pub struct Index {
    db: Connection,
}

impl Index {
    /// Opens (creating) the index at `path`; an index of another schema
    /// version, or not an index at all, is an error (rebuild it).
    pub fn open(path: &Path) -> Result<Index> {
        let fresh = !path.exists();
        let db = Connection::open(path).with_context(|| format!("failed to open the index {}", path.display()))?;
        db.busy_timeout(std::time::Duration::from_secs(30))?;
        if fresh {
            db.execute_batch(SCHEMA)?;
            db.execute("INSERT INTO meta VALUES ('index_version', ?1)", [INDEX_VERSION])?;
        } else {
            let v: Option<String> =
                db.query_row("SELECT value FROM meta WHERE key = 'index_version'", [], |r| r.get(0)).ok();
            if v.as_deref() != Some(INDEX_VERSION) {
                anyhow::bail!("{} is not an index this pkgtrace reads; run `pkgtrace index --rebuild`", path.display());
            }
        }
        Ok(Index { db })
    }

    /// Replaces what the index has of the version stored at `dir` with `report`.
    pub fn put(&mut self, dir: &str, report: &Value, meta: Option<&Meta>) -> Result<()> {
        let tx = self.db.transaction()?;
        put(&tx, dir, report, meta)?;
        tx.commit()?;
        Ok(())
    }

    /// Records the commit the index reflects.
    pub fn set_head(&self, head: &str) -> Result<()> {
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('head', ?1)", [head])?;
        Ok(())
    }

    /// Runs `f` in one transaction (many `put`s at once).
    pub fn batch<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self.db.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// The commit the index at `path` reflects.
pub fn head_of(path: &Path) -> Option<String> {
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    db.query_row("SELECT value FROM meta WHERE key = 'head'", [], |r| r.get(0)).ok()
}

/// [`Index::put`] inside a transaction.
pub fn put(tx: &Transaction<'_>, dir: &str, report: &Value, meta: Option<&Meta>) -> Result<()> {
    let pkg = &report["package"];
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let (eco, name, version) = (text(&pkg["ecosystem"]), text(&pkg["name"]), text(&pkg["version"]));
    tx.execute("INSERT OR IGNORE INTO packages (ecosystem, name) VALUES (?1, ?2)", params![eco, name])?;
    let package_id: i64 =
        tx.query_row("SELECT id FROM packages WHERE ecosystem = ?1 AND name = ?2", params![eco, name], |r| r.get(0))?;
    if let Ok(old) = tx.query_row(
        "SELECT id FROM versions WHERE package_id = ?1 AND version = ?2",
        params![package_id, version],
        |r| r.get::<_, i64>(0),
    ) {
        for table in PER_VERSION {
            tx.execute(&format!("DELETE FROM {table} WHERE version_id = ?1"), [old])?;
        }
        tx.execute("DELETE FROM versions WHERE id = ?1", [old])?;
    }
    let (n, max) = store::active_findings(report);
    tx.execute(
        "INSERT INTO versions (package_id, version, purl, path, findings, max_severity, rule_pack, stored_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            package_id,
            version,
            pkg["purl"].as_str(),
            dir,
            n as i64,
            max.map(|s| s.as_str()),
            meta.map(|m| m.rule_pack.as_str()),
            meta.map(|m| m.reanalyzed_at.as_deref().unwrap_or(&m.stored_at)),
        ],
    )?;
    let vid = tx.last_insert_rowid();
    let mut phase_st = tx.prepare_cached("INSERT OR REPLACE INTO phases VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let mut finding_st =
        tx.prepare_cached("INSERT INTO findings VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")?;
    let mut dns_st = tx.prepare_cached("INSERT INTO dns VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let mut conn_st = tx.prepare_cached("INSERT INTO connections VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
    let mut cmd_st = tx.prepare_cached("INSERT INTO commands VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
    let mut file_st = tx.prepare_cached("INSERT INTO files VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
    for p in report["phases"].as_array().into_iter().flatten() {
        let phase = text(&p["name"]);
        phase_st.execute(params![
            vid,
            phase,
            p["status"].as_str(),
            p["run"]["exit_code"].as_i64(),
            p["error"].as_str()
        ])?;
        for f in p["findings"].as_array().into_iter().flatten() {
            let severity = text(&f["severity"]);
            let rank = severity.parse::<Severity>().map(|s| s as i64).unwrap_or(0);
            let suppressed = f["suppressed_by"].as_str();
            let baseline = f["baseline"] == true;
            finding_st.execute(params![
                vid,
                phase,
                text(&f["rule"]),
                severity,
                rank,
                text(&f["subject"]),
                f["process"].as_str(),
                f["package"].as_str(),
                f["message"].as_str(),
                f["count"].as_i64(),
                suppressed.is_none() && !baseline,
                baseline,
                suppressed,
            ])?;
        }
        let b = &p["behaviour"];
        for d in b["dns"].as_array().into_iter().flatten() {
            dns_st.execute(params![vid, phase, text(&d["name"]), d["type"].as_str(), d["server"].as_str()])?;
        }
        for c in b["connections"].as_array().into_iter().flatten() {
            conn_st.execute(params![
                vid,
                phase,
                c["host"].as_str(),
                text(&c["address"]),
                c["port"].as_i64(),
                text(&c["transport"]),
                c["result"].as_str()
            ])?;
        }
        for c in b["commands"].as_array().into_iter().flatten() {
            let argv: Vec<&str> = c["argv"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            cmd_st.execute(params![
                vid,
                phase,
                argv.join(" "),
                c["argv"].to_string(),
                c["exe"].as_str(),
                c["chain"].as_str(),
                c["failed"].as_str()
            ])?;
        }
        for f in b["files"].as_array().into_iter().flatten() {
            let flag = |k: &str| f[k] == true;
            let mode: String = [("read", 'r'), ("write", 'w'), ("exec", 'x'), ("delete", 'd'), ("chmod", 'c')]
                .iter()
                .filter(|(k, _)| flag(k))
                .map(|(_, c)| *c)
                .collect();
            file_st.execute(params![
                vid,
                phase,
                text(&f["path"]),
                mode,
                flag("read"),
                flag("write") || flag("delete") || flag("chmod"),
                flag("exec"),
                flag("failed")
            ])?;
        }
    }
    Ok(())
}

/// What a rebuild indexed, and what it skipped (each with why).
#[derive(Debug, Default)]
pub struct Rebuilt {
    pub versions: usize,
    pub warnings: Vec<String>,
}

/// Recreates the index of the repository at `root` from its reports alone:
/// built under a temp name, then renamed over the old one, so a query
/// meanwhile reads the old index whole.
pub fn rebuild(root: &Path, index_path: &Path, head: Option<&str>) -> Result<Rebuilt> {
    let tmp = index_path.with_extension(format!("sqlite.rebuild-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut out = Rebuilt::default();
    let mut index = Index::open(&tmp)?;
    let mut reports = Vec::new();
    walk(root, root, &mut reports, &mut out.warnings);
    reports.sort();
    index.batch(|tx| {
        for path in &reports {
            match load(root, path) {
                Ok((dir, report, meta)) => {
                    put(tx, &dir, &report, meta.as_ref())?;
                    out.versions += 1;
                }
                Err(why) => out.warnings.push(format!("{}: {why}; skipped", path.display())),
            }
        }
        Ok(())
    })?;
    if let Some(h) = head {
        index.set_head(h)?;
    }
    drop(index);
    fs::rename(&tmp, index_path).with_context(|| format!("failed to write {}", index_path.display()))?;
    Ok(out)
}

/// A stored report, checked: parses, is of a schema this pkgtrace reads,
/// names its package, and sits where that package's version belongs.
/// Returns its directory (relative), the report and its meta.json if any.
pub fn load(root: &Path, path: &Path) -> std::result::Result<(String, Value, Option<Meta>), String> {
    let text = fs::read(path).map_err(|e| format!("cannot be read ({e})"))?;
    let report: Value = serde_json::from_slice(&text).map_err(|e| format!("not a JSON report ({e})"))?;
    let schema = report["schema_version"].as_u64().ok_or("not a pkgtrace report (no schema_version)")?;
    if schema > u64::from(SCHEMA_VERSION) {
        return Err(format!(
            "schema_version {schema} is newer than this pkgtrace reads ({SCHEMA_VERSION}); upgrade pkgtrace"
        ));
    }
    let pkg = &report["package"];
    let (Some(eco), Some(name), Some(version)) =
        (pkg["ecosystem"].as_str(), pkg["name"].as_str(), pkg["version"].as_str())
    else {
        return Err("not a stored package report (no package)".into());
    };
    let dir = store::version_dir(eco, name, version);
    let rel = path.parent().and_then(|p| p.strip_prefix(root).ok()).map(|p| p.to_string_lossy().replace('\\', "/"));
    if rel.as_deref() != Some(dir.as_str()) {
        return Err(format!("its package {eco}/{name}@{version} belongs in {dir}/, not here"));
    }
    let meta = fs::read(path.with_file_name(store::META)).ok().and_then(|t| serde_json::from_slice(&t).ok());
    Ok((dir, report, meta))
}

/// Every `report.json` under `dir`; a file that is none of a stored
/// version's is a warning.
fn walk(root: &Path, dir: &Path, reports: &mut Vec<PathBuf>, warnings: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        warnings.push(format!("{}: cannot be read; skipped", dir.display()));
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if dir == root
            && (name == ".git" || name == crate::repo::STATE_DIR || name == ".gitignore" || name.starts_with("README"))
        {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, reports, warnings);
        } else if name == store::REPORT {
            reports.push(path);
        } else if name != store::EVENTS && name != store::META {
            warnings.push(format!("{}: not a file pkgtrace stores; skipped", path.display()));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stored report of a synthetic package version.
    pub fn report(eco: &str, name: &str, version: &str, phases: Value) -> Value {
        serde_json::json!({
            "schema_version": 1,
            "package": {"purl": format!("pkg:{eco}/{name}@{version}"), "ecosystem": eco, "name": name, "version": version},
            "phases": phases,
            "stats": {"lines": 0, "events": 0, "unparsed": 0, "processes": 0},
        })
    }

    #[test]
    fn rebuild_skips_what_is_not_a_report_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let put = |rel: &str, v: &Value| {
            fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
            fs::write(root.join(rel), serde_json::to_vec(v).unwrap()).unwrap();
        };
        put("npm/a/1.0.0/report.json", &report("npm", "a", "1.0.0", serde_json::json!([])));
        let mut newer = report("npm", "b", "1.0.0", serde_json::json!([]));
        newer["schema_version"] = 99.into();
        put("npm/b/1.0.0/report.json", &newer);
        put("npm/c/1.0.0/report.json", &report("npm", "elsewhere", "1.0.0", serde_json::json!([])));
        fs::write(root.join("npm/a/1.0.0/notes.txt"), "x").unwrap();
        fs::create_dir_all(root.join("npm/d/1.0.0")).unwrap();
        fs::write(root.join("npm/d/1.0.0/report.json"), "{ not json").unwrap();
        let index = root.join("index.sqlite");
        let r = rebuild(root, &index, None).unwrap();
        assert_eq!(r.versions, 1);
        let w = r.warnings.join("\n");
        assert!(w.contains("npm/b/1.0.0/report.json: schema_version 99 is newer"), "{w}");
        assert!(w.contains("npm/c/1.0.0/report.json: its package npm/elsewhere@1.0.0 belongs in"), "{w}");
        assert!(w.contains("npm/a/1.0.0/notes.txt: not a file pkgtrace stores"), "{w}");
        assert!(w.contains("npm/d/1.0.0/report.json: not a JSON report"), "{w}");
    }
}
