//! Everything in pkgtrace that **produces** events.
//!
//! The principal type is [`Event`] (from the `event` crate): one thing a
//! traced task did. Sources turn their input into a stream of events:
//!
//! - [`strace`] parses logs recorded with `strace -f` / `-ff` (plain, `.gz`,
//!   `.zst`, or a directory of per-pid files), streaming, in constant memory;
//! - [`jsonl`] opens recorded event streams (JSON Lines, the format is in
//!   the `event` crate), so a stream can be saved and analyzed again later
//!   with the same result;
//! - [`ptrace`] traces a command live (ptrace + seccomp-bpf), optionally
//!   inside a sandbox built by a [`ptrace::ChildHook`] it is given;
//! - [`interest`]: what a call is to the analyzer, shared by both backends.
//!
//! ```no_run
//! use tracer::strace::LogReader;
//! let mut reader = LogReader::open_file("install.log".as_ref()).unwrap();
//! while let Some(event) = reader.next_event().unwrap() {
//!     println!("{} {}", event.pid, event.kind.name());
//! }
//! ```

pub mod interest;
pub mod jsonl;
pub mod ptrace;
pub mod signal;
pub mod source;
pub mod strace;

// The event types live in the `event` crate; re-exported so that a
// producer's users name them from one place.
pub use event::{
    bytes, event as events, Access, Bytes, Event, EventKind, Fd, Origin, Payload, SockAddr, SourceError, SysResult,
};
