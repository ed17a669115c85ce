//! Popular benign packages from the real registries stay quiet (issue
//! "Accuracy"): each is fetched, installed and started by `pkgtrace run`
//! (baselines on, as a user runs it: made once for the test run and put in
//! each test's cache, as a user's cache has them after a first run), and
//! every phase must complete, with no active critical finding and no
//! active high finding other than a network contact to a host the package
//! really uses (better-sqlite3's prebuild download from GitHub).
//!
//! The packages stand for the kinds of install that false alarms come from:
//! a platform binary shipped in an optional dependency and run to check it
//! (esbuild); plain packages with a CLI (typescript, husky); engines or
//! prebuilt addons downloaded at install (better-sqlite3, prisma, whose CLI
//! also runs on `require`); an addon built by node-gyp when its prebuilt
//! download fails (bcrypt); sdists compiled in the sandbox (psutil, PyYAML);
//! a pure-Python wheel (requests); a crate with a build script (libc).
//! `bench/popular-fp.py` measures a longer list.
//!
//! Needs root and the registries (npm, PyPI, crates.io), like CI. A failure
//! lists each offending finding with its subject, process chain and
//! package, so that it says what to fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

mod common;
use common::{Finished, Problems};

/// Per-phase `--timeout`: generous, as registries and compilers vary.
const PHASE_TIMEOUT_SECS: u32 = 300;

/// Past this, pkgtrace itself is killed and the test fails.
const WALL_LIMIT: Duration = Duration::from_secs(900);

/// Rules that flag a network contact: expected when the host is one the
/// package really uses, a finding like any other when it is not.
fn is_network_contact(rule: &str) -> bool {
    rule == "connect-non-registry-host" || rule == "dns-lookup" || rule.starts_with("http-")
}

/// The host a network finding names: `host:port`, a URL or a bare host.
fn host_of(subject: &str) -> &str {
    let s = subject.split_whitespace().next().unwrap_or("");
    let s = s.split_once("://").map_or(s, |(_, rest)| rest.split(['/', '?']).next().unwrap_or(""));
    if let Some(bracketed) = s.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or("");
    }
    match s.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) && !host.contains(':') => host,
        _ => s,
    }
}

/// `host` is one of `hosts` or a sub-domain of one.
fn host_in(host: &str, hosts: &[&str]) -> bool {
    hosts.iter().any(|h| host == *h || host.strip_suffix(h).is_some_and(|rest| rest.ends_with('.')))
}

/// A download cache per package: the control runs stage their empty
/// package under the cache, which two runs of one ecosystem at once must
/// not share.
fn cache(purl: &str) -> PathBuf {
    let label: String = purl.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).collect();
    common::cache(&format!("popular-{label}"))
}

/// An ecosystem's control baselines, made once per test run with
/// `pkgtrace baseline` (each test's run would otherwise make them again, in
/// its own cache): `<dir>/baseline/`.
fn baselines(eco: &str) -> PathBuf {
    common::once_per_run(&format!("popular-baselines-{eco}"), Duration::from_secs(600), |dir| {
        let out = Command::new(common::bin())
            .args(["baseline", "--ecosystem", eco, "--cache"])
            .arg(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{eco} baseline: {}", common::stderr(&out));
    })
}

/// `cache` with its ecosystem's baselines copied in, as a user's cache has
/// them after the first run of that ecosystem.
fn seed_baselines(purl: &str, cache: &Path) {
    let eco = purl.strip_prefix("pkg:").and_then(|p| p.split('/').next()).expect("a purl names its ecosystem");
    let from = baselines(eco).join("baseline");
    let made = std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display())).count();
    assert_eq!(made, 2, "{eco}: the install and start baselines");
    common::copy_dir(&from, &cache.join("baseline"));
}

fn run(purl: &str, extra: &[&str]) -> Finished {
    common::needs_root("pkgtrace run of a registry package");
    let cache = cache(purl);
    seed_baselines(purl, &cache);
    let mut cmd = Command::new(common::bin());
    cmd.args(["run", "--format", "json", "--no-store", "--timeout", &PHASE_TIMEOUT_SECS.to_string(), "--cache"])
        .arg(cache)
        .args(extra)
        .arg(purl)
        .stdin(Stdio::null());
    common::finish(cmd, WALL_LIMIT)
}

/// One line for a finding: what a reader needs to tell what the package
/// really did.
fn describe(phase: &str, f: &Value) -> String {
    let s = |k: &str| f[k].as_str().unwrap_or("-").to_string();
    let evidence = &f["evidence"];
    format!(
        "{phase}: {} [{}] {} (x{}) by {} (pid {}), package {}, {} -> {}",
        s("severity").to_uppercase(),
        s("rule"),
        s("subject"),
        f["count"].as_u64().unwrap_or(1),
        s("process"),
        f["pid"],
        s("package"),
        evidence["syscall"].as_str().unwrap_or("?"),
        evidence["result"].as_str().unwrap_or("?"),
    )
}

/// The phases' statuses, errors and output tails: what the package did
/// when a phase did not complete.
fn context(report: &Value) -> String {
    let mut out = String::new();
    for ph in report["phases"].as_array().map(Vec::as_slice).unwrap_or_default() {
        out.push_str(&format!(
            "== {} {} (exit {}){}\n",
            ph["name"].as_str().unwrap_or("?"),
            ph["status"].as_str().unwrap_or("?"),
            ph["run"]["exit_code"],
            ph["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default(),
        ));
        if ph["status"] != "completed" {
            let text = common::output(ph);
            let lines: Vec<&str> = text.lines().collect();
            for line in &lines[lines.len().saturating_sub(25)..] {
                out.push_str(&format!("   {line}\n"));
            }
        }
    }
    out
}

/// Runs `purl` and checks the goal; `hosts` are the hosts the
/// package really contacts.
fn check(purl: &str, extra: &[&str], hosts: &[&str]) {
    let done = run(purl, extra);
    let report = done.report();
    let what = [&[purl], extra].concat().join(" ");
    let mut problems = Problems::new(&format!("{what} raised false alarms or did not finish"));
    let phases = report["phases"].as_array().map(Vec::as_slice).unwrap_or_default();
    problems.check(!phases.is_empty(), format!("no phase ran; stderr:\n{}", done.stderr));
    for ph in phases {
        let name = ph["name"].as_str().unwrap_or("?");
        let error = ph["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default();
        problems.check(
            ph["status"] == "completed",
            format!("{name} is {} (exit {}){error}", ph["status"], ph["run"]["exit_code"]),
        );
        for f in ph["findings"].as_array().map(Vec::as_slice).unwrap_or_default() {
            if f.get("suppressed_by").is_some() || f["baseline"] == true {
                continue;
            }
            let rule = f["rule"].as_str().unwrap_or("");
            let expected = is_network_contact(rule) && host_in(host_of(f["subject"].as_str().unwrap_or("")), hosts);
            let loud = match f["severity"].as_str() {
                Some("critical") => true,
                Some("high") => !expected,
                _ => false,
            };
            problems.check(!loud, describe(name, f));
        }
    }
    problems.assert_none(&format!("exit {:?}, {:?}\n{}", done.status.code(), done.wall, context(&report)));
}

#[test]
fn npm_esbuild_runs_its_platform_binary() {
    check("pkg:npm/esbuild@0.20.2", &[], &[]);
}

#[test]
fn npm_husky() {
    check("pkg:npm/husky@9.0.11", &[], &[]);
}

#[test]
fn npm_typescript() {
    check("pkg:npm/typescript@5.3.3", &[], &[]);
}

#[test]
fn npm_better_sqlite3_downloads_its_prebuilt_binary() {
    check("pkg:npm/better-sqlite3@9.4.3", &[], &["github.com", "objects.githubusercontent.com"]);
}

/// prisma's CLI, which `require('prisma')` runs, asks where npm installs
/// global packages (`global-dirs` reads `prefix` from ~/.npmrc); its
/// install downloads the query engines.
#[test]
fn npm_prisma_downloads_its_engines() {
    check("pkg:npm/prisma@5.9.1", &[], &["binaries.prisma.sh"]);
}

/// node-pre-gyp downloads a prebuilt addon, and when that fails builds it
/// with node-gyp, which needs node's headers.
#[test]
fn npm_bcrypt_builds_its_addon() {
    check("pkg:npm/bcrypt@5.1.1", &[], &["github.com", "objects.githubusercontent.com", "nodejs.org"]);
}

#[test]
fn pypi_requests_wheel() {
    check("pkg:pypi/requests@2.31.0", &[], &[]);
}

#[test]
fn pypi_pyyaml_sdist_builds() {
    check("pkg:pypi/pyyaml@6.0.1", &["--sdist"], &[]);
}

#[test]
fn pypi_psutil_sdist_compiles_its_c_extension() {
    check("pkg:pypi/psutil@5.9.8", &["--sdist"], &[]);
}

#[test]
fn cargo_libc_build_script() {
    check("pkg:cargo/libc@0.2.153", &[], &[]);
}

#[test]
fn hosts_are_read_from_network_subjects() {
    assert_eq!(host_of("github.com:443"), "github.com");
    assert_eq!(host_of("https://objects.githubusercontent.com/a/b?c=d"), "objects.githubusercontent.com");
    assert_eq!(host_of("nodejs.org"), "nodejs.org");
    assert_eq!(host_of("[2001:db8::1]:443"), "2001:db8::1");
    assert!(host_in("objects.githubusercontent.com", &["githubusercontent.com"]));
    assert!(host_in("github.com", &["github.com"]));
    assert!(!host_in("evilgithub.com", &["github.com"]));
}
