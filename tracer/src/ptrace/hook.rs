//! The hook a sandbox gives the tracer: what to do in the run's own
//! processes between fork and exec. The tracer knows no sandbox; the
//! `sandbox` crate implements this trait.

use std::ffi::CString;

/// Set-up of a sandboxed run, applied in the child processes the tracer
/// forks. With a hook, the tracer clones an init into new PID, mount, IPC
/// and UTS namespaces, calls [`ChildHook::in_init`] there, forks the command
/// from it, calls [`ChildHook::in_command`] in the command's process, then
/// installs the seccomp filter, closes every inherited descriptor above 2
/// and execs the command with [`ChildHook::env`].
///
/// **Contract**: `in_init` and `in_command` run in a child forked from a
/// multithreaded process, before exec: they must be async-signal-safe —
/// raw syscalls on data prepared before the fork, no allocation, no locks,
/// no panics. On failure they return the step that failed (a static
/// fragment that reads after "failed to"); `errno` must still hold the
/// cause, which the tracer reports with it.
pub trait ChildHook: Send + Sync + std::fmt::Debug {
    /// The command's whole environment (`KEY=value`).
    fn env(&self) -> &[CString];
    /// In the sandbox's init (PID 1 of its namespaces), before it forks
    /// the command.
    fn in_init(&self) -> Result<(), &'static str>;
    /// In the command's own process, forked by the init, before exec.
    fn in_command(&self) -> Result<(), &'static str>;
}
