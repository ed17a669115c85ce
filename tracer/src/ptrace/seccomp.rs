//! The seccomp-bpf filter the tracee runs under: `SECCOMP_RET_TRACE` (a
//! ptrace stop) for the calls in [`super::syscalls`], `SECCOMP_RET_ALLOW`
//! (no stop, ~0.1 µs) for everything else.
//!
//! The program checks the architecture first: a call made through another
//! ABI (i386 `int 0x80`, x32) has other numbers and is traced
//! unconditionally rather than let through unseen. The 16-bit
//! `SECCOMP_RET_DATA` tells the tracer, at the stop, whether the call needs
//! a second stop at its exit ([`DATA_EXIT`]).

use super::syscalls::{Filter, Sys};

/// `SECCOMP_RET_DATA` bit: resume with PTRACE_SYSCALL to see the result.
pub const DATA_EXIT: u16 = 1;
/// `SECCOMP_RET_DATA` value for a call made through a foreign ABI.
pub const DATA_FOREIGN: u16 = 2;
/// `SECCOMP_RET_DATA` bit: refuse the call (the tracer makes it fail and
/// reports it); the [`Refusal`] is in the high byte.
pub const DATA_DENY: u16 = 4;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_ERRNO: u32 = 0x0005_0000;

/// Why the sandbox refuses a call: each is reported as a `Denied` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Refusal {
    /// clone(CLONE_UNTRACED): a child ptrace would not follow.
    Untraced = 1,
    /// clone/unshare(CLONE_NEWUSER): a user namespace, full capabilities
    /// inside it and much more kernel surface.
    NewUser = 2,
    /// io_uring: file, socket and process work the tracer cannot see.
    IoUring = 3,
    /// ioctl(TIOCSTI): typing into a terminal.
    Tiocsti = 4,
    /// ioctl(TIOCLINUX): console selection paste and friends.
    Tioclinux = 5,
    /// seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): a user-notification
    /// filter outranks the tracer's and can run calls it never sees.
    SeccompListener = 6,
    /// A call through another ABI (i386 `int 0x80`, x32).
    ForeignAbi = 7,
}

impl Refusal {
    pub fn from_data(data: u16) -> Option<Refusal> {
        use Refusal::*;
        [Untraced, NewUser, IoUring, Tiocsti, Tioclinux, SeccompListener, ForeignAbi]
            .into_iter()
            .find(|r| *r as u16 == data >> 8)
    }

    /// What was refused, in the words of the `Denied` event.
    pub fn what(self) -> &'static str {
        match self {
            Refusal::Untraced => "CLONE_UNTRACED",
            Refusal::NewUser => "CLONE_NEWUSER",
            Refusal::IoUring => "io_uring",
            Refusal::Tiocsti => "TIOCSTI",
            Refusal::Tioclinux => "TIOCLINUX",
            Refusal::SeccompListener => "seccomp listener",
            Refusal::ForeignAbi => "foreign ABI",
        }
    }

    /// The error the task gets instead. ENOSYS where a fallback exists and
    /// should be taken (io_uring → thread pool; a foreign ABI looks absent).
    pub fn errno(self) -> i32 {
        match self {
            Refusal::IoUring | Refusal::ForeignAbi => libc::ENOSYS,
            _ => libc::EPERM,
        }
    }

    fn ret(self) -> u32 {
        let foreign = if self == Refusal::ForeignAbi { DATA_FOREIGN } else { 0 };
        RET_TRACE | u32::from(DATA_DENY | foreign) | (self as u32) << 8
    }
}

/// What the filter does besides tracing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// `pkgtrace trace`: observe only; foreign-ABI calls are traced as such.
    Observe,
    /// The sandbox: refuse what would escape tracing or the sandbox
    /// ([`Refusal`]); `clone3` answers ENOSYS (its flags live in memory the
    /// filter cannot read) so libc falls back to `clone`, whose flags it can.
    Refuse,
}

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

// struct seccomp_data offsets.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const fn off_arg_low(i: u8) -> u32 {
    // Little-endian: the low 32 bits of args[i] come first.
    16 + 8 * i as u32
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const AT_EMPTY_PATH: u32 = 0x1000;

/// One BPF instruction, laid out as `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const fn stmt(code: u16, k: u32) -> Insn {
    Insn { code, jt: 0, jf: 0, k }
}
const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn { code, jt, jf, k }
}

const CLONE_UNTRACED: u32 = libc::CLONE_UNTRACED as u32;
const CLONE_NEWUSER: u32 = libc::CLONE_NEWUSER as u32;
const SECCOMP_SET_MODE_FILTER: u32 = libc::SECCOMP_SET_MODE_FILTER;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
const TIOCSTI: u32 = 0x5412;
const TIOCLINUX: u32 = 0x541C;

/// The blocks that refuse calls (policy [`Policy::Refuse`]), each starting
/// with its number test; they come before the table's blocks.
fn refusals(table: &[Sys]) -> Vec<(i64, Vec<Insn>)> {
    let deny = |r: Refusal| stmt(RET_K, r.ret());
    let allow = stmt(RET_K, RET_ALLOW);
    let unshare_trace = table
        .iter()
        .find(|s| s.nr == libc::SYS_unshare)
        .map(|s| stmt(RET_K, RET_TRACE | if s.exit { u32::from(DATA_EXIT) } else { 0 }))
        .unwrap_or(allow);
    vec![
        (
            libc::SYS_clone,
            vec![
                // The flags are argument 0 on x86_64 and aarch64 alike.
                stmt(LD_W_ABS, off_arg_low(0)),
                jump(JSET_K, CLONE_UNTRACED, 0, 1),
                deny(Refusal::Untraced),
                jump(JSET_K, CLONE_NEWUSER, 0, 1),
                deny(Refusal::NewUser),
                allow,
            ],
        ),
        (libc::SYS_clone3, vec![stmt(RET_K, RET_ERRNO | libc::ENOSYS as u32)]),
        (
            libc::SYS_unshare,
            vec![
                stmt(LD_W_ABS, off_arg_low(0)),
                jump(JSET_K, CLONE_NEWUSER, 0, 1),
                deny(Refusal::NewUser),
                unshare_trace,
            ],
        ),
        (libc::SYS_io_uring_setup, vec![deny(Refusal::IoUring)]),
        (libc::SYS_io_uring_enter, vec![deny(Refusal::IoUring)]),
        (libc::SYS_io_uring_register, vec![deny(Refusal::IoUring)]),
        (
            libc::SYS_ioctl,
            vec![
                // The kernel takes the request as an unsigned int: the low
                // word is all of it.
                stmt(LD_W_ABS, off_arg_low(1)),
                jump(JEQ_K, TIOCSTI, 0, 1),
                deny(Refusal::Tiocsti),
                jump(JEQ_K, TIOCLINUX, 0, 1),
                deny(Refusal::Tioclinux),
                allow,
            ],
        ),
        (
            libc::SYS_seccomp,
            vec![
                stmt(LD_W_ABS, off_arg_low(0)),
                jump(JEQ_K, SECCOMP_SET_MODE_FILTER, 1, 0),
                allow,
                stmt(LD_W_ABS, off_arg_low(1)),
                jump(JSET_K, SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, 1),
                deny(Refusal::SeccompListener),
                allow,
            ],
        ),
    ]
}

/// Builds the filter for a set of traced calls.
pub fn program(table: &[Sys], policy: Policy) -> Vec<Insn> {
    build(table, policy).0
}

/// The filter, and where its first per-call block starts (after the
/// architecture and x32 tests).
fn build(table: &[Sys], policy: Policy) -> (Vec<Insn>, usize) {
    let foreign = match policy {
        Policy::Observe => RET_TRACE | u32::from(DATA_FOREIGN | DATA_EXIT),
        Policy::Refuse => Refusal::ForeignAbi.ret(),
    };
    let mut p =
        vec![stmt(LD_W_ABS, OFF_ARCH), jump(JEQ_K, AUDIT_ARCH, 1, 0), stmt(RET_K, foreign), stmt(LD_W_ABS, OFF_NR)];
    #[cfg(target_arch = "x86_64")]
    p.extend([jump(JSET_K, X32_SYSCALL_BIT, 0, 1), stmt(RET_K, foreign)]);
    let blocks = p.len();
    // A call with a refusal block is decided there: its table block (the
    // clone, clone3, io_uring and seccomp ones `trace` stops on) would never
    // be reached.
    let mut refused = Vec::new();
    if policy == Policy::Refuse {
        for (nr, body) in refusals(table) {
            p.push(jump(JEQ_K, nr as u32, 0, body.len() as u8));
            p.extend(body);
            refused.push(nr);
        }
    }
    for s in table.iter().filter(|s| !refused.contains(&s.nr)) {
        let trace = stmt(RET_K, RET_TRACE | if s.exit { u32::from(DATA_EXIT) } else { 0 });
        // Each block starts with the number test and ends in a return, so
        // the accumulator only needs to hold the number between blocks.
        let body: Vec<Insn> = match s.filter {
            Filter::Always => vec![trace],
            Filter::UnlessEmptyPath { flags_arg } => vec![
                stmt(LD_W_ABS, off_arg_low(flags_arg)),
                jump(JSET_K, AT_EMPTY_PATH, 0, 1),
                stmt(RET_K, RET_ALLOW),
                trace,
            ],
            Filter::FcntlDupToStdio => vec![
                stmt(LD_W_ABS, off_arg_low(1)),
                jump(JEQ_K, libc::F_DUPFD as u32, 2, 0),
                jump(JEQ_K, libc::F_DUPFD_CLOEXEC as u32, 1, 0),
                stmt(RET_K, RET_ALLOW),
                stmt(LD_W_ABS, off_arg_low(2)),
                jump(JGE_K, 3, 0, 1),
                stmt(RET_K, RET_ALLOW),
                trace,
            ],
            Filter::FdAtLeast3 => {
                vec![stmt(LD_W_ABS, off_arg_low(0)), jump(JGE_K, 3, 1, 0), stmt(RET_K, RET_ALLOW), trace]
            }
            Filter::Arg0Is(value) => {
                vec![stmt(LD_W_ABS, off_arg_low(0)), jump(JEQ_K, value, 1, 0), stmt(RET_K, RET_ALLOW), trace]
            }
            Filter::Arg0HasBits(bits) => {
                vec![stmt(LD_W_ABS, off_arg_low(0)), jump(JSET_K, bits, 1, 0), stmt(RET_K, RET_ALLOW), trace]
            }
        };
        p.push(jump(JEQ_K, s.nr as u32, 0, body.len() as u8));
        p.extend(body);
    }
    p.push(stmt(RET_K, RET_ALLOW));
    (p, blocks)
}

/// The filter's decisions, as the tracer computes them at a stop.
///
/// A stop's `SECCOMP_RET_DATA` cannot be trusted: a tracee may install a
/// filter of its own, and when several filters return `SECCOMP_RET_TRACE`
/// the kernel hands the tracer the data of the newest one. A four-line
/// filter returning `DATA_FOREIGN` for `openat` made every open of its
/// process look like a foreign-ABI call, and vanish from the analysis. So
/// the tracer runs its own program on the stop's arch, number and
/// arguments (what the kernel ran it on) and uses that answer.
#[derive(Debug)]
pub struct Decisions {
    program: Vec<Insn>,
    /// Per native call number, where its block's body starts: blocks are
    /// tested in order and each ends in a return, so the first block for a
    /// number decides, and evaluating from its body is evaluating the whole
    /// program. [`NO_BLOCK`]: the program lets the call through.
    body: Vec<u16>,
}

const NO_BLOCK: u16 = u16::MAX;

impl Decisions {
    pub fn new(table: &[Sys], policy: Policy) -> Decisions {
        let (program, mut pc) = build(table, policy);
        let mut body = vec![NO_BLOCK; 1024];
        // Each block: the number test, whose false branch skips the body.
        while pc < program.len() && program[pc].code == JEQ_K {
            let (nr, len) = (program[pc].k as usize, usize::from(program[pc].jf));
            if nr < body.len() && body[nr] == NO_BLOCK {
                body[nr] = (pc + 1) as u16;
            }
            pc += 1 + len;
        }
        Decisions { program, body }
    }

    pub fn program(&self) -> &[Insn] {
        &self.program
    }

    /// What the program returns for this call.
    pub fn of(&self, arch: u32, nr: u64, args: [u64; 6]) -> u32 {
        let native = native(arch, nr);
        match self.body.get(nr as usize) {
            Some(&NO_BLOCK) if native => RET_ALLOW,
            Some(&pc) if native => run_from(&self.program, usize::from(pc), nr as u32, arch, nr as u32, args),
            _ => evaluate(&self.program, arch, nr as u32, args),
        }
    }
}

/// Whether a call is made through this build's own ABI (not i386's, not x32's).
pub fn native(arch: u32, nr: u64) -> bool {
    #[cfg(target_arch = "x86_64")]
    let x32 = nr & u64::from(X32_SYSCALL_BIT) != 0;
    #[cfg(not(target_arch = "x86_64"))]
    let x32 = {
        let _ = nr; // no x32 ABI there
        false
    };
    arch == AUDIT_ARCH && !x32
}

/// Whether a filter's return stops the call for the tracer.
pub fn stops(ret: u32) -> bool {
    ret & 0xffff_0000 == RET_TRACE
}

/// A tiny interpreter of the instructions [`program`] emits: the tracer's
/// [`Decisions`], and tests checking the filter without installing it.
pub fn evaluate(p: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    run_from(p, 0, 0, arch, nr, args)
}

fn run_from(p: &[Insn], mut pc: usize, mut acc: u32, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    while pc < p.len() {
        let i = p[pc];
        pc += 1;
        match i.code {
            LD_W_ABS => {
                acc = match i.k {
                    OFF_NR => nr,
                    OFF_ARCH => arch,
                    k if k >= 16 => args[((k - 16) / 8) as usize] as u32,
                    _ => 0,
                }
            }
            JEQ_K => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
            JGE_K => pc += usize::from(if acc >= i.k { i.jt } else { i.jf }),
            JSET_K => pc += usize::from(if acc & i.k != 0 { i.jt } else { i.jf }),
            RET_K => return i.k,
            _ => return 0,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ptrace::syscalls::table;

    fn run(nr: i64, args: [u64; 6]) -> u32 {
        evaluate(&program(table(), Policy::Observe), AUDIT_ARCH, nr as u32, args)
    }

    fn sandboxed(nr: i64, args: [u64; 6]) -> u32 {
        evaluate(&program(table(), Policy::Refuse), AUDIT_ARCH, nr as u32, args)
    }

    #[test]
    fn the_sandbox_refuses_escapes_and_lets_the_rest_through() {
        let refused = |r: u32| Refusal::from_data((r & 0xffff) as u16).filter(|_| r & u32::from(DATA_DENY) != 0);
        // clone: ordinary forks and threads run free; UNTRACED and NEWUSER are refused.
        let fork_flags = 0x0120_0011u64; // CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD
        assert_eq!(sandboxed(libc::SYS_clone, [fork_flags, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(
            refused(sandboxed(libc::SYS_clone, [fork_flags | u64::from(CLONE_UNTRACED), 0, 0, 0, 0, 0])),
            Some(Refusal::Untraced)
        );
        assert_eq!(
            refused(sandboxed(libc::SYS_clone, [u64::from(CLONE_NEWUSER) | 17, 0, 0, 0, 0, 0])),
            Some(Refusal::NewUser)
        );
        assert_eq!(sandboxed(libc::SYS_clone3, [0; 6]), RET_ERRNO | libc::ENOSYS as u32);
        assert_eq!(
            refused(sandboxed(libc::SYS_unshare, [u64::from(CLONE_NEWUSER), 0, 0, 0, 0, 0])),
            Some(Refusal::NewUser)
        );
        // unshare without a user namespace is still traced (and fails without privileges).
        assert_eq!(sandboxed(libc::SYS_unshare, [0x0002_0000, 0, 0, 0, 0, 0]), RET_TRACE | u32::from(DATA_EXIT));
        assert_eq!(refused(sandboxed(libc::SYS_io_uring_setup, [0; 6])), Some(Refusal::IoUring));
        assert_eq!(refused(sandboxed(libc::SYS_io_uring_enter, [0; 6])), Some(Refusal::IoUring));
        assert_eq!(refused(sandboxed(libc::SYS_ioctl, [0, u64::from(TIOCSTI), 0, 0, 0, 0])), Some(Refusal::Tiocsti));
        // The request is an unsigned int: high bits do not hide it.
        assert_eq!(
            refused(sandboxed(libc::SYS_ioctl, [0, (1 << 32) | u64::from(TIOCSTI), 0, 0, 0, 0])),
            Some(Refusal::Tiocsti)
        );
        assert_eq!(
            refused(sandboxed(libc::SYS_ioctl, [0, u64::from(TIOCLINUX), 0, 0, 0, 0])),
            Some(Refusal::Tioclinux)
        );
        assert_eq!(sandboxed(libc::SYS_ioctl, [1, libc::TCGETS, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(
            refused(sandboxed(libc::SYS_seccomp, [1, u64::from(SECCOMP_FILTER_FLAG_NEW_LISTENER), 0, 0, 0, 0])),
            Some(Refusal::SeccompListener)
        );
        assert_eq!(sandboxed(libc::SYS_seccomp, [1, 0, 0, 0, 0, 0]), RET_ALLOW);
        // A foreign ABI is refused, the traced calls still stop.
        let p = program(table(), Policy::Refuse);
        assert_eq!(refused(evaluate(&p, 0x4000_0003, 5, [0; 6])), Some(Refusal::ForeignAbi));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(refused(evaluate(&p, AUDIT_ARCH, X32_SYSCALL_BIT | 2, [0; 6])), Some(Refusal::ForeignAbi));
        assert_eq!(sandboxed(libc::SYS_openat, [0; 6]), RET_TRACE | u32::from(DATA_EXIT));
        assert_eq!(sandboxed(libc::SYS_mmap, [0; 6]), RET_ALLOW);
        // Outside the sandbox nothing is refused; what ptrace cannot follow
        // stops, to be reported: io_uring_setup, an untraced clone (not an
        // ordinary one), every clone3 (its flags are in memory).
        assert_eq!(run(libc::SYS_io_uring_setup, [0; 6]), RET_TRACE | u32::from(DATA_EXIT));
        assert_eq!(
            run(libc::SYS_clone, [fork_flags | u64::from(CLONE_UNTRACED), 0, 0, 0, 0, 0]),
            RET_TRACE | u32::from(DATA_EXIT)
        );
        assert_eq!(run(libc::SYS_clone, [fork_flags, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(libc::SYS_clone3, [0; 6]), RET_TRACE);
        assert_eq!(run(libc::SYS_ioctl, [0, u64::from(TIOCSTI), 0, 0, 0, 0]), RET_ALLOW);
    }

    #[test]
    fn traced_calls_stop_and_others_run() {
        assert_eq!(run(libc::SYS_openat, [0; 6]), RET_TRACE | u32::from(DATA_EXIT));
        // prctl only to make the process non-dumpable.
        assert_eq!(
            run(libc::SYS_prctl, [libc::PR_SET_DUMPABLE as u64, 0, 0, 0, 0, 0]),
            RET_TRACE | u32::from(DATA_EXIT)
        );
        assert_eq!(run(libc::SYS_prctl, [libc::PR_SET_NAME as u64, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(libc::SYS_sendto, [0; 6]), RET_TRACE);
        assert_eq!(run(libc::SYS_mmap, [0; 6]), RET_ALLOW);
        assert_eq!(run(libc::SYS_read, [0; 6]), RET_ALLOW);
    }

    #[test]
    fn fstat_in_disguise_and_stdio_writes_run_free() {
        let empty = [3, 0, 0, u64::from(AT_EMPTY_PATH), 0, 0];
        assert_eq!(run(libc::SYS_newfstatat, empty), RET_ALLOW);
        assert_eq!(run(libc::SYS_newfstatat, [0xffff_ff9c, 0, 0, 0, 0, 0]), RET_TRACE | u32::from(DATA_EXIT));
        assert_eq!(run(libc::SYS_statx, [3, 0, u64::from(AT_EMPTY_PATH), 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(libc::SYS_write, [1, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(libc::SYS_write, [5, 0, 0, 0, 0, 0]), RET_TRACE);
        assert_eq!(run(libc::SYS_fcntl, [3, libc::F_GETFL as u64, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(
            run(libc::SYS_fcntl, [3, libc::F_DUPFD_CLOEXEC as u64, 0, 0, 0, 0]),
            RET_TRACE | u32::from(DATA_EXIT)
        );
        assert_eq!(run(libc::SYS_fcntl, [3, libc::F_DUPFD as u64, 0, 0, 0, 0]), RET_TRACE | u32::from(DATA_EXIT));
    }

    #[test]
    fn foreign_abis_are_traced() {
        let p = program(table(), Policy::Observe);
        assert_eq!(evaluate(&p, 0x4000_0003, 5, [0; 6]) & 0xffff_0000, RET_TRACE);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(evaluate(&p, AUDIT_ARCH, X32_SYSCALL_BIT | 2, [0; 6]) & 0xffff_0000, RET_TRACE);
    }

    /// The tracer's shortcut into the program gives what running all of it
    /// gives, for every call number and the argument values the blocks test.
    #[test]
    fn decisions_are_the_programs() {
        let values = [
            0,
            3,
            u64::from(AT_EMPTY_PATH),
            u64::from(CLONE_UNTRACED | CLONE_NEWUSER),
            u64::from(TIOCSTI),
            u64::from(SECCOMP_SET_MODE_FILTER),
            u64::from(SECCOMP_FILTER_FLAG_NEW_LISTENER),
            libc::F_DUPFD_CLOEXEC as u64,
            1 << 32,
        ];
        for policy in [Policy::Observe, Policy::Refuse] {
            let d = Decisions::new(table(), policy);
            let p = program(table(), policy);
            let mut traced = 0;
            for nr in 0..1100u64 {
                for &a in &values {
                    for &b in &values {
                        let args = [a, b, a, b, 0, 0];
                        let want = evaluate(&p, AUDIT_ARCH, nr as u32, args);
                        assert_eq!(d.of(AUDIT_ARCH, nr, args), want, "{policy:?} nr {nr} args {args:x?}");
                        traced += usize::from(stops(want));
                    }
                }
            }
            assert!(traced > 1000, "the test reaches the traced calls");
            #[cfg(target_arch = "x86_64")]
            assert_eq!(
                d.of(AUDIT_ARCH, u64::from(X32_SYSCALL_BIT) | 2, [0; 6]),
                evaluate(&p, AUDIT_ARCH, X32_SYSCALL_BIT | 2, [0; 6])
            );
            assert_eq!(d.of(0x4000_0003, 5, [0; 6]), evaluate(&p, 0x4000_0003, 5, [0; 6]));
            assert_ne!(d.of(0x4000_0003, 5, [0; 6]), d.of(AUDIT_ARCH, 5, [0; 6]));
        }
    }

    #[test]
    fn jumps_fit() {
        assert!(program(table(), Policy::Refuse).len() < 4096, "BPF_MAXINSNS");
    }
}
