//! The DNS sink: a server on UDP and TCP (same address, normally
//! 127.0.0.1:53) that records every question and answers it.
//!
//! `A` questions of class IN get the name's sinkhole address (see
//! [`Assignments`](super::sinkhole::Assignments)), every other question an
//! empty NOERROR, and a query without a usable question a bare error; see
//! [`build_reply`] for why. Questions are decoded by `event`'s DNS decoder,
//! the same one that reads the DNS traffic of a trace.

use std::io::{self, ErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;

use event::dns;

use super::tcp::{fill, prepare, Fill};
use super::{is_timeout, lock, serve_datagrams, DnsRecord, Shared, ACCEPT_POLL};

pub(super) const DNS_HEADER_LEN: usize = 12;
const DNS_TTL: u32 = 60;
const DNS_FLAG_QR: u16 = 0x8000;
const DNS_FLAG_RA: u16 = 0x0080;
/// Opcode and RD bits, copied from the query as resolvers expect.
const DNS_COPIED_FLAGS: u16 = 0x7900;
const RCODE_FORMERR: u16 = 1;
const RCODE_NOTIMP: u16 = 4;

/// UDP and TCP sockets on the same DNS address. For port 0 the TCP port
/// must match the one the kernel chose for UDP, which can be taken for TCP;
/// a few fresh picks make that race harmless.
pub(super) fn bind_dns(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let annotate = |e: io::Error| io::Error::new(e.kind(), format!("binding DNS sink on {addr}: {e}"));
    let attempts = if addr.port() == 0 { 16 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(addr).map_err(annotate)?;
        let bound = udp.local_addr()?;
        match TcpListener::bind(bound) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(annotate(last.unwrap_or_else(|| ErrorKind::AddrInUse.into())))
}

pub(super) fn serve_udp(socket: &UdpSocket, shared: &Shared) {
    // Large enough for any datagram, so no query arrives cut.
    let mut buf = vec![0u8; 65_536];
    let serve_one = |socket: &UdpSocket| match socket.recv_from(&mut buf) {
        Ok((n, peer)) => {
            if let Some(reply) = handle_dns(&buf[..n], "udp", None, shared) {
                if let Err(e) = socket.send_to(&reply, peer) {
                    tracing::debug!(%peer, error = %e, "DNS sink could not send a UDP reply");
                }
            }
            true
        }
        Err(e) if is_timeout(&e) => false,
        Err(e) => {
            tracing::debug!(error = %e, "DNS sink UDP receive failed");
            thread::sleep(ACCEPT_POLL);
            false
        }
    };
    serve_datagrams(socket, shared, serve_one);
}

/// Serves DNS over TCP: each message has a 2-byte length prefix, in both
/// directions, and a client may send several on one connection (glibc
/// sends its A and AAAA questions together).
/// `server`: the resolver the client meant, when it was rerouted here.
pub(super) fn serve_dns_tcp(mut stream: TcpStream, server: Option<SocketAddr>, shared: &Shared) {
    if prepare(&stream).is_err() {
        return;
    }
    let frame_len = |buf: &[u8]| match buf {
        [hi, lo, ..] => Some(usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    };
    let mut buf = Vec::new();
    loop {
        let outcome = fill(&mut stream, &mut buf, 2 + usize::from(u16::MAX), shared, |b| {
            frame_len(b).is_some_and(|n| b.len() >= 2 + n)
        });
        while let Some(len) = frame_len(&buf).filter(|&n| buf.len() >= 2 + n) {
            if len < DNS_HEADER_LEN {
                // Not DNS framing; nothing sensible can follow.
                return;
            }
            let msg: Vec<u8> = buf.drain(..2 + len).skip(2).collect();
            if let Some(reply) = handle_dns(&msg, "tcp", server, shared) {
                let Ok(reply_len) = u16::try_from(reply.len()) else { return };
                let mut framed = reply_len.to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                if stream.write_all(&framed).is_err() {
                    return;
                }
            }
        }
        if outcome != Fill::Ready || shared.stopping() {
            return;
        }
    }
}

/// Records the questions of one DNS message and builds the reply, if one is
/// due. `server`: the resolver the client meant, when it was rerouted here.
pub(super) fn handle_dns(msg: &[u8], transport: &str, server: Option<SocketAddr>, shared: &Shared) -> Option<Vec<u8>> {
    let header = msg.get(..DNS_HEADER_LEN)?;
    if header[2] & 0x80 != 0 {
        // A response. Never answered, so that a reflected packet or two
        // sinks pointed at each other cannot loop.
        return None;
    }
    // The caller removed any TCP framing.
    let questions = dns::decode_query(msg, false);
    let question_end = questions.first().filter(|q| !q.truncated).and_then(|_| question_end(msg));
    let class_in = question_end.is_some_and(|end| msg.get(end - 2..end) == Some(&[0, 1][..]));
    let answer = match (questions.first(), question_end) {
        (Some(q), Some(_)) if q.qtype == "A" && class_in => Some(lock(&shared.names).assign(&q.name)),
        _ => None,
    };
    for (i, q) in questions.iter().enumerate() {
        let record = DnsRecord {
            name: q.name.clone(),
            qtype: q.qtype.clone(),
            answer: if i == 0 { answer } else { None },
            transport: transport.to_owned(),
            server: server.map(|s| s.to_string()),
        };
        shared.record_dns(shared.next_seq(), record);
    }
    Some(build_reply(msg, question_end, answer))
}

/// Offset just past the first question (name, QTYPE, QCLASS).
fn question_end(msg: &[u8]) -> Option<usize> {
    let mut pos = DNS_HEADER_LEN;
    loop {
        let len = *msg.get(pos)?;
        match len & 0xC0 {
            0x00 if len == 0 => {
                pos += 1;
                break;
            }
            0x00 => pos += 1 + usize::from(len),
            0xC0 => {
                pos += 2;
                break;
            }
            _ => return None,
        }
    }
    let end = pos + 4;
    (end <= msg.len()).then_some(end)
}

/// The reply to a query whose header is `msg[..12]`.
///
/// With a question, the reply repeats it and is NOERROR, with one `A`
/// record when `answer` is given. Other types get an empty NOERROR (NODATA)
/// rather than NXDOMAIN: NXDOMAIN says the name does not exist at all, and
/// resolvers such as musl's fail the whole lookup when the AAAA half of
/// their parallel A+AAAA query gets it, so the package would never connect
/// to the sinkhole address. Without a usable question the reply is a bare
/// FORMERR (or NOTIMP for other opcodes), which ends the client's retries
/// at once instead of after its timeout.
fn build_reply(msg: &[u8], question_end: Option<usize>, answer: Option<Ipv4Addr>) -> Vec<u8> {
    let query_flags = u16::from_be_bytes([msg[2], msg[3]]);
    let opcode = (query_flags >> 11) & 0xF;
    let rcode = match question_end {
        Some(_) => 0,
        None if opcode != 0 => RCODE_NOTIMP,
        None => RCODE_FORMERR,
    };
    let flags = DNS_FLAG_QR | (query_flags & DNS_COPIED_FLAGS) | DNS_FLAG_RA | rcode;
    let qdcount = u16::from(question_end.is_some());
    let ancount = u16::from(answer.is_some());
    let mut reply = Vec::with_capacity(question_end.unwrap_or(DNS_HEADER_LEN) + 16);
    reply.extend_from_slice(&msg[..2]);
    for word in [flags, qdcount, ancount, 0, 0] {
        reply.extend_from_slice(&word.to_be_bytes());
    }
    if let Some(end) = question_end {
        // Only the first question is answered; EDNS and other additional
        // records are dropped, which every client accepts.
        reply.extend_from_slice(&msg[DNS_HEADER_LEN..end]);
        if let Some(ip) = answer {
            // Owner: compression pointer to the question name at offset 12.
            reply.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1]);
            reply.extend_from_slice(&DNS_TTL.to_be_bytes());
            reply.extend_from_slice(&4u16.to_be_bytes());
            reply.extend_from_slice(&ip.octets());
        }
    }
    reply
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::IpAddr;

    use super::super::sinkhole::sinkhole;
    use super::super::testutil::{connect, localhost, query, start, stop_checked, udp_exchange};
    use super::*;

    fn framed(msg: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(msg);
        out
    }

    fn word(msg: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([msg[at], msg[at + 1]])
    }

    /// Checks the reply header and returns the addresses of its A records.
    fn check_reply(reply: &[u8], id: u16, ancount: u16) -> Vec<IpAddr> {
        assert_eq!(word(reply, 0), id);
        let flags = word(reply, 2);
        assert_eq!(flags & 0x8000, 0x8000, "QR");
        assert_eq!(flags & 0x0080, 0x0080, "RA");
        assert_eq!(flags & 0x0100, 0x0100, "RD copied");
        assert_eq!(flags & 0xF, 0, "NOERROR");
        assert_eq!((word(reply, 4), word(reply, 6)), (1, ancount));
        dns::decode_answers(reply, false).into_iter().map(|a| a.ip).collect()
    }

    #[test]
    fn udp_a_query_gets_sinkhole_answer() {
        let sinks = start();
        let server = sinks.dns_local_addr();
        let reply = udp_exchange(server, &query(0x4242, "Evil.Example", 1));
        let expected = sinkhole("evil.example");
        assert_eq!(check_reply(&reply, 0x4242, 1), [IpAddr::V4(expected)]);
        // TTL of the answer (after header, question of 14+4 bytes, pointer, type, class).
        assert_eq!(&reply[12 + 18 + 6..12 + 18 + 10], &60u32.to_be_bytes());
        assert_eq!(sinks.name_for(IpAddr::V4(expected)).as_deref(), Some("evil.example"));
        assert_eq!(sinks.name_for(IpAddr::V6(expected.to_ipv6_mapped())).as_deref(), Some("evil.example"));

        // AAAA: empty NOERROR, not NXDOMAIN.
        let reply = udp_exchange(server, &query(7, "evil.example", 28));
        assert!(check_reply(&reply, 7, 0).is_empty());

        let log = stop_checked(sinks);
        let record = |qtype: &str, answer| DnsRecord {
            name: "evil.example".into(),
            qtype: qtype.into(),
            answer,
            transport: "udp".into(),
            server: None,
        };
        assert_eq!(log.log.dns, [record("A", Some(expected)), record("AAAA", None)]);
        assert!(log.received.is_empty());
    }

    #[test]
    fn tcp_dns_with_length_prefix() {
        let sinks = start();
        let mut stream = connect(localhost(), sinks.dns_local_addr().port());
        // Two questions in one write, as glibc sends them.
        let mut out = framed(&query(1, "a.example", 1));
        out.extend(framed(&query(2, "b.example", 16)));
        stream.write_all(&out).unwrap();
        let mut replies = Vec::new();
        for _ in 0..2 {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).unwrap();
            let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut reply).unwrap();
            replies.push(reply);
        }
        assert_eq!(check_reply(&replies[0], 1, 1), [IpAddr::V4(sinkhole("a.example"))]);
        assert!(check_reply(&replies[1], 2, 0).is_empty());
        drop(stream);

        let log = stop_checked(sinks);
        let got: Vec<_> =
            log.log.dns.iter().map(|r| (r.name.as_str(), r.qtype.as_str(), r.transport.as_str())).collect();
        assert_eq!(got, [("a.example", "A", "tcp"), ("b.example", "TXT", "tcp")]);
        assert_eq!(log.log.dns[0].answer, Some(sinkhole("a.example")));
    }

    #[test]
    fn dns_replies_to_bad_queries() {
        let shared = Shared::default();
        // A response is never answered.
        let mut response = query(5, "x.example", 1);
        response[2] |= 0x80;
        assert_eq!(handle_dns(&response, "udp", None, &shared), None);
        assert_eq!(handle_dns(&[0; 11], "udp", None, &shared), None);
        // An undecodable question: bare FORMERR with the same id.
        let mut bad = query(6, "x.example", 1);
        bad[12] = 0x80;
        let reply = handle_dns(&bad, "udp", None, &shared).unwrap();
        assert_eq!((word(&reply, 0), word(&reply, 2) & 0xF, word(&reply, 4)), (6, RCODE_FORMERR, 0));
        // Class CH: no address, but recorded.
        let mut chaos = query(7, "version.bind", 16);
        let len = chaos.len();
        chaos[len - 1] = 3;
        let reply = handle_dns(&chaos, "udp", None, &shared).unwrap();
        assert_eq!(word(&reply, 6), 0);
        assert_eq!(lock(&shared.dns).len(), 1);
    }
}
