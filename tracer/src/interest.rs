//! What a system call is to the analyzer: the category of event it
//! becomes, which picks its decoder. Shared by both backends — the strace
//! parser maps a call's name to it, the live tracer's syscall table a
//! number — so a call means the same whichever source saw it. It stays in
//! the tracer: the event stream carries the decoded [`crate::EventKind`],
//! never this.

/// Which decoder a call needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    Open,
    Probe,
    Exec,
    Spawn,
    Unlink,
    Rename,
    Mkdir,
    Chmod,
    Link,
    Socket,
    Connect,
    Bind,
    Listen,
    Send,
    Recv,
    Chdir,
    Dup,
    Fcntl,
    Close,
    Ptrace,
    Kill,
    Other,
}
