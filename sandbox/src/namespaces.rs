//! The sandbox a traced command runs in, built from Linux namespaces
//! (no container runtime). What it guarantees is in the README ("What the
//! sandbox guarantees"); here is how:
//!
//! - **network**: [`enter_new_netns`] moves the calling (tracer) thread into
//!   a fresh network namespace with only loopback, up. The run's processes
//!   are created from that thread and inherit it; sockets bound by that
//!   thread before (the DNS and TCP sinks) live in it too;
//! - **processes**: the run's first process is cloned into new PID, mount,
//!   IPC and UTS namespaces (see the tracer's `ChildHook`). It is pkgtrace's own tiny init
//!   (PID 1 inside): it builds the sandbox, forks the command and reaps
//!   orphans; when it dies the kernel kills everything else in the
//!   namespace. It starts a new session (no controlling terminal);
//!   stdin is `/dev/null`, stdout and stderr go where [`SandboxSpec`] says
//!   (pipes pkgtrace reads);
//! - **files** ([`ChildSetup`], applied by that init before the command
//!   runs): every mount private to the namespace; the whole host tree
//!   read-only and nosuid (recursively, `mount_setattr`); `/run` covered,
//!   and every other host UNIX socket listed in `/proc/net/unix` masked;
//!   a fresh `/dev` with only null, zero, full, random, urandom, tty and a
//!   private devpts; a fresh `/proc` that shows the run's processes only;
//!   tmpfs over `/home` and `/root`; the writable places (HOME with the
//!   project, `/tmp`, `/var/tmp`, `/dev/shm`) bound from a host directory
//!   that is itself a size-limited tmpfs ([`private_mount_namespace`]);
//! - **identity**: a uid/gid of its own per run ([`UidLease`]), a host name
//!   per run;
//! - **the command**: resource limits, no supplementary groups, the run's
//!   uid, every inherited descriptor above 2 closed.
//!
//! Everything the child does between fork and exec is a raw syscall on
//! data prepared before the fork (async-signal-safe), as the tracer's
//! `ChildHook` requires. With `tracer::ptrace::sys`, this module holds the
//! workspace's `unsafe` code: the namespace, mount and credential calls.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A non-loopback address given to loopback (label `lo:1`). glibc's
/// getaddrinfo with AI_ADDRCONFIG (node's dns.lookup default) sends no DNS
/// query at all on a host with only 127.x addresses; with this one it does.
/// There is still no route anywhere but loopback.
pub const SANDBOX_ADDR: [u8; 4] = [10, 255, 255, 1];

/// Moves the calling thread into a new network namespace whose only
/// interface, loopback, is up. Needs CAP_SYS_ADMIN (root).
pub fn enter_new_netns() -> io::Result<()> {
    // SAFETY: unshare takes flags only; it affects this thread.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    loopback_up()?;
    loopback_alias(SANDBOX_ADDR)
}

/// `ifconfig lo:1 ADDR netmask 255.255.255.255 up`, by ioctl.
fn loopback_alias(addr: [u8; 4]) -> io::Result<()> {
    // SAFETY: a plain socket used only for the ioctls, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let set = |req: libc::c_ulong, a: [u8; 4]| -> io::Result<()> {
        // SAFETY: ifreq and sockaddr_in are plain data; zero is valid.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo:1\0") {
            *dst = *src as libc::c_char;
        }
        // SAFETY: as above.
        let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_addr.s_addr = u32::from_ne_bytes(a);
        // SAFETY: sockaddr_in fits in the ifreq union's sockaddr (16 bytes).
        unsafe {
            std::ptr::copy_nonoverlapping(
                &sin as *const libc::sockaddr_in as *const u8,
                &mut ifr.ifr_ifru.ifru_addr as *mut libc::sockaddr as *mut u8,
                std::mem::size_of::<libc::sockaddr_in>(),
            );
        }
        // SAFETY: a valid ifreq for an address ioctl.
        if unsafe { libc::ioctl(fd, req, &ifr) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    };
    let result = set(libc::SIOCSIFADDR, addr).and_then(|()| set(libc::SIOCSIFNETMASK, [255, 255, 255, 255]));
    // SAFETY: closing the socket opened above.
    unsafe { libc::close(fd) };
    result
}

/// `ip link set lo up`, by ioctl: SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP.
fn loopback_up() -> io::Result<()> {
    // SAFETY: a plain socket used only for the ioctls, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: ifreq is plain data; an all-zero one is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `req` is a valid ifreq naming "lo" for both ioctls.
    let result = unsafe {
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) < 0 {
            Err(io::Error::last_os_error())
        } else {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            if libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        }
    };
    // SAFETY: closing the socket opened above.
    unsafe { libc::close(fd) };
    result
}

/// The first uid (and gid) of the range runs take theirs from; far above
/// any account a distribution or an administrator creates.
pub const UID_BASE: u32 = 1_600_000;
/// How many runs may be under way at once on one machine.
pub const UID_SLOTS: u32 = 4096;
/// Where the uid claims are kept (one lock file per uid, `flock`ed for the
/// run's lifetime; the kernel drops the lock when pkgtrace dies).
const UID_LOCK_DIR: &str = "/run/pkgtrace/uids";

/// A uid (and gid of the same number) that no other pkgtrace run holds
/// while this lease lives, and that no process on the machine has.
#[derive(Debug)]
pub struct UidLease {
    pub uid: u32,
    _lock: File,
}

impl UidLease {
    pub fn claim() -> io::Result<UidLease> {
        std::fs::create_dir_all(UID_LOCK_DIR)?;
        let taken = uids_in_use();
        // Start at a different slot each time so that concurrent runs do
        // not all contend for the first ones.
        let start = (std::process::id() ^ nanos()) % UID_SLOTS;
        for i in 0..UID_SLOTS {
            let uid = UID_BASE + (start + i) % UID_SLOTS;
            if taken.contains(&uid) {
                continue;
            }
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(Path::new(UID_LOCK_DIR).join(uid.to_string()))?;
            // SAFETY: flock on a descriptor we own; no memory arguments.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(UidLease { uid, _lock: file });
            }
        }
        Err(io::Error::other(format!("all {UID_SLOTS} sandbox uids are in use by other pkgtrace runs")))
    }
}

/// Real uids of every process on the machine.
fn uids_in_use() -> std::collections::HashSet<u32> {
    let mut out = std::collections::HashSet::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(status) = std::fs::read_to_string(e.path().join("status")) {
            if let Some(uid) = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
            {
                out.insert(uid);
            }
        }
    }
    out
}

fn nanos() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}

/// Moves pkgtrace itself into a private mount namespace (every mount
/// private, nothing propagates back to the host). What it mounts then —
/// the size-limited tmpfs holding a run's writable places — is never seen
/// on the host and disappears with pkgtrace, even if it is killed.
/// Affects the calling thread and what it starts afterwards (threads and
/// processes); call it before the run's other threads exist.
pub fn private_mount_namespace() -> io::Result<()> {
    // SAFETY: unshare and mount with constant arguments.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(io::Error::last_os_error());
        }
        let null = std::ptr::null::<libc::c_char>();
        if libc::mount(null, c"/".as_ptr(), null, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Mounts a tmpfs of `size` bytes at `dir` (in pkgtrace's private mount
/// namespace), owned by root, mode 0755.
pub fn mount_tmpfs(dir: &Path, size: u64) -> io::Result<()> {
    let target = cstr(dir)?;
    let options = CString::new(format!("mode=755,size={size}")).map_err(io::Error::other)?;
    // SAFETY: NUL-terminated strings alive for the call.
    let r = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            options.as_ptr() as *const libc::c_void,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One step of the init's set-up.
#[derive(Debug)]
enum Op {
    /// Make every mount private to this namespace (no propagation back).
    Private,
    /// The whole tree read-only and nosuid, every mount below `/` too.
    TreeReadOnly,
    Tmpfs {
        target: CString,
        options: CString,
        /// Device nodes allowed (the fresh `/dev`).
        dev: bool,
    },
    /// A new devpts instance (its own pty numbering, no host terminals).
    Devpts {
        target: CString,
    },
    /// A fresh proc for this PID namespace.
    Proc,
    /// A fresh, read-only sysfs for the network namespace; where the kernel
    /// refuses one, the host's cgroup tree covered by an empty directory.
    Sysfs,
    /// Bind a held descriptor (`/proc/self/fd/N`) over `target`.
    BindHeld {
        source: CString,
        target: CString,
    },
    /// Cover a host UNIX socket with the held `/dev/null`; a socket that
    /// vanished meanwhile is no failure.
    Mask {
        source: CString,
        target: CString,
    },
    Mkdir {
        path: CString,
    },
    /// Create an empty file to bind over.
    Touch {
        path: CString,
    },
    Symlink {
        target: CString,
        path: CString,
    },
    /// Make a bind mount read-only.
    ReadOnly {
        target: CString,
    },
    /// Make a bind mount writable again (it copied the read-only flag of
    /// the tree it came from), still nosuid and nodev.
    Writable {
        target: CString,
    },
    /// A new root holding the old one's entries but `HIDDEN_AT_ROOT`
    /// (built after every other step, from the finished view).
    NewRoot {
        entries: Vec<RootEntry>,
    },
    /// Detach the mount a held descriptor (`/proc/self/fd/N`) is the root
    /// of, wherever it is (covered by then).
    Detach {
        source: CString,
    },
    /// Hold a path open (O_PATH) at a fixed fd before it is covered, to
    /// bind it later from `/proc/self/fd/N`.
    Hold {
        path: CString,
        fd: i32,
        what: &'static str,
    },
}

/// The first fd number used to hold paths across a cover.
const HELD_FD_BASE: i32 = 800;

/// The device nodes the fresh `/dev` has (bound from the host's).
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Directories whose contents the sandbox replaces: host sockets inside
/// them need no mask.
const COVERED: &[&str] = &["/run", "/var/run", "/tmp", "/var/tmp", "/dev", "/home", "/root", "/proc"];

/// What the sandbox's init does before the command runs, and what the
/// command's own process does before exec, prepared before the fork.
#[derive(Debug)]
pub struct ChildSetup {
    ops: Vec<Op>,
    held: std::ops::Range<i32>,
    rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    hostname: CString,
    /// pkgtrace's memory layout, whose command line the init, a fork of
    /// it, would show as PID 1's `/proc/1/cmdline`.
    layout: Option<MmMap>,
    uid: u32,
    gid: u32,
    /// The uid in decimal, for /proc/self/loginuid.
    loginuid: CString,
    cwd: CString,
    /// The command's whole environment.
    env: Vec<CString>,
    /// Descriptors for the command's stdout and stderr (already open,
    /// inherited); /dev/null when None.
    stdout_fd: Option<i32>,
    stderr_fd: Option<i32>,
}

fn cstr(p: impl AsRef<Path>) -> io::Result<CString> {
    CString::new(p.as_ref().as_os_str().as_bytes()).map_err(|_| io::Error::other("path with a NUL byte"))
}

/// How to build the sandbox for one run.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// Host directories bound writable inside, at the given paths: HOME
    /// (with the project), /tmp, /var/tmp, /dev/shm. They should live on one
    /// size-limited tmpfs: a package that fills the disk fills that.
    pub writable: Vec<(std::path::PathBuf, String)>,
    /// Host files shown read-only over files inside, with the path each
    /// covers (`/etc/resolv.conf`, `passwd`, `group`, `hosts`, the CA
    /// bundle).
    pub etc: Vec<(std::path::PathBuf, std::path::PathBuf)>,
    /// The working directory inside (e.g. `/home/pkgtrace/project`).
    pub cwd: String,
    /// The command's environment (`KEY=value`).
    pub env: Vec<String>,
    /// The run's uid and gid ([`UidLease`]).
    pub uid: u32,
    pub gid: u32,
    /// The host name inside (the run's [`crate::Identity`]).
    pub hostname: String,
    /// Most processes the run's uid may have at once (RLIMIT_NPROC; the
    /// run's cgroup has its own pids limit too).
    pub max_processes: u64,
    /// Largest file the command may write, in bytes.
    pub max_file_size: u64,
    /// Host directories the command needs but that are covered by the
    /// sandbox (a toolchain under /root), bound read-only at the same path.
    pub ro_binds: Vec<std::path::PathBuf>,
    /// Open descriptors for the command's stdout and stderr (pipes).
    pub stdout_fd: Option<i32>,
    pub stderr_fd: Option<i32>,
    /// Mounts whose sources are bound in but that are not shown themselves
    /// (the workspace's tmpfs, whose mount point names pkgtrace): detached
    /// inside once bound from.
    pub detach: Vec<std::path::PathBuf>,
}

/// Path-bound UNIX sockets of the host's network namespace that the
/// sandbox does not cover anyway.
fn host_sockets() -> Vec<std::path::PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let table = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
    let mut out: Vec<std::path::PathBuf> = table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(7))
        .filter(|p| p.starts_with('/'))
        .filter(|p| !COVERED.iter().any(|c| Path::new(p).starts_with(c)))
        .map(std::path::PathBuf::from)
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_socket()))
        .collect();
    out.sort();
    out.dedup();
    out
}

impl ChildSetup {
    pub fn new(spec: &SandboxSpec) -> io::Result<ChildSetup> {
        let mut next_fd = HELD_FD_BASE;
        let mut hold = |ops: &mut Vec<Op>, path: &Path, what: &'static str| -> io::Result<(i32, CString)> {
            let fd = next_fd;
            next_fd += 1;
            ops.push(Op::Hold { path: cstr(path)?, fd, what });
            Ok((fd, cstr(format!("/proc/self/fd/{fd}"))?))
        };
        let tmpfs = |target: &str, options: &str, dev: bool| -> io::Result<Op> {
            Ok(Op::Tmpfs { target: cstr(target)?, options: CString::new(options).map_err(io::Error::other)?, dev })
        };
        let mkdirs = |ops: &mut Vec<Op>, dir: &Path| -> io::Result<()> {
            let mut prefix = std::path::PathBuf::from("/");
            for part in dir.components().skip(1) {
                prefix.push(part);
                ops.push(Op::Mkdir { path: cstr(&prefix)? });
            }
            Ok(())
        };
        let mut ops = vec![Op::Private];
        // Everything shown inside is held open first: its source may be
        // covered below (a workspace under /tmp, a toolchain under /root,
        // the host's /dev nodes).
        let mut devices = Vec::new();
        for d in DEVICES {
            devices.push((d, hold(&mut ops, &Path::new("/dev").join(d), "hold a device node")?));
        }
        let null = devices[0].1.clone();
        let mut writable = Vec::new();
        for (source, target) in &spec.writable {
            writable.push((target.clone(), hold(&mut ops, source, "hold a writable directory")?));
        }
        let mut etc = Vec::new();
        for (source, target) in &spec.etc {
            // /etc/resolv.conf may be a link into /run, which is covered:
            // the file is made again under the cover and bound there.
            let real = std::fs::canonicalize(target).unwrap_or_else(|_| target.clone());
            etc.push((real, hold(&mut ops, source, "hold a file for /etc")?));
        }
        let mut detach = Vec::new();
        for dir in &spec.detach {
            detach.push(hold(&mut ops, dir, "hold the workspace")?.1);
        }
        let mut ro = Vec::new();
        for dir in &spec.ro_binds {
            ro.push((dir.clone(), hold(&mut ops, dir, "hold a directory to show read-only")?));
        }
        // Host sockets outside the covered directories: masked.
        for sock in host_sockets() {
            ops.push(Op::Mask { source: null.1.clone(), target: cstr(&sock)? });
        }
        ops.push(Op::TreeReadOnly);
        // Fresh, empty, root-owned directories over the host's.
        for (dir, options) in
            [("/run", "mode=755,size=1m"), ("/home", "mode=755,size=1m"), ("/root", "mode=755,size=1m")]
        {
            if Path::new(dir).is_dir() {
                ops.push(tmpfs(dir, options, false)?);
            }
        }
        // The host's /sys lists the host's network interfaces and, under
        // /sys/fs/cgroup, every run's cgroup with its host pids: a sysfs of
        // the sandbox's network namespace instead (loopback only, nothing
        // mounted under it). The run's own cgroup is `/` in its cgroup
        // namespace.
        if Path::new("/sys").is_dir() {
            ops.push(Op::Sysfs);
        }
        ops.push(tmpfs("/dev", "mode=755,size=1m", true)?);
        for (name, (_, source)) in &devices {
            let target = Path::new("/dev").join(name);
            ops.push(Op::Touch { path: cstr(&target)? });
            ops.push(Op::BindHeld { source: source.clone(), target: cstr(&target)? });
        }
        for dir in ["/dev/pts", "/dev/shm"] {
            ops.push(Op::Mkdir { path: cstr(dir)? });
        }
        ops.push(Op::Devpts { target: cstr("/dev/pts")? });
        for (target, path) in [
            ("pts/ptmx", "/dev/ptmx"),
            ("/proc/self/fd", "/dev/fd"),
            ("/proc/self/fd/0", "/dev/stdin"),
            ("/proc/self/fd/1", "/dev/stdout"),
            ("/proc/self/fd/2", "/dev/stderr"),
        ] {
            ops.push(Op::Symlink { target: cstr(target)?, path: cstr(path)? });
        }
        ops.push(Op::Proc);
        for (target, (_, source)) in &writable {
            mkdirs(&mut ops, Path::new(target))?;
            ops.push(Op::BindHeld { source: source.clone(), target: cstr(target)? });
            ops.push(Op::Writable { target: cstr(target)? });
        }
        for (target, (_, source)) in &etc {
            if let Some(parent) = target.parent() {
                mkdirs(&mut ops, parent)?;
            }
            ops.push(Op::Touch { path: cstr(target)? });
            ops.push(Op::BindHeld { source: source.clone(), target: cstr(target)? });
            ops.push(Op::ReadOnly { target: cstr(target)? });
        }
        for (dir, (_, source)) in &ro {
            mkdirs(&mut ops, dir)?;
            ops.push(Op::BindHeld { source: source.clone(), target: cstr(dir)? });
            ops.push(Op::ReadOnly { target: cstr(dir)? });
        }
        ops.extend(detach.into_iter().map(|source| Op::Detach { source }));
        if let Some(entries) = root_entries()? {
            ops.push(Op::NewRoot { entries });
        }
        let env =
            spec.env.iter().map(|e| CString::new(e.as_bytes()).map_err(io::Error::other)).collect::<Result<_, _>>()?;
        Ok(ChildSetup {
            ops,
            held: HELD_FD_BASE..next_fd,
            rlimits: vec![(libc::RLIMIT_NPROC, spec.max_processes), (libc::RLIMIT_FSIZE, spec.max_file_size)],
            hostname: CString::new(spec.hostname.as_bytes()).map_err(io::Error::other)?,
            layout: MmMap::own(),
            uid: spec.uid,
            gid: spec.gid,
            loginuid: CString::new(spec.uid.to_string()).map_err(io::Error::other)?,
            cwd: cstr(&spec.cwd)?,
            env,
            stdout_fd: spec.stdout_fd,
            stderr_fd: spec.stderr_fd,
        })
    }

    /// In the sandbox's init (PID 1 of new PID, mount, IPC and UTS
    /// namespaces, still root): build the sandbox around itself, leave the
    /// terminal, set up stdio. Raw syscalls only; returns the step that
    /// failed (errno is left as the failing call set it).
    fn apply_init(&self) -> Result<(), &'static str> {
        let null = std::ptr::null::<libc::c_char>();
        // SAFETY (whole block): every pointer passed is a NUL-terminated
        // CString owned by `self`, alive for the call, a static C string,
        // or NULL where the syscall allows it; no memory is allocated.
        unsafe {
            // Its cgroup (the run's, joined before it was let go) becomes
            // `/` for everything in the sandbox: /proc/self/cgroup names
            // no host cgroup.
            if libc::unshare(libc::CLONE_NEWCGROUP) != 0 {
                return Err("make a cgroup namespace");
            }
            for op in &self.ops {
                let ok = match op {
                    Op::Private => {
                        libc::mount(null, c"/".as_ptr(), null, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) == 0
                    }
                    Op::TreeReadOnly => {
                        // struct mount_attr { attr_set, attr_clr, propagation, userns_fd }
                        let attr: [u64; 4] = [MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0];
                        libc::syscall(
                            libc::SYS_mount_setattr,
                            libc::AT_FDCWD,
                            c"/".as_ptr(),
                            AT_RECURSIVE,
                            attr.as_ptr(),
                            std::mem::size_of_val(&attr),
                        ) == 0
                    }
                    Op::Tmpfs { target, options, dev } => {
                        let flags = libc::MS_NOSUID | if *dev { 0 } else { libc::MS_NODEV };
                        libc::mount(
                            c"tmpfs".as_ptr(),
                            target.as_ptr(),
                            c"tmpfs".as_ptr(),
                            flags,
                            options.as_ptr() as *const libc::c_void,
                        ) == 0
                    }
                    Op::Devpts { target } => {
                        libc::mount(
                            c"devpts".as_ptr(),
                            target.as_ptr(),
                            c"devpts".as_ptr(),
                            libc::MS_NOSUID | libc::MS_NOEXEC,
                            c"newinstance,ptmxmode=0666,mode=620".as_ptr() as *const libc::c_void,
                        ) == 0
                    }
                    Op::Proc => {
                        libc::mount(
                            c"proc".as_ptr(),
                            c"/proc".as_ptr(),
                            c"proc".as_ptr(),
                            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                            std::ptr::null(),
                        ) == 0
                    }
                    Op::Sysfs => {
                        let ro = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                        libc::mount(c"sysfs".as_ptr(), c"/sys".as_ptr(), c"sysfs".as_ptr(), ro, std::ptr::null()) == 0
                            || libc::access(c"/sys/fs/cgroup".as_ptr(), libc::F_OK) != 0
                            || libc::mount(
                                c"tmpfs".as_ptr(),
                                c"/sys/fs/cgroup".as_ptr(),
                                c"tmpfs".as_ptr(),
                                ro,
                                c"mode=755,size=4k".as_ptr() as *const libc::c_void,
                            ) == 0
                    }
                    Op::BindHeld { source, target } => {
                        libc::mount(source.as_ptr(), target.as_ptr(), null, libc::MS_BIND, std::ptr::null()) == 0
                    }
                    Op::Mask { source, target } => {
                        libc::mount(source.as_ptr(), target.as_ptr(), null, libc::MS_BIND, std::ptr::null());
                        true
                    }
                    // An existing directory is fine (parents made earlier).
                    // (On the read-only tree an existing one may answer EROFS.)
                    Op::Mkdir { path } => {
                        libc::mkdir(path.as_ptr(), 0o755) == 0 || libc::access(path.as_ptr(), libc::F_OK) == 0
                    }
                    // O_RDONLY: an existing file on the read-only tree opens.
                    Op::Touch { path } => {
                        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CREAT | libc::O_CLOEXEC, 0o644);
                        fd >= 0 && libc::close(fd) == 0
                    }
                    Op::Symlink { target, path } => libc::symlink(target.as_ptr(), path.as_ptr()) == 0,
                    Op::Hold { path, fd, .. } => {
                        let opened = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
                        opened >= 0 && libc::dup3(opened, *fd, libc::O_CLOEXEC) == *fd && libc::close(opened) == 0
                    }
                    Op::ReadOnly { target } => {
                        libc::mount(
                            null,
                            target.as_ptr(),
                            null,
                            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID,
                            std::ptr::null(),
                        ) == 0
                    }
                    Op::Detach { source } => libc::umount2(source.as_ptr(), libc::MNT_DETACH) == 0,
                    Op::NewRoot { entries } => new_root(entries),
                    Op::Writable { target } => {
                        libc::mount(
                            null,
                            target.as_ptr(),
                            null,
                            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_NOSUID | libc::MS_NODEV,
                            std::ptr::null(),
                        ) == 0
                    }
                };
                if !ok {
                    return Err(match op {
                        Op::Private => "make mounts private",
                        Op::TreeReadOnly => "make the host's file tree read-only (mount_setattr, Linux 5.12+)",
                        Op::Tmpfs { .. } => "mount a tmpfs over /run, /home, /root or /dev",
                        Op::Devpts { .. } => "mount a private devpts",
                        Op::Proc => "mount /proc for the PID namespace",
                        Op::Sysfs => "mount /sys for the network namespace, or cover /sys/fs/cgroup",
                        Op::BindHeld { .. } => "bind HOME, /tmp, a device, an /etc file or a toolchain",
                        Op::Mask { .. } => "mask a host socket",
                        Op::Mkdir { .. } => "create a mount point",
                        Op::Touch { .. } => "create a file mount point",
                        Op::Symlink { .. } => "create a link in /dev",
                        Op::ReadOnly { .. } => "make a bind mount read-only",
                        Op::Writable { .. } => "make HOME or /tmp writable",
                        Op::Detach { .. } => "detach the workspace's own mount",
                        Op::NewRoot { .. } => "make a root without the host's container marker files",
                        Op::Hold { what, .. } => what,
                    });
                }
            }
            for fd in self.held.clone() {
                libc::close(fd);
            }
            if libc::sethostname(self.hostname.as_ptr(), self.hostname.as_bytes().len()) != 0 {
                return Err("set the host name");
            }
            // PID 1 looks like a machine's init, not like pkgtrace: its
            // command line would show the package how pkgtrace was called
            // (the host's paths, the options).
            libc::prctl(libc::PR_SET_NAME, c"systemd".as_ptr(), 0, 0, 0);
            if let Some(layout) = &self.layout {
                let (start, end) = (layout.arg_start as usize, layout.arg_end as usize);
                // SAFETY: arg_start..arg_end of this process (a fork of
                // the one that read them): its stack, mapped and writable.
                let area = std::slice::from_raw_parts_mut(start as *mut u8, end - start);
                area.fill(0);
                let shown = b"/sbin/init";
                let n = shown.len().min(area.len().saturating_sub(1));
                area[..n].copy_from_slice(&shown[..n]);
                // The command line then ends after its NUL (PR_SET_MM_MAP
                // needs no capability; refused, the rest reads as NULs).
                let mut map = *layout;
                map.brk = libc::syscall(libc::SYS_brk, 0) as u64;
                map.arg_end = map.arg_start + n as u64 + 1;
                libc::prctl(
                    libc::PR_SET_MM,
                    libc::PR_SET_MM_MAP,
                    &map as *const MmMap,
                    std::mem::size_of::<MmMap>(),
                    0,
                );
            }
            // No controlling terminal: nothing the run does reaches the
            // terminal pkgtrace was started from.
            if libc::setsid() < 0 {
                return Err("start a new session");
            }
            let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if devnull < 0 || libc::dup2(devnull, 0) < 0 {
                return Err("open /dev/null as stdin");
            }
            for (fd, target) in [(self.stdout_fd, 1), (self.stderr_fd, 2)] {
                if libc::dup2(fd.unwrap_or(devnull), target) < 0 {
                    return Err("set up stdout and stderr");
                }
            }
            if devnull > 2 {
                libc::close(devnull);
            }
        }
        Ok(())
    }

    /// In the command's own process, forked by the init: limits, the run's
    /// uid and gid, keyrings of its own, the work directory, no inherited
    /// descriptor above 2.
    fn apply_command(&self) -> Result<(), &'static str> {
        // SAFETY (whole block): as in `apply_init`.
        unsafe {
            for &(resource, limit) in &self.rlimits {
                let lim = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                if libc::setrlimit(resource, &lim) != 0 {
                    return Err("set resource limits");
                }
            }
            // The login uid is the user's own, as after a login (glibc's
            // getlogin() answers from it; unset, it looks for a terminal
            // there is none of and fails, and so does Python's
            // os.getlogin()), not the invoking user's. Kept as it is where
            // the kernel refuses (no audit support, an immutable one).
            let fd = libc::open(c"/proc/self/loginuid".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                let uid = self.loginuid.as_bytes();
                libc::write(fd, uid.as_ptr() as *const libc::c_void, uid.len());
                libc::close(fd);
            }
            // Raw syscalls: glibc's wrappers broadcast the change to every
            // thread glibc believes the process has (it was cloned from a
            // multithreaded one without glibc's fork) and wait for them
            // forever. Credentials are per task; this process has one.
            if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
                || libc::syscall(libc::SYS_setresgid, self.gid, self.gid, self.gid) != 0
                || libc::syscall(libc::SYS_setresuid, self.uid, self.uid, self.uid) != 0
            {
                return Err("drop privileges");
            }
            // The kernel keyrings. A new anonymous session keyring: the
            // command would otherwise share pkgtrace's, the invoking
            // user's, and whoever has a session keyring may read the keys
            // in it (root's session keys, whatever its uid). Then the run
            // uid's own keyrings are emptied: they outlive every process of
            // the uid, so an earlier run's package could have left a key
            // for this one. A kernel without keyrings has none to leak.
            let keyctl = |op: u32, arg: i32| {
                let r = libc::syscall(libc::SYS_keyctl, op, arg);
                r >= 0 || *libc::__errno_location() == libc::ENOSYS
            };
            if !keyctl(libc::KEYCTL_JOIN_SESSION_KEYRING, 0)
                || !keyctl(libc::KEYCTL_CLEAR, libc::KEY_SPEC_USER_KEYRING)
                || !keyctl(libc::KEYCTL_CLEAR, libc::KEY_SPEC_USER_SESSION_KEYRING)
            {
                return Err("give the command keyrings of its own");
            }
            if libc::chdir(self.cwd.as_ptr()) != 0 {
                return Err("enter the work directory");
            }
        }
        Ok(())
    }
}

/// Files at the host's root that tell a container or a sandbox from a
/// developer's machine (malware checks `/.dockerenv` before it acts); the
/// sandbox's root does not have them.
const HIDDEN_AT_ROOT: &[&str] = &[".dockerenv", ".dockerinit", "container_info.json"];

/// One entry of the sandbox's root: a directory or file bound (with what
/// is mounted below it) from the old root, or a symlink made again.
#[derive(Debug)]
pub struct RootEntry {
    /// `/<name>` in the new root.
    at: CString,
    /// `/.old-root/<name>`: the entry after the pivot.
    from: CString,
    kind: RootKind,
}

#[derive(Debug)]
enum RootKind {
    Dir,
    File,
    Symlink(CString),
}

/// Where the new root is made, where the old root goes in it, and where
/// the old root is then, while the new one is filled.
const NEW_ROOT: &std::ffi::CStr = c"/run/.new-root";
const OLD_ROOT_IN_NEW: &std::ffi::CStr = c"/run/.new-root/.old-root";
const OLD_ROOT: &std::ffi::CStr = c"/.old-root";

/// The root's entries but the hidden ones, when the host has one of those
/// (else None: the root stays as it is).
fn root_entries() -> io::Result<Option<Vec<RootEntry>>> {
    if !HIDDEN_AT_ROOT.iter().any(|n| Path::new("/").join(n).symlink_metadata().is_ok()) {
        return Ok(None);
    }
    let mut entries = Vec::new();
    for entry in std::fs::read_dir("/")? {
        let entry = entry?;
        let name = entry.file_name();
        if HIDDEN_AT_ROOT.iter().any(|h| name == *h) {
            continue;
        }
        let ty = entry.file_type()?;
        let kind = if ty.is_symlink() {
            RootKind::Symlink(cstr(std::fs::read_link(entry.path())?)?)
        } else if ty.is_dir() {
            RootKind::Dir
        } else {
            RootKind::File
        };
        entries.push(RootEntry {
            at: cstr(Path::new("/").join(&name))?,
            from: cstr(Path::new(std::ffi::OsStr::from_bytes(OLD_ROOT.to_bytes())).join(&name))?,
            kind,
        });
    }
    Ok(Some(entries))
}

/// Moves the init into a new root (a tmpfs) holding `entries` from the
/// current one: pivot first, then bind each from under the old root, so no
/// bind copies the new root into itself. The old root is detached after.
///
/// # Safety
/// Raw syscalls on NUL-terminated strings owned by `entries` and static C
/// strings; no allocation.
unsafe fn new_root(entries: &[RootEntry]) -> bool {
    let null = std::ptr::null::<libc::c_char>();
    let base = NEW_ROOT;
    let ok = (libc::mkdir(base.as_ptr(), 0o755) == 0 || *libc::__errno_location() == libc::EEXIST)
        && libc::mount(
            c"tmpfs".as_ptr(),
            base.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            c"mode=755,size=64k".as_ptr() as *const libc::c_void,
        ) == 0
        && libc::mkdir(OLD_ROOT_IN_NEW.as_ptr(), 0o700) == 0
        && libc::syscall(libc::SYS_pivot_root, base.as_ptr(), OLD_ROOT_IN_NEW.as_ptr()) == 0
        && libc::chdir(c"/".as_ptr()) == 0;
    if !ok {
        return false;
    }
    for e in entries {
        // A symlink is made again; a directory or file gets a mount point,
        // and the old one is bound there with what is mounted below it.
        let point = match &e.kind {
            RootKind::Symlink(target) => {
                if libc::symlink(target.as_ptr(), e.at.as_ptr()) != 0 {
                    return false;
                }
                continue;
            }
            RootKind::Dir => libc::mkdir(e.at.as_ptr(), 0o755) == 0,
            RootKind::File => {
                let fd = libc::open(e.at.as_ptr(), libc::O_RDONLY | libc::O_CREAT | libc::O_CLOEXEC, 0o644);
                fd >= 0 && libc::close(fd) == 0
            }
        };
        if !point
            || libc::mount(e.from.as_ptr(), e.at.as_ptr(), null, libc::MS_BIND | libc::MS_REC, std::ptr::null()) != 0
        {
            return false;
        }
    }
    libc::umount2(OLD_ROOT.as_ptr(), libc::MNT_DETACH) == 0
        && libc::rmdir(OLD_ROOT.as_ptr()) == 0
        && (libc::rmdir(base.as_ptr()) == 0 || *libc::__errno_location() == libc::ENOENT)
        && libc::mount(
            null,
            c"/".as_ptr(),
            null,
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
            std::ptr::null(),
        ) == 0
}

/// The kernel's `struct prctl_mm_map`: a process's memory layout, set all
/// at once with `PR_SET_MM_MAP`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct MmMap {
    start_code: u64,
    end_code: u64,
    start_data: u64,
    end_data: u64,
    start_brk: u64,
    brk: u64,
    start_stack: u64,
    arg_start: u64,
    arg_end: u64,
    env_start: u64,
    env_end: u64,
    auxv: u64,
    auxv_size: u32,
    exe_fd: u32,
}

impl MmMap {
    /// This process's layout from `/proc/self/stat` (a fork of it has the
    /// same); `brk` is the caller's to fill in, auxv and exe stay as they
    /// are.
    fn own() -> Option<MmMap> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields from the third on follow the last ')' (the name may hold
        // any); field N is at N - 3.
        let fields: Vec<u64> =
            stat[stat.rfind(')')? + 1..].split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
        let at = |n: usize| fields.get(n - 3).copied();
        let map = MmMap {
            start_code: at(26)?,
            end_code: at(27)?,
            start_stack: at(28)?,
            start_data: at(45)?,
            end_data: at(46)?,
            start_brk: at(47)?,
            brk: 0,
            arg_start: at(48)?,
            arg_end: at(49)?,
            env_start: at(50)?,
            env_end: at(51)?,
            auxv: 0,
            auxv_size: 0,
            exe_fd: u32::MAX,
        };
        (map.arg_start != 0 && map.arg_end > map.arg_start).then_some(map)
    }
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const AT_RECURSIVE: libc::c_int = 0x8000;

/// Detaches the mount at `dir` (the workspace's tmpfs).
pub fn unmount(dir: &Path) -> io::Result<()> {
    let target = cstr(dir)?;
    // SAFETY: a NUL-terminated path alive for the call.
    if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl tracer::ptrace::ChildHook for ChildSetup {
    fn env(&self) -> &[CString] {
        &self.env
    }
    fn in_init(&self) -> Result<(), &'static str> {
        self.apply_init()
    }
    fn in_command(&self) -> Result<(), &'static str> {
        self.apply_command()
    }
}
