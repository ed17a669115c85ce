//! HTTP/1 as the sinks see it: the request line, headers and body framing
//! of the bytes a client sent, whether the whole request has arrived, and
//! the URL it was for. What the sinks answer is `answer`'s business.

use super::printable;

/// Header lines kept in [`HttpRequest::headers`]; a flood of headers must
/// not become a flood of report strings.
const MAX_HEADERS: usize = 64;

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// What an HTTP/1 request has told so far. Every string is taken from the
/// client through [`printable`].
pub(super) struct HttpRequest {
    pub(super) method: String,
    /// The request target as sent: `/path?query` (origin form),
    /// `http://host/path` (absolute form), `host:port` (CONNECT) or `*`.
    pub(super) target: String,
    /// The first `Host` header, lower-cased.
    pub(super) host: Option<String>,
    /// Header lines that arrived whole, names lower-cased, values trimmed;
    /// at most [`MAX_HEADERS`].
    pub(super) headers: Vec<(String, String)>,
    /// Offset in the buffer of the body, once the blank line that ends the
    /// head has arrived.
    pub(super) body_start: Option<usize>,
    /// How the body's end is found; taken from every header line, not only
    /// the ones kept.
    framing: Framing,
}

/// RFC 9112 6.3: `Transfer-Encoding: chunked` wins over `Content-Length`;
/// without either a request has no body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// The request line and headers, when `buf` starts like an HTTP/1
/// request: an upper-case method, a space, and (once the line is complete)
/// a version starting with `HTTP/`. A request cut before the end of its
/// first line still counts, so a slow client is answered as HTTP too.
pub(super) fn parse_http(buf: &[u8]) -> Option<HttpRequest> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    let line = trim_cr(buf.get(..line_end.unwrap_or(buf.len()))?);
    let method_len = line.iter().position(|&b| b == b' ')?;
    let method = line.get(..method_len)?;
    if method.is_empty() || method.len() > 20 || !method.iter().all(|&b| b.is_ascii_uppercase() || b == b'-') {
        return None;
    }
    let after_method = line.get(method_len + 1..).unwrap_or_default();
    let mut request = HttpRequest {
        method: printable(method),
        target: String::new(),
        host: None,
        headers: Vec::new(),
        body_start: None,
        framing: Framing::None,
    };
    let Some(line_end) = line_end else {
        // The target may be cut too; it is what has arrived.
        let target = after_method.split(|&b| b == b' ').next().unwrap_or_default();
        request.target = printable(target);
        return Some(request);
    };
    let version_start = line.iter().rposition(|&b| b == b' ').map_or(0, |space| space + 1);
    if !line.get(version_start..).unwrap_or_default().starts_with(b"HTTP/") {
        return None;
    }
    // Between the method and the version, spaces and all: a hostile
    // `GET /a b HTTP/1.1` shows as sent.
    let target = line.get(method_len + 1..version_start.saturating_sub(1)).unwrap_or_default();
    request.target = printable(target);
    read_headers(buf, line_end + 1, &mut request);
    Some(request)
}

/// Header lines from `start` on. Only lines that arrived whole count: a
/// cut `Host: evil.ex` would name the wrong host.
fn read_headers(buf: &[u8], start: usize, request: &mut HttpRequest) {
    let mut pos = start;
    while let Some(len) = buf.get(pos..).and_then(|rest| rest.iter().position(|&b| b == b'\n')) {
        let line = trim_cr(buf.get(pos..pos + len).unwrap_or_default());
        pos += len + 1;
        if line.is_empty() {
            request.body_start = Some(pos);
            return;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (name, value) =
            (line.get(..colon).unwrap_or_default(), line.get(colon + 1..).unwrap_or_default().trim_ascii());
        if name.eq_ignore_ascii_case(b"host") && request.host.is_none() {
            request.host = Some(printable(value).to_ascii_lowercase());
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // The last coding is the one that frames the message.
            let last = value.rsplit(|&b| b == b',').next().unwrap_or_default().trim_ascii();
            if last.eq_ignore_ascii_case(b"chunked") {
                request.framing = Framing::Chunked;
            }
        } else if name.eq_ignore_ascii_case(b"content-length") && request.framing == Framing::None {
            if let Some(length) = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                request.framing = Framing::Length(length);
            }
        }
        if request.headers.len() < MAX_HEADERS {
            request.headers.push((printable(name).to_ascii_lowercase(), printable(value)));
        }
    }
}

/// Everything of the request has arrived: the head (blank line) and, when
/// `Content-Length` is given, that many body bytes; a chunked body up to
/// its last chunk and trailers. Or `cap` bytes in all, whatever they are.
/// Bytes that are not an HTTP request never complete below `cap`: the
/// caller's idle limit ends those.
pub(super) fn http_request_complete(buf: &[u8], cap: usize) -> bool {
    if buf.len() >= cap {
        return true;
    }
    let Some(request) = parse_http(buf) else { return false };
    let Some(body_start) = request.body_start else { return false };
    let body = buf.get(body_start..).unwrap_or_default();
    match request.framing {
        Framing::None => true,
        Framing::Length(length) => u64::try_from(body.len()).is_ok_and(|have| have >= length),
        Framing::Chunked => chunked_complete(body),
    }
}

/// A chunked body (RFC 9112 7.1) up to the blank line after the last
/// chunk's trailers. Sizes are hostile: every sum is checked.
fn chunked_complete(body: &[u8]) -> bool {
    let mut pos = 0usize;
    loop {
        let Some(len) = body.get(pos..).and_then(|rest| rest.iter().position(|&b| b == b'\n')) else { return false };
        let line = trim_cr(body.get(pos..pos + len).unwrap_or_default());
        pos += len + 1;
        // `1a;name=value`: the extension does not matter.
        let digits = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
        let Some(size) = std::str::from_utf8(digits).ok().and_then(|d| usize::from_str_radix(d, 16).ok()) else {
            // Not a chunk size: the body is malformed and nothing more
            // will make it whole.
            return true;
        };
        if size == 0 {
            return trailers_complete(body.get(pos..).unwrap_or_default());
        }
        // The data and its CRLF.
        match pos.checked_add(size).and_then(|end| end.checked_add(2)) {
            Some(next) if next <= body.len() => pos = next,
            _ => return false,
        }
    }
}

/// Trailer lines, ended by an empty one.
fn trailers_complete(mut rest: &[u8]) -> bool {
    while let Some(len) = rest.iter().position(|&b| b == b'\n') {
        if trim_cr(rest.get(..len).unwrap_or_default()).is_empty() {
            return true;
        }
        rest = rest.get(len + 1..).unwrap_or_default();
    }
    false
}

/// The absolute URL of a request: `scheme://host` and the target. The host
/// is the `Host` header's, else `fallback_host` (a name or an address) with
/// `:port` unless it is the scheme's default. An absolute-form target is
/// the URL already; a CONNECT target is an authority.
pub(super) fn request_url(scheme: &str, req: &HttpRequest, fallback_host: &str, port: u16) -> String {
    let target = &req.target;
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return target.clone();
    }
    let host = match req.host.as_deref() {
        Some(host) if !host.is_empty() => host.to_string(),
        _ => {
            let host = match fallback_host.parse::<std::net::Ipv6Addr>() {
                Ok(v6) => format!("[{v6}]"),
                Err(_) => fallback_host.to_string(),
            };
            let default_port = match scheme {
                "https" => 443,
                _ => 80,
            };
            if port == default_port {
                host
            } else {
                format!("{host}:{port}")
            }
        }
    };
    if req.method == "CONNECT" {
        format!("{scheme}://{target}")
    } else if target.starts_with('/') {
        format!("{scheme}://{host}{target}")
    } else {
        format!("{scheme}://{host}/{target}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::testutil::Rng;

    fn parsed(buf: &[u8]) -> HttpRequest {
        parse_http(buf).expect("an HTTP request")
    }

    #[test]
    fn method_target_headers_and_body_offset() {
        let buf = b"POST /collect?id=1 HTTP/1.1\r\nHost: Evil.Example\r\nContent-Type: application/json\r\nX-Odd:\tv\x01\r\nno colon here\r\n\r\n{\"a\":1}";
        let req = parsed(buf);
        assert_eq!((req.method.as_str(), req.target.as_str()), ("POST", "/collect?id=1"));
        assert_eq!(req.host.as_deref(), Some("evil.example"));
        let headers: Vec<(&str, &str)> = req.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(
            headers,
            [("host", "Evil.Example"), ("content-type", "application/json"), ("x-odd", "v\\x01")],
            "names lower-cased, values trimmed and escaped, lines without a colon skipped"
        );
        assert_eq!(req.body_start, Some(buf.len() - 7));
        assert_eq!(&buf[req.body_start.unwrap()..], b"{\"a\":1}");

        // Bare LF line ends; the blank line not there yet.
        let req = parsed(b"GET / HTTP/1.0\nHost: a\nAccept: */*\nUser-Ag");
        assert_eq!(req.body_start, None);
        assert_eq!(req.headers.len(), 2, "the cut line is not a header yet");
        assert_eq!(parsed(b"GET / HTTP/1.0\n\n").body_start, Some(16));
    }

    #[test]
    fn cut_and_odd_request_lines() {
        // Cut in the middle of the target: what has arrived.
        let req = parsed(b"GET /payl");
        assert_eq!((req.method.as_str(), req.target.as_str(), req.body_start), ("GET", "/payl", None));
        // Spaces inside the target are kept as sent.
        assert_eq!(parsed(b"GET /a b HTTP/1.1\r\n\r\n").target, "/a b");
        assert_eq!(parsed(b"GET HTTP/1.1\r\n\r\n").target, "", "no target at all");
        assert_eq!(parsed(b"CONNECT evil.example:443 HTTP/1.1\r\n\r\n").target, "evil.example:443");
        assert!(parse_http(b"get / HTTP/1.1\r\n\r\n").is_none(), "lower-case method");
        assert!(parse_http(b"GET / SPDY/3\r\n\r\n").is_none());
        assert!(parse_http(b"\x16\x03\x01\x00").is_none());
        assert!(parse_http(b"").is_none());
    }

    #[test]
    fn headers_are_capped_but_framing_sees_them_all() {
        let mut buf = b"POST /u HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            buf.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        buf.extend_from_slice(b"Host: late.example\r\nContent-Length: 3\r\n\r\nab");
        let req = parsed(&buf);
        assert_eq!(req.headers.len(), MAX_HEADERS);
        assert_eq!(req.host.as_deref(), Some("late.example"));
        assert!(!http_request_complete(&buf, 1 << 20), "Content-Length past the cap still counts");
        buf.push(b'c');
        assert!(http_request_complete(&buf, 1 << 20));
    }

    #[test]
    fn content_length_split_across_reads() {
        let request = b"POST /collect HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789";
        let head_len = request.len() - 10;
        for end in 0..request.len() {
            assert!(!http_request_complete(&request[..end], 4096), "complete at {end} of {}", request.len());
        }
        assert!(http_request_complete(request, 4096));
        // The cap ends a body that would be longer.
        assert!(http_request_complete(&request[..head_len + 4], head_len + 4));
        // No body announced: the head is all.
        assert!(http_request_complete(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 4096));
        // An unreadable length does not make the client wait for ever.
        assert!(http_request_complete(b"POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n", 4096));
        assert!(!http_request_complete(b"not http at all\r\n\r\n", 4096));
        assert!(http_request_complete(b"not http at all\r\n\r\n", 8));
    }

    #[test]
    fn chunked_body_completes_at_the_last_chunk() {
        let request = b"POST /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 2\r\n\r\n\
            5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n";
        for end in 0..request.len() {
            assert!(!http_request_complete(&request[..end], 4096), "complete at {end} of {}", request.len());
        }
        assert!(http_request_complete(request, 4096));
        assert!(http_request_complete(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n0\n\n", 4096));
        // A chunk size beyond anything that could arrive waits for the cap.
        let huge = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nab";
        assert!(!http_request_complete(huge, 4096));
        assert!(http_request_complete(huge, huge.len()));
    }

    #[test]
    fn absolute_urls() {
        let url = |scheme, buf: &[u8], fallback, port| request_url(scheme, &parsed(buf), fallback, port);
        assert_eq!(
            url("http", b"GET /x?y=1 HTTP/1.1\r\nHost: Evil.Example\r\n\r\n", "127.0.0.1", 80),
            "http://evil.example/x?y=1"
        );
        assert_eq!(
            url("https", b"GET /x HTTP/1.1\r\nHost: evil.example:8443\r\n\r\n", "127.0.0.1", 8443),
            "https://evil.example:8443/x",
            "the port comes with the Host header"
        );
        // No Host header: the name or address the connection was for.
        assert_eq!(url("http", b"GET /x HTTP/1.0\r\n\r\n", "evil.example", 80), "http://evil.example/x");
        assert_eq!(url("https", b"GET /x HTTP/1.0\r\n\r\n", "evil.example", 443), "https://evil.example/x");
        assert_eq!(url("https", b"GET /x HTTP/1.0\r\n\r\n", "10.0.0.1", 80), "https://10.0.0.1:80/x");
        assert_eq!(url("http", b"GET / HTTP/1.0\r\nHost:\r\n\r\n", "::1", 8080), "http://[::1]:8080/");
        // Absolute form (a client that takes the sink for a proxy).
        assert_eq!(
            url("http", b"GET http://other.example/p HTTP/1.1\r\nHost: evil.example\r\n\r\n", "127.0.0.1", 80),
            "http://other.example/p"
        );
        assert_eq!(
            url("https", b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", "1.2.3.4", 443),
            "https://evil.example:443"
        );
        assert_eq!(url("http", b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "1.2.3.4", 80), "http://h/*");
        // Whatever the client put in the Host header stays printable.
        assert_eq!(url("http", b"GET / HTTP/1.1\r\nHost: a\x1bb\r\n\r\n", "x", 80), "http://a\\x1bb/");
    }

    #[test]
    fn new_parsers_survive_fuzzing() {
        let seeds: [&[u8]; 3] = [
            b"POST /collect HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 4\r\n\r\nbody",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
            b"GET http://evil.example/x HTTP/1.1\n\n",
        ];
        let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
        for round in 0..20_000 {
            let seed = seeds[rng.below(seeds.len())];
            let buf = if round % 5 == 0 { rng.bytes(300) } else { rng.mutate(seed) };
            let cap = rng.below(400);
            let complete = http_request_complete(&buf, cap);
            assert!(complete || buf.len() < cap);
            if let Some(req) = parse_http(&buf) {
                assert!(req.body_start.is_none_or(|start| start <= buf.len()));
                assert!(req.headers.len() <= MAX_HEADERS);
                let url = request_url("https", &req, "::1", rng.below(70_000).try_into().unwrap_or(443));
                assert!(url.bytes().all(|b| (0x20..0x7f).contains(&b)), "{url:?}");
            }
        }
    }
}
