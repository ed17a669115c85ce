//! The results repository end to end: real corpus packages run into a fresh
//! repository (three at once, so the lock is exercised), then its git
//! history, the index, every query filter, `--sql`, `index --rebuild`,
//! `reanalyze` with a changed rule pack, a store killed half-way, and bad
//! input. Tests that change the repository work on a `git clone` of it.
//! Needs root (`pkgtrace run`), as CI has.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{code, copy_dir, repo, stderr, stdout, BIN};
use serde_json::Value;

const STEAL_NPMRC: &str = "npm/pkgtrace-test-steal-npmrc-dns";
const BENIGN: &str = "npm/pkgtrace-test-benign-plain";
const STEAL_PYPIRC: &str = "pypi/pkgtrace-test-steal-pypirc";

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).to_path_buf()
}

fn run_into(results: &Path, rel: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--format", "json", "--no-baseline", "--timeout", "120", "--cache"])
        .arg(tmp().join("results-cache"))
        .arg("--results")
        .arg(results)
        .arg(repo().join("corpus/packages").join(rel))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// The shared repository: three corpus packages run into it at once, made
/// once per test run ([`common::once_per_run`]).
fn shared() -> &'static Path {
    static REPO: OnceLock<PathBuf> = OnceLock::new();
    REPO.get_or_init(|| {
        common::needs_root("pkgtrace run");
        common::once_per_run("results-repo", Duration::from_secs(300), |results| {
            let children: Vec<_> = ["npm/steal-npmrc-dns", "npm/benign-plain", "pypi/steal-pypirc"]
                .iter()
                .map(|rel| (rel, run_into(results, rel).spawn().expect("pkgtrace runs")))
                .collect();
            for (rel, child) in children {
                let out = child.wait_with_output().unwrap();
                assert!(code(&out) <= 1, "{rel}: exit {:?}: {}", out.status, stderr(&out));
            }
        })
    })
}

fn pkgtrace(args: &[&str], results: &Path) -> Output {
    Command::new(BIN).args(args).arg("--results").arg(results).output().expect("pkgtrace runs")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// `query ... --format csv`, as rows without the header.
fn query(results: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["query", "--format", "csv"];
    all.extend(args);
    let out = pkgtrace(&all, results);
    assert_eq!(code(&out), 0, "query {args:?}: {}", stderr(&out));
    stdout(&out).lines().skip(1).map(str::to_string).collect()
}

/// The packages (`ecosystem/name`) of a query's rows.
fn packages(rows: &[String]) -> BTreeSet<String> {
    rows.iter().map(|r| r.split(',').take(2).collect::<Vec<_>>().join("/")).collect()
}

fn clone_of(label: &str) -> PathBuf {
    let dir = shared().with_extension(label);
    let _ = std::fs::remove_dir_all(&dir);
    git(&tmp(), &["clone", "-q", shared().to_str().unwrap(), dir.to_str().unwrap()]);
    dir
}

fn fsck_clean(dir: &Path) {
    let out = Command::new("git").arg("-C").arg(dir).args(["fsck", "--full", "--strict"]).output().unwrap();
    assert!(out.status.success(), "git fsck: {}{}", stdout(&out), stderr(&out));
}

#[test]
fn each_stored_version_is_one_commit() {
    let r = shared();
    let log = git(r, &["log", "--format=%s"]);
    let subjects: Vec<&str> = log.lines().collect();
    assert_eq!(subjects.len(), 4, "one commit per version and the first: {subjects:?}");
    assert_eq!(subjects.last(), Some(&"pkgtrace results repository"));
    let re = regex::Regex::new(r"^(npm|pypi)/[a-z-]+@1\.0\.0: \d+ findings?(, max (info|low|medium|high|critical))?$")
        .unwrap();
    for s in &subjects[..3] {
        assert!(re.is_match(s), "commit message format: {s}");
    }
    let history = git(r, &["log", "--format=%s", "--", STEAL_NPMRC]);
    assert_eq!(history.lines().count(), 1, "{history}");
    assert!(history.starts_with("npm/pkgtrace-test-steal-npmrc-dns@1.0.0: ") && history.contains(", max critical"));
    for dir in [STEAL_NPMRC, BENIGN, STEAL_PYPIRC] {
        for f in ["report.json", "events.jsonl.zst", "meta.json"] {
            assert!(r.join(dir).join("1.0.0").join(f).is_file(), "{dir}/1.0.0/{f}");
        }
        let meta: Value = serde_json::from_slice(&std::fs::read(r.join(dir).join("1.0.0/meta.json")).unwrap()).unwrap();
        assert_eq!(meta["rule_pack"].as_str().unwrap().len(), 64, "{meta}");
    }
    assert_eq!(git(r, &["status", "--porcelain"]), "", "nothing left uncommitted; the index is ignored");
    assert!(r.join(".pkgtrace/index.sqlite").is_file());
    fsck_clean(r);
}

#[test]
fn the_index_has_the_reports_rows() {
    let r = shared();
    let versions = query(r, &["--sql", "SELECT ecosystem, name, version FROM package_versions ORDER BY 1, 2"]);
    assert_eq!(
        versions,
        [
            "npm,pkgtrace-test-benign-plain,1.0.0",
            "npm,pkgtrace-test-steal-npmrc-dns,1.0.0",
            "pypi,pkgtrace-test-steal-pypirc,1.0.0"
        ]
    );
    // Every finding of every report is a row.
    let report: Value =
        serde_json::from_slice(&std::fs::read(r.join(STEAL_NPMRC).join("1.0.0/report.json")).unwrap()).unwrap();
    let n: usize = report["phases"].as_array().unwrap().iter().map(|p| p["findings"].as_array().unwrap().len()).sum();
    let sql = "SELECT count(*) FROM findings f JOIN package_versions v USING (version_id) WHERE v.name = 'pkgtrace-test-steal-npmrc-dns'";
    assert_eq!(query(r, &["--sql", sql]), [n.to_string()]);
    let phases = query(r, &["--sql", "SELECT phase, status FROM phases p JOIN package_versions v USING (version_id) WHERE v.name LIKE '%benign%' ORDER BY phase"]);
    assert_eq!(phases, ["install,completed", "start,completed"]);
}

#[test]
fn every_filter_answers() {
    let r = shared();
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(packages(&query(r, &["--rule", "read-registry-token"])), set(&[STEAL_NPMRC, STEAL_PYPIRC]));
    assert_eq!(packages(&query(r, &["--severity", "critical"])), set(&[STEAL_NPMRC, STEAL_PYPIRC]));
    let dns = query(r, &["--phase", "install", "--dns", "*.attacker.example"]);
    assert!(dns.iter().any(|row| row.contains("$CANARY_NPM_HEX.x.attacker.example")), "{dns:?}");
    assert_eq!(packages(&dns), set(&[STEAL_NPMRC, STEAL_PYPIRC]));
    assert_eq!(query(r, &["--phase", "start", "--dns", "*.attacker.example"]), Vec::<String>::new());
    let conn = query(r, &["--connects", "exfil.attacker.example:80"]);
    assert_eq!(packages(&conn), set(&[STEAL_NPMRC]), "{conn:?}");
    assert!(query(r, &["--connects", "exfil.attacker.example:81"]).is_empty());
    assert_eq!(packages(&query(r, &["--exec", "node *postinstall.js*"])), set(&[STEAL_NPMRC]));
    assert_eq!(packages(&query(r, &["--file", "$HOME/.pypirc"])), set(&[STEAL_PYPIRC]));
    let npmrc = query(r, &["--file", "$HOME/.npmrc", "--phase", "install"]);
    assert!(packages(&npmrc).contains(STEAL_NPMRC), "{npmrc:?}");
    for row in query(r, &["--file", "**", "--write"]) {
        assert!(row.rsplit(',').next().unwrap().split(' ').next().unwrap().contains(['w', 'd', 'c']), "written: {row}");
    }
    assert_eq!(packages(&query(r, &["--ecosystem", "pypi"])), set(&[STEAL_PYPIRC]));
    assert_eq!(query(r, &["--package", "pkgtrace-test-benign-plain@1.0.0"]).len(), 2, "one row per phase");
    assert!(query(r, &["--package", "pkgtrace-test-benign-plain@9"]).is_empty());
    assert_eq!(query(r, &["--status", "completed"]).len(), 6);
    assert!(query(r, &["--status", "timeout"]).is_empty());
    // Combined filters: both must hold in the same phase.
    assert_eq!(packages(&query(r, &["--rule", "read-registry-token", "--ecosystem", "npm"])), set(&[STEAL_NPMRC]));
    // JSON: one object per row.
    let out = pkgtrace(&["query", "--format", "json", "--rule", "read-registry-token"], r);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows.as_array().unwrap().iter().all(|x| x["kind"] == "finding" && x["version"] == "1.0.0"), "{rows}");
}

#[test]
fn sql_is_read_only() {
    let r = shared();
    let index = r.join(".pkgtrace/index.sqlite");
    let before = std::fs::read(&index).unwrap();
    for bad in
        ["DELETE FROM findings", "DROP TABLE dns", "WITH x AS (SELECT 1) DELETE FROM findings", "ATTACH 'x' AS y"]
    {
        let out = pkgtrace(&["query", "--sql", bad], r);
        assert_eq!(code(&out), 2, "{bad}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "one line: {}", stderr(&out));
    }
    assert_eq!(std::fs::read(&index).unwrap(), before, "the index is unchanged");
}

#[test]
fn a_rebuilt_index_answers_the_same() {
    let r = clone_of("rebuild");
    // A clone has no index: the first query builds it.
    let questions: [&[&str]; 4] = [&["--severity", "low"], &["--dns", "*"], &["--file", "$HOME/*"], &["--exec", "*"]];
    let before: Vec<Vec<String>> = questions.iter().map(|q| query(&r, q)).collect();
    assert!(before.iter().all(|a| !a.is_empty()));
    // A stored report of a newer schema, and a foreign file: warned, skipped.
    let newer = r.join("npm/from-the-future/9.0.0");
    std::fs::create_dir_all(&newer).unwrap();
    std::fs::write(
        newer.join("report.json"),
        r#"{"schema_version": 99, "package": {"ecosystem": "npm", "name": "from-the-future", "version": "9.0.0"}}"#,
    )
    .unwrap();
    std::fs::write(r.join("npm/notes.txt"), "mine").unwrap();
    let out = pkgtrace(&["index", "--rebuild"], &r);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("npm/from-the-future/9.0.0/report.json: schema_version 99 is newer"), "{err}");
    assert!(err.contains("npm/notes.txt: not a file pkgtrace stores"), "{err}");
    assert!(err.contains("indexed 3 stored versions"), "{err}");
    let after: Vec<Vec<String>> = questions.iter().map(|q| query(&r, q)).collect();
    assert_eq!(before, after);
}

#[test]
fn reanalyze_with_a_changed_pack_changes_exactly_its_findings() {
    let r = clone_of("reanalyze");
    // The built-in pack again: the stored events give the stored reports.
    let out = pkgtrace(&["reanalyze"], &r);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing changes with the same pack");
    assert!(stderr(&out).contains("reanalyzed 3 stored versions"), "{}", stderr(&out));
    assert_eq!(git(&r, &["log", "--format=%s"]).lines().count(), 4, "no commit when nothing changed");
    // A pack where read-registry-token is renamed read-registry-token-2.
    let rules = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("rules"), rules.path());
    let old = rules.path().join("credentials/read-registry-token.toml");
    let text = std::fs::read_to_string(&old).unwrap();
    std::fs::remove_file(&old).unwrap();
    std::fs::write(
        rules.path().join("credentials/read-registry-token-2.toml"),
        text.replace("id = \"read-registry-token\"", "id = \"read-registry-token-2\""),
    )
    .unwrap();
    let expected = query(&r, &["--sql", "SELECT v.ecosystem || '/' || v.name || '@' || v.version || ' ' || f.phase || ': ' || f.rule || ' ' || f.subject FROM findings f JOIN package_versions v USING (version_id) WHERE f.rule = 'read-registry-token' ORDER BY 1"]);
    assert!(expected.len() >= 2, "{expected:?}");
    let active = query(&r, &["--rule", "read-registry-token"]).len();
    let out = pkgtrace(&["reanalyze", "--rules", rules.path().to_str().unwrap()], &r);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut appeared = Vec::new();
    let mut disappeared = Vec::new();
    let mut package = String::new();
    for line in stdout(&out).lines() {
        if let Some(f) = line.strip_prefix("  + ") {
            appeared.push(format!("{package} {f}"));
        } else if let Some(f) = line.strip_prefix("  - ") {
            disappeared.push(format!("{package} {f}"));
        } else {
            package = line.to_string();
        }
    }
    disappeared.sort();
    appeared.sort();
    assert_eq!(disappeared, expected, "{}", stdout(&out));
    let renamed: Vec<String> =
        expected.iter().map(|e| e.replace(": read-registry-token ", ": read-registry-token-2 ")).collect();
    assert_eq!(appeared, renamed, "{}", stdout(&out));
    // One commit for the whole reanalysis; the index follows.
    let log = git(&r, &["log", "--format=%s"]);
    assert_eq!(log.lines().count(), 5, "{log}");
    // Every version's meta.json now names the new pack.
    let n = expected.len();
    assert!(log.starts_with(&format!("reanalyze: 3 versions, +{n} -{n} findings (rules ")), "{log}");
    assert!(query(&r, &["--rule", "read-registry-token"]).is_empty());
    assert_eq!(query(&r, &["--rule", "read-registry-token-2"]).len(), active);
    fsck_clean(&r);
    // Back to the built-in pack: the old findings return.
    let out = pkgtrace(&["reanalyze", "pkg:npm/pkgtrace-test-steal-npmrc-dns"], &r);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("  + install: read-registry-token "), "{}", stdout(&out));
    assert!(stderr(&out).contains("reanalyzed 1 stored versions"), "{}", stderr(&out));
}

#[test]
fn a_store_killed_before_its_commit_is_completed_by_the_next() {
    let r = clone_of("killed");
    let flag = tmp().join(format!("results-never-{}", std::process::id()));
    let mut child = run_into(&r, "npm/benign-plain").env("PKGTRACE_TEST_PAUSE_BEFORE_COMMIT", &flag).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !r.join(".pkgtrace/pending").exists() {
        assert!(Instant::now() < deadline, "the store never reached its commit");
        assert!(child.try_wait().unwrap().is_none(), "pkgtrace ended before its commit");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The repository is consistent: whole files, git clean of corruption.
    fsck_clean(&r);
    let report: Value =
        serde_json::from_slice(&std::fs::read(r.join(BENIGN).join("1.0.0/report.json")).unwrap()).unwrap();
    assert_eq!(report["package"]["name"], "pkgtrace-test-benign-plain");
    let commits = git(&r, &["log", "--format=%s"]).lines().count();
    // The next store finishes the killed one first, then stores its own.
    let out = run_into(&r, "npm/benign-plain").output().unwrap();
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let log = git(&r, &["log", "--format=%s", "--", BENIGN]);
    assert_eq!(log.lines().count(), 3, "the clone's, the killed store's, the next one's: {log}");
    assert_eq!(git(&r, &["log", "--format=%s"]).lines().count(), commits + 2);
    assert_eq!(git(&r, &["status", "--porcelain"]), "");
    assert!(!r.join(".pkgtrace/pending").exists());
    assert!(std::fs::read_dir(r.join(".pkgtrace/tmp")).unwrap().next().is_none(), "no temp file is left");
    fsck_clean(&r);
}

#[test]
fn bad_results_paths_are_one_line_errors() {
    let file = tmp().join(format!("results-a-file-{}", std::process::id()));
    std::fs::write(&file, "not a directory").unwrap();
    common::needs_root("pkgtrace run");
    let out = run_into(&file, "npm/benign-plain").output().unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!("pkgtrace: the results path {} is a file, not a directory", file.display())
    );
    let out = pkgtrace(&["query", "--dns", "*"], &file);
    assert_eq!(code(&out), 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // A local edit to a stored report is not overwritten by the next store.
    let r = clone_of("dirty");
    let path = r.join(BENIGN).join("1.0.0/report.json");
    std::fs::write(&path, "edited by hand\n").unwrap();
    let out = run_into(&r, "npm/benign-plain").output().unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has uncommitted changes to npm/pkgtrace-test-benign-plain/1.0.0/report.json"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "edited by hand\n");
}
