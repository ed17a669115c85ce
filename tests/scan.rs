//! `pkgtrace scan` end to end (root): a list mixing corpus packages that
//! behave, steal, hang, fork-bomb, fail to fetch and a bad line, with two
//! jobs; a scan interrupted (SIGINT, and SIGKILL mid-package) and
//! restarted; three shards merged; a SIGKILLed scanner's runs and sandboxes
//! ending with it. Each compares what the repository holds, not only what
//! the scanner printed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{needs_root, repo, wait_with_limit, BIN};
use serde_json::Value;

fn corpus(rel: &str) -> String {
    repo().join("corpus/packages").join(rel).display().to_string()
}

fn tmp(label: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scan").join(format!("{label}-{}", common::random_hex(4)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn scan(list: &Path, results: &Path, cache: &Path, extra: &[&str]) -> Command {
    needs_root("pkgtrace scan");
    let mut cmd = Command::new(BIN);
    cmd.arg("scan")
        .arg(list)
        .arg("--results")
        .arg(results)
        .arg("--cache")
        .arg(cache)
        .args(["--format", "json"])
        .args(if extra.contains(&"--timeout") { &[][..] } else { &["--timeout", "10"][..] })
        .args(extra)
        .stdin(Stdio::null());
    cmd
}

fn summary(cmd: Command) -> (i32, Value, String) {
    let f = common::finish(cmd, Duration::from_secs(150));
    let s = serde_json::from_slice(&f.stdout).unwrap_or_else(|e| panic!("summary not JSON ({e}): {}", f.stderr));
    (f.status.code().unwrap_or(-1), s, f.stderr)
}

/// Each stored version and its active findings (rule, severity), sorted:
/// what two scans of the same packages must agree on (timings and run
/// identities differ by nature).
fn contents(results: &Path) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    let listing = Command::new("git").arg("-C").arg(results).args(["ls-files", "*/report.json"]).output().unwrap();
    for path in String::from_utf8_lossy(&listing.stdout).lines() {
        let report: Value = serde_json::from_slice(&std::fs::read(results.join(path)).unwrap()).unwrap();
        let mut findings: Vec<(String, String)> = report["phases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["findings"].as_array().cloned().unwrap_or_default())
            .filter(|f| f["baseline"] != true && f["suppressed_by"].is_null())
            .map(|f| (f["rule"].as_str().unwrap().to_string(), f["severity"].as_str().unwrap().to_string()))
            .collect();
        findings.sort();
        findings.dedup();
        out.insert(path.trim_end_matches("/report.json").to_string(), findings);
    }
    out
}

/// The index's answer to a question every scan must agree on.
fn index_answer(results: &Path) -> Vec<String> {
    let out = Command::new(BIN)
        .args(["query", "--format", "json", "--results"])
        .arg(results)
        .args(["--sql", "SELECT ecosystem, name, version, findings, max_severity FROM package_versions ORDER BY name"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut rows: Vec<String> = v.as_array().unwrap().iter().map(|r| r.to_string()).collect();
    rows.sort();
    rows
}

#[test]
fn a_mixed_list_with_two_jobs_stores_or_records_every_package() {
    let dir = tmp("mixed");
    let list = dir.join("list.txt");
    std::fs::write(
        &list,
        format!(
            "# benign, malicious, a hang, a fork bomb, a fetch that fails, a bad line\n{}\n{}\n\n{}\n{}\npkg:npm/pkgtrace-does-not-exist-xyz@1.0.0\npkg:npm/%%%\n{}  # again\n",
            corpus("npm/benign-plain"),
            corpus("npm/steal-npmrc-dns"),
            corpus("npm/outcome-hang"),
            corpus("npm/hostile-fork-bomb"),
            corpus("npm/benign-plain"),
        ),
    )
    .unwrap();
    let results = dir.join("results");
    let (code, s, stderr) = summary(scan(&list, &results, &dir.join("cache"), &["--jobs", "2", "--timeout", "5"]));
    assert_eq!(code, 1, "the malicious package makes the scan exit 1; stderr:\n{stderr}");
    assert_eq!(s["total"], 5, "the duplicate is scanned once: {s}");
    assert_eq!(s["scanned"], 5, "{s}");
    assert_eq!(s["bad_lines"].as_array().unwrap().len(), 1, "{s}");
    assert!(s["bad_lines"][0]["at"].as_str().unwrap().ends_with("list.txt:8"), "{s}");
    assert_eq!(s["failed"]["fetch"], 1, "{s}");
    assert!(s["failed"]["timeout"].as_u64().unwrap() >= 1, "the hang times out: {s}");
    assert!(s["flagged"]["critical"].as_u64().unwrap() >= 1, "{s}");
    // Everything but the fetch failure has a stored report.
    let stored = contents(&results);
    for name in ["benign-plain", "steal-npmrc-dns", "outcome-hang", "hostile-fork-bomb"] {
        assert!(stored.keys().any(|k| k.starts_with("npm/") && k.contains(name)), "{name} not stored: {stored:?}");
    }
    let steal = stored.iter().find(|(k, _)| k.contains("steal-npmrc-dns")).unwrap().1;
    assert!(steal.iter().any(|(_, sev)| sev == "critical"), "the stealer is flagged: {steal:?}");
    let benign = stored.iter().find(|(k, _)| k.contains("benign-plain")).unwrap().1;
    assert!(benign.iter().all(|(_, sev)| sev != "critical" && sev != "high"), "{benign:?}");
    // The failures are recorded for --retry-failed, the fetch error among them.
    let failures = std::fs::read_to_string(results.join(".pkgtrace/failures.jsonl")).unwrap();
    assert!(failures.contains("pkgtrace-does-not-exist-xyz") && failures.contains("\"fetch\""), "{failures}");
    assert!(failures.contains("outcome-hang") && failures.contains("\"timeout\""), "{failures}");
    // A second scan skips everything stored and retries nothing else.
    let (_, again, _) = summary(scan(&list, &results, &dir.join("cache"), &["--jobs", "2", "--timeout", "5"]));
    assert_eq!(again["skipped"], 4, "{again}");
    assert_eq!(again["scanned"], 1, "only the fetch failure (not stored) runs again: {again}");
}

#[test]
fn interrupted_restarted_and_sharded_scans_equal_the_whole() {
    let dir = tmp("resume");
    let cache = dir.join("cache");
    let list = dir.join("list.txt");
    let packages = ["npm/benign-plain", "npm/steal-npmrc-dns", "npm/outcome-fail", "npm/net-ip-first"];
    std::fs::write(&list, packages.iter().map(|p| corpus(p) + "\n").collect::<String>()).unwrap();

    // The whole, uninterrupted.
    let whole = dir.join("whole");
    let (_, s, stderr) = summary(scan(&list, &whole, &cache, &["--jobs", "2"]));
    assert_eq!(s["stored"], 4, "{s}\n{stderr}");
    let expected = contents(&whole);
    assert_eq!(expected.len(), 4);

    // Interrupted (SIGINT, as Ctrl-C) once the first package landed, then restarted.
    let resumed = dir.join("resumed");
    let mut child =
        scan(&list, &resumed, &cache, &["--jobs", "1"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while contents_if_any(&resumed).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(90), "no package landed");
        std::thread::sleep(Duration::from_millis(100));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let status = wait_with_limit(&mut child, Duration::from_secs(30)).expect("the scan stops on SIGINT");
    assert_eq!(status.code(), Some(4), "an interrupted scan is incomplete");
    let partial = contents(&resumed);
    assert!(!partial.is_empty() && partial.len() < 4, "{partial:?}");
    let git_ok = Command::new("git").arg("-C").arg(&resumed).args(["fsck", "--no-progress"]).output().unwrap();
    assert!(git_ok.status.success(), "{}", String::from_utf8_lossy(&git_ok.stderr));
    let (_, s, _) = summary(scan(&list, &resumed, &cache, &["--jobs", "2"]));
    assert_eq!(s["skipped"].as_u64().unwrap() as usize, partial.len(), "{s}");
    assert_eq!(contents(&resumed), expected, "restarted = uninterrupted");
    assert_eq!(index_answer(&resumed), index_answer(&whole));

    // Shards 0/3, 1/3, 2/3, merged.
    let mut shards = Vec::new();
    let mut sizes = 0;
    for i in 0..3 {
        let shard = dir.join(format!("shard{i}"));
        let (_, s, _) = summary(scan(&list, &shard, &cache, &["--jobs", "2", "--shard", &format!("{i}/3")]));
        sizes += s["total"].as_u64().unwrap();
        shards.push(shard);
    }
    assert_eq!(sizes, 4, "every package in exactly one shard");
    let merged = dir.join("merged");
    let out = Command::new(BIN).arg("merge").arg("--results").arg(&merged).args(&shards).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(contents(&merged), expected, "merged shards = the whole");
    assert_eq!(index_answer(&merged), index_answer(&whole));
    // History kept: each stored version's commit is in the merged log.
    let log = Command::new("git").arg("-C").arg(&merged).args(["log", "--format=%s"]).output().unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    for name in ["benign-plain", "steal-npmrc-dns", "outcome-fail", "net-ip-first"] {
        assert!(
            log.lines().any(|l| l.starts_with("npm/") && l.contains(name)),
            "{name} missing from the history:\n{log}"
        );
    }
}

fn contents_if_any(results: &Path) -> Vec<PathBuf> {
    if !results.join(".git").exists() {
        return Vec::new();
    }
    let out = Command::new("git").arg("-C").arg(results).args(["log", "--format=%s"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("npm/")).map(PathBuf::from).collect()
}

/// Every descendant of `pid`, from `/proc/<pid>/task/*/children`.
fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for task in std::fs::read_dir(format!("/proc/{p}/task")).into_iter().flatten().flatten() {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for c in children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
}

#[test]
fn a_scanner_killed_with_sigkill_takes_its_runs_and_their_sandboxes_with_it() {
    let dir = tmp("sigkill");
    let list = dir.join("list.txt");
    std::fs::write(&list, corpus("npm/outcome-hang") + "\n").unwrap();
    let mut scanner = scan(&list, &dir.join("results"), &dir.join("cache"), &["--timeout", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let scanner_pid = scanner.id() as i32;
    // Wait until the package's install runs: the child run, its sandbox's
    // init and the package's processes (more than the run alone).
    let start = Instant::now();
    let mut family = Vec::new();
    while family.len() < 4 {
        assert!(start.elapsed() < Duration::from_secs(60), "the run never got going: {family:?}");
        std::thread::sleep(Duration::from_millis(200));
        family = descendants(scanner_pid);
    }
    std::thread::sleep(Duration::from_millis(500));
    let family = descendants(scanner_pid);
    scanner.kill().unwrap();
    scanner.wait().unwrap();
    let start = Instant::now();
    loop {
        let left: Vec<i32> = family.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "still running after the scanner died: {left:?} of {family:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_scan_killed_with_sigkill_mid_package_and_restarted_ends_as_an_uninterrupted_one() {
    let dir = tmp("sigkill-resume");
    let cache = dir.join("cache");
    let list = dir.join("list.txt");
    let packages = ["npm/benign-plain", "npm/steal-npmrc-dns", "npm/net-ip-first"];
    std::fs::write(&list, packages.iter().map(|p| corpus(p) + "\n").collect::<String>()).unwrap();
    let whole = dir.join("whole");
    let (_, s, stderr) = summary(scan(&list, &whole, &cache, &["--jobs", "1"]));
    assert_eq!(s["stored"], 3, "{s}\n{stderr}");
    let expected = contents(&whole);

    // Killed (SIGKILL: no clean-up at all) once a package landed and the
    // next one is running in its sandbox.
    let resumed = dir.join("resumed");
    let mut scanner =
        scan(&list, &resumed, &cache, &["--jobs", "1"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while contents_if_any(&resumed).is_empty() || descendants(scanner.id() as i32).len() < 3 {
        assert!(start.elapsed() < Duration::from_secs(90), "no package landed with the next one running");
        std::thread::sleep(Duration::from_millis(50));
    }
    scanner.kill().unwrap();
    scanner.wait().unwrap();
    let partial = contents(&resumed);
    assert!(!partial.is_empty() && partial.len() < 3, "{partial:?}");
    let (_, s, stderr) = summary(scan(&list, &resumed, &cache, &["--jobs", "1"]));
    assert_eq!(s["skipped"].as_u64().unwrap() as usize, partial.len(), "{s}\n{stderr}");
    assert_eq!(contents(&resumed), expected, "restarted after SIGKILL = uninterrupted");
    assert_eq!(index_answer(&resumed), index_answer(&whole));
    let fsck = Command::new("git").arg("-C").arg(&resumed).args(["fsck", "--no-progress"]).output().unwrap();
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stderr));
}
