//! Network sinks: a fake internet inside the sandbox's network namespace.
//!
//! The package under test runs in a network namespace that has only
//! loopback, so nothing it sends can leave the machine. Blocking alone would
//! hide intent: a `connect` that fails with `ENETUNREACH` says nothing about
//! the URL the code wanted. These sinks answer instead, just enough for the
//! package to show its hand:
//!
//! * a DNS server (UDP and TCP, normally on 127.0.0.1:53) that records every
//!   question and answers `A` questions with a per-name **sinkhole address**
//!   in 127.53.0.0/16 (see [`sinkhole()`]), so a later connection to that
//!   address can be mapped back to the name it was handed out for;
//! * TCP sinks (80, 443 and whatever else the caller asks for) that accept
//!   every connection, keep the first bytes, pick out the HTTP request line
//!   and `Host` header or the TLS ClientHello's SNI, answer HTTP with an empty
//!   `200 OK` and close everything else.
//!
//! [`Sinks`] is the entry point: [`Sinks::start`] binds every socket and
//! starts the threads, [`Sinks::stop`] returns the [`SinkLog`]. One file
//! per concern:
//!
//! * `server`: the state the threads share, and the loop that accepts TCP
//!   connections and hands them on;
//! * `sinkhole`: which address each name gets;
//! * `dns`: the DNS server, UDP and TCP, and the replies it builds;
//! * `tcp`: the generic TCP sink, which reads a connection's first bytes
//!   and turns them into a [`TcpRecord`];
//! * `http`: the HTTP/1 request line and `Host` header;
//! * `tls`: the TLS ClientHello and its server name (SNI).
//!
//! Everything here parses bytes chosen by a hostile package: parsing uses
//! checked slicing only, every read has a timeout, and every thread watches
//! a stop flag, so [`Sinks::stop`] returns promptly whatever clients do.
//! Record counts are capped so a flood cannot exhaust the analyzer's memory.

mod answer;
mod dns;
mod http;
mod mitm;
mod received;
mod routes;
mod server;
mod sinkhole;
mod tcp;
#[cfg(test)]
mod testutil;
mod tls;
mod udp;

pub use mitm::RunCa;
pub use received::{Received, MAX_KEPT};
pub use report::sinks::{DnsRecord, SinkLog};
pub use routes::{Route, Routes};
use server::{is_timeout, lock, printable, serve_datagrams, Shared, ACCEPT_POLL, POLL};
pub use server::{Recorded, Sinks, World, DEFAULT_TCP_PORTS};
pub use sinkhole::{sinkhole, POOL};
