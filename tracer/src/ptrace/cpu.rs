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
//! starts. pkgtrace's other threads (the analyzer, the network sinks) are
//! moved off that CPU for as long as the run traces: left anywhere, they
//! were seen (`perf sched timehist`) taking turns with the tracer on its
//! CPU while the other one idled, because this VM's scheduler packs
//! threads onto their creator's CPU and wakes them where the waker runs.
//! The cost: a traced command no longer runs its own work on several CPUs
//! at once (`Options::all_cpus` turns pinning off, for parallel builds
//! where computing dominates), except what roams (below).
//!
//! Tasks that rarely stop roam ([`Placement`]): a thread that made no
//! traced call for a while (a JavaScript engine's compiler and garbage
//! collector threads, a compiler process crunching one file) gets every
//! CPU back, so the command computes in parallel again, and it is brought
//! home at its second stop in a window. Its stops in between cross CPUs,
//! but there are few by construction. On `npm install` this gives back
//! most of what one CPU cost.
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
use std::time::{Duration, Instant};

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
    /// The process's other threads moved off `cpu`, with the mask each was
    /// given: one that has changed since (another run's tracer pinned
    /// itself) is left alone on drop.
    moved: Vec<(Pid, CpuSet)>,
    _slot: Option<Flock<File>>,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = sched_setaffinity(Pid::from_raw(0), &self.former);
        for (tid, given) in &self.moved {
            if let Ok(mut now) = sched_getaffinity(*tid) {
                if now == *given && now.set(self.cpu).is_ok() {
                    let _ = sched_setaffinity(*tid, &now);
                }
            }
        }
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
    let moved = move_others_off(cpu);
    Some(Pinned { cpu, former, moved, _slot: slot })
}

/// Takes `cpu` out of the mask of every other thread of this process that
/// has another CPU to go to; threads they start later inherit that.
fn move_others_off(cpu: usize) -> Vec<(Pid, CpuSet)> {
    let me = nix::unistd::gettid();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    let mut moved = Vec::new();
    for tid in tasks.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()).map(Pid::from_raw) {
        if tid == me {
            continue;
        }
        let Ok(mut mask) = sched_getaffinity(tid) else { continue };
        let others = (0..CpuSet::count()).any(|c| c != cpu && mask.is_set(c).unwrap_or(false));
        if !others || !mask.is_set(cpu).unwrap_or(false) || mask.unset(cpu).is_err() {
            continue;
        }
        if sched_setaffinity(tid, &mask).is_ok() {
            moved.push((tid, mask));
        }
    }
    moved
}

/// How often the tracer looks at who stopped (only when something stops).
const WINDOW: Duration = Duration::from_millis(20);
/// Quiet windows before a task first roams; doubled each time it had to be
/// brought home, up to [`MAX_QUIET`], so a bursty thread does not flap.
const FIRST_QUIET: u32 = 2;
const MAX_QUIET: u32 = 64;
/// Stops in one window that bring a roaming task home.
const HOME_AT: u32 = 2;

/// Where the traced tasks may run: home (the tracer's CPU) while they stop
/// often, anywhere the run may go while they do not. Each task's own state
/// is a [`Place`], kept with the tracer's other state of that task.
#[derive(Debug)]
pub struct Placement {
    home: CpuSet,
    wide: CpuSet,
    window: Instant,
}

/// One task's stops, as [`Placement`] counts them.
#[derive(Debug)]
pub struct Place {
    /// Stops in the current window.
    stops: u32,
    /// Windows in a row without a stop.
    quiet: u32,
    /// Quiet windows it needs to roam.
    needs: u32,
    roaming: bool,
}

impl Default for Place {
    fn default() -> Place {
        Place { stops: 0, quiet: 0, needs: FIRST_QUIET, roaming: false }
    }
}

impl Place {
    /// A task's child starts with its mask.
    pub fn child_of(parent: &Place) -> Place {
        Place { roaming: parent.roaming, ..Place::default() }
    }
}

impl Placement {
    /// For the tasks of a run pinned as `pinned` says.
    pub fn new(pinned: &Pinned) -> Option<Placement> {
        Placement::between(pinned.cpu, pinned.former)
    }

    fn between(cpu: usize, wide: CpuSet) -> Option<Placement> {
        let mut home = CpuSet::new();
        home.set(cpu).ok()?;
        Some(Placement { home, wide, window: Instant::now() })
    }

    /// At every stop of `tid`; a roaming task that stops again is brought
    /// home (the mask takes effect when it is resumed).
    pub fn stopped(&self, tid: i32, place: &mut Place) {
        place.stops += 1;
        if place.roaming && place.stops >= HOME_AT {
            place.roaming = false;
            place.quiet = 0;
            place.needs = (place.needs * 2).min(MAX_QUIET);
            let _ = sched_setaffinity(Pid::from_raw(tid), &self.home);
        }
    }

    /// Whether a window has passed at `now` since the last
    /// [`Placement::review`].
    pub fn review_due(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.window) >= WINDOW
    }

    /// Ends the window at `now`: a task quiet long enough may run anywhere.
    pub fn review<'t>(&mut self, now: Instant, tasks: impl IntoIterator<Item = (i32, &'t mut Place)>) {
        self.window = now;
        for (tid, place) in tasks {
            place.quiet = if place.stops == 0 { place.quiet + 1 } else { 0 };
            place.stops = 0;
            if !place.roaming && place.quiet >= place.needs && sched_setaffinity(Pid::from_raw(tid), &self.wide).is_ok()
            {
                place.roaming = true;
            }
        }
    }
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

    #[test]
    fn the_other_threads_leave_the_pinned_cpu_and_get_it_back_after() {
        let (other, end, handle) = idle_thread();
        let before = mask(other);
        let allowed = (0..CpuSet::count()).filter(|&c| before.is_set(c).unwrap()).count();
        let Some(pinned) = pin() else {
            assert!(allowed < 2, "pinning fails only with one CPU");
            return;
        };
        let during = mask(other);
        assert!(!during.is_set(pinned.cpu).unwrap(), "the analyzer's thread is off the tracer's CPU");
        assert!((0..CpuSet::count()).any(|c| during.is_set(c).unwrap()));
        drop(pinned);
        assert_eq!(mask(other), before);
        end.send(()).unwrap();
        handle.join().unwrap();
    }

    /// A thread of this test process that does nothing until told to end,
    /// and its tid.
    fn idle_thread() -> (i32, std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (end_tx, end_rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
            let _ = end_rx.recv();
        });
        (tid_rx.recv().unwrap(), end_tx, handle)
    }

    fn mask(tid: i32) -> CpuSet {
        sched_getaffinity(Pid::from_raw(tid)).unwrap()
    }

    #[test]
    fn a_task_that_stops_rarely_roams_and_comes_home_when_it_stops_again() {
        let wide = sched_getaffinity(Pid::from_raw(0)).unwrap();
        let cpu = (0..CpuSet::count()).find(|&c| wide.is_set(c).unwrap()).unwrap();
        let mut home = CpuSet::new();
        home.set(cpu).unwrap();
        let (busy, end_busy, h1) = idle_thread();
        let (quiet, end_quiet, h2) = idle_thread();
        // Both start at home, as a traced command does.
        for tid in [busy, quiet] {
            sched_setaffinity(Pid::from_raw(tid), &home).unwrap();
        }
        let mut p = Placement::between(cpu, wide).unwrap();
        // As the tracer keeps them: each task's place, looked at together
        // once a window has passed.
        let mut tasks = vec![(busy, Place::default()), (quiet, Place::default())];
        let stop = |p: &mut Placement, tasks: &mut [(i32, Place)], i: usize| {
            let (tid, place) = &mut tasks[i];
            p.stopped(*tid, place);
            let now = Instant::now();
            if p.review_due(now) {
                p.review(now, tasks.iter_mut().map(|(tid, place)| (*tid, place)));
            }
        };
        // `busy` stops in every window; `quiet` never does.
        for _ in 0..FIRST_QUIET + 1 {
            std::thread::sleep(WINDOW + Duration::from_millis(5));
            stop(&mut p, &mut tasks, 0);
        }
        assert!(!tasks[0].1.roaming);
        assert_eq!(mask(busy), home, "a task that keeps stopping stays home");
        assert!(tasks[1].1.roaming);
        assert_eq!(mask(quiet), wide, "a quiet task may run anywhere the run may");
        // One stop does not bring it home; a second in the same window does.
        stop(&mut p, &mut tasks, 1);
        assert!(tasks[1].1.roaming);
        stop(&mut p, &mut tasks, 1);
        assert!(!tasks[1].1.roaming);
        assert_eq!(mask(quiet), home);
        // It must now be quiet twice as long before it roams again.
        for _ in 0..FIRST_QUIET + 1 {
            std::thread::sleep(WINDOW + Duration::from_millis(5));
            stop(&mut p, &mut tasks, 0);
        }
        assert!(!tasks[1].1.roaming, "not after {} quiet windows once brought home", FIRST_QUIET);
        // A child starts with its parent's mask: roaming or home.
        tasks[0].1.roaming = true;
        assert!(Place::child_of(&tasks[0].1).roaming);
        assert!(!Place::child_of(&tasks[1].1).roaming);
        for end in [end_busy, end_quiet] {
            end.send(()).unwrap();
        }
        h1.join().unwrap();
        h2.join().unwrap();
    }
}
