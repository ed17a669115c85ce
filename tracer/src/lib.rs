//! Everything in pkgtrace that **produces** events.
//!
//! The principal type is [`Event`] (in [`event`]): one thing a traced task
//! did. Sources turn their input into a stream of events:
//!
//! - [`strace`] parses logs recorded with `strace -f` / `-ff` (plain, `.gz`,
//!   `.zst`, or a directory of per-pid files), streaming, in constant memory;
//! - [`jsonl`] reads and writes recorded event streams (JSON Lines), so a
//!   stream can be saved and analyzed again later with the same result.
//!
//! ```no_run
//! use tracer::strace::LogReader;
//! let mut reader = LogReader::open_file("install.log".as_ref()).unwrap();
//! while let Some(event) = reader.next_event().unwrap() {
//!     println!("{} {}", event.pid, event.kind.name());
//! }
//! ```

pub mod bytes;
pub mod event;
pub mod jsonl;
pub mod ptrace;
pub mod signal;
pub mod source;
pub mod strace;

pub use bytes::Bytes;
pub use event::{Access, Event, EventKind, Fd, Origin, Payload, SockAddr, SysResult};

/// Why a source could not be read. Bad *lines* are not errors: they become
/// `Unparsed` events and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("failed to read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("no logs found in {path}")]
    Empty { path: String },
}
