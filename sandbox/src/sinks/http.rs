//! HTTP/1 as the TCP sink sees it: the request line and `Host` header of
//! the first bytes a client sent, and the empty `200 OK` it is answered
//! with.

use super::printable;

/// The answer to every HTTP request: success, so the client goes on and
/// shows what it does next, and nothing to act on.
pub(super) const HTTP_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

pub(super) struct HttpRequest {
    pub(super) request_line: String,
    pub(super) host: Option<String>,
}

/// The request line and `Host` header, when `buf` starts like an HTTP/1
/// request: an upper-case method, a space, and (once the line is complete)
/// a version starting with `HTTP/`. A request cut before the end of its
/// first line still counts, so a slow client is answered as HTTP too.
pub(super) fn parse_http(buf: &[u8]) -> Option<HttpRequest> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    let line = trim_cr(&buf[..line_end.unwrap_or(buf.len())]);
    let method_len = line.iter().position(|&b| b == b' ')?;
    let method = &line[..method_len];
    if method.is_empty() || method.len() > 20 || !method.iter().all(|&b| b.is_ascii_uppercase() || b == b'-') {
        return None;
    }
    let mut host = None;
    if let Some(line_end) = line_end {
        let version = line.rsplit(|&b| b == b' ').next()?;
        if !version.starts_with(b"HTTP/") {
            return None;
        }
        // Only header lines that arrived whole: a cut `Host: evil.ex` would
        // name the wrong host.
        let rest = &buf[line_end + 1..];
        let whole = rest.iter().rposition(|&b| b == b'\n').map_or(&[][..], |end| &rest[..end]);
        host = whole.split(|&b| b == b'\n').map(trim_cr).take_while(|l| !l.is_empty()).find_map(|header| {
            let colon = header.iter().position(|&b| b == b':')?;
            header[..colon]
                .eq_ignore_ascii_case(b"host")
                .then(|| printable(header[colon + 1..].trim_ascii()).to_ascii_lowercase())
        });
    }
    Some(HttpRequest { request_line: printable(line), host })
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::IpAddr;

    use super::super::sinkhole::sinkhole;
    use super::super::testutil::{connect, localhost, query, start, stop_checked, udp_exchange};
    use super::super::TcpRecord;

    #[test]
    fn http_request_is_recorded_and_answered() {
        let sinks = start();
        let port = sinks.tcp_local_ports()[0];
        let request = b"GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n";

        // First straight to 127.0.0.1, then to the sinkhole address of a
        // name the DNS sink handed out.
        let mut stream = connect(localhost(), port);
        stream.write_all(request).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&response));
        assert!(response.ends_with(b"\r\n\r\n"), "empty body");

        udp_exchange(sinks.dns_local_addr(), &query(3, "evil.example", 1));
        let ip = IpAddr::V4(sinkhole("evil.example"));
        let mut stream = connect(ip, port);
        stream.write_all(b"POST /upload HTTP/1.0\nhost: Evil.Example:8080\n\nbody").unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));

        let log = stop_checked(sinks);
        assert_eq!(log.tcp.len(), 2, "{:?}", log.tcp);
        assert_eq!(
            log.tcp[0],
            TcpRecord {
                port,
                local_ip: localhost(),
                host: None,
                http_request: Some("GET /x HTTP/1.1".into()),
                http_host: Some("evil.example".into()),
                tls_sni: None,
                first_bytes: request.to_vec(),
            }
        );
        let second = &log.tcp[1];
        assert_eq!((second.local_ip, second.host.as_deref()), (ip, Some("evil.example")));
        assert_eq!(second.http_request.as_deref(), Some("POST /upload HTTP/1.0"));
        assert_eq!(second.http_host.as_deref(), Some("evil.example:8080"));
    }
}
