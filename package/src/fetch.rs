//! Staging: fetches a package outside the sandbox with the ecosystem's own
//! client, with no package code running, into a cache, and describes the
//! result as a [`Staged`] work directory plus the commands that install and
//! start the package inside the sandbox, offline.
//!
//! Cache layout (`cache` is e.g. `~/.cache/pkgtrace/fetch`):
//!
//! ```text
//! <cache>/<eco>/<name>/<version>/work/          registry package: the work dir
//! <cache>/<eco>/<name>/<version>/staged.json    marker, written last: staging is complete
//! <cache>/pypi-sdist/<name>/<version>/          a PyPI package staged from its sdist
//! <cache>/local/<eco>/<name>/<digest>/          local package: restaged every time, kept by content
//! <cache>/.tmp/                                 stagings in progress (renamed into place)
//! <cache>/npm/.npm-cache, pypi/.pip-cache, cargo/.cargo-home   the clients' own caches
//! ```
//!
//! A staging is built in a private temporary directory and renamed into place
//! once complete, so concurrent stagings of one package never see each
//! other's half-done work, and a killed run leaves no half staging behind.
//!
//! A staging in place is never replaced, since another run may be copying it
//! into its sandbox. A local package is staged afresh by every run, so its
//! staging is named by a digest of what it holds: two runs of the same
//! contents share one, a changed package gets a new one, and stagings of a
//! local package not used for [`LOCAL_KEEP`] are removed.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::detect::one_line;
use super::error::PackageError;
use super::purl::{Ecosystem, PackageRef, Source};
use super::{cargo, npm, pypi};

/// A package fetched and ready to be copied into the sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staged {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    /// A directory to copy into the sandbox as the package's work dir (the "project").
    pub workdir: PathBuf,
    /// pkgtrace's own set-up commands (PyPI: creating the venv), run before
    /// `install` in the install phase, sandboxed and traced like it so that
    /// they are contained, but not analyzed: what they do is not the package's.
    pub setup: Vec<Vec<String>>,
    /// Commands to run INSIDE the sandbox, offline, with cwd = the work dir copy, per phase.
    pub install: Vec<Vec<String>>,
    pub start: Vec<Vec<String>>,
    /// Environment the commands need inside (e.g. npm_config_offline=true, PIP_NO_INDEX=1).
    pub env: Vec<(String, String)>,
}

/// How to fetch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// PyPI: stage the source distribution rather than a wheel, so the install
    /// phase runs the package's build (setup.py or build backend).
    pub sdist: bool,
}

/// What an ecosystem fetcher produced in its work directory.
pub(crate) struct Fetched {
    pub name: String,
    pub version: String,
    pub setup: Vec<Vec<String>>,
    pub install: Vec<Vec<String>>,
    pub start: Vec<Vec<String>>,
    pub env: Vec<(String, String)>,
}

/// What an ecosystem fetcher gets to work with.
pub(crate) struct Ctx<'a> {
    pub pkg: &'a PackageRef,
    /// The work directory to fill (exists, empty).
    pub work: PathBuf,
    /// The cache root, for the client's own cache.
    pub cache: PathBuf,
    pub opts: &'a FetchOptions,
    /// The package's purl, for messages.
    pub purl: String,
}

/// The marker file: the staging without its absolute work dir (the directory may move).
#[derive(Serialize, Deserialize)]
struct Marker {
    /// [`MARKER_FORMAT`]; a staging of another format (or of none) is not reused.
    #[serde(default)]
    format: u32,
    ecosystem: Ecosystem,
    name: String,
    version: String,
    setup: Vec<Vec<String>>,
    install: Vec<Vec<String>>,
    start: Vec<Vec<String>>,
    env: Vec<(String, String)>,
}

const MARKER: &str = "staged.json";
/// What the phase commands of a staging look like. Raised whenever they
/// change, so that a cached staging with the old ones is staged again
/// (2: PyPI's venv became a set-up command, its start imports what the
/// installed distribution provides; 3: npm's start loads the subpaths of a
/// package without a root entry, and nothing-to-load is no failure; 4: npm's
/// start programs are files in the work dir).
const MARKER_FORMAT: u32 = 4;
const WORK: &str = "work";

/// `$XDG_CACHE_HOME/pkgtrace/fetch`, else `~/.cache/pkgtrace/fetch`.
pub fn default_cache_root() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("pkgtrace").join("fetch"))
}

/// Fetches `pkg` into `cache` (no package code runs) and returns its staging.
/// A registry package already staged completely is reused; a local one is
/// restaged every time (its contents may have changed).
pub fn stage(pkg: &PackageRef, cache: &Path, opts: &FetchOptions) -> Result<Staged, PackageError> {
    fs::create_dir_all(cache).map_err(|e| PackageError::io(format!("failed to create {}", cache.display()), e))?;
    let cache =
        fs::canonicalize(cache).map_err(|e| PackageError::io(format!("failed to resolve {}", cache.display()), e))?;
    let purl = pkg.purl();
    // A PyPI sdist staging is a different thing from a wheel staging of the same version.
    let eco_dir = match pkg.ecosystem {
        Ecosystem::Pypi if opts.sdist => "pypi-sdist",
        eco => eco.as_str(),
    };
    let registry_dir = |version: &str| cache.join(eco_dir).join(&pkg.name).join(version);
    if let (Source::Registry, Some(version)) = (&pkg.source, &pkg.version) {
        if let Some(staged) = load(&registry_dir(version)) {
            tracing::debug!(%purl, dir = %staged.workdir.display(), "reusing staged package");
            return Ok(staged);
        }
    }

    let tmp = TempDir::new(&cache, pkg.ecosystem)?;
    let work = tmp.path.join(WORK);
    mkdir(&work)?;
    let ctx = Ctx { pkg, work, cache: cache.clone(), opts, purl };
    tracing::info!(purl = %ctx.purl, "fetching");
    let fetched = match pkg.ecosystem {
        Ecosystem::Npm => npm::fetch(&ctx)?,
        Ecosystem::Pypi => pypi::fetch(&ctx)?,
        Ecosystem::Cargo => cargo::fetch(&ctx)?,
    };
    let marker = Marker {
        format: MARKER_FORMAT,
        ecosystem: pkg.ecosystem,
        name: fetched.name,
        version: fetched.version,
        setup: fetched.setup,
        install: fetched.install,
        start: fetched.start,
        env: fetched.env,
    };
    let json = serde_json::to_vec_pretty(&marker).map_err(|e| PackageError::io("failed to encode marker", e.into()))?;
    write_file(&tmp.path.join(MARKER), &json)?;

    let target = match &pkg.source {
        Source::Registry => registry_dir(&marker.version),
        Source::Local(_) => {
            let dir = cache.join("local").join(pkg.ecosystem.as_str()).join(&pkg.name);
            prune_local(&dir);
            dir.join(digest(&tmp.path)?)
        }
    };
    if let Some(staged) = load(&target) {
        touch(&target);
        return Ok(staged); // staged before (by someone else, or with the same contents); ours is dropped
    }
    if let Some(parent) = target.parent() {
        mkdir(parent)?;
    }
    // A staging left by an older pkgtrace (another marker format) is set aside
    // under .tmp rather than removed in place: a run of that version may be
    // reading it, and the rename below needs the name free.
    if target.exists() {
        let old = TempDir::name(&cache, pkg.ecosystem);
        if fs::rename(&target, &old).is_ok() {
            drop(TempDir { path: old, keep: false });
        }
    }
    match fs::rename(&tmp.path, &target) {
        Ok(()) => tmp.keep(),
        Err(e) => {
            if let Some(staged) = load(&target) {
                return Ok(staged); // lost a race with a concurrent staging of the same package
            }
            return Err(PackageError::io(format!("failed to move staging into {}", target.display()), e));
        }
    }
    load(&target).ok_or_else(|| PackageError::Fetch {
        purl: pkg.purl(),
        detail: format!("staging in {} is unreadable", target.display()),
    })
}

/// A complete staging in `dir`, if there is one.
fn load(dir: &Path) -> Option<Staged> {
    let text = fs::read(dir.join(MARKER)).ok()?;
    let m: Marker = serde_json::from_slice(&text).ok().filter(|m: &Marker| m.format == MARKER_FORMAT)?;
    let workdir = dir.join(WORK);
    workdir.is_dir().then_some(Staged {
        ecosystem: m.ecosystem,
        name: m.name,
        version: m.version,
        workdir,
        setup: m.setup,
        install: m.install,
        start: m.start,
        env: m.env,
    })
}

/// How long a local package's staging is kept after its last use.
pub const LOCAL_KEEP: Duration = Duration::from_secs(24 * 3600);

/// Removes the stagings in `dir` (one local package's) whose marker is older
/// than [`LOCAL_KEEP`]: every use of a staging touches its marker, and no run
/// lasts that long, so none is in use.
fn prune_local(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let age = fs::metadata(path.join(MARKER))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if age.is_some_and(|a| a > LOCAL_KEEP) {
            if let Err(e) = fs::remove_dir_all(&path) {
                tracing::warn!(dir = %path.display(), error = %e, "failed to remove an unused staging");
            }
        }
    }
}

/// Marks a staging as used now, so that [`prune_local`] keeps it.
fn touch(dir: &Path) {
    if let Ok(f) = fs::File::options().append(true).open(dir.join(MARKER)) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// A digest of everything in the staging at `dir`: every entry's relative
/// path, kind, mode and contents (a symlink's target), in sorted order, and
/// the marker's commands. Hex, 32 digits.
fn digest(dir: &Path) -> Result<String, PackageError> {
    fn walk(root: &Path, rel: &Path, h: &mut Sha256) -> Result<(), PackageError> {
        let here = root.join(rel);
        let err = |e| PackageError::io(format!("failed to read {}", here.display()), e);
        let mut names: Vec<_> = fs::read_dir(&here)
            .map_err(err)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(err)?;
        names.sort();
        for name in names {
            let rel = rel.join(&name);
            let path = root.join(&rel);
            let err = |e| PackageError::io(format!("failed to read {}", path.display()), e);
            let meta = fs::symlink_metadata(&path).map_err(err)?;
            let bytes = rel.as_os_str().as_encoded_bytes();
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
            h.update(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()).to_le_bytes());
            let ft = meta.file_type();
            if ft.is_dir() {
                walk(root, &rel, h)?;
                h.update(b"end");
            } else {
                let data = if ft.is_symlink() {
                    fs::read_link(&path).map_err(err)?.into_os_string().into_encoded_bytes()
                } else if ft.is_file() {
                    fs::read(&path).map_err(err)?
                } else {
                    Vec::new()
                };
                h.update((data.len() as u64).to_le_bytes());
                h.update(&data);
            }
        }
        Ok(())
    }
    let mut h = Sha256::new();
    walk(dir, Path::new(""), &mut h)?;
    Ok(h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// A staging directory in progress, removed on drop unless kept.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn new(cache: &Path, eco: Ecosystem) -> Result<TempDir, PackageError> {
        let path = TempDir::name(cache, eco);
        mkdir(&path)?;
        Ok(TempDir { path, keep: false })
    }

    /// A fresh name under `<cache>/.tmp`, unique to this process and call.
    fn name(cache: &Path, eco: Ecosystem) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        cache.join(".tmp").join(format!("{eco}-{}-{nanos}-{n}", std::process::id()))
    }

    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            if let Err(e) = fs::remove_dir_all(&self.path) {
                tracing::warn!(dir = %self.path.display(), error = %e, "failed to remove temporary staging");
            }
        }
    }
}

pub(crate) fn mkdir(path: &Path) -> Result<(), PackageError> {
    fs::create_dir_all(path).map_err(|e| PackageError::io(format!("failed to create {}", path.display()), e))
}

pub(crate) fn write_file(path: &Path, data: impl AsRef<[u8]>) -> Result<(), PackageError> {
    fs::write(path, data).map_err(|e| PackageError::io(format!("failed to write {}", path.display()), e))
}

/// Runs a client command, capturing its output; an error only if it cannot be started.
pub(crate) fn run(cmd: &mut Command) -> Result<Output, PackageError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let line: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a: &OsStr| a.to_string_lossy().into_owned())
        .collect();
    tracing::debug!(cmd = %line.join(" "), cwd = ?cmd.get_current_dir(), "running");
    cmd.stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|source| PackageError::Tool { program, cause: source })?;
    if !out.status.success() {
        tracing::debug!(
            cmd = %line.join(" "),
            status = %out.status,
            stderr = %event::terminal::esc(&String::from_utf8_lossy(&out.stderr)),
            "command failed"
        );
    }
    Ok(out)
}

/// Turns a failed client run into `NotFound` when its output matches one of
/// `not_found` (case-insensitive), else into `Fetch`, both with the client's one-line reason.
pub(crate) fn client_error(purl: &str, what: &str, out: &Output, not_found: &[&str]) -> PackageError {
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    let lower = text.to_ascii_lowercase();
    if let Some(pat) = not_found.iter().find(|p| lower.contains(&p.to_ascii_lowercase())) {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.to_ascii_lowercase().contains(&pat.to_ascii_lowercase()))
            .map(one_line)
            .unwrap_or_else(|| one_line(&text));
        return PackageError::NotFound { purl: purl.to_string(), detail: line };
    }
    PackageError::Fetch { purl: purl.to_string(), detail: format!("{what}: {}", one_line(&text)) }
}

/// Copies a directory tree (files, directories, symlinks as symlinks), skipping
/// VCS metadata and build output that must not go into the sandbox.
pub(crate) fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> Result<(), PackageError> {
    let io = |what: &str, p: &Path, e| PackageError::io(format!("failed to {what} {}", p.display()), e);
    mkdir(to)?;
    for entry in fs::read_dir(from).map_err(|e| io("read", from, e))? {
        let entry = entry.map_err(|e| io("read", from, e))?;
        let name = entry.file_name();
        if skip.iter().any(|s| OsStr::new(s) == name) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let ty = entry.file_type().map_err(|e| io("stat", &src, e))?;
        if ty.is_dir() {
            copy_tree(&src, &dst, skip)?;
        } else if ty.is_symlink() {
            let target = fs::read_link(&src).map_err(|e| io("read link", &src, e))?;
            std::os::unix::fs::symlink(target, &dst).map_err(|e| io("create link", &dst, e))?;
        } else if ty.is_file() {
            fs::copy(&src, &dst).map_err(|e| io("copy", &src, e))?;
        }
    }
    Ok(())
}

/// `["a", "b"]` as an owned command line.
pub(crate) fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn env_pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers for the staging tests: run the inside commands of a staging
    //! (outside any sandbox: only for the tiny test packages written here).

    use super::*;

    /// Runs the set-up commands, then those of the install phase.
    pub fn run_install(staged: &Staged) -> Vec<Output> {
        let mut out = run_phase(staged, &staged.setup);
        out.extend(run_phase(staged, &staged.install));
        out
    }

    /// Runs the staged commands of one phase in `workdir` with the staged environment.
    pub fn run_phase(staged: &Staged, cmds: &[Vec<String>]) -> Vec<Output> {
        cmds.iter()
            .map(|c| {
                let out = Command::new(&c[0])
                    .args(&c[1..])
                    .current_dir(&staged.workdir)
                    .envs(staged.env.iter().map(|(k, v)| (k, v)))
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{c:?} failed: {}\n{}",
                    String::from_utf8_lossy(&out.stderr),
                    String::from_utf8_lossy(&out.stdout)
                );
                out
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_staging_is_not_reused() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("npm/x/1.0.0");
        fs::create_dir_all(dir.join(WORK)).unwrap();
        assert!(load(&dir).is_none());
        let m = Marker {
            format: MARKER_FORMAT,
            ecosystem: Ecosystem::Npm,
            name: "x".into(),
            version: "1.0.0".into(),
            setup: vec![],
            install: vec![argv(&["true"])],
            start: vec![],
            env: vec![],
        };
        fs::write(dir.join(MARKER), serde_json::to_vec(&m).unwrap()).unwrap();
        let staged = load(&dir).unwrap();
        assert_eq!(staged.workdir, dir.join(WORK));
        assert_eq!(staged.install, vec![argv(&["true"])]);
        // A staging whose commands are of an older format is staged again.
        let old = Marker { format: MARKER_FORMAT - 1, ..m };
        fs::write(dir.join(MARKER), serde_json::to_vec(&old).unwrap()).unwrap();
        assert!(load(&dir).is_none());
        let before_setup =
            r#"{"ecosystem": "npm", "name": "x", "version": "1.0.0", "install": [], "start": [], "env": []}"#;
        fs::write(dir.join(MARKER), before_setup).unwrap();
        assert!(load(&dir).is_none());
    }

    #[test]
    fn reuses_complete_staging_without_fetching() {
        let t = tempfile::tempdir().unwrap();
        let cache = fs::canonicalize(t.path()).unwrap();
        let dir = cache.join("cargo/nonexistent-crate-xyz/9.9.9");
        fs::create_dir_all(dir.join(WORK)).unwrap();
        let m = Marker {
            format: MARKER_FORMAT,
            ecosystem: Ecosystem::Cargo,
            name: "nonexistent-crate-xyz".into(),
            version: "9.9.9".into(),
            setup: vec![],
            install: vec![],
            start: vec![],
            env: vec![],
        };
        fs::write(dir.join(MARKER), serde_json::to_vec(&m).unwrap()).unwrap();
        let pkg = crate::parse("pkg:cargo/nonexistent-crate-xyz@9.9.9", None).unwrap();
        let staged = stage(&pkg, &cache, &FetchOptions::default()).unwrap();
        assert_eq!(staged.version, "9.9.9");
        assert_eq!(staged.workdir, dir.join(WORK));
    }

    #[test]
    fn copy_tree_skips_listed_names() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        fs::create_dir_all(src.join(".git")).unwrap();
        fs::create_dir_all(src.join("a/b")).unwrap();
        fs::write(src.join("a/b/f"), "x").unwrap();
        std::os::unix::fs::symlink("a/b/f", src.join("l")).unwrap();
        copy_tree(&src, &t.path().join("dst"), &[".git"]).unwrap();
        assert_eq!(fs::read_to_string(t.path().join("dst/a/b/f")).unwrap(), "x");
        assert_eq!(fs::read_to_string(t.path().join("dst/l")).unwrap(), "x");
        assert!(!t.path().join("dst/.git").exists());
    }
}
