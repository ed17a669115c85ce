//! PyPI staging: a work dir with `dist/` holding the package (a wheel, or the
//! sdist when asked) and every dependency and build requirement as wheels,
//! so that inside the sandbox a venv is created (pkgtrace's set-up, not
//! analyzed), `pip install --no-index --find-links dist` installs offline,
//! and the start program ([`START_PY`]) imports the top-level modules of the
//! distribution that was installed.
//!
//! No package code runs here: `pip download` of an sdist would run its
//! `setup.py egg_info` (or build backend) to learn its dependencies, so an
//! sdist is downloaded directly (its URL and sha256 from the simple index,
//! PEP 691 JSON, which also gives the versions: "latest" is resolved there)
//! and its dependencies are read statically (`PKG-INFO`, `pyproject.toml`);
//! everything pip downloads is restricted to wheels (`--only-binary :all:`),
//! whose metadata is plain data. PyPI's legacy JSON API (`/pypi/<name>/json`)
//! is not used: proxies that let pip through may refuse it. Known limitation:
//! a dependency (or build requirement) published only as an sdist is not
//! staged, and staging fails naming it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::detect::{list_tar, one_line, read_tar_member, rfc822_headers};
use super::error::PackageError;
use super::fetch::{argv, copy_tree, env_pairs, mkdir, run, write_file, Ctx, Fetched};
use super::purl::{normalize_pypi_name, validate_version, Source};

const PYPI_SIMPLE: &str = "https://pypi.org/simple";
/// The simple index as JSON (PEP 691).
const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";
/// Used when an sdist does not declare its build requirements (PEP 518 default).
const DEFAULT_BUILD_REQUIRES: &[&str] = &["setuptools>=40.8.0", "wheel"];

/// Downloads a URL to a file with the standard library only, checking a sha256 when given.
const DOWNLOAD_PY: &str = r#"
import hashlib, sys, urllib.error, urllib.request
url, out, want, accept = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
h = hashlib.sha256()
try:
    req = urllib.request.Request(url, headers={"User-Agent": "pkgtrace", "Accept": accept or "*/*"})
    with urllib.request.urlopen(req, timeout=120) as r, open(out, "wb") as f:
        while True:
            b = r.read(1 << 16)
            if not b:
                break
            h.update(b)
            f.write(b)
except urllib.error.HTTPError as e:
    print("http error %d: %s" % (e.code, e.reason), file=sys.stderr)
    sys.exit(4 if e.code == 404 else 1)
except Exception as e:
    print("download error: %s" % e, file=sys.stderr)
    sys.exit(1)
if want and h.hexdigest() != want:
    print("sha256 mismatch: got %s, expected %s" % (h.hexdigest(), want), file=sys.stderr)
    sys.exit(5)
"#;

/// Lists a wheel (a zip) and reads its top_level.txt and METADATA, as JSON.
const WHEEL_PY: &str = r#"
import json, sys, zipfile
try:
    z = zipfile.ZipFile(sys.argv[1])
    names = z.namelist()
    def read(leaf):
        for n in names:
            parts = n.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == leaf:
                return z.read(n).decode("utf-8", "replace")
        return None
    print(json.dumps({"names": names, "top_level": read("top_level.txt"), "metadata": read("METADATA")}))
except Exception as e:
    print("cannot read wheel: %s" % e, file=sys.stderr)
    sys.exit(1)
"#;

/// The start phase's program, written into the work dir as [`START_SCRIPT`]
/// and run by the venv's python as `pkgtrace-start.py <name> <guess>`: it
/// imports what the installed distribution `<name>` (normalised) provides,
/// as `importlib.metadata` finds it inside the sandbox, so nothing about the
/// installed files has to be guessed outside. The modules are those in its
/// `top_level.txt`, else those its `RECORD` lists at the top of
/// site-packages (`x.py`, `x/__init__.py`, an extension `x.*.so`; not under
/// `*.dist-info`, `*.data`, `__pycache__`, `..`; not `test`/`tests`); of
/// these, the public ones, or the `_private` ones when there is no public
/// one (PyYAML's `_yaml` is imported by `yaml` anyway). Else `<guess>`, the
/// module staging read from the archive. Each is imported in sorted order;
/// the exit status is 1 when none could be.
///
/// A file rather than `python -c`: the inline-code rule admits only
/// `python -c "import <module>"` as pkgtrace's own start, so a longer `-c`
/// program would be a finding in every PyPI start phase.
const START_PY: &str = r#"
import importlib, importlib.metadata as md, os, sys, threading, time

# This file's directory is the work dir: import only what is installed.
here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p) != here]
name, guess = sys.argv[1], sys.argv[2]
# The package sees no arguments of ours, as when an application imports it.
sys.argv = sys.argv[:1]

def top_module(path):
    """The top-level module a RECORD entry is part of, if it is one."""
    parts = path.parts
    if ".." in parts or "__pycache__" in parts or parts[0].endswith((".dist-info", ".data")):
        return None
    if parts[1:] == ("__init__.py",):
        return parts[0]
    if len(parts) == 1 and parts[0].endswith(".py"):
        return parts[0][:-3]
    if len(parts) == 1 and parts[0].endswith(".so"):
        return parts[0].split(".")[0]  # x.cpython-311-x86_64-linux-gnu.so
    return None

def provided(dist):
    top = dist.read_text("top_level.txt")
    names = top.split() if top is not None else map(top_module, dist.files or [])
    names = {n for n in names if n and n.isidentifier() and n not in ("test", "tests")}
    return sorted({n for n in names if not n.startswith("_")} or names)

try:
    modules = provided(md.distribution(name)) or [guess]
except md.PackageNotFoundError:
    print(f"pkgtrace-start: no installed distribution {name}, importing {guess}", file=sys.stderr)
    modules = [guess]
imported = 0
for module in modules:
    try:
        importlib.import_module(module)
        imported += 1
        print(f"pkgtrace-start: imported {module}", file=sys.stderr)
    except (Exception, SystemExit) as e:
        print(f"pkgtrace-start: import {module} failed: {type(e).__name__}: {e}", file=sys.stderr)
# Threads the import started as daemons die with the interpreter; in an
# application they run on. Give them a few seconds (a payload delayed on a
# daemon thread acts then).
until = time.monotonic() + 5
for t in threading.enumerate():
    if t is not threading.current_thread() and t.daemon:
        t.join(max(0.0, until - time.monotonic()))
sys.exit(0 if imported else 1)
"#;

/// The start program's file name in the work dir (a `-` keeps it from being importable).
const START_SCRIPT: &str = "pkgtrace-start.py";

/// What the package itself is, once in `dist/` (or `src/`).
struct Dist {
    /// What the inside `pip install` is given, relative to the work dir.
    target: String,
    /// Dependencies to stage as wheels.
    requires: Vec<String>,
    /// Build requirements to stage as wheels (empty for a wheel).
    build_requires: Vec<String>,
    /// The module the start phase imports when the installed distribution names none.
    module: String,
    version: Option<String>,
}

pub(crate) fn fetch(ctx: &Ctx) -> Result<Fetched, PackageError> {
    let pkg = ctx.pkg;
    let dist_dir = ctx.work.join("dist");
    mkdir(&dist_dir)?;
    let pip = Pip { cache: ctx.cache.join("pypi").join(".pip-cache"), dist: dist_dir.clone(), purl: &ctx.purl };
    mkdir(&pip.cache)?;

    let dist = match &pkg.source {
        Source::Registry => from_registry(ctx, &pip)?,
        Source::Local(path) if path.is_dir() => {
            copy_tree(path, &ctx.work.join("src"), &[".git", ".venv", "venv", "__pycache__", ".tox", ".nox"])?;
            from_source_tree(&ctx.work.join("src"), &pkg.name, "./src".into())
        }
        Source::Local(path) => {
            let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let dest = dist_dir.join(&file);
            fs::copy(path, &dest).map_err(|e| PackageError::io(format!("failed to copy {}", path.display()), e))?;
            if file.to_ascii_lowercase().ends_with(".whl") {
                from_wheel(&dest, &pkg.name, format!("dist/{file}"))?
            } else {
                from_sdist(&dest, &pkg.name, format!("dist/{file}"), None)?
            }
        }
    };

    let wanted: Vec<String> = dist.requires.iter().chain(&dist.build_requires).cloned().collect();
    if !wanted.is_empty() {
        pip.download(&wanted, false).map_err(|e| dependency_error(&ctx.purl, e))?;
    }

    let version = match dist.version.or_else(|| pkg.version.clone()) {
        Some(v) => validate_version(&v)?,
        None => "unknown".to_string(),
    };
    write_file(&ctx.work.join(START_SCRIPT), START_PY)?;
    Ok(Fetched {
        name: pkg.name.clone(),
        version,
        // The venv is pkgtrace's harness: the package's install begins with pip.
        setup: vec![argv(&["python3", "-m", "venv", ".venv"])],
        install: vec![argv(&[
            ".venv/bin/python",
            "-m",
            "pip",
            "install",
            "--no-index",
            "--find-links",
            "dist",
            &dist.target,
        ])],
        start: vec![start_command(&pkg.name, &dist.module)],
        // Offline by the install's own options (pip hands them on to the
        // pip that installs build requirements), not by PIP_NO_INDEX and
        // PIP_FIND_LINKS: package code inherits the environment, and a
        // package's own `pip install --index-url <attacker>` must go out to
        // the network world as it would on a developer's machine.
        env: env_pairs(&[("PIP_DISABLE_PIP_VERSION_CHECK", "1"), ("PIP_NO_INPUT", "1")]),
    })
}

/// Runs [`START_PY`] for the distribution `name`, falling back to `guess`.
fn start_command(name: &str, guess: &str) -> Vec<String> {
    argv(&[".venv/bin/python", START_SCRIPT, &normalize_pypi_name(name), guess])
}

fn dependency_error(purl: &str, e: PackageError) -> PackageError {
    match e {
        PackageError::Fetch { detail, .. } => PackageError::Fetch {
            purl: purl.to_string(),
            detail: format!(
                "{detail} (dependencies are staged as wheels only: one published only as an sdist would have to run \
                 its setup code to be resolved)"
            ),
        },
        other => other,
    }
}

/// A registry package: the project's files and versions from the simple
/// index (PEP 691 JSON), then a wheel via `pip download --only-binary :all:`,
/// or the sdist downloaded directly from the index's URL (sha256 checked).
fn from_registry(ctx: &Ctx, pip: &Pip) -> Result<Dist, PackageError> {
    let pkg = ctx.pkg;
    let index = SimpleIndex::fetch(&pkg.name, &ctx.work.with_file_name("simple.json"), &ctx.purl)?;
    let version = match &pkg.version {
        Some(v) => index.find(v).ok_or_else(|| PackageError::NotFound {
            purl: ctx.purl.clone(),
            detail: format!(
                "no version {v} of {} on pypi (latest: {})",
                index.name,
                index.latest().unwrap_or_else(|| "none".into())
            ),
        })?,
        None => index.latest().ok_or_else(|| PackageError::NotFound {
            purl: ctx.purl.clone(),
            detail: format!("{} has no installable release on pypi", index.name),
        })?,
    };
    let version = validate_version(&version)?;
    let pinned = pkg.version.is_some();
    let files = index.files_of(&version);
    let sdist = pick_sdist(&files, pinned);

    // Wheel mode: pip picks the wheel (platform tags, requires-python); for
    // "latest" it picks the newest installable one, whose version the wheel's
    // file name tells.
    let has_wheel = if pinned { files.iter().any(|f| f.is_wheel()) } else { index.files.iter().any(|f| f.is_wheel()) };
    if !ctx.opts.sdist && has_wheel {
        let asked = if pinned { format!("{}=={version}", index.name) } else { index.name.clone() };
        match pip.download(std::slice::from_ref(&asked), true) {
            Ok(()) => {
                let wheel = single_file(&pip.dist, ".whl").ok_or_else(|| PackageError::Fetch {
                    purl: ctx.purl.clone(),
                    detail: "pip download left no wheel".into(),
                })?;
                let file = wheel.file_name().unwrap_or_default().to_string_lossy().into_owned();
                let wheel_version = match wheel_file_version(&file) {
                    Some(v) => validate_version(&v)?,
                    None => version.clone(),
                };
                if wheel_version != version {
                    tracing::info!(purl = %ctx.purl, %wheel_version, newest = %version, "newest installable wheel");
                }
                let mut dist = from_wheel(&wheel, &pkg.name, format!("dist/{file}"))?;
                // pip resolves the dependencies from the wheel's metadata (data only, no code).
                dist.requires = vec![format!("{}=={wheel_version}", index.name)];
                dist.version = Some(wheel_version);
                return Ok(dist);
            }
            Err(e) if sdist.is_some() => {
                tracing::warn!(purl = %ctx.purl, error = %event::terminal::esc(&e.to_string()), "no usable wheel, staging the sdist");
                clear_dir(&pip.dist)?;
            }
            Err(e) => return Err(e),
        }
    } else if !ctx.opts.sdist {
        tracing::info!(purl = %ctx.purl, "no wheel published, staging the sdist");
    }

    let sdist = sdist.ok_or_else(|| PackageError::NotFound {
        purl: ctx.purl.clone(),
        detail: format!("no source distribution of {} {version} on pypi", index.name),
    })?;
    if sdist.yanked {
        tracing::warn!(purl = %ctx.purl, file = %event::terminal::esc(&sdist.filename), "staging a yanked sdist (pinned exactly)");
    }
    let sha256 = sdist.sha256.as_deref().ok_or_else(|| PackageError::Fetch {
        purl: ctx.purl.clone(),
        detail: format!("the index gives no sha256 for {}", sdist.filename),
    })?;
    let dest = pip.dist.join(&sdist.filename);
    download(&sdist.url, &dest, Some(sha256), None, &ctx.purl)?;
    // Dependencies from the sdist's own PKG-INFO (or pyproject.toml).
    let mut dist = from_sdist(&dest, &pkg.name, format!("dist/{}", sdist.filename), None)?;
    dist.version = Some(version);
    Ok(dist)
}

/// Empties a directory (a failed `pip download` may leave partial files).
fn clear_dir(dir: &Path) -> Result<(), PackageError> {
    let io = |e| PackageError::io(format!("failed to clear {}", dir.display()), e);
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            fs::remove_dir_all(&path).map_err(io)?;
        } else {
            fs::remove_file(&path).map_err(io)?;
        }
    }
    Ok(())
}

/// One file of a project on the simple index.
#[derive(Clone, Debug, PartialEq)]
struct IndexFile {
    filename: String,
    url: String,
    sha256: Option<String>,
    yanked: bool,
    /// The version the file name says, when the file is a wheel or an sdist of the project.
    version: Option<String>,
}

impl IndexFile {
    fn is_wheel(&self) -> bool {
        self.filename.to_ascii_lowercase().ends_with(".whl")
    }

    fn sdist_rank(&self) -> Option<u8> {
        let lower = self.filename.to_ascii_lowercase();
        if lower.ends_with(".tar.gz") {
            Some(0)
        } else if lower.ends_with(".zip") {
            Some(1)
        } else {
            None
        }
    }
}

/// A project's page on the simple index (PEP 691 JSON, PEP 700 `versions`).
#[derive(Debug)]
struct SimpleIndex {
    /// The PEP 503 normalised name.
    name: String,
    versions: Vec<String>,
    files: Vec<IndexFile>,
}

impl SimpleIndex {
    fn fetch(name: &str, save_to: &Path, purl: &str) -> Result<SimpleIndex, PackageError> {
        let name = normalize_pypi_name(name);
        let url = format!("{PYPI_SIMPLE}/{name}/");
        download(&url, save_to, None, Some(SIMPLE_JSON), purl).map_err(|e| match e {
            PackageError::NotFound { purl, .. } => {
                PackageError::NotFound { purl, detail: format!("no project {name} on pypi ({url} is 404)") }
            }
            other => other,
        })?;
        let json: Value = fs::read_to_string(save_to)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| PackageError::Fetch { purl: purl.to_string(), detail: format!("bad json from {url}") })?;
        SimpleIndex::parse(&name, &url, &json)
            .ok_or_else(|| PackageError::Fetch { purl: purl.to_string(), detail: format!("no files list in {url}") })
    }

    /// The index page `json` of the normalised `name`, fetched from `page_url`.
    fn parse(name: &str, page_url: &str, json: &Value) -> Option<SimpleIndex> {
        let mut files = Vec::new();
        for f in json["files"].as_array()? {
            let (Some(filename), Some(url)) = (f["filename"].as_str(), f["url"].as_str()) else { continue };
            // A bare file name only: it becomes a path under dist/.
            if filename.is_empty() || filename.contains(['/', '\\']) || filename.starts_with('.') {
                continue;
            }
            let Some(url) = absolute_url(page_url, url) else { continue };
            files.push(IndexFile {
                filename: filename.to_string(),
                url,
                sha256: f["hashes"]["sha256"].as_str().map(str::to_ascii_lowercase),
                // false, or true / a reason string (PEP 592).
                yanked: !matches!(f["yanked"], Value::Null | Value::Bool(false)),
                version: index_file_version(name, filename),
            });
        }
        let mut versions: Vec<String> = match json["versions"].as_array() {
            Some(v) => v.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            None => files.iter().filter_map(|f| f.version.clone()).collect(), // before PEP 700
        };
        versions.sort_by_cached_key(|v| version_key(v));
        versions.dedup();
        Some(SimpleIndex { name: name.to_string(), versions, files })
    }

    /// The version the index lists equal to `wanted` (PEP 440 equality).
    fn find(&self, wanted: &str) -> Option<String> {
        self.versions
            .iter()
            .find(|v| v.as_str() == wanted)
            .or_else(|| self.versions.iter().find(|v| same_version(v, wanted)))
            .cloned()
    }

    fn files_of(&self, version: &str) -> Vec<&IndexFile> {
        self.files.iter().filter(|f| f.version.as_deref().is_some_and(|v| same_version(v, version))).collect()
    }

    /// The highest final release with a file that is not yanked; pre-releases
    /// only when there is nothing else.
    fn latest(&self) -> Option<String> {
        let available: Vec<&String> =
            self.versions.iter().filter(|v| self.files_of(v).iter().any(|f| !f.yanked)).collect();
        let is_final = |v: &&&String| version_key(v).is_some_and(|k| k.is_final());
        available.iter().rev().find(is_final).or_else(|| available.last()).map(|v| v.to_string())
    }
}

/// The sdist of a version: `.tar.gz` before `.zip`; a yanked one only when pinned.
fn pick_sdist<'a>(files: &[&'a IndexFile], pinned: bool) -> Option<&'a IndexFile> {
    files
        .iter()
        .filter(|f| f.sdist_rank().is_some() && (pinned || !f.yanked))
        .min_by_key(|f| (f.yanked, f.sdist_rank()))
        .copied()
}

fn absolute_url(page_url: &str, url: &str) -> Option<String> {
    let url = url.split('#').next().unwrap_or(url);
    if url.starts_with("https://") {
        Some(url.to_string())
    } else if let Some(path) = url.strip_prefix('/').filter(|p| !p.starts_with('/')) {
        let origin = page_url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        Some(format!("{origin}/{path}"))
    } else if !url.contains(':') {
        Some(format!("{page_url}{url}"))
    } else {
        None // another scheme (http://, file:, ...)
    }
}

/// The version in a wheel's file name (`name-version-[build-]py-abi-plat.whl`).
fn wheel_file_version(filename: &str) -> Option<String> {
    let stem = filename.strip_suffix(".whl").or_else(|| filename.strip_suffix(".WHL"))?;
    let parts: Vec<&str> = stem.split('-').collect();
    (parts.len() >= 5 && !parts[1].is_empty()).then(|| parts[1].to_string())
}

/// The version of the project `name` (normalised) a wheel or sdist file name says.
fn index_file_version(name: &str, filename: &str) -> Option<String> {
    if filename.to_ascii_lowercase().ends_with(".whl") {
        let dist = filename.split('-').next()?;
        return (normalize_pypi_name(dist) == name).then(|| wheel_file_version(filename)).flatten();
    }
    let lower = filename.to_ascii_lowercase();
    let ext = [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"].into_iter().find(|e| lower.ends_with(e))?;
    let stem = &filename[..filename.len() - ext.len()];
    // The project name may itself hold dashes: the split after the part naming it.
    stem.match_indices('-')
        .map(|(i, _)| (&stem[..i], &stem[i + 1..]))
        .find(|(dist, version)| normalize_pypi_name(dist) == name && !version.is_empty())
        .map(|(_, version)| version.to_string())
}

/// A PEP 440 version as an ordering key: epoch, release (trailing zeros
/// dropped), pre-release, post-release, dev release, local label.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct VersionKey {
    epoch: u64,
    release: Vec<u64>,
    /// (-1, 0): dev release only (sorts before every pre-release); (0, n): a;
    /// (1, n): b; (2, n): rc; (3, 0): final.
    pre: (i8, u64),
    /// -1 when none.
    post: i64,
    /// u64::MAX when none (a dev release sorts before the release).
    dev: u64,
    local: Vec<String>,
}

impl VersionKey {
    fn is_final(&self) -> bool {
        self.pre.0 == 3 && self.dev == u64::MAX
    }
}

fn version_key(version: &str) -> Option<VersionKey> {
    static PEP440: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?ix)^v?(?:(\d+)!)?(\d+(?:\.\d+)*)
              (?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?
              (?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?
              (?:[-_.]?dev[-_.]?(\d*))?
              (?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$",
        )
        .expect("valid regex")
    });
    let c = PEP440.captures(version.trim())?;
    let num = |i: usize| -> Option<u64> { c.get(i).map(|m| m.as_str().parse().unwrap_or(0)) };
    let mut release: Vec<u64> = c[2].split('.').map(|p| p.parse().unwrap_or(u64::MAX)).collect();
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let dev = num(7);
    let post = num(5).or_else(|| c.get(6).map(|m| m.as_str().parse().unwrap_or(0)));
    let pre = match c.get(3).map(|m| m.as_str().to_ascii_lowercase()) {
        Some(kind) => {
            let rank = match kind.as_str() {
                "a" | "alpha" => 0,
                "b" | "beta" => 1,
                _ => 2,
            };
            (rank, num(4).unwrap_or(0))
        }
        None if dev.is_some() && post.is_none() => (-1, 0),
        None => (3, 0),
    };
    Some(VersionKey {
        epoch: num(1).unwrap_or(0),
        release,
        pre,
        post: post.map_or(-1, |p| p.min(i64::MAX as u64) as i64),
        dev: dev.unwrap_or(u64::MAX),
        local: c
            .get(8)
            .map_or_else(Vec::new, |l| l.as_str().split(['-', '_', '.']).map(str::to_ascii_lowercase).collect()),
    })
}

/// PEP 440 equality (`1.0` == `1.0.0`, `1.0a1` == `1.0.alpha.1`); exact text for non-PEP 440 versions.
fn same_version(a: &str, b: &str) -> bool {
    a == b
        || match (version_key(a), version_key(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a.eq_ignore_ascii_case(b),
        }
}

/// Runs `python3 -m pip download` restricted to wheels into `dist/`.
struct Pip<'a> {
    cache: PathBuf,
    dist: PathBuf,
    purl: &'a str,
}

impl Pip<'_> {
    fn download(&self, requirements: &[String], no_deps: bool) -> Result<(), PackageError> {
        let mut cmd = Command::new("python3");
        cmd.args([
            "-I",
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-input",
            "--only-binary",
            ":all:",
        ])
        .arg("--cache-dir")
        .arg(&self.cache)
        .arg("--dest")
        .arg(&self.dist);
        if no_deps {
            cmd.arg("--no-deps");
        }
        cmd.arg("--").args(requirements).current_dir(self.dist.parent().unwrap_or(&self.dist));
        let out = run(&mut cmd)?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let reason = stderr
            .lines()
            .find(|l| l.contains("No matching distribution found") || l.contains("Could not find a version"))
            .map(one_line)
            .unwrap_or_else(|| one_line(&stderr));
        Err(PackageError::Fetch { purl: self.purl.to_string(), detail: format!("pip download failed: {reason}") })
    }
}

/// Downloads `url` to `dest` (urllib under `python3 -I`), checking `sha256`
/// when given; an HTTP 404 is `NotFound`.
fn download(
    url: &str,
    dest: &Path,
    sha256: Option<&str>,
    accept: Option<&str>,
    purl: &str,
) -> Result<(), PackageError> {
    let mut cmd = Command::new("python3");
    cmd.args(["-I", "-c", DOWNLOAD_PY, url]).arg(dest).args([sha256.unwrap_or(""), accept.unwrap_or("")]);
    let out = run(&mut cmd)?;
    match out.status.code() {
        Some(0) => Ok(()),
        Some(4) => Err(PackageError::NotFound { purl: purl.to_string(), detail: format!("{url} is 404") }),
        _ => Err(PackageError::Fetch {
            purl: purl.to_string(),
            detail: format!("download of {url} failed: {}", one_line(&String::from_utf8_lossy(&out.stderr))),
        }),
    }
}

/// Every version the simple index lists for `name` (a backfill), the page saved at `save_to`.
pub(crate) fn published_versions(name: &str, save_to: &Path, purl: &str) -> Result<Vec<String>, PackageError> {
    Ok(SimpleIndex::fetch(name, save_to, purl)?.versions)
}

/// Downloads `url` to `dest` (the same downloader as the index pages).
pub(crate) fn download_to(url: &str, dest: &Path, purl: &str) -> Result<(), PackageError> {
    download(url, dest, None, None, purl)
}

fn single_file(dir: &Path, suffix: &str) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().to_ascii_lowercase().ends_with(suffix))
        .collect();
    (files.len() == 1).then(|| files.remove(0))
}

/// A wheel: listed and read with Python's zipfile (no code from the wheel runs).
fn from_wheel(wheel: &Path, name: &str, target: String) -> Result<Dist, PackageError> {
    let out = run(Command::new("python3").args(["-I", "-c", WHEEL_PY]).arg(wheel))?;
    let corrupt = |detail: String| PackageError::CorruptArchive { path: wheel.to_path_buf(), detail };
    if !out.status.success() {
        return Err(corrupt(one_line(&String::from_utf8_lossy(&out.stderr))));
    }
    let info: Value = serde_json::from_slice(&out.stdout).map_err(|e| corrupt(format!("bad listing: {e}")))?;
    let names: Vec<String> =
        info["names"].as_array().into_iter().flatten().filter_map(|n| n.as_str().map(str::to_string)).collect();
    let top_level = info["top_level"].as_str();
    let metadata = info["metadata"].as_str().unwrap_or("");
    let headers = rfc822_headers(metadata);
    let requires = headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("Requires-Dist")).map(|(_, v)| v.clone());
    let version = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("Version")).map(|(_, v)| v.clone());
    Ok(Dist {
        target,
        requires: usable_requirements(requires),
        build_requires: Vec::new(),
        module: pick_module(name, top_level, &names),
        version,
    })
}

/// An sdist: listed and read with `tar` (no `setup.py` runs). `declared` are
/// the dependencies PyPI's metadata lists, when it has them.
fn from_sdist(archive: &Path, name: &str, target: String, declared: Option<Vec<String>>) -> Result<Dist, PackageError> {
    if archive.to_string_lossy().to_ascii_lowercase().ends_with(".zip") {
        // Old zip sdists are staged as they are, without static metadata.
        tracing::warn!(archive = %archive.display(), "zip sdist: dependencies and module name not read");
        let (requires, build_requires, _) = static_metadata(&|_| None, declared);
        return Ok(Dist { target, requires, build_requires, module: pick_module(name, None, &[]), version: None });
    }
    let entries = list_tar(archive)?;
    let Some(root) = entries.iter().find_map(|e| e.trim_start_matches("./").split('/').next().map(str::to_string))
    else {
        return Err(PackageError::CorruptArchive { path: archive.to_path_buf(), detail: "empty archive".into() });
    };
    let rel: Vec<String> = entries
        .iter()
        .filter_map(|e| e.trim_start_matches("./").strip_prefix(&format!("{root}/")).map(str::to_string))
        .filter(|e| !e.is_empty())
        .collect();
    let read = |file: &str| -> Option<String> {
        let member = entries.iter().find(|e| e.trim_start_matches("./") == format!("{root}/{file}"))?;
        read_tar_member(archive, member).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let top_level = rel.iter().find(|e| is_egg_info_top_level(e)).and_then(|e| read(e));
    let (requires, build_requires, version) = static_metadata(&read, declared);
    Ok(Dist {
        target,
        requires,
        build_requires,
        module: pick_module(name, top_level.as_deref(), &rel),
        version: version.or_else(|| file_version(archive)),
    })
}

/// A source tree (a local directory, copied into the work dir).
fn from_source_tree(dir: &Path, name: &str, target: String) -> Dist {
    let mut rel = Vec::new();
    list_tree(dir, "", 3, &mut rel);
    let read = |file: &str| fs::read_to_string(dir.join(file)).ok();
    let top_level = rel.iter().find(|e| is_egg_info_top_level(e)).and_then(|e| read(e));
    let (requires, build_requires, version) = static_metadata(&read, None);
    Dist { target, requires, build_requires, module: pick_module(name, top_level.as_deref(), &rel), version }
}

fn list_tree(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && depth > 1 {
            list_tree(&entry.path(), &format!("{name}/"), depth - 1, out);
        } else if !is_dir {
            out.push(name);
        }
        if out.len() > 20_000 {
            return;
        }
    }
}

fn is_egg_info_top_level(rel: &str) -> bool {
    let parts: Vec<&str> = rel.trim_start_matches("src/").split('/').collect();
    parts.len() == 2 && parts[0].ends_with(".egg-info") && parts[1] == "top_level.txt"
}

fn file_version(archive: &Path) -> Option<String> {
    static VERSION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"-(\d[A-Za-z0-9.+!_]*)\.(tar\.gz|tgz|zip)$").expect("valid regex"));
    let file = archive.file_name()?.to_string_lossy().into_owned();
    VERSION.captures(&file).map(|c| c[1].to_string())
}

/// Dependencies, build requirements and version, read statically from
/// `PKG-INFO` and `pyproject.toml`. Dependencies only `setup.py` knows are
/// invisible here; the inside install then fails for lack of them.
fn static_metadata(
    read: &dyn Fn(&str) -> Option<String>,
    declared: Option<Vec<String>>,
) -> (Vec<String>, Vec<String>, Option<String>) {
    let pkg_info = read("PKG-INFO").map(|t| rfc822_headers(&t)).unwrap_or_default();
    let header = |key: &str| -> Vec<String> {
        pkg_info.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.clone()).collect()
    };
    let pyproject = read("pyproject.toml").and_then(|t| toml::from_str::<toml::Table>(&t).ok());
    let project = pyproject.as_ref().and_then(|p| p.get("project")).and_then(|p| p.as_table());
    let strings = |v: Option<&toml::Value>| -> Option<Vec<String>> {
        v?.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
    };

    let dynamic_in_pkg_info = header("Dynamic").iter().any(|d| d.eq_ignore_ascii_case("Requires-Dist"));
    let from_pkg_info = header("Requires-Dist");
    let requires = declared
        .filter(|d| !d.is_empty())
        .or_else(|| (!from_pkg_info.is_empty() && !dynamic_in_pkg_info).then_some(from_pkg_info))
        .or_else(|| strings(project.and_then(|p| p.get("dependencies"))))
        .unwrap_or_default();
    let build = strings(pyproject.as_ref().and_then(|p| p.get("build-system")).and_then(|b| b.get("requires")))
        .unwrap_or_else(|| DEFAULT_BUILD_REQUIRES.iter().map(|s| s.to_string()).collect());
    let version = header("Version")
        .into_iter()
        .next()
        .or_else(|| project.and_then(|p| p.get("version")).and_then(|v| v.as_str()).map(str::to_string));
    (usable_requirements(requires.into_iter()), usable_requirements(build.into_iter()), version)
}

/// Requirements safe to hand to `pip download`: extras-only ones dropped, and
/// anything that is not a plain PEP 508 name requirement (options, direct
/// URLs, which pip would build from source) refused.
fn usable_requirements(reqs: impl Iterator<Item = String>) -> Vec<String> {
    static NAME_START: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9]").expect("valid regex"));
    static EXTRA: LazyLock<Regex> = LazyLock::new(|| Regex::new(r";.*\bextra\s*==").expect("valid regex"));
    let mut out = Vec::new();
    for req in reqs {
        let req = req.trim().to_string();
        if req.is_empty() || EXTRA.is_match(&req) {
            continue;
        }
        let requirement_part = req.split(';').next().unwrap_or("");
        if !NAME_START.is_match(&req) || requirement_part.contains('@') || req.contains('\n') {
            tracing::warn!(requirement = %event::terminal::esc(&req), "not staging a dependency that is not a plain registry requirement");
            continue;
        }
        if !out.contains(&req) {
            out.push(req);
        }
    }
    out
}

/// The module the start phase falls back to when the installed distribution
/// names none (see [`START_PY`]): from `top_level.txt` when there is
/// one, else the top-level packages and modules among the files. Preference:
/// the one named like the distribution, then the longest whose name is part
/// of the distribution's (`evil_py` for `pkgtrace-evil-py`), then packages
/// before single-file modules, public before `_private`; else the
/// distribution name with `-` → `_`.
fn pick_module(dist_name: &str, top_level: Option<&str>, files: &[String]) -> String {
    static IDENT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$").expect("valid regex"));
    const NOT_MODULES: &[&str] = &["setup", "conftest", "noxfile", "tasks", "fabfile", "test", "tests", "docs"];
    let fallback = normalize_pypi_name(dist_name).replace('-', "_");
    // (name, is a package)
    let mut candidates: Vec<(String, bool)> = top_level
        .map(|t| t.lines().map(|l| (l.trim().replace('/', "."), true)).filter(|(l, _)| !l.is_empty()).collect())
        .unwrap_or_default();
    if candidates.is_empty() {
        let mut nested = Vec::new();
        for file in files {
            let file = file.strip_prefix("src/").unwrap_or(file);
            let parts: Vec<&str> = file.split('/').collect();
            let meta = |p: &&str| p.ends_with(".dist-info") || p.ends_with(".data") || p.ends_with(".egg-info");
            if parts.first().is_some_and(meta) {
                continue;
            }
            match parts.as_slice() {
                [pkg, "__init__.py"] => candidates.push((pkg.to_string(), true)),
                [ns, pkg, "__init__.py"] => nested.push((format!("{ns}.{pkg}"), true)),
                [module] if module.ends_with(".py") => {
                    candidates.push((module.trim_end_matches(".py").to_string(), false))
                }
                [ext] if ext.ends_with(".so") || ext.ends_with(".pyd") => {
                    candidates.push((ext.split('.').next().unwrap_or("").to_string(), true))
                }
                _ => {}
            }
        }
        candidates.retain(|(c, _)| !NOT_MODULES.contains(&c.as_str()));
        nested.retain(|(n, _)| !candidates.iter().any(|(c, _)| n.starts_with(&format!("{c}."))));
        candidates.extend(nested);
    }
    candidates.retain(|(c, _)| IDENT.is_match(c));
    candidates.sort_by_key(|(c, is_package)| {
        let k = c.to_ascii_lowercase().replace('.', "_");
        let part_of_name = fallback.contains(&k);
        (
            k != fallback,
            !part_of_name,
            std::cmp::Reverse(if part_of_name { k.len() } else { 0 }),
            !is_package,
            c.starts_with('_'),
            c.clone(),
        )
    });
    candidates.into_iter().next().map(|(c, _)| c).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::testutil::{run_install, run_phase};
    use crate::{parse, stage, Ecosystem, FetchOptions};

    fn files(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_the_module_to_import() {
        assert_eq!(pick_module("six", None, &files(&["six.py", "six-1.16.0.dist-info/METADATA"])), "six");
        assert_eq!(pick_module("PyYAML", Some("_yaml\nyaml\n"), &[]), "yaml");
        assert_eq!(pick_module("setuptools", Some("_distutils_hack\npkg_resources\nsetuptools\n"), &[]), "setuptools");
        assert_eq!(pick_module("beautifulsoup4", None, &files(&["bs4/__init__.py", "setup.py"])), "bs4");
        assert_eq!(pick_module("my-pkg", None, &files(&["src/my_pkg/__init__.py", "tests/__init__.py"])), "my_pkg");
        assert_eq!(pick_module("protobuf", None, &files(&["google/protobuf/__init__.py"])), "google.protobuf");
        assert_eq!(pick_module("Nothing-Here", None, &files(&["README.md"])), "nothing_here");
        assert_eq!(pick_module("x", Some("bad name;rm -rf\n"), &[]), "x");
        let files_ = files(&["backend.py", "evil_backend/__init__.py"]);
        assert_eq!(pick_module("pkgtrace-evil-backend", None, &files_), "evil_backend");
        assert_eq!(pick_module("foo", None, &files(&["helper.py", "core/__init__.py"])), "core");
    }

    /// A fake installed distribution in `site`: its dist-info with METADATA,
    /// a RECORD listing `record`, and `top_level.txt` when given; each listed
    /// `.py` file outside the dist-info exists and says when it is imported
    /// (those named `*broken*` raise instead).
    fn fake_dist(site: &Path, dist_info: &str, name: &str, record: &[&str], top_level: Option<&str>) {
        let info = site.join(dist_info);
        fs::create_dir_all(&info).unwrap();
        fs::write(info.join("METADATA"), format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")).unwrap();
        let mut lines: Vec<String> = record.iter().map(|r| format!("{r},,")).collect();
        lines.push(format!("{dist_info}/METADATA,,"));
        lines.push(format!("{dist_info}/RECORD,,"));
        if let Some(top) = top_level {
            fs::write(info.join("top_level.txt"), top).unwrap();
            lines.push(format!("{dist_info}/top_level.txt,,"));
        }
        fs::write(info.join("RECORD"), lines.join("\n") + "\n").unwrap();
        for file in record.iter().filter(|r| r.ends_with(".py") && !r.starts_with("..")) {
            let path = site.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let code =
                if file.contains("broken") { "raise RuntimeError('boom')\n" } else { "print('loaded', __name__)\n" };
            fs::write(path, code).unwrap();
        }
    }

    /// Runs the start program as the sandbox does (from the work dir, which
    /// holds it) with `site` on the path: the modules that ran, in order,
    /// whether it exited 0, and its stderr.
    fn run_start(work: &Path, site: &Path, name: &str, guess: &str) -> (Vec<String>, bool, String) {
        fs::write(work.join(START_SCRIPT), START_PY).unwrap();
        let cmd = start_command(name, guess);
        let out = Command::new("python3")
            .args(&cmd[1..])
            .current_dir(work)
            .env("PYTHONPATH", site)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("PYTHONSAFEPATH")
            .output()
            .unwrap();
        let loaded = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("loaded ").map(str::to_string))
            .collect();
        (loaded, out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// The start program imports what the installed distribution provides:
    /// from its RECORD (public top-level modules and packages; not tests,
    /// caches, dist-info or `..` paths), from `top_level.txt` when there is
    /// one, `_private` modules only when there is nothing public, and the
    /// staging's guess when the distribution is missing or names nothing.
    #[test]
    fn start_program_imports_what_the_distribution_provides() {
        let t = tempfile::tempdir().unwrap();
        let (work, site) = (t.path().join("work"), t.path().join("site"));
        fs::create_dir_all(&work).unwrap();
        // A decoy in the work dir: the installed module must win, not it.
        fs::create_dir_all(work.join("fakeyaml")).unwrap();
        fs::write(work.join("fakeyaml/__init__.py"), "print('loaded decoy')\n").unwrap();
        let yaml = [
            "fakeyaml/__init__.py",
            "fakeyaml/__pycache__/__init__.cpython-311.pyc",
            "_fakeyaml/__init__.py",
            "fakeyaml_cli.py",
            "tests/__init__.py",
            "../../../bin/fakeyaml",
        ];
        // Found by its normalised name, whatever METADATA spells.
        fake_dist(&site, "pkgtrace_fake.yaml-6.0.dist-info", "PkgTrace-Fake.YAML", &yaml, None);
        let (loaded, ok, err) = run_start(&work, &site, "PkgTrace_Fake.YAML", "nothing_here");
        assert_eq!((loaded, ok), (files(&["fakeyaml", "fakeyaml_cli"]), true), "{err}");
        assert!(err.contains("pkgtrace-start: imported fakeyaml\n"), "{err}");

        // top_level.txt, when there is one, rather than the RECORD.
        let top = ["faketop/__init__.py", "fakeextra.py", "_faketop.py"];
        fake_dist(&site, "pkgtrace_fake_top-1.0.dist-info", "pkgtrace-fake-top", &top, Some("_faketop\nfaketop\n"));
        assert_eq!(run_start(&work, &site, "pkgtrace-fake-top", "x").0, files(&["faketop"]));

        // Only private modules: those.
        fake_dist(&site, "pkgtrace_fake_private-1.0.dist-info", "pkgtrace-fake-private", &["_fakeprivate.py"], None);
        assert_eq!(run_start(&work, &site, "pkgtrace-fake-private", "x").0, files(&["_fakeprivate"]));

        // Not installed, or naming no module: the staging's guess.
        fs::write(site.join("fakeguess.py"), "print('loaded', __name__)\n").unwrap();
        let (loaded, ok, err) = run_start(&work, &site, "pkgtrace-not-installed", "fakeguess");
        assert_eq!((loaded, ok), (files(&["fakeguess"]), true), "{err}");
        assert!(err.contains("no installed distribution pkgtrace-not-installed"), "{err}");
        fake_dist(&site, "pkgtrace_fake_empty-1.0.dist-info", "pkgtrace-fake-empty", &[], None);
        assert_eq!(run_start(&work, &site, "pkgtrace-fake-empty", "fakeguess").0, files(&["fakeguess"]));

        // A module that fails to import is reported and the others still run;
        // the program fails only when none imported.
        let some = ["fakebroken/__init__.py", "fakefine.py"];
        fake_dist(&site, "pkgtrace_fake_some-1.0.dist-info", "pkgtrace-fake-some", &some, None);
        let (loaded, ok, err) = run_start(&work, &site, "pkgtrace-fake-some", "x");
        assert_eq!((loaded, ok), (files(&["fakefine"]), true), "{err}");
        assert!(err.contains("pkgtrace-start: import fakebroken failed: RuntimeError: boom"), "{err}");
        fake_dist(&site, "pkgtrace_fake_none-1.0.dist-info", "pkgtrace-fake-none", &["fakebroken2.py"], None);
        let (loaded, ok, err) = run_start(&work, &site, "pkgtrace-fake-none", "x");
        assert!(loaded.is_empty() && !ok, "{err}");
        assert!(err.contains("pkgtrace-start: import fakebroken2 failed"), "{err}");
    }

    #[test]
    fn filters_requirements() {
        let reqs = files(&[
            "charset-normalizer<4,>=2",
            "PySocks!=1.5.7,>=1.5.6; extra == \"socks\"",
            "idna<4,>=2.5",
            "--index-url=http://evil.example",
            "evil @ https://evil.example/evil.tar.gz",
            "typing-extensions; python_version < \"3.8\"",
            "idna<4,>=2.5",
        ]);
        assert_eq!(
            usable_requirements(reqs.into_iter()),
            files(&["charset-normalizer<4,>=2", "idna<4,>=2.5", "typing-extensions; python_version < \"3.8\""])
        );
    }

    #[test]
    fn reads_static_metadata() {
        let read = |f: &str| match f {
            "PKG-INFO" => Some("Metadata-Version: 2.2\nName: a\nVersion: 1.0\nRequires-Dist: b>=1\n\n".to_string()),
            "pyproject.toml" => {
                Some("[build-system]\nrequires = [\"hatchling\"]\n[project]\ndependencies = [\"c\"]\n".to_string())
            }
            _ => None,
        };
        let (req, build, version) = static_metadata(&read, None);
        assert_eq!((req, build, version.as_deref()), (files(&["b>=1"]), files(&["hatchling"]), Some("1.0")));
        let (req, _, _) = static_metadata(&read, Some(files(&["z"])));
        assert_eq!(req, files(&["z"]));
        let (req, build, version) = static_metadata(&|_| None, None);
        assert_eq!((req, build, version), (vec![], files(DEFAULT_BUILD_REQUIRES), None));
    }

    const SIX_PAGE: &str = r#"{"meta": {"api-version": "1.1"}, "name": "six",
        "versions": ["1.10.0", "1.9.0", "2.0.0rc1", "1.16.0", "1.17.0", "1.2.0"],
        "files": [
          {"filename": "six-1.9.0.tar.gz", "url": "https://files.example/six-1.9.0.tar.gz", "hashes": {"sha256": "AA"}, "yanked": false},
          {"filename": "six-1.10.0.tar.gz", "url": "https://files.example/six-1.10.0.tar.gz", "hashes": {"sha256": "bb"}, "yanked": false},
          {"filename": "six-1.16.0-py2.py3-none-any.whl", "url": "https://files.example/w.whl", "hashes": {"sha256": "cc"}, "yanked": false},
          {"filename": "six-1.16.0.zip", "url": "/packages/six-1.16.0.zip", "hashes": {"sha256": "dd"}, "yanked": false},
          {"filename": "six-1.16.0.tar.gz", "url": "https://files.example/six-1.16.0.tar.gz", "hashes": {"sha256": "ee"}, "yanked": false},
          {"filename": "six-1.17.0.tar.gz", "url": "https://files.example/six-1.17.0.tar.gz", "hashes": {"sha256": "ff"}, "yanked": "broken"},
          {"filename": "six-2.0.0rc1.tar.gz", "url": "https://files.example/six-2.0.0rc1.tar.gz", "hashes": {"sha256": "00"}, "yanked": false},
          {"filename": "../evil-1.16.0.tar.gz", "url": "https://files.example/x", "hashes": {"sha256": "11"}},
          {"filename": "six-1.2.0.tar.gz", "url": "http://insecure.example/six-1.2.0.tar.gz", "hashes": {"sha256": "22"}}
        ]}"#;

    #[test]
    fn orders_versions_pep440() {
        let mut v =
            files(&["1.10.0", "1.9.0", "1.0", "1.0.post1", "1.0rc1", "1.0a2", "1.0.dev3", "1.0b1", "2!0.1", "1.0a10"]);
        v.sort_by_cached_key(|v| version_key(v));
        assert_eq!(
            v,
            files(&["1.0.dev3", "1.0a2", "1.0a10", "1.0b1", "1.0rc1", "1.0", "1.0.post1", "1.9.0", "1.10.0", "2!0.1"])
        );
        assert!(same_version("1.0", "1.0.0") && same_version("1.0a1", "1.0.alpha.1") && same_version("v2.1", "2.1"));
        assert!(!same_version("1.0", "1.0.1") && !same_version("1.0+x", "1.0"));
        assert!(version_key("1.0").unwrap().is_final() && !version_key("1.0rc1").unwrap().is_final());
        assert!(!version_key("1.0.dev1").unwrap().is_final() && version_key("1.0.post1").unwrap().is_final());
        assert!(version_key("not a version").is_none());
    }

    #[test]
    fn reads_versions_from_file_names() {
        assert_eq!(index_file_version("six", "six-1.16.0.tar.gz").as_deref(), Some("1.16.0"));
        assert_eq!(index_file_version("markupsafe", "MarkupSafe-2.1.5.tar.gz").as_deref(), Some("2.1.5"));
        assert_eq!(index_file_version("zope-interface", "zope.interface-6.0.zip").as_deref(), Some("6.0"));
        assert_eq!(index_file_version("foo-bar", "foo-bar-1.0.tar.gz").as_deref(), Some("1.0"));
        let wheel = "MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
        assert_eq!(index_file_version("markupsafe", wheel).as_deref(), Some("2.1.5"));
        assert_eq!(index_file_version("six", "other-1.0.tar.gz"), None);
        assert_eq!(index_file_version("six", "six-1.0.win32.exe"), None);
        assert_eq!(wheel_file_version("six-1.16.0-py2.py3-none-any.whl").as_deref(), Some("1.16.0"));
        assert_eq!(wheel_file_version("six-1.16.0.tar.gz"), None);
    }

    #[test]
    fn resolves_versions_and_files_from_the_simple_index() {
        let json: Value = serde_json::from_str(SIX_PAGE).unwrap();
        let index = SimpleIndex::parse("six", "https://pypi.org/simple/six/", &json).unwrap();
        // Sorted by PEP 440, not as listed or as text.
        assert_eq!(index.versions, files(&["1.2.0", "1.9.0", "1.10.0", "1.16.0", "1.17.0", "2.0.0rc1"]));
        // 2.0.0rc1 is a pre-release, 1.17.0 only yanked files.
        assert_eq!(index.latest().as_deref(), Some("1.16.0"));
        assert_eq!(index.find("1.16").as_deref(), Some("1.16.0"));
        assert_eq!(index.find("2.0.0rc1").as_deref(), Some("2.0.0rc1"));
        assert_eq!(index.find("9.9"), None);
        assert!(index.files.iter().all(|f| !f.filename.contains('/')), "path in a file name kept");
        assert!(index.files.iter().all(|f| f.url.starts_with("https://")), "non-https url kept");

        let files_16 = index.files_of("1.16.0");
        assert_eq!(files_16.len(), 3);
        assert!(files_16.iter().any(|f| f.is_wheel()));
        let sdist = pick_sdist(&files_16, true).unwrap();
        assert_eq!((sdist.filename.as_str(), sdist.sha256.as_deref()), ("six-1.16.0.tar.gz", Some("ee")));
        let zip = files_16.iter().find(|f| f.filename.ends_with(".zip")).unwrap();
        assert_eq!(zip.url, "https://pypi.org/packages/six-1.16.0.zip");
        assert_eq!(index.files_of("1.9.0")[0].sha256.as_deref(), Some("aa"));
        // A yanked sdist only when pinned exactly.
        assert_eq!(pick_sdist(&index.files_of("1.17.0"), false), None);
        assert!(pick_sdist(&index.files_of("1.17.0"), true).is_some_and(|f| f.yanked));

        // Only pre-releases: the newest of them.
        let json: Value = serde_json::from_str(
            r#"{"versions": ["0.1a1", "0.1b2"], "files": [
              {"filename": "x-0.1a1.tar.gz", "url": "https://f/a", "hashes": {}},
              {"filename": "x-0.1b2.tar.gz", "url": "https://f/b", "hashes": {}}]}"#,
        )
        .unwrap();
        let index = SimpleIndex::parse("x", "https://pypi.org/simple/x/", &json).unwrap();
        assert_eq!(index.latest().as_deref(), Some("0.1b2"));
        // Before PEP 700 (no "versions"): from the file names.
        let json: Value =
            serde_json::from_str(r#"{"files": [{"filename": "x-1.0.tar.gz", "url": "https://f/a"}]}"#).unwrap();
        let index = SimpleIndex::parse("x", "https://pypi.org/simple/x/", &json).unwrap();
        assert_eq!(index.versions, files(&["1.0"]));
        assert!(SimpleIndex::parse("x", "https://pypi.org/simple/x/", &serde_json::json!({})).is_none());
    }

    /// A local setup.py project that leaves a marker when run: staging must
    /// not run it; the staged install (offline) must. Needs PyPI for the
    /// setuptools and wheel wheels the offline build requires.
    #[test]
    fn registry_pypi_local_setup_py_not_run() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("evil-py");
        let marker = t.path().join("setup-py-ran");
        fs::create_dir_all(dir.join("evil_py")).unwrap();
        fs::write(dir.join("evil_py/__init__.py"), "VALUE = 1\n").unwrap();
        fs::write(
            dir.join("setup.py"),
            format!(
                "import pathlib\npathlib.Path({:?}).write_text('ran')\nfrom setuptools import setup\n\
                 setup(name='pkgtrace-evil-py', version='0.0.1', packages=['evil_py'])\n",
                marker.display().to_string()
            ),
        )
        .unwrap();

        let pkg = parse(dir.to_str().unwrap(), None).unwrap();
        assert_eq!((pkg.ecosystem, pkg.name.as_str()), (Ecosystem::Pypi, "pkgtrace-evil-py"));
        let staged = stage(&pkg, &t.path().join("cache"), &FetchOptions::default()).unwrap();
        assert!(!marker.exists(), "setup.py ran during staging");
        assert_eq!(staged.version, "0.0.1");
        assert_eq!(staged.start, vec![start_command("pkgtrace-evil-py", "evil_py")]);
        assert!(staged.workdir.join("src/setup.py").is_file());
        let dist: Vec<String> = fs::read_dir(staged.workdir.join("dist"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(dist.iter().any(|f| f.starts_with("setuptools-") && f.ends_with(".whl")), "{dist:?}");

        run_install(&staged);
        assert!(marker.exists(), "the offline install did not run setup.py");
        run_phase(&staged, &staged.start);
    }

    /// A PEP 517 project with an in-tree build backend (no build requirements,
    /// so no network) that leaves a marker when its build code runs; the
    /// project's setup.py would leave another. Staging (directory and sdist)
    /// must run neither; the staged offline install must run the backend.
    #[test]
    fn stages_local_project_without_running_build_code() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("pkgtrace-evil-backend-0.0.2");
        let marker = t.path().join("backend-ran");
        let setup_marker = t.path().join("setup-py-ran");
        fs::create_dir_all(dir.join("evil_backend")).unwrap();
        fs::write(dir.join("evil_backend/__init__.py"), "VALUE = 2\n").unwrap();
        let setup_py = format!("open({:?}, 'w').write('ran')\n", setup_marker.display().to_string());
        fs::write(dir.join("setup.py"), setup_py).unwrap();
        fs::write(
            dir.join("pyproject.toml"),
            "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n\n\
             [project]\nname = \"pkgtrace-evil-backend\"\nversion = \"0.0.2\"\n",
        )
        .unwrap();
        fs::write(dir.join("backend.py"), BACKEND_PY.replace("MARKER_PATH", &marker.display().to_string())).unwrap();

        let cache = t.path().join("cache");
        let pkg = parse(dir.to_str().unwrap(), None).unwrap();
        assert_eq!((pkg.ecosystem, pkg.name.as_str()), (Ecosystem::Pypi, "pkgtrace-evil-backend"));
        let staged = stage(&pkg, &cache, &FetchOptions::default()).unwrap();
        assert!(!marker.exists() && !setup_marker.exists(), "build code ran during staging");
        assert_eq!(staged.version, "0.0.2");
        assert_eq!(staged.start, vec![start_command("pkgtrace-evil-backend", "evil_backend")]);

        // The same project as an sdist archive.
        let sdist = t.path().join("pkgtrace-evil-backend-0.0.2.tar.gz");
        let mut tar = Command::new("tar");
        tar.arg("-czf").arg(&sdist).arg("-C").arg(t.path()).arg("pkgtrace-evil-backend-0.0.2");
        assert!(tar.status().unwrap().success());
        let pkg = parse(sdist.to_str().unwrap(), Some(Ecosystem::Pypi)).unwrap();
        let from_sdist = stage(&pkg, &cache, &FetchOptions::default()).unwrap();
        assert!(!marker.exists() && !setup_marker.exists(), "build code ran during staging");
        let target = from_sdist.install[0].last().map(String::as_str);
        assert_eq!(target, Some("dist/pkgtrace-evil-backend-0.0.2.tar.gz"));
        assert_eq!(from_sdist.start, staged.start);

        run_install(&from_sdist);
        assert!(marker.exists(), "the offline install did not run the build backend");
        run_phase(&from_sdist, &from_sdist.start);
    }

    /// A minimal PEP 517 backend that writes a marker whenever pip calls it.
    const BACKEND_PY: &str = r#"
import base64, hashlib, os, pathlib, zipfile

def _mark():
    pathlib.Path("MARKER_PATH").write_text("ran")

def get_requires_for_build_wheel(config_settings=None):
    _mark()
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _mark()
    dist = "pkgtrace_evil_backend-0.0.2.dist-info"
    files = {
        "evil_backend/__init__.py": "VALUE = 2\n",
        dist + "/METADATA": "Metadata-Version: 2.1\nName: pkgtrace-evil-backend\nVersion: 0.0.2\n",
        dist + "/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    name = "pkgtrace_evil_backend-0.0.2-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for path, text in files.items():
            data = text.encode()
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
        record.append(dist + "/RECORD,,")
        z.writestr(dist + "/RECORD", "\n".join(record) + "\n")
    return name
"#;

    #[test]
    fn registry_pypi_six_wheel() {
        let t = tempfile::tempdir().unwrap();
        let pkg = parse("pkg:pypi/six@1.16.0", None).unwrap();
        let staged = stage(&pkg, t.path(), &FetchOptions::default()).unwrap();
        assert_eq!((staged.name.as_str(), staged.version.as_str()), ("six", "1.16.0"));
        assert!(staged.workdir.join("dist/six-1.16.0-py2.py3-none-any.whl").is_file());
        assert_eq!(staged.start, vec![start_command("six", "six")]);
        assert_eq!(staged.setup, vec![argv(&["python3", "-m", "venv", ".venv"])]);
        run_install(&staged);
        let start = run_phase(&staged, &staged.start);
        let stderr = String::from_utf8_lossy(&start[0].stderr);
        assert!(stderr.contains("pkgtrace-start: imported six"), "{stderr}");
    }

    #[test]
    fn registry_pypi_six_sdist() {
        let t = tempfile::tempdir().unwrap();
        let pkg = parse("pkg:pypi/six@1.16.0", None).unwrap();
        let staged = stage(&pkg, t.path(), &FetchOptions { sdist: true }).unwrap();
        assert!(staged.workdir.join("dist/six-1.16.0.tar.gz").is_file());
        assert_eq!(staged.install[0].last().map(String::as_str), Some("dist/six-1.16.0.tar.gz"));
        run_install(&staged);
        run_phase(&staged, &staged.start);
    }

    #[test]
    fn registry_pypi_not_found() {
        let t = tempfile::tempdir().unwrap();
        let pkg = parse("pkg:pypi/six@99.0.0", None).unwrap();
        let err = stage(&pkg, t.path(), &FetchOptions::default()).unwrap_err();
        assert!(matches!(err, PackageError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("no version 99.0.0 of six"), "{err}");
        let pkg = parse("pkg:pypi/pkgtrace-no-such-project-x7q2", None).unwrap();
        let err = stage(&pkg, t.path(), &FetchOptions::default()).unwrap_err();
        assert!(matches!(err, PackageError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("no project pkgtrace-no-such-project-x7q2 on pypi"), "{err}");
    }

    /// "latest": the version comes from the simple index (sdist) or the wheel pip picked.
    #[test]
    fn registry_pypi_latest() {
        let t = tempfile::tempdir().unwrap();
        let pkg = parse("pkg:pypi/six", None).unwrap();
        let wheel = stage(&pkg, t.path(), &FetchOptions::default()).unwrap();
        let sdist = stage(&pkg, t.path(), &FetchOptions { sdist: true }).unwrap();
        let key = |v: &str| version_key(v).unwrap();
        assert!(key(&wheel.version) >= key("1.17.0"), "{}", wheel.version);
        assert_eq!(wheel.version, sdist.version);
        assert!(wheel.workdir.join(format!("dist/six-{}-py2.py3-none-any.whl", wheel.version)).is_file());
        assert!(sdist.workdir.join(format!("dist/six-{}.tar.gz", sdist.version)).is_file());
        assert_eq!(wheel.install[0].last(), Some(&format!("dist/six-{}-py2.py3-none-any.whl", wheel.version)));
    }
}
