//! Lockfile reading: the exact package versions a project pins, as
//! [`Locked`] entries, from an npm `package-lock.json` (or
//! `npm-shrinkwrap.json`; the v2/v3 `packages` map, or v1's nested
//! `dependencies`), a pip `requirements.txt` with `==` pins, or a
//! `Cargo.lock`. Used by `pkgtrace diff --lockfile` (what changed between
//! two lockfiles) and `pkgtrace scan` (everything a project pins).
//!
//! Only registry packages are returned: workspace members, linked or git
//! dependencies and unpinned requirements have no version to trace, so they
//! are skipped with a warning naming the line or entry.
//!
//! ```no_run
//! let locked = package::lockfile::read(std::path::Path::new("package-lock.json")).unwrap();
//! for l in &locked {
//!     println!("{}", l.purl()); // pkg:npm/left-pad@1.3.0
//! }
//! ```

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::error::PackageError;
use super::purl::{Ecosystem, PackageRef};

/// One pinned package of a lockfile: ecosystem, (normalised) name, exact version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Locked {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
}

impl Locked {
    /// The package's purl (`pkg:npm/%40scope/name@1.0.0`).
    pub fn purl(&self) -> String {
        PackageRef {
            ecosystem: self.ecosystem,
            name: self.name.clone(),
            version: Some(self.version.clone()),
            source: super::purl::Source::Registry,
        }
        .purl()
    }
}

/// Reads a lockfile; its kind comes from the file name (`package-lock.json`,
/// `npm-shrinkwrap.json`, `Cargo.lock`, `*.txt` as a requirements file) and,
/// for any other name, from the content. The result has no duplicates and is
/// sorted (by ecosystem, name, version).
pub fn read(path: &Path) -> Result<Vec<Locked>, PackageError> {
    let text =
        fs::read_to_string(path).map_err(|e| PackageError::io(format!("failed to read {}", path.display()), e))?;
    let bad = |detail: String| PackageError::BadManifest { path: path.to_path_buf(), detail };
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let kind = match file_name {
        "package-lock.json" | "npm-shrinkwrap.json" => Ecosystem::Npm,
        "Cargo.lock" => Ecosystem::Cargo,
        n if n.ends_with(".txt") || n.ends_with(".in") => Ecosystem::Pypi,
        _ => sniff(&text).ok_or_else(|| {
            bad("not a lockfile pkgtrace knows (package-lock.json, requirements.txt, Cargo.lock)".into())
        })?,
    };
    let mut out = match kind {
        Ecosystem::Npm => npm(&text).map_err(bad)?,
        Ecosystem::Cargo => cargo(&text).map_err(bad)?,
        Ecosystem::Pypi => requirements(&text, path),
    };
    out.sort();
    out.dedup();
    Ok(out)
}

/// Guesses the kind of a lockfile with an unusual name from its content.
fn sniff(text: &str) -> Option<Ecosystem> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') && text.contains("\"lockfileVersion\"") {
        Some(Ecosystem::Npm)
    } else if text.contains("[[package]]") {
        Some(Ecosystem::Cargo)
    } else if text.lines().any(|l| l.split('#').next().unwrap_or("").contains("==")) {
        Some(Ecosystem::Pypi)
    } else {
        None
    }
}

/// Validates a name and version the way a purl would be, so a lockfile entry
/// can be used on a command line; an entry that is not a plain registry
/// package (alias, git URL, file path) is skipped with a warning.
fn locked(ecosystem: Ecosystem, name: &str, version: &str, origin: &str) -> Option<Locked> {
    match PackageRef::registry(ecosystem, name, Some(version)) {
        Ok(r) => Some(Locked { ecosystem, name: r.name, version: r.version.unwrap_or_default() }),
        Err(e) => {
            tracing::warn!("skipping {origin}: {e}");
            None
        }
    }
}

fn npm(text: &str) -> Result<Vec<Locked>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let mut out = Vec::new();
    if let Some(packages) = doc.get("packages").and_then(Value::as_object) {
        // v2/v3: keys are install paths, "" is the project itself.
        for (key, entry) in packages {
            let Some(tail) = key.rfind("node_modules/").map(|i| &key[i + "node_modules/".len()..]) else {
                continue; // the root project or a workspace folder
            };
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let Some(version) = entry.get("version").and_then(Value::as_str) else { continue };
            // An alias (`"foo": "npm:bar@1"`) installs bar under foo's path.
            let name = entry.get("name").and_then(Value::as_str).unwrap_or(tail);
            out.extend(locked(Ecosystem::Npm, name, version, &format!("package-lock entry {key:?}")));
        }
        return Ok(out);
    }
    if let Some(deps) = doc.get("dependencies").and_then(Value::as_object) {
        npm_v1(deps, &mut out);
        return Ok(out);
    }
    Err("no \"packages\" or \"dependencies\" map (is this a package-lock.json?)".into())
}

/// v1: `dependencies` nested by where npm put them.
fn npm_v1(deps: &serde_json::Map<String, Value>, out: &mut Vec<Locked>) {
    for (name, entry) in deps {
        if let Some(version) = entry.get("version").and_then(Value::as_str) {
            // `npm:real-name@1.0.0` is an alias.
            let (name, version) = match version.strip_prefix("npm:").and_then(|s| s.rsplit_once('@')) {
                Some((real, v)) if !real.is_empty() => (real, v),
                _ => (name.as_str(), version),
            };
            out.extend(locked(Ecosystem::Npm, name, version, &format!("package-lock dependency {name:?}")));
        }
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            npm_v1(nested, out);
        }
    }
}

fn cargo(text: &str) -> Result<Vec<Locked>, String> {
    #[derive(serde::Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Pkg>,
    }
    #[derive(serde::Deserialize)]
    struct Pkg {
        name: String,
        version: String,
        source: Option<String>,
    }
    let lock: Lock = toml::from_str(text).map_err(|e| format!("not a Cargo.lock: {e}"))?;
    Ok(lock
        .package
        .iter()
        // No source: a workspace member or path dependency; git: not on crates.io.
        .filter(|p| p.source.as_deref().is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+")))
        .filter_map(|p| locked(Ecosystem::Cargo, &p.name, &p.version, &format!("Cargo.lock package {:?}", p.name)))
        .collect())
}

/// `requirements.txt`: `name[extras]==version [; marker] [--hash=...]` lines;
/// comments, blank lines and options (`-r`, `--index-url`, ...) are ignored,
/// and a requirement that is not pinned with `==` is warned about.
fn requirements(text: &str, path: &Path) -> Vec<Locked> {
    let mut out = Vec::new();
    // Backslash continuations join lines (pip-compile writes hashes that way).
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    for raw in joined.lines() {
        let line = match raw.find(" #").or_else(|| raw.starts_with('#').then_some(0)) {
            Some(at) => &raw[..at],
            None => raw,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('-') {
            continue;
        }
        let origin = format!("{}: {line:?}", path.display());
        // Drop the environment marker and per-requirement options.
        let spec = line.split(';').next().unwrap_or("").split(" --").next().unwrap_or("").trim();
        let Some((name, version)) = spec.split_once("==") else {
            tracing::warn!("{}: requirement {spec:?} is not pinned with == (skipped)", path.display());
            continue;
        };
        let name = name.split('[').next().unwrap_or("").trim();
        let version = version.trim();
        if version.starts_with('=') || version.contains(',') || version.contains('*') {
            tracing::warn!("{}: requirement {spec:?} is not pinned to one version (skipped)", path.display());
            continue;
        }
        out.extend(locked(Ecosystem::Pypi, name, version, &origin));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(name: &str, text: &str) -> Vec<Locked> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        read(&path).unwrap()
    }

    fn purls(l: &[Locked]) -> Vec<String> {
        l.iter().map(Locked::purl).collect()
    }

    #[test]
    fn npm_v3_packages_map() {
        let text = r#"{
          "name": "app", "lockfileVersion": 3,
          "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/left-pad": {"version": "1.3.0"},
            "node_modules/@scope/x": {"version": "2.0.0"},
            "node_modules/a/node_modules/left-pad": {"version": "1.2.0"},
            "node_modules/dup/node_modules/left-pad": {"version": "1.2.0"},
            "node_modules/alias": {"name": "real", "version": "0.1.0"},
            "node_modules/linked": {"resolved": "packages/linked", "link": true},
            "packages/linked": {"version": "9.9.9"}
          }
        }"#;
        assert_eq!(
            purls(&read_str("package-lock.json", text)),
            ["pkg:npm/%40scope/x@2.0.0", "pkg:npm/left-pad@1.2.0", "pkg:npm/left-pad@1.3.0", "pkg:npm/real@0.1.0"]
        );
    }

    #[test]
    fn npm_v1_nested_dependencies() {
        let text = r#"{
          "lockfileVersion": 1,
          "dependencies": {
            "b": {"version": "1.0.0", "dependencies": {"c": {"version": "2.0.0"}}},
            "a": {"version": "npm:real@3.0.0"},
            "g": {"version": "github:user/repo#abc"}
          }
        }"#;
        let l = read_str("npm-shrinkwrap.json", text);
        assert_eq!(purls(&l), ["pkg:npm/b@1.0.0", "pkg:npm/c@2.0.0", "pkg:npm/real@3.0.0"]);
    }

    #[test]
    fn requirements_pins_only() {
        let text = "# top comment\n\
            -r other.txt\n\
            --index-url https://example.org/simple\n\
            Requests[socks]==2.31.0 ; python_version >= \"3.8\"\n\
            six==1.16.0 \\\n    --hash=sha256:abc\n\
            flask>=2.0\n\
            idna==3.4  # pinned\n\
            six==1.16.0\n\
            zope.interface==6.0\n";
        let l = read_str("requirements.txt", text);
        assert_eq!(
            purls(&l),
            ["pkg:pypi/idna@3.4", "pkg:pypi/requests@2.31.0", "pkg:pypi/six@1.16.0", "pkg:pypi/zope-interface@6.0"]
        );
        assert!(l.iter().all(|x| x.ecosystem == Ecosystem::Pypi));
    }

    #[test]
    fn cargo_lock_registry_packages() {
        let text = r#"
version = 3

[[package]]
name = "app"
version = "0.1.0"

[[package]]
name = "libc"
version = "0.2.150"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "fromgit"
version = "1.0.0"
source = "git+https://github.com/x/y#abc"

[[package]]
name = "itoa"
version = "1.0.9"
source = "sparse+https://index.crates.io/"
"#;
        assert_eq!(purls(&read_str("Cargo.lock", text)), ["pkg:cargo/itoa@1.0.9", "pkg:cargo/libc@0.2.150"]);
    }

    #[test]
    fn kind_from_content_when_the_name_is_unusual() {
        let l = read_str("old.lock", r#"{"lockfileVersion": 2, "packages": {"node_modules/x": {"version": "1.0.0"}}}"#);
        assert_eq!(purls(&l), ["pkg:npm/x@1.0.0"]);
        let l = read_str("deps.lock", "[[package]]\nname = \"x\"\nversion = \"1.0.0\"\nsource = \"registry+r\"\n");
        assert_eq!(purls(&l), ["pkg:cargo/x@1.0.0"]);
    }

    #[test]
    fn bad_input_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("package-lock.json");
        fs::write(&p, "not json").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("package-lock.json") && e.contains("not JSON"), "{e}");
        fs::write(&p, "{\"lockfileVersion\": 3}").unwrap();
        assert!(read(&p).is_err());
        let other = dir.path().join("mystery.lock");
        fs::write(&other, "hello").unwrap();
        assert!(read(&other).unwrap_err().to_string().contains("not a lockfile"));
        assert!(read(&dir.path().join("missing.txt")).is_err());
    }
}
