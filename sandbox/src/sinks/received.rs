//! [`Received`]: what a sink got on one connection or in one datagram, and
//! the `request` event it becomes for the analyzer.

use std::net::SocketAddr;

use event::{Event, EventKind, Origin, Payload, SockAddr};

/// Bytes of a connection or datagram kept for the analyzer: enough for a
/// POST body carrying an environment dump, so canaries deep in it are found.
pub const MAX_KEPT: usize = 16 * 1024;

/// What a sink received on one connection or in one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// `tcp` or `udp`.
    pub transport: &'static str,
    /// `http`, `https`, `tls`, `dns` or `raw`.
    pub protocol: &'static str,
    /// Where the task meant it to go.
    pub dest: SocketAddr,
    /// The task that connected or sent, when the connection was rerouted
    /// (a direct connection to a sink on loopback has none).
    pub pid: Option<i32>,
    /// The name `dest` was resolved from, else the TLS server name, else
    /// the HTTP `Host`.
    pub host: Option<String>,
    pub method: Option<String>,
    pub url: Option<String>,
    /// The first bytes ([`MAX_KEPT`] at most), decrypted for TLS the sink
    /// terminated.
    pub data: Vec<u8>,
    /// Bytes received in all (as far as the sink read).
    pub size: u64,
}

impl Received {
    /// The `request` event for the analyzer, from the task that sent it.
    pub fn event(&self, seq: u64) -> Event {
        let addr = match self.dest {
            SocketAddr::V4(a) => SockAddr::Inet { ip: a.ip().to_string(), port: a.port() },
            SocketAddr::V6(a) => SockAddr::Inet6 { ip: a.ip().to_string(), port: a.port() },
        };
        let kind = EventKind::Request {
            transport: self.transport.to_string(),
            protocol: self.protocol.to_string(),
            addr,
            host: self.host.clone(),
            method: self.method.clone(),
            url: self.url.clone(),
            data: Payload {
                bytes: self.data.clone().into(),
                len: Some(self.size),
                truncated: (self.data.len() as u64) < self.size,
            },
        };
        Event { seq, pid: self.pid.unwrap_or(0), time_ns: None, duration_ns: None, origin: Origin::Live, kind }
    }
}
