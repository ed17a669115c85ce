//! From a stopped call's number, arguments and memory to an [`EventKind`],
//! the same kinds the strace parser produces, so the analyzer cannot tell
//! the sources apart. The result is filled in at syscall exit
//! ([`set_result`]) for calls that need it.

use crate::interest::Interest;
use event::Bytes;
use event::{Access, EventKind, Fd, Payload, SockAddr, SysResult};

use super::mem::{self, MAX_PAYLOAD, MAX_STR};
use super::syscalls::Sys;

const AT_FDCWD: i32 = -100;

fn fd(v: u64) -> Fd {
    Fd::new(v as i32)
}

/// The paths fds refer to (what strace -y prints), and what the analyzer
/// was told each fd is.
///
/// `close` is not traced (issue 14: it was a third of all stops on a
/// directory walk), so a remembered path could be stale: an fd closed and
/// reused by a call the filter lets through (`fcntl(F_DUPFD)` of fts,
/// `pipe2`, `accept`) would keep its old path. So a path is read from
/// `/proc/PID/fd/N` when it is needed, never cached; and what the analyzer
/// learnt about an fd (from an event that named it) is remembered with the
/// fd's target at that time. When an fd is named again and its target has
/// changed, it was closed meanwhile: [`FdPaths::closed`] lists it, and the
/// session reports that `close` before the event, as a strace log would
/// have shown it.
#[derive(Default)]
pub struct FdPaths {
    /// Per process (fd table owner): fd → what the analyzer was told it is.
    told: super::FastMap<i32, super::FastMap<i32, Bytes>>,
    /// Fds found closed since the session last looked.
    pub closed: Vec<i32>,
    /// Per process: how its fds are read ([`FdPaths::path`]).
    pidfds: super::FastMap<i32, Through>,
    /// No more pidfd reads in this run: a task opened `/dev/fuse` (see
    /// [`FdPaths::path`]), or pidfd_getfd is not allowed here.
    no_pidfd: bool,
}

/// How a process's fds are read.
enum Through {
    /// A pidfd, and how many fds were read through it.
    Pidfd(std::os::fd::OwnedFd, u32),
    /// `/proc/PID/fd/N`: pidfd_open failed, or the process has read enough
    /// fds for that to be the cheaper way.
    Proc,
}

/// Most pidfds held at once (one per live traced process): past this, a
/// process's fds are read through `/proc/PID/fd/N`, so that a package
/// with a thousand processes does not use up pkgtrace's own descriptors.
const MAX_PIDFDS: usize = 256;
/// Fds read through a process's pidfd before `/proc/PID/fd/N` takes over.
/// ld.so's opens of a dynamically linked program fit; a process that goes
/// on opening files (a directory walk, an interpreter importing modules)
/// is cheaper to read through `/proc` (one call against three) once its
/// entries there exist.
const PIDFD_LOOKUPS: u32 = 8;

impl FdPaths {
    /// What fd `fd` of process `owner` refers to now (`pid`: the task
    /// asking), noting a close that was not seen.
    pub fn get(&mut self, owner: i32, pid: i32, fd: i32) -> Option<Bytes> {
        let now = self.path(owner, pid, fd);
        self.seen(owner, fd, now.as_ref());
        now
    }
    /// What fd `n` of task `pid` (whose fd table `owner`'s is) refers to:
    /// its path, `socket:[ino]`, ... (what strace -y prints).
    ///
    /// A process's first fds are read through a duplicate taken with
    /// pidfd_getfd, whose link is `/proc/self/fd/M`: a first look at
    /// `/proc/PID/fd/N` makes the kernel build `/proc/PID`'s entries, and
    /// the process's exit tears them down, which a program that only opens
    /// what ld.so loads never amortizes (1% of a shell loop forking
    /// `/bin/true`, issue 14). After [`PIDFD_LOOKUPS`] of them, `/proc`
    /// (one call instead of pidfd_getfd, readlink and close; the pidfd way
    /// made `find` 7% slower). The answer is the same either way: the same
    /// open file, its path seen from pkgtrace's root. A thread asks through
    /// `/proc/TID/fd/N` (its table may be its own), and so does every
    /// process when pidfds are unavailable or too many.
    ///
    /// Closing the duplicate calls the file system's `flush`, which FUSE
    /// sends to its daemon and waits for. If that daemon is a tracee held
    /// at a stop, the tracer would wait for it forever; so once a task has
    /// opened `/dev/fuse` (a daemon must, before it serves a mount), the
    /// run reads every fd through `/proc` (a daemon started before the run
    /// is not held by the tracer: its flush is only a round trip).
    pub fn path(&mut self, owner: i32, pid: i32, n: i32) -> Option<Bytes> {
        let through = if pid == owner && !self.no_pidfd { self.through_pidfd(pid, n) } else { None };
        let path = through.or_else(|| fd_path(pid, n));
        self.no_pidfd |= path.as_ref().is_some_and(|p| p.as_slice() == b"/dev/fuse");
        path
    }
    /// [`FdPaths::path`], and the analyzer told so: for an fd a call just
    /// returned.
    pub fn told_now(&mut self, owner: i32, pid: i32, n: i32) -> Option<Bytes> {
        let path = self.path(owner, pid, n);
        self.told_new(owner, n, path.clone());
        path
    }
    fn through_pidfd(&mut self, pid: i32, n: i32) -> Option<Bytes> {
        use std::collections::hash_map::Entry;
        use std::os::fd::{AsFd as _, AsRawFd as _};
        let full = self.pidfds.len() >= MAX_PIDFDS;
        let way = match self.pidfds.entry(pid) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(_) if full => return None,
            Entry::Vacant(e) => e.insert(super::sys::pidfd_open(pid).map_or(Through::Proc, |fd| Through::Pidfd(fd, 0))),
        };
        let Through::Pidfd(pidfd, used) = way else { return None };
        *used += 1;
        let got = super::sys::pidfd_getfd(pidfd.as_fd(), n);
        let err = got.as_ref().err().and_then(std::io::Error::raw_os_error);
        // Not allowed here (a container's seccomp profile, an LSM): no more
        // tries in this run.
        let refused = matches!(err, Some(libc::EPERM | libc::EACCES | libc::ENOSYS));
        // Gone (not reaped by us, its pid reused), or enough through it.
        if refused || err == Some(libc::ESRCH) || *used >= PIDFD_LOOKUPS {
            *way = Through::Proc;
        }
        self.no_pidfd |= refused;
        link_target(b"/proc/self/fd/", got.ok()?.as_raw_fd())
    }
    /// An event names fd `fd`, which refers to `now`: if the analyzer knew
    /// it as something else, that fd was closed in between.
    pub fn seen(&mut self, owner: i32, fd: i32, now: Option<&Bytes>) {
        let table = self.told.entry(owner).or_default();
        let changed = match (table.get_mut(&fd), now) {
            (Some(old), Some(now)) if old == now => false,
            (Some(old), Some(now)) => {
                *old = now.clone();
                true
            }
            (Some(_), None) => table.remove(&fd).is_some(),
            (None, Some(now)) => {
                table.insert(fd, now.clone());
                false
            }
            (None, None) => false,
        };
        if changed {
            self.closed.push(fd);
        }
    }
    /// Like [`FdPaths::get`], for an fd whose path the event does not carry.
    pub fn check(&mut self, owner: i32, pid: i32, fd: i32) {
        self.get(owner, pid, fd);
    }
    /// A call returned fd `fd`, now `now`: the analyzer replaces what it
    /// knew of that number, so no close needs reporting.
    pub fn told_new(&mut self, owner: i32, fd: i32, now: Option<Bytes>) {
        let table = self.told.entry(owner).or_default();
        match now {
            Some(now) => table.insert(fd, now),
            None => table.remove(&fd),
        };
    }
    /// Whether the analyzer was last told that fd `fd` of `owner` is a
    /// socket. It takes a `write` or `writev` for a send only on such an fd
    /// (anything else is a file, a pipe or a tty); the fd may have changed
    /// since, which the caller finds out by looking again ([`FdPaths::check`]).
    pub fn told_socket(&self, owner: i32, fd: i32) -> bool {
        self.told.get(&owner).and_then(|t| t.get(&fd)).is_some_and(|p| p.as_slice().starts_with(b"socket:"))
    }
    /// A fork: the child starts with copies of the parent's fds.
    pub fn inherit(&mut self, parent: i32, child: i32) {
        if let Some(table) = self.told.get(&parent).cloned() {
            self.told.insert(child, table);
        }
    }
    /// An exec: close-on-exec fds are gone; like the analyzer, only stdin,
    /// stdout and stderr are kept.
    pub fn exec(&mut self, owner: i32) {
        if let Some(table) = self.told.get_mut(&owner) {
            table.retain(|fd, _| (0..=2).contains(fd));
        }
    }
    pub fn forget_process(&mut self, owner: i32) {
        self.told.remove(&owner);
        self.pidfds.remove(&owner);
    }
}

/// Who is asking: the task, and the process owning its fd table.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub pid: i32,
    pub owner: i32,
    /// No other task uses its fd table (no threads, no `CLONE_FILES`
    /// sharer): while it is stopped, its fds stay as they are.
    pub alone: bool,
}

/// What `/proc/PID/fd/N` points at: the file's path, `socket:[ino]`, ...
fn fd_path(pid: i32, n: i32) -> Option<Bytes> {
    let mut dir = [0u8; 24];
    let mut at = 0;
    for part in [&b"/proc/"[..], decimal(pid, &mut [0; 11]), b"/fd/"] {
        dir[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    link_target(&dir[..at], n)
}

/// The target of the link `dir` + `n` (`/proc/PID/fd/` + N).
fn link_target(dir: &[u8], n: i32) -> Option<Bytes> {
    // At every successful open: the link's name is built on the stack and
    // read into a stack buffer (a path is at most PATH_MAX).
    let mut name = [0u8; 48];
    let mut at = 0;
    for part in [dir, decimal(n, &mut [0; 11])] {
        name[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    let name = std::ffi::CStr::from_bytes_until_nul(&name).ok()?;
    // Most targets are short: a small buffer first (a zeroed PATH_MAX one
    // at every open is 64 cache lines written for nothing), the full size
    // when it came back full.
    let mut small = [0u8; 256];
    let len = super::sys::readlink(name, &mut small).ok()?;
    if len < small.len() {
        return Some(small[..len].to_vec().into());
    }
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    let len = super::sys::readlink(name, &mut buf).ok()?;
    buf.truncate(len);
    Some(buf.into())
}

/// `v` in decimal, in `buf`.
fn decimal(v: i32, buf: &mut [u8; 11]) -> &[u8] {
    let mut i = buf.len();
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// `format!("{v:#x}")` without the formatting machinery (an open's flags,
/// at every open).
fn hex(v: u32) -> String {
    let mut out = String::with_capacity(10);
    out.push_str("0x");
    let digits = (32 - v.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        out.push(char::from(b"0123456789abcdef"[((v >> (4 * i)) & 0xf) as usize]));
    }
    out
}

fn path(pid: i32, addr: u64) -> Bytes {
    mem::string(pid, addr, MAX_STR).map(|(s, _)| s).unwrap_or_default().into()
}

/// The event for a call at its entry, result unknown. None for calls that
/// carry nothing after all (fcntl that does not dup) or are reported by a
/// ptrace event instead (spawns).
pub fn entry(sys: &Sys, cx: Ctx, fds: &mut FdPaths, a: [u64; 6]) -> Option<EventKind> {
    let pid = cx.pid;
    let name = sys.name;
    // A dirfd argument: None for AT_FDCWD, else the fd and its path.
    let mut dirfd = |v: u64| {
        let n = v as i32;
        (n != AT_FDCWD).then(|| Fd { num: n, path: fds.get(cx.owner, pid, n) })
    };
    let syscall = || name.to_string();
    let result = SysResult::unknown();
    Some(match sys.interest {
        Interest::Open => {
            let (dir, p, flags) = match name {
                "open" => (None, a[0], a[1]),
                "creat" => (None, a[0], (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64),
                "openat2" => (dirfd(a[0]), a[1], mem::u64_at(pid, a[2]).unwrap_or(0)),
                _ => (dirfd(a[0]), a[1], a[2]),
            };
            let flags = flags as i32;
            let access = if flags & libc::O_PATH != 0 {
                Access::Path
            } else {
                match flags & libc::O_ACCMODE {
                    libc::O_WRONLY => Access::Write,
                    libc::O_RDWR => Access::ReadWrite,
                    _ => Access::Read,
                }
            };
            EventKind::Open {
                syscall: syscall(),
                path: path(pid, p),
                dirfd: dir,
                flags: hex(flags as u32),
                access,
                create: flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE,
                truncate: flags & libc::O_TRUNC != 0,
                result,
                resolved: None,
            }
        }
        Interest::Probe => {
            let (dir, p) = match name {
                "stat" | "lstat" | "access" | "readlink" | "statfs" => (None, a[0]),
                _ => (dirfd(a[0]), a[1]),
            };
            EventKind::Probe { syscall: syscall(), path: path(pid, p), dirfd: dir, result }
        }
        Interest::Exec => {
            let [path_at, argv_at, _] = exec_pointers(name, a);
            let dir = (name == "execveat").then(|| dirfd(a[0])).flatten();
            // The environment is read later: at the exec stop from the new
            // stack ([`exec_started`]), or at the exit stop of a call that
            // failed ([`finish`]).
            let mem::ExecArgs { path: exe, argv: (argv, argv_truncated) } = mem::exec_args(pid, path_at, argv_at);
            // execveat(fd, "", AT_EMPTY_PATH) runs the fd itself (a memfd).
            let mut exe: Bytes = exe.unwrap_or_default().into();
            if let Some(dir) = dir.and_then(|d| d.path) {
                if exe.is_empty() {
                    exe = dir;
                } else if !exe.as_slice().starts_with(b"/") {
                    let mut joined = dir.0;
                    joined.push(b'/');
                    joined.extend_from_slice(exe.as_slice());
                    exe = joined.into();
                }
            }
            EventKind::Exec {
                syscall: syscall(),
                path: exe,
                argv: argv.into_iter().map(Bytes).collect(),
                argv_truncated,
                env: None,
                result,
            }
        }
        Interest::Spawn => return None,
        Interest::Unlink => {
            let [p, _] = path_args(name, a);
            let dir = (name == "unlinkat").then(|| dirfd(a[0])).flatten();
            EventKind::Unlink { syscall: syscall(), path: path(pid, p), dirfd: dir, result }
        }
        Interest::Rename => {
            let [p1, p2] = path_args(name, a);
            let (fd1, fd2) = if name == "rename" { (None, None) } else { (dirfd(a[0]), dirfd(a[2])) };
            EventKind::Rename {
                syscall: syscall(),
                from: path(pid, p1),
                from_dirfd: fd1,
                to: path(pid, p2),
                to_dirfd: fd2,
                result,
            }
        }
        Interest::Mkdir => {
            let [p, _] = path_args(name, a);
            let (dir, m) = if name == "mkdirat" { (dirfd(a[0]), a[2]) } else { (None, a[1]) };
            EventKind::Mkdir { syscall: syscall(), path: path(pid, p), dirfd: dir, mode: Some(m as u32), result }
        }
        Interest::Chmod => {
            let [p, _] = path_args(name, a);
            let (dir, p, m) = match name {
                "chmod" => (None, path(pid, p), a[1]),
                "fchmod" => {
                    (Some(Fd { num: a[0] as i32, path: fds.get(cx.owner, pid, a[0] as i32) }), Bytes::default(), a[1])
                }
                _ => (dirfd(a[0]), path(pid, p), a[2]),
            };
            EventKind::Chmod { syscall: syscall(), path: p, dirfd: dir, mode: Some(m as u32), result }
        }
        Interest::Link => {
            let [target, p] = path_args(name, a);
            let dir = match name {
                "link" | "symlink" => None,
                "linkat" => dirfd(a[2]),
                _ => dirfd(a[1]),
            };
            EventKind::Link {
                syscall: syscall(),
                target: path(pid, target),
                path: path(pid, p),
                dirfd: dir,
                symbolic: name.starts_with("sym"),
                result,
            }
        }
        Interest::Socket => {
            let sock_type = match (a[1] as i32) & 0xf {
                libc::SOCK_STREAM => "SOCK_STREAM",
                libc::SOCK_DGRAM => "SOCK_DGRAM",
                libc::SOCK_RAW => "SOCK_RAW",
                libc::SOCK_SEQPACKET => "SOCK_SEQPACKET",
                _ => "SOCK_OTHER",
            };
            EventKind::Socket { family: family_name(a[0] as i32), sock_type: sock_type.into(), result }
        }
        Interest::Connect => {
            fds.check(cx.owner, pid, a[0] as i32);
            EventKind::Connect { fd: fd(a[0]), addr: sockaddr_at(pid, a[1], a[2]), result }
        }
        Interest::Bind => {
            fds.check(cx.owner, pid, a[0] as i32);
            EventKind::Bind { fd: fd(a[0]), addr: sockaddr_at(pid, a[1], a[2]), result }
        }
        Interest::Listen => {
            fds.check(cx.owner, pid, a[0] as i32);
            EventKind::Listen { fd: fd(a[0]), result }
        }
        Interest::Send => {
            // A write the analyzer would drop (not to what it knows as a
            // socket) is not reported: no look at the fd, no read of the
            // buffer. Had the fd become a socket meanwhile (closed, then
            // reused by an untraced accept or socketpair), the analyzer would
            // not know it as one either, and it drops the write all the same.
            if matches!(name, "write" | "writev") && !fds.told_socket(cx.owner, a[0] as i32) {
                return None;
            }
            fds.check(cx.owner, pid, a[0] as i32);
            let (addr, data) = match name {
                "write" => (None, vec![payload(pid, a[1], a[2])]),
                "sendto" => ((a[4] != 0).then(|| sockaddr_at(pid, a[4], a[5])), vec![payload(pid, a[1], a[2])]),
                "writev" => (None, vec![iovec(pid, a[1], a[2])]),
                "sendmsg" => {
                    let (addr, data) = msghdr(pid, a[1]);
                    (addr, vec![data])
                }
                _ => {
                    // sendmmsg: struct mmsghdr is a msghdr plus a u32, 64 bytes.
                    let mut addr = None;
                    let mut data = Vec::new();
                    for i in 0..(a[2].min(16)) {
                        let (a1, d) = msghdr(pid, a[1] + 64 * i);
                        addr = addr.or(a1);
                        data.push(d);
                    }
                    (addr, data)
                }
            };
            EventKind::Send { syscall: syscall(), fd: fd(a[0]), addr, data, result }
        }
        // The buffer is filled by the call: read at exit (`finish`).
        Interest::Recv => {
            fds.check(cx.owner, pid, a[0] as i32);
            EventKind::Recv { syscall: syscall(), fd: fd(a[0]), addr: None, data: Payload::default(), result }
        }
        Interest::Chdir => {
            if name == "fchdir" {
                let fd = Fd { num: a[0] as i32, path: fds.get(cx.owner, pid, a[0] as i32) };
                EventKind::Chdir { syscall: syscall(), path: Bytes::default(), fd: Some(fd), result }
            } else {
                EventKind::Chdir { syscall: syscall(), path: path(pid, a[0]), fd: None, result }
            }
        }
        // The source fd is looked at once, at the exit (`finish`), through
        // the new fd: both are the same open file then.
        Interest::Dup => {
            let new = if name == "dup" { -1 } else { a[1] as i32 };
            EventKind::Dup { syscall: syscall(), old: fd(a[0]), new, result }
        }
        // `fcntl(fd, F_DUPFD[_CLOEXEC], min)` with `min` ≤ 2 (the filter):
        // the copy may land on stdin, stdout or stderr, which matters for a
        // socket only (a reverse shell). fts dups every directory it walks
        // this way (`find`: 6,000 of 31,000 stops were their exits), so the
        // source is looked at here and the call is followed to its exit
        // only for a socket, or when another task sharing the fd table
        // could put one there before the call runs.
        Interest::Fcntl => {
            let cmd = a[1] as i32;
            if cmd != libc::F_DUPFD && cmd != libc::F_DUPFD_CLOEXEC {
                return None;
            }
            let source = fds.get(cx.owner, pid, a[0] as i32);
            if cx.alone && !source.is_some_and(|p| p.as_slice().starts_with(b"socket:")) {
                return None;
            }
            EventKind::Dup { syscall: syscall(), old: fd(a[0]), new: -1, result }
        }
        // Not in the filter (see `FdPaths`); kept for completeness.
        Interest::Close => {
            fds.seen(cx.owner, a[0] as i32, None);
            EventKind::Close { fd: fd(a[0]), result: SysResult::ok(0) }
        }
        Interest::Ptrace => {
            let req = ptrace_request(a[0] as i64);
            let target = (a[0] as i64 != libc::PTRACE_TRACEME as i64).then_some(a[1] as i32);
            EventKind::Ptrace { request: req, target, result }
        }
        Interest::Kill => {
            // kill(pid, sig), tkill(tid, sig), tgkill(tgid, tid, sig): the
            // target is the task the signal is for. The registers hold the
            // pid as the caller sees it (in a PID namespace, its own numbers).
            let (target, sig) = if name == "tgkill" { (a[1], a[2]) } else { (a[0], a[1]) };
            EventKind::Kill {
                syscall: syscall(),
                target: target as i32,
                signal: crate::signal::name(i64::from(sig as i32)),
                result,
            }
        }
        Interest::Other => {
            let args = match name {
                // Only clones ptrace will not follow stop (syscalls.rs).
                "clone" => format!("flags={:#x}", a[0]),
                // Only installing a filter stops; only one with a listener
                // is reported.
                "seccomp" => {
                    let listener = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
                    if a[1] & listener == 0 {
                        return None;
                    }
                    format!(
                        "SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER|{:#x}, {:#x}",
                        a[1] & !listener,
                        a[2]
                    )
                }
                // Every clone3 stops: its flags are in memory.
                "clone3" => {
                    let flags = mem::u64_at(pid, a[0]).unwrap_or(0);
                    if flags & libc::CLONE_UNTRACED as u64 == 0 {
                        return None;
                    }
                    format!("{{flags={flags:#x}, ...}}, {}", a[1])
                }
                "io_uring_setup" => io_uring_setup_args(pid, a[0], a[1]),
                "memfd_create" => format!("{:?}, {:#x}", path(pid, a[0]).lossy(), a[1]),
                // As strace prints it (the filter stops on PR_SET_DUMPABLE only).
                "prctl" if a[0] == libc::PR_SET_DUMPABLE as u64 => match a[1] {
                    0 => "PR_SET_DUMPABLE, SUID_DUMP_DISABLE".to_string(),
                    1 => "PR_SET_DUMPABLE, SUID_DUMP_USER".to_string(),
                    v => format!("PR_SET_DUMPABLE, {v:#x}"),
                },
                "mount" => format!(
                    "{:?}, {:?}, {:?}",
                    path(pid, a[0]).lossy(),
                    path(pid, a[1]).lossy(),
                    path(pid, a[2]).lossy()
                ),
                // As strace prints them: the paths and names, which the
                // rules and a reader want, rather than their addresses.
                "mknod" => mknod_args(None, &path(pid, a[0]), a[1], a[2]),
                "mknodat" => mknod_args(Some(a[0]), &path(pid, a[1]), a[2], a[3]),
                "sethostname" | "setdomainname" => {
                    let name = mem::read(pid, a[0], (a[1] as usize).min(256));
                    format!("{:?}, {}", String::from_utf8_lossy(&name), a[1])
                }
                "fsopen" => format!("{:?}, {:#x}", path(pid, a[0]).lossy(), a[1]),
                "open_tree" => format!("{}, {:?}, {:#x}", dirfd_text(a[0]), path(pid, a[1]).lossy(), a[2]),
                "move_mount" => format!(
                    "{}, {:?}, {}, {:?}, {:#x}",
                    dirfd_text(a[0]),
                    path(pid, a[1]).lossy(),
                    dirfd_text(a[2]),
                    path(pid, a[3]).lossy(),
                    a[4]
                ),
                _ => a.iter().map(|v| format!("{v:#x}")).collect::<Vec<_>>().join(", "),
            };
            EventKind::Other { syscall: syscall(), args, result }
        }
    })
}

/// A dirfd argument as strace prints it.
fn dirfd_text(v: u64) -> String {
    match v as i32 {
        AT_FDCWD => "AT_FDCWD".to_string(),
        n => n.to_string(),
    }
}

/// mknod(at)'s arguments as strace prints them: `"/tmp/n", S_IFCHR|0600,
/// makedev(0x1, 0x3)` (the device only for a character or block device).
fn mknod_args(dirfd: Option<u64>, path: &Bytes, mode: u64, dev: u64) -> String {
    let mode = mode as u32;
    let file_type = mode & libc::S_IFMT;
    let name = match file_type {
        libc::S_IFCHR => "S_IFCHR|",
        libc::S_IFBLK => "S_IFBLK|",
        libc::S_IFIFO => "S_IFIFO|",
        libc::S_IFSOCK => "S_IFSOCK|",
        libc::S_IFREG => "S_IFREG|",
        // No type (a regular file) or an unknown one: the number alone.
        _ => "",
    };
    let bits = if name.is_empty() { mode } else { mode & 0o7777 };
    // Octal as C's %#03o: 0600, 000.
    let octal = if bits == 0 { "000".to_string() } else { format!("0{bits:o}") };
    let mut out = dirfd.map(|d| format!("{}, ", dirfd_text(d))).unwrap_or_default();
    out += &format!("{:?}, {name}{octal}", path.lossy());
    if matches!(file_type, libc::S_IFCHR | libc::S_IFBLK) {
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        out += &format!(", makedev({major:#x}, {minor:#x})");
    }
    out
}

/// Completes a call at its exit: its result, and what only exists after
/// the call (the path a new fd refers to, the bytes received).
pub fn finish(kind: &mut EventKind, cx: Ctx, fds: &mut FdPaths, a: [u64; 6], res: SysResult) {
    let pid = cx.pid;
    let ok = res.success();
    let value = res.value.unwrap_or(-1);
    set_result(kind, res);
    if let EventKind::Exec { syscall, env: env @ None, .. } = kind {
        // A failed exec (a successful one ends at the exec stop): the
        // caller's memory is as it was at the entry.
        let [_, _, env_at] = exec_pointers(syscall, a);
        *env = Some(mem::string_array(pid, env_at).0.into_iter().collect());
    }
    if !ok {
        return;
    }
    match kind {
        // A new fd: the analyzer records what it is, whatever it was.
        EventKind::Open { resolved, .. } => {
            *resolved = fds.told_now(cx.owner, pid, value as i32).filter(|p| p.as_slice().starts_with(b"/"));
        }
        // The new fd is the source's open file: one read names both, and
        // tells whether the source was closed and reused unseen since the
        // analyzer last heard of it (one /proc read per dup instead of
        // two: a directory walk dups thousands of fds, issue 14).
        EventKind::Dup { old, new, .. } => {
            let now = fds.told_now(cx.owner, pid, *new);
            fds.seen(cx.owner, old.num, now.as_ref());
        }
        EventKind::Socket { .. } => {
            fds.told_now(cx.owner, pid, value as i32);
        }
        EventKind::Recv { syscall, addr, data, .. } => {
            let len = value.max(0) as u64;
            if syscall == "recvfrom" {
                *data = payload(pid, a[1], len);
                if a[4] != 0 && a[5] != 0 {
                    // The address length is an in/out pointer.
                    let alen = mem::read(pid, a[5], 4);
                    let alen = <[u8; 4]>::try_from(alen.as_slice()).map(u32::from_ne_bytes).unwrap_or(0);
                    *addr = Some(sockaddr_at(pid, a[4], u64::from(alen)));
                }
            } else {
                let (from, mut got) = msghdr(pid, a[1]);
                got.bytes.0.truncate(len as usize);
                got.len = Some(len);
                *addr = from;
                *data = got;
            }
        }
        _ => {}
    }
}

/// Where a call that changes the file system names its paths, in the
/// order its event keeps them (rename: from, to; link: target, path); 0
/// for none (fchmod names an fd).
fn path_args(name: &str, a: [u64; 6]) -> [u64; 2] {
    match name {
        "unlink" | "rmdir" | "mkdir" | "chmod" => [a[0], 0],
        "unlinkat" | "mkdirat" | "fchmodat" | "fchmodat2" => [a[1], 0],
        "rename" | "link" | "symlink" => [a[0], a[1]],
        "renameat" | "renameat2" | "linkat" => [a[1], a[3]],
        "symlinkat" => [a[0], a[2]],
        _ => [0, 0],
    }
}

/// A call that changes the file system, or a connect, at its exit: its
/// paths (or its address) read again from the caller's memory. The kernel
/// copied them somewhere in between, so one that reads differently now was
/// rewritten while the call ran, by another thread or a process sharing
/// the memory: a race to show the tracer one path while the kernel acts on
/// another. What changed, if anything did. (A successful open's path is
/// confirmed by its fd, an exec's by the new program's stack; these have
/// nothing like it.)
pub fn changed_args(kind: &EventKind, pid: i32, a: [u64; 6]) -> Option<String> {
    if let EventKind::Connect { addr, .. } = kind {
        let now = sockaddr_at(pid, a[1], a[2]);
        return (now != *addr).then(|| format!("connect: {addr} became {now}"));
    }
    let (name, read): (&str, [Option<&Bytes>; 2]) = match kind {
        EventKind::Unlink { syscall, path, .. }
        | EventKind::Mkdir { syscall, path, .. }
        | EventKind::Chmod { syscall, path, .. } => (syscall, [Some(path), None]),
        EventKind::Rename { syscall, from, to, .. } => (syscall, [Some(from), Some(to)]),
        EventKind::Link { syscall, target, path, .. } => (syscall, [Some(target), Some(path)]),
        _ => return None,
    };
    let changes: Vec<String> = path_args(name, a)
        .into_iter()
        .zip(read)
        .filter_map(|(at, was)| {
            let was = was.filter(|_| at != 0)?;
            let now = path(pid, at);
            (now != *was).then(|| format!("{:?} became {:?}", was.lossy(), now.lossy()))
        })
        .collect();
    (!changes.is_empty()).then(|| format!("{name}: {}", changes.join(", ")))
}

/// An exec's path, argv and envp pointers: execveat has a dirfd first.
fn exec_pointers(name: &str, a: [u64; 6]) -> [u64; 3] {
    let from = usize::from(name == "execveat");
    [a[from], a[from + 1], a[from + 2]]
}

/// A successful exec, at its exec stop (`sp`: the new program's stack
/// pointer): the event built at the entry takes what the kernel copied to
/// the new stack ([`mem::stack_exec`]) rather than what the caller's memory
/// held at the entry, which another of its threads could change in
/// between. The environment is only read here (or by [`finish`] for a
/// call that failed); argv as `kernel_argv` says. The path is the
/// kernel's copy for execve (execveat's is `/dev/fd/N/...` there).
pub fn exec_started(kind: &mut EventKind, pid: i32, sp: u64, arch: u32) {
    /// AUDIT_ARCH_I386: a 32-bit program, whose stack holds 4-byte words.
    const ARCH_I386: u32 = 0x4000_0003;
    let EventKind::Exec { syscall, path, argv, argv_truncated, env, .. } = kind else { return };
    let word = if arch == ARCH_I386 { 4 } else { 8 };
    let Some(got) = mem::stack_exec(pid, sp, word) else { return };
    *env = Some(got.env.0);
    let (stack_argv, cut) = got.argv;
    if let Some(kernel) = kernel_argv(argv, stack_argv, got.execfn.as_deref()) {
        *argv = kernel;
        *argv_truncated = cut;
    }
    if let (Some(execfn), "execve") = (got.execfn, syscall.as_str()) {
        *path = execfn.into();
    }
}

/// The argv an exec event reports, given the one read at the entry and the
/// one on the new stack: None to keep the entry's.
/// - As many entries: the new stack's, what the kernel copied.
/// - A script's shape (the kernel dropped argv[0] and put the interpreter,
///   its argument if any and the script's path first) with the entry's
///   argv[1..] after the path: the entry's, as strace shows it; the kernel
///   agrees with all of it but argv[0], which no program gets.
/// - Anything else (the count changed between the entry and the copy, or
///   a binfmt_misc layout): the new stack's, what really ran.
fn kernel_argv(entry: &[Bytes], stack: Vec<Vec<u8>>, execfn: Option<&[u8]>) -> Option<Vec<Bytes>> {
    // The interpreter and at most one argument of it come first, then the
    // script's path in the place of argv[0]: an entry argv without one
    // (NULL or empty: the kernel gives the program a "" argv[0]) is no
    // script's.
    let script = !entry.is_empty() && stack.len() > entry.len() && stack.len() <= entry.len() + 2 && {
        let at = stack.len() - entry.len();
        Some(stack[at].as_slice()) == execfn
            && stack[at + 1..].iter().zip(entry.iter().skip(1)).all(|(s, e)| s.as_slice() == e.as_slice())
    };
    (!script).then(|| stack.into_iter().map(Bytes).collect())
}

/// Fills in the result of a call at its exit.
pub fn set_result(kind: &mut EventKind, res: SysResult) {
    match kind {
        EventKind::Dup { new, result, .. } => {
            if *new < 0 {
                *new = res.value.unwrap_or(-1) as i32;
            }
            *result = res;
        }
        EventKind::Exec { result, .. }
        | EventKind::Open { result, .. }
        | EventKind::Probe { result, .. }
        | EventKind::Unlink { result, .. }
        | EventKind::Rename { result, .. }
        | EventKind::Mkdir { result, .. }
        | EventKind::Chmod { result, .. }
        | EventKind::Link { result, .. }
        | EventKind::Socket { result, .. }
        | EventKind::Connect { result, .. }
        | EventKind::Bind { result, .. }
        | EventKind::Listen { result, .. }
        | EventKind::Send { result, .. }
        | EventKind::Recv { result, .. }
        | EventKind::Chdir { result, .. }
        | EventKind::Close { result, .. }
        | EventKind::Ptrace { result, .. }
        | EventKind::Kill { result, .. }
        | EventKind::Other { result, .. } => *result = res,
        EventKind::Denied { .. }
        | EventKind::Request { .. }
        | EventKind::Spawn { .. }
        | EventKind::Exit { .. }
        | EventKind::Superseded { .. }
        | EventKind::Signal { .. }
        | EventKind::Unparsed { .. } => {}
    }
}

/// A result from the exit stop's return value, with the errno's name.
pub fn sys_result(rval: i64, is_error: bool) -> SysResult {
    if is_error {
        SysResult { value: Some(-1), errno: Some(errno_name((-rval) as i32)) }
    } else {
        SysResult::ok(rval)
    }
}

/// `ENOENT` for 2: the names formatted once, not at every failed call (a
/// failed `access` of `/etc/ld.so.preload` is part of every exec).
fn errno_name(n: i32) -> String {
    static NAMES: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| (0..200).map(|n| format!("{:?}", nix::errno::Errno::from_raw(n))).collect());
    match usize::try_from(n).ok().and_then(|i| NAMES.get(i)) {
        Some(name) => name.clone(),
        None => format!("{:?}", nix::errno::Errno::from_raw(n)),
    }
}

fn family_name(domain: i32) -> String {
    match domain {
        libc::AF_INET => "inet".into(),
        libc::AF_INET6 => "inet6".into(),
        libc::AF_UNIX => "unix".into(),
        libc::AF_NETLINK => "netlink".into(),
        libc::AF_PACKET => "packet".into(),
        other => format!("af{other}"),
    }
}

fn sockaddr_at(pid: i32, addr: u64, len: u64) -> SockAddr {
    let raw = mem::read(pid, addr, (len as usize).min(128));
    sockaddr(&raw)
}

/// io_uring_setup's arguments as strace prints what goes in: the entry
/// count, then the flags (by name, the rest in hex), the SQPOLL thread's
/// CPU and idle time read from the caller's `io_uring_params`. The rules
/// tell a runtime's ring from one made to hide work by them (libuv's
/// epoll-control ring: 256 entries, no SQPOLL).
pub fn io_uring_setup_args(pid: i32, entries: u64, params: u64) -> String {
    // struct io_uring_params: sq_entries, cq_entries, flags, sq_thread_cpu,
    // sq_thread_idle, ... (u32 each).
    let raw = mem::read(pid, params, 20);
    let field = |i: usize| raw.get(4 * i..4 * i + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    match (field(2), field(3), field(4)) {
        (Some(flags), Some(cpu), Some(idle)) => format!(
            "{}, {{flags={}, sq_thread_cpu={cpu}, sq_thread_idle={idle}}}",
            entries as u32,
            io_uring_setup_flags(flags)
        ),
        _ => format!("{}, {params:#x}", entries as u32),
    }
}

/// IORING_SETUP_* flags as strace names them, `0` for none.
fn io_uring_setup_flags(flags: u32) -> String {
    const NAMES: [&str; 17] = [
        "IOPOLL",
        "SQPOLL",
        "SQ_AFF",
        "CQSIZE",
        "CLAMP",
        "ATTACH_WQ",
        "R_DISABLED",
        "SUBMIT_ALL",
        "COOP_TASKRUN",
        "TASKRUN_FLAG",
        "SQE128",
        "CQE32",
        "SINGLE_ISSUER",
        "DEFER_TASKRUN",
        "NO_MMAP",
        "REGISTERED_FD_ONLY",
        "NO_SQARRAY",
    ];
    if flags == 0 {
        return "0".into();
    }
    let mut parts: Vec<String> = NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags & (1 << bit) != 0)
        .map(|(_, n)| format!("IORING_SETUP_{n}"))
        .collect();
    let rest = flags & !((1u32 << NAMES.len()) - 1);
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

/// Decodes a `struct sockaddr` from its bytes.
pub fn sockaddr(b: &[u8]) -> SockAddr {
    let u16_at = |i: usize| b.get(i..i + 2).map(|x| u16::from_ne_bytes([x[0], x[1]]));
    let be16_at = |i: usize| b.get(i..i + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    let u32_at = |i: usize| b.get(i..i + 4).map(|x| u32::from_ne_bytes([x[0], x[1], x[2], x[3]]));
    let other = || SockAddr::Other { name: "unknown".into(), raw: format!("{b:02x?}") };
    let Some(family) = u16_at(0) else { return other() };
    match i32::from(family) {
        libc::AF_INET => match (be16_at(2), b.get(4..8)) {
            (Some(port), Some(ip)) => {
                SockAddr::Inet { ip: std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(), port }
            }
            _ => other(),
        },
        libc::AF_INET6 => match (be16_at(2), b.get(8..24)) {
            (Some(port), Some(ip)) => {
                let ip: [u8; 16] = ip.try_into().expect("16 bytes");
                SockAddr::Inet6 { ip: std::net::Ipv6Addr::from(ip).to_string(), port }
            }
            _ => other(),
        },
        libc::AF_UNIX => {
            let p = b.get(2..).unwrap_or(&[]);
            match p.first() {
                Some(0) if p.len() > 1 => SockAddr::Unix { path: p[1..].to_vec().into(), r#abstract: true },
                _ => {
                    let end = memchr::memchr(0, p).unwrap_or(p.len());
                    SockAddr::Unix { path: p[..end].to_vec().into(), r#abstract: false }
                }
            }
        }
        libc::AF_NETLINK => SockAddr::Netlink { pid: u32_at(4).unwrap_or(0), groups: u32_at(8).unwrap_or(0) },
        f => SockAddr::Other { name: family_name(f), raw: format!("{b:02x?}") },
    }
}

fn payload(pid: i32, addr: u64, len: u64) -> Payload {
    let bytes = mem::read(pid, addr, (len as usize).min(MAX_PAYLOAD));
    Payload { truncated: (bytes.len() as u64) < len, bytes: bytes.into(), len: Some(len) }
}

/// An iovec array as one buffer (the first MAX_PAYLOAD bytes).
fn iovec(pid: i32, addr: u64, count: u64) -> Payload {
    let mut bytes = Vec::new();
    let mut total = 0u64;
    let mut truncated = false;
    for i in 0..count.min(64) {
        let (Some(base), Some(len)) = (mem::u64_at(pid, addr + 16 * i), mem::u64_at(pid, addr + 16 * i + 8)) else {
            truncated = true;
            break;
        };
        total += len;
        let room = MAX_PAYLOAD.saturating_sub(bytes.len());
        if room > 0 && !truncated {
            let chunk = mem::read(pid, base, (len as usize).min(room));
            truncated |= (chunk.len() as u64) < len;
            bytes.extend_from_slice(&chunk);
        } else {
            truncated = true;
        }
    }
    Payload { bytes: bytes.into(), len: Some(total), truncated }
}

/// `struct msghdr` (x86_64/aarch64 layout): destination and data.
fn msghdr(pid: i32, addr: u64) -> (Option<SockAddr>, Payload) {
    let hdr = mem::read(pid, addr, 56);
    if hdr.len() < 32 {
        return (None, Payload::default());
    }
    let word = |i: usize| u64::from_ne_bytes(hdr[i..i + 8].try_into().expect("8 bytes"));
    let (name, namelen, iov, iovlen) =
        (word(0), u32::from_ne_bytes(hdr[8..12].try_into().expect("4")), word(16), word(24));
    let addr = (name != 0 && namelen > 0).then(|| sockaddr_at(pid, name, u64::from(namelen)));
    (addr, iovec(pid, iov, iovlen))
}

fn ptrace_request(r: i64) -> String {
    let name = match r {
        0 => "PTRACE_TRACEME",
        1 => "PTRACE_PEEKTEXT",
        2 => "PTRACE_PEEKDATA",
        3 => "PTRACE_PEEKUSER",
        4 => "PTRACE_POKETEXT",
        5 => "PTRACE_POKEDATA",
        6 => "PTRACE_POKEUSER",
        7 => "PTRACE_CONT",
        8 => "PTRACE_KILL",
        9 => "PTRACE_SINGLESTEP",
        12 => "PTRACE_GETREGS",
        13 => "PTRACE_SETREGS",
        16 => "PTRACE_ATTACH",
        17 => "PTRACE_DETACH",
        24 => "PTRACE_SYSCALL",
        0x4200 => "PTRACE_SETOPTIONS",
        0x4201 => "PTRACE_GETEVENTMSG",
        0x4202 => "PTRACE_GETSIGINFO",
        0x4203 => "PTRACE_SETSIGINFO",
        0x4204 => "PTRACE_GETREGSET",
        0x4205 => "PTRACE_SETREGSET",
        0x4206 => "PTRACE_SEIZE",
        0x4207 => "PTRACE_INTERRUPT",
        0x4208 => "PTRACE_LISTEN",
        0x4209 => "PTRACE_PEEKSIGINFO",
        0x420e => "PTRACE_GET_SYSCALL_INFO",
        other => return format!("{other:#x}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_are_nix_names() {
        for n in [2, 13, 1, 110, 0, 199, 250, -3] {
            assert_eq!(errno_name(n), format!("{:?}", nix::errno::Errno::from_raw(n)));
        }
        assert_eq!(errno_name(2), "ENOENT");
    }

    #[test]
    fn mknod_arguments_read_as_strace_prints_them() {
        let p = Bytes::from("/tmp/n");
        let null = libc::makedev(1, 3);
        assert_eq!(
            mknod_args(Some(AT_FDCWD as u32 as u64), &p, u64::from(libc::S_IFCHR | 0o600), null),
            r#"AT_FDCWD, "/tmp/n", S_IFCHR|0600, makedev(0x1, 0x3)"#
        );
        let sda = libc::makedev(8, 0x1234);
        assert_eq!(
            mknod_args(Some(3), &p, u64::from(libc::S_IFBLK | 0o660), sda),
            r#"3, "/tmp/n", S_IFBLK|0660, makedev(0x8, 0x1234)"#
        );
        assert_eq!(mknod_args(None, &p, u64::from(libc::S_IFIFO | 0o644), 0), r#""/tmp/n", S_IFIFO|0644"#);
        assert_eq!(mknod_args(None, &p, u64::from(libc::S_IFIFO), 0), r#""/tmp/n", S_IFIFO|000"#);
    }

    #[test]
    fn hex_and_decimal_write_what_format_would() {
        for v in [0u32, 1, 0xf, 0x10, 0x80000, 0x7fff_ffff, 0x8000_0000, u32::MAX] {
            assert_eq!(hex(v), format!("{v:#x}"));
            assert_eq!(hex(v as i32 as u32), format!("{:#x}", v as i32));
        }
        for v in [0, 7, 10, 4096, 123_456, i32::MAX, -1, -100, i32::MIN] {
            assert_eq!(decimal(v, &mut [0; 11]), v.to_string().as_bytes());
        }
    }

    #[test]
    fn the_argv_reported_is_what_the_kernel_copied_except_for_a_scripts_argv0() {
        let b = |v: &[&str]| -> Vec<Bytes> { v.iter().map(|s| Bytes::from(*s)).collect() };
        let raw = |v: &[&str]| -> Vec<Vec<u8>> { v.iter().map(|s| s.as_bytes().to_vec()).collect() };
        // Same count: the kernel's copy (here changed after the entry read).
        let got = kernel_argv(&b(&["env", "A=0"]), raw(&["env", "A=1"]), Some(b"/usr/bin/env"));
        assert_eq!(got, Some(b(&["env", "A=1"])));
        // A script: interpreter, its argument, the script, then argv[1..].
        let entry = b(&["x.sh", "one", "two"]);
        let stack = raw(&["/bin/sh", "-e", "./x.sh", "one", "two"]);
        assert_eq!(kernel_argv(&entry, stack, Some(b"./x.sh")), None);
        // Script-shaped, but argv[1..] is not what was read: what ran.
        let stack = raw(&["/bin/sh", "./x.sh", "one", "TWO"]);
        assert_eq!(kernel_argv(&entry, stack.clone(), Some(b"./x.sh")), Some(stack.into_iter().map(Bytes).collect()));
        // The count changed under the tracer (an argument dropped or added
        // after the entry read): what ran.
        let got = kernel_argv(&b(&["curl", "-s"]), raw(&["curl", "-s", "http://x"]), Some(b"/usr/bin/curl"));
        assert_eq!(got, Some(b(&["curl", "-s", "http://x"])));
        let got = kernel_argv(&b(&["ls", "-l", "/"]), raw(&["ls"]), Some(b"/bin/ls"));
        assert_eq!(got, Some(b(&["ls"])));
        // More than an interpreter and its argument before the path: not a
        // script, whatever follows.
        let stack = raw(&["a", "b", "c", "/bin/ls"]);
        assert_eq!(
            kernel_argv(&b(&["ls"]), stack.clone(), Some(b"/bin/ls")),
            Some(stack.into_iter().map(Bytes).collect())
        );
        // execve(path, NULL, ...): the kernel gives the program a "" argv[0]
        // (a script gets its interpreter's); nothing read at the entry, or
        // unreadable there: the new stack's. This panicked the tracer once.
        for stack in [raw(&[""]), raw(&["/bin/sh", "./x.sh"]), raw(&["/bin/sh", "-e", "./x.sh"]), raw(&[])] {
            let want = stack.iter().cloned().map(Bytes).collect();
            assert_eq!(kernel_argv(&[], stack, Some(b"./x.sh")), Some(want));
        }
    }

    /// This process's fd `n`, as the tracer would see a tracee's.
    fn own_fd() -> (std::fs::File, i32, i32) {
        use std::os::fd::AsRawFd;
        let f = tempfile::tempfile().unwrap();
        let n = f.as_raw_fd();
        (f, std::process::id() as i32, n)
    }

    #[test]
    fn an_fd_named_again_unchanged_was_not_closed() {
        let (_f, me, n) = own_fd();
        let mut fds = FdPaths::default();
        fds.told_new(me, n, fd_path(me, n));
        fds.check(me, me, n);
        assert_eq!(fds.get(me, me, n), fd_path(me, n));
        assert!(fds.closed.is_empty());
    }

    #[test]
    fn an_fd_that_now_refers_to_something_else_was_closed_in_between() {
        let (_f, me, n) = own_fd();
        let mut fds = FdPaths::default();
        // What the analyzer was told when the fd was made (a socket, say)...
        fds.told_new(me, n, Some(b"socket:[12345]".to_vec().into()));
        // ...is not what it is now: the close went by untraced.
        fds.check(me, me, n);
        assert_eq!(fds.closed, vec![n]);
        // Reported once: what it is now is what the analyzer will be told.
        fds.closed.clear();
        fds.check(me, me, n);
        assert!(fds.closed.is_empty());
    }

    /// A dup names its source through the new fd, once, at the exit: what
    /// the analyzer knew of the source (a socket) is not what it is now (a
    /// file), so its close went by unseen and is reported; both fds are
    /// now known as the file.
    #[test]
    fn a_dup_reads_its_source_once_through_the_new_fd_and_finds_a_close() {
        use std::os::fd::AsRawFd;
        let (f, me, old) = own_fd();
        let copy = f.try_clone().unwrap();
        let new = copy.as_raw_fd();
        let mut fds = FdPaths::default();
        fds.told_new(me, old, Some(b"socket:[12345]".to_vec().into()));
        let mut kind =
            EventKind::Dup { syscall: "dup".into(), old: fd(old as u64), new: -1, result: SysResult::unknown() };
        let cx = Ctx { pid: me, owner: me, alone: true };
        finish(&mut kind, cx, &mut fds, [old as u64, 0, 0, 0, 0, 0], SysResult::ok(i64::from(new)));
        let file = fd_path(me, new);
        assert!(file.is_some());
        assert_eq!(fds.closed, vec![old]);
        let told = |n: i32| fds.told.get(&me).and_then(|t| t.get(&n)).cloned();
        assert_eq!((told(old), told(new)), (file.clone(), file));
    }

    /// A process's fds are read through a pidfd: the same answers as
    /// `/proc/PID/fd/N`, for a file, a deleted one, a pipe and a socket;
    /// nothing for an fd that is not open; the pidfd is let go with the
    /// process.
    #[test]
    fn an_fd_read_through_a_pidfd_names_what_proc_names() {
        use std::os::fd::AsRawFd;
        let me = std::process::id() as i32;
        let dir = tempfile::tempdir().unwrap();
        let kept = std::fs::File::create(dir.path().join("kept")).unwrap();
        let gone = std::fs::File::create(dir.path().join("gone")).unwrap();
        std::fs::remove_file(dir.path().join("gone")).unwrap();
        let (pipe_r, _pipe_w) = std::io::pipe().unwrap();
        let (sock, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut fds = FdPaths::default();
        let cases = [
            (kept.as_raw_fd(), "kept"),
            (gone.as_raw_fd(), "(deleted)"),
            (pipe_r.as_raw_fd(), "pipe:["),
            (sock.as_raw_fd(), "socket:["),
        ];
        for (n, says) in cases {
            let through = fds.through_pidfd(me, n).expect("read through the pidfd");
            assert!(through.lossy().contains(says), "fd {n}: {:?}", through.lossy());
            assert_eq!(Some(through), fd_path(me, n), "fd {n}");
            assert_eq!(fds.path(me, me, n), fd_path(me, n), "fd {n}");
        }
        assert_eq!(fds.pidfds.len(), 1, "one pidfd per process");
        // After PIDFD_LOOKUPS fds, /proc: the same answers.
        for _ in 0..PIDFD_LOOKUPS {
            assert_eq!(fds.path(me, me, kept.as_raw_fd()), fd_path(me, kept.as_raw_fd()));
        }
        assert!(matches!(fds.pidfds.get(&me), Some(Through::Proc)));
        assert!(fds.through_pidfd(me, kept.as_raw_fd()).is_none());
        assert_eq!(fds.path(me, me, kept.as_raw_fd()), fd_path(me, kept.as_raw_fd()));
        let closed = {
            let f = std::fs::File::open(dir.path().join("kept")).unwrap();
            f.as_raw_fd()
        };
        assert_eq!(fds.path(me, me, closed), None);
        // A task that is not its fd table's owner (a thread) asks /proc.
        assert_eq!(fds.path(me, me + 1_000_000, kept.as_raw_fd()), None);
        fds.forget_process(me);
        assert!(fds.pidfds.is_empty());
        // Once a task has opened /dev/fuse, no pidfd is used again.
        assert_eq!(fds.path(me, me, kept.as_raw_fd()), fd_path(me, kept.as_raw_fd()));
        assert!(matches!(fds.pidfds.get(&me), Some(Through::Pidfd(..))));
        fds.forget_process(me);
        fds.no_pidfd = true;
        assert_eq!(fds.path(me, me, kept.as_raw_fd()), fd_path(me, kept.as_raw_fd()));
        assert!(fds.pidfds.is_empty(), "read through /proc");
        // What sets it: a look at an fd that is /dev/fuse (where there is one).
        if let Ok(fuse) = std::fs::File::open("/dev/fuse") {
            let mut fds = FdPaths::default();
            let path = fds.path(me, me, fuse.as_raw_fd());
            assert_eq!(path.as_ref().map(|p| p.as_slice()), Some(&b"/dev/fuse"[..]));
            assert!(fds.no_pidfd);
        }
    }

    /// Where pidfd_getfd is refused (a container's seccomp profile, here a
    /// filter on one thread), the first refusal turns pidfd reads off for
    /// the run, and every answer still comes, from /proc.
    #[test]
    fn a_refused_pidfd_getfd_falls_back_to_proc_for_the_run() {
        use crate::ptrace::seccomp::Insn;
        use std::os::fd::AsRawFd;
        let me = std::process::id() as i32;
        let file = tempfile::tempfile().unwrap();
        let n = file.as_raw_fd();
        let expected = fd_path(me, n);
        assert!(expected.is_some());
        std::thread::spawn(move || {
            // This thread only: pidfd_getfd fails with EPERM.
            let prog = [
                Insn { code: 0x20, jt: 0, jf: 0, k: 0 },
                Insn { code: 0x15, jt: 0, jf: 1, k: libc::SYS_pidfd_getfd as u32 },
                Insn { code: 0x06, jt: 0, jf: 0, k: 0x0005_0000 | libc::EPERM as u32 },
                Insn { code: 0x06, jt: 0, jf: 0, k: 0x7fff_0000 },
            ];
            crate::ptrace::sys::install_filter(&prog).unwrap();
            let mut fds = FdPaths::default();
            assert_eq!(fds.path(me, me, n), expected);
            assert!(fds.no_pidfd, "one refusal is enough");
            assert_eq!(fds.path(me, me, n), expected);
            assert!(!matches!(fds.pidfds.get(&me), Some(Through::Pidfd(..))));
            drop(file);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn an_fd_no_longer_open_was_closed() {
        let (f, me, n) = own_fd();
        let mut fds = FdPaths::default();
        fds.told_new(me, n, fd_path(me, n));
        drop(f);
        fds.check(me, me, n);
        assert_eq!(fds.closed, vec![n]);
    }

    #[test]
    fn a_write_is_reported_only_on_what_the_analyzer_knows_as_a_socket() {
        let table = crate::ptrace::syscalls::table();
        let write = table.iter().find(|s| s.name == "write").unwrap();
        let sendto = table.iter().find(|s| s.name == "sendto").unwrap();
        let (_f, me, n) = own_fd();
        let cx = Ctx { pid: me, owner: me, alone: true };
        let mut fds = FdPaths::default();
        let args = [n as u64, 0, 0, 0, 0, 0];
        // Unknown, then a file: the analyzer drops such writes.
        assert!(entry(write, cx, &mut fds, args).is_none());
        fds.told_new(me, n, fd_path(me, n));
        assert!(entry(write, cx, &mut fds, args).is_none());
        // What it was told is a socket (the fd changed since: a close is
        // found and reported first).
        fds.told_new(me, n, Some(b"socket:[7]".to_vec().into()));
        assert!(matches!(entry(write, cx, &mut fds, args), Some(EventKind::Send { .. })));
        assert_eq!(fds.closed, vec![n]);
        // Other sends are always reported.
        assert!(matches!(entry(sendto, cx, &mut fds, args), Some(EventKind::Send { .. })));
    }

    /// fcntl's dup that may land on stdio is followed to its exit only for
    /// a socket, or when another task shares the fd table; the file it
    /// copies is looked at once, at the entry, and a close found then.
    #[test]
    fn an_fcntl_dup_is_followed_only_for_a_socket_or_a_shared_fd_table() {
        use std::os::fd::AsRawFd;
        let table = crate::ptrace::syscalls::table();
        let fcntl = table.iter().find(|s| s.name == "fcntl").unwrap();
        let (_f, me, file) = own_fd();
        let (sock, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let sock = sock.as_raw_fd();
        let alone = Ctx { pid: me, owner: me, alone: true };
        let shared = Ctx { alone: false, ..alone };
        let dup = |n: i32| [n as u64, libc::F_DUPFD_CLOEXEC as u64, 0, 0, 0, 0];
        let mut fds = FdPaths::default();
        fds.told_new(me, file, Some(b"socket:[9]".to_vec().into()));
        assert!(entry(fcntl, alone, &mut fds, dup(file)).is_none());
        assert_eq!(std::mem::take(&mut fds.closed), vec![file], "the socket it was is gone: a close");
        assert!(matches!(entry(fcntl, shared, &mut fds, dup(file)), Some(EventKind::Dup { .. })));
        assert!(matches!(entry(fcntl, alone, &mut fds, dup(sock)), Some(EventKind::Dup { .. })));
        let getfl = [file as u64, libc::F_GETFL as u64, 0, 0, 0, 0];
        assert!(entry(fcntl, shared, &mut fds, getfl).is_none());
    }

    #[test]
    fn forks_inherit_and_execs_keep_only_stdio() {
        let mut fds = FdPaths::default();
        let sock: Bytes = b"socket:[1]".to_vec().into();
        fds.told_new(10, 1, Some(sock.clone()));
        fds.told_new(10, 7, Some(sock.clone()));
        fds.inherit(10, 11);
        let told = |fds: &FdPaths, owner: i32, fd: i32| fds.told.get(&owner).and_then(|t| t.get(&fd)).cloned();
        assert_eq!(told(&fds, 11, 7), Some(sock.clone()));
        fds.exec(11);
        assert_eq!(told(&fds, 11, 7), None);
        assert_eq!(told(&fds, 11, 1), Some(sock.clone()));
        assert_eq!(told(&fds, 10, 7), Some(sock), "the parent's table is its own");
    }

    #[test]
    fn io_uring_flags_are_named_as_strace_names_them() {
        assert_eq!(io_uring_setup_flags(0), "0");
        assert_eq!(io_uring_setup_flags(1 << 16), "IORING_SETUP_NO_SQARRAY");
        assert_eq!(io_uring_setup_flags(0b11), "IORING_SETUP_IOPOLL|IORING_SETUP_SQPOLL");
        assert_eq!(io_uring_setup_flags((1 << 1) | (1 << 20)), "IORING_SETUP_SQPOLL|0x100000");
        // Parameters that cannot be read: the address instead.
        assert_eq!(io_uring_setup_args(std::process::id() as i32, 8, 0), "8, 0x0");
    }

    #[test]
    fn sockaddrs_from_bytes() {
        let mut v4 = vec![0u8; 16];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&53u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 53]);
        assert_eq!(sockaddr(&v4), SockAddr::Inet { ip: "127.0.0.53".into(), port: 53 });
        let mut un = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        un.extend_from_slice(b"\0hidden");
        assert_eq!(sockaddr(&un), SockAddr::Unix { path: "hidden".into(), r#abstract: true });
        assert!(matches!(sockaddr(&[1]), SockAddr::Other { .. }));
    }

    #[test]
    fn signals_sent_are_named_like_strace() {
        let mut fds = FdPaths::default();
        let cx = Ctx { pid: 1, owner: 1, alone: true };
        let lookup = |nr| crate::ptrace::syscalls::lookup(nr).expect("traced");
        let minus_one = (-1i64) as u64;
        let kill = entry(lookup(libc::SYS_kill), cx, &mut fds, [minus_one, 9, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            kill,
            EventKind::Kill {
                syscall: "kill".into(),
                target: -1,
                signal: "SIGKILL".into(),
                result: SysResult::unknown()
            }
        );
        let tgkill = entry(lookup(libc::SYS_tgkill), cx, &mut fds, [12, 13, 15, 0, 0, 0]).unwrap();
        assert!(matches!(tgkill, EventKind::Kill { target: 13, ref signal, .. } if signal == "SIGTERM"));
        let probe = entry(lookup(libc::SYS_tkill), cx, &mut fds, [5, 0, 0, 0, 0, 0]).unwrap();
        assert!(matches!(probe, EventKind::Kill { target: 5, ref signal, .. } if signal == "0"));
    }

    #[test]
    fn errno_names() {
        assert_eq!(sys_result(-2, true), SysResult::err("ENOENT"));
        assert_eq!(sys_result(3, false), SysResult::ok(3));
    }
}
