//! From one complete call (`name`, the text after `(`) to an [`EventKind`].
//!
//! [`interest`] is the hot-path filter: it decides from the name alone
//! whether a call is worth parsing, so the many `mmap`, `read`, `fstat` lines
//! of a real log cost one table lookup each. [`decode`] does the rest.

use event::Bytes;
use event::{Access, EventKind, Fd, Payload, SockAddr, SysResult};

use super::value::{self, split_top};

pub use crate::interest::Interest;

/// The hot-path filter: None for calls pkgtrace has no use for.
pub fn interest(name: &[u8]) -> Option<Interest> {
    use Interest::*;
    Some(match name {
        b"open" | b"openat" | b"openat2" | b"creat" => Open,
        b"stat" | b"lstat" | b"newfstatat" | b"fstatat64" | b"statx" | b"access" | b"faccessat" | b"faccessat2"
        | b"readlink" | b"readlinkat" | b"statfs" | b"stat64" | b"lstat64" => Probe,
        b"execve" | b"execveat" => Exec,
        b"fork" | b"vfork" | b"clone" | b"clone3" => Spawn,
        b"unlink" | b"unlinkat" | b"rmdir" => Unlink,
        b"rename" | b"renameat" | b"renameat2" => Rename,
        b"mkdir" | b"mkdirat" => Mkdir,
        b"chmod" | b"fchmod" | b"fchmodat" | b"fchmodat2" => Chmod,
        b"link" | b"linkat" | b"symlink" | b"symlinkat" => Link,
        b"socket" => Socket,
        b"connect" => Connect,
        b"bind" => Bind,
        b"listen" => Listen,
        b"sendto" | b"send" | b"sendmsg" | b"sendmmsg" | b"write" | b"writev" => Send,
        b"recvfrom" | b"recvmsg" => Recv,
        b"chdir" | b"fchdir" => Chdir,
        b"dup" | b"dup2" | b"dup3" => Dup,
        b"fcntl" | b"fcntl64" => Fcntl,
        b"close" => Close,
        b"ptrace" => Ptrace,
        b"kill" | b"tkill" | b"tgkill" | b"pidfd_send_signal" => Kill,
        b"process_vm_writev" | b"process_vm_readv" | b"init_module" | b"finit_module" | b"delete_module" | b"mount"
        | b"umount2" | b"memfd_create" | b"setuid" | b"setgid" | b"setreuid" | b"setregid" | b"setresuid"
        | b"setresgid" | b"chroot" | b"pivot_root" | b"unshare" | b"setns" | b"kexec_load" | b"kexec_file_load"
        | b"bpf" | b"prctl" | b"personality" | b"fsopen" | b"fspick" | b"fsmount" | b"move_mount" | b"open_tree"
        | b"mount_setattr" | b"open_by_handle_at" | b"keyctl" | b"add_key" | b"request_key" | b"mknod" | b"mknodat"
        | b"pidfd_getfd" | b"userfaultfd" | b"reboot" | b"swapon" | b"swapoff" | b"settimeofday" | b"clock_settime"
        | b"sethostname" | b"setdomainname" | b"iopl" | b"ioperm" | b"io_uring_setup" | b"seccomp" => Other,
        _ => return None,
    })
}

/// A cheap look at a write's fd decoration: `write(1</dev/pts/0>, ...)` or a
/// pipe is not a socket, so there is no point decoding its buffer.
pub fn is_plain_file_write(rest: &[u8]) -> bool {
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    match rest.get(digits..) {
        Some(d) if d.first() == Some(&b'<') => {
            let d = &d[1..];
            d.starts_with(b"/") || d.starts_with(b"pipe:") || d.starts_with(b"anon_inode:") || d.starts_with(b"NETLINK")
        }
        _ => false,
    }
}

/// The parsed tail of a call: `= value [ERRNO (text)] [<duration>]`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ret {
    pub result: SysResult,
    /// The `-y` decoration of a returned fd, unescaped.
    pub decoration: Option<Vec<u8>>,
    pub duration_ns: Option<u64>,
}

/// Parses what follows the closing `)` of the arguments.
pub fn ret(tail: &[u8]) -> Option<Ret> {
    let tail = tail.trim_ascii();
    let tail = tail.strip_prefix(b"=")?.trim_ascii_start();
    let mut out = Ret::default();
    let tok_end = value_end(tail);
    let tok = &tail[..tok_end];
    let mut rest = tail[tok_end..].trim_ascii_start();
    if tok != b"?" {
        out.result.value = value::int(tok);
        out.result.value?;
        if let Some(p) = memchr::memchr(b'<', tok) {
            out.decoration = Some(value::decoration_text(&tok[p..]));
        }
    }
    // errno: an upper-case word starting with E (ENOENT, ERESTARTSYS, ...).
    let word_len = rest.iter().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || **c == b'_').count();
    if word_len > 1 && rest[0] == b'E' {
        out.result.errno = Some(event::bytes::lossy(&rest[..word_len]).into_owned());
        rest = &rest[word_len..];
    }
    // -T duration: the last `<0.000123>` on the line.
    if let Some(body) = rest.strip_suffix(b">") {
        if let Some(open) = memchr::memrchr(b'<', body) {
            out.duration_ns = super::line::time_ns(&body[open + 1..]);
        }
    }
    Some(out)
}

/// End of the return-value token: up to a blank, but through a decoration.
fn value_end(s: &[u8]) -> usize {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b' ' | b'\t' => return i,
            b'<' if i > 0 && s[i - 1].is_ascii_alphanumeric() => i = value::skip_decoration(s, i),
            _ => i += 1,
        }
    }
    s.len()
}

/// How many leading arguments of a probe are read: up to its path (and
/// statx's flags). What follows is a struct the kernel filled in (`stat`'s
/// and `statx`'s, with `-v` some 500 bytes: half of a real npm log's
/// bytes), a buffer or a mode, none of which a probe reports.
fn probe_args(name: &[u8]) -> usize {
    match name {
        b"statx" => 3,
        b"newfstatat" | b"fstatat64" | b"faccessat" | b"faccessat2" | b"readlinkat" => 2,
        _ => 1,
    }
}

/// The call's arguments (those it needs) and the index of the `)` that
/// ends them. A probe's arguments past the ones it reads are not split:
/// its end is the last `) = ` of the line. Nothing after the arguments of
/// a call that returns a plain number holds `) = ` (an errno's text is
/// `ENOENT (No such file or directory)`, a duration `<0.000012>`), while a
/// path before may hold anything: the last one is the real end.
fn split_args<'a>(kind: Interest, name: &[u8], rest: &'a [u8]) -> (Vec<&'a [u8]>, usize) {
    if kind == Interest::Probe {
        let (args, at, more) = value::split_top_first(rest, probe_args(name));
        if !more {
            return (args, at);
        }
        // The last `=` preceded by `) ` and followed by a blank.
        let tail = &rest[at..];
        let mut upto = tail.len();
        while let Some(eq) = memchr::memrchr(b'=', &tail[..upto]) {
            if eq >= 2 && &tail[eq - 2..eq] == b") " && tail.get(eq + 1) == Some(&b' ') {
                return (args, at + eq - 2);
            }
            upto = eq;
        }
    }
    split_top(rest)
}

/// Decodes a complete call. `rest` is everything after `name(`. Returns
/// `Ok(None)` for calls that, once read, turn out to carry nothing (an fstat
/// through `newfstatat(fd, "", ..., AT_EMPTY_PATH)`, a write to a file), and
/// `Err(reason)` when the text cannot be read.
pub fn decode(kind: Interest, name: &[u8], rest: &[u8]) -> Result<Option<(EventKind, Ret)>, &'static str> {
    let (args, end) = split_args(kind, name, rest);
    if rest.get(end) != Some(&b')') {
        return Err("unbalanced argument list");
    }
    let ret = ret(&rest[end + 1..]).ok_or("no return value after ')'")?;
    let syscall = || event::bytes::lossy(name).into_owned();
    let arg = |i: usize| args.get(i).copied().unwrap_or(b"");
    let path = |i: usize| value::string(arg(i)).map(|s| s.0).unwrap_or_default().into();
    let result = ret.result.clone();
    let kind = match kind {
        Interest::Open => {
            let (dirfd, p, flags_arg) = match name {
                b"open" => (None, 0, 1),
                b"creat" => (None, 0, usize::MAX),
                _ => (value::dirfd(arg(0)), 1, 2),
            };
            let raw_flags = if flags_arg == usize::MAX {
                &b"O_CREAT|O_WRONLY|O_TRUNC"[..]
            } else if name == b"openat2" {
                value::inner(arg(2)).and_then(|b| value::field(b, b"flags")).unwrap_or(b"")
            } else {
                arg(flags_arg)
            };
            let f = OpenFlags::parse(raw_flags);
            EventKind::Open {
                syscall: syscall(),
                path: path(p),
                dirfd,
                flags: event::bytes::lossy(raw_flags).into_owned(),
                access: f.access,
                create: f.create,
                truncate: f.truncate,
                result,
                resolved: ret.decoration.as_ref().filter(|d| d.starts_with(b"/")).map(|d| d.clone().into()),
            }
        }
        Interest::Probe => {
            let (dirfd, p) = match name {
                b"newfstatat" | b"fstatat64" | b"statx" | b"faccessat" | b"faccessat2" | b"readlinkat" => {
                    (value::dirfd(arg(0)), 1)
                }
                _ => (None, 0),
            };
            let path: Bytes = path(p);
            // The flags argument, by name or (-X raw) by value
            // (newfstatat's is past the arguments split).
            let all;
            let flags = match name {
                b"statx" => Some(arg(2)),
                b"newfstatat" | b"fstatat64" | b"faccessat2" if path.is_empty() => {
                    all = split_top(rest).0;
                    Some(all.get(3).copied().unwrap_or(b""))
                }
                _ => None,
            };
            // strace 6.1's -X raw prints statx's flags as `|0x1000` (its zero
            // AT_STATX_SYNC_AS_STAT part printed as nothing).
            let empty_path = |f: &[u8]| {
                let number = f.trim_ascii_start().strip_prefix(b"|").unwrap_or(f);
                value::has_flag(f, b"AT_EMPTY_PATH")
                    || value::int(number).is_some_and(|v| v & i64::from(libc::AT_EMPTY_PATH) != 0)
            };
            if path.is_empty() && flags.is_some_and(empty_path) {
                return Ok(None); // an fstat in disguise
            }
            EventKind::Probe { syscall: syscall(), path, dirfd, result }
        }
        Interest::Exec => {
            let (dirfd, p) = if name == b"execveat" { (value::dirfd(arg(0)), 1) } else { (None, 0) };
            let (argv, argv_truncated) = value::string_array(arg(p + 1));
            let env_arg = arg(p + 2);
            let env = env_arg
                .trim_ascii_start()
                .starts_with(b"[")
                .then(|| value::string_array(env_arg).0.into_iter().collect());
            let mut path: Bytes = path(p);
            if let (Some(dir), false) =
                (dirfd.as_ref().and_then(|d: &Fd| d.path.clone()), path.as_slice().starts_with(b"/"))
            {
                let mut joined = dir.0;
                joined.push(b'/');
                joined.extend_from_slice(path.as_slice());
                path = joined.into();
            }
            EventKind::Exec {
                syscall: syscall(),
                path,
                argv: argv.into_iter().map(Into::into).collect(),
                argv_truncated,
                env,
                result,
            }
        }
        Interest::Spawn => {
            let flags = match name {
                b"clone" => args.iter().find_map(|a| a.strip_prefix(b"flags=")),
                b"clone3" => value::inner(arg(0)).and_then(|b| value::field(b, b"flags")),
                _ => None,
            };
            // A child strace could not follow either (it is not in the
            // log): reported as the attempt it is, whatever its result, as a
            // live run does.
            if flags.is_some_and(|f| clone_flag(f, b"CLONE_UNTRACED", libc::CLONE_UNTRACED)) {
                return Ok(Some((other(name, rest, end, result), ret)));
            }
            let child = match result.value {
                Some(v) if v > 0 && result.errno.is_none() => v as i32,
                // 0 is the child's own view of fork. A spawn that failed
                // (EAGAIN at a process limit) or was interrupted and will be
                // made again (`= ? ERESTARTNOINTR`, common in a program
                // taking signals) made nothing: no event, as in a live run,
                // which does not stop on spawns. As an Other event it read
                // as an escape from tracing (untraceable-call).
                _ => return Ok(None),
            };
            let thread = flags.is_some_and(clone_thread);
            EventKind::Spawn { syscall: syscall(), child, thread }
        }
        Interest::Unlink => {
            let (dirfd, p) = if name == b"unlinkat" { (value::dirfd(arg(0)), 1) } else { (None, 0) };
            EventKind::Unlink { syscall: syscall(), path: path(p), dirfd, result }
        }
        Interest::Rename => {
            let (fd1, p1, fd2, p2) =
                if name == b"rename" { (None, 0, None, 1) } else { (value::dirfd(arg(0)), 1, value::dirfd(arg(2)), 3) };
            EventKind::Rename {
                syscall: syscall(),
                from: path(p1),
                from_dirfd: fd1,
                to: path(p2),
                to_dirfd: fd2,
                result,
            }
        }
        Interest::Mkdir => {
            let (dirfd, p) = if name == b"mkdirat" { (value::dirfd(arg(0)), 1) } else { (None, 0) };
            let mode = value::int(arg(p + 1)).map(|m| m as u32);
            EventKind::Mkdir { syscall: syscall(), path: path(p), dirfd, mode, result }
        }
        Interest::Chmod => {
            let (dirfd, p, m) = match name {
                b"chmod" => (None, Some(0), 1),
                b"fchmod" => (value::fd(arg(0)), None, 1),
                _ => (value::dirfd(arg(0)), Some(1), 2),
            };
            let path = p.map(path).unwrap_or_default();
            let mode = value::int(arg(m)).map(|m| m as u32);
            EventKind::Chmod { syscall: syscall(), path, dirfd, mode, result }
        }
        Interest::Link => {
            let (target, dirfd, p) = match name {
                b"link" | b"symlink" => (path(0), None, 1),
                b"linkat" => (path(1), value::dirfd(arg(2)), 3),
                _ => (path(0), value::dirfd(arg(1)), 2), // symlinkat
            };
            let symbolic = name.starts_with(b"sym");
            EventKind::Link { syscall: syscall(), target, path: path(p), dirfd, symbolic, result }
        }
        Interest::Socket => EventKind::Socket { family: family_name(arg(0)), sock_type: first_flag(arg(1)), result },
        Interest::Connect | Interest::Bind => {
            let fd = value::fd(arg(0)).ok_or("bad fd")?;
            let addr = value::sockaddr(arg(1)).unwrap_or_else(|| SockAddr::Other {
                name: "unknown".into(),
                raw: event::bytes::lossy(arg(1)).into_owned(),
            });
            if kind == Interest::Connect {
                EventKind::Connect { fd, addr, result }
            } else {
                EventKind::Bind { fd, addr, result }
            }
        }
        Interest::Listen => EventKind::Listen { fd: value::fd(arg(0)).ok_or("bad fd")?, result },
        Interest::Send => {
            let fd = value::fd(arg(0)).ok_or("bad fd")?;
            let (addr, data) = match name {
                b"write" | b"send" => (None, vec![payload(arg(1), value::int(arg(2)))]),
                b"sendto" => (value::sockaddr(arg(4)), vec![payload(arg(1), value::int(arg(2)))]),
                b"writev" => (None, vec![iovec(arg(1))]),
                b"sendmsg" => {
                    let (addr, data) = msghdr(arg(1));
                    (addr, vec![data])
                }
                _ => {
                    // sendmmsg: one payload per message; the address of the first.
                    let mut addr = None;
                    let mut data = Vec::new();
                    if let Some(body) = value::inner(arg(1)) {
                        for item in split_top(body).0 {
                            let hdr = value::inner(item).and_then(|b| value::field(b, b"msg_hdr")).unwrap_or(b"");
                            let (a, d) = msghdr(hdr);
                            addr = addr.or(a);
                            data.push(d);
                        }
                    }
                    (addr, data)
                }
            };
            EventKind::Send { syscall: syscall(), fd, addr, data, result }
        }
        Interest::Recv => {
            let fd = value::fd(arg(0)).ok_or("bad fd")?;
            let (addr, data) = if name == b"recvfrom" {
                (value::sockaddr(arg(4)), payload(arg(1), result.value.filter(|v| *v >= 0)))
            } else {
                msghdr(arg(1))
            };
            EventKind::Recv { syscall: syscall(), fd, addr, data, result }
        }
        Interest::Chdir => {
            if name == b"fchdir" {
                let fd = value::fd(arg(0));
                let path = fd.as_ref().and_then(|f| f.path.clone()).unwrap_or_default();
                EventKind::Chdir { syscall: syscall(), path, fd, result }
            } else {
                EventKind::Chdir { syscall: syscall(), path: path(0), fd: None, result }
            }
        }
        Interest::Dup => {
            let old = value::fd(arg(0)).ok_or("bad fd")?;
            let new = match name {
                b"dup" => result.value.unwrap_or(-1) as i32,
                _ => value::fd(arg(1)).map_or(-1, |f| f.num),
            };
            EventKind::Dup { syscall: syscall(), old, new, result }
        }
        Interest::Fcntl => {
            let cmd = value::strip_comment(arg(1));
            // F_DUPFD and F_DUPFD_CLOEXEC, by name or (-X raw) by value.
            let dupfd = cmd.0.starts_with(b"F_DUPFD")
                || cmd.1.is_some_and(|c| c.starts_with(b"F_DUPFD"))
                || value::int(cmd.0)
                    .is_some_and(|c| c == i64::from(libc::F_DUPFD) || c == i64::from(libc::F_DUPFD_CLOEXEC));
            if !dupfd {
                return Ok(None);
            }
            let old = value::fd(arg(0)).ok_or("bad fd")?;
            EventKind::Dup { syscall: syscall(), old, new: result.value.unwrap_or(-1) as i32, result }
        }
        Interest::Close => EventKind::Close { fd: value::fd(arg(0)).ok_or("bad fd")?, result },
        Interest::Ptrace => {
            let request = event::bytes::lossy(value::strip_comment(arg(0)).0).into_owned();
            let target = args.get(1).and_then(|a| value::int(a)).map(|t| t as i32);
            EventKind::Ptrace { request, target, result }
        }
        Interest::Kill => {
            let (target, signal) = match name {
                b"tgkill" => (value::int(arg(1)), arg(2)),
                // `-yy` names the process a pidfd refers to: `3<pid:1234>`.
                b"pidfd_send_signal" => (value::fd(arg(0)).and_then(|f| pidfd_target(f.path.as_ref())), arg(1)),
                _ => (value::int(arg(0)), arg(1)),
            };
            match target.and_then(|t| i32::try_from(t).ok()) {
                Some(target) => {
                    EventKind::Kill { syscall: syscall(), target, signal: crate::signal::from_strace(signal), result }
                }
                // A pidfd strace did not decorate: who got the signal is unknown.
                None => other(name, rest, end, result),
            }
        }
        // Of the filters installed, only one with a listener is news.
        Interest::Other if name == b"seccomp" && !seccomp_listener(&args) => return Ok(None),
        Interest::Other => other(name, rest, end, result),
    };
    Ok(Some((kind, ret)))
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, ...) with
/// SECCOMP_FILTER_FLAG_NEW_LISTENER, symbolic or raw (`-X raw`).
fn seccomp_listener(args: &[&[u8]]) -> bool {
    let (op, flags) = (args.first().copied().unwrap_or_default(), args.get(1).copied().unwrap_or_default());
    let filter = op == b"SECCOMP_SET_MODE_FILTER" || value::int(op) == Some(i64::from(libc::SECCOMP_SET_MODE_FILTER));
    filter
        && (value::has_flag(flags, b"SECCOMP_FILTER_FLAG_NEW_LISTENER")
            || value::int(flags).is_some_and(|f| f as u64 & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0))
}

fn other(name: &[u8], rest: &[u8], end: usize, result: SysResult) -> EventKind {
    const MAX_ARGS_TEXT: usize = 256;
    let args = &rest[..end.min(MAX_ARGS_TEXT)];
    EventKind::Other {
        syscall: event::bytes::lossy(name).into_owned(),
        args: event::bytes::lossy(args).into_owned(),
        result,
    }
}

/// The pid in a pidfd's `-yy` decoration (`pid:1234`).
fn pidfd_target(decoration: Option<&Bytes>) -> Option<i64> {
    let text = decoration?.as_slice().strip_prefix(b"pid:")?;
    value::int(text)
}

fn clone_thread(flags: &[u8]) -> bool {
    clone_flag(flags, b"CLONE_THREAD", libc::CLONE_THREAD)
}

/// Whether clone's flags hold `name` (value `bit`), however printed.
fn clone_flag(flags: &[u8], name: &[u8], bit: libc::c_int) -> bool {
    let (bare, comment) = value::strip_comment(flags);
    if value::has_flag(bare, name) || comment.is_some_and(|c| value::has_flag(c, name)) {
        return true;
    }
    // -X raw: the number itself.
    value::int(bare).is_some_and(|v| v & i64::from(bit) != 0)
}

/// `AF_INET` → `inet`; numbers (`-X raw`) by their value.
fn family_name(v: &[u8]) -> String {
    let (bare, comment) = value::strip_comment(v);
    let name = comment.filter(|c| c.starts_with(b"AF_")).unwrap_or(bare);
    match name {
        b"AF_INET" | b"2" => "inet".into(),
        b"AF_INET6" | b"10" => "inet6".into(),
        b"AF_UNIX" | b"AF_LOCAL" | b"1" => "unix".into(),
        b"AF_NETLINK" | b"16" => "netlink".into(),
        other => event::bytes::lossy(other.strip_prefix(b"AF_").unwrap_or(other)).to_ascii_lowercase(),
    }
}

fn first_flag(v: &[u8]) -> String {
    let (bare, comment) = value::strip_comment(v);
    let text = comment.unwrap_or(bare);
    let first = text.split(|&c| c == b'|').next().unwrap_or(text);
    event::bytes::lossy(first).into_owned()
}

/// Access mode and creation flags of an open, from names or from a number.
struct OpenFlags {
    access: Access,
    create: bool,
    truncate: bool,
}

impl OpenFlags {
    fn parse(raw: &[u8]) -> OpenFlags {
        let (bare, comment) = value::strip_comment(raw);
        let named = comment.unwrap_or(bare);
        if let Some(bits) = value::int(bare).filter(|_| comment.is_none()) {
            let access = if bits & 0o10000000 != 0 {
                Access::Path
            } else {
                match bits & 3 {
                    1 => Access::Write,
                    2 => Access::ReadWrite,
                    _ => Access::Read,
                }
            };
            return OpenFlags { access, create: bits & 0o100 != 0, truncate: bits & 0o1000 != 0 };
        }
        let has = |f: &[u8]| value::has_flag(named, f);
        let access = if has(b"O_PATH") {
            Access::Path
        } else if has(b"O_RDWR") {
            Access::ReadWrite
        } else if has(b"O_WRONLY") {
            Access::Write
        } else {
            Access::Read
        };
        OpenFlags { access, create: has(b"O_CREAT") || has(b"O_TMPFILE"), truncate: has(b"O_TRUNC") }
    }
}

/// A buffer argument plus the length argument, when there is one.
fn payload(buf: &[u8], len: Option<i64>) -> Payload {
    let (bytes, cut) = value::string(buf).unwrap_or_default();
    let len = len.and_then(|l| u64::try_from(l).ok());
    let truncated = cut || len.is_some_and(|l| l > bytes.len() as u64);
    Payload { bytes: bytes.into(), len, truncated }
}

/// `[{iov_base="..", iov_len=2}, {iov_base="...", iov_len=29}]` as one buffer.
fn iovec(v: &[u8]) -> Payload {
    let mut out = Payload::default();
    let mut total = 0u64;
    let mut buf = Vec::new();
    if let Some(body) = value::inner(v) {
        for item in split_top(body).0 {
            let Some(fields) = value::inner(item) else {
                continue;
            };
            let iov_len = value::field(fields, b"iov_len").and_then(value::int).unwrap_or(0).max(0) as u64;
            let (bytes, cut) = value::field(fields, b"iov_base").and_then(value::string).unwrap_or_default();
            // Once a buffer was cut short, later bytes would land at the
            // wrong offset: keep only the prefix that is known.
            if !out.truncated {
                buf.extend_from_slice(&bytes);
                out.truncated = cut || (bytes.len() as u64) < iov_len;
            }
            total += iov_len;
        }
    }
    out.bytes = buf.into();
    out.len = Some(total);
    out
}

/// A `struct msghdr`: destination (msg_name) and the iovec data.
fn msghdr(v: &[u8]) -> (Option<SockAddr>, Payload) {
    let Some(body) = value::inner(v) else {
        return (None, Payload::default());
    };
    let addr = value::field(body, b"msg_name").and_then(value::sockaddr);
    let data = value::field(body, b"msg_iov").map(iovec).unwrap_or_default();
    (addr, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(line: &str) -> EventKind {
        decoded(line).expect("an event")
    }

    /// The event of a line, None where it makes none.
    fn decoded(line: &str) -> Option<EventKind> {
        let open = line.find('(').unwrap();
        let name = &line.as_bytes()[..open];
        let kind = interest(name).expect("interesting");
        decode(kind, name, &line.as_bytes()[open + 1..]).unwrap().map(|(ev, _)| ev)
    }

    #[test]
    fn openat_with_decorated_result() {
        let ev = dec(r#"openat(AT_FDCWD</home/u>, "x/y.cnf", O_RDONLY|O_CLOEXEC) = 3</home/u/x/y.cnf> <0.000021>"#);
        let EventKind::Open { path, dirfd, access, result, resolved, .. } = ev else { panic!() };
        assert_eq!(path.as_slice(), b"x/y.cnf");
        assert_eq!(dirfd.unwrap().path.unwrap().as_slice(), b"/home/u");
        assert_eq!(access, Access::Read);
        assert_eq!(result, SysResult::ok(3));
        assert_eq!(resolved.unwrap().as_slice(), b"/home/u/x/y.cnf");
    }

    #[test]
    fn failed_open_keeps_errno_and_raw_flags() {
        let ev = dec(r#"openat(-100, "/b/openssl.cnf", 0x80241, 0666) = -1 ENOENT (No such file or directory)"#);
        let EventKind::Open { access, create, truncate, result, .. } = ev else { panic!() };
        assert_eq!((access, create, truncate), (Access::Write, true, true));
        assert_eq!(result.errno.as_deref(), Some("ENOENT"));
        assert!(result.failed());
    }

    #[test]
    fn fstat_via_newfstatat_is_dropped() {
        // Named (default, -X verbose) and by value (-X raw), for each call that takes the flag.
        for line in [
            r#"newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=1}, AT_EMPTY_PATH) = 0"#,
            r#"newfstatat(3, "", {st_mode=0100644, st_size=1, ...}, 0x1000) = 0"#,
            r#"newfstatat(3, "", {st_mode=0100644, st_size=1, ...}, 0x1100 /* AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH */) = 0"#,
            r#"statx(3, "", 0x1000, 0xfff, {stx_mask=0x17ff, ...}) = 0"#,
            r#"statx(18, "", |0x1000, 0xfff, {stx_mask=0x1fff, stx_attributes=0, stx_mode=0100644, ...}) = 0"#,
            r#"faccessat2(3, "", 0x4, 0x1000) = 0"#,
        ] {
            let (name, args) = line.split_once('(').unwrap();
            assert_eq!(decode(Interest::Probe, name.as_bytes(), args.as_bytes()).unwrap(), None, "{line}");
        }
        // An empty path without the flag fails with ENOENT: a probe like any other.
        let ev = dec(r#"newfstatat(3, "", 0x7ffc, 0) = -1 ENOENT (No such file or directory)"#);
        assert!(matches!(ev, EventKind::Probe { .. }), "{ev:?}");
        let ev = dec(r#"newfstatat(3, "", 0x7ffc, 0x100) = -1 ENOENT (No such file or directory)"#);
        assert!(matches!(ev, EventKind::Probe { .. }), "{ev:?}");
    }

    /// A probe's struct is not split: its end is the last `) = `, whatever
    /// the path before it holds, and a line whose end is not there is
    /// still an error, as when the whole list was split.
    #[test]
    fn a_probe_is_read_up_to_its_path_and_ends_at_its_last_return() {
        let tricky = r#"/t/a) = 0, {x}\"b"#;
        let unescaped = r#"/t/a) = 0, {x}"b"#.to_string();
        for (line, syscall, path, value) in [
            (
                format!(
                    r#"statx(AT_FDCWD</w>, "{tricky}", AT_STATX_SYNC_AS_STAT, STATX_ALL, {{stx_mask=STATX_ALL, stx_mode=S_IFREG|0644, stx_atime={{tv_sec=1, tv_nsec=2}} /* 2026-11-28T08:25:43+0000 */}}) = 0"#
                ),
                "statx",
                unescaped.clone(),
                Some(0),
            ),
            (
                format!(
                    r#"newfstatat(AT_FDCWD, "{tricky}", 0x7ffc, 0) = -1 ENOENT (No such file or directory) <0.000012>"#
                ),
                "newfstatat",
                unescaped.clone(),
                Some(-1),
            ),
            (
                r#"readlink("/proc/self/exe", "/x) = 1 (y)", 4096) = 11"#.to_string(),
                "readlink",
                "/proc/self/exe".into(),
                Some(11),
            ),
            (
                r#"access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)"#.to_string(),
                "access",
                "/etc/ld.so.preload".into(),
                Some(-1),
            ),
        ] {
            let EventKind::Probe { syscall: got, path: p, result, .. } = dec(&line) else { panic!("{line}") };
            assert_eq!((got.as_str(), p.lossy().as_ref(), result.value), (syscall, path.as_str(), value), "{line}");
        }
        // Cut short: no `) = ` after the path.
        let (name, args) = r#"statx(AT_FDCWD, "/x", 0, STATX_ALL, {stx_mask=STATX_ALL"#.split_once('(').unwrap();
        assert!(decode(Interest::Probe, name.as_bytes(), args.as_bytes()).is_err());
    }

    #[test]
    fn fcntl_dups_by_name_and_by_value() {
        for line in [
            "fcntl(2, F_DUPFD, 10) = 11",
            "fcntl(2</dev/null>, F_DUPFD_CLOEXEC, 0) = 11</dev/null>",
            "fcntl(2, 0, 10) = 11",
            "fcntl(2, 0x406, 0) = 11",
            "fcntl(2, 0x406 /* F_DUPFD_CLOEXEC */, 0) = 11",
        ] {
            let ev = dec(line);
            let EventKind::Dup { old, new, .. } = ev else { panic!("{line}: {ev:?}") };
            assert_eq!((old.num, new), (2, 11), "{line}");
        }
        for line in ["fcntl(255, 0x2, 0x1) = 0", "fcntl(3, F_SETFD, FD_CLOEXEC) = 0", "fcntl(3, 0x1) = 0x1 (flags 0x1)"]
        {
            let (name, args) = line.split_once('(').unwrap();
            assert_eq!(decode(Interest::Fcntl, name.as_bytes(), args.as_bytes()).unwrap(), None, "{line}");
        }
    }

    #[test]
    fn execve_with_env_and_without() {
        let ev = dec(r#"execve("/bin/sh", ["sh", "-c", "curl x | sh"], 0x7ffd1234 /* 23 vars */) = 0"#);
        let EventKind::Exec { argv, env, .. } = ev else { panic!() };
        assert_eq!(argv.len(), 3);
        assert_eq!(env, None);
        let ev = dec(
            r#"execve("/bin/sh", ["sh"], ["LD_PRELOAD=/tmp/x.so", "HOME=/root"]) = -1 ENOENT (No such file or directory)"#,
        );
        let EventKind::Exec { env, result, .. } = ev else { panic!() };
        assert_eq!(env.unwrap().get(0), Some(&b"LD_PRELOAD=/tmp/x.so"[..]));
        assert!(result.failed());
    }

    #[test]
    fn only_a_seccomp_filter_with_a_listener_is_kept() {
        let ev = dec("seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, {len=4, filter=0x7ffd}) = 5");
        assert!(matches!(&ev, EventKind::Other { syscall, .. } if syscall == "seccomp"), "{ev:?}");
        let ev = dec("seccomp(0x1, 0x8, 0x7ffd) = 5");
        assert!(matches!(&ev, EventKind::Other { syscall, .. } if syscall == "seccomp"), "{ev:?}");
        for line in [
            "seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, {len=4, filter=0x7ffd}) = 0",
            "seccomp(SECCOMP_GET_ACTION_AVAIL, 0, [SECCOMP_RET_LOG]) = 0",
        ] {
            assert_eq!(decode(Interest::Other, b"seccomp", &line.as_bytes()[8..]), Ok(None), "{line}");
        }
    }

    #[test]
    fn an_untraced_clone_is_the_attempt_not_a_spawn() {
        for line in [
            "clone(child_stack=NULL, flags=CLONE_UNTRACED|SIGCHLD) = 4242",
            "clone(child_stack=NULL, flags=0x800011) = 4242",
            "clone3({flags=CLONE_UNTRACED, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88) = 4242",
        ] {
            let ev = dec(line);
            assert!(matches!(&ev, EventKind::Other { syscall, .. } if syscall.starts_with("clone")), "{line}: {ev:?}");
        }
    }

    #[test]
    fn clone_thread_flag_in_every_style() {
        let ev = dec("clone3({flags=CLONE_VM|CLONE_FS|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0, stack=0x7f, stack_size=0x7ff}, 88) = 1236");
        assert_eq!(ev, EventKind::Spawn { syscall: "clone3".into(), child: 1236, thread: true });
        let ev = dec(
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 1235",
        );
        assert_eq!(ev, EventKind::Spawn { syscall: "clone".into(), child: 1235, thread: false });
        let ev = dec("clone(child_stack=0x7f, flags=0x3d0f00) = 99");
        assert_eq!(ev, EventKind::Spawn { syscall: "clone".into(), child: 99, thread: true });
        // A spawn that failed, or was interrupted to be made again, made nothing.
        for line in [
            "vfork() = -1 EAGAIN (Resource temporarily unavailable)",
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = ? ERESTARTNOINTR (To be restarted)",
            "clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f, parent_tid=0x7f, exit_signal=0, stack=0x7f, stack_size=0x7ff000, tls=0x7f}, 88) = -1 EAGAIN (Resource temporarily unavailable)",
        ] {
            let got = decoded(line);
            assert!(got.is_none(), "{line}: {got:?}");
        }
        // An untraced one is the attempt, even when it failed.
        let ev =
            dec("clone(child_stack=NULL, flags=CLONE_UNTRACED|SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)");
        assert!(matches!(&ev, EventKind::Other { syscall, .. } if syscall == "clone"), "{ev:?}");
    }

    #[test]
    fn sendmmsg_gives_one_payload_per_message() {
        let ev = dec(
            r#"sendmmsg(3<UDP:[127.0.0.1:5000->127.0.0.53:53]>, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\x12\x34", iov_len=2}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=2}, {msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="ab"..., iov_len=40}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=40}], 2, MSG_NOSIGNAL) = 2"#,
        );
        let EventKind::Send { data, fd, .. } = ev else { panic!() };
        assert_eq!(fd.num, 3);
        assert_eq!(data.len(), 2);
        assert_eq!(data[0].bytes.as_slice(), b"\x12\x34");
        assert!(!data[0].truncated);
        assert!(data[1].truncated);
    }

    #[test]
    fn sendto_with_address_and_writev_concatenates() {
        let ev = dec(
            r#"sendto(5, "\1\2", 2, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.1")}, 16) = 2"#,
        );
        let EventKind::Send { addr, .. } = ev else { panic!() };
        assert_eq!(addr, Some(SockAddr::Inet { ip: "10.0.0.1".into(), port: 53 }));
        let ev = dec(r#"writev(3, [{iov_base="\0\34", iov_len=2}, {iov_base="abc", iov_len=3}], 2) = 5"#);
        let EventKind::Send { data, .. } = ev else { panic!() };
        assert_eq!(data[0].bytes.as_slice(), b"\x00\x1cabc");
        assert_eq!(data[0].len, Some(5));
    }

    #[test]
    fn signals_sent() {
        let kill = |target: i32, signal: &str, result: SysResult| EventKind::Kill {
            syscall: "kill".into(),
            target,
            signal: signal.into(),
            result,
        };
        assert_eq!(dec("kill(1234, SIGTERM) = 0"), kill(1234, "SIGTERM", SysResult::ok(0)));
        assert_eq!(dec("kill(-1, SIGKILL) = 0"), kill(-1, "SIGKILL", SysResult::ok(0)));
        assert_eq!(dec("kill(0, SIGHUP) = 0"), kill(0, "SIGHUP", SysResult::ok(0)));
        assert_eq!(dec("kill(4242, 0) = -1 ESRCH (No such process)"), kill(4242, "0", SysResult::err("ESRCH")));
        assert_eq!(dec("kill(77, 0xf /* SIGTERM */) = 0"), kill(77, "SIGTERM", SysResult::ok(0)));
        let EventKind::Kill { syscall, target, signal, .. } = dec("tkill(5, SIGKILL) = 0") else { panic!() };
        assert_eq!((syscall.as_str(), target, signal.as_str()), ("tkill", 5, "SIGKILL"));
        let EventKind::Kill { target, signal, .. } = dec("tgkill(12, 13, SIGKILL) = 0") else { panic!() };
        assert_eq!((target, signal.as_str()), (13, "SIGKILL"));
        let EventKind::Kill { target, signal, .. } = dec("pidfd_send_signal(3<pid:1234>, SIGKILL, NULL, 0) = 0") else {
            panic!()
        };
        assert_eq!((target, signal.as_str()), (1234, "SIGKILL"));
        // Without -yy the pidfd names no process: kept, as a call with no model.
        assert!(matches!(dec("pidfd_send_signal(3, SIGKILL, NULL, 0) = 0"), EventKind::Other { .. }));
    }

    #[test]
    fn return_values() {
        assert_eq!(ret(b" = ?").unwrap().result, SysResult::unknown());
        let r = ret(b"   = ? ERESTARTSYS (To be restarted if SA_RESTART is set) <1.000100>").unwrap();
        assert_eq!(r.result.errno.as_deref(), Some("ERESTARTSYS"));
        assert_eq!(r.duration_ns, Some(1_000_100_000));
        assert_eq!(ret(b" = 0x7f0012340000").unwrap().result.value, Some(0x7f0012340000));
        assert_eq!(ret(b" = 0 (Timeout)").unwrap().result, SysResult::ok(0));
        let r = ret(br" = 3</tmp/a b\74c\76.txt> <0.1>").unwrap();
        assert_eq!(r.decoration.unwrap(), b"/tmp/a b<c>.txt");
        assert_eq!(ret(b" garbage"), None);
    }

    #[test]
    fn unbalanced_is_an_error() {
        assert!(decode(Interest::Open, b"openat", br#"AT_FDCWD, "/x", O_RDONLY = 3"#).is_err());
    }
}
