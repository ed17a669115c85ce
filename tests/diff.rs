//! `pkgtrace diff` end to end. The corpus package `npm/diff-base` comes in
//! five versions (`corpus/packages/npm/diff-base/<version>-<what>`): a
//! benign 1.0.0 that writes a cache file named by a content hash under a
//! directory named by its version, a 1.0.1 that only bumps its version and
//! renames that hashed file, and three versions that add one behaviour
//! each (1.1.0 a DNS beacon with hex-encoded data, 1.2.0 a postinstall
//! script, 1.3.0 a run of a program it ships). All five are run into one
//! fresh results repository (root: sandboxed runs); the diffs must name
//! exactly the added behaviour, and the bump must be "no behaviour change".
//! Also: lockfile pairs, bad input, SARIF's shape, and one real registry
//! pair (core-js 2.6.5 → 2.6.6, which added its postinstall banner script).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::{code, repo, stderr, stdout, BIN};

const NAME: &str = "pkgtrace-test-diff-base";
const VERSIONS: [&str; 5] = ["1.0.0", "1.0.1-bump", "1.1.0-dns", "1.2.0-script", "1.3.0-binary"];

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The results repository with every diff-base version stored, and
/// benign-plain: run in parallel, once per test run
/// ([`common::once_per_run`]), shared by the tests.
fn stored() -> &'static Path {
    static REPO: OnceLock<PathBuf> = OnceLock::new();
    REPO.get_or_init(|| {
        common::needs_root("pkgtrace run");
        common::once_per_run("diff-results", Duration::from_secs(400), |results| {
            let mut dirs: Vec<String> = VERSIONS.iter().map(|v| format!("npm/diff-base/{v}")).collect();
            dirs.push("npm/benign-plain".into());
            let caches = &results.with_extension("caches");
            std::thread::scope(|s| {
                for (i, d) in dirs.iter().enumerate() {
                    s.spawn(move || {
                        let out = Command::new(BIN)
                            .args(["run", "--format", "json", "--no-baseline", "--timeout", "120", "--results"])
                            .arg(results)
                            .arg("--cache")
                            // A cache each, as a user diffing two checkouts
                            // might keep them (concurrent runs of one local
                            // package in one cache are tested in package/).
                            .arg(caches.join(i.to_string()))
                            .arg(repo().join("corpus/packages").join(d))
                            .output()
                            .unwrap();
                        assert!(code(&out) <= 1, "{d}: {}", stderr(&out));
                    });
                }
            });
        })
    })
}

fn diff(args: &[&str]) -> Output {
    Command::new(BIN).arg("diff").args(args).output().unwrap()
}

fn purl(v: &str) -> String {
    format!("pkg:npm/{NAME}@{v}")
}

/// A change as (phase, sign, kind, text).
type Row = (String, String, String, String);

/// `diff --format json` of two stored versions: the changes, the JSON and the exit code.
fn changes(old: &str, new: &str, extra: &[&str]) -> (Vec<Row>, Value, i32) {
    let results = stored().to_str().unwrap();
    let mut args = vec!["--no-run", "--results", results, "--format", "json"];
    args.extend_from_slice(extra);
    let (a, b) = (purl(old), purl(new));
    args.push(&a);
    args.push(&b);
    let out = diff(&args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("JSON ({e}): {}", stderr(&out)));
    let mut list = Vec::new();
    for d in v["diffs"].as_array().unwrap() {
        for p in d["phases"].as_array().unwrap() {
            for c in p["changes"].as_array().unwrap() {
                let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
                list.push((p["phase"].as_str().unwrap().to_string(), s("sign"), s("kind"), s("text")));
            }
        }
    }
    (list, v, code(&out))
}

#[test]
fn a_version_bump_alone_is_no_behaviour_change() {
    let results = stored().to_str().unwrap();
    for (a, b) in [("1.0.0", "1.0.1"), ("1.0.0", "1.0.0")] {
        let out = diff(&["--no-run", "--results", results, &purl(a), &purl(b)]);
        assert_eq!(code(&out), 0, "{a} → {b}: {}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(text.lines().last(), Some("no behaviour change"), "{a} → {b}:\n{text}");
    }
    // The range shorthand says the same.
    let out = diff(&["--no-run", "--results", results, &format!("pkg:npm/{NAME}@1.0.0..1.0.1")]);
    assert_eq!((code(&out), stdout(&out).lines().last().map(String::from)), (0, Some("no behaviour change".into())));
}

#[test]
fn a_dns_beacon_is_named_and_fails_the_gate() {
    let (list, v, c) = changes("1.0.0", "1.1.0", &[]);
    assert_eq!(c, 1, "a new high finding (dns-encoded-label) exits 1: {list:?}");
    assert!(list.iter().all(|(phase, sign, ..)| phase == "start" && sign == "added"), "{list:?}");
    let kinds: Vec<(&str, &str)> = list.iter().map(|(_, _, k, t)| (k.as_str(), t.as_str())).collect();
    let beacon = "646966662d626173652d626561636f6e.x.diff-exfil.example";
    assert_eq!(
        kinds,
        [
            ("finding", format!("high dns-encoded-label: {beacon}").as_str()),
            ("dns", format!("DNS {beacon}").as_str()),
            ("finding", format!("low dns-lookup: {beacon}").as_str()),
        ],
        "exactly the DNS lookup and its findings, most severe first"
    );
    assert_eq!(v["line"], "1 new behaviour, 1 new high finding, 1 new low finding");
    // --fail-on critical lets it pass.
    let (_, _, c) = changes("1.0.0", "1.1.0", &["--fail-on", "critical"]);
    assert_eq!(c, 0);
}

#[test]
fn a_new_install_script_is_named() {
    let (list, v, c) = changes("1.0.0", "1.2.0", &[]);
    let got: Vec<_> = list.iter().map(|(p, s, k, t)| format!("{p} {s} {k} {t}")).collect();
    assert_eq!(
        got,
        ["install added script lifecycle script: node setup.js", "install added command node setup.js"],
        "the lifecycle script is detected from npm's `sh -c` of it"
    );
    assert_eq!((c, v["line"].as_str()), (0, Some("2 new behaviours")), "no finding at or above high: exit 0");
}

#[test]
fn a_shipped_program_run_is_named() {
    let (list, _, c) = changes("1.0.0", "1.3.0", &["--fail-on", "info"]);
    let got: Vec<_> = list.iter().map(|(p, s, k, t)| format!("{p} {s} {k} {t}")).collect();
    assert_eq!(
        got,
        [
            "start added command /bin/sh $PKG/node_modules/pkgtrace-test-diff-base/bin/helper.sh",
            "start added command uname -s",
            "start added finding info exec-recon-tool: uname -s",
        ]
    );
    assert_eq!(c, 1, "--fail-on info: the new info finding fails");
    // And back: the same behaviours, gone, exit 0.
    let (back, v, c) = changes("1.3.0", "1.0.0", &[]);
    assert!(back.iter().all(|(_, s, ..)| s == "removed") && back.len() == 3, "{back:?}");
    assert_eq!((c, v["line"].as_str()), (0, Some("2 behaviours gone, 1 finding gone")));
}

#[test]
fn a_name_alone_is_its_two_newest_stored_versions_and_markdown_is_a_comment() {
    let results = stored().to_str().unwrap();
    let out = diff(&["--no-run", "--results", results, "--format", "markdown", &format!("pkg:npm/{NAME}")]);
    let md = stdout(&out);
    assert!(md.starts_with("### pkgtrace diff\n\n**"), "{md}");
    assert!(
        md.contains(&format!("`pkg:npm/{NAME}@1.2.0 → pkg:npm/{NAME}@1.3.0`")),
        "1.2.0 and 1.3.0 are the newest:\n{md}"
    );
    assert!(md.contains("```diff\n+ command"), "{md}");
    assert!(md.contains("- script"), "1.3.0 has no install script:\n{md}");
}

#[test]
fn a_lockfile_bump_is_one_summary_and_one_exit_code() {
    let results = stored().to_str().unwrap();
    let dir = tmp().join(format!("diff-lock-{}", common::random_hex(4)));
    std::fs::create_dir_all(&dir).unwrap();
    let lock = |name: &str, entries: &[(&str, &str, &str)]| {
        let mut packages = serde_json::Map::new();
        packages.insert("".into(), serde_json::json!({"name": "app", "version": "1.0.0"}));
        for (path, n, v) in entries {
            packages.insert(format!("node_modules/{path}"), serde_json::json!({"name": n, "version": v}));
        }
        let p = dir.join(name);
        std::fs::create_dir_all(&p).unwrap();
        let f = p.join("package-lock.json");
        std::fs::write(&f, serde_json::json!({"lockfileVersion": 3, "packages": packages}).to_string()).unwrap();
        f
    };
    let old =
        lock("old", &[(NAME, NAME, "1.0.0"), ("pkgtrace-test-benign-plain", "pkgtrace-test-benign-plain", "1.0.0")]);
    // Three changed: diff-base 1.0.0 → 1.1.0 (the DNS beacon), and two
    // nested copies at 1.2.0 (an install script) and 1.3.0 (a shipped
    // program run), each against the old lockfile's 1.0.0; benign-plain is
    // unchanged and not diffed.
    let new = lock(
        "new",
        &[
            (NAME, NAME, "1.1.0"),
            (&format!("a/node_modules/{NAME}"), NAME, "1.2.0"),
            (&format!("b/node_modules/{NAME}"), NAME, "1.3.0"),
            ("pkgtrace-test-benign-plain", "pkgtrace-test-benign-plain", "1.0.0"),
        ],
    );
    let out = diff(&["--lockfile", "--no-run", "--results", results, old.to_str().unwrap(), new.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "the DNS beacon's high finding fails the gate:\n{text}{}", stderr(&out));
    let last = text.lines().last().unwrap();
    assert_eq!(
        last, "3 changed packages: 5 new behaviours, 1 new high finding, 1 new low finding, 1 new info finding",
        "{text}"
    );
    assert_eq!(text.matches(" → ").count(), 3, "one heading per changed package:\n{text}");

    // A new dependency is diffed against nothing: all its behaviour is new.
    let none = lock("none", &[]);
    let only = lock("only", &[("pkgtrace-test-benign-plain", "pkgtrace-test-benign-plain", "1.0.0")]);
    let out = diff(&[
        "--lockfile",
        "--no-run",
        "--results",
        results,
        "--format",
        "json",
        none.to_str().unwrap(),
        only.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["diffs"][0]["old"], Value::Null);
    assert!(v["summary"]["new_behaviours"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(code(&out), 0, "benign-plain has no finding at or above high");

    // The same lockfile twice: nothing to diff.
    let out = diff(&["--lockfile", "--no-run", "--results", results, new.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!((code(&out), stdout(&out).trim()), (0, "0 changed packages: no behaviour change"));
}

#[test]
fn bad_input_exits_2() {
    let empty = tmp().join("diff-empty-results");
    let e = empty.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["/nonexistent/report.json", "/nonexistent/other.json"],
        vec!["--no-run", "--results", e, "pkg:npm/left-pad@1.3.0", "pkg:npm/left-pad@1.3.1"],
        vec!["--results", e, "pkg:npm/left-pad"],
        vec!["pkg:npm/left-pad..1.3.0"],
        vec!["--lockfile", "/nonexistent/package-lock.json", "/nonexistent/b.json"],
        vec!["--lockfile", "only-one.json"],
    ];
    for args in cases {
        let out = diff(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("pkgtrace: "), "{args:?}: one line: {}", stderr(&out));
    }
    let newer = tmp().join("diff-newer-schema.json");
    std::fs::write(
        &newer,
        r#"{"schema_version":99,"phases":[],"stats":{"lines":0,"events":0,"unparsed":0,"processes":0}}"#,
    )
    .unwrap();
    let out = diff(&[newer.to_str().unwrap(), newer.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("schema_version 99"), "{}", stderr(&out));
}

/// The fields SARIF 2.1.0 requires (and the ones code-scanning tools read),
/// checked without fetching the schema.
fn assert_sarif(v: &Value) -> usize {
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "pkgtrace");
    let rules = driver["rules"].as_array().expect("rules");
    assert!(!rules.is_empty());
    let levels = ["none", "note", "warning", "error"];
    for r in rules {
        assert!(r["id"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
        assert!(r["shortDescription"]["text"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
        assert!(r["fullDescription"]["text"].as_str().is_some(), "{r}");
        assert!(levels.contains(&r["defaultConfiguration"]["level"].as_str().unwrap()), "{r}");
    }
    let results = runs[0]["results"].as_array().expect("results");
    for res in results {
        let id = res["ruleId"].as_str().expect("ruleId");
        assert!(levels.contains(&res["level"].as_str().unwrap()), "{res}");
        assert!(res["message"]["text"].as_str().is_some_and(|s| !s.is_empty()), "{res}");
        let i = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[i]["id"], id, "ruleIndex points at the rule");
        let loc = &res["locations"][0];
        assert!(loc["logicalLocations"][0]["fullyQualifiedName"].as_str().is_some(), "{res}");
        if let Some(uri) = loc.get("physicalLocation") {
            assert!(uri["artifactLocation"]["uri"].as_str().is_some_and(|u| !u.contains(' ')), "{res}");
        }
    }
    results.len()
}

fn analyze(format: &str) -> Output {
    Command::new(BIN)
        .args(["analyze", "--format", format])
        .args(common::CORPUS_OPTS)
        .args(["--canary", "CANARY-npm-4f1c2a9e7d3b"])
        .arg(common::corpus_log("npm/install-local-tgz.log.zst"))
        .output()
        .unwrap()
}

#[test]
fn sarif_of_analyze_and_of_a_diff_has_the_required_shape() {
    let out = analyze("sarif");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = assert_sarif(&v);
    let report: Value = serde_json::from_slice(&analyze("json").stdout).unwrap();
    let active = report["phases"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed_by").is_none() && f.get("baseline").is_none())
        .count();
    assert_eq!(n, active, "one result per active finding");
    assert!(n > 0, "the local tgz log has findings");
    let has_file = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().is_some());
    assert!(has_file, "a file finding points at its file");

    // A diff against an empty report: every active finding is new.
    let dir = tmp().join(format!("diff-sarif-{}", common::random_hex(4)));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("empty.json"), dir.join("report.json"));
    std::fs::write(&a, r#"{"schema_version":1,"phases":[],"stats":{"lines":0,"events":0,"unparsed":0,"processes":0}}"#)
        .unwrap();
    std::fs::write(&b, serde_json::to_vec(&report).unwrap()).unwrap();
    let out = diff(&["--format", "sarif", a.to_str().unwrap(), b.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(assert_sarif(&v), active);
    assert_eq!(code(&out), 1, "the new findings include a high one");
}

/// A real pair from the npm registry: core-js 2.6.5 had no install script,
/// 2.6.6 added `postinstall: node scripts/postinstall` (its banner asking for
/// funding). Skipped, with a message, when the registry cannot be reached.
#[test]
fn core_js_2_6_6_added_an_install_script() {
    common::needs_root("pkgtrace run");
    let ping = Command::new("npm").args(["view", "core-js@2.6.6", "version"]).output();
    if !ping.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: the npm registry cannot be reached");
        return;
    }
    let results = tmp().join(format!("diff-real-{}", common::random_hex(4)));
    let out = Command::new(BIN)
        .args(["diff", "--format", "json", "--timeout", "120", "--results"])
        .arg(&results)
        .arg("--cache")
        .arg(tmp().join("diff-cache"))
        .arg("pkg:npm/core-js@2.6.5..2.6.6")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let install =
        v["diffs"][0]["phases"].as_array().unwrap().iter().find(|p| p["phase"] == "install").expect("install changed");
    let texts: Vec<&str> = install["changes"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert!(texts.contains(&"lifecycle script: node scripts/postinstall"), "{texts:?}");
    assert!(texts.contains(&"node scripts/postinstall"), "{texts:?}");
    assert!(
        results.join("npm/core-js/2.6.5/report.json").is_file()
            && results.join("npm/core-js/2.6.6/report.json").is_file()
    );
    // Stored now: --no-run answers the same from the repository.
    let again = diff(&[
        "--no-run",
        "--format",
        "json",
        "--results",
        results.to_str().unwrap(),
        "pkg:npm/core-js@2.6.5",
        "pkg:npm/core-js@2.6.6",
    ]);
    let w: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(w["line"], v["line"]);
    assert_eq!(code(&again), code(&out));
}
