//! The sandbox's network world (issue 9): inside `pkgtrace run` every
//! address answers. Each test installs one `corpus/packages/*/net-*`
//! package (`--phase install`) and checks that the package's whole chain is
//! visible:
//!
//! - in its own output: it prints `net-…: step N …` at each step it
//!   reached, so a missing step says where the chain broke;
//! - in the phase's `network` section: one entry per connection or datagram
//!   a sink received, with what it was meant for (address, port, host,
//!   protocol, method, url, first bytes, the canaries found in it);
//! - in the findings (`EXPECTED.toml`'s install-phase rules) and
//!   `canaries_leaked`.
//!
//! `net-lists-interfaces` checks the other half: the namespace still has
//! only loopback and no route out, so it is the sinks that answer, not a way
//! out. Every failure message carries the phase's output tails, its network
//! section, the connections the tracer saw and the commands that ran.
//! The tests run in parallel with other pkgtrace runs; each has a cache of
//! its own. Needs root.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// How long one pkgtrace process may take beyond its `--timeout`
/// (staging, sandbox set-up, clean-up) before the test calls it hung.
const SLACK: Duration = Duration::from_secs(45);

/// `--timeout` of an npm install; pip (a venv first) gets more.
const NPM_TIMEOUT: u32 = 60;
const PIP_TIMEOUT: u32 = 120;

/// Stages `corpus/packages/<rel>`, runs its install phase and returns the
/// report.
fn install(rel: &str, timeout: u32) -> Value {
    let pkg = stage_package(rel, &json!({ "marker": random_hex(6) }));
    let label = format!("network-{}", rel.replace('/', "-"));
    let cmd = run_command(&label, &pkg.path, timeout, &["--phase", "install"]);
    finish(cmd, Duration::from_secs(timeout.into()) + SLACK).report()
}

/// The phase's `network` entries.
fn network(phase: &Value) -> Vec<Value> {
    phase["network"].as_array().cloned().unwrap_or_default()
}

/// Did the package print `marker` on stdout (its own progress lines)?
fn printed(phase: &Value, marker: &str) -> bool {
    phase["output"]["stdout"].as_str().is_some_and(|s| s.contains(marker))
}

/// Checks that the package printed `marker`.
fn expect_printed(p: &mut Problems, phase: &Value, marker: &str) {
    p.check(printed(phase, marker), format!("the package did not print `{marker}`: its chain stopped before"));
}

/// `key` of a JSON object; null when absent.
fn field<'a>(entry: &'a Value, key: &str) -> &'a Value {
    entry.get(key).unwrap_or(&Value::Null)
}

/// Is the entry's `address` the IP `ip`, however spelt (brackets, an
/// IPv4-mapped IPv6 address, zeros written out)?
fn address_is(entry: &Value, ip: &str) -> bool {
    let want: IpAddr = ip.parse().expect("an IP address");
    entry["address"]
        .as_str()
        .map(|a| a.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|a| a.parse::<IpAddr>().ok())
        .is_some_and(|a| a.to_canonical() == want.to_canonical())
}

/// Does the entry's `canaries` hold a value starting with `prefix`? The
/// run's canaries are `CANARY-<kind>-<run>`: `CANARY-npm-` is the token of
/// `~/.npmrc`, `CANARY-pypi-` the password of `~/.pypirc`; `CANARY-` is any.
fn carries(entry: &Value, prefix: &str) -> bool {
    entry["canaries"].as_array().is_some_and(|a| a.iter().any(|c| c.as_str().is_some_and(|c| c.starts_with(prefix))))
}

/// The entries `to` selects; none is a problem that names `what`.
fn entries_to<'a>(p: &mut Problems, net: &'a [Value], what: &str, to: impl Fn(&Value) -> bool) -> Vec<&'a Value> {
    let found: Vec<&Value> = net.iter().filter(|e| to(e)).collect();
    p.check(!found.is_empty(), format!("the network section has no entry {what}"));
    found
}

/// Keeps the entries for which `ok` holds, so that every later check is on
/// the same entries. None left is a problem naming what `key` was in each;
/// the entries are then kept as they were, so that later checks still say
/// what else is wrong.
fn narrow<'a>(
    p: &mut Problems,
    what: &str,
    entries: Vec<&'a Value>,
    key: &str,
    wanted: &str,
    ok: impl Fn(&Value) -> bool,
) -> Vec<&'a Value> {
    if entries.is_empty() {
        return entries; // already a problem
    }
    let kept: Vec<&Value> = entries.iter().copied().filter(|e| ok(e)).collect();
    if kept.is_empty() {
        let had: Vec<&Value> = entries.iter().map(|e| field(e, key)).collect();
        p.check(false, format!("the entry {what}: {key} should be {wanted}; it is {had:?}"));
        return entries;
    }
    kept
}

/// [`narrow`] to the entries whose `key` equals `want` (null: absent or null).
fn narrow_eq<'a>(p: &mut Problems, what: &str, entries: Vec<&'a Value>, key: &str, want: Value) -> Vec<&'a Value> {
    narrow(p, what, entries, key, &want.to_string(), |e| *field(e, key) == want)
}

/// The report's `canaries_leaked` (absent when nothing leaked).
fn leaked(report: &Value) -> Vec<Value> {
    report["canaries_leaked"].as_array().cloned().unwrap_or_default()
}

/// Does `canaries_leaked` name the canary whose name starts with `canary`
/// (`npm token`, `PyPI password`), leaked in install by a way that mentions
/// `via`?
fn leak_named(report: &Value, canary: &str, via: &str) -> bool {
    leaked(report).iter().any(|l| {
        l["canary"].as_str().is_some_and(|c| c.starts_with(canary))
            && l["phase"] == "install"
            && l["via"].as_str().is_some_and(|v| v.contains(via))
    })
}

/// The commands of the phase (execs that succeeded).
fn commands(phase: &Value) -> Vec<Value> {
    phase["behaviour"]["commands"].as_array().cloned().unwrap_or_default()
}

fn argv(command: &Value) -> Vec<&str> {
    command["argv"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Was `path` executed successfully: a command whose exe or argv[0] is
/// `path` (the command list holds only execs that succeeded), or an
/// `exec-file-created-in-run` finding on it whose evidence says ok?
fn executed(phase: &Value, path: &str) -> bool {
    let as_command = commands(phase).iter().any(|c| c["exe"] == path || argv(c).first() == Some(&path));
    let as_finding = phase["findings"].as_array().into_iter().flatten().any(|f| {
        f["rule"] == "exec-file-created-in-run"
            && f["subject"].as_str().is_some_and(|s| s == path || s.starts_with(&format!("{path} ")))
            && f["evidence"]["result"] == "ok"
    });
    as_command || as_finding
}

/// Cuts `s` to `n` characters, for the context.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// The install phase's outcome, output tails, rules, leaks, network
/// section, the inet connections the tracer saw and the commands: what a
/// failure needs to tell "the sinks missed it" from "the package never got
/// there".
fn context(report: &Value) -> String {
    let install = phase(report, "install");
    let network = serde_json::to_string_pretty(&install["network"]).unwrap_or_default();
    let connections: Vec<String> = install["behaviour"]["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["family"] != "unix")
        .map(|c| {
            format!(
                "  {} {}:{} host {} result {} canaries {}",
                c["transport"], c["address"], c["port"], c["host"], c["result"], c["canaries"]
            )
        })
        .collect();
    let commands: Vec<String> =
        commands(install).iter().map(|c| format!("  {} ({})", cut(&argv(c).join(" "), 160), c["chain"])).collect();
    format!(
        "install status {} error {} run {}\nstdout tail:\n{}\nstderr tail:\n{}\nactive rules: {:?}\n\
         canaries_leaked: {}\nnetwork: {network}\nconnections (syscalls):\n{}\ncommands:\n{}",
        install["status"],
        install["error"],
        install["run"],
        install["output"]["stdout"].as_str().unwrap_or(""),
        install["output"]["stderr"].as_str().unwrap_or(""),
        active_rules(install),
        Value::Array(leaked(report)),
        connections.join("\n"),
        commands.join("\n"),
    )
}

// --- the chains ---------------------------------------------------------------

/// The "what is my IP" trick (a UDP connect to 8.8.8.8:53, then
/// `socket.address()`) works, so the package goes on: it reads ~/.npmrc and
/// ~/.aws/credentials and POSTs them over plain HTTP to a bare IP. The POST
/// is in `network` with its method, URL and the npm token; `canaries_leaked`
/// names the token and where it went.
#[test]
fn ip_trick_then_post_to_a_bare_ip_is_seen_whole() {
    let rel = "npm/net-ip-first";
    let report = install(rel, NPM_TIMEOUT);
    let ph = phase(&report, "install");
    let net = network(ph);
    let mut p = Problems::new(rel);
    expect_printed(&mut p, ph, "net-ip-first: step 1 own address is");
    expect_printed(&mut p, ph, "net-ip-first: step 2 read ~/.npmrc");
    expect_printed(&mut p, ph, "net-ip-first: step 3 posted to http://203.0.113.10:8080/c");
    let what = "to tcp 203.0.113.10:8080";
    let post = entries_to(&mut p, &net, what, |e| {
        e["transport"] == "tcp" && address_is(e, "203.0.113.10") && e["port"] == 8080
    });
    let post = narrow_eq(&mut p, what, post, "protocol", json!("http"));
    let post = narrow_eq(&mut p, what, post, "method", json!("POST"));
    let post = narrow_eq(&mut p, what, post, "url", json!("http://203.0.113.10:8080/c"));
    narrow(&mut p, what, post, "canaries", "to hold the npm token (CANARY-npm-…)", |e| carries(e, "CANARY-npm-"));
    p.check(
        leak_named(&report, "npm token", "203.0.113.10"),
        "canaries_leaked does not name the npm token sent to 203.0.113.10",
    );
    p.check(fires(ph, "read-registry-token"), "no active read-registry-token finding");
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// A dropper over HTTPS from a bare IP (no SNI): the GET is in `network`
/// as https with its URL, the file it wrote to /tmp was executed
/// successfully, and the package got past the exec.
#[test]
fn https_second_stage_download_and_exec_are_seen_whole() {
    let rel = "npm/net-https-stage2";
    let report = install(rel, NPM_TIMEOUT);
    let ph = phase(&report, "install");
    let net = network(ph);
    let mut p = Problems::new(rel);
    expect_printed(&mut p, ph, "net-https-stage2: step 1 GET https://198.51.100.7/stage2.sh: status 200");
    expect_printed(&mut p, ph, "net-https-stage2: step 2 saved /tmp/stage2.sh");
    expect_printed(&mut p, ph, "net-https-stage2: step 4 ran /tmp/stage2.sh");
    let what = "to tcp 198.51.100.7:443";
    let get = entries_to(&mut p, &net, what, |e| {
        e["transport"] == "tcp" && address_is(e, "198.51.100.7") && e["port"] == 443
    });
    let get = narrow_eq(&mut p, what, get, "protocol", json!("https"));
    let get = narrow_eq(&mut p, what, get, "method", json!("GET"));
    narrow_eq(&mut p, what, get, "url", json!("https://198.51.100.7/stage2.sh"));
    p.check(
        executed(ph, "/tmp/stage2.sh"),
        "no successful exec of /tmp/stage2.sh (neither in behaviour.commands nor as an exec-file-created-in-run \
         finding with result ok)",
    );
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// A resolved name, then a JSON POST of the npm token and the environment
/// over HTTPS: the sink terminates TLS with the run's CA (which node trusts
/// through NODE_EXTRA_CA_CERTS), so `network` shows the host, method, URL
/// and the canaries in the decrypted body, and the package got a 200.
#[test]
fn https_post_to_a_resolved_name_is_seen_decrypted() {
    let rel = "npm/net-https-post";
    let report = install(rel, NPM_TIMEOUT);
    let ph = phase(&report, "install");
    let net = network(ph);
    let mut p = Problems::new(rel);
    expect_printed(&mut p, ph, "net-https-post: step 2 resolved collect.exfil-test.example");
    expect_printed(&mut p, ph, "net-https-post: step 3 POST https://collect.exfil-test.example/upload: status 200");
    let what = "to collect.exfil-test.example:443";
    let post = entries_to(&mut p, &net, what, |e| e["host"] == "collect.exfil-test.example" && e["port"] == 443);
    let post = narrow_eq(&mut p, what, post, "transport", json!("tcp"));
    let post = narrow_eq(&mut p, what, post, "protocol", json!("https"));
    let post = narrow_eq(&mut p, what, post, "method", json!("POST"));
    let post = narrow_eq(&mut p, what, post, "url", json!("https://collect.exfil-test.example/upload"));
    let post = narrow(&mut p, what, post, "canaries", "non-empty", |e| carries(e, "CANARY-"));
    // The token is the body's first field, so it is in the first bytes too.
    narrow(&mut p, what, post, "canaries", "to hold the npm token (CANARY-npm-…)", |e| carries(e, "CANARY-npm-"));
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// TCP beacons on odd ports, to a resolved name (4444) and to an IPv6
/// literal (31337): both are in `network` with the `BEACON` line as their
/// first bytes, and the package went on to read ~/.ssh/id_rsa.
#[test]
fn beacons_on_odd_ports_and_ipv6_are_seen_and_the_chain_goes_on() {
    let rel = "npm/net-odd-port";
    let report = install(rel, NPM_TIMEOUT);
    let ph = phase(&report, "install");
    let net = network(ph);
    let mut p = Problems::new(rel);
    expect_printed(&mut p, ph, "net-odd-port: step 2 beacon sent to c2.beacon-test.example:4444");
    expect_printed(&mut p, ph, "net-odd-port: step 2 beacon sent to [2001:db8::44]:31337");
    expect_printed(&mut p, ph, "net-odd-port: step 3 read ~/.ssh/id_rsa (");
    let beacon = |e: &Value| e["first_bytes"].as_str().is_some_and(|b| b.starts_with("BEACON "));
    let what = "to c2.beacon-test.example:4444";
    let c2 = entries_to(&mut p, &net, what, |e| e["port"] == 4444);
    let c2 = narrow_eq(&mut p, what, c2, "transport", json!("tcp"));
    let c2 = narrow_eq(&mut p, what, c2, "host", json!("c2.beacon-test.example"));
    narrow(&mut p, what, c2, "first_bytes", "to start with `BEACON `", beacon);
    let what = "to [2001:db8::44]:31337";
    let v6 = entries_to(&mut p, &net, what, |e| address_is(e, "2001:db8::44") && e["port"] == 31337);
    let v6 = narrow_eq(&mut p, what, v6, "transport", json!("tcp"));
    narrow(&mut p, what, v6, "first_bytes", "to start with `BEACON `", beacon);
    p.check(fires(ph, "read-ssh-private-key"), "no active read-ssh-private-key finding: the chain did not go on");
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// The npm token, base64-encoded, in raw UDP datagrams sent with an
/// address (no connect) to 203.0.113.53:9999 and to a resolved name on
/// port 5353: both datagrams are in `network` with the canary found in them.
#[test]
fn udp_datagrams_with_the_token_are_seen() {
    let rel = "npm/net-udp-exfil";
    let report = install(rel, NPM_TIMEOUT);
    let ph = phase(&report, "install");
    let net = network(ph);
    let mut p = Problems::new(rel);
    expect_printed(&mut p, ph, "net-udp-exfil: step 2 sent");
    expect_printed(&mut p, ph, "net-udp-exfil: step 3 sent");
    let what = "to udp 203.0.113.53:9999";
    let bare = entries_to(&mut p, &net, what, |e| {
        e["transport"] == "udp" && address_is(e, "203.0.113.53") && e["port"] == 9999
    });
    let bare = narrow(&mut p, what, bare, "canaries", "non-empty", |e| carries(e, "CANARY-"));
    narrow(&mut p, what, bare, "canaries", "to hold the npm token (CANARY-npm-…)", |e| carries(e, "CANARY-npm-"));
    let what = "to udp udp.exfil-test.example:5353";
    let named = entries_to(&mut p, &net, what, |e| e["transport"] == "udp" && e["port"] == 5353);
    let named = narrow_eq(&mut p, what, named, "host", json!("udp.exfil-test.example"));
    narrow(&mut p, what, named, "canaries", "non-empty", |e| carries(e, "CANARY-"));
    p.check(
        leak_named(&report, "npm token", "203.0.113.53"),
        "canaries_leaked does not name the npm token sent to 203.0.113.53",
    );
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// A client that pins its own CA: its handshake with the sink fails (the
/// pin holds), and `network` still shows the connection as tls with the
/// SNI as host, and no URL or method (nothing was decrypted).
#[test]
fn a_pinned_tls_client_still_shows_its_sni() {
    let rel = "npm/net-pinned-tls";
    let report = install(rel, NPM_TIMEOUT);
    let ph = phase(&report, "install");
    let net = network(ph);
    let mut p = Problems::new(rel);
    expect_printed(&mut p, ph, "net-pinned-tls: step 1 connecting");
    expect_printed(&mut p, ph, "net-pinned-tls: step 2 handshake failed");
    let what = "to pinned.exfil-test.example:443";
    let tls = entries_to(&mut p, &net, what, |e| e["host"] == "pinned.exfil-test.example" && e["port"] == 443);
    let tls = narrow_eq(&mut p, what, tls, "transport", json!("tcp"));
    let tls = narrow_eq(&mut p, what, tls, "protocol", json!("tls"));
    let tls = narrow_eq(&mut p, what, tls, "url", Value::Null);
    narrow_eq(&mut p, what, tls, "method", Value::Null);
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// setup.py POSTs ~/.pypirc over HTTPS with urllib (Python trusts the run's
/// CA through SSL_CERT_FILE), downloads a script over HTTP from a bare IP
/// and runs it with its own python: the POST with the PyPI password, the
/// GET and the exec are all in the report. pip hides setup.py's output, so
/// the report alone tells how far it got.
#[test]
fn pypi_setup_py_post_and_python_stage2_are_seen_whole() {
    let rel = "pypi/net-https-post";
    let report = install(rel, PIP_TIMEOUT);
    let ph = phase(&report, "install");
    let net = network(ph);
    let mut p = Problems::new(rel);
    let what = "to pypi-exfil.example:443";
    let post = entries_to(&mut p, &net, what, |e| e["host"] == "pypi-exfil.example" && e["port"] == 443);
    let post = narrow_eq(&mut p, what, post, "protocol", json!("https"));
    let post = narrow_eq(&mut p, what, post, "method", json!("POST"));
    let post = narrow_eq(&mut p, what, post, "url", json!("https://pypi-exfil.example/x"));
    narrow(&mut p, what, post, "canaries", "to hold the PyPI password (CANARY-pypi-…)", |e| {
        carries(e, "CANARY-pypi-")
    });
    let what = "to tcp 192.0.2.9:80";
    let get =
        entries_to(&mut p, &net, what, |e| e["transport"] == "tcp" && address_is(e, "192.0.2.9") && e["port"] == 80);
    let get = narrow_eq(&mut p, what, get, "protocol", json!("http"));
    let get = narrow_eq(&mut p, what, get, "method", json!("GET"));
    narrow_eq(&mut p, what, get, "url", json!("http://192.0.2.9/p.py"));
    let ran = commands(ph).iter().any(|c| {
        let argv = argv(c);
        let interpreter = argv.first().and_then(|a| a.rsplit('/').next()).unwrap_or("");
        interpreter.starts_with("python") && argv.get(1) == Some(&"/tmp/p.py")
    });
    p.check(ran, "no command `python /tmp/p.py`: the downloaded script was not run");
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

// --- nothing can leave ----------------------------------------------------------

/// The `==> PATH <==` sections net-lists-interfaces printed: the lines of
/// each file, or None when the file is missing (`==> PATH <== missing: …`).
fn sections(stdout: &str) -> BTreeMap<String, Option<Vec<String>>> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("==> ") {
            let (path, tail) = rest.split_once(" <==").unwrap_or((rest, ""));
            let missing = tail.trim_start().starts_with("missing");
            out.insert(path.to_string(), if missing { None } else { Some(Vec::new()) });
            current = (!missing).then(|| path.to_string());
        } else if line.starts_with("net-lists-interfaces:") {
            current = None;
        } else if let Some(lines) = current.as_ref().and_then(|c| out.get_mut(c)).and_then(Option::as_mut) {
            lines.push(line.to_string());
        }
    }
    out
}

/// Answering every address must not mean a way out: from inside, the only
/// interface is `lo`, the IPv4 main table has no route at all (no default
/// route), and every IPv6 address and route is on `lo` (a `::/0` there is the
/// kernel's reject route).
#[test]
fn the_sandbox_has_only_loopback_and_no_route_out() {
    let rel = "npm/net-lists-interfaces";
    let report = install(rel, NPM_TIMEOUT);
    let ph = phase(&report, "install");
    let stdout = ph["output"]["stdout"].as_str().unwrap_or("");
    let got = sections(stdout);
    let mut p = Problems::new(rel);
    expect_printed(&mut p, ph, "==> /proc/net/dev <==");
    expect_printed(&mut p, ph, "net-lists-interfaces: done");
    let lines = |name: &str| got.get(&format!("/proc/net/{name}"));
    match lines("dev") {
        Some(Some(dev)) => {
            // Two header lines, then `  name: counters...`.
            let interfaces: Vec<&str> =
                dev.iter().skip(2).filter_map(|l| l.split_once(':')).map(|(name, _)| name.trim()).collect();
            p.check(interfaces == ["lo"], format!("/proc/net/dev lists {interfaces:?}, want only lo"));
        }
        _ => p.check(false, "no /proc/net/dev in the output"),
    }
    match lines("route") {
        Some(Some(route)) => {
            let entries: Vec<&String> = route.iter().skip(1).filter(|l| !l.trim().is_empty()).collect();
            p.check(entries.is_empty(), format!("/proc/net/route has routes (a way out?): {entries:?}"));
        }
        _ => p.check(false, "no /proc/net/route in the output"),
    }
    // Missing IPv6 files mean a kernel without IPv6: nothing leaves that way either.
    for name in ["if_inet6", "ipv6_route"] {
        match lines(name) {
            Some(Some(v6)) => {
                let off_lo: Vec<&String> = v6
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .filter(|l| l.split_whitespace().last() != Some("lo"))
                    .collect();
                p.check(off_lo.is_empty(), format!("/proc/net/{name} has entries not on lo: {off_lo:?}"));
            }
            Some(None) => {}
            None => p.check(false, format!("no /proc/net/{name} in the output")),
        }
    }
    p.extend(expected_install_rules(&report, rel));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}
