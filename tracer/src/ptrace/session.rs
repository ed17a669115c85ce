//! One traced run: start the command under ptrace with the seccomp filter,
//! follow every task it creates, turn stops into events, and make sure no
//! task outlives the run.
//!
//! Start-up (TRACER-NOTES: `raise(SIGSTOP)` inside `Command::pre_exec`
//! hangs `spawn`): fork; the child stops itself; the parent waits for the
//! stop, `PTRACE_SEIZE`s with options, sends SIGCONT; the child installs the
//! filter and execs. The filter is installed only after the seize, because
//! `SECCOMP_RET_TRACE` without a tracer fails the call with ENOSYS.
//!
//! Stops, and how each is resumed ("man 2 ptrace"):
//! - seccomp stop (`PTRACE_EVENT_SECCOMP`): decode the call; resume with
//!   PTRACE_SYSCALL when its result is needed ("the next stop is
//!   syscall-exit-stop"), else PTRACE_CONT;
//! - syscall-exit-stop (`SIGTRAP|0x80`): fill in the result, CONT;
//! - fork/vfork/clone events: the new task's id from GETEVENTMSG. A new
//!   task's own first stop may come before its parent's event (`__WALL`);
//!   it is kept stopped until the parent's event names it, so a Spawn always
//!   precedes the child's first event;
//! - exec event: GETEVENTMSG gives the former tid (exec from a non-leader
//!   thread: the exec completes under the leader's pid);
//! - `PTRACE_EVENT_STOP` with a stop signal is a group-stop: resume with
//!   PTRACE_LISTEN, "or job control breaks";
//! - any other stop is a signal-delivery-stop: re-inject the signal.

use std::collections::HashMap;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use event::{Event, EventKind, Origin, SysResult};

use super::decode::{entry, exec_started, finish, io_uring_setup_args, set_result, sys_result, Ctx, FdPaths};
use super::redirect::{self, Restore};
use super::seccomp::{self, Policy, Refusal, DATA_DENY, DATA_EXIT, DATA_FOREIGN};
use super::sys::{self as raw, OP_EXIT, OP_SECCOMP};
use super::syscalls;
use super::FastMap;
use crate::interest::Interest;

const PTRACE_EVENT_STOP: i32 = 128;

/// Exit status of a child whose sandbox could not be built.
pub const SANDBOX_FAILED: i32 = 126;

/// Events handed over at once at most (while the tracer stays busy).
const BATCH: usize = 256;
/// A batch older than this is handed over before the next wait. Each
/// handover wakes the analyzer's thread, which costs the tracer some 40 µs
/// when that thread's CPU is idle (an IPI, in a VM an exit): handing over
/// cost the tracer 7.7 ms of CPU per 1,000 iterations of a shell loop at
/// 5 ms, about 4 at 20 ms. `--follow` hands over every event at once
/// instead ([`Options::flush_each`]).
const FLUSH_AFTER: Duration = Duration::from_millis(20);

/// How to run the traced command.
#[derive(Clone, Debug)]
pub struct Options {
    pub argv: Vec<OsString>,
    /// Kill everything when the run takes longer than this.
    pub timeout: Option<Duration>,
    /// After the command itself exits, how long processes it left behind
    /// (daemons) may go on before they are killed.
    pub linger: Duration,
    /// Hand every event over as soon as it happens (for printing findings
    /// as they happen), instead of in batches.
    pub flush_each: bool,
    /// Build a sandbox around the command before it starts (see
    /// [`super::ChildHook`]); the command then gets the sandbox's environment.
    pub sandbox: Option<std::sync::Arc<dyn super::ChildHook>>,
    /// The PATH to find the command on (default: pkgtrace's own).
    pub path: Option<String>,
    /// Route the run's internet traffic somewhere else (the sandbox's
    /// sinks; see [`super::redirect`]).
    pub redirect: Option<std::sync::Arc<dyn super::Redirect>>,
    /// Which results the analysis reads ([`super::wanted`]); None: all.
    pub results: Option<super::Wanted>,
    /// `cgroup.procs` files of the run's cgroups (one per hierarchy): the
    /// run's first process joins them before anything runs, so everything
    /// the run starts is in them. The first one is also searched, before
    /// the run is killed, for processes the tracer does not trace.
    pub cgroup_procs: Vec<PathBuf>,
    /// Run the command without tracing (benchmarks: the cost of tracing).
    pub untraced: bool,
    /// Send the command's standard output to standard error (so a report
    /// on standard output is not mixed with the command's output).
    pub stdout_to_stderr: bool,
    /// Let the command run on every CPU pkgtrace may use, instead of on
    /// the tracer's one ([`super::cpu`]: stops are far cheaper then, but
    /// the command's own work no longer runs in parallel).
    pub all_cpus: bool,
    /// Told (or dropped) once the tracer has taken its CPU and moved
    /// pkgtrace's other threads off it. A caller about to compute on its
    /// own thread (the rule pack) waits for it first: this VM's scheduler
    /// packs a new thread onto its creator's CPU, so the tracer would
    /// otherwise wait for that computation's time slices before it even
    /// starts (measured: up to 20 ms before the command's first exec).
    pub placed: Option<std::sync::mpsc::Sender<()>>,
}

pub use event::{Outcome, Untraced};

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("command not found: {0}")]
    NotFound(String),
    #[error("empty command")]
    Empty,
    #[error("failed to build the sandbox: {0}")]
    Sandbox(String),
    #[error("failed to {what}: {cause}")]
    Os { what: &'static str, cause: std::io::Error },
}

fn os(what: &'static str) -> impl FnOnce(std::io::Error) -> TraceError {
    move |source| TraceError::Os { what, cause: source }
}

/// Why the watchdog killed the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Timeout,
    Interrupt,
    Linger,
}

/// State shared with the watchdog thread.
struct Shared {
    live: Mutex<Vec<i32>>,
    deadline: Mutex<Option<(Instant, Reason)>>,
    fired: Mutex<Option<Reason>>,
    done: AtomicBool,
    /// The run's cgroup.procs, searched for untraced processes.
    cgroup_procs: Option<PathBuf>,
    untraced: Mutex<Vec<Untraced>>,
    /// The tracing thread's id: a traced task's `TracerPid`.
    tracer_tid: String,
}

impl Shared {
    /// Records every process (or thread) in the run's cgroup that this
    /// tracer does not trace. Exact, unlike comparing with the tasks the
    /// loop knows: a task forked a moment ago is already traced (the kernel
    /// attaches it at fork) even before its event is read.
    fn sweep(&self) {
        let Some(procs) = &self.cgroup_procs else { return };
        let me = self.tracer_tid.as_str();
        let Ok(list) = std::fs::read_to_string(procs) else { return };
        let mut untraced = self.untraced.lock().unwrap_or_else(|e| e.into_inner());
        for pid in list.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten();
            for task in tasks {
                let Ok(status) = std::fs::read_to_string(task.path().join("status")) else { continue };
                let tracer = status.lines().find_map(|l| l.strip_prefix("TracerPid:")).map(str::trim);
                let zombie = status.lines().any(|l| l.starts_with("State:") && l.contains('Z'));
                if tracer != Some(me) && !zombie && !untraced.iter().any(|u| u.pid == pid) {
                    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let mut command: String =
                        String::from_utf8_lossy(&cmdline).split('\0').collect::<Vec<_>>().join(" ").trim().to_string();
                    if command.is_empty() {
                        command = status.lines().find_map(|l| l.strip_prefix("Name:")).unwrap_or("").trim().to_string();
                    }
                    untraced.push(Untraced { pid, command });
                }
            }
        }
    }
}

/// Per-task state.
#[derive(Default)]
struct Task {
    /// Its first stop has been seen and it was let run.
    started: bool,
    /// Its first stop came before its parent's event named it.
    waiting: bool,
    /// The call stopped at entry whose result is awaited, with its arguments.
    pending: Option<(EventKind, [u64; 6])>,
    /// This task is a thread (not a process).
    thread: bool,
    /// A process: how many traced threads besides this one it has now.
    threads: u32,
    /// The process whose fd table this task uses (itself, or its leader).
    owner: i32,
    /// The call stopped at entry was rerouted: what to put back at exit.
    restore: Option<Restore>,
    /// Where it may run ([`super::cpu::Placement`]).
    place: super::cpu::Place,
    /// It shares its fd table with a process (`CLONE_FILES` without
    /// `CLONE_THREAD`; threads are told by `thread` and `threads`).
    shares_files: bool,
}

/// Finds `cmd` on PATH the way execvp would.
fn resolve(cmd: &OsString, path: Option<&str>) -> Result<PathBuf, TraceError> {
    let p = Path::new(cmd);
    if cmd.as_bytes().contains(&b'/') {
        // A relative path is relative to the command's own working
        // directory (inside a sandbox, not ours): exec will tell.
        return if p.is_relative() || p.exists() {
            Ok(p.to_path_buf())
        } else {
            Err(TraceError::NotFound(p.display().to_string()))
        };
    }
    let path = match path {
        Some(p) => p.into(),
        None => std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
    };
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(p);
        if let Ok(meta) = candidate.metadata() {
            use std::os::unix::fs::PermissionsExt;
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(TraceError::NotFound(cmd.to_string_lossy().into_owned()))
}

/// Event times from one monotonic clock read per stop: the wall-clock time
/// at the start plus the time elapsed since (the clock reads were 5% of
/// the tracer's own CPU time on a shell loop; see [`Loop::now`]).
struct Clock {
    start: Instant,
    start_ns: u64,
}

impl Clock {
    fn new() -> Clock {
        let start_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        Clock { start: Instant::now(), start_ns }
    }
    /// The wall-clock time, in ns since the epoch, of `at`.
    fn ns(&self, at: Instant) -> u64 {
        self.start_ns + at.saturating_duration_since(self.start).as_nanos() as u64
    }
}

/// Runs `opts.argv` traced, handing events to `emit` as they happen: in
/// batches while the tracee keeps the tracer busy, at once whenever the
/// tracer is about to wait (so nothing is held back while all is quiet).
pub fn trace(opts: &Options, mut emit: impl FnMut(Vec<Event>)) -> Result<Outcome, TraceError> {
    let first = opts.argv.first().ok_or(TraceError::Empty)?;
    let exe = resolve(first, opts.path.as_deref())?;
    // Everything the child needs is built before fork: after it, only
    // async-signal-safe calls.
    let c_exe =
        CString::new(exe.as_os_str().as_bytes()).map_err(|_| TraceError::NotFound(exe.display().to_string()))?;
    let c_args: Vec<CString> = opts
        .argv
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| TraceError::NotFound(a.to_string_lossy().into_owned())))
        .collect::<Result<_, _>>()?;
    let mut c_argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    c_argv.push(std::ptr::null());
    let c_env: Option<Vec<*const libc::c_char>> = opts.sandbox.as_ref().map(|s| {
        let mut v: Vec<*const libc::c_char> = s.env().iter().map(|e| e.as_ptr()).collect();
        v.push(std::ptr::null());
        v
    });
    let policy = if opts.sandbox.is_some() { Policy::Refuse } else { Policy::Observe };
    let decisions = seccomp::Decisions::new(syscalls::table(), policy);

    let started = Instant::now();
    // Before the fork: the command inherits the tracer's CPU. Held until
    // the run is over (then this thread may run anywhere again).
    let pinned = (!opts.untraced && !opts.all_cpus).then(super::cpu::pin).flatten();
    let placement = pinned.as_ref().and_then(super::cpu::Placement::new);
    if let Some(placed) = &opts.placed {
        let _ = placed.send(());
    }
    if let Some(setup) = &opts.sandbox {
        let env = c_env.as_deref().unwrap_or(&[std::ptr::null()]);
        return sandboxed(opts, setup.as_ref(), (&c_exe, &c_argv, env), &decisions, started, placement, &mut emit);
    }
    let child = raw::fork().map_err(os("fork"))?;
    if child == 0 {
        if opts.stdout_to_stderr {
            raw::stdout_to_stderr();
        }
        if opts.untraced {
            raw::exec_or_die(&c_exe, &c_argv);
        }
        raw::stop_self();
        if raw::install_filter(decisions.program()).is_err() {
            // SAFETY-free exit path: a distinct status the parent reports.
            raw::exec_or_die(c"/nonexistent/seccomp-failed", &[std::ptr::null()]);
        }
        raw::exec_or_die(&c_exe, &c_argv);
    }
    if opts.untraced {
        // Benchmarks only: the command without ptrace, to measure what
        // tracing costs. Only the command itself is waited for.
        let status = raw::wait_stopped(child).map_err(os("wait for the command"))?;
        return Ok(untraced_outcome(status, started));
    }
    let status = raw::wait_stopped(child).map_err(os("wait for the command to start"))?;
    if !libc::WIFSTOPPED(status) {
        return Err(TraceError::Os { what: "start the command", cause: std::io::Error::other("it did not stop") });
    }
    if let Err(e) = raw::seize(child, TRACE_OPTIONS) {
        let _ = raw::kill(child, libc::SIGKILL);
        return Err(TraceError::Os {
            what: "attach with ptrace (is ptrace allowed? see kernel.yama.ptrace_scope)",
            cause: e,
        });
    }
    raw::kill(child, libc::SIGCONT).map_err(os("continue the command"))?;
    follow(opts, child, None, &decisions, started, placement, &mut emit)
}

const TRACE_OPTIONS: libc::c_int = libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_EXITKILL;

fn untraced_outcome(status: i32, started: Instant) -> Outcome {
    let mut outcome = Outcome { wall_ms: started.elapsed().as_millis() as u64, ..Outcome::default() };
    if libc::WIFEXITED(status) {
        outcome.exit_code = Some(libc::WEXITSTATUS(status));
    } else if libc::WIFSIGNALED(status) {
        outcome.signal = Some(signal_name(libc::WTERMSIG(status)));
    }
    outcome
}

/// The namespaces the sandbox's init is cloned into.
const SANDBOX_NAMESPACES: libc::c_ulong =
    (libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS) as libc::c_ulong;

/// Pipe ends the parent closes when it is done with them.
struct Fds(Vec<i32>);

impl Drop for Fds {
    fn drop(&mut self) {
        for fd in self.0.drain(..) {
            raw::close(fd);
        }
    }
}

/// The sandboxed start (see [`super::ChildHook`]): pkgtrace's init is cloned
/// into new PID, mount, IPC and UTS namespaces and seized at once; it waits
/// for a byte on a pipe (sent once it is traced), builds the sandbox,
/// forks the command — traced from birth through PTRACE_O_TRACEFORK — and
/// reaps orphans until none is left. The init is not package code: its
/// own events are not reported, the command is the run's root.
fn sandboxed(
    opts: &Options,
    setup: &dyn super::ChildHook,
    (exe, argv, env): (&std::ffi::CStr, &[*const libc::c_char], &[*const libc::c_char]),
    decisions: &seccomp::Decisions,
    started: Instant,
    placement: Option<super::cpu::Placement>,
    emit: &mut impl FnMut(Vec<Event>),
) -> Result<Outcome, TraceError> {
    let (ready_r, ready_w) = raw::pipe().map_err(os("create a pipe"))?;
    let (err_r, err_w) = raw::pipe().map_err(os("create a pipe"))?;
    let init = match raw::clone_fork(SANDBOX_NAMESPACES) {
        Ok(pid) => pid,
        Err(e) => {
            for fd in [ready_r, ready_w, err_r, err_w] {
                raw::close(fd);
            }
            return Err(TraceError::Os { what: "create the sandbox's PID, mount, IPC and UTS namespaces", cause: e });
        }
    };
    if init == 0 {
        raw::close(ready_w);
        raw::close(err_r);
        // Not before it is in the run's cgroup (its cgroup namespace is
        // made there) and, when traced, seized.
        let mut byte = [0u8; 1];
        if !matches!(raw::read(ready_r, &mut byte), Ok(1)) {
            raw::exit(SANDBOX_FAILED);
        }
        raw::close(ready_r);
        init_main(setup, !opts.untraced, (exe, argv, env), decisions.program(), err_w);
    }
    raw::close(ready_r);
    raw::close(err_w);
    let mut fds = Fds(vec![ready_w, err_r]);
    for procs in &opts.cgroup_procs {
        if let Err(e) = std::fs::write(procs, init.to_string()) {
            let _ = raw::kill(init, libc::SIGKILL);
            let _ = raw::wait_stopped(init);
            return Err(TraceError::Os { what: "put the run into its cgroup", cause: e });
        }
    }
    let failed_step = |fds: &mut Fds| -> Option<String> {
        raw::close(fds.0.remove(0));
        let mut buf = [0u8; 512];
        let n = raw::read(fds.0[0], &mut buf).unwrap_or(0);
        (n > 4).then(|| {
            let errno = i32::from_le_bytes([buf[n - 4], buf[n - 3], buf[n - 2], buf[n - 1]]);
            let step = String::from_utf8_lossy(&buf[..n - 4]);
            format!("{step}: {}", std::io::Error::from_raw_os_error(errno))
        })
    };
    if opts.untraced {
        raw::write_all(ready_w, b"go");
        let status = raw::wait_stopped(init).map_err(os("wait for the command"))?;
        if let Some(step) = failed_step(&mut fds) {
            return Err(TraceError::Sandbox(step));
        }
        return Ok(untraced_outcome(status, started));
    }
    if let Err(e) = raw::seize(init, TRACE_OPTIONS) {
        let _ = raw::kill(init, libc::SIGKILL);
        let _ = raw::wait_stopped(init);
        return Err(TraceError::Os {
            what: "attach with ptrace (is ptrace allowed? see kernel.yama.ptrace_scope)",
            cause: e,
        });
    }
    raw::write_all(ready_w, b"go");
    let outcome = follow(opts, init, Some(init), decisions, started, placement, emit);
    // Every process of the run is gone: the pipe's write ends are closed.
    if let Some(step) = failed_step(&mut fds) {
        return Err(TraceError::Sandbox(step));
    }
    outcome
}

/// The sandbox's init, PID 1 of its namespaces. Never returns.
fn init_main(
    setup: &dyn super::ChildHook,
    traced: bool,
    (exe, argv, env): (&std::ffi::CStr, &[*const libc::c_char], &[*const libc::c_char]),
    program: &[seccomp::Insn],
    err_w: i32,
) -> ! {
    // The failed step and errno go to the tracer, which says which.
    let fail = |step: &str| -> ! {
        let errno = raw::errno();
        raw::write_all(err_w, step.as_bytes());
        raw::write_all(err_w, &errno.to_le_bytes());
        raw::exit(SANDBOX_FAILED)
    };
    if let Err(step) = setup.in_init() {
        fail(step);
    }
    let command = match raw::clone_fork(0) {
        Ok(pid) => pid,
        Err(_) => fail("fork the command"),
    };
    if command == 0 {
        if let Err(step) = setup.in_command() {
            fail(step);
        }
        if traced && raw::install_filter(program).is_err() {
            fail("install the seccomp filter");
        }
        raw::close_inherited();
        raw::exec_env_or_die(exe, argv, env);
    }
    raw::close(err_w);
    // Reap the command and every orphan until none is left; the tracer
    // kills this process (and so the whole namespace) at the end.
    let mut code = 0;
    while let Ok(Some((pid, status))) = raw::wait_any() {
        if pid == command {
            code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
        }
    }
    raw::exit(code)
}

/// Follows the run from its first (seized) process until every traced task
/// has ended. `init`: the sandbox's init, whose own events are not the
/// package's; the command it forks is the root.
fn follow(
    opts: &Options,
    child: i32,
    init: Option<i32>,
    decisions: &seccomp::Decisions,
    started: Instant,
    placement: Option<super::cpu::Placement>,
    emit: &mut impl FnMut(Vec<Event>),
) -> Result<Outcome, TraceError> {
    let shared = Arc::new(Shared {
        live: Mutex::new(vec![child]),
        deadline: Mutex::new(opts.timeout.map(|t| (Instant::now() + t, Reason::Timeout))),
        fired: Mutex::new(None),
        done: AtomicBool::new(false),
        cgroup_procs: opts.cgroup_procs.first().cloned(),
        untraced: Mutex::new(Vec::new()),
        tracer_tid: std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
    });
    let _handlers = raw::InterruptHandlers::install();
    let watchdog = {
        let shared = shared.clone();
        thread::spawn(move || watchdog(&shared))
    };

    let mut looper = Loop {
        batch: Vec::with_capacity(BATCH),
        first_exec: None,
        last_flush: Instant::now(),
        clock: Clock::new(),
        now: Instant::now(),
        flush_each: opts.flush_each,
        tasks: FastMap::default(),
        fd_paths: FdPaths::default(),
        root: if init.is_some() { 0 } else { child },
        init,
        ns_pids: init.map(|i| HashMap::from([(1, i)])),
        seq: 0,
        outcome: Outcome::default(),
        emit,
        redirect: opts.redirect.clone(),
        results: opts.results.clone(),
        placement,
        decisions,
        steered: Vec::new(),
    };
    looper.tasks.insert(child, Task { started: true, owner: child, ..Task::default() });
    let result = looper.run(&shared, opts.linger);
    // What tracing cost this thread (`PKGTRACE_LOG=tracer=debug`): every
    // microsecond of it is spent while a tracee waits.
    if let Ok(usage) = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_THREAD) {
        let ms = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1e3 + t.tv_usec() as f64 / 1e3;
        tracing::debug!(
            stops = looper.outcome.stops,
            cpu_ms = ms(usage.user_time()) + ms(usage.system_time()),
            "tracer thread done"
        );
    }
    shared.done.store(true, Ordering::SeqCst);
    // Wake it from its nap: the run is over now, not up to 20 ms later.
    watchdog.thread().unpark();
    let _ = watchdog.join();
    let mut outcome = std::mem::take(&mut looper.outcome);
    result?;
    outcome.wall_ms = started.elapsed().as_millis() as u64;
    outcome.setup_ms = looper.first_exec.map(|t| t.duration_since(started).as_millis() as u64).unwrap_or(0);
    outcome.untraced = std::mem::take(&mut *shared.untraced.lock().unwrap_or_else(|e| e.into_inner()));
    match *shared.fired.lock().unwrap_or_else(|e| e.into_inner()) {
        Some(Reason::Timeout) => outcome.timed_out = true,
        Some(Reason::Interrupt) => outcome.interrupted = true,
        Some(Reason::Linger) | None => {}
    }
    Ok(outcome)
}

/// Kills every live task when the deadline passes or pkgtrace is
/// interrupted, and keeps killing until the loop has seen them all end
/// (tasks forked in the meantime included).
fn watchdog(shared: &Shared) {
    let mut swept = false;
    while !shared.done.load(Ordering::SeqCst) {
        thread::park_timeout(Duration::from_millis(20));
        if shared.done.load(Ordering::SeqCst) {
            break;
        }
        let mut fired = shared.fired.lock().unwrap_or_else(|e| e.into_inner());
        if fired.is_none() {
            if raw::interrupted() {
                *fired = Some(Reason::Interrupt);
            } else if let Some((at, reason)) = *shared.deadline.lock().unwrap_or_else(|e| e.into_inner()) {
                if Instant::now() >= at {
                    *fired = Some(reason);
                }
            }
        }
        if fired.is_some() {
            if !swept {
                // Before anything is killed: is every process of the run traced?
                swept = true;
                shared.sweep();
            }
            for &pid in shared.live.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                let _ = raw::kill(pid, libc::SIGKILL);
            }
        }
    }
}

struct Loop<'e, F: FnMut(Vec<Event>)> {
    batch: Vec<Event>,
    /// When the first execve stopped (the sandbox was built by then).
    first_exec: Option<Instant>,
    last_flush: Instant,
    clock: Clock,
    /// When the stop being handled was seen: the one clock read per stop.
    now: Instant,
    flush_each: bool,
    tasks: FastMap<i32, Task>,
    fd_paths: FdPaths,
    /// The run's root: the command (0 until the sandbox's init forked it).
    root: i32,
    /// The sandbox's init (not package code: its events are not reported).
    init: Option<i32>,
    /// In a sandbox: pid inside its PID namespace → pid here. Signals and
    /// /proc paths name pids as the package sees them; events carry ours.
    ns_pids: Option<HashMap<i32, i32>>,
    seq: u64,
    outcome: Outcome,
    emit: &'e mut F,
    redirect: Option<Arc<dyn super::Redirect>>,
    results: Option<super::Wanted>,
    /// Which tasks roam off the tracer's CPU (None: not pinned).
    placement: Option<super::cpu::Placement>,
    /// What the tracer's own filter returns for a call.
    decisions: &'e seccomp::Decisions,
    /// Processes reported for stops their own seccomp filter made.
    steered: Vec<i32>,
}

/// `/proc/<n>` at the start of a path, with `n` mapped: the same path with
/// the mapped pid.
fn translate_proc_path(path: &mut crate::Bytes, map: &HashMap<i32, i32>) {
    let bytes = &path.0;
    let Some(rest) = bytes.strip_prefix(b"/proc/") else { return };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || !(rest.len() == digits || rest[digits] == b'/') {
        return;
    }
    let Some(host) =
        std::str::from_utf8(&rest[..digits]).ok().and_then(|d| d.parse().ok()).and_then(|n: i32| map.get(&n))
    else {
        return;
    };
    let mut out = format!("/proc/{host}").into_bytes();
    out.extend_from_slice(&rest[digits..]);
    path.0 = out;
}

impl<F: FnMut(Vec<Event>)> Loop<'_, F> {
    fn run(&mut self, shared: &Shared, linger: Duration) -> Result<(), TraceError> {
        loop {
            // Events are handed over in batches; a batch older than
            // FLUSH_AFTER goes out before the next wait, so the analyzer
            // never lags far behind a busy tracee. The last stop's time
            // stands for now (a few µs old at most: no second clock read).
            if !self.batch.is_empty() && (self.flush_each || self.now.duration_since(self.last_flush) >= FLUSH_AFTER) {
                self.flush();
            }
            let Some((pid, status)) = raw::wait_any().map_err(os("wait for traced processes"))? else { break };
            self.now = Instant::now();
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                self.ended(pid, status, shared, linger);
                continue;
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            self.outcome.stops += 1;
            if let Some(p) = &mut self.placement {
                if let Some(task) = self.tasks.get_mut(&pid) {
                    p.stopped(pid, &mut task.place);
                }
                if p.review_due(self.now) {
                    p.review(self.now, self.tasks.iter_mut().map(|(&tid, t)| (tid, &mut t.place)));
                }
            }
            let sig = libc::WSTOPSIG(status);
            let event = status >> 16;
            // A bug in decoding one stop (a tracee controls what is decoded)
            // costs that stop's event, not the run: the task is resumed and
            // the stop reported as not understood.
            let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.stop(pid, event, sig, shared)));
            if let Err(panic) = handled {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let text = format!("stop {event} of task {pid}").into_bytes().into();
                self.push(pid, EventKind::Unparsed { text, reason: format!("the tracer failed on it: {what}") });
                if let Some(t) = self.tasks.get_mut(&pid) {
                    (t.pending, t.restore) = (None, None);
                }
                let _ = raw::cont(pid, 0);
            }
            if self.batch.len() >= BATCH {
                self.flush();
            }
        }
        self.flush();
        Ok(())
    }

    /// Handles one stop of `pid`. A resume that fails with ESRCH means the
    /// task died meanwhile (SIGKILL): its exit is reported by the next wait.
    fn stop(&mut self, pid: i32, event: i32, sig: i32, shared: &Shared) {
        let _ = match event {
            libc::PTRACE_EVENT_SECCOMP => self.seccomp_stop(pid),
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                self.spawned(pid, event, shared)
            }
            libc::PTRACE_EVENT_EXEC => self.exec_event(pid),
            PTRACE_EVENT_STOP => self.stop_event(pid, sig),
            0 if sig == (libc::SIGTRAP | 0x80) => self.exit_stop(pid),
            0 => {
                self.push(pid, EventKind::Signal { signal: signal_name(sig), stopped: false });
                raw::cont(pid, sig)
            }
            _ => raw::cont(pid, 0),
        };
    }

    fn flush(&mut self) {
        self.last_flush = self.now;
        if !self.batch.is_empty() {
            // A full-size batch each time: no growing it event by event.
            (self.emit)(std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH)));
        }
    }

    /// The task and the process owning its fd table.
    fn ctx(&self, pid: i32) -> Ctx {
        let task = self.tasks.get(&pid);
        let owner = task.map(|t| t.owner).filter(|o| *o != 0).unwrap_or(pid);
        let alone = task.is_some_and(|t| !t.thread && t.threads == 0 && !t.shares_files);
        Ctx { pid, owner, alone }
    }

    /// Whether the analysis reads this call's result ([`super::wanted`]).
    fn result_wanted(&self, kind: &EventKind, args: &[u64; 6]) -> bool {
        match kind {
            EventKind::Open { syscall, path, dirfd, .. } if syscall == "openat" => super::wanted::open_result(
                self.results.as_ref(),
                path.as_slice(),
                args[2] as i32,
                dirfd.as_ref().and_then(|d| d.path.as_ref()).map(|p| p.as_slice()),
            ),
            EventKind::Probe { path, dirfd, .. } => super::wanted::probe_result(
                self.results.as_ref(),
                path.as_slice(),
                dirfd.as_ref().and_then(|d| d.path.as_ref()).map(|p| p.as_slice()),
            ),
            _ => true,
        }
    }

    fn push(&mut self, pid: i32, mut kind: EventKind) {
        if Some(pid) == self.init {
            return;
        }
        if let Some(map) = &self.ns_pids {
            match &mut kind {
                EventKind::Kill { target, .. } if *target > 0 => {
                    *target = map.get(target).copied().unwrap_or(*target);
                }
                // A process group is named by its leader's pid.
                EventKind::Kill { target, .. } if *target < -1 => {
                    *target = -map.get(&-*target).copied().unwrap_or(-*target);
                }
                EventKind::Ptrace { target: Some(target), .. } if *target > 0 => {
                    *target = map.get(target).copied().unwrap_or(*target);
                }
                EventKind::Open { path, resolved, .. } => {
                    translate_proc_path(path, map);
                    if let Some(r) = resolved {
                        translate_proc_path(r, map);
                    }
                }
                EventKind::Probe { path, .. } => translate_proc_path(path, map),
                _ => {}
            }
        }
        let ev = Event {
            seq: self.seq,
            pid,
            time_ns: Some(self.clock.ns(self.now)),
            duration_ns: None,
            origin: Origin::Live,
            kind,
        };
        self.seq += 1;
        self.batch.push(ev);
    }

    fn seccomp_stop(&mut self, pid: i32) -> std::io::Result<()> {
        let info = match raw::syscall_info(pid) {
            Ok(i) if i.op == OP_SECCOMP => i,
            _ => return raw::cont(pid, 0),
        };
        // The data is what the tracer's own filter says, whatever the stop
        // carries ([`seccomp::Decisions`]).
        let ours = self.decisions.of(info.arch, info.nr, info.args);
        let data = (ours & 0xffff) as u16;
        if !seccomp::stops(ours) || u32::from(data) != info.ret_data & 0xffff {
            self.steered(pid, &info, ours);
            if !seccomp::stops(ours) {
                return raw::cont(pid, 0);
            }
        }
        if data & DATA_DENY != 0 {
            let refusal = Refusal::from_data(data).unwrap_or(Refusal::ForeignAbi);
            let syscall = if data & DATA_FOREIGN != 0 {
                foreign_name(info.arch, info.nr)
            } else {
                refused_name(info.nr as i64).to_string()
            };
            let errno = refusal.errno();
            let errno_name = sys_result(-i64::from(errno), true).errno.unwrap_or_default();
            // What a rule tells a runtime's ring from another by.
            let args = if syscall == "io_uring_setup" {
                io_uring_setup_args(pid, info.args[0], info.args[1])
            } else {
                String::new()
            };
            let what = refusal.what().to_string();
            self.push(pid, EventKind::Denied { syscall, what, errno: errno_name, args });
            raw::skip_syscall(pid, errno)?;
            return raw::cont(pid, 0);
        }
        if data & DATA_FOREIGN != 0 {
            let kind = EventKind::Other {
                syscall: "foreign_abi".into(),
                args: format!("{}, {:x?}", foreign_name(info.arch, info.nr), info.args),
                result: SysResult::unknown(),
            };
            self.push(pid, kind);
            return raw::cont(pid, 0);
        }
        let Some(sys) = syscalls::lookup(info.nr as i64) else { return raw::cont(pid, 0) };
        let cx = self.ctx(pid);
        if self.first_exec.is_none() && sys.interest == crate::strace::decode::Interest::Exec {
            self.first_exec = Some(self.now);
        }
        let kind = entry(sys, cx, &mut self.fd_paths, info.args);
        self.report_closes(pid);
        let Some(kind) = kind else { return raw::cont(pid, 0) };
        // The event above has the destination the task asked for; the call
        // goes where the redirect says.
        let restore = match (&self.redirect, sys.interest) {
            (Some(r), Interest::Connect | Interest::Send) => {
                redirect::reroute(pid, sys.name, info.args, info.stack_pointer, r.as_ref())
            }
            _ => None,
        };
        if (data & DATA_EXIT != 0 && self.result_wanted(&kind, &info.args)) || restore.is_some() {
            let task = self.tasks.entry(pid).or_default();
            task.pending = Some((kind, info.args));
            task.restore = restore;
            raw::syscall(pid, 0)
        } else {
            self.push(pid, kind);
            raw::cont(pid, 0)
        }
    }

    /// A stop the task's own seccomp filter made, or whose data it chose:
    /// reported once per process, as what it is, an attempt to steer the
    /// tracer (hide calls as foreign-ABI ones, drop their results).
    fn steered(&mut self, pid: i32, info: &raw::SyscallInfo, ours: u32) {
        let owner = self.ctx(pid).owner;
        if self.steered.contains(&owner) {
            return;
        }
        self.steered.push(owner);
        let call = match syscalls::lookup(info.nr as i64) {
            _ if !seccomp::native(info.arch, info.nr) => foreign_name(info.arch, info.nr),
            Some(sys) => sys.name.to_string(),
            None => format!("syscall {}", info.nr),
        };
        let theirs = info.ret_data & 0xffff;
        let args = if seccomp::stops(ours) {
            format!(
                "{call}: a filter of the task's returned SECCOMP_RET_TRACE with data {theirs:#x}, the tracer's {:#x}",
                ours & 0xffff
            )
        } else {
            format!("{call}: a filter of the task's returned SECCOMP_RET_TRACE (data {theirs:#x}) for a call the tracer's lets through")
        };
        self.push(pid, EventKind::Other { syscall: "seccomp_ret_trace".into(), args, result: SysResult::unknown() });
    }

    /// Closes the filter let through, found out by the call just decoded:
    /// reported before its event, as a strace log would show them.
    fn report_closes(&mut self, pid: i32) {
        for fd in std::mem::take(&mut self.fd_paths.closed) {
            self.push(pid, EventKind::Close { fd: crate::Fd::new(fd), result: SysResult::ok(0) });
        }
    }

    fn exit_stop(&mut self, pid: i32) -> std::io::Result<()> {
        let (pending, restore) =
            self.tasks.get_mut(&pid).map(|t| (t.pending.take(), t.restore.take())).unwrap_or_default();
        if let Some(restore) = restore {
            redirect::restore(pid, &restore);
        }
        if let (Some((mut kind, args)), Ok(info)) = (pending, raw::syscall_info(pid)) {
            if info.op == OP_EXIT {
                let cx = self.ctx(pid);
                if let Some(what) = super::decode::changed_args(&kind, pid, args) {
                    let race =
                        EventKind::Other { syscall: "argument_race".into(), args: what, result: SysResult::unknown() };
                    self.push(pid, race);
                }
                finish(&mut kind, cx, &mut self.fd_paths, args, sys_result(info.rval, info.is_error));
                // A dup's source is looked at here.
                self.report_closes(pid);
                // A datagram from a sink reads as coming from where the
                // task sent its own.
                if let (Some(r), EventKind::Recv { syscall, addr, result, .. }) = (&self.redirect, &mut kind) {
                    if result.success() {
                        if let Some(original) = redirect::unroute_source(pid, syscall, args, r.as_ref()) {
                            *addr = Some(redirect::sock_addr(original));
                        }
                    }
                }
            }
            self.push(pid, kind);
        }
        raw::cont(pid, 0)
    }

    fn spawned(&mut self, pid: i32, event: i32, shared: &Shared) -> std::io::Result<()> {
        let child = raw::event_msg(pid)? as i32;
        // /proc/<child>/status tells a thread from a process (clone) and the
        // child's pid inside a sandbox's PID namespace: read it once, and
        // only when one of them is needed.
        let status = (event == libc::PTRACE_EVENT_CLONE || self.ns_pids.is_some()).then(|| TaskStatus::read(child));
        let (syscall, thread) = match event {
            libc::PTRACE_EVENT_FORK => ("fork", false),
            libc::PTRACE_EVENT_VFORK => ("vfork", false),
            _ => ("clone", status.as_ref().is_some_and(|s| s.tgid.is_some_and(|tgid| tgid != child))),
        };
        if let (Some(map), Some(inner)) = (&mut self.ns_pids, status.and_then(|s| s.ns_pid)) {
            map.insert(inner, child);
        }
        if Some(pid) == self.init && self.root == 0 {
            // The init forked the command: the run's root.
            self.root = child;
        }
        self.push(pid, EventKind::Spawn { syscall: syscall.into(), child, thread });
        shared.live.lock().unwrap_or_else(|e| e.into_inner()).push(child);
        let owner = if thread { self.ctx(pid).owner } else { child };
        // A process sharing its parent's fd table (`CLONE_FILES`): each can
        // change the other's fds while it is stopped ([`Ctx::alone`]).
        let shares_files = !thread && raw::share_files(pid, child);
        if !thread {
            self.fd_paths.inherit(self.ctx(pid).owner, child);
        }
        if shares_files {
            if let Some(parent) = self.tasks.get_mut(&pid) {
                parent.shares_files = true;
            }
        }
        let place = self.tasks.get(&pid).map(|t| super::cpu::Place::child_of(&t.place)).unwrap_or_default();
        if thread {
            if let Some(leader) = self.tasks.get_mut(&owner) {
                leader.threads += 1;
            }
        }
        let task = self.tasks.entry(child).or_default();
        task.thread = thread;
        task.owner = owner;
        task.shares_files = shares_files;
        task.place = place;
        if task.waiting {
            // Its first stop came first and it was held: let it go now.
            task.waiting = false;
            task.started = true;
            let _ = raw::cont(child, 0);
        }
        raw::cont(pid, 0)
    }

    fn exec_event(&mut self, pid: i32) -> std::io::Result<()> {
        // Only a process with other threads can have been exec'ed by one
        // of them (the event then comes under the leader's pid, and the
        // message names the thread): no call to ask otherwise.
        let alone = self.tasks.get(&pid).is_some_and(|t| !t.thread && t.threads == 0);
        let former = if alone { pid } else { raw::event_msg(pid).map(|m| m as i32).unwrap_or(pid) };
        let pending = if former != pid {
            // The thread that called execve now has the leader's pid.
            let moved = self.tasks.remove(&former).and_then(|t| t.pending);
            self.push(pid, EventKind::Superseded { by: former });
            moved.or_else(|| self.tasks.get_mut(&pid).and_then(|t| t.pending.take()))
        } else {
            self.tasks.get_mut(&pid).and_then(|t| t.pending.take())
        };
        // Close-on-exec fds are gone; the new program's fds are looked up anew.
        let owner = self.ctx(pid).owner;
        self.fd_paths.exec(owner);
        if let Some(t) = self.tasks.get_mut(&pid) {
            t.owner = pid;
        }
        if let Some((mut kind, _)) = pending {
            if matches!(kind, EventKind::Exec { .. }) {
                if let Ok(info) = raw::syscall_info(pid) {
                    exec_started(&mut kind, pid, info.stack_pointer, info.arch);
                }
            }
            set_result(&mut kind, SysResult::ok(0));
            self.push(pid, kind);
        }
        raw::cont(pid, 0)
    }

    fn stop_event(&mut self, pid: i32, sig: i32) -> std::io::Result<()> {
        match self.tasks.get_mut(&pid) {
            // A new task's first stop, before its parent's event named it:
            // hold it, so the Spawn is reported before anything it does.
            None => {
                self.tasks.insert(pid, Task { waiting: true, ..Task::default() });
                Ok(())
            }
            Some(t) if t.waiting => Ok(()),
            // Its first stop, its parent's event already seen: let it run.
            Some(t) if !t.started => {
                t.started = true;
                raw::cont(pid, 0)
            }
            Some(_) if matches!(sig, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU) => {
                self.push(pid, EventKind::Signal { signal: signal_name(sig), stopped: true });
                raw::listen(pid)
            }
            Some(_) => raw::cont(pid, 0),
        }
    }

    fn ended(&mut self, pid: i32, status: i32, shared: &Shared, linger: Duration) {
        let (code, signal, core_dumped) = if libc::WIFEXITED(status) {
            (Some(libc::WEXITSTATUS(status)), None, false)
        } else {
            (None, Some(signal_name(libc::WTERMSIG(status))), libc::WCOREDUMP(status))
        };
        if Some(pid) == self.init {
            // Its namespace ends with it (the kernel kills what is left).
            self.tasks.remove(&pid);
            shared.live.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| *p != pid);
            return;
        }
        // A call cut short by the end (execve of a killed task) is still
        // reported, with an unknown result.
        let task = self.tasks.remove(&pid).unwrap_or_default();
        if !task.thread {
            self.fd_paths.forget_process(pid);
        } else if let Some(leader) = self.tasks.get_mut(&task.owner) {
            leader.threads = leader.threads.saturating_sub(1);
        }
        if let Some((kind, _)) = task.pending {
            self.push(pid, kind);
        }
        self.push(pid, EventKind::Exit { code, signal: signal.clone(), core_dumped });
        let remaining = {
            let mut live = shared.live.lock().unwrap_or_else(|e| e.into_inner());
            live.retain(|p| *p != pid);
            live.iter().filter(|p| Some(**p) != self.init).count()
        };
        if pid == self.root {
            self.outcome.exit_code = code;
            self.outcome.signal = signal;
            // The command is done: is anything of the run left untraced?
            shared.sweep();
            if remaining > 0 {
                let mut deadline = shared.deadline.lock().unwrap_or_else(|e| e.into_inner());
                let at = Instant::now() + linger;
                if deadline.is_none_or(|(d, _)| at < d) {
                    *deadline = Some((at, Reason::Linger));
                }
            }
        } else if !task.thread && *shared.fired.lock().unwrap_or_else(|e| e.into_inner()) == Some(Reason::Linger) {
            self.outcome.killed_at_end += 1;
        }
    }
}

/// What a new task's `/proc/<tid>/status` says that the tracer needs: its
/// thread group (a thread's is not its own id: CLONE_THREAD) and its pid
/// inside its own (innermost) PID namespace.
struct TaskStatus {
    tgid: Option<i32>,
    ns_pid: Option<i32>,
}

impl TaskStatus {
    fn read(tid: i32) -> TaskStatus {
        let status = std::fs::read_to_string(format!("/proc/{tid}/status")).unwrap_or_default();
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::split_whitespace);
        TaskStatus {
            tgid: field("Tgid:").and_then(|mut v| v.next()).and_then(|v| v.parse().ok()),
            ns_pid: field("NSpid:").and_then(|v| v.last()).and_then(|v| v.parse().ok()),
        }
    }
}

/// The name of a call the filter refuses (they are not all in the table).
fn refused_name(nr: i64) -> &'static str {
    match nr {
        libc::SYS_clone => "clone",
        libc::SYS_unshare => "unshare",
        libc::SYS_io_uring_setup => "io_uring_setup",
        libc::SYS_io_uring_enter => "io_uring_enter",
        libc::SYS_io_uring_register => "io_uring_register",
        libc::SYS_ioctl => "ioctl",
        libc::SYS_seccomp => "seccomp",
        _ => "unknown",
    }
}

/// `i386:5`, `x32:2`: a call through a foreign ABI.
fn foreign_name(arch: u32, nr: u64) -> String {
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const X32_SYSCALL_BIT: u64 = 0x4000_0000;
    match arch {
        AUDIT_ARCH_I386 => format!("i386:{nr}"),
        _ if nr & X32_SYSCALL_BIT != 0 => format!("x32:{}", nr & !X32_SYSCALL_BIT),
        _ => format!("arch{arch:#x}:{nr}"),
    }
}

/// Signals are named as strace names them (real-time ones as `SIGRT_n`
/// from 32), so live and recorded runs agree.
fn signal_name(sig: i32) -> String {
    crate::signal::name(i64::from(sig))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cgroup of the test's own, in whichever hierarchy lists processes.
    fn test_cgroup(name: &str) -> PathBuf {
        let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup/pids", "/sys/fs/cgroup"]
            .into_iter()
            .map(PathBuf::from)
            .find(|d| d.join("cgroup.procs").exists())
            .expect("a cgroup hierarchy (tests run as root, like CI)");
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("create a cgroup (root)");
        dir
    }

    #[test]
    fn a_process_in_the_runs_cgroup_that_is_not_traced_is_reported() {
        let dir = test_cgroup(&format!("pkgtrace-test-untraced-{}", std::process::id()));
        // Started by the test, not by the tracer: in the cgroup, untraced.
        // Orphaned at once (not the test's child: the tracer waits for any
        // child of its process).
        let out = std::process::Command::new("sh").args(["-c", "sleep 30 >/dev/null 2>&1 & echo $!"]).output().unwrap();
        let stray: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        std::fs::write(dir.join("cgroup.procs"), stray.to_string()).unwrap();
        let opts = Options {
            argv: vec!["true".into()],
            timeout: Some(Duration::from_secs(20)),
            linger: Duration::from_millis(100),
            flush_each: false,
            sandbox: None,
            path: None,
            cgroup_procs: vec![dir.join("cgroup.procs")],
            untraced: false,
            stdout_to_stderr: true,
            all_cpus: false,
            placed: None,
            redirect: None,
            results: None,
        };
        let outcome = trace(&opts, |_| {}).unwrap();
        let _ = raw::kill(stray, libc::SIGKILL);
        while std::fs::remove_dir(&dir).is_err() && std::path::Path::new(&format!("/proc/{stray}")).exists() {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(outcome.exit_code, Some(0));
        let pids: Vec<i32> = outcome.untraced.iter().map(|u| u.pid).collect();
        assert_eq!(pids, vec![stray], "{:?}", outcome.untraced);
        assert!(outcome.untraced[0].command.starts_with("sleep 30"), "{:?}", outcome.untraced);
    }

    #[test]
    fn proc_paths_name_pids_as_the_tracer_sees_them() {
        let map = HashMap::from([(1, 4000), (2, 4001)]);
        let tr = |p: &str| {
            let mut b = crate::Bytes(p.as_bytes().to_vec());
            translate_proc_path(&mut b, &map);
            String::from_utf8(b.0).unwrap()
        };
        assert_eq!(tr("/proc/2/environ"), "/proc/4001/environ");
        assert_eq!(tr("/proc/1"), "/proc/4000");
        assert_eq!(tr("/proc/self/status"), "/proc/self/status");
        assert_eq!(tr("/proc/23/cmdline"), "/proc/23/cmdline");
        assert_eq!(tr("/proc/2x/cmdline"), "/proc/2x/cmdline");
        assert_eq!(tr("/etc/passwd"), "/etc/passwd");
    }
}
