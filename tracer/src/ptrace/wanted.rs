//! Which results the run's analysis reads, so that a call whose result
//! nobody reads costs one stop instead of two.
//!
//! A probe (stat, access, readlink of a path) stops at its entry for its
//! path and, to learn whether it succeeded, again at its exit. A directory
//! walk or an installer stats thousands of paths no rule is about (`find
//! /usr/share`: 6,300 of its 31,000 stops were such exits, issue 14). The
//! analysis says which paths' results it reads (the rule pack's probe
//! rules, the report's list of files in a home directory); a probe of any
//! other path is reported at its entry, with its result unknown, as a
//! strace log cut off mid-call shows it. No event is lost: a rule about
//! probes still sees every one, and one that reads results sees them where
//! it could match.
//!
//! An open keeps its exit stop, where the new fd's target names the file
//! really opened through any symlink, except in the one case where the
//! name cannot go through a symlink: `openat(dirfd, NAME, O_NOFOLLOW)`,
//! read-only, with NAME one component (what fts opens each directory of a
//! walk with: `find /usr/share` made 3,150 such calls). The file opened is
//! then the dirfd's directory joined with NAME, known at the entry; when
//! no rule reads an open of that path and it is not in a home, the open is
//! reported at its entry with its result unknown.

use std::sync::{Arc, OnceLock};

/// What the analysis reads of the calls it is told about.
pub trait ResultsWanted: Send + Sync + std::fmt::Debug {
    /// Whether the result of a probe of `path` (absolute, as the task
    /// named it, relative ones joined to their directory fd's path) is read.
    fn probe(&self, path: &[u8]) -> bool;
    /// Whether the result of a read-only open of `path` (absolute, no
    /// symlink in it) is read.
    fn open(&self, path: &[u8]) -> bool;
}

/// Set once the analysis knows (`trace` compiles the rule pack while the
/// command already runs); until then, and when never set, every result is
/// read.
pub type Wanted = Arc<OnceLock<Box<dyn ResultsWanted>>>;

/// Whether a probe's result is wanted: `path` as the task passed it, `dir`
/// the path of the directory fd it is relative to (None: the working
/// directory, or an fd whose path is unknown).
pub fn probe_result(wanted: Option<&Wanted>, path: &[u8], dir: Option<&[u8]>) -> bool {
    let Some(w) = wanted.and_then(|w| w.get()) else { return true };
    if path.starts_with(b"/") {
        return w.probe(path);
    }
    // Relative to the working directory: the tracer does not follow it
    // (the analyzer does), so the result is kept.
    match dir.filter(|d| d.starts_with(b"/")) {
        Some(dir) => joined(dir, path, |full| w.probe(full)),
        None => true,
    }
}

/// Whether the result of `openat(dirfd, path, flags)` is wanted: `dir` the
/// path of the directory fd (None: AT_FDCWD, or unknown). Only a read-only
/// open of one component with O_NOFOLLOW can go without (see the module's
/// text); every other open keeps its exit.
pub fn open_result(wanted: Option<&Wanted>, path: &[u8], flags: i32, dir: Option<&[u8]>) -> bool {
    let Some(w) = wanted.and_then(|w| w.get()) else { return true };
    let read_only = flags & libc::O_PATH != 0 || flags & libc::O_ACCMODE == libc::O_RDONLY;
    // O_TMPFILE's bits include O_DIRECTORY's.
    let changes = flags & (libc::O_CREAT | libc::O_TRUNC) != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
    let one_name = !path.is_empty() && path != b"." && path != b".." && !path.contains(&b'/');
    // A directory's link reads "PATH (deleted)" once it is removed: no
    // path to join to.
    let dir = dir.filter(|d| d.starts_with(b"/") && !d.ends_with(b" (deleted)"));
    match dir {
        Some(dir) if read_only && !changes && flags & libc::O_NOFOLLOW != 0 && one_name => {
            joined(dir, path, |full| w.open(full))
        }
        _ => true,
    }
}

/// `f` of `dir` joined with the relative `path` (`dir` itself when `path`
/// is empty). Joined on the stack (this runs at a call's stop), on the heap
/// only past a page.
fn joined(dir: &[u8], path: &[u8], f: impl FnOnce(&[u8]) -> bool) -> bool {
    if path.is_empty() {
        return f(dir);
    }
    let sep: &[u8] = if dir.ends_with(b"/") { b"" } else { b"/" };
    let len = dir.len() + sep.len() + path.len();
    let mut small = [0u8; 4096];
    let mut large = Vec::new();
    let full = if len <= small.len() {
        &mut small[..len]
    } else {
        large.resize(len, 0);
        &mut large[..]
    };
    for (at, part) in [(0, dir), (dir.len(), sep), (dir.len() + sep.len(), path)] {
        full[at..at + part.len()].copy_from_slice(part);
    }
    f(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Under(&'static [u8]);
    impl ResultsWanted for Under {
        fn probe(&self, path: &[u8]) -> bool {
            path.starts_with(self.0)
        }
        fn open(&self, path: &[u8]) -> bool {
            path.starts_with(self.0)
        }
    }

    #[test]
    fn results_are_read_until_told_otherwise_and_relative_paths_are_joined() {
        let slot: Wanted = Arc::default();
        assert!(probe_result(None, b"/usr/x", None));
        assert!(probe_result(Some(&slot), b"/usr/x", None), "not set yet: every result");
        slot.set(Box::new(Under(b"/root/"))).ok().unwrap();
        assert!(!probe_result(Some(&slot), b"/usr/x", None));
        assert!(probe_result(Some(&slot), b"/root/.npmrc", None));
        assert!(probe_result(Some(&slot), b".npmrc", Some(b"/root")), "joined to its dirfd");
        assert!(!probe_result(Some(&slot), b"libelf1", Some(b"/usr/share/doc")));
        assert!(probe_result(Some(&slot), b"", Some(b"/root/")), "an empty path is the dirfd itself");
        assert!(probe_result(Some(&slot), b"x", None), "relative to the cwd: kept");
        assert!(probe_result(Some(&slot), b"x", Some(b"socket:[1]")), "a dirfd that is no directory: kept");
    }

    #[test]
    fn only_a_read_only_open_of_one_name_without_following_it_can_go_without_its_result() {
        let slot: Wanted = Arc::default();
        let walk = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let usr = Some(&b"/usr/share"[..]);
        assert!(open_result(Some(&slot), b"doc", walk, usr), "not set yet: every result");
        slot.set(Box::new(Under(b"/root/"))).ok().unwrap();
        let open = |path: &[u8], flags: i32, dir: Option<&[u8]>| open_result(Some(&slot), path, flags, dir);
        assert!(!open(b"doc", walk, usr), "what fts opens: nobody reads it");
        assert!(!open(b"doc", libc::O_PATH | libc::O_NOFOLLOW, usr));
        assert!(!open(b"x", walk, Some(b"/")), "joined without a second slash");
        assert!(open(b".ssh", walk, Some(b"/root")), "a path the analysis reads");
        // The name could go through a symlink, or the open could change
        // the file, or there is no directory to join the name to.
        assert!(open(b"doc", libc::O_RDONLY | libc::O_DIRECTORY, usr), "no O_NOFOLLOW");
        assert!(open(b"doc/x", walk, usr), "two components");
        assert!(open(b"..", walk, usr));
        assert!(open(b".", walk, usr));
        assert!(open(b"", walk, usr));
        assert!(open(b"doc", walk | libc::O_WRONLY, usr));
        assert!(open(b"doc", walk | libc::O_RDWR, usr));
        assert!(open(b"doc", walk | libc::O_CREAT, usr));
        assert!(open(b"doc", walk | libc::O_TRUNC, usr));
        assert!(open(b"doc", libc::O_TMPFILE | libc::O_NOFOLLOW, usr));
        assert!(open(b"doc", walk, None), "relative to the cwd");
        assert!(open(b"doc", walk, Some(b"/usr/share (deleted)")));
        assert!(open(b"doc", walk, Some(b"anon_inode:[x]")));
        assert!(open(b"/usr/share/doc", walk, None), "absolute: a symlink on the way is possible");
    }
}
