//! `pkgtrace run` end to end on the corpus packages (`corpus/packages/`,
//! expectations in `EXPECTED.toml`): each package is staged from its local
//! directory (no network), installed and started in the sandbox, and its
//! findings are checked. After every run, nothing may have escaped: no
//! process with the run's uid survives, its cgroups are gone, no file appeared on the host, the
//! host's mounts are unchanged, and every connection to a non-loopback
//! address failed. Needs root (namespaces), like CI.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{repo, BIN};

fn mounts() -> usize {
    std::fs::read_to_string("/proc/1/mountinfo").unwrap().lines().count()
}

/// What a run left behind on the host: processes with one of its phases'
/// uids (not counting zombies) and its phases' cgroup directories. Each
/// run has a uid and cgroups of its own, so runs in parallel do not see
/// each other's.
fn left_behind(r: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut uids = Vec::new();
    for ph in r["phases"].as_array().unwrap() {
        let sb = &ph["sandbox"];
        assert!(sb["uid"].as_u64().is_some(), "phase {} has its sandbox identity", ph["name"]);
        uids.push(sb["uid"].to_string());
        for dir in sb["cgroups"].as_array().unwrap() {
            if Path::new(dir.as_str().unwrap()).exists() {
                out.push(format!("cgroup {dir}"));
            }
        }
    }
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else { continue };
        let uid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|v| v.split_whitespace().next());
        let zombie = status.lines().any(|l| l.starts_with("State:") && l.contains('Z'));
        if uid.is_some_and(|u| uids.iter().any(|x| x == u)) && !zombie {
            out.push(format!("process {pid}"));
        }
    }
    out
}

/// `pkgtrace run` on a corpus package: the report and exit code.
fn run(rel: &str, extra: &[&str]) -> (Value, i32) {
    common::needs_root("pkgtrace run");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-cache");
    let out = Command::new(BIN)
        .args(["run", "--format", "json", "--no-store", "--no-baseline", "--timeout", "120", "--cache"])
        .arg(&cache)
        .args(extra)
        .arg(repo().join("corpus/packages").join(rel))
        .output()
        .expect("pkgtrace runs");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{rel}: report is JSON ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr)));
    (report, out.status.code().unwrap_or(-1))
}

fn phase<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["phases"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("phase {name}"))
}

fn active_rules(p: &Value) -> Vec<(String, String)> {
    p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed_by").is_none() && f.get("baseline").is_none())
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["severity"].as_str().unwrap().to_string()))
        .collect()
}

/// Checks one package against EXPECTED.toml and that nothing escaped; the
/// report, for checks of the test's own.
fn check(rel: &str) -> Value {
    let expected: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("corpus/packages/EXPECTED.toml")).unwrap()).unwrap();
    let pkg = expected["package"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"].as_str() == Some(rel))
        .unwrap_or_else(|| panic!("{rel} in EXPECTED.toml"));
    let mounts_before = mounts();
    let (r, code) = run(rel, &[]);
    assert!(code == 0 || code == 1, "{rel}: exit {code}");
    for ph in r["phases"].as_array().unwrap() {
        assert_ne!(ph["status"], "error", "{rel}: {} could not run: {}", ph["name"], ph["error"]);
    }
    for item in pkg.get("must_fire").and_then(|v| v.as_array()).into_iter().flatten() {
        let (ph, rule) = (item["phase"].as_str().unwrap(), item["rule"].as_str().unwrap());
        let got = active_rules(phase(&r, ph));
        assert!(got.iter().any(|(r, _)| r == rule), "{rel}: {rule} must fire in {ph}; got {got:?}");
    }
    for item in pkg.get("must_not_fire").and_then(|v| v.as_array()).into_iter().flatten() {
        let (ph, rule) = (item["phase"].as_str().unwrap(), item["rule"].as_str().unwrap());
        let got = active_rules(phase(&r, ph));
        assert!(!got.iter().any(|(r, _)| r == rule), "{rel}: {rule} must not fire in {ph}; got {got:?}");
    }
    let clean_phases: Vec<&str> = match pkg.get("clean").and_then(|v| v.as_bool()) {
        Some(true) => r["phases"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect(),
        _ => pkg
            .get("clean_phases")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect(),
    };
    for ph in clean_phases {
        let loud: Vec<_> = active_rules(phase(&r, ph)).into_iter().filter(|(_, s)| s != "info" && s != "low").collect();
        assert!(loud.is_empty(), "{rel}: {ph} must be clean; got {loud:?}");
    }
    // Nothing escaped.
    assert_eq!(mounts(), mounts_before, "{rel}: the host's mounts changed");
    let left = left_behind(&r);
    assert!(left.is_empty(), "{rel}: the run left behind: {left:?}");
    // Nothing left the machine: every TCP connection to an internet address
    // that got through landed in a sink (the network section lists it).
    for ph in r["phases"].as_array().unwrap() {
        let sunk: Vec<(String, u64)> = ph["network"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| (x["address"].as_str().unwrap_or("").to_string(), x["port"].as_u64().unwrap_or(0)))
            .collect();
        for c in ph["behaviour"]["connections"].as_array().unwrap() {
            let addr = c["address"].as_str().unwrap_or("");
            let local = addr.starts_with("127.") || addr == "::1" || addr.starts_with('/') || addr.starts_with('@');
            let through = c["result"] == "ok" || c["result"] == "EINPROGRESS";
            if !local && c["family"] != "unix" && c["transport"] == "tcp" && through {
                let port = c["port"].as_u64().unwrap_or(0);
                assert!(
                    sunk.contains(&(addr.to_string(), port)),
                    "{rel}: {addr}:{port} was reached but no sink got it"
                );
            }
        }
    }
    r
}

#[test]
fn npm_steal_npmrc_dns() {
    check("npm/steal-npmrc-dns");
    // The canary's leak is named, with how it left.
    let (r, _) = run("npm/steal-npmrc-dns", &[]);
    let leaked = r["canaries_leaked"].as_array().expect("canaries_leaked");
    assert!(leaked
        .iter()
        .any(|l| l["canary"] == "npm token (~/.npmrc)" && l["via"].as_str().unwrap().starts_with("dns ")));
    assert!(
        leaked.iter().any(|l| l["via"].as_str().unwrap().starts_with("http http://exfil.attacker.example/")),
        "{leaked:?}"
    );
    let network = phase(&r, "install")["network"].as_array().expect("the network section");
    assert!(
        network.iter().any(|x| x["host"] == "exfil.attacker.example" && x["method"].is_string()),
        "the HTTP request reached the sink: {network:?}"
    );
}

#[test]
fn npm_download_exec() {
    check("npm/download-exec");
}

#[test]
fn npm_persistence() {
    check("npm/persistence");
}

#[test]
fn npm_daemon_is_killed_at_the_end() {
    check("npm/daemon");
    let (r, _) = run("npm/daemon", &["--phase", "install"]);
    assert!(phase(&r, "install")["run"]["killed_at_end"].as_u64().unwrap_or(0) >= 1);
}

#[test]
fn npm_escape_attempts_fail() {
    check("npm/escape");
    let leaked: Vec<_> = std::fs::read_dir("/root")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".pkgtrace-escape"))
        .collect();
    assert!(leaked.is_empty(), "a file escaped into the real /root");
    assert!(!Path::new("/etc/pkgtrace-escape").exists());
}

#[test]
fn npm_benign_packages_are_clean() {
    check("npm/benign-native");
    check("npm/benign-plain");
}

/// A program named `node` making libuv's epoll-control rings, as Node 22
/// does at its start: the sandbox refuses them (libuv falls back to
/// epoll_ctl), reports each refusal with the ring's entries and flags, and
/// keeps the finding suppressed; the package's own output shows the calls
/// failed.
#[test]
fn npm_runtime_epoll_ring_is_refused_but_not_an_escape() {
    let r = check("npm/benign-uv-ring");
    let install = phase(&r, "install");
    let out = format!(
        "{}{}",
        install["output"]["stdout"].as_str().unwrap_or(""),
        install["output"]["stderr"].as_str().unwrap_or("")
    );
    assert!(out.contains("uv-ring flags 0x10000: ENOSYS"), "{out}");
    assert!(out.contains("uv-ring flags 0: ENOSYS"), "{out}");
    let refusal = install["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "refused-escape-from-tracing")
        .unwrap_or_else(|| panic!("no refused-escape-from-tracing finding: {}", install["findings"]));
    assert!(refusal["suppressed_by"].as_str().is_some_and(|why| why.contains("epoll-control ring")), "{refusal}");
    assert_eq!(refusal["count"], 2, "{refusal}");
}

#[test]
fn npm_start_time_behaviour() {
    check("npm/start-time");
}

#[test]
fn a_missing_package_is_a_one_line_error() {
    let out = Command::new(BIN).args(["run", "--no-store", "/nonexistent/package"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = Command::new(BIN).args(["run", "--no-store", "pkg:gem/rails@7.0.0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Runs a corpus package's install phase with `--results`, and reads the
/// report stored under `stored_dir/<version>/`.
fn run_and_read_stored(rel: &str, results: &Path, cache: &Path, stored_dir: &str) -> Value {
    common::needs_root("pkgtrace run");
    let out = Command::new(BIN)
        .args(["run", "--format", "json", "--no-baseline", "--phase", "install", "--cache"])
        .arg(cache)
        .arg("--results")
        .arg(results)
        .arg(repo().join("corpus/packages").join(rel))
        .output()
        .unwrap();
    assert!(out.status.code().unwrap_or(9) <= 1, "{}", String::from_utf8_lossy(&out.stderr));
    let version = std::fs::read_dir(results.join(stored_dir)).unwrap().next().unwrap().unwrap().path();
    serde_json::from_str(&std::fs::read_to_string(version.join("report.json")).unwrap()).unwrap()
}

#[test]
fn reports_are_stored_atomically_and_equal_across_runs() {
    let results = Path::new(env!("CARGO_TARGET_TMPDIR")).join("results");
    let _ = std::fs::remove_dir_all(&results);
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-cache");
    let stored: Vec<Value> = (0..2)
        .map(|_| run_and_read_stored("npm/steal-npmrc-dns", &results, &cache, "npm/pkgtrace-test-steal-npmrc-dns"))
        .collect();
    // Canary values differ per run; stored reports use placeholders.
    let text = stored[0].to_string();
    assert!(text.contains("$CANARY_NPM"), "canaries are replaced by placeholders");
    assert!(!text.contains("CANARY-npm-"), "no raw canary value is stored");
    assert_eq!(stored[0]["phases"][0]["findings"], stored[1]["phases"][0]["findings"]);
    assert_eq!(stored[0]["canaries_leaked"], stored[1]["canaries_leaked"]);
    assert!(text.contains("$HOME/.npmrc"), "sandbox paths are placeholders");
    // pip's temp names are random per run; the stored reports still match.
    let py: Vec<Value> =
        (0..2).map(|_| run_and_read_stored("pypi/benign", &results, &cache, "pypi/pkgtrace-test-benign")).collect();
    // The findings match; the raw file list still has pip's other random
    // temp names (`.pyc.<id>` and the like) in it.
    assert_eq!(py[0]["phases"][0]["findings"], py[1]["phases"][0]["findings"]);
    let leftovers: Vec<_> = std::fs::read_dir(results.join("npm/pkgtrace-test-steal-npmrc-dns/1.0.0"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");
}

#[test]
fn pypi_steal_pypirc() {
    check("pypi/steal-pypirc");
}

#[test]
fn pypi_benign_is_clean() {
    check("pypi/benign");
}

#[test]
fn cargo_build_script_reads_credentials() {
    check("cargo/build-rs-exfil");
}

#[test]
fn cargo_benign_is_clean() {
    check("cargo/benign");
}

/// The control run of an empty package labels the runtime's own noise
/// `baseline`; package code doing what the package manager also does (npm
/// reads ~/.npmrc) stays a finding.
#[test]
fn baseline_labels_runtime_noise_not_package_behaviour() {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("baseline-cache");
    let out = Command::new(BIN)
        .args(["run", "--format", "json", "--no-store", "--cache"])
        .arg(&cache)
        .arg(repo().join("corpus/packages/npm/steal-npmrc-dns"))
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let install = phase(&r, "install");
    let findings = install["findings"].as_array().unwrap();
    let openssl = findings.iter().find(|f| f["rule"] == "openssl-config-system").expect("node opens openssl.cnf");
    assert_eq!(openssl["baseline"], true);
    let token = findings
        .iter()
        .find(|f| {
            f["rule"] == "read-registry-token"
                && f["subject"].as_str() == Some(&format!("{}/.npmrc", install["sandbox"]["home"].as_str().unwrap()))
        })
        .expect("the package read ~/.npmrc");
    assert!(token.get("baseline").is_none() && token.get("suppressed_by").is_none(), "{token}");
    assert!(cache.join("baseline/npm-install.v2.json").exists(), "the control run is cached");
}

#[test]
fn a_package_that_allocates_without_bound_is_stopped() {
    let (r, _) = run("npm/memhog", &["--memory", "256", "--phase", "install"]);
    let install = phase(&r, "install");
    assert_eq!(install["status"], "failed", "{}", install["run"]);
    assert!(install["error"].as_str().unwrap_or("").contains("memory limit"), "{}", install["error"]);
    let left = left_behind(&r);
    assert!(left.is_empty(), "the run left behind: {left:?}");
}

/// The start phase imports what the installed distribution provides, not a
/// guess from the project's files: odd-layout's distribution
/// (`pkgtrace-test-odd-layout`) installs `oddmod` from `src/`, and a
/// developer script at its root, `odd_layout.py`, is what a guess from the
/// layout picks (and would fail to import).
#[test]
fn pypi_start_imports_the_installed_distributions_module() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory that does not exist yet is made.
    let events = tmp.path().join("events/odd-layout");
    let (r, code) = run("pypi/odd-layout", &["--events", events.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "exit {code}");
    let install = phase(&r, "install");
    assert_eq!(install["status"], "completed", "{}", install["error"]);
    let start = phase(&r, "start");
    assert_eq!(start["status"], "completed", "{}: {}", start["error"], start["output"]);
    // The staging's guess, the fallback, is the developer script.
    let argv = &start["behaviour"]["commands"][0]["argv"];
    assert_eq!(
        argv.as_array().unwrap()[1..],
        ["pkgtrace-start.py", "pkgtrace-test-odd-layout", "odd_layout"],
        "{argv}"
    );
    let stderr = start["output"]["stderr"].as_str().unwrap();
    assert!(stderr.contains("pkgtrace-start: imported oddmod"), "{stderr}");
    assert!(!stderr.contains("failed"), "{stderr}");
    // The venv is inside the project, so its files are only counted in the
    // report; the recorded events show the import opening the installed package.
    // (python opens the installed package's source or the .pyc compiled at install).
    let recorded = recorded_events(&events.join("start.events.jsonl"));
    let opened = |ev: &Value| ev["kind"] == "open" && ev["result"]["errno"].is_null();
    assert!(
        recorded.iter().any(|ev| opened(ev) && ev["path"].as_str().unwrap_or("").contains("/site-packages/oddmod/")),
        "the start phase opened the installed oddmod"
    );
    assert!(
        !recorded.iter().any(|ev| ev["path"].as_str().unwrap_or("").ends_with("odd_layout.py")),
        "the developer script was never looked at"
    );
}

/// The events `--events` recorded in `path`.
fn recorded_events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The venv pkgtrace creates before pip is its own set-up, not the package's
/// behaviour: it runs in the sandbox, but its events are not analyzed nor
/// recorded, so pip and the build running the venv's python is not running
/// "a file created in this run".
#[test]
fn pypi_venv_set_up_is_not_package_behaviour() {
    let events = tempfile::tempdir().unwrap();
    let (r, code) = run("pypi/benign", &["--phase", "install", "--events", events.path().to_str().unwrap()]);
    assert!(code == 0 || code == 1, "exit {code}");
    let install = phase(&r, "install");
    assert_eq!(install["status"], "completed", "{}", install["error"]);
    let created: Vec<_> =
        install["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "exec-file-created-in-run").collect();
    assert!(created.is_empty(), "the venv's python is not a file created in this run: {created:?}");
    let commands: Vec<String> = install["behaviour"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap_or("")).collect::<Vec<_>>().join(" "))
        .collect();
    assert!(commands.first().is_some_and(|c| c.contains("-m pip install")), "the phase begins with pip: {commands:?}");
    assert!(!commands.iter().any(|c| c.contains("-m venv")), "the venv's creation is not reported: {commands:?}");
    let execs: Vec<String> = recorded_events(&events.path().join("install.events.jsonl"))
        .iter()
        .filter(|ev| ev["kind"] == "exec")
        .map(|ev| ev["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap_or("")).collect::<Vec<_>>().join(" "))
        .collect();
    assert!(execs.first().is_some_and(|c| c.contains("-m pip install")), "the recording begins with pip: {execs:?}");
    assert!(!execs.iter().any(|c| c.contains("-m venv") || c.contains("ensurepip")), "{execs:?}");
    // `pkgtrace analyze` reads the recording back (its trailer carries the
    // run's outcome, not a log's figures).
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json"])
        .arg(events.path().join("install.events.jsonl"))
        .output()
        .expect("pkgtrace runs");
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "analyze exit {code}: {}", String::from_utf8_lossy(&out.stderr));
    let again: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert!(again["stats"]["events"].as_u64().is_some_and(|n| n > 0), "{}", again["stats"]);
}

/// A set-up command that fails makes the phase `error`, naming it, and the
/// package's own commands do not run. PyPI's venv is normally a copy of one
/// made once (`run::venv`); with no template to be had (here the cache has a
/// file where its directory goes) the set-up command makes it in the
/// sandbox, and the process limit stops its ensurepip subprocess.
#[test]
fn pypi_failed_set_up_is_a_phase_error() {
    common::needs_root("pkgtrace run");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("run-cache-no-venv-{}", common::random_hex(4)));
    std::fs::create_dir_all(cache.join("pypi")).unwrap();
    std::fs::write(cache.join("pypi/venv"), "not a directory").unwrap();
    let out = Command::new(BIN)
        .args(["run", "--format", "json", "--no-store", "--no-baseline", "--timeout", "120", "--cache"])
        .arg(&cache)
        .args(["--phase", "install", "--pids", "2"])
        .arg(repo().join("corpus/packages/pypi/benign"))
        .output()
        .expect("pkgtrace runs");
    let r: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let install = phase(&r, "install");
    assert_eq!(install["status"], "error", "{}", install["run"]);
    let error = install["error"].as_str().unwrap_or("");
    assert!(error.starts_with("pkgtrace's set-up command `python3 -m venv .venv` "), "{error}");
    assert!(install["behaviour"]["commands"].as_array().unwrap().is_empty(), "pip did not run");
    let left = left_behind(&r);
    assert!(left.is_empty(), "the run left behind: {left:?}");
}
