//! The live tracer: runs a command under ptrace with a seccomp-bpf filter
//! and produces the same [`crate::Event`]s as the strace parser.
//!
//! - [`syscalls`]: the calls traced and what is needed from each;
//! - [`seccomp`]: the filter program (stop only on those calls);
//! - [`decode`]: from registers and tracee memory to events;
//! - [`mem`]: reading tracee memory;
//! - [`cpu`]: the run and its tracer share one CPU (cheap stops);
//! - [`session`]: spawning, the stop loop, timeouts and clean-up;
//! - [`hook`]: what a sandbox does in the run's processes before exec;
//! - [`wanted`]: which results the analysis reads (the rest cost no exit stop);
//! - `sys`: the raw ptrace/wait/seccomp/fork calls (the tracer's only
//!   `unsafe` code; the sandbox crate has its own, for namespaces and mounts).
//!
//! Requirements: Linux ≥ 5.3 (PTRACE_GET_SYSCALL_INFO), x86_64 or aarch64,
//! ptrace permitted (root, or `kernel.yama.ptrace_scope` ≤ 1 for one's own
//! children), seccomp enabled.

pub mod cpu;
pub mod decode;
pub mod hook;
pub mod mem;
pub mod redirect;
pub mod seccomp;
pub mod session;
mod sys;
pub mod syscalls;
pub mod wanted;

/// The per-task and per-fd maps, looked up at every stop: a fast hash
/// (foldhash, seeded per run) rather than SipHash. Fd numbers are the
/// tracee's choice, so the hash is still seeded.
type FastMap<K, V> = foldhash::HashMap<K, V>;

pub use hook::ChildHook;
pub use redirect::Redirect;
pub use session::{trace, Options, Outcome, TraceError};
pub use wanted::{ResultsWanted, Wanted};
