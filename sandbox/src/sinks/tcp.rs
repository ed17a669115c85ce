//! The generic TCP sink: accepts a connection on any sink port, reads the
//! first bytes the client sends before it expects an answer, and records
//! them as a [`TcpRecord`], with what the HTTP and TLS parsers make of them.
//!
//! HTTP is answered with an empty `200 OK`; everything else is closed. The
//! reading helpers ([`prepare`], [`fill`]) also serve DNS over TCP.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::http::{parse_http, HTTP_RESPONSE};
use super::tls::{tls_handshake, tls_sni};
use super::{is_timeout, Shared, TcpRecord, POLL};

/// A client that sends nothing for this long has said all it will say
/// before it gets an answer.
pub(super) const IDLE_LIMIT: Duration = Duration::from_secs(2);
/// Upper bound for one read phase, against clients that drip a byte just
/// before every idle timeout.
const READ_DEADLINE: Duration = Duration::from_secs(10);
/// A client that does not read its response must not hold a thread.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long an HTTP connection is drained after the response (see
/// [`drain`]).
const DRAIN_LIMIT: Duration = Duration::from_millis(500);
/// Bytes read from a TCP sink connection before it is classified.
const MAX_FIRST_BYTES: usize = 4096;
/// Bytes kept verbatim in a [`TcpRecord`].
const MAX_RAW: usize = 256;

/// Listeners for one sink port and the port they got.
///
/// `[::]` is bound first: where `net.ipv6.bindv6only` is 0 (the Linux
/// default) that socket also takes IPv4, and binding `0.0.0.0` afterwards
/// fails with `AddrInUse`, which is then expected. Binding `0.0.0.0` first
/// would make `[::]` fail instead and leave `::1` unserved, and std cannot
/// set `IPV6_V6ONLY` to avoid the conflict. Without IPv6 only `0.0.0.0` is
/// bound.
pub(super) fn bind_sink(port: u16) -> io::Result<(u16, Vec<TcpListener>)> {
    let v6 = TcpListener::bind((Ipv6Addr::UNSPECIFIED, port));
    let port = match &v6 {
        Ok(listener) => listener.local_addr()?.port(),
        Err(_) => port,
    };
    let v4 = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port));
    match (v6, v4) {
        (Ok(a), Ok(b)) => Ok((port, vec![a, b])),
        (Ok(a), Err(e)) if e.kind() == ErrorKind::AddrInUse => Ok((port, vec![a])),
        (_, Ok(b)) => Ok((port, vec![b])),
        (_, Err(e)) => Err(e),
    }
}

/// Accepted sockets may inherit the listener's non-blocking mode on some
/// systems; the handlers rely on blocking reads with a timeout.
pub(super) fn prepare(stream: &TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))
}

/// Why [`fill`] returned.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Fill {
    /// `complete` said yes or `cap` bytes arrived.
    Ready,
    /// Idle, too slow, or stopping.
    TimedOut,
    /// End of stream or a socket error.
    Closed,
}

/// Reads into `buf` until `complete(buf)`, `cap` bytes, end of stream,
/// [`IDLE_LIMIT`] without data, [`READ_DEADLINE`], or the stop flag.
///
/// The read comes before the checks so that bytes already waiting are
/// collected even when the sinks are stopping.
pub(super) fn fill(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    cap: usize,
    shared: &Shared,
    complete: impl Fn(&[u8]) -> bool,
) -> Fill {
    let start = Instant::now();
    let mut last_data = start;
    let mut chunk = [0u8; 4096];
    loop {
        if buf.len() >= cap || complete(buf) {
            return Fill::Ready;
        }
        let stopping = shared.stopping();
        let want = (cap - buf.len()).min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Fill::Closed,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                last_data = Instant::now();
                continue;
            }
            Err(e) if is_timeout(&e) => {}
            Err(_) => return Fill::Closed,
        }
        if stopping || last_data.elapsed() >= IDLE_LIMIT || start.elapsed() >= READ_DEADLINE {
            return Fill::TimedOut;
        }
    }
}

/// Serves one connection to a TCP sink.
pub(super) fn serve_sink(mut stream: TcpStream, shared: &Shared, seq: u64) {
    let mut buf = Vec::new();
    if prepare(&stream).is_ok() {
        fill(&mut stream, &mut buf, MAX_FIRST_BYTES, shared, request_complete);
    }
    let record = sink_record(&stream, &buf, shared);
    let http = record.http_request.is_some();
    shared.record_tcp(seq, record);
    if http && stream.write_all(HTTP_RESPONSE).is_ok() {
        let _ = stream.shutdown(Shutdown::Write);
        drain(&mut stream, shared);
    }
    // TLS and everything else: closed by the drop. A TLS client that gets
    // no ServerHello fails like one behind a firewall that resets.
}

/// Reads and discards until the client closes, briefly. Closing a socket
/// with unread data (a request body) sends a reset, which can make the
/// client lose the response it has not read yet.
fn drain(stream: &mut TcpStream, shared: &Shared) {
    let start = Instant::now();
    let mut scratch = [0u8; 4096];
    while start.elapsed() < DRAIN_LIMIT {
        let stopping = shared.stopping();
        match stream.read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
        if stopping {
            return;
        }
    }
}

/// Has the client sent all it will send before it expects an answer?
pub(super) fn request_complete(buf: &[u8]) -> bool {
    if let Some((_, complete)) = tls_handshake(buf) {
        return complete;
    }
    parse_http(buf).is_some() && (find(buf, b"\r\n\r\n").is_some() || find(buf, b"\n\n").is_some())
}

pub(super) fn sink_record(stream: &TcpStream, buf: &[u8], shared: &Shared) -> TcpRecord {
    let local = stream.local_addr().ok();
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
    let local_ip = local.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip().to_canonical());
    let http = parse_http(buf);
    TcpRecord {
        port: local.map_or(0, |a| a.port()),
        local_ip,
        host: shared.name_for(local_ip),
        http_request: http.as_ref().map(|h| h.request_line.clone()),
        http_host: http.and_then(|h| h.host),
        tls_sni: tls_sni(buf),
        first_bytes: buf[..buf.len().min(MAX_RAW)].to_vec(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::super::sinkhole::sinkhole;
    use super::*;

    #[test]
    fn tcp_record_serializes_bytes_as_string() {
        let record = TcpRecord {
            port: 443,
            local_ip: IpAddr::V4(sinkhole("x")),
            host: Some("x".into()),
            http_request: None,
            http_host: None,
            tls_sni: None,
            first_bytes: b"GET \xff".to_vec(),
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["first_bytes"], "GET \u{fffd}");
        let back: TcpRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.first_bytes, "GET \u{fffd}".as_bytes());
    }
}
