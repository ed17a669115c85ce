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
    let mut pids = HashMap::new();
    walk(&mut v, &replacements, &sandbox_paths, &mut pids);
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

fn walk(v: &mut Value, rep: &[(String, String)], sandbox: &[(String, String)], pids: &mut HashMap<i64, i64>) {
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
        }
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, rep, sandbox, pids)),
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
                walk(x, rep, sandbox, pids);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
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
