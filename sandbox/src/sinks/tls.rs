//! TLS as the TCP sink sees it: the handshake records at the start of a
//! connection and the server name (SNI) of the ClientHello they carry.
//!
//! The sink never answers TLS; the ClientHello alone names the host the
//! package wanted, even when it connected to a bare address.

use super::printable;

/// The handshake bytes carried by the TLS records at the start of `buf`
/// (a ClientHello may span records), and whether the first handshake
/// message is complete. `None` when `buf` does not start with a TLS
/// handshake record.
pub(super) fn tls_handshake(buf: &[u8]) -> Option<(Vec<u8>, bool)> {
    if !matches!(buf, [0x16, 3, ..]) {
        return None;
    }
    let mut handshake = Vec::new();
    let mut rest = buf;
    while let [0x16, 3, _, hi, lo, body @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let (fragment, after) = body.split_at(len.min(body.len()));
        handshake.extend_from_slice(fragment);
        if fragment.len() < len {
            break;
        }
        rest = after;
    }
    let complete = match handshake.as_slice() {
        [_, a, b, c, body @ ..] => body.len() >= usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c),
        _ => false,
    };
    Some((handshake, complete))
}

/// Checked big-endian reads from a shrinking slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    /// Up to `n` bytes: a ClientHello cut at the 4 KiB read limit still
    /// has its early extensions, where the server name usually is.
    fn take_upto(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        self.take(n).unwrap_or_default()
    }

    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u24(&mut self) -> Option<usize> {
        self.take(3).map(|b| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }
}

/// The host name of the `server_name` extension of a TLS ClientHello
/// (RFC 8446 4.1.2, RFC 6066 3).
pub(super) fn tls_sni(buf: &[u8]) -> Option<String> {
    let (handshake, _) = tls_handshake(buf)?;
    let mut message = Reader(&handshake);
    if message.u8()? != 1 {
        return None;
    }
    let len = message.u24()?;
    let mut hello = Reader(message.take_upto(len));
    hello.take(2 + 32)?; // legacy_version, random
    let session_id = hello.u8()?;
    hello.take(session_id)?;
    let cipher_suites = hello.u16()?;
    hello.take(cipher_suites)?;
    let compression = hello.u8()?;
    hello.take(compression)?;
    let extensions_len = hello.u16()?;
    let mut extensions = Reader(hello.take_upto(extensions_len));
    while let (Some(kind), Some(len)) = (extensions.u16(), extensions.u16()) {
        let data = extensions.take(len)?;
        if kind == 0 {
            return server_name(data);
        }
    }
    None
}

fn server_name(data: &[u8]) -> Option<String> {
    let mut ext = Reader(data);
    let list_len = ext.u16()?;
    let mut list = Reader(ext.take_upto(list_len));
    while let Some(kind) = list.u8() {
        let len = list.u16()?;
        let name = list.take(len)?;
        if kind == 0 && !name.is_empty() {
            return Some(printable(name).to_ascii_lowercase());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::time::Instant;

    use super::super::tcp::{request_complete, IDLE_LIMIT};
    use super::super::testutil::{client_hello, connect, localhost, start, stop_checked};
    use super::*;

    #[test]
    fn tls_client_hello_gives_sni_and_is_closed() {
        let sinks = start();
        let port = sinks.tcp_local_ports()[1];
        let mut stream = connect(localhost(), port);
        stream.write_all(&client_hello()).unwrap();
        let started = Instant::now();
        let mut response = Vec::new();
        // Closed without an answer (a reset is fine too).
        let _ = stream.read_to_end(&mut response);
        assert!(response.is_empty());
        assert!(started.elapsed() < IDLE_LIMIT, "closed after the ClientHello, not after the idle timeout");

        let log = stop_checked(sinks);
        assert_eq!(log.received.len(), 1);
        let record = &log.received[0];
        assert_eq!((record.protocol, record.host.as_deref()), ("tls", Some("sni.example")));
        assert_eq!((record.url.as_ref(), record.dest.port()), (None, port));
        assert_eq!(record.data, client_hello());
    }

    #[test]
    fn sni_across_records_and_cut_hellos() {
        let hello = client_hello();
        assert_eq!(tls_sni(&hello).as_deref(), Some("sni.example"));
        // The same handshake split over two records.
        let body = &hello[5..];
        let mut split = vec![0x16, 3, 1, 0, 40];
        split.extend_from_slice(&body[..40]);
        split.extend_from_slice(&[0x16, 3, 1, 0, u8::try_from(body.len() - 40).unwrap()]);
        split.extend_from_slice(&body[40..]);
        assert_eq!(tls_sni(&split).as_deref(), Some("sni.example"));
        assert!(request_complete(&split));
        assert!(!request_complete(&split[..60]));
        // Every prefix parses without panicking; the name needs its whole
        // extension.
        for end in 0..hello.len() {
            let sni = tls_sni(&hello[..end]);
            assert!(sni.is_none() || sni.as_deref() == Some("sni.example"));
        }
        assert_eq!(tls_sni(b"GET / HTTP/1.1\r\n\r\n"), None);
    }
}
