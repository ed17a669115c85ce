//! What makes two strings "the same behaviour" across versions: the
//! placeholders strings are compared with. The stored report already has
//! the run's identity as `$HOME`, `$PKG`, `$TMP/...XXXXXXXX`, `$USER` and
//! renumbered pids ([`report::normalize`]); on top of that, for a diff:
//!
//! | what | example | becomes |
//! |---|---|---|
//! | the package's own version | `.../pkgtrace-diff-base/1.0.1/x` | `.../pkgtrace-diff-base/$V/x` |
//! | timestamps | `_logs/2026-11-27T09_40_59_677Z-debug-0.log` | `_logs/$TIME-debug-0.log` |
//! | semver-looking strings | `libfoo.so.6.0.30`, `x-2.1.0-beta.1.tgz` | `libfoo.so.$V`, `x-$V.tgz` |
//! | `name@version` | `node_modules/.pnpm/x@1.2/` | `node_modules/.pnpm/x@$V/` |
//! | hex of 8 or more with a digit (content hashes, pip's `_<32 hex>`) | `index.3f9a8c21d07b.json` | `index.$HASH.json` |
//! | mkdtemp suffixes under `$TMP` (6 to 8 characters with a digit) | `$TMP/npm-x1b2c3` | `$TMP/npm-XXXXXX` |
//! | runs of 4 or more digits (pids in `/proc/<pid>`, cgroup names, ports of temp servers) | `/proc/31337/status` | `/proc/N/status` |
//!
//! DNS names and hosts ([`Normalizer::name`]) only get the hex rule (and
//! the package's version): an IP address or a host name must not turn into
//! a version placeholder.

use std::sync::LazyLock;

use regex::{Captures, Regex};

static TIMESTAMP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{4}-\d{2}-\d{2}[T_ ]\d{2}[:_-]\d{2}[:_-]\d{2}(?:[._]\d+)?Z?").expect("regex"));
static SEMVER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bv?\d+\.\d+\.\d+(?:-[0-9A-Za-z]+(?:\.\d+)*)?(?:\+[0-9A-Za-z]+(?:\.\d+)*)?").expect("regex")
});
static AT_VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"@v?\d[0-9A-Za-z.+_-]*").expect("regex"));
static HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[0-9a-fA-F]{8,}").expect("regex"));
static DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d{4,}").expect("regex"));

/// Normalises the strings of one side of a diff (one package version).
#[derive(Clone, Debug, Default)]
pub struct Normalizer {
    /// The package's own version, when known.
    version: Option<String>,
}

impl Normalizer {
    /// `version`: the version of the package the report is about.
    pub fn new(version: Option<&str>) -> Normalizer {
        // A version like `1` or `2` would replace every digit of a path.
        let version = version.filter(|v| v.len() >= 3 && v.contains('.')).map(str::to_string);
        Normalizer { version }
    }

    /// A path, a command line or a finding's subject, with every rule of the table.
    pub fn text(&self, s: &str) -> String {
        let mut s = self.own_version(s);
        s = TIMESTAMP.replace_all(&s, "$$TIME").into_owned();
        s = SEMVER.replace_all(&s, "$$V").into_owned();
        s = AT_VERSION.replace_all(&s, "@$$V").into_owned();
        s = hex(&s);
        s = temp_names(&s);
        DIGITS.replace_all(&s, "N").into_owned()
    }

    /// A DNS name or host: the package's version and hex runs only.
    pub fn name(&self, s: &str) -> String {
        hex(&self.own_version(s))
    }

    fn own_version(&self, s: &str) -> String {
        match &self.version {
            Some(v) if s.contains(v.as_str()) => s.replace(v.as_str(), "$V"),
            _ => s.to_string(),
        }
    }
}

/// Hex runs of at least 8 with a digit in them (a word like `deadbeef` or
/// `facade` is kept; a hash almost always has a digit).
fn hex(s: &str) -> String {
    HEX.replace_all(s, |c: &Captures<'_>| {
        let m = &c[0];
        if m.bytes().any(|b| b.is_ascii_digit()) && m.bytes().any(|b| b.is_ascii_alphabetic()) {
            "$HASH".to_string()
        } else {
            m.to_string()
        }
    })
    .into_owned()
}

/// The random tail of a name directly under `$TMP` (or `/tmp`): 6 to 8
/// characters of `[A-Za-z0-9_]` with a digit, after a separator or `tmp`,
/// or the whole name. The stored report already masks 8-character tails;
/// node's `mkdtemp` uses 6.
fn temp_names(s: &str) -> String {
    if !s.contains("$TMP/") && !s.contains("/tmp/") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut after_tmp = false;
    for (i, part) in s.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if after_tmp {
            out.push_str(&mask_tail(part));
        } else {
            out.push_str(part);
        }
        after_tmp = part.ends_with("$TMP") || part == "tmp";
    }
    out
}

fn mask_tail(name: &str) -> String {
    let (head, tail) = match name.rfind(['-', '_', '.']) {
        Some(i) => name.split_at(i + 1),
        None if name.starts_with("tmp") => name.split_at(3),
        None => ("", name),
    };
    let random = (6..=8).contains(&tail.len())
        && tail.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tail.bytes().any(|b| b.is_ascii_digit())
        && tail.bytes().any(|b| b.is_ascii_alphabetic());
    if random {
        format!("{head}{}", "X".repeat(tail.len()))
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::Normalizer;

    #[test]
    fn versions_hashes_and_temp_names_become_placeholders() {
        let n = Normalizer::new(Some("1.0.1"));
        assert_eq!(
            n.text("$TMP/pkgtrace-diff-base/1.0.1/index.7be41d02a9c3.json"),
            "$TMP/pkgtrace-diff-base/$V/index.$HASH.json"
        );
        let old = Normalizer::new(Some("1.0.0"));
        assert_eq!(
            old.text("$TMP/pkgtrace-diff-base/1.0.0/index.3f9a8c21d07b.json"),
            n.text("$TMP/pkgtrace-diff-base/1.0.1/index.7be41d02a9c3.json")
        );
        assert_eq!(
            n.text("$HOME/.npm/_logs/2026-11-27T09_40_59_677Z-debug-0.log"),
            "$HOME/.npm/_logs/$TIME-debug-0.log"
        );
        assert_eq!(n.text("/usr/lib/libstdc++.so.6.0.30"), "/usr/lib/libstdc++.so.$V");
        assert_eq!(
            n.text("$PKG/node_modules/.pnpm/left-pad@1.3/node_modules"),
            "$PKG/node_modules/.pnpm/left-pad@$V/node_modules"
        );
        assert_eq!(n.text("$PKG/node_modules/x/x-2.1.0-beta.1.tgz"), "$PKG/node_modules/x/x-$V.tgz");
        assert_eq!(
            n.text("$HOME/.cache/pip/wheels/_0123456789abcdef0123456789abcdef/x.whl"),
            "$HOME/.cache/pip/wheels/_$HASH/x.whl"
        );
        assert_eq!(n.text("$TMP/npm-x1b2c3/file"), "$TMP/npm-XXXXXX/file");
        assert_eq!(n.text("/tmp/tmpab12cd/file"), "/tmp/tmpXXXXXX/file");
        assert_eq!(n.text("/proc/31337/status"), "/proc/N/status");
        assert_eq!(
            n.text("/sys/fs/cgroup/memory/pkgtrace-7336-1603834-start/x"),
            "/sys/fs/cgroup/memory/pkgtrace-N-N-start/x"
        );
    }

    #[test]
    fn ordinary_names_are_kept() {
        let n = Normalizer::new(Some("1.0.0"));
        for s in
            ["$HOME/.npmrc", "/etc/passwd", "$TMP/payload.sh", "$TMP/.x-update", "node setup.js", "$TMP/deadbeefcafe"]
        {
            assert_eq!(n.text(s), s);
        }
        // Hosts and DNS names keep their digits; hex-encoded data is masked.
        assert_eq!(n.name("203.0.113.7"), "203.0.113.7");
        assert_eq!(n.name("64696666.x.evil.example"), "64696666.x.evil.example");
        assert_eq!(n.name("6469666a2d62.x.evil.example"), "$HASH.x.evil.example");
        // A one-number version does not eat digits.
        assert_eq!(Normalizer::new(Some("2")).text("/a/2/b"), "/a/2/b");
    }
}
