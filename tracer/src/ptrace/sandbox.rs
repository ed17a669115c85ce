//! The sandbox a traced command runs in, built from Linux namespaces
//! (no container runtime):
//!
//! - **network**: [`enter_new_netns`] moves the calling (tracer) thread into
//!   a fresh network namespace with only loopback, up. The command forked
//!   from that thread inherits it; sockets bound by that thread before the
//!   fork (the DNS and TCP sinks) live in it too;
//! - **files** ([`ChildSetup`], applied in the forked child before exec): a
//!   private mount namespace; the root file system remounted read-only; fresh
//!   tmpfs over `/tmp`, `/var/tmp`, `/dev/shm`, `/run/lock`, `/home`, `/root`
//!   (the invoking user's home and keys are not visible); the prepared HOME
//!   (canary credentials, the package's work dir) bound at `/home/pkgtrace`;
//!   `/etc/resolv.conf` pointing at the DNS sink; `/etc/passwd` knowing the
//!   sandbox user;
//! - **process**: resource limits (process count, file size), then the
//!   command drops to an unprivileged uid/gid with no supplementary groups,
//!   so package code never runs as root and can write only to its HOME and
//!   the tmpfs mounts.
//!
//! Everything the child does between fork and exec is a raw syscall on
//! data prepared before the fork (async-signal-safe).
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The sandbox user: not root, not the invoking user.
pub const SANDBOX_UID: u32 = 1500;
pub const SANDBOX_GID: u32 = 1500;
/// HOME inside the sandbox.
pub const SANDBOX_HOME: &str = "/home/pkgtrace";

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

/// One step of the child's set-up.
#[derive(Debug)]
enum Op {
    /// Make every mount private to this namespace (no propagation back).
    Private,
    /// Remount the root read-only (this namespace's view only).
    RootReadOnly,
    Tmpfs {
        target: CString,
        options: CString,
    },
    Bind {
        source: CString,
        target: CString,
    },
    Mkdir {
        path: CString,
    },
    /// Make a bind mount read-only.
    ReadOnly {
        target: CString,
    },
    /// Hold a directory open (O_PATH) at a fixed fd before it is covered,
    /// to bind it later from `/proc/self/fd/N`.
    Hold {
        path: CString,
        fd: i32,
    },
    /// Close a held fd.
    Release {
        fd: i32,
    },
}

/// The first fd number used to hold directories across a cover.
const HELD_FD_BASE: i32 = 900;

/// What the forked child does before exec, prepared before the fork.
#[derive(Debug)]
pub struct ChildSetup {
    ops: Vec<Op>,
    rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    uid: u32,
    gid: u32,
    cwd: CString,
    /// The command's whole environment.
    pub(crate) env: Vec<CString>,
    /// Files the command's stdout and stderr go to (already open, inherited).
    stdout_fd: Option<i32>,
    stderr_fd: Option<i32>,
}

fn cstr(p: impl AsRef<Path>) -> io::Result<CString> {
    CString::new(p.as_ref().as_os_str().as_bytes()).map_err(|_| io::Error::other("path with a NUL byte"))
}

/// How to build the sandbox for one run.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// A host directory prepared as the sandbox's HOME (owned by the
    /// sandbox uid); bound at [`SANDBOX_HOME`].
    pub home: std::path::PathBuf,
    /// A host directory with `resolv.conf` and `passwd` for the sandbox.
    pub etc: std::path::PathBuf,
    /// The working directory inside (e.g. `/home/pkgtrace/project`).
    pub cwd: String,
    /// The command's environment (`KEY=value`).
    pub env: Vec<String>,
    /// Size of each tmpfs, e.g. "512m": a package that fills the disk fills this.
    pub tmpfs_size: String,
    /// Most processes the sandbox user may have at once.
    pub max_processes: u64,
    /// Largest file the command may write, in bytes.
    pub max_file_size: u64,
    /// Host directories the command needs but that are covered by the
    /// sandbox (a toolchain under /root), bound read-only at the same path.
    pub ro_binds: Vec<std::path::PathBuf>,
    /// Open files for the command's stdout and stderr.
    pub stdout_fd: Option<i32>,
    pub stderr_fd: Option<i32>,
}

impl ChildSetup {
    pub fn new(spec: &SandboxSpec) -> io::Result<ChildSetup> {
        let tmpfs = |target: &str, mode: &str| -> io::Result<Op> {
            Ok(Op::Tmpfs {
                target: cstr(target)?,
                options: CString::new(format!("mode={mode},size={}", spec.tmpfs_size)).map_err(io::Error::other)?,
            })
        };
        // The binds come first: a bind mount copies its source mount's flags,
        // so made after the root is read-only, HOME would be read-only too;
        // and their sources may live under a directory covered later (a bind
        // holds on to its source, not its path).
        let mut ops = vec![Op::Private];
        ops.push(tmpfs("/home", "755")?);
        ops.push(Op::Mkdir { path: cstr(SANDBOX_HOME)? });
        ops.push(Op::Bind { source: cstr(&spec.home)?, target: cstr(SANDBOX_HOME)? });
        for f in ["resolv.conf", "passwd", "group", "hosts"] {
            let source = spec.etc.join(f);
            if source.exists() {
                ops.push(Op::Bind { source: cstr(&source)?, target: cstr(Path::new("/etc").join(f))? });
            }
        }
        ops.push(Op::RootReadOnly);
        // Directories shown read-only later are opened now, before the
        // tmpfs below covers them.
        for (i, dir) in spec.ro_binds.iter().enumerate() {
            ops.push(Op::Hold { path: cstr(dir)?, fd: HELD_FD_BASE + i as i32 });
        }
        // Every other place an ordinary user could write on this machine.
        for (dir, mode) in
            [("/tmp", "1777"), ("/var/tmp", "1777"), ("/dev/shm", "1777"), ("/run/lock", "1777"), ("/root", "755")]
        {
            if Path::new(dir).is_dir() {
                ops.push(tmpfs(dir, mode)?);
            }
        }
        // Read-only views of host directories the command needs (created
        // in a tmpfs mounted above, so only under /root, /tmp, ...).
        for (i, dir) in spec.ro_binds.iter().enumerate() {
            let mut prefix = std::path::PathBuf::from("/");
            for part in dir.components().skip(1) {
                prefix.push(part);
                ops.push(Op::Mkdir { path: cstr(&prefix)? });
            }
            let fd = HELD_FD_BASE + i as i32;
            ops.push(Op::Bind { source: cstr(format!("/proc/self/fd/{fd}"))?, target: cstr(dir)? });
            ops.push(Op::ReadOnly { target: cstr(dir)? });
            ops.push(Op::Release { fd });
        }
        let env =
            spec.env.iter().map(|e| CString::new(e.as_bytes()).map_err(io::Error::other)).collect::<Result<_, _>>()?;
        Ok(ChildSetup {
            ops,
            rlimits: vec![(libc::RLIMIT_NPROC, spec.max_processes), (libc::RLIMIT_FSIZE, spec.max_file_size)],
            uid: SANDBOX_UID,
            gid: SANDBOX_GID,
            cwd: cstr(&spec.cwd)?,
            env,
            stdout_fd: spec.stdout_fd,
            stderr_fd: spec.stderr_fd,
        })
    }

    /// In the forked child: build the sandbox around itself. Raw syscalls
    /// only; returns the step that failed.
    pub(crate) fn apply(&self) -> Result<(), &'static str> {
        let null = std::ptr::null::<libc::c_char>();
        // SAFETY (whole block): every pointer passed is a NUL-terminated
        // CString owned by `self`, alive for the call, or NULL where the
        // syscall allows it; no memory is allocated.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err("unshare the mount namespace");
            }
            for op in &self.ops {
                let ok = match op {
                    Op::Private => {
                        libc::mount(null, c"/".as_ptr(), null, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) == 0
                    }
                    Op::RootReadOnly => {
                        libc::mount(
                            null,
                            c"/".as_ptr(),
                            null,
                            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                            std::ptr::null(),
                        ) == 0
                    }
                    Op::Tmpfs { target, options } => {
                        libc::mount(
                            c"tmpfs".as_ptr(),
                            target.as_ptr(),
                            c"tmpfs".as_ptr(),
                            libc::MS_NOSUID | libc::MS_NODEV,
                            options.as_ptr() as *const libc::c_void,
                        ) == 0
                    }
                    Op::Bind { source, target } => {
                        libc::mount(source.as_ptr(), target.as_ptr(), null, libc::MS_BIND, std::ptr::null()) == 0
                    }
                    // An existing directory is fine (parents made earlier).
                    Op::Mkdir { path } => {
                        libc::mkdir(path.as_ptr(), 0o755) == 0 || *libc::__errno_location() == libc::EEXIST
                    }
                    Op::Hold { path, fd } => {
                        let opened = libc::open(path.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC);
                        opened >= 0 && libc::dup3(opened, *fd, libc::O_CLOEXEC) == *fd && libc::close(opened) == 0
                    }
                    Op::Release { fd } => libc::close(*fd) == 0,
                    Op::ReadOnly { target } => {
                        libc::mount(
                            null,
                            target.as_ptr(),
                            null,
                            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                            std::ptr::null(),
                        ) == 0
                    }
                };
                if !ok {
                    return Err(match op {
                        Op::Private => "make mounts private",
                        Op::RootReadOnly => "remount / read-only",
                        Op::Tmpfs { .. } => "mount a tmpfs",
                        Op::Bind { .. } => "bind-mount the sandbox's HOME or /etc files",
                        Op::Mkdir { .. } => "create a mount point",
                        Op::ReadOnly { .. } => "make a bind mount read-only",
                        Op::Hold { .. } | Op::Release { .. } => "hold a directory to show read-only",
                    });
                }
            }
            for &(resource, limit) in &self.rlimits {
                let lim = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                if libc::setrlimit(resource, &lim) != 0 {
                    return Err("set resource limits");
                }
            }
            if let Some(fd) = self.stdout_fd {
                libc::dup2(fd, 1);
            }
            if let Some(fd) = self.stderr_fd {
                libc::dup2(fd, 2);
            }
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(self.gid, self.gid, self.gid) != 0
                || libc::setresuid(self.uid, self.uid, self.uid) != 0
            {
                return Err("drop privileges");
            }
            if libc::chdir(self.cwd.as_ptr()) != 0 {
                return Err("enter the work directory");
            }
        }
        Ok(())
    }
}
