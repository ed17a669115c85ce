//! The system calls the live tracer stops on, and what it needs from each.
//!
//! One table drives both the seccomp filter (which calls stop at all, and
//! which can be told apart by a register) and the decoder (which category,
//! and whether the result is needed, costing a second stop at syscall exit).
//! Calls not in the table run at full speed: the filter lets them through.

use crate::interest::Interest;

/// When the filter should stop on a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Every time.
    Always,
    /// Unless argument `flags_arg` has `AT_EMPTY_PATH`: `newfstatat(fd, "",
    /// ..., AT_EMPTY_PATH)` and `statx` like it are an fstat in disguise.
    UnlessEmptyPath { flags_arg: u8 },
    /// Only when argument 0 (an fd) is 3 or more: writes to stdin, stdout and
    /// stderr are the bulk of all writes and never a socket the analyzer
    /// has not seen dup'ed there (dup2 itself is traced).
    FdAtLeast3,
    /// Only when argument 0 (an option, a command) is this value.
    Arg0Is(u32),
    /// Only when argument 0 (flags) has one of these bits.
    Arg0HasBits(u32),
    /// `fcntl(fd, F_DUPFD[_CLOEXEC], min)` with `min` ≤ 2 only: a dup that
    /// can land on stdin/stdout/stderr. fcntl is called very often for other
    /// commands, and fts (find, rm -r) dups every directory fd above 2.
    FcntlDupToStdio,
}

/// One traced system call.
#[derive(Debug)]
pub struct Sys {
    pub nr: i64,
    pub name: &'static str,
    pub interest: Interest,
    /// The analyzer uses the return value: stop again at syscall exit.
    pub exit: bool,
    pub filter: Filter,
}

macro_rules! sys {
    ($nr:ident, $interest:ident, $exit:expr) => {
        sys!($nr, $interest, $exit, Filter::Always)
    };
    ($nr:ident, $interest:ident, $exit:expr, $filter:expr) => {
        Sys {
            nr: libc::$nr as i64,
            name: const_name(stringify!($nr)),
            interest: Interest::$interest,
            exit: $exit,
            filter: $filter,
        }
    };
}

/// `SYS_openat` → `openat`, at compile time.
const fn const_name(s: &'static str) -> &'static str {
    let b = s.as_bytes();
    // SAFETY-free const slicing: strip the 4-byte `SYS_` prefix.
    match std::str::from_utf8(b.split_at(4).1) {
        Ok(name) => name,
        Err(_) => s,
    }
}

/// The traced calls of this architecture.
pub fn table() -> &'static [Sys] {
    &TABLE
}

/// The entry for syscall number `nr`, if traced (at every stop: an index,
/// not a search of the table).
pub fn lookup(nr: i64) -> Option<&'static Sys> {
    let at = *usize::try_from(nr).ok().and_then(|n| BY_NR.get(n))?;
    TABLE.get(usize::from(at))
}

static TABLE: std::sync::LazyLock<Vec<Sys>> = std::sync::LazyLock::new(build);

/// Syscall number → its index in [`TABLE`] (`u16::MAX`: not traced).
static BY_NR: std::sync::LazyLock<Vec<u16>> = std::sync::LazyLock::new(|| {
    let top = TABLE.iter().map(|s| s.nr).max().unwrap_or(0);
    let mut by_nr = vec![u16::MAX; top as usize + 1];
    for (i, s) in TABLE.iter().enumerate() {
        by_nr[s.nr as usize] = i as u16;
    }
    by_nr
});

fn build() -> Vec<Sys> {
    let empty_path_4 = Filter::UnlessEmptyPath { flags_arg: 3 };
    let empty_path_3 = Filter::UnlessEmptyPath { flags_arg: 2 };
    #[allow(unused_mut)]
    let mut t = vec![
        sys!(SYS_openat, Open, true),
        sys!(SYS_openat2, Open, true),
        sys!(SYS_newfstatat, Probe, true, empty_path_4),
        sys!(SYS_statx, Probe, true, empty_path_3),
        sys!(SYS_faccessat, Probe, true),
        sys!(SYS_faccessat2, Probe, true),
        sys!(SYS_readlinkat, Probe, true),
        sys!(SYS_statfs, Probe, true),
        sys!(SYS_execve, Exec, true),
        sys!(SYS_execveat, Exec, true),
        // No clone, clone3, fork or vfork here: spawns are reported by
        // PTRACE_EVENT_FORK/VFORK/CLONE whether or not the filter stops, so
        // stopping at their entry would only cost time.
        sys!(SYS_unlinkat, Unlink, true),
        sys!(SYS_renameat, Rename, true),
        sys!(SYS_renameat2, Rename, true),
        sys!(SYS_mkdirat, Mkdir, true),
        sys!(SYS_fchmod, Chmod, true),
        sys!(SYS_fchmodat, Chmod, true),
        sys!(SYS_fchmodat2, Chmod, true),
        sys!(SYS_linkat, Link, true),
        sys!(SYS_symlinkat, Link, true),
        sys!(SYS_socket, Socket, true),
        sys!(SYS_connect, Connect, true),
        sys!(SYS_bind, Bind, true),
        sys!(SYS_listen, Listen, true),
        sys!(SYS_sendto, Send, false),
        sys!(SYS_sendmsg, Send, false),
        sys!(SYS_sendmmsg, Send, false),
        // Received bytes name DNS answers' addresses for later connects.
        sys!(SYS_recvfrom, Recv, true),
        sys!(SYS_recvmsg, Recv, true),
        sys!(SYS_write, Send, false, Filter::FdAtLeast3),
        sys!(SYS_writev, Send, false, Filter::FdAtLeast3),
        sys!(SYS_chdir, Chdir, true),
        sys!(SYS_fchdir, Chdir, true),
        sys!(SYS_dup, Dup, true),
        sys!(SYS_dup3, Dup, true),
        sys!(SYS_fcntl, Fcntl, true, Filter::FcntlDupToStdio),
        // No close: a third of all stops on a directory walk. Closes are
        // inferred when an fd is seen again (`decode::FdPaths`).
        sys!(SYS_ptrace, Ptrace, true),
        // Signals sent: whether they reached their target is the result.
        sys!(SYS_kill, Kill, true),
        sys!(SYS_tkill, Kill, true),
        sys!(SYS_tgkill, Kill, true),
        sys!(SYS_process_vm_readv, Other, true),
        sys!(SYS_process_vm_writev, Other, true),
        sys!(SYS_init_module, Other, true),
        sys!(SYS_finit_module, Other, true),
        sys!(SYS_delete_module, Other, true),
        sys!(SYS_mount, Other, true),
        sys!(SYS_umount2, Other, true),
        sys!(SYS_memfd_create, Other, true),
        sys!(SYS_setuid, Other, true),
        sys!(SYS_setgid, Other, true),
        sys!(SYS_setreuid, Other, true),
        sys!(SYS_setregid, Other, true),
        sys!(SYS_setresuid, Other, true),
        sys!(SYS_setresgid, Other, true),
        sys!(SYS_chroot, Other, true),
        sys!(SYS_pivot_root, Other, true),
        sys!(SYS_unshare, Other, true),
        sys!(SYS_setns, Other, true),
        sys!(SYS_kexec_load, Other, true),
        sys!(SYS_kexec_file_load, Other, true),
        sys!(SYS_bpf, Other, true),
        // A process that makes itself non-dumpable shuts out a tracer
        // without CAP_SYS_PTRACE: its memory (paths, argv) and its
        // /proc/PID/fd can no longer be read. The other prctl options
        // (PR_SET_NAME, ...) are frequent and run free.
        sys!(SYS_prctl, Other, true, Filter::Arg0Is(libc::PR_SET_DUMPABLE as u32)),
        // Calls a build or an import has no use for, that sandbox escapes
        // and privilege escalations go through: the mount API beside
        // mount(2), opening a file by handle (the classic container
        // escape), the kernel keyrings (credentials), device nodes,
        // another process's fds, fault handling in user space (a kernel
        // exploit staple), and machine-wide state (time, host name,
        // swap, reboot). All rare, so stopping on them costs nothing.
        sys!(SYS_fsopen, Other, true),
        sys!(SYS_fspick, Other, true),
        sys!(SYS_fsmount, Other, true),
        sys!(SYS_move_mount, Other, true),
        sys!(SYS_open_tree, Other, true),
        sys!(SYS_mount_setattr, Other, true),
        sys!(SYS_open_by_handle_at, Other, true),
        sys!(SYS_keyctl, Other, true),
        sys!(SYS_add_key, Other, true),
        sys!(SYS_request_key, Other, true),
        sys!(SYS_mknodat, Other, true),
        sys!(SYS_pidfd_getfd, Other, true),
        sys!(SYS_userfaultfd, Other, true),
        sys!(SYS_reboot, Other, true),
        sys!(SYS_swapon, Other, true),
        sys!(SYS_swapoff, Other, true),
        sys!(SYS_settimeofday, Other, true),
        sys!(SYS_clock_settime, Other, true),
        sys!(SYS_sethostname, Other, true),
        sys!(SYS_setdomainname, Other, true),
        // What ptrace cannot follow. The sandbox refuses these before the
        // table is consulted (`seccomp::refusals`); under `trace` they run,
        // and the attempt is what can be reported: a child made with
        // CLONE_UNTRACED (clone3's flags are in memory, so every clone3
        // stops, and only an untraced one makes an event), and an io_uring,
        // whose operations no stop shows.
        sys!(SYS_clone, Other, true, Filter::Arg0HasBits(libc::CLONE_UNTRACED as u32)),
        sys!(SYS_clone3, Other, false),
        sys!(SYS_io_uring_setup, Other, true),
        // A filter of the tracee's own that hands its calls to a listener
        // (SECCOMP_RET_USER_NOTIF outranks SECCOMP_RET_TRACE): they would
        // never stop here. Every filter being installed stops (rare); only
        // one asking for a listener makes an event.
        sys!(SYS_seccomp, Other, true, Filter::Arg0Is(libc::SECCOMP_SET_MODE_FILTER)),
    ];
    // The legacy calls x86_64 still has and aarch64 never had.
    #[cfg(target_arch = "x86_64")]
    t.extend([
        sys!(SYS_open, Open, true),
        sys!(SYS_creat, Open, true),
        sys!(SYS_stat, Probe, true),
        sys!(SYS_lstat, Probe, true),
        sys!(SYS_access, Probe, true),
        sys!(SYS_readlink, Probe, true),
        sys!(SYS_unlink, Unlink, true),
        sys!(SYS_rmdir, Unlink, true),
        sys!(SYS_rename, Rename, true),
        sys!(SYS_mkdir, Mkdir, true),
        sys!(SYS_chmod, Chmod, true),
        sys!(SYS_link, Link, true),
        sys!(SYS_symlink, Link, true),
        sys!(SYS_dup2, Dup, true),
        sys!(SYS_mknod, Other, true),
        sys!(SYS_iopl, Other, true),
        sys!(SYS_ioperm, Other, true),
    ]);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lookup() {
        let open = lookup(libc::SYS_openat).unwrap();
        assert_eq!(open.name, "openat");
        assert_eq!(open.interest, Interest::Open);
        assert!(lookup(libc::SYS_mmap).is_none());
        assert!(lookup(-1).is_none() && lookup(100_000).is_none());
        for s in table() {
            assert_eq!(lookup(s.nr).map(|l| l.name), Some(s.name));
        }
        let mut nrs: Vec<i64> = table().iter().map(|s| s.nr).collect();
        nrs.sort_unstable();
        nrs.dedup();
        assert_eq!(nrs.len(), table().len(), "no syscall twice");
    }
}
