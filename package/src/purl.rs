//! Package identity: the [`Ecosystem`]s pkgtrace knows, [`PackageRef`] (a
//! name, an optional version and where the package comes from), and
//! [`parse`], which turns a purl (`pkg:npm/left-pad@1.3.0`) or a local path
//! into one. Names and versions are validated here, once, because they end up
//! on package-manager command lines and in cache paths.

use std::fmt;
use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::detect;
use super::error::PackageError;

pub use report::Ecosystem;

/// Where the package's files come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    /// The ecosystem's public registry (npmjs.org, PyPI, crates.io, or what the client is configured to use).
    Registry,
    /// A directory or archive on this machine (absolute path).
    Local(PathBuf),
}

/// A package to fetch: the ecosystem, its (normalised) name and an optional version.
///
/// `version: None` means "latest" for a registry package; it is resolved when
/// the package is staged. For a local package the name and version come from
/// its manifest (the version may be unknown until staging).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackageRef {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: Option<String>,
    pub source: Source,
}

impl PackageRef {
    /// A registry package; validates (and for PyPI normalises) the name and version.
    pub fn registry(ecosystem: Ecosystem, name: &str, version: Option<&str>) -> Result<PackageRef, PackageError> {
        let name = validate_name(ecosystem, name)?;
        let version = version.map(validate_version).transpose()?;
        Ok(PackageRef { ecosystem, name, version, source: Source::Registry })
    }

    /// The canonical purl of this package (`pkg:npm/%40scope/name@1.0.0`); for a
    /// local package it names what the manifest says.
    pub fn purl(&self) -> String {
        let name = match (self.ecosystem, self.name.split_once('/')) {
            (Ecosystem::Npm, Some((scope, rest))) => format!("{}/{}", percent_encode(scope), percent_encode(rest)),
            _ => percent_encode(&self.name),
        };
        match &self.version {
            Some(v) => format!("pkg:{}/{}@{}", self.ecosystem, name, percent_encode(v)),
            None => format!("pkg:{}/{}", self.ecosystem, name),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self.source, Source::Local(_))
    }
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Registry => f.write_str(&self.purl()),
            Source::Local(path) => write!(f, "{} (local {})", self.purl(), path.display()),
        }
    }
}

/// Parses a purl (`pkg:<type>/<name>[@<version>]`) or a local path (directory
/// or archive). `ecosystem_hint` must agree with the purl's type; for a path
/// it picks the ecosystem when the contents are ambiguous, and is checked
/// against them otherwise.
pub fn parse(spec: &str, ecosystem_hint: Option<Ecosystem>) -> Result<PackageRef, PackageError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(PackageError::MalformedPurl { spec: spec.to_string(), reason: "empty package spec".into() });
    }
    if let Some(rest) = strip_prefix_ci(spec, "pkg:") {
        let pkg = parse_purl(spec, rest)?;
        if let Some(hint) = ecosystem_hint {
            if hint != pkg.ecosystem {
                return Err(PackageError::MalformedPurl {
                    spec: spec.to_string(),
                    reason: format!("purl type is {} but ecosystem {hint} was asked for", pkg.ecosystem),
                });
            }
        }
        return Ok(pkg);
    }
    let path = PathBuf::from(spec);
    if !path.exists() {
        return Err(PackageError::PathNotFound { spec: spec.to_string() });
    }
    detect::local(&path, ecosystem_hint)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

fn parse_purl(spec: &str, rest: &str) -> Result<PackageRef, PackageError> {
    let bad = |reason: &str| PackageError::MalformedPurl { spec: spec.to_string(), reason: reason.to_string() };
    // pkg:type/namespace/name@version?qualifiers#subpath
    let (rest, subpath) = match rest.split_once('#') {
        Some((r, s)) => (r, Some(s)),
        None => (rest, None),
    };
    if subpath.is_some_and(|s| !s.trim_matches('/').is_empty()) {
        return Err(bad("subpaths (#...) are not supported"));
    }
    let (rest, qualifiers) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    if let Some(q) = qualifiers {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let key = pair.split_once('=').map_or(pair, |(k, _)| k).to_ascii_lowercase();
            if key == "repository_url" || key == "download_url" || key == "vcs_url" {
                return Err(bad(&format!("qualifier {key} is not supported (only the default registry is)")));
            }
            tracing::debug!(qualifier = %pair, "ignoring purl qualifier");
        }
    }
    let rest = rest.trim_start_matches('/');
    let (ty, path) = rest.split_once('/').ok_or_else(|| bad("expected pkg:<type>/<name>"))?;
    if ty.is_empty() {
        return Err(bad("missing type"));
    }
    let ecosystem: Ecosystem = match ty.to_ascii_lowercase().as_str() {
        "npm" => Ecosystem::Npm,
        "pypi" => Ecosystem::Pypi,
        "cargo" => Ecosystem::Cargo,
        _ => return Err(PackageError::UnknownEcosystem(ty.to_string())),
    };
    let path = path.trim_end_matches('/');
    // The version is introduced by the last '@' of the last segment (an
    // unencoded npm scope like `@scope/name` keeps its '@').
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    let (path, version) = match path[last_slash..].rfind('@') {
        Some(at) if at > 0 => (&path[..last_slash + at], Some(&path[last_slash + at + 1..])),
        _ => (path, None),
    };
    let version = match version {
        Some("") => return Err(bad("empty version after '@'")),
        Some(v) => Some(percent_decode(v).ok_or_else(|| bad("bad percent-encoding in version"))?),
        None => None,
    };
    let segments: Vec<String> = path
        .split('/')
        .map(|s| percent_decode(s).ok_or_else(|| bad("bad percent-encoding in name")))
        .collect::<Result<_, _>>()?;
    if segments.iter().any(|s| s.is_empty()) {
        return Err(bad("empty name or namespace segment"));
    }
    let name = match (ecosystem, segments.as_slice()) {
        (_, [name]) => name.clone(),
        (Ecosystem::Npm, [scope, name]) => {
            let scope = if scope.starts_with('@') { scope.clone() } else { format!("@{scope}") };
            format!("{scope}/{name}")
        }
        (Ecosystem::Npm, _) => return Err(bad("npm purls have at most one namespace (the @scope)")),
        (_, _) => return Err(bad(&format!("{ecosystem} purls have no namespace"))),
    };
    PackageRef::registry(ecosystem, &name, version.as_deref())
}

static NPM_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(@[A-Za-z0-9\-~][A-Za-z0-9\-._~]*/)?[A-Za-z0-9\-~][A-Za-z0-9\-._~]*$").expect("valid regex")
});
static PYPI_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$").expect("valid regex"));
static CARGO_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9_-]*$").expect("valid regex"));
static VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9.+_!~-]*$").expect("valid regex"));
static PYPI_SEPARATORS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[-_.]+").expect("valid regex"));

/// Checks a package name against the ecosystem's rules and returns its
/// canonical form (PyPI names are normalised per PEP 503).
pub(crate) fn validate_name(ecosystem: Ecosystem, name: &str) -> Result<String, PackageError> {
    let invalid = |reason: &str| PackageError::InvalidName {
        ecosystem: ecosystem.to_string(),
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.len() > 214 {
        return Err(invalid("longer than 214 characters"));
    }
    match ecosystem {
        Ecosystem::Npm if NPM_NAME.is_match(name) => Ok(name.to_string()),
        Ecosystem::Npm => Err(invalid("expected [@scope/]name of letters, digits and -._~, not starting with . or _")),
        Ecosystem::Pypi if PYPI_NAME.is_match(name) => Ok(normalize_pypi_name(name)),
        Ecosystem::Pypi => Err(invalid("expected letters, digits and -_. (starting and ending alphanumeric)")),
        Ecosystem::Cargo if CARGO_NAME.is_match(name) && name.len() <= 64 => Ok(name.to_string()),
        Ecosystem::Cargo => Err(invalid("expected a letter then letters, digits, - and _ (at most 64)")),
    }
}

/// Checks a version string: it must be a plain version, since it is used on
/// command lines and as a directory name.
pub(crate) fn validate_version(version: &str) -> Result<String, PackageError> {
    if VERSION.is_match(version) && version.len() <= 128 {
        Ok(version.to_string())
    } else {
        Err(PackageError::InvalidVersion {
            version: version.to_string(),
            reason: "expected letters, digits and .+_!~- starting alphanumeric".into(),
        })
    }
}

/// PEP 503 normalisation: lowercase, and every run of `-`, `_`, `.` becomes one `-`.
pub fn normalize_pypi_name(name: &str) -> String {
    PYPI_SEPARATORS.replace_all(&name.to_ascii_lowercase(), "-").into_owned()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(eco: Ecosystem, name: &str, version: Option<&str>) -> PackageRef {
        PackageRef {
            ecosystem: eco,
            name: name.to_string(),
            version: version.map(str::to_string),
            source: Source::Registry,
        }
    }

    #[test]
    fn parses_plain_purls() {
        assert_eq!(parse("pkg:npm/left-pad@1.3.0", None).unwrap(), reg(Ecosystem::Npm, "left-pad", Some("1.3.0")));
        assert_eq!(parse("pkg:pypi/requests@2.31.0", None).unwrap(), reg(Ecosystem::Pypi, "requests", Some("2.31.0")));
        assert_eq!(parse("pkg:cargo/serde@1.0.200", None).unwrap(), reg(Ecosystem::Cargo, "serde", Some("1.0.200")));
        assert_eq!(parse("  PKG:Cargo/itoa@1.0.11 ", None).unwrap(), reg(Ecosystem::Cargo, "itoa", Some("1.0.11")));
    }

    #[test]
    fn missing_version_means_latest() {
        assert_eq!(parse("pkg:npm/left-pad", None).unwrap(), reg(Ecosystem::Npm, "left-pad", None));
        assert_eq!(parse("pkg:npm/%40types/node", None).unwrap(), reg(Ecosystem::Npm, "@types/node", None));
        assert_eq!(parse("pkg:npm/@types/node", None).unwrap(), reg(Ecosystem::Npm, "@types/node", None));
    }

    #[test]
    fn npm_scopes_are_decoded_and_kept() {
        let want = reg(Ecosystem::Npm, "@scope/name", Some("1.0.0"));
        assert_eq!(parse("pkg:npm/%40scope/name@1.0.0", None).unwrap(), want);
        assert_eq!(parse("pkg:npm/@scope/name@1.0.0", None).unwrap(), want);
        assert_eq!(parse("pkg:npm/scope/name@1.0.0", None).unwrap(), want);
        assert_eq!(want.purl(), "pkg:npm/%40scope/name@1.0.0");
    }

    #[test]
    fn pypi_names_are_normalised() {
        let p = parse("pkg:pypi/Zope.Interface@6.0", None).unwrap();
        assert_eq!(p.name, "zope-interface");
        assert_eq!(parse("pkg:pypi/typing__extensions", None).unwrap().name, "typing-extensions");
        assert_eq!(normalize_pypi_name("Foo-_.Bar"), "foo-bar");
        assert_eq!(normalize_pypi_name("a.b_c-d"), "a-b-c-d");
    }

    #[test]
    fn qualifiers_are_ignored_but_other_registries_rejected() {
        assert_eq!(parse("pkg:pypi/six@1.16.0?extension=tar.gz", None).unwrap().version.as_deref(), Some("1.16.0"));
        let err = parse("pkg:npm/x@1.0.0?repository_url=https://evil.example", None).unwrap_err();
        assert!(err.to_string().contains("repository_url"), "{err}");
    }

    #[test]
    fn versions_are_percent_decoded_and_validated() {
        assert_eq!(parse("pkg:npm/x@1.0.0%2Bbuild", None).unwrap().version.as_deref(), Some("1.0.0+build"));
        assert!(matches!(parse("pkg:npm/x@-rf", None), Err(PackageError::InvalidVersion { .. })));
        assert!(matches!(parse("pkg:npm/x@1.0%20;rm", None), Err(PackageError::InvalidVersion { .. })));
        assert!(matches!(parse("pkg:npm/x@", None), Err(PackageError::MalformedPurl { .. })));
    }

    #[test]
    fn unknown_ecosystem_is_an_error() {
        let err = parse("pkg:gem/rails@7.0.0", None).unwrap_err();
        assert!(matches!(err, PackageError::UnknownEcosystem(ref t) if t == "gem"), "{err}");
        assert_eq!(err.to_string(), "unknown ecosystem \"gem\" (expected npm, pypi or cargo)");
    }

    #[test]
    fn malformed_purls_are_errors() {
        for spec in ["pkg:", "pkg:npm", "pkg:npm/", "pkg:/x", "pkg:npm/a/b/c@1", "pkg:pypi/ns/x@1", "pkg:npm/%zz"] {
            let err = parse(spec, None).unwrap_err();
            assert!(matches!(err, PackageError::MalformedPurl { .. }), "{spec}: {err}");
        }
        assert!(parse("pkg:npm/x#sub/path", None).is_err());
    }

    #[test]
    fn invalid_names_are_errors() {
        for spec in ["pkg:npm/--registry=x", "pkg:npm/.hidden", "pkg:cargo/1abc", "pkg:pypi/-x", "pkg:cargo/a%20b"] {
            let err = parse(spec, None).unwrap_err();
            assert!(matches!(err, PackageError::InvalidName { .. }), "{spec}: {err}");
        }
    }

    #[test]
    fn hint_must_agree_with_purl_type() {
        assert!(parse("pkg:npm/x@1.0.0", Some(Ecosystem::Npm)).is_ok());
        let err = parse("pkg:npm/x@1.0.0", Some(Ecosystem::Cargo)).unwrap_err();
        assert!(err.to_string().contains("purl type is npm"), "{err}");
    }

    #[test]
    fn missing_path_is_an_error() {
        let err = parse("/nonexistent/pkgtrace/pkg", None).unwrap_err();
        assert!(matches!(err, PackageError::PathNotFound { .. }), "{err}");
        assert!(err.to_string().contains("not a purl"), "{err}");
    }

    #[test]
    fn ecosystem_from_str_and_display() {
        assert_eq!("NPM".parse::<Ecosystem>().unwrap(), Ecosystem::Npm);
        assert_eq!("pip".parse::<Ecosystem>().unwrap(), Ecosystem::Pypi);
        assert_eq!("crates".parse::<Ecosystem>().unwrap(), Ecosystem::Cargo);
        assert!("gem".parse::<Ecosystem>().is_err());
        for eco in Ecosystem::ALL {
            assert_eq!(eco.to_string().parse::<Ecosystem>().unwrap(), eco);
            assert_eq!(eco.to_string(), eco.to_string().to_lowercase());
        }
    }

    #[test]
    fn purl_round_trips() {
        for spec in
            ["pkg:npm/left-pad@1.3.0", "pkg:pypi/requests@2.31.0", "pkg:cargo/serde", "pkg:npm/%40a/b@1.0.0-rc.1"]
        {
            assert_eq!(parse(spec, None).unwrap().purl(), spec);
        }
    }
}
