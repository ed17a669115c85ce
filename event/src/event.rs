//! The event model: one [`Event`] per thing a traced process did.
//!
//! Events are **produced** by every source pkgtrace reads — the tracer
//! crate's strace-log parser and live ptrace backend, a recorded event
//! stream ([`crate::jsonl`]) — and **consumed** by the analyzer, which
//! never knows which source fed it. An event is an envelope with the fields
//! every event has ([`Event`]) plus a [`EventKind`] saying what happened.
//!
//! Design points:
//! - results keep their errno: a failed open of a config file is a finding;
//! - paths and payloads are bytes ([`Bytes`]): Linux paths need not be UTF-8;
//! - nothing is dropped silently: a line that cannot be understood becomes
//!   [`EventKind::Unparsed`] carrying the text and the reason.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::bytes::{Bytes, BytesList};

/// One thing a traced task did, with where and when it was seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the stream, from 0, in the order the source produced it.
    pub seq: u64,
    /// The task (thread id) that did it, as the kernel numbers it.
    pub pid: i32,
    /// When, in nanoseconds, on the source's own clock: since midnight for
    /// strace `-t`/`-tt`, since the epoch for `-ttt`, since the previous line
    /// for `-r`. Absent when the source printed no time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ns: Option<u64>,
    /// How long the system call took (strace `-T`), in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ns: Option<u64>,
    /// Where the event came from.
    pub origin: Origin,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Where an event was observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Origin {
    /// Seen by pkgtrace's own tracer while the command ran.
    Live,
    /// Read from a recorded strace log: the file and the 1-based line on
    /// which the call finished (the `resumed` line for split calls).
    Log { file: Arc<str>, line: u64 },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Live => f.write_str("live"),
            Origin::Log { file, line } => write!(f, "{file}:{line}"),
        }
    }
}

/// What a task did. The variants follow the analyzer's needs, not the
/// syscall table: `open`, `openat`, `openat2` and `creat` are all [`Open`].
///
/// [`Open`]: EventKind::Open
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A new task: fork, vfork, clone, clone3. `thread` when it shares the
    /// parent's address space as a thread (CLONE_THREAD).
    Spawn { syscall: String, child: i32, thread: bool },
    /// execve / execveat. `argv` as far as it was recorded.
    Exec {
        syscall: String,
        path: Bytes,
        argv: Vec<Bytes>,
        /// The source cut argv short (`...` in strace).
        #[serde(default, skip_serializing_if = "is_false")]
        argv_truncated: bool,
        /// The environment when the source recorded it (`strace -v`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        env: Option<BytesList>,
        result: SysResult,
    },
    /// The task ended, normally or by a signal.
    Exit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        core_dumped: bool,
    },
    /// The task was superseded by an exec in another thread of its group;
    /// from now on the group lives on under `pid` (strace's
    /// `+++ superseded by execve in pid N +++`).
    Superseded { by: i32 },
    /// A signal was delivered to the task (or it was stopped by one).
    Signal { signal: String, stopped: bool },
    /// open, openat, openat2, creat.
    Open {
        syscall: String,
        path: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dirfd: Option<Fd>,
        /// The flags as the source printed them, e.g. `O_RDONLY|O_CLOEXEC`.
        flags: String,
        access: Access,
        #[serde(default, skip_serializing_if = "is_false")]
        create: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        truncate: bool,
        result: SysResult,
        /// The path the kernel resolved the new fd to (strace `-y` on the
        /// return value), absolute.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolved: Option<Bytes>,
    },
    /// A lookup that does not open: stat family, access, readlink, statfs.
    Probe {
        syscall: String,
        path: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dirfd: Option<Fd>,
        result: SysResult,
    },
    /// unlink, unlinkat, rmdir.
    Unlink {
        syscall: String,
        path: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dirfd: Option<Fd>,
        result: SysResult,
    },
    /// rename, renameat, renameat2.
    Rename {
        syscall: String,
        from: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_dirfd: Option<Fd>,
        to: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_dirfd: Option<Fd>,
        result: SysResult,
    },
    /// mkdir, mkdirat.
    Mkdir {
        syscall: String,
        path: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dirfd: Option<Fd>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<u32>,
        result: SysResult,
    },
    /// chmod family. `path` is empty and `dirfd` names the file for fchmod.
    Chmod {
        syscall: String,
        path: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dirfd: Option<Fd>,
        mode: Option<u32>,
        result: SysResult,
    },
    /// link, linkat, symlink, symlinkat: `path` is the new name, `target`
    /// what it points at.
    Link {
        syscall: String,
        target: Bytes,
        path: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dirfd: Option<Fd>,
        symbolic: bool,
        result: SysResult,
    },
    /// socket(2): the new fd is `result.value`.
    Socket { family: String, sock_type: String, result: SysResult },
    /// connect(2).
    Connect { fd: Fd, addr: SockAddr, result: SysResult },
    /// bind(2).
    Bind { fd: Fd, addr: SockAddr, result: SysResult },
    /// listen(2).
    Listen { fd: Fd, result: SysResult },
    /// Bytes sent: sendto, sendmsg, sendmmsg, and write/writev (which the
    /// analyzer counts as sending only when the fd is a socket).
    Send {
        syscall: String,
        fd: Fd,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        addr: Option<SockAddr>,
        /// One entry per datagram (sendmmsg sends several); a stream write is one.
        data: Vec<Payload>,
        result: SysResult,
    },
    /// Bytes received with recvfrom/recvmsg: the analyzer reads DNS answers
    /// from them to name the addresses later connects go to.
    Recv {
        syscall: String,
        fd: Fd,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        addr: Option<SockAddr>,
        data: Payload,
        result: SysResult,
    },
    /// What a sandbox sink received on a connection or in a datagram the
    /// run sent (the live tracer routes every internet destination into
    /// the sinks): the destination the task asked for and the first bytes,
    /// decrypted when the sink terminated TLS. Not a system call: the
    /// sink's own record, tied to the task that connected or sent.
    Request {
        /// `tcp` or `udp`.
        transport: String,
        /// `http`, `https`, `tls`, `dns` or `raw`.
        protocol: String,
        addr: SockAddr,
        /// The name the address was resolved from, the TLS server name or
        /// the HTTP `Host`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        data: Payload,
    },
    /// chdir, fchdir.
    Chdir {
        syscall: String,
        path: Bytes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fd: Option<Fd>,
        result: SysResult,
    },
    /// dup, dup2, dup3, fcntl(F_DUPFD*).
    Dup { syscall: String, old: Fd, new: i32, result: SysResult },
    /// close(2).
    Close { fd: Fd, result: SysResult },
    /// ptrace(2).
    Ptrace {
        request: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<i32>,
        result: SysResult,
    },
    /// kill, tkill, tgkill, pidfd_send_signal: a signal sent to another
    /// task. `target` is the pid as the tracer sees it (in a sandbox's PID
    /// namespace the live tracer translates it to the host pid); 0 is the
    /// sender's own process group, -1 every process it may signal, below
    /// -1 a process group.
    Kill { syscall: String, target: i32, signal: String, result: SysResult },
    /// A call the sandbox refused before it ran (the live tracer's seccomp
    /// filter): one that would escape tracing (`clone` with
    /// CLONE_UNTRACED, `io_uring_setup`, a foreign ABI, a seccomp
    /// listener) or reach out of the sandbox (`ioctl(TIOCSTI)` into a
    /// terminal, a new user namespace). `what` says which, in words; the
    /// task got `errno` instead. `args`: the arguments as `Other` gives
    /// them, where a rule tells a runtime's call from another by them
    /// (io_uring_setup's entries and flags); empty for the rest.
    Denied {
        syscall: String,
        what: String,
        errno: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        args: String,
    },
    /// A call the analyzer has no model for but a rule may care about
    /// (process_vm_writev, init_module, mount, setuid, memfd_create, ...).
    Other { syscall: String, args: String, result: SysResult },
    /// A line the source could not understand. Never dropped: counted in
    /// the report's `stats.unparsed` and warned about with file and line.
    Unparsed { text: Bytes, reason: String },
}

impl EventKind {
    /// The short name used in rule files and JSON (`"open"`, `"exec"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Spawn { .. } => "spawn",
            EventKind::Exec { .. } => "exec",
            EventKind::Exit { .. } => "exit",
            EventKind::Superseded { .. } => "superseded",
            EventKind::Signal { .. } => "signal",
            EventKind::Open { .. } => "open",
            EventKind::Request { .. } => "request",
            EventKind::Probe { .. } => "probe",
            EventKind::Unlink { .. } => "unlink",
            EventKind::Rename { .. } => "rename",
            EventKind::Mkdir { .. } => "mkdir",
            EventKind::Chmod { .. } => "chmod",
            EventKind::Link { .. } => "link",
            EventKind::Socket { .. } => "socket",
            EventKind::Connect { .. } => "connect",
            EventKind::Bind { .. } => "bind",
            EventKind::Listen { .. } => "listen",
            EventKind::Send { .. } => "send",
            EventKind::Recv { .. } => "recv",
            EventKind::Chdir { .. } => "chdir",
            EventKind::Dup { .. } => "dup",
            EventKind::Close { .. } => "close",
            EventKind::Ptrace { .. } => "ptrace",
            EventKind::Kill { .. } => "kill",
            EventKind::Denied { .. } => "denied",
            EventKind::Other { .. } => "other",
            EventKind::Unparsed { .. } => "unparsed",
        }
    }
}

/// A file descriptor as an argument, with what the source knew it to be
/// (strace `-y`: `3</etc/passwd>`, `5<TCP:[10.0.0.1:4000->1.2.3.4:443]>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fd {
    pub num: i32,
    /// The decoration as printed (a path, or a socket description), unescaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Bytes>,
}

impl Fd {
    pub fn new(num: i32) -> Fd {
        Fd { num, path: None }
    }
}

/// How a file was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
    ReadWrite,
    /// O_PATH: a handle without read or write access.
    Path,
}

impl Access {
    pub fn reads(self) -> bool {
        matches!(self, Access::Read | Access::ReadWrite)
    }
    pub fn writes(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite)
    }
}

/// The outcome of a system call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SysResult {
    /// The return value; absent when unknown (`= ?`, a call cut off by exit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    /// The errno name when the call failed (`ENOENT`), including the
    /// restart codes (`ERESTARTSYS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
}

impl SysResult {
    pub fn ok(value: i64) -> SysResult {
        SysResult { value: Some(value), errno: None }
    }
    pub fn err(errno: &str) -> SysResult {
        SysResult { value: Some(-1), errno: Some(errno.to_string()) }
    }
    pub fn unknown() -> SysResult {
        SysResult::default()
    }
    /// True when the call is known to have succeeded.
    pub fn success(&self) -> bool {
        self.errno.is_none() && self.value.is_some_and(|v| v >= 0)
    }
    /// True when the call is known to have failed.
    pub fn failed(&self) -> bool {
        self.errno.is_some()
    }
}

/// A socket address as given to connect, bind, sendto, sendmsg.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum SockAddr {
    Inet {
        ip: String,
        port: u16,
    },
    Inet6 {
        ip: String,
        port: u16,
    },
    /// AF_UNIX; `abstract` for the abstract namespace (`@name`).
    Unix {
        path: Bytes,
        #[serde(default, skip_serializing_if = "is_false")]
        r#abstract: bool,
    },
    Netlink {
        pid: u32,
        groups: u32,
    },
    /// Any other family, with the text as printed.
    Other {
        name: String,
        raw: String,
    },
}

impl SockAddr {
    /// The family as rules name it: `inet`, `inet6`, `unix`, `netlink`, or
    /// the raw name.
    pub fn family(&self) -> &str {
        match self {
            SockAddr::Inet { .. } => "inet",
            SockAddr::Inet6 { .. } => "inet6",
            SockAddr::Unix { .. } => "unix",
            SockAddr::Netlink { .. } => "netlink",
            SockAddr::Other { name, .. } => name,
        }
    }
    /// IP and port for internet families.
    pub fn ip_port(&self) -> Option<(&str, u16)> {
        match self {
            SockAddr::Inet { ip, port } | SockAddr::Inet6 { ip, port } => Some((ip, *port)),
            _ => None,
        }
    }
}

impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SockAddr::Inet { ip, port } => write!(f, "{ip}:{port}"),
            SockAddr::Inet6 { ip, port } => write!(f, "[{ip}]:{port}"),
            SockAddr::Unix { path, r#abstract } => {
                write!(f, "{}{}", if *r#abstract { "@" } else { "" }, path)
            }
            SockAddr::Netlink { pid, groups } => write!(f, "netlink:{pid}:{groups:#x}"),
            SockAddr::Other { name, raw } => write!(f, "{name}:{raw}"),
        }
    }
}

/// The first bytes of a buffer a task sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// The bytes the source recorded (strace cuts strings at `-s`).
    pub bytes: Bytes,
    /// The buffer's full length, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<u64>,
    /// `bytes` is only a prefix of the buffer.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}
