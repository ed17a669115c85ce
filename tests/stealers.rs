//! An infostealer's search (issue "Accuracy on real packages"): real
//! stealers on npm and PyPI first stat, access() or list the places where
//! browser passwords and cookies, Discord sessions, wallets, keyrings and
//! cloud tokens live, then read what exists. In the sandbox almost nothing
//! of it exists, so what the trace holds is probes and failed opens; the
//! default pack must still call such a package high.
//!
//! Each test installs one `corpus/packages/*/stealer-probe` package
//! (`--phase install`) and checks:
//!
//! - the install phase completed, and (npm) the package printed each step,
//!   so a missing finding is not a chain that broke early;
//! - `probe-credential-store` fired, at high, on browser, messenger, wallet
//!   and keyring paths, failed probes among them;
//! - the report's worst active severity is high or critical, and pkgtrace's
//!   exit status (`--fail-on high`, the default) says the same;
//! - the POST with the canaries it found is in the phase's `network`;
//! - the install-phase rules of `EXPECTED.toml`, and that nothing of the
//!   run is left.
//!
//! Needs root; each test has a cache of its own.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// How long one pkgtrace process may take beyond its `--timeout`.
const SLACK: Duration = Duration::from_secs(45);

/// `--timeout` of an npm install; pip (a venv first) gets more.
const NPM_TIMEOUT: u32 = 60;
const PIP_TIMEOUT: u32 = 120;

/// pkgtrace's exit status when an active finding is at least `--fail-on`
/// (high by default); see `pkgtrace/src/exit.rs`.
const EXIT_FINDINGS: i32 = 1;

/// Stages `corpus/packages/<rel>`, runs its install phase and returns the
/// report and pkgtrace's exit code.
fn install(rel: &str, timeout: u32) -> (Value, i32) {
    let pkg = stage_package(rel, &json!({ "marker": random_hex(6) }));
    let label = format!("stealers-{}", rel.replace('/', "-"));
    let cmd = run_command(&label, &pkg.path, timeout, &["--phase", "install"]);
    let done = finish(cmd, Duration::from_secs(timeout.into()) + SLACK);
    let code = done.status.code().unwrap_or_else(|| panic!("pkgtrace killed by a signal: {:?}", done.status));
    (done.report(), code)
}

/// Which store family a path belongs to, by the places the corpus packages
/// look at. Wallet extensions live inside browser profiles, so wallets are
/// recognised first.
fn family(path: &str) -> Option<&'static str> {
    const FAMILIES: [(&str, &[&str]); 4] = [
        (
            "wallet",
            &[
                "/Local Extension Settings/",
                "/.config/Exodus",
                "/.electrum",
                "/.ethereum/keystore",
                "/.config/solana",
                "/.config/atomic",
                "/.config/Ledger Live",
                "/.bitcoin/",
                "/Monero/",
            ],
        ),
        (
            "messenger",
            &["/.config/discord", "/TelegramDesktop/", "/.config/Slack", "/.config/Signal", "/.config/Element"],
        ),
        ("keyring", &["/.local/share/keyrings", "/.gnupg/", "/.password-store"]),
        (
            "browser",
            &[
                "/.config/google-chrome",
                "/.config/chromium",
                "/snap/chromium/",
                "/.config/BraveSoftware",
                "/.config/microsoft-edge",
                "/.config/opera",
                "/.config/vivaldi",
                "/.config/yandex-browser",
                "/.mozilla/firefox",
                "/.librewolf",
            ],
        ),
    ];
    FAMILIES.iter().find(|(_, marks)| marks.iter().any(|m| path.contains(m))).map(|(name, _)| *name)
}

/// The phase's active findings of `rule`.
fn active<'a>(phase: &'a Value, rule: &str) -> Vec<&'a Value> {
    phase["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == rule && f.get("suppressed_by").is_none() && f.get("baseline").is_none())
        .collect()
}

/// Checks the search: `probe-credential-store` is active at high on every
/// family, and failed probes (ENOENT, the sandbox has none of these stores)
/// are among them, so the verdict does not depend on anything existing.
fn check_search(p: &mut Problems, phase: &Value) {
    let probes = active(phase, "probe-credential-store");
    for want in ["browser", "messenger", "wallet", "keyring"] {
        let hits = probes.iter().filter(|f| f["subject"].as_str().and_then(family) == Some(want)).count();
        p.check(hits > 0, format!("probe-credential-store did not fire on any {want} path"));
    }
    let not_high: Vec<String> = probes
        .iter()
        .filter(|f| f["severity"] != "high")
        .map(|f| format!("{} ({})", f["subject"], f["severity"]))
        .collect();
    p.check(not_high.is_empty(), format!("probe-credential-store is not high on {not_high:?}"));
    let failed = probes.iter().filter(|f| f["evidence"]["result"].as_str().is_some_and(|r| r != "ok")).count();
    p.check(failed > 0, "no probe-credential-store finding for a failed probe: the search alone must be enough");
    let stray: Vec<&Value> =
        probes.iter().filter(|f| f["subject"].as_str().and_then(family).is_none()).map(|f| &f["subject"]).collect();
    p.check(
        stray.is_empty(),
        format!("probe-credential-store fired on paths that are not a store the package looks at: {stray:?}"),
    );
}

/// Checks the verdict two ways: the worst active severity in the report,
/// and pkgtrace's exit status.
fn check_verdict(p: &mut Problems, report: &Value, code: i32) {
    let worst = worst(report);
    p.check(
        worst.as_deref().is_some_and(|s| rank(s) >= rank("high")),
        format!("the report's worst active severity is {worst:?}, not high or critical"),
    );
    p.check(code == EXIT_FINDINGS, format!("pkgtrace exited {code}, not {EXIT_FINDINGS} (a finding at or above high)"));
}

/// Checks that `network` has the POST to `url` over HTTPS with the
/// canaries (`CANARY-<kind>-`) in `canaries`.
fn check_post(p: &mut Problems, phase: &Value, url: &str, canaries: &[&str]) {
    let net = phase["network"].as_array().cloned().unwrap_or_default();
    let posts: Vec<&Value> =
        net.iter().filter(|e| e["host"] == "steal-test.example" && e["port"] == 443 && e["method"] == "POST").collect();
    let Some(post) = posts.iter().find(|e| e["url"] == url) else {
        p.check(false, format!("the network section has no POST {url}; POSTs to steal-test.example: {posts:?}"));
        return;
    };
    p.check(post["protocol"] == "https", format!("the POST {url} is {}, not https", post["protocol"]));
    p.check(post["transport"] == "tcp", format!("the POST {url} is over {}, not tcp", post["transport"]));
    for kind in canaries {
        let prefix = format!("CANARY-{kind}-");
        let carried = post["canaries"]
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c.as_str().is_some_and(|c| c.starts_with(&prefix))));
        p.check(carried, format!("the POST {url} does not carry the {kind} canary; canaries: {}", post["canaries"]));
    }
}

/// The install phase's outcome, output tails, active rules with their
/// subjects, and network section: enough to tell "the rule missed it" from
/// "the package never got there".
fn context(report: &Value) -> String {
    let install = phase(report, "install");
    let findings: Vec<String> = install["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f.get("suppressed_by").is_none())
        .map(|f| format!("  {} {} {} ({})", f["severity"], f["rule"], f["subject"], f["evidence"]["result"]))
        .collect();
    format!(
        "install status {} error {}\nstdout tail:\n{}\nstderr tail:\n{}\nactive findings:\n{}\nnetwork: {}",
        install["status"],
        install["error"],
        install["output"]["stdout"].as_str().unwrap_or(""),
        install["output"]["stderr"].as_str().unwrap_or(""),
        findings.join("\n"),
        serde_json::to_string_pretty(&install["network"]).unwrap_or_default(),
    )
}

/// A postinstall walks ~50 stealer targets with existsSync, statSync and
/// readdirSync, reads the canaries that exist and POSTs them over HTTPS.
#[test]
fn npm_stealer_search_is_high_from_its_probes() {
    let rel = "npm/stealer-probe";
    let (report, code) = install(rel, NPM_TIMEOUT);
    let ph = phase(&report, "install");
    let mut p = Problems::new(rel);
    p.check(ph["status"] == "completed", format!("the install phase is {}, not completed", ph["status"]));
    let stdout = ph["output"]["stdout"].as_str().unwrap_or("");
    for step in [
        "stealer-probe: step 1 searched",
        "stealer-probe: step 2 read",
        "stealer-probe: step 3 POST https://steal-test.example/u: status 200",
    ] {
        p.check(stdout.contains(step), format!("the package did not print `{step}`: its chain stopped before"));
    }
    check_search(&mut p, ph);
    check_verdict(&mut p, &report, code);
    check_post(&mut p, ph, "https://steal-test.example/u", &["npm", "aws", "ssh"]);
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// setup.py walks the same kind of list with os.path.exists, os.listdir and
/// open(), and POSTs what it found with urllib. pip hides setup.py's output,
/// so the report alone tells how far it got.
#[test]
fn pypi_stealer_search_is_high_from_its_probes() {
    let rel = "pypi/stealer-probe";
    let (report, code) = install(rel, PIP_TIMEOUT);
    let ph = phase(&report, "install");
    let mut p = Problems::new(rel);
    p.check(ph["status"] == "completed", format!("the install phase is {}, not completed", ph["status"]));
    check_search(&mut p, ph);
    check_verdict(&mut p, &report, code);
    check_post(&mut p, ph, "https://steal-test.example/p", &["pypi", "aws", "ssh"]);
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}
