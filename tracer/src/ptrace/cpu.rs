//! Where a traced run executes: the tracer and every task it traces share
//! one CPU.
//!
//! Each ptrace stop wakes the tracer, and each resume wakes the tracee.
//! When the two are on different CPUs, every wake-up is an
//! inter-processor interrupt to a CPU that went idle in the meantime; in a
//! VM both the idle and the interrupt are exits to the hypervisor. Measured
//! on this project's 2-vCPU machine, `find /usr/share -name '*.h'` under
//! `strace -f --seccomp-bpf` takes 1.3 s across CPUs and 0.18 s with strace
//! and find on one CPU; pkgtrace goes from 1.5 s to 0.27 s. The stop count
//! is the same: only the hand-over got cheaper.
//!
//! So the tracing thread pins itself to one CPU before it forks the
//! command, which inherits the mask, as does everything the command
//! starts. pkgtrace's other threads (the analyzer, the network sinks) keep
//! the rest of the machine. The cost: a traced command no longer runs its
//! own work on several CPUs at once (`Options::all_cpus` turns pinning off,
//! for parallel builds where computing dominates).
//!
//! Which CPU: concurrent runs (a scan's jobs, tests in parallel, a user's
//! own runs) should not pile onto one. A run holds an `flock` on
//! `/run/pkgtrace/cpus/<cpu>.<n>` for as long as it traces: it takes the
//! first free `n = 0` slot over the CPUs it may use, then `n = 1`, and so
//! on, so runs spread evenly. The kernel drops the lock when the run ends
//! or dies. Without a usable lock directory (not root), the CPU is chosen
//! by pid.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

const LOCK_DIR: &str = "/run/pkgtrace/cpus";
/// Runs per CPU looked at before giving up on slots (then: by pid).
const MAX_PER_CPU: usize = 64;

/// The calling thread pinned to one CPU until this is dropped, when its
/// former mask is put back.
#[derive(Debug)]
pub struct Pinned {
    pub cpu: usize,
    former: CpuSet,
    _slot: Option<Flock<File>>,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = sched_setaffinity(Pid::from_raw(0), &self.former);
    }
}

/// Pins the calling thread to one CPU of those it may use, chosen as the
/// module says. `None` when there is nothing to choose (one CPU allowed) or
/// the mask cannot be read or set: the run then goes unpinned, slower but
/// the same.
pub fn pin() -> Option<Pinned> {
    let former = sched_getaffinity(Pid::from_raw(0)).ok()?;
    let allowed: Vec<usize> = (0..CpuSet::count()).filter(|&c| former.is_set(c).unwrap_or(false)).collect();
    if allowed.len() < 2 {
        return None;
    }
    let (cpu, slot) = match take_slot(Path::new(LOCK_DIR), &allowed) {
        Some((cpu, lock)) => (cpu, Some(lock)),
        None => (allowed[std::process::id() as usize % allowed.len()], None),
    };
    let mut one = CpuSet::new();
    one.set(cpu).ok()?;
    sched_setaffinity(Pid::from_raw(0), &one).ok()?;
    Some(Pinned { cpu, former, _slot: slot })
}

/// The first free slot, least-used CPU first.
fn take_slot(dir: &Path, allowed: &[usize]) -> Option<(usize, Flock<File>)> {
    std::fs::create_dir_all(dir).ok()?;
    for n in 0..MAX_PER_CPU {
        for &cpu in allowed {
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(dir.join(format!("{cpu}.{n}")))
                .ok()?;
            if let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                return Some((cpu, lock));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_runs_spread_over_the_cpus_and_a_freed_slot_is_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = [0, 1];
        let (a, lock_a) = take_slot(dir.path(), &allowed).unwrap();
        let (b, _lock_b) = take_slot(dir.path(), &allowed).unwrap();
        let (c, _lock_c) = take_slot(dir.path(), &allowed).unwrap();
        assert_eq!((a, b, c), (0, 1, 0), "one run per CPU before a second on any");
        assert!(dir.path().join("0.1").exists());
        drop(lock_a);
        let (d, _lock_d) = take_slot(dir.path(), &allowed).unwrap();
        assert_eq!(d, 0, "the slot the ended run held is free again");
    }

    #[test]
    fn the_thread_runs_on_the_chosen_cpu_while_pinned_and_anywhere_after() {
        let before = sched_getaffinity(Pid::from_raw(0)).unwrap();
        let allowed = (0..CpuSet::count()).filter(|&c| before.is_set(c).unwrap()).count();
        let pinned = pin();
        if allowed < 2 {
            assert!(pinned.is_none());
            return;
        }
        let pinned = pinned.expect("pinned on a machine with several CPUs");
        let now = sched_getaffinity(Pid::from_raw(0)).unwrap();
        let set: Vec<usize> = (0..CpuSet::count()).filter(|&c| now.is_set(c).unwrap()).collect();
        assert_eq!(set, vec![pinned.cpu]);
        drop(pinned);
        let after = sched_getaffinity(Pid::from_raw(0)).unwrap();
        assert_eq!(after, before);
    }
}
