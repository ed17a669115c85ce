//! The generic TCP sink: accepts a connection on any sink port (the world
//! port every rerouted connection reaches, or a fixed port on loopback),
//! reads the first bytes the client sends before it expects an answer, and
//! records them as a [`Received`], with what the HTTP and TLS parsers make
//! of them.
//!
//! HTTP is answered `200` with a plausible body ([`http_answer`]); TLS is
//! terminated with the run's CA and the request inside answered the same
//! way; DNS (port 53) goes to the DNS sink; everything else is recorded
//! and closed. The reading helpers ([`prepare`], [`fill`]) also serve DNS
//! over TCP.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use std::sync::Arc;

use super::answer::http_answer;
use super::http::{http_request_complete, parse_http, request_url};
use super::mitm::{self, Accepted, RunCa};
use super::received::{Received, MAX_KEPT};
use super::tls::{tls_handshake, tls_sni};
use super::{is_timeout, Shared, POLL};

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
/// Bytes of an HTTP request (head and body) read before it is answered.
const MAX_REQUEST: usize = 64 * 1024;

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
    stream: &mut impl Read,
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

/// Serves one connection to a TCP sink: finds where it was going (the
/// route of the address it reached), reads what the client sends before it
/// expects an answer, terminates TLS when the run has a CA, answers HTTP
/// (and HTTPS) plausibly, and records it all as one [`Received`].
pub(super) fn serve_sink(mut stream: TcpStream, shared: &Shared, seq: u64) {
    let (dest, pid) = destination(&stream, shared);
    if dest.port() == 53 {
        // DNS over TCP to any resolver: answered like the DNS sink.
        return super::dns::serve_dns_tcp(stream, Some(dest), shared);
    }
    let mut record = Received {
        transport: "tcp",
        protocol: "raw",
        dest,
        pid,
        host: shared.name_for(dest.ip()),
        method: None,
        url: None,
        data: Vec::new(),
        size: 0,
    };
    let mut buf = Vec::new();
    if prepare(&stream).is_ok() {
        fill(&mut stream, &mut buf, MAX_FIRST_BYTES, shared, request_complete);
    }
    match (tls_handshake(&buf).is_some(), &shared.ca) {
        (true, Some(ca)) => {
            let ca = Arc::clone(ca);
            serve_tls(stream, buf, &ca, shared, seq, record);
        }
        (true, None) => {
            record.protocol = "tls";
            record.host = record.host.or_else(|| tls_sni(&buf));
            keep(&mut record, &buf);
            shared.record_received(seq, record);
        }
        (false, _) => match parse_http(&buf) {
            Some(_) => {
                fill(&mut stream, &mut buf, MAX_REQUEST, shared, |b| http_request_complete(b, MAX_REQUEST));
                let answer = describe_http(&mut record, "http", &buf);
                shared.record_received(seq, record);
                if stream.write_all(&answer).is_ok() {
                    let _ = stream.shutdown(Shutdown::Write);
                    drain(&mut stream, shared);
                }
            }
            // Anything else: recorded, not answered (closed by the drop).
            None => {
                keep(&mut record, &buf);
                shared.record_received(seq, record);
            }
        },
    }
}

/// TLS terminated with the run's CA: the request inside, answered like
/// plain HTTP. A client that does not trust the CA (it pins its own) ends
/// the handshake; its server name is still recorded.
fn serve_tls(stream: TcpStream, hello: Vec<u8>, ca: &RunCa, shared: &Shared, seq: u64, mut record: Received) {
    let sni = tls_sni(&hello);
    let deadline = Instant::now() + READ_DEADLINE;
    match mitm::accept(stream, hello.clone(), ca, record.dest.ip(), deadline, &|| shared.stopping()) {
        Accepted::Tls(mut tls) => {
            record.host = record.host.or_else(|| tls.sni()).or(sni);
            let mut buf = Vec::new();
            fill(&mut tls, &mut buf, MAX_REQUEST, shared, |b| {
                if parse_http(b).is_some() {
                    http_request_complete(b, MAX_REQUEST)
                } else {
                    request_complete(b)
                }
            });
            if parse_http(&buf).is_some() {
                let answer = describe_http(&mut record, "https", &buf);
                shared.record_received(seq, record);
                if tls.write_all(&answer).is_ok() {
                    let _ = tls.flush();
                    tls.finish();
                }
            } else {
                record.protocol = "tls";
                keep(&mut record, &buf);
                shared.record_received(seq, record);
            }
        }
        Accepted::Failed { sni: failed_sni, error } => {
            tracing::debug!(%error, "TLS handshake with the sink failed");
            record.protocol = "tls";
            record.host = record.host.or(failed_sni).or(sni);
            keep(&mut record, &hello);
            shared.record_received(seq, record);
        }
    }
}

/// Fills in an HTTP request's method, URL and bytes; returns the answer.
fn describe_http(record: &mut Received, scheme: &'static str, buf: &[u8]) -> Vec<u8> {
    record.protocol = scheme;
    keep(record, buf);
    let Some(req) = parse_http(buf) else { return Vec::new() };
    let fallback = record.host.clone().unwrap_or_else(|| match record.dest.ip() {
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    });
    record.url = Some(request_url(scheme, &req, &fallback, record.dest.port()));
    record.host = record.host.take().or_else(|| req.host.as_deref().map(host_without_port));
    record.method = Some(req.method.clone());
    http_answer(&req.method, &req.target)
}

/// `example.com:8080` → `example.com`, `[2001:db8::1]:80` → `2001:db8::1`.
fn host_without_port(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_string();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
        _ => host.to_string(),
    }
}

fn keep(record: &mut Received, buf: &[u8]) {
    record.data = buf[..buf.len().min(MAX_KEPT)].to_vec();
    record.size = buf.len() as u64;
}

/// Where a connection was going and who made it: its route when the tracer
/// rerouted it, else the address it reached (a sink port on loopback).
fn destination(stream: &TcpStream, shared: &Shared) -> (SocketAddr, Option<i32>) {
    let local = stream.local_addr().ok();
    let route = local.and_then(|a| shared.route(a.ip()));
    match (route, local) {
        (Some(r), _) => (r.dest, Some(r.pid)),
        // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
        (None, Some(a)) => (SocketAddr::new(a.ip().to_canonical(), a.port()), None),
        (None, None) => (SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), None),
    }
}

/// The record of a connection that was closed unread (too many at once).
pub(super) fn unread(stream: &TcpStream, shared: &Shared) -> Received {
    let (dest, pid) = destination(stream, shared);
    Received {
        transport: "tcp",
        protocol: "raw",
        dest,
        pid,
        host: shared.name_for(dest.ip()),
        method: None,
        url: None,
        data: Vec::new(),
        size: 0,
    }
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
