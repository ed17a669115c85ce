//! Normalisation of a report before it is stored. Sandbox paths (which the
//! report's `sandbox` section names) become `$HOME`, `$PKG` and `$TMP` (with
//! the random part of temp names as `XXXXXXXX`), and what differs between
//! two runs of the same package — pids, the canary values and host name
//! unique to each run, the count of ptrace stops, event sequence numbers —
//! is replaced by placeholders, so the stored reports of two runs are equal
//! when the behaviour is. It walks the report's JSON value tree (every
//! string, whatever field holds it), not its text.

use std::collections::HashMap;

use serde_json::Value;

use crate::report::Report;

/// A finding's subject with the sandbox's identity as placeholders
/// (`$PKG`, `$HOME`, `$HOSTNAME`, `$USER`), to compare the subjects of two
/// runs (a baseline's and a package's) that had different identities.
pub fn identity_free(s: &str, sandbox: &crate::report::SandboxInfo) -> String {
    let paths = [(sandbox.project.clone(), "$PKG".to_string()), (sandbox.home.clone(), "$HOME".to_string())];
    let paths: Vec<(String, String)> = paths.into_iter().filter(|(p, _)| !p.is_empty()).collect();
    let mut out = placeholders(s, &paths);
    if !sandbox.hostname.is_empty() {
        out = out.replace(&sandbox.hostname, "$HOSTNAME");
    }
    replace_word(&out, &sandbox.user, "$USER")
}

/// `word` replaced where it stands alone (not inside a longer name: user
/// `sam` leaves `sample` alone).
pub fn replace_word(s: &str, word: &str, with: &str) -> String {
    if word.is_empty() || !s.contains(word) {
        return s.to_string();
    }
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back().or_else(|| out.chars().next_back());
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(is_name) || after.is_some_and(is_name) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// The report with run-specific values replaced by placeholders.
/// `canaries`: the values planted for the run (unique to it).
pub fn normalized(report: &Report, canaries: &[String]) -> Value {
    let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
    let mut replacements: Vec<(String, String)> = Vec::new();
    for c in canaries {
        let kind = c.split('-').nth(1).unwrap_or("x").to_ascii_uppercase();
        let placeholder = format!("$CANARY_{kind}");
        let hex: String = c.bytes().map(|b| format!("{b:02x}")).collect();
        replacements.push((c.clone(), placeholder.clone()));
        replacements.push((c.to_ascii_lowercase(), placeholder.clone()));
        replacements.push((hex, format!("{placeholder}_HEX")));
    }
    // The run's host name may show up in what the package did (a DNS name,
    // a file it wrote); who the sandbox was (uid, cgroups) is not stored.
    // Its HOME and work directory become `$HOME` and `$PKG` (the longer
    // first: the project is inside HOME).
    let mut sandbox_paths: Vec<(String, String)> = Vec::new();
    for p in &report.phases {
        if let Some(sb) = &p.sandbox {
            replacements.push((sb.hostname.clone(), "$HOSTNAME".into()));
            for (path, name) in [(&sb.project, "$PKG"), (&sb.home, "$HOME")] {
                if !sandbox_paths.iter().any(|(p, _)| p == path) {
                    sandbox_paths.push((path.clone(), name.into()));
                }
            }
        }
    }
    sandbox_paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    if let Some(phases) = v.get_mut("phases").and_then(Value::as_array_mut) {
        for p in phases {
            if let Some(o) = p.as_object_mut() {
                o.remove("sandbox");
            }
        }
    }
    let users: Vec<String> = report
        .phases
        .iter()
        .filter_map(|p| p.sandbox.as_ref())
        .map(|sb| sb.user.clone())
        .filter(|u| !u.is_empty())
        .collect();
    let mut pids = HashMap::new();
    walk(&mut v, &replacements, &sandbox_paths, &users, &mut pids);
    v
}

/// Sandbox paths as placeholders: `sandbox` (the package directory as
/// `$PKG`, HOME as `$HOME`, longest first), temp directories `$TMP`, and the
/// random part of mkdtemp-style names (`pip-build-env-qps7myg3`,
/// `tmp3uns4pbz`) as `XXXXXXXX`.
fn placeholders(s: &str, sandbox: &[(String, String)]) -> String {
    static TMP_NAME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = TMP_NAME.get_or_init(|| regex::Regex::new(r#"\$TMP/([^/\s'"]+)"#).expect("valid regex"));
    let mut s = s.to_string();
    for (from, to) in sandbox {
        if s.contains(from.as_str()) {
            s = s.replace(from.as_str(), to);
        }
    }
    let s = s.replace("/var/tmp/", "$TMP/").replace("/tmp/", "$TMP/");
    re.replace_all(&s, |c: &regex::Captures<'_>| format!("$TMP/{}", mask_random(&c[1]))).into_owned()
}

/// mkdtemp-style names end in 8 random characters from `[a-z0-9_]`, after
/// a separator (`pip-build-env-x_4fk2ab`), after `tmp`, or alone (then with
/// a digit: `9c9ib6ru`). Names like `payload.sh` or `.x-update` are kept.
fn mask_random(name: &str) -> String {
    if name.len() < 8 || !name.is_char_boundary(name.len() - 8) {
        return name.to_string();
    }
    let (head, tail) = name.split_at(name.len() - 8);
    let random_chars = tail.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let after = head.ends_with(['-', '_', '.'])
        || head == "tmp"
        || (head.is_empty() && tail.bytes().any(|b| b.is_ascii_digit()));
    if random_chars && after {
        format!("{head}XXXXXXXX")
    } else {
        name.to_string()
    }
}

fn walk(
    v: &mut Value,
    rep: &[(String, String)],
    sandbox: &[(String, String)],
    users: &[String],
    pids: &mut HashMap<i64, i64>,
) {
    match v {
        Value::String(s) => {
            for (from, to) in rep {
                if s.contains(from.as_str()) {
                    *s = s.replace(from.as_str(), to);
                }
            }
            if s.contains("tmp/") || sandbox.iter().any(|(p, _)| s.contains(p.as_str())) {
                *s = placeholders(s, sandbox);
            }
            for user in users {
                *s = replace_word(s, user, "$USER");
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, rep, sandbox, users, pids)),
        Value::Object(map) => {
            map.remove("stops");
            map.remove("wall_ms");
            map.remove("setup_ms");
            map.remove("seq");
            for (k, x) in map.iter_mut() {
                if matches!(k.as_str(), "pid" | "parent") {
                    if let Some(n) = x.as_i64() {
                        let next = pids.len() as i64 + 1;
                        *x = Value::from(*pids.entry(n).or_insert(next));
                        continue;
                    }
                }
                walk(x, rep, sandbox, users, pids);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_identity_becomes_placeholders() {
        let sb = crate::report::SandboxInfo {
            hostname: "sam-laptop".into(),
            user: "sam".into(),
            home: "/home/sam".into(),
            project: "/home/sam/project".into(),
            ..Default::default()
        };
        assert_eq!(super::identity_free("/home/sam/.npmrc", &sb), "$HOME/.npmrc");
        assert_eq!(super::identity_free("/home/sam/project/x/sample.js", &sb), "$PKG/x/sample.js");
        assert_eq!(super::identity_free("sam-laptop.sam.x.evil.example", &sb), "$HOSTNAME.$USER.x.evil.example");
        assert_eq!(super::identity_free("BEACON sam samba", &sb), "BEACON $USER samba");
    }

    #[test]
    fn sandbox_paths_become_placeholders() {
        let sandbox =
            [("/home/pkgtrace/project", "$PKG"), ("/home/pkgtrace", "$HOME")].map(|(p, n)| (p.into(), n.into()));
        let placeholders = |s: &str| super::placeholders(s, &sandbox);
        assert_eq!(placeholders("/home/pkgtrace/project/node_modules/x"), "$PKG/node_modules/x");
        assert_eq!(placeholders("/home/pkgtrace/.npmrc"), "$HOME/.npmrc");
        assert_eq!(
            placeholders("/tmp/pip-build-env-qps7myg3/overlay/x.pth"),
            "$TMP/pip-build-env-XXXXXXXX/overlay/x.pth"
        );
        assert_eq!(placeholders("/tmp/tmp3uns4pbz"), "$TMP/tmpXXXXXXXX");
        assert_eq!(placeholders("/tmp/pip-build-env-idjh_byw/x"), "$TMP/pip-build-env-XXXXXXXX/x");
        assert_eq!(placeholders("/tmp/pip-build-env-x_4fk2ab/x"), "$TMP/pip-build-env-XXXXXXXX/x");
        assert_eq!(placeholders("/tmp/9c9ib6ru"), "$TMP/XXXXXXXX");
        assert_eq!(placeholders("/tmp/p.sh"), "$TMP/p.sh");
        assert_eq!(placeholders("/tmp/payload.sh"), "$TMP/payload.sh");
        assert_eq!(placeholders("/tmp/.x-update"), "$TMP/.x-update");
        assert_eq!(placeholders("/etc/ssl/openssl.cnf"), "/etc/ssl/openssl.cnf");
    }
}
