//! The results directory as a git repository: created on first use, locked
//! while written, files replaced atomically, one commit per store.
//!
//! Git is driven through its command line. Of the choices (gix, git2 with a
//! vendored libgit2, the CLI), the CLI is the one whose behaviour under
//! concurrency and kill is git's own: `index.lock` for the index, atomic
//! ref updates (a lock file renamed over the ref) for the commit, loose
//! objects written to temp names then renamed. A pkgtrace killed half-way
//! through a `git commit` leaves what a killed `git commit` leaves, which
//! `git fsck` accepts. It is also what a user of the repository runs, so a
//! repository we write is by construction one they can read, and it costs
//! no C library in the build.
//!
//! How a store survives a kill:
//! 1. every file is written to `.pkgtrace/tmp/` and synced;
//! 2. `.pkgtrace/pending` (the paths and the commit message) is written;
//! 3. the files are renamed into place (each rename is atomic);
//! 4. `git add` and `git commit` of exactly those paths;
//! 5. `pending` is removed.
//!
//! A kill before 2 leaves temp files only (removed by the next store); after
//! it, the next store (under the lock) finishes the pending one first: its
//! files are complete, so renaming what is left and committing is safe.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

/// Where pkgtrace keeps its own state in the repository (git-ignored).
pub const STATE_DIR: &str = ".pkgtrace";

/// What `.gitignore` holds: the derived index and pkgtrace's lock and temp files.
const GITIGNORE: &str = "# pkgtrace: derived or transient, never committed\n.pkgtrace/index.sqlite*\n.pkgtrace/lock\n.pkgtrace/tmp/\n.pkgtrace/pending\n.pkgtrace/failures.jsonl\n";

/// Test hook (integration tests drive the binary): when set to a path, a
/// store waits after its files are in place and before `git commit` until
/// that path exists, so a test can SIGKILL it at that exact point. Not
/// documented for users.
const PAUSE_HOOK: &str = "PKGTRACE_TEST_PAUSE_BEFORE_COMMIT";

/// An open results repository.
pub struct Repo {
    root: PathBuf,
}

/// The repository's lock: held while anything is written. Dropping it unlocks.
pub struct Lock {
    _file: Flock<File>,
}

/// A store written but maybe not committed: what the next store completes.
#[derive(Serialize, Deserialize)]
struct Pending {
    /// (temp file, final path), relative to the root.
    files: Vec<(String, String)>,
    message: String,
}

impl Repo {
    /// Opens the repository at `root`, creating it (and `git init`) when it
    /// does not exist or is a directory that is not yet a repository.
    pub fn open_or_init(root: &Path) -> Result<Repo> {
        if root.exists() && !root.is_dir() {
            bail!("the results path {} is a file, not a directory", root.display());
        }
        fs::create_dir_all(root.join(STATE_DIR).join("tmp"))
            .with_context(|| format!("failed to create the results repository {}", root.display()))?;
        let repo = Repo { root: root.to_path_buf() };
        if !root.join(".git").exists() {
            let _lock = repo.lock()?;
            if !root.join(".git").exists() {
                repo.git(&["init", "-q"])?;
                write_atomic(&root.join(".gitignore"), GITIGNORE.as_bytes(), &root.join(STATE_DIR).join("tmp"))?;
                repo.git(&["add", "--", ".gitignore"])?;
                repo.commit("pkgtrace results repository", &[".gitignore".into()])?;
            }
        }
        Ok(repo)
    }

    /// Opens an existing repository (query, reanalyze, index).
    pub fn open(root: &Path) -> Result<Repo> {
        if !root.join(".git").exists() {
            bail!("{} is not a pkgtrace results repository (no .git); `pkgtrace run` creates one", root.display());
        }
        Ok(Repo { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The index's path.
    pub fn index_path(&self) -> PathBuf {
        self.root.join(STATE_DIR).join("index.sqlite")
    }

    /// Takes the repository's lock (`.pkgtrace/lock`), waiting for another
    /// pkgtrace that holds it.
    pub fn lock(&self) -> Result<Lock> {
        let path = self.root.join(STATE_DIR).join("lock");
        fs::create_dir_all(path.parent().expect("has a parent"))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("failed to open the lock {}", path.display()))?;
        let file = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| anyhow::anyhow!("failed to lock {}: {e}", path.display()))?;
        Ok(Lock { _file: file })
    }

    /// Writes `files` (path relative to the root, contents) and commits them
    /// as one commit with `message`. Call with the lock held.
    pub fn store(&self, _lock: &Lock, files: &[(String, Vec<u8>)], message: &str) -> Result<()> {
        self.recover()?;
        let paths: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
        self.refuse_local_changes(&paths)?;
        let tmp_dir = self.root.join(STATE_DIR).join("tmp");
        // A clone has no `.pkgtrace/` (it is ignored): made on first store.
        fs::create_dir_all(&tmp_dir).with_context(|| format!("failed to create {}", tmp_dir.display()))?;
        let mut pending = Pending { files: Vec::new(), message: message.to_string() };
        let stamp = format!("{}-{}", std::process::id(), nanos());
        for (i, (path, bytes)) in files.iter().enumerate() {
            let tmp = format!("{STATE_DIR}/tmp/{stamp}-{i}");
            if let Err(e) = write_synced(&self.root.join(&tmp), bytes) {
                self.remove_temps(&pending);
                let _ = fs::remove_file(self.root.join(&tmp));
                return Err(e).with_context(|| format!("failed to write {} (nothing was stored)", tmp_dir.display()));
            }
            pending.files.push((tmp, path.clone()));
        }
        let text = serde_json::to_vec(&pending)?;
        if let Err(e) = write_atomic(&self.root.join(STATE_DIR).join("pending"), &text, &tmp_dir) {
            self.remove_temps(&pending);
            return Err(e).context("failed to write .pkgtrace/pending (nothing was stored)");
        }
        self.complete(&pending)
    }

    /// Renames what is left of `pending` into place and commits it.
    fn complete(&self, pending: &Pending) -> Result<()> {
        for (tmp, path) in &pending.files {
            let from = self.root.join(tmp);
            if from.exists() {
                let to = self.root.join(path);
                fs::create_dir_all(to.parent().expect("has a parent"))?;
                fs::rename(&from, &to).with_context(|| format!("failed to move {} into place", to.display()))?;
            }
        }
        let paths: Vec<String> = pending.files.iter().map(|(_, p)| p.clone()).collect();
        if let Some(flag) = std::env::var_os(PAUSE_HOOK) {
            while !Path::new(&flag).exists() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.commit(&pending.message, &paths)?;
        fs::remove_file(self.root.join(STATE_DIR).join("pending")).context("failed to remove .pkgtrace/pending")?;
        Ok(())
    }

    /// Finishes a store a killed pkgtrace left (see the module doc), and
    /// removes git lock files no process holds.
    fn recover(&self) -> Result<()> {
        self.clear_stale_git_locks()?;
        let path = self.root.join(STATE_DIR).join("pending");
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.sweep_temps();
                return Ok(());
            }
            Err(e) => return Err(e).with_context(|| format!("failed to read {}", path.display())),
        };
        match serde_json::from_slice::<Pending>(&text) {
            Ok(p) => {
                tracing::warn!("completing a store that was interrupted: {}", p.message);
                self.complete(&p)?;
            }
            // `pending` is written atomically; unreadable means not ours.
            Err(e) => bail!("{}: not a pending store ({e}); remove it to go on", path.display()),
        }
        self.sweep_temps();
        Ok(())
    }

    /// Temp files of stores that died before writing `pending`.
    fn sweep_temps(&self) {
        if let Ok(entries) = fs::read_dir(self.root.join(STATE_DIR).join("tmp")) {
            for e in entries.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    fn remove_temps(&self, pending: &Pending) {
        for (tmp, _) in &pending.files {
            let _ = fs::remove_file(self.root.join(tmp));
        }
    }

    /// A merge in progress, or uncommitted edits to a file this store would
    /// replace: refuse rather than lose them.
    fn refuse_local_changes(&self, paths: &[String]) -> Result<()> {
        let unmerged = self.git_out(&["diff", "--name-only", "--diff-filter=U"])?;
        if !unmerged.trim().is_empty() {
            bail!(
                "the results repository {} has unresolved conflicts ({}); resolve and commit them first",
                self.root.display(),
                unmerged.split_whitespace().collect::<Vec<_>>().join(", ")
            );
        }
        let mut args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
        args.extend(paths.iter().map(String::as_str));
        let changed = self.git_out(&args)?;
        if let Some(line) = changed.lines().next() {
            bail!(
                "the results repository {} has uncommitted changes to {}; commit or discard them first",
                self.root.display(),
                line.get(3..).unwrap_or(line)
            );
        }
        Ok(())
    }

    /// `git add` and `git commit` of exactly `paths` (others' staged changes
    /// are not swept into pkgtrace's commit). Nothing changed: no commit.
    pub fn commit(&self, message: &str, paths: &[String]) -> Result<()> {
        let mut add = vec!["add", "--"];
        add.extend(paths.iter().map(String::as_str));
        self.git(&add)?;
        let mut diff = vec!["diff", "--cached", "--quiet", "--"];
        diff.extend(paths.iter().map(String::as_str));
        let has_head = self.git_status(&["rev-parse", "--verify", "-q", "HEAD"])?;
        if has_head && self.git_status(&diff)? {
            return Ok(());
        }
        let mut commit = vec!["commit", "-q", "--no-verify", "-m", message, "--"];
        commit.extend(paths.iter().map(String::as_str));
        self.git(&commit)
    }

    /// The commit the repository is at.
    pub fn head(&self) -> Result<String> {
        Ok(self.git_out(&["rev-parse", "HEAD"])?.trim().to_string())
    }

    /// Removes `.git/index.lock` and other ref locks a killed git left: only
    /// when no process has them open (a live git keeps its lock file open
    /// from creation to rename), checked twice a moment apart.
    fn clear_stale_git_locks(&self) -> Result<()> {
        let git = self.root.join(".git");
        let mut locks = vec![git.join("index.lock"), git.join("HEAD.lock")];
        if let Ok(entries) = fs::read_dir(git.join("refs/heads")) {
            locks.extend(entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "lock")));
        }
        for lock in locks.into_iter().filter(|l| l.exists()) {
            for attempt in 0..2 {
                if let Some(pid) = holder(&lock) {
                    bail!("{} is held by process {pid} (a git command running in the results repository); try again when it has finished", lock.display());
                }
                if attempt == 0 {
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
            if lock.exists() {
                tracing::warn!("removing {}: left by a git that was killed (no process holds it)", lock.display());
                fs::remove_file(&lock).with_context(|| format!("failed to remove {}", lock.display()))?;
            }
        }
        Ok(())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.root);
        // Commits need an author; the machine may have none configured.
        if std::env::var_os("GIT_AUTHOR_EMAIL").is_none() && !has_identity(&self.root) {
            cmd.args(["-c", "user.name=pkgtrace", "-c", "user.email=pkgtrace@localhost"]);
        }
        cmd.args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"]);
        cmd.args(args);
        cmd
    }

    pub(crate) fn git(&self, args: &[&str]) -> Result<()> {
        let out = self.command(args).output().context("failed to run git (is it installed?)")?;
        if !out.status.success() {
            bail!(
                "git {} failed in {}: {}",
                args.first().unwrap_or(&""),
                self.root.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    pub(crate) fn git_out(&self, args: &[&str]) -> Result<String> {
        let out = self.command(args).output().context("failed to run git (is it installed?)")?;
        if !out.status.success() {
            bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs git; true when it exited 0.
    pub(crate) fn git_status(&self, args: &[&str]) -> Result<bool> {
        Ok(self.command(args).output().context("failed to run git (is it installed?)")?.status.success())
    }
}

fn has_identity(root: &Path) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["config", "user.email"])
        .output()
        .map(|o| o.status.success() && !o.stdout.trim_ascii().is_empty())
        .unwrap_or(false)
}

/// A process that has `path` open, if any (from `/proc/*/fd`).
fn holder(path: &Path) -> Option<u32> {
    let target = fs::canonicalize(path).ok()?;
    for proc_dir in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = proc_dir.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(fds) = fs::read_dir(proc_dir.path().join("fd")) else { continue };
        if fds.flatten().any(|fd| fs::read_link(fd.path()).is_ok_and(|l| l == target)) {
            return Some(pid);
        }
    }
    None
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
}

/// Writes and syncs `path`; a failure (a full disk) removes what was written.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let result = (|| {
        let mut f = File::create(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result
}

/// Writes `path` through a temp file in `tmp_dir` and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8], tmp_dir: &Path) -> Result<()> {
    fs::create_dir_all(tmp_dir)?;
    let tmp = tmp_dir.join(format!("{}-{}", std::process::id(), nanos()));
    write_synced(&tmp, bytes).with_context(|| format!("failed to write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("failed to write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_log(root: &Path) -> Vec<String> {
        let out = Command::new("git").arg("-C").arg(root).args(["log", "--format=%s"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    }

    #[test]
    fn a_store_is_one_commit_and_a_pending_one_is_completed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::open_or_init(dir.path()).unwrap();
        let lock = repo.lock().unwrap();
        repo.store(&lock, &[("npm/a/1.0.0/report.json".into(), b"{}\n".to_vec())], "npm/a@1.0.0: 0 findings").unwrap();
        assert_eq!(git_log(dir.path()), ["npm/a@1.0.0: 0 findings", "pkgtrace results repository"]);
        // A store killed after `pending` was written: the next one finishes it.
        let tmp = format!("{STATE_DIR}/tmp/killed-0");
        fs::write(dir.path().join(&tmp), b"{\"x\":1}\n").unwrap();
        let p = Pending {
            files: vec![(tmp, "npm/b/2.0.0/report.json".into())],
            message: "npm/b@2.0.0: 1 findings, max low".into(),
        };
        fs::write(dir.path().join(STATE_DIR).join("pending"), serde_json::to_vec(&p).unwrap()).unwrap();
        repo.store(&lock, &[("npm/c/1.0.0/report.json".into(), b"{}\n".to_vec())], "npm/c@1.0.0: 0 findings").unwrap();
        assert_eq!(git_log(dir.path())[..2], ["npm/c@1.0.0: 0 findings", "npm/b@2.0.0: 1 findings, max low"]);
        assert!(!dir.path().join(STATE_DIR).join("pending").exists());
    }

    #[test]
    fn a_file_is_no_results_repository() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("file");
        fs::write(&f, "x").unwrap();
        let e = Repo::open_or_init(&f).err().unwrap().to_string();
        assert!(e.contains("is a file, not a directory"), "{e}");
    }

    #[test]
    fn local_edits_are_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::open_or_init(dir.path()).unwrap();
        let lock = repo.lock().unwrap();
        let file = "npm/a/1.0.0/report.json".to_string();
        repo.store(&lock, &[(file.clone(), b"{}\n".to_vec())], "one").unwrap();
        fs::write(dir.path().join(&file), "edited by hand\n").unwrap();
        let e = repo.store(&lock, &[(file.clone(), b"{}\n".to_vec())], "two").err().unwrap().to_string();
        assert!(e.contains("uncommitted changes to npm/a/1.0.0/report.json"), "{e}");
        assert_eq!(fs::read_to_string(dir.path().join(&file)).unwrap(), "edited by hand\n");
    }

    #[test]
    fn a_stale_index_lock_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::open_or_init(dir.path()).unwrap();
        fs::write(dir.path().join(".git/index.lock"), "").unwrap();
        let lock = repo.lock().unwrap();
        repo.store(&lock, &[("x/report.json".into(), b"{}\n".to_vec())], "x").unwrap();
        assert!(!dir.path().join(".git/index.lock").exists());
    }
}
