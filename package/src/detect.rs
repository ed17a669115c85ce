//! Local packages: decides which ecosystem a directory or archive belongs to
//! from its contents (or an explicit hint), and reads its name and version
//! from the manifest — statically, never by running anything from it. Also
//! holds the small tar helpers (list, read one member) the fetchers share;
//! they shell out to `tar`, which only reads the archive.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::LazyLock;

use regex::Regex;

use super::error::PackageError;
use super::purl::{normalize_pypi_name, validate_name, validate_version, Ecosystem, PackageRef, Source};

/// Files whose presence at the top of a directory or archive marks each ecosystem.
const MARKERS: [(Ecosystem, &[&str]); 3] = [
    (Ecosystem::Npm, &["package.json"]),
    (Ecosystem::Pypi, &["PKG-INFO", "setup.py", "pyproject.toml", "setup.cfg"]),
    (Ecosystem::Cargo, &["Cargo.toml"]),
];

/// Detects the ecosystem of a local directory or archive and reads its identity.
pub(crate) fn local(path: &Path, hint: Option<Ecosystem>) -> Result<PackageRef, PackageError> {
    let abs =
        fs::canonicalize(path).map_err(|e| PackageError::io(format!("failed to resolve {}", path.display()), e))?;
    let unrecognised = |reason: String| PackageError::Unrecognised { path: abs.clone(), reason };
    if abs.is_dir() {
        let present = |f: &str| abs.join(f).is_file();
        let found = candidates(present);
        let eco = choose(&found, hint).map_err(unrecognised)?;
        let (name, version) = match eco {
            Ecosystem::Npm => npm_identity(&abs.join("package.json"), &read_file(&abs.join("package.json"))?)?,
            Ecosystem::Cargo => cargo_identity(&abs.join("Cargo.toml"), &read_file(&abs.join("Cargo.toml"))?)?,
            Ecosystem::Pypi => {
                let read = |f: &str| fs::read_to_string(abs.join(f)).ok();
                pypi_identity(&abs, read, file_stem_name(&abs))?
            }
        };
        return Ok(PackageRef { ecosystem: eco, name, version, source: Source::Local(abs) });
    }
    let file_name = abs.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    if file_name.ends_with(".whl") {
        if hint.is_some_and(|h| h != Ecosystem::Pypi) {
            return Err(unrecognised(format!("a wheel is a pypi package, not {}", hint.unwrap_or(Ecosystem::Pypi))));
        }
        let (name, version) = wheel_identity(&abs)?;
        return Ok(PackageRef { ecosystem: Ecosystem::Pypi, name, version, source: Source::Local(abs) });
    }
    let is_tar = [".tgz", ".tar.gz", ".crate"].iter().any(|ext| file_name.ends_with(ext));
    if !is_tar {
        return Err(unrecognised(
            "not a directory or a .tgz / .tar.gz / .crate / .whl archive (package.json, setup.py, pyproject.toml, \
             PKG-INFO or Cargo.toml expected)"
                .into(),
        ));
    }
    let top = top_level_entries(&abs)?;
    let mut found = candidates(|f| top.contains_key(f));
    if file_name.ends_with(".crate") {
        found.retain(|e| *e == Ecosystem::Cargo);
    }
    let eco = choose(&found, hint).map_err(unrecognised)?;
    let member = |f: &str| -> Result<String, PackageError> {
        let entry = &top[f];
        String::from_utf8(read_tar_member(&abs, entry)?)
            .map_err(|_| PackageError::BadManifest { path: abs.join(entry), detail: "not utf-8".into() })
    };
    let (name, version) = match eco {
        Ecosystem::Npm => npm_identity(&abs.join(&top["package.json"]), &member("package.json")?)?,
        Ecosystem::Cargo => cargo_identity(&abs.join(&top["Cargo.toml"]), &member("Cargo.toml")?)?,
        Ecosystem::Pypi => {
            let read = |f: &str| if top.contains_key(f) { member(f).ok() } else { None };
            pypi_identity(&abs, read, file_stem_name(&abs))?
        }
    };
    Ok(PackageRef { ecosystem: eco, name, version, source: Source::Local(abs) })
}

fn candidates(present: impl Fn(&str) -> bool) -> Vec<Ecosystem> {
    MARKERS.iter().filter(|(_, files)| files.iter().any(|f| present(f))).map(|(eco, _)| *eco).collect()
}

fn choose(found: &[Ecosystem], hint: Option<Ecosystem>) -> Result<Ecosystem, String> {
    let expected = |eco: Ecosystem| {
        MARKERS.iter().find(|(e, _)| *e == eco).map(|(_, files)| files.join(" or ")).unwrap_or_default()
    };
    match (found, hint) {
        ([], None) => Err("no package.json, setup.py, pyproject.toml, PKG-INFO or Cargo.toml found".into()),
        ([one], None) => Ok(*one),
        (many, None) => Err(format!(
            "looks like more than one ecosystem ({}); say which one",
            many.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
        )),
        (found, Some(h)) if found.contains(&h) => Ok(h),
        (_, Some(h)) => Err(format!("not a {h} package (no {} found)", expected(h))),
    }
}

fn read_file(path: &Path) -> Result<String, PackageError> {
    fs::read_to_string(path).map_err(|e| PackageError::io(format!("failed to read {}", path.display()), e))
}

/// The name a file or directory suggests: `foo-1.2.3.tar.gz` → `foo`, `/x/foo` → `foo`.
fn file_stem_name(path: &Path) -> Option<(String, Option<String>)> {
    static SDIST: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(.+?)-(\d[^-]*)\.(tar\.gz|tgz|zip)$").expect("valid regex"));
    let file = path.file_name()?.to_string_lossy().into_owned();
    if let Some(c) = SDIST.captures(&file) {
        return Some((c[1].to_string(), Some(c[2].to_string())));
    }
    Some((file, None))
}

/// Name and version from a `package.json`.
pub(crate) fn npm_identity(path: &Path, text: &str) -> Result<(String, Option<String>), PackageError> {
    let bad = |detail: String| PackageError::BadManifest { path: path.to_path_buf(), detail };
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(format!("invalid json: {e}")))?;
    let name = json.get("name").and_then(|n| n.as_str()).ok_or_else(|| bad("no \"name\"".into()))?;
    let name = validate_name(Ecosystem::Npm, name)?;
    let version = json.get("version").and_then(|v| v.as_str()).map(validate_version).transpose()?;
    Ok((name, version))
}

/// Name and version from a `Cargo.toml`; the version is `None` when inherited from a workspace.
pub(crate) fn cargo_identity(path: &Path, text: &str) -> Result<(String, Option<String>), PackageError> {
    let bad = |detail: String| PackageError::BadManifest { path: path.to_path_buf(), detail };
    let doc: toml::Table = toml::from_str(text).map_err(|e| bad(format!("invalid toml: {}", e.message())))?;
    let Some(package) = doc.get("package").and_then(|p| p.as_table()) else {
        return Err(bad("no [package] table (a virtual workspace manifest? give a member crate's directory)".into()));
    };
    let name = package.get("name").and_then(|n| n.as_str()).ok_or_else(|| bad("no package.name".into()))?;
    let name = validate_name(Ecosystem::Cargo, name)?;
    let version = package.get("version").and_then(|v| v.as_str()).map(validate_version).transpose()?;
    Ok((name, version))
}

/// Name and version of a Python source tree or sdist, read statically from
/// `PKG-INFO`, `pyproject.toml`, `setup.cfg`, then `setup.py` (by pattern, not
/// by running it), then the file name.
fn pypi_identity(
    path: &Path,
    read: impl Fn(&str) -> Option<String>,
    fallback: Option<(String, Option<String>)>,
) -> Result<(String, Option<String>), PackageError> {
    let mut name: Option<String> = None;
    let mut version: Option<String> = None;
    let mut fill = |n: Option<String>, v: Option<String>| {
        if name.is_none() {
            name = n.filter(|n| !n.is_empty());
        }
        if version.is_none() {
            version = v.filter(|v| !v.is_empty());
        }
    };
    if let Some(text) = read("PKG-INFO") {
        let headers = rfc822_headers(&text);
        let get = |key: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.clone());
        fill(get("Name"), get("Version"));
    }
    if let Some(text) = read("pyproject.toml") {
        let project = toml::from_str::<toml::Table>(&text).ok().and_then(|t| t.get("project").cloned());
        let field = |k: &str| project.as_ref().and_then(|p| p.get(k)).and_then(|v| v.as_str()).map(str::to_string);
        fill(field("name"), field("version"));
    }
    if let Some(text) = read("setup.cfg") {
        let (n, v) = setup_cfg_metadata(&text);
        fill(n, v);
    }
    if let Some(text) = read("setup.py") {
        static NAME: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r#"\bname\s*=\s*['"]([A-Za-z0-9._-]+)['"]"#).expect("valid regex"));
        static VERSION: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r#"\bversion\s*=\s*['"]([A-Za-z0-9.+!_-]+)['"]"#).expect("valid regex"));
        // The keywords of the setup() call, which comes last; a `name="..."`
        // elsewhere (a form field, a decoy in a string) is not the package's.
        let call = text.rfind("setup(").map_or(text.as_str(), |at| &text[at..]);
        let first = |re: &Regex| re.captures(call).or_else(|| re.captures(&text)).map(|c| c[1].to_string());
        fill(first(&NAME), first(&VERSION));
    }
    if let Some((n, v)) = fallback {
        fill(Some(n), v);
    }
    let name = name.ok_or_else(|| PackageError::BadManifest {
        path: path.to_path_buf(),
        detail: "cannot find the package name statically".into(),
    })?;
    let name = validate_name(Ecosystem::Pypi, &name)?;
    let version = version.map(|v| validate_version(&v)).transpose()?;
    Ok((normalize_pypi_name(&name), version))
}

/// The headers of an RFC 822 style metadata file (PKG-INFO, METADATA), up to the first blank line.
pub(crate) fn rfc822_headers(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn setup_cfg_metadata(text: &str) -> (Option<String>, Option<String>) {
    let mut in_metadata = false;
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_metadata = line == "[metadata]";
        } else if in_metadata {
            if let Some((k, v)) = line.split_once('=').or_else(|| line.split_once(':')) {
                let v = v.trim();
                // `version = attr: pkg.__version__` / `file: VERSION` need code or other files.
                if v.contains(':') {
                    continue;
                }
                match k.trim() {
                    "name" => name = Some(v.to_string()),
                    "version" => version = Some(v.to_string()),
                    _ => {}
                }
            }
        }
    }
    (name, version)
}

/// Name and version from a wheel's file name (`name-version-tags.whl`).
fn wheel_identity(path: &Path) -> Result<(String, Option<String>), PackageError> {
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let parts: Vec<&str> = file.trim_end_matches(".whl").split('-').collect();
    if parts.len() < 5 {
        return Err(PackageError::Unrecognised {
            path: path.to_path_buf(),
            reason: "not a valid wheel file name".into(),
        });
    }
    Ok((validate_name(Ecosystem::Pypi, parts[0])?, Some(validate_version(parts[1])?)))
}

/// Lists a gzipped tar archive (`tar -tzf`); a failure means a corrupt or foreign archive.
pub(crate) fn list_tar(archive: &Path) -> Result<Vec<String>, PackageError> {
    let out = Command::new("tar")
        .arg("-tzf")
        .arg(archive)
        .output()
        .map_err(|source| PackageError::Tool { program: "tar".into(), cause: source })?;
    if !out.status.success() {
        return Err(PackageError::CorruptArchive {
            path: archive.to_path_buf(),
            detail: one_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect())
}

/// Reads one member of a gzipped tar archive to memory (`tar -xzOf`; nothing is written to disk).
pub(crate) fn read_tar_member(archive: &Path, member: &str) -> Result<Vec<u8>, PackageError> {
    let out = Command::new("tar")
        .arg("-xzOf")
        .arg(archive)
        .arg("--")
        .arg(member)
        .output()
        .map_err(|source| PackageError::Tool { program: "tar".into(), cause: source })?;
    if !out.status.success() {
        return Err(PackageError::CorruptArchive {
            path: archive.to_path_buf(),
            detail: format!("cannot read {member}: {}", one_line(&String::from_utf8_lossy(&out.stderr))),
        });
    }
    Ok(out.stdout)
}

/// The archive's files one level below its single top directory (`package/package.json`,
/// `foo-1.0/PKG-INFO`), keyed by the path below it, valued by the full member name.
pub(crate) fn top_level_entries(archive: &Path) -> Result<BTreeMap<String, String>, PackageError> {
    let mut out = BTreeMap::new();
    for entry in list_tar(archive)? {
        let rel = entry.trim_start_matches("./");
        let mut parts = rel.splitn(2, '/');
        let (Some(_root), Some(rest)) = (parts.next(), parts.next()) else { continue };
        if !rest.is_empty() && !rest.contains('/') {
            out.entry(rest.to_string()).or_insert(entry.clone());
        }
    }
    Ok(out)
}

/// The most telling line of a client's error output: the first line that
/// looks like an error, else the last non-empty line; trimmed to 300 characters.
pub(crate) fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let pick = lines
        .iter()
        .find(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") || l.contains("not found") || l.contains("404") || l.contains("no matching")
        })
        .or(lines.last())
        .copied()
        .unwrap_or("no output");
    // Cargo-style chains ("error: failed to sync" ... "Caused by:" ... root cause): add the root cause.
    let root_cause = lines.contains(&"Caused by:").then(|| lines.last().copied()).flatten();
    let pick = match root_cause {
        Some(cause) if cause != pick => format!("{pick}: {cause}"),
        _ => pick.to_string(),
    };
    let mut s: String = pick.chars().take(300).collect();
    if pick.chars().count() > 300 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn write(dir: &Path, file: &str, text: &str) {
        let path = dir.join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn tar_gz(dir: &Path, root: &str, out: &Path) {
        let ok = Command::new("tar").arg("-czf").arg(out).arg("-C").arg(dir).arg(root).status().unwrap().success();
        assert!(ok);
    }

    #[test]
    fn detects_npm_directory() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "package.json", r#"{"name":"@acme/thing","version":"2.0.1"}"#);
        let p = parse(t.path().to_str().unwrap(), None).unwrap();
        assert_eq!(p.ecosystem, Ecosystem::Npm);
        assert_eq!(p.name, "@acme/thing");
        assert_eq!(p.version.as_deref(), Some("2.0.1"));
        assert_eq!(p.source, Source::Local(fs::canonicalize(t.path()).unwrap()));
    }

    #[test]
    fn detects_cargo_directory_and_workspace_version() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "Cargo.toml", "[package]\nname = \"my-crate\"\nversion = \"0.3.0\"\n");
        let p = parse(t.path().to_str().unwrap(), None).unwrap();
        assert_eq!((p.ecosystem, p.name.as_str(), p.version.as_deref()), (Ecosystem::Cargo, "my-crate", Some("0.3.0")));
        write(t.path(), "Cargo.toml", "[package]\nname = \"my-crate\"\nversion.workspace = true\n");
        assert_eq!(parse(t.path().to_str().unwrap(), None).unwrap().version, None);
        write(t.path(), "Cargo.toml", "[workspace]\nmembers = [\"a\"]\n");
        let err = parse(t.path().to_str().unwrap(), None).unwrap_err();
        assert!(err.to_string().contains("virtual workspace"), "{err}");
    }

    #[test]
    fn detects_python_directory_statically() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "setup.py", "from setuptools import setup\nsetup(name='My_Pkg', version='0.1.2')\n");
        let p = parse(t.path().to_str().unwrap(), None).unwrap();
        assert_eq!((p.ecosystem, p.name.as_str(), p.version.as_deref()), (Ecosystem::Pypi, "my-pkg", Some("0.1.2")));
        // A name= before the call (a form field) is not the package's.
        write(
            t.path(),
            "setup.py",
            "import x\nBODY = 'Content-Disposition: form-data; name=\"file\"'\nsetup(\n    name='My_Pkg',\n    version='0.1.2',\n)\n",
        );
        assert_eq!(parse(t.path().to_str().unwrap(), None).unwrap().name, "my-pkg");
        write(t.path(), "pyproject.toml", "[project]\nname = \"Other.Name\"\nversion = \"3.0\"\n");
        let p = parse(t.path().to_str().unwrap(), None).unwrap();
        assert_eq!((p.name.as_str(), p.version.as_deref()), ("other-name", Some("3.0")));
    }

    #[test]
    fn ambiguous_directory_needs_a_hint() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "Cargo.toml", "[package]\nname = \"native\"\nversion = \"1.0.0\"\n");
        write(t.path(), "pyproject.toml", "[project]\nname = \"native\"\nversion = \"1.0.0\"\n");
        let spec = t.path().to_str().unwrap();
        let err = parse(spec, None).unwrap_err();
        assert!(err.to_string().contains("more than one ecosystem (pypi, cargo)"), "{err}");
        assert_eq!(parse(spec, Some(Ecosystem::Pypi)).unwrap().ecosystem, Ecosystem::Pypi);
        assert_eq!(parse(spec, Some(Ecosystem::Cargo)).unwrap().ecosystem, Ecosystem::Cargo);
        let err = parse(spec, Some(Ecosystem::Npm)).unwrap_err();
        assert!(err.to_string().contains("not a npm package (no package.json found)"), "{err}");
    }

    #[test]
    fn unrecognisable_directory_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "README", "hello");
        let err = parse(t.path().to_str().unwrap(), None).unwrap_err();
        assert!(matches!(err, PackageError::Unrecognised { .. }), "{err}");
        let file = t.path().join("README");
        assert!(matches!(parse(file.to_str().unwrap(), None), Err(PackageError::Unrecognised { .. })));
    }

    #[test]
    fn detects_archives_by_contents() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "package/package.json", r#"{"name":"tiny","version":"1.0.0"}"#);
        write(t.path(), "foo-1.2/PKG-INFO", "Metadata-Version: 2.1\nName: Foo\nVersion: 1.2\n\nbody");
        write(t.path(), "foo-1.2/setup.py", "raise SystemExit('never run')\n");
        write(t.path(), "bar-0.1.0/Cargo.toml", "[package]\nname = \"bar\"\nversion = \"0.1.0\"\n");
        let cases = [
            ("package", "tiny-1.0.0.tgz", Ecosystem::Npm, "tiny", "1.0.0"),
            ("foo-1.2", "foo-1.2.tar.gz", Ecosystem::Pypi, "foo", "1.2"),
            ("bar-0.1.0", "bar-0.1.0.crate", Ecosystem::Cargo, "bar", "0.1.0"),
        ];
        for (root, file, eco, name, version) in cases {
            let out = t.path().join(file);
            tar_gz(t.path(), root, &out);
            let p = parse(out.to_str().unwrap(), None).unwrap();
            assert_eq!((p.ecosystem, p.name.as_str(), p.version.as_deref()), (eco, name, Some(version)), "{file}");
        }
    }

    #[test]
    fn corrupt_archive_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("broken.tgz");
        fs::write(&f, b"\x1f\x8bthis is not gzip").unwrap();
        let err = parse(f.to_str().unwrap(), None).unwrap_err();
        assert!(matches!(err, PackageError::CorruptArchive { .. }), "{err}");
    }

    #[test]
    fn one_line_prefers_the_error_line() {
        let text = "npm error code E404\nnpm error 404 Not Found - GET https://x\nnpm error A complete log\n";
        assert_eq!(one_line(text), "npm error code E404");
        assert_eq!(one_line("\n  last words \n"), "last words");
        assert_eq!(one_line(""), "no output");
        let cargo =
            "error: failed to sync\n\nCaused by:\n  download failed\n\nCaused by:\n  [6] Could not resolve host\n";
        assert_eq!(one_line(cargo), "error: failed to sync: [6] Could not resolve host");
    }

    #[test]
    fn parses_rfc822_headers() {
        let h = rfc822_headers(
            "Name: a\nRequires-Dist: b>=1\nRequires-Dist: c; extra == \"x\"\nSummary: s\n  more\n\nbody: no",
        );
        assert_eq!(h.len(), 4);
        assert_eq!(h[3], ("Summary".to_string(), "s more".to_string()));
    }
}
