//! Thin wrappers over the ptrace, wait and seccomp calls nix has no (or no
//! complete) wrapper for. nix's `waitpid` rejects real-time signals and its
//! `cont` takes a `Signal` enum that cannot name them, so those go through
//! libc with plain integers. Every `unsafe` block of the tracer is here (the
//! sandbox crate has its own, in `namespaces`).
#![allow(unsafe_code)]

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use super::seccomp::Insn;

/// `PTRACE_GET_SYSCALL_INFO` (Linux 5.3).
const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
pub const OP_ENTRY: u8 = 1;
pub const OP_EXIT: u8 = 2;
pub const OP_SECCOMP: u8 = 3;

/// `struct ptrace_syscall_info`, with the union flattened: `args` and `nr`
/// hold for entry and seccomp stops, `rval`/`is_error` for exit stops,
/// `ret_data` for seccomp stops.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallInfo {
    pub op: u8,
    pub arch: u32,
    pub nr: u64,
    pub args: [u64; 6],
    pub rval: i64,
    pub is_error: bool,
    pub ret_data: u32,
    /// The task's user stack pointer at the stop.
    pub stack_pointer: u64,
}

#[repr(C)]
struct RawInfo {
    op: u8,
    pad: [u8; 3],
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    // The union: seccomp is the largest member (nr, args[6], ret_data).
    union_words: [u64; 8],
}

pub fn syscall_info(pid: i32) -> io::Result<SyscallInfo> {
    let mut raw =
        RawInfo { op: 0, pad: [0; 3], arch: 0, instruction_pointer: 0, stack_pointer: 0, union_words: [0; 8] };
    // SAFETY: the kernel writes at most `size` bytes into `raw`, which is
    // that large and lives for the whole call.
    let n = unsafe {
        libc::ptrace(
            PTRACE_GET_SYSCALL_INFO,
            pid,
            std::mem::size_of::<RawInfo>() as *mut libc::c_void,
            &mut raw as *mut RawInfo as *mut libc::c_void,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let w = raw.union_words;
    let mut info =
        SyscallInfo { op: raw.op, arch: raw.arch, stack_pointer: raw.stack_pointer, ..SyscallInfo::default() };
    match raw.op {
        OP_ENTRY | OP_SECCOMP => {
            info.nr = w[0];
            info.args.copy_from_slice(&w[1..7]);
            info.ret_data = w[7] as u32;
        }
        OP_EXIT => {
            info.rval = w[0] as i64;
            info.is_error = w[1] as u8 != 0;
        }
        _ => {}
    }
    Ok(info)
}

/// An anonymous read-write mapping of `len` bytes at `addr` exactly
/// (MAP_FIXED_NOREPLACE: an error rather than replace anything), never
/// unmapped: for tests that need memory at a low address.
#[cfg(test)]
pub fn map_at(addr: u64, len: usize) -> io::Result<u64> {
    // SAFETY: a fresh anonymous mapping; NOREPLACE leaves any existing
    // mapping alone.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(p as u64)
}

/// pidfd_open(2): a descriptor for process `pid` (a thread-group leader).
pub fn pidfd_open(pid: i32) -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: no pointers; the result is a new descriptor this process owns.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as i32) })
}

/// pidfd_getfd(2): a duplicate, in this process, of fd `n` of the process
/// behind `pidfd` (close-on-exec). Needs ptrace rights over it.
pub fn pidfd_getfd(pidfd: std::os::fd::BorrowedFd<'_>, n: i32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: no pointers; the result is a new descriptor this process owns.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), n, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as i32) })
}

/// kcmp(2) `KCMP_FILES`: whether tasks `a` and `b` use one fd table (a
/// clone with `CLONE_FILES`). An error (no kcmp in this kernel, a task
/// gone) is told as sharing: the caller then stays on the safe side.
pub fn share_files(a: i32, b: i32) -> bool {
    const KCMP_FILES: libc::c_long = 2;
    // SAFETY: no pointers; the kernel only compares two tasks' tables.
    let r = unsafe { libc::syscall(libc::SYS_kcmp, a, b, KCMP_FILES, 0, 0) };
    // 0: the same table; 1, 2 or 3: two different ones (ordered or not).
    !matches!(r, 1..=3)
}

/// readlink(2) into `buf`: the length of the target (cut at `buf`'s).
pub fn readlink(path: &std::ffi::CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `path` is NUL-terminated; the kernel writes at most
    // `buf.len()` bytes into `buf`.
    let n = unsafe { libc::readlink(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// waitpid(-1, __WALL): the next stopped or ended task, with its raw status.
/// None when no tracee is left (ECHILD).
pub fn wait_any() -> io::Result<Option<(i32, i32)>> {
    let flags = libc::__WALL;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer for the call's duration.
        let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
        if pid >= 0 {
            return Ok(Some((pid, status)));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECHILD) => return Ok(None),
            _ => return Err(err),
        }
    }
}

/// waitpid for one task, waiting for stops too (`WUNTRACED`).
pub fn wait_stopped(pid: i32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: as in wait_any.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED | libc::__WALL) };
        if r >= 0 {
            return Ok(status);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

fn request(req: libc::c_uint, pid: i32, addr: usize, data: usize) -> io::Result<libc::c_long> {
    // SAFETY: the requests used through this helper take integers in
    // `addr`/`data` (options, signal numbers) and write no memory of ours.
    let r = unsafe { libc::ptrace(req, pid, addr as *mut libc::c_void, data as *mut libc::c_void) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

pub fn seize(pid: i32, options: libc::c_int) -> io::Result<()> {
    request(libc::PTRACE_SEIZE, pid, 0, options as usize).map(drop)
}

/// Resume, delivering `sig` (0 for none).
pub fn cont(pid: i32, sig: i32) -> io::Result<()> {
    request(libc::PTRACE_CONT, pid, 0, sig as usize).map(drop)
}

/// Resume until the next syscall stop (here: the exit of the current call).
pub fn syscall(pid: i32, sig: i32) -> io::Result<()> {
    request(libc::PTRACE_SYSCALL, pid, 0, sig as usize).map(drop)
}

/// Leave a group-stop in place while letting the tracer see what follows.
pub fn listen(pid: i32) -> io::Result<()> {
    request(libc::PTRACE_LISTEN, pid, 0, 0).map(drop)
}

pub fn event_msg(pid: i32) -> io::Result<u64> {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: PTRACE_GETEVENTMSG writes one unsigned long to `msg`.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            &mut msg as *mut libc::c_ulong,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(msg as u64)
}

/// One word of the tracee's memory (fallback when process_vm_readv fails).
pub fn peek(pid: i32, addr: u64) -> io::Result<u64> {
    // PTRACE_PEEKDATA returns the word; -1 is ambiguous, so check errno.
    // SAFETY: errno is thread-local; PEEKDATA reads tracee memory only.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: PEEKDATA takes the address as `addr` and ignores `data`.
    let r = unsafe {
        libc::ptrace(libc::PTRACE_PEEKDATA, pid, addr as *mut libc::c_void, std::ptr::null_mut::<libc::c_void>())
    };
    let err = io::Error::last_os_error();
    if r == -1 && err.raw_os_error().is_some_and(|e| e != 0) {
        return Err(err);
    }
    Ok(r as u64)
}

pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill has no memory arguments.
    if unsafe { libc::kill(pid, sig) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// In the forked child, before exec: install the filter (setting
/// no_new_privs first when the process may not install one without it).
/// Async-signal-safe: no allocation.
pub fn install_filter(prog: &[Insn]) -> io::Result<()> {
    #[repr(C)]
    struct SockFprog {
        len: libc::c_ushort,
        filter: *const Insn,
    }
    let fprog = SockFprog { len: prog.len() as libc::c_ushort, filter: prog.as_ptr() };
    let install = || {
        // SAFETY: `fprog` points at `prog`, both alive for the call; the
        // kernel copies the program.
        unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &fprog as *const SockFprog as *const libc::c_void,
            )
        }
    };
    if install() == 0 {
        return Ok(());
    }
    // Without CAP_SYS_ADMIN the kernel demands no_new_privs.
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if install() == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// fork(2). The child must only call async-signal-safe functions before exec.
pub fn fork() -> io::Result<i32> {
    // SAFETY: the caller (spawn) keeps the child to async-signal-safe calls.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(pid)
    }
}

/// In the child: send standard output to standard error, so the tracer's
/// standard output carries only its report.
pub fn stdout_to_stderr() {
    // SAFETY: dup2 is async-signal-safe and takes no pointers.
    unsafe {
        libc::dup2(2, 1);
    }
}

/// Closes every descriptor above 2 (a jobserver pipe, a terminal, whatever
/// pkgtrace's own parent left open without close-on-exec).
pub fn close_inherited() {
    // SAFETY: close_range takes integers only.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
    }
}

/// In the child: stop until the tracer has attached.
pub fn stop_self() {
    // SAFETY: raise is async-signal-safe.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
}

/// In the child: exec; on failure exit 127 (the failed execve is in the
/// trace as an event).
pub fn exec_or_die(path: &std::ffi::CStr, argv: &[*const libc::c_char]) -> ! {
    // SAFETY: argv is NULL-terminated and its strings outlive the call;
    // execv only returns on failure; _exit is async-signal-safe.
    unsafe {
        libc::execv(path.as_ptr(), argv.as_ptr());
        libc::_exit(127);
    }
}

/// Set by SIGINT/SIGTERM while a traced run is in progress.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// SIGINT/SIGTERM handlers for the duration of a run: they only set a
/// flag; the watchdog then kills the tracees and the report says so. The
/// previous handlers come back on drop.
pub struct InterruptHandlers {
    old: [(libc::c_int, libc::sigaction); 2],
}

impl InterruptHandlers {
    pub fn install() -> InterruptHandlers {
        INTERRUPTED.store(false, Ordering::SeqCst);
        let mut old = [(libc::SIGINT, empty_sigaction()), (libc::SIGTERM, empty_sigaction())];
        for (sig, prev) in old.iter_mut() {
            let mut act = empty_sigaction();
            act.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as usize;
            // SAFETY: `act` and `prev` are valid sigaction structs; the
            // handler only stores to an atomic (async-signal-safe).
            unsafe {
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(*sig, &act, prev);
            }
        }
        InterruptHandlers { old }
    }
}

impl Drop for InterruptHandlers {
    fn drop(&mut self) {
        for (sig, prev) in &self.old {
            // SAFETY: restoring the handler saved by `install`.
            unsafe {
                libc::sigaction(*sig, prev, std::ptr::null_mut());
            }
        }
    }
}

fn empty_sigaction() -> libc::sigaction {
    // SAFETY: an all-zero sigaction is valid (SIG_DFL, empty mask).
    unsafe { std::mem::zeroed() }
}

/// In the child: exec with the given environment; exit 127 on failure.
pub fn exec_env_or_die(path: &std::ffi::CStr, argv: &[*const libc::c_char], env: &[*const libc::c_char]) -> ! {
    // SAFETY: argv and env are NULL-terminated arrays of strings that
    // outlive the call; execve only returns on failure.
    unsafe {
        libc::execve(path.as_ptr(), argv.as_ptr(), env.as_ptr());
        libc::_exit(127);
    }
}

/// In the child: exit at once (no destructors, no atexit).
pub fn exit(status: i32) -> ! {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(status) }
}

/// clone(2) as a fork into new namespaces (`flags`: CLONE_NEW*), with a
/// NULL stack (the child runs on a copy of the caller's, like fork).
/// glibc's fork is avoided on purpose: the child must not run atfork
/// handlers or touch locks another thread may hold.
pub fn clone_fork(flags: libc::c_ulong) -> io::Result<i32> {
    // SAFETY: raw clone without CLONE_VM behaves like fork; the caller keeps
    // the child to async-signal-safe calls.
    let pid = unsafe {
        libc::syscall(libc::SYS_clone, flags | libc::SIGCHLD as libc::c_ulong, 0usize, 0usize, 0usize, 0usize)
    };
    if pid < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(pid as i32)
    }
}

/// pipe2(O_CLOEXEC): (read end, write end).
pub fn pipe() -> io::Result<(i32, i32)> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

/// close(2), ignoring errors.
pub fn close(fd: i32) {
    // SAFETY: closing a descriptor this process owns.
    unsafe {
        libc::close(fd);
    }
}

/// Reads up to `buf.len()` bytes (retrying on EINTR); 0 at end of file.
pub fn read(fd: i32, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Writes all of `buf` (async-signal-safe; errors ignored).
pub fn write_all(fd: i32, buf: &[u8]) {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: `buf[done..]` is readable for its length.
        let n = unsafe { libc::write(fd, buf[done..].as_ptr() as *const libc::c_void, buf.len() - done) };
        if n <= 0 {
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return;
        }
        done += n as usize;
    }
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    // SAFETY: errno is thread-local.
    unsafe { *libc::__errno_location() }
}

/// Makes the stopped tracee skip the call it is entering (at a seccomp
/// stop) and see `-errno` as its result: the system call number is set to
/// -1, the return register to the error ("man 2 seccomp", SECCOMP_RET_TRACE:
/// "the tracer can skip the system call by changing the system call number
/// to -1 ... the system call will appear to return the value that the
/// tracer puts in the return value register").
#[cfg(target_arch = "x86_64")]
pub fn skip_syscall(pid: i32, errno: i32) -> io::Result<()> {
    // SAFETY: user_regs_struct is plain data; zero is valid.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: GETREGS writes one user_regs_struct into `regs`.
    if unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid, std::ptr::null_mut::<libc::c_void>(), &mut regs) } < 0 {
        return Err(io::Error::last_os_error());
    }
    regs.orig_rax = u64::MAX;
    regs.rax = (-(errno as i64)) as u64;
    // SAFETY: SETREGS reads one user_regs_struct from `regs`.
    if unsafe { libc::ptrace(libc::PTRACE_SETREGS, pid, std::ptr::null_mut::<libc::c_void>(), &regs) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The stopped tracee's registers.
#[cfg(target_arch = "x86_64")]
pub fn get_regs(pid: i32) -> io::Result<libc::user_regs_struct> {
    // SAFETY: user_regs_struct is plain data; zero is valid.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: GETREGS writes one user_regs_struct into `regs`.
    if unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid, std::ptr::null_mut::<libc::c_void>(), &mut regs) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(regs)
}

/// Sets the stopped tracee's registers.
#[cfg(target_arch = "x86_64")]
pub fn set_regs(pid: i32, regs: &libc::user_regs_struct) -> io::Result<()> {
    // SAFETY: SETREGS reads one user_regs_struct from `regs`.
    if unsafe { libc::ptrace(libc::PTRACE_SETREGS, pid, std::ptr::null_mut::<libc::c_void>(), regs) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Other architectures: refusing a call needs their register layout; the
/// task is killed instead (the refusal is still reported).
#[cfg(not(target_arch = "x86_64"))]
pub fn skip_syscall(pid: i32, _errno: i32) -> io::Result<()> {
    kill(pid, libc::SIGKILL)
}
