//! A run's identity and context, and the placeholders it becomes in a
//! stored event stream.
//!
//! Each run has its own user, HOME, host name and canary values; stored,
//! they are the report's placeholders (`$HOME`, `$PKG`, `$USER`,
//! `$HOSTNAME`, `$CANARY_NPM`, ...), so two runs' streams compare. The
//! analyzer needs real paths (`$HOME/.npmrc` is a relative path to it) and
//! the real canary values (a canary sent base64-encoded was never replaced),
//! so `meta.json` keeps the run's identity and [`RunIdentity::restore_line`]
//! maps the placeholders back before a stream is reanalyzed. The mapping is
//! exact except for a placeholder the package itself wrote literally (a
//! script's `$HOME`), which comes back expanded; the report normalises it
//! to the same text again.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the run's analyzer knew besides the events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunIdentity {
    pub ecosystem: Option<String>,
    pub user: String,
    pub home: String,
    /// The package's directory (also the phases' cwd).
    pub project: String,
    pub hostname: String,
    /// The canary values planted in the run (fake credentials, unique to it).
    pub canaries: Vec<String>,
    /// The package under test, `name@version`.
    #[serde(default)]
    pub package: Option<String>,
}

impl RunIdentity {
    /// (real, placeholder) pairs, in the order the report's normalisation
    /// applies them: canaries, host name, the package directory before HOME
    /// (it is inside), then the user name as a word.
    fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in &self.canaries {
            let placeholder = canary_placeholder(c);
            let hex: String = c.bytes().map(|b| format!("{b:02x}")).collect();
            out.push((c.clone(), placeholder.clone()));
            out.push((c.to_ascii_lowercase(), placeholder.clone()));
            out.push((hex, format!("{placeholder}_HEX")));
        }
        for (real, placeholder) in [(&self.hostname, "$HOSTNAME"), (&self.project, "$PKG"), (&self.home, "$HOME")] {
            if !real.is_empty() {
                out.push((real.clone(), placeholder.into()));
            }
        }
        out
    }

    /// One recorded JSON line with the identity as placeholders (a line that
    /// is not JSON is kept as it is: the reader reports it as unparsed).
    pub fn normalize_line(&self, line: &str) -> String {
        let Ok(mut v) = serde_json::from_str::<Value>(line) else { return line.to_string() };
        let pairs = self.pairs();
        map_strings(&mut v, &mut |s| {
            let mut s = s.to_string();
            for (real, placeholder) in &pairs {
                if s.contains(real.as_str()) {
                    s = s.replace(real.as_str(), placeholder);
                }
            }
            report::normalize::replace_word(&s, &self.user, "$USER")
        });
        v.to_string()
    }

    /// The inverse of [`RunIdentity::normalize_line`].
    pub fn restore_line(&self, line: &str) -> String {
        let Ok(mut v) = serde_json::from_str::<Value>(line) else { return line.to_string() };
        let mut pairs = self.pairs();
        // `$CANARY_NPM_HEX` before `$CANARY_NPM`: longest placeholder first.
        pairs.sort_by_key(|(_, p)| std::cmp::Reverse(p.len()));
        pairs.dedup_by(|a, b| a.1 == b.1);
        if !self.user.is_empty() {
            pairs.push((self.user.clone(), "$USER".into()));
        }
        map_strings(&mut v, &mut |s| {
            if !s.contains('$') {
                return s.to_string();
            }
            let mut s = s.to_string();
            for (real, placeholder) in &pairs {
                if s.contains(placeholder.as_str()) {
                    s = s.replace(placeholder.as_str(), real);
                }
            }
            s
        });
        v.to_string()
    }
}

/// `$CANARY_<KIND>` for `CANARY-<kind>-<run>`, as [`report::normalize`] names it.
fn canary_placeholder(c: &str) -> String {
    format!("$CANARY_{}", c.split('-').nth(1).unwrap_or("x").to_ascii_uppercase())
}

fn map_strings(v: &mut Value, f: &mut impl FnMut(&str) -> String) {
    match v {
        Value::String(s) => *s = f(s),
        Value::Array(a) => a.iter_mut().for_each(|x| map_strings(x, f)),
        Value::Object(m) => m.values_mut().for_each(|x| map_strings(x, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> RunIdentity {
        RunIdentity {
            ecosystem: Some("npm".into()),
            user: "sam".into(),
            home: "/home/sam".into(),
            project: "/home/sam/project".into(),
            hostname: "sam-laptop".into(),
            canaries: vec!["CANARY-npm-0a1b2c".into(), "CANARY-envnpm-0a1b2c".into()],
            package: Some("x@1.0.0".into()),
        }
    }

    #[test]
    fn identity_round_trips() {
        let line = r#"{"kind":"open","path":"/home/sam/.npmrc","argv":["sam","sample","/home/sam/project/x.js"],"payload":"CANARY-npm-0a1b2c 43414e4152592d6e706d2d306131623263 CANARY-envnpm-0a1b2c sam-laptop"}"#;
        let stored = id().normalize_line(line);
        assert!(!stored.contains("/home/sam") && !stored.contains("0a1b2c"), "{stored}");
        assert!(stored.contains("$PKG/x.js") && stored.contains("$HOME/.npmrc") && stored.contains("$CANARY_NPM_HEX"));
        assert!(stored.contains(r#"["$USER","sample","#), "{stored}");
        let back: Value = serde_json::from_str(&id().restore_line(&stored)).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(line).unwrap());
    }
}
