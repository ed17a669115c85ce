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

use std::sync::{Arc, OnceLock};

/// What the analysis reads of the calls it is told about.
pub trait ResultsWanted: Send + Sync + std::fmt::Debug {
    /// Whether the result of a probe of `path` (absolute, as the task
    /// named it, relative ones joined to their directory fd's path) is read.
    fn probe(&self, path: &[u8]) -> bool;
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
        Some(dir) if path.is_empty() => w.probe(dir),
        Some(dir) => {
            // Joined on the stack (this runs at a probe's stop), on the
            // heap only past a page.
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
            w.probe(full)
        }
        None => true,
    }
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
}
