//! The event model pkgtrace's producers and consumers share.
//!
//! The principal type is [`Event`]: one thing a traced task did, an envelope
//! with the fields every event has plus an [`EventKind`]. The `tracer` crate
//! **produces** events (from strace logs or live under ptrace); the
//! `pkgtrace-analyzer` crate **consumes** them. Also here, because both sides
//! and recorded streams need them:
//!
//! - [`Bytes`]: paths and payloads as bytes (Linux paths need not be UTF-8);
//! - [`ParseStats`]: figures about a stream; [`Outcome`]: how a live run ended;
//! - [`terminal`]: untrusted text made safe to print;
//! - [`jsonl`]: recorded streams, one event per line, with a trailer;
//! - [`hash`]: a stable hash (sinkhole addresses, scan shards);
//! - [`dns`]: the DNS wire format, decoded from event payloads by the analyzer
//!   and from datagrams by the sandbox's DNS sink.
//!
//! This crate depends on serde and nothing of pkgtrace's.
//!
//! ```
//! use event::{Event, EventKind, Origin};
//! let ev = Event { seq: 0, pid: 1, time_ns: None, duration_ns: None, origin: Origin::Live,
//!                  kind: EventKind::Unparsed { text: b"?".to_vec().into(), reason: "test".into() } };
//! let line = serde_json::to_string(&ev).unwrap();
//! assert_eq!(serde_json::from_str::<Event>(&line).unwrap().pid, 1);
//! ```

pub mod bytes;
pub mod dns;
pub mod error;
pub mod event;
pub mod hash;
pub mod jsonl;
pub mod lines;
pub mod outcome;
pub mod stats;
pub mod terminal;

/// Helpers for the workspace's unit tests (the fuzzing RNG); not an API.
#[doc(hidden)]
pub mod testutil;

pub use bytes::{Bytes, BytesList};
pub use error::SourceError;
pub use event::{Access, Event, EventKind, Fd, Origin, Payload, SockAddr, SysResult};
pub use outcome::{Outcome, Untraced};
pub use stats::{InputCut, ParseStats};
