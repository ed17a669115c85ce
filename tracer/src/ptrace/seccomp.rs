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

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_TRACE: u32 = 0x7ff0_0000;

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

/// Builds the filter for a set of traced calls.
pub fn program(table: &[Sys]) -> Vec<Insn> {
    let mut p = vec![
        stmt(LD_W_ABS, OFF_ARCH),
        jump(JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(RET_K, RET_TRACE | u32::from(DATA_FOREIGN | DATA_EXIT)),
        stmt(LD_W_ABS, OFF_NR),
    ];
    #[cfg(target_arch = "x86_64")]
    p.extend([jump(JSET_K, X32_SYSCALL_BIT, 0, 1), stmt(RET_K, RET_TRACE | u32::from(DATA_FOREIGN | DATA_EXIT))]);
    for s in table {
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
        };
        p.push(jump(JEQ_K, s.nr as u32, 0, body.len() as u8));
        p.extend(body);
    }
    p.push(stmt(RET_K, RET_ALLOW));
    p
}

/// A tiny interpreter of the instructions [`program`] emits, so tests can
/// check the filter's decisions without installing it.
pub fn evaluate(p: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut acc: u32 = 0;
    let mut pc = 0usize;
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
        evaluate(&program(table()), AUDIT_ARCH, nr as u32, args)
    }

    #[test]
    fn traced_calls_stop_and_others_run() {
        assert_eq!(run(libc::SYS_openat, [0; 6]), RET_TRACE | u32::from(DATA_EXIT));
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
        let p = program(table());
        assert_eq!(evaluate(&p, 0x4000_0003, 5, [0; 6]) & 0xffff_0000, RET_TRACE);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(evaluate(&p, AUDIT_ARCH, X32_SYSCALL_BIT | 2, [0; 6]) & 0xffff_0000, RET_TRACE);
    }

    #[test]
    fn jumps_fit() {
        assert!(program(table()).len() < 4096, "BPF_MAXINSNS");
    }
}
