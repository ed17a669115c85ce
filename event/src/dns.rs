//! DNS message decoding for traffic to and from port 53.
//!
//! This module turns the raw bytes that a traced process passed to
//! `sendto`/`write`/`writev`/`sendmmsg` (or got back from `recvfrom`/`read`)
//! into the names it looked up, and turns responses into `(name, IP)` pairs so
//! that later `connect` calls can be labelled with host names. It also offers
//! [`looks_encoded`], a heuristic that flags names which appear to carry
//! encoded data (DNS exfiltration or tunnelling).
//!
//! The input is hostile and often incomplete: strace cuts string arguments at
//! `-s N` bytes (32 by default), and a malicious package may send anything to
//! port 53. Every decoder here therefore works on byte slices with checked
//! indexing only, bounds every loop by the input length or a fixed limit, and
//! reports partial data (flagged `truncated`) instead of failing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

/// Size of the fixed DNS header.
const HEADER_LEN: usize = 12;
/// Longest label allowed by RFC 1035.
const MAX_LABEL_LEN: usize = 63;
/// Longest name in wire form (length bytes plus the root byte), RFC 1035.
const MAX_NAME_WIRE_LEN: usize = 255;
/// Compression pointers followed while reading one name. Real encoders need a
/// handful at most; the limit is what turns a pointer loop into an error.
const MAX_POINTER_HOPS: usize = 32;
/// CNAME links followed when mapping an address back to the asked name.
const MAX_CNAME_CHAIN: usize = 16;

const FLAG_QR: u16 = 0x8000;
const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// How the DNS message travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
}

/// One question of a DNS query sent by the traced process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsQuery {
    /// Transaction ID, lets a query be paired with its response.
    pub id: u16,
    /// Lower-cased name without the trailing dot. Bytes that are not
    /// printable ASCII, and `.` or `\` inside a label, are written as `\DDD`
    /// or `\.`/`\\` (the zone-file convention) so a report cannot be
    /// corrupted by control characters.
    pub name: String,
    /// Mnemonic such as `"A"` or `"TXT"`, `"TYPE<n>"` for others, and the
    /// empty string when the buffer ends before the type field.
    pub qtype: String,
    /// The buffer ended before this question was complete, so `name` may be
    /// only the beginning of the real name.
    pub truncated: bool,
    pub transport: Transport,
}

/// An address record from a DNS response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsAnswer {
    /// The name the process asked for when the record is reached from the
    /// question through CNAMEs (that is the name its code used), otherwise
    /// the record's own owner name.
    pub name: String,
    pub ip: IpAddr,
}

/// Decode every question of a query message. `tcp` = the bytes came from a
/// stream socket (expect length prefix; tolerate its absence if the bytes
/// parse as a bare message).
///
/// Returns an empty vector when the bytes are not a standard DNS query.
pub fn decode_query(buf: &[u8], tcp: bool) -> Vec<DnsQuery> {
    let transport = if tcp { Transport::Tcp } else { Transport::Udp };
    decode_messages(buf, tcp, |msg| queries_in(msg, transport))
}

/// A/AAAA answers of a response message (empty when not a response).
pub fn decode_answers(buf: &[u8], tcp: bool) -> Vec<DnsAnswer> {
    decode_messages(buf, tcp, answers_in)
}

/// Heuristic: does a label of this name look like encoded data (exfiltration
/// through DNS)?
///
/// A label counts as encoded when it is at least 24 characters of hex digits
/// only, of the base32 alphabet (with its digits in several places), or of a
/// base64/base64url alphabet with upper case, lower case and digits; or when
/// it is at least 16 characters long, has a Shannon entropy of at least 3.5
/// bits per character, and unlike words has few vowels, long
/// consonant runs, or digits scattered among letters.
pub fn looks_encoded(name: &str) -> bool {
    name.split('.').any(label_looks_encoded)
}

/// Apply `decode` to each DNS message in `buf`.
///
/// On a stream socket the bytes are usually `len, message` (glibc even sends
/// the A and AAAA queries as one `writev` of `len1, q1, len2, q2`), but a
/// reader that fetched the 2-byte length with its own `read` hands us the
/// bare message. The framed reading is tried first: a bare message misread
/// as framed is rejected by the header checks (its QDCOUNT lands in the flags
/// field and its ANCOUNT in QDCOUNT), while the opposite misreading can look
/// valid by chance.
fn decode_messages<T>(buf: &[u8], tcp: bool, decode: impl Fn(&[u8]) -> Vec<T>) -> Vec<T> {
    if tcp {
        let frames = tcp_frames(buf);
        if let Some((first, rest)) = frames.split_first() {
            let mut out = decode(first);
            if !out.is_empty() {
                for frame in rest {
                    out.extend(decode(frame));
                }
                return out;
            }
        }
    }
    decode(buf)
}

/// Split stream bytes into length-prefixed messages. The last message may be
/// cut short (truncated capture); a lone trailing prefix byte is dropped.
fn tcp_frames(buf: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut rest = buf;
    while let [hi, lo, body @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if len == 0 {
            // A zero-length frame carries nothing and no DNS client sends
            // one; whatever follows is not framing we understand.
            break;
        }
        let (frame, after) = body.split_at(len.min(body.len()));
        frames.push(frame);
        rest = after;
    }
    frames
}

/// The fields of the fixed header that the decoders look at.
struct Header {
    id: u16,
    flags: u16,
    qdcount: u16,
    ancount: u16,
}

impl Header {
    fn parse(msg: &[u8]) -> Option<Header> {
        let word = |at: usize| read_u16(msg, at);
        if msg.len() < HEADER_LEN {
            return None;
        }
        Some(Header { id: word(0)?, flags: word(2)?, qdcount: word(4)?, ancount: word(6)? })
    }

    fn is_response(&self) -> bool {
        self.flags & FLAG_QR != 0
    }

    fn opcode(&self) -> u16 {
        (self.flags >> 11) & 0xF
    }
}

fn read_u16(msg: &[u8], at: usize) -> Option<u16> {
    let bytes = msg.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Questions of one (possibly truncated) query message.
fn queries_in(msg: &[u8], transport: Transport) -> Vec<DnsQuery> {
    let Some(header) = Header::parse(msg) else {
        return Vec::new();
    };
    if header.is_response() || header.opcode() != 0 || header.qdcount == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut pos = HEADER_LEN;
    for _ in 0..header.qdcount {
        if pos >= msg.len() {
            // Not a single byte of this question survived; inventing an
            // empty name for it would only add noise.
            break;
        }
        let Some(name) = read_name(msg, pos) else {
            // Malformed: keep the questions already decoded, if any.
            break;
        };
        let qtype = if name.complete { read_u16(msg, name.next).map(qtype_name) } else { None };
        // QCLASS is not reported, but a question without it was still cut.
        let truncated = !name.complete || name.next + 4 > msg.len();
        out.push(DnsQuery { id: header.id, name: name.text, qtype: qtype.unwrap_or_default(), truncated, transport });
        if truncated {
            break;
        }
        pos = name.next + 4;
    }
    out
}

/// A and AAAA records of one response message. Records cut off by
/// truncation are skipped; a malformed record ends the scan.
fn answers_in(msg: &[u8]) -> Vec<DnsAnswer> {
    let Some(header) = Header::parse(msg) else {
        return Vec::new();
    };
    if !header.is_response() || header.opcode() != 0 {
        return Vec::new();
    }

    let mut pos = HEADER_LEN;
    let mut questions = Vec::new();
    for _ in 0..header.qdcount {
        match read_name(msg, pos) {
            Some(name) if name.complete && name.next + 4 <= msg.len() => {
                pos = name.next + 4;
                questions.push(name.text);
            }
            // Without the whole question section the answers cannot be
            // located.
            _ => return Vec::new(),
        }
    }

    let mut cnames: Vec<(String, String)> = Vec::new();
    let mut addresses: Vec<(String, IpAddr)> = Vec::new();
    for _ in 0..header.ancount {
        let Some(owner) = read_name(msg, pos).filter(|n| n.complete) else {
            break;
        };
        let fixed = owner.next;
        let (Some(rtype), Some(class), Some(rdlen)) =
            (read_u16(msg, fixed), read_u16(msg, fixed + 2), read_u16(msg, fixed + 8))
        else {
            break;
        };
        let rdata_start = fixed + 10;
        let rdata_end = rdata_start + usize::from(rdlen);
        let Some(rdata) = msg.get(rdata_start..rdata_end) else {
            break;
        };
        if class == CLASS_IN {
            match rtype {
                TYPE_A => {
                    if let Ok(octets) = <[u8; 4]>::try_from(rdata) {
                        addresses.push((owner.text, IpAddr::V4(Ipv4Addr::from(octets))));
                    }
                }
                TYPE_AAAA => {
                    if let Ok(octets) = <[u8; 16]>::try_from(rdata) {
                        addresses.push((owner.text, IpAddr::V6(Ipv6Addr::from(octets))));
                    }
                }
                TYPE_CNAME => {
                    // The target may use compression pointers into the whole
                    // message, so it is read from `msg`, not from `rdata`.
                    if let Some(target) = read_name(msg, rdata_start).filter(|n| n.complete) {
                        cnames.push((owner.text, target.text));
                    }
                }
                _ => {}
            }
        }
        pos = rdata_end;
    }

    addresses.into_iter().map(|(owner, ip)| DnsAnswer { name: asked_name(&owner, &questions, &cnames), ip }).collect()
}

/// The question name from which `owner` is reached through the CNAME
/// records, or `owner` itself when no question leads to it. Programs connect
/// to the name they asked for, not to the CDN name at the end of the chain.
fn asked_name(owner: &str, questions: &[String], cnames: &[(String, String)]) -> String {
    for question in questions {
        let mut current = question.as_str();
        for _ in 0..=MAX_CNAME_CHAIN {
            if current == owner {
                return question.clone();
            }
            match cnames.iter().find(|(alias, _)| alias == current) {
                Some((_, target)) => current = target,
                None => break,
            }
        }
    }
    owner.to_string()
}

/// A name read from a message.
struct Name {
    text: String,
    /// Offset just past the name where it started (after the first pointer
    /// if compressed); `msg.len()` when the name is incomplete.
    next: usize,
    /// False when the message ended inside the name.
    complete: bool,
}

/// Read the (possibly compressed) name starting at `start`.
///
/// Returns `None` for malformed names: reserved label types, names longer
/// than 255 bytes, pointers outside the message, or more than
/// [`MAX_POINTER_HOPS`] pointers. Running out of bytes is not an error; it
/// gives the part read so far with `complete == false`.
fn read_name(msg: &[u8], start: usize) -> Option<Name> {
    let mut text = String::new();
    let mut pos = start;
    let mut next = None;
    let mut hops = 0;
    // The root label's length byte counts towards the 255-byte limit.
    let mut wire_len = 1;
    let partial = |text: String| Some(Name { text, next: msg.len(), complete: false });
    loop {
        let Some(&len_byte) = msg.get(pos) else {
            return partial(text);
        };
        match len_byte & 0xC0 {
            0x00 if len_byte == 0 => {
                return Some(Name { text, next: next.unwrap_or(pos + 1), complete: true });
            }
            0x00 => {
                let len = usize::from(len_byte);
                debug_assert!(len <= MAX_LABEL_LEN);
                wire_len += len + 1;
                if wire_len > MAX_NAME_WIRE_LEN {
                    return None;
                }
                let label_start = pos + 1;
                let label_end = label_start + len;
                let available = msg.get(label_start..label_end.min(msg.len()))?;
                if !available.is_empty() {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    push_label(&mut text, available);
                }
                if available.len() < len {
                    return partial(text);
                }
                pos = label_end;
            }
            0xC0 => {
                let Some(&low) = msg.get(pos + 1) else {
                    return partial(text);
                };
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return None;
                }
                let target = usize::from(u16::from_be_bytes([len_byte & 0x3F, low]));
                if target >= msg.len() {
                    return None;
                }
                next.get_or_insert(pos + 2);
                pos = target;
            }
            // 0x40 and 0x80 are the obsolete extended and reserved label
            // types; nothing legitimate sends them.
            _ => return None,
        }
    }
}

/// Append one label, lower-cased and escaped for display.
fn push_label(text: &mut String, label: &[u8]) {
    for &byte in label {
        match byte {
            b'.' | b'\\' => {
                text.push('\\');
                text.push(char::from(byte));
            }
            0x21..=0x7E => text.push(char::from(byte.to_ascii_lowercase())),
            _ => text.push_str(&format!("\\{byte:03}")),
        }
    }
}

fn qtype_name(qtype: u16) -> String {
    let known = match qtype {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        65 => "HTTPS",
        255 => "ANY",
        other => return format!("TYPE{other}"),
    };
    known.to_string()
}

fn label_looks_encoded(label: &str) -> bool {
    let bytes = label.as_bytes();
    let has_upper = bytes.iter().any(u8::is_ascii_uppercase);
    let has_lower = bytes.iter().any(u8::is_ascii_lowercase);
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();

    if bytes.len() >= 24 {
        if bytes.iter().all(u8::is_ascii_hexdigit) {
            return true;
        }
        // Base32 is single-case but DNS case is not preserved (our own
        // decoder lower-cases), so the alphabet is matched either way. Long
        // all-letter labels, or words with a number at the end, are also in
        // this alphabet, hence digits in several places are required.
        let base32 = |b: &u8| b.is_ascii_alphabetic() || (b'2'..=b'7').contains(b);
        if letter_digit_mixes(bytes) >= 3 && bytes.iter().all(base32) {
            return true;
        }
        let base64 = |b: &u8| b.is_ascii_alphanumeric() || b"+/=".contains(b);
        let base64url = |b: &u8| b.is_ascii_alphanumeric() || b"-_".contains(b);
        if has_upper && has_lower && digits > 0 && (bytes.iter().all(base64) || bytes.iter().all(base64url)) {
            return true;
        }
    }

    bytes.len() >= 16 && shannon_entropy(bytes) >= 3.5 && unpronounceable(bytes)
}

/// Bits per character of the byte distribution of `bytes`.
fn shannon_entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let total = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// Number of places where a letter is next to a digit.
fn letter_digit_mixes(bytes: &[u8]) -> usize {
    bytes
        .windows(2)
        .filter(|w| {
            (w[0].is_ascii_alphabetic() && w[1].is_ascii_digit())
                || (w[0].is_ascii_digit() && w[1].is_ascii_alphabetic())
        })
        .count()
}

/// Guard for the entropy rule. A 16 to 40 character run of English words
/// reaches 3.5 bits/char as easily as random text does (for example
/// `a-very-long-but-wordy-subdomain-name` has 3.95), so entropy alone cannot
/// tell them apart. What random encodings have and words lack is digits
/// scattered among the letters, few vowels, or long runs without a vowel.
fn unpronounceable(bytes: &[u8]) -> bool {
    let is_vowel = |b: u8| b"aeiouy".contains(&b.to_ascii_lowercase());
    let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let vowels = bytes.iter().filter(|&&b| is_vowel(b)).count();
    // Letter/digit boundaries rather than a digit count: names such as
    // `prod-registry-k8s-io-us-east-1` or `storageaccount19` have digits in
    // one or two places, encoded data has them everywhere.
    let mixes = letter_digit_mixes(bytes);

    let mut longest_run = 0;
    let mut run = 0;
    for &b in bytes {
        if b.is_ascii_alphanumeric() && !is_vowel(b) {
            run += 1;
            longest_run = longest_run.max(run);
        } else {
            run = 0;
        }
    }

    // Vowels are about 40% of English letters and under 25% of random ones.
    mixes >= 4 || longest_run >= 6 || (letters > 0 && vowels * 4 < letters)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wire form of `name` (no compression).
    fn encode_name(name: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for label in name.split('.').filter(|l| !l.is_empty()) {
            out.push(u8::try_from(label.len()).unwrap());
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
        out
    }

    fn qtype_code(qtype: &str) -> u16 {
        match qtype {
            "A" => 1,
            "AAAA" => 28,
            "TXT" => 16,
            "MX" => 15,
            other => other.strip_prefix("TYPE").unwrap().parse().unwrap(),
        }
    }

    fn header(id: u16, flags: u16, qd: u16, an: u16) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [id, flags, qd, an, 0, 0] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// A standard recursive query, as a stub resolver sends it over UDP.
    fn build_query(name: &str, qtype: &str) -> Vec<u8> {
        let mut out = header(0x1234, 0x0100, 1, 0);
        out.extend(encode_name(name));
        out.extend_from_slice(&qtype_code(qtype).to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out
    }

    fn with_prefix(msg: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(msg);
        out
    }

    /// Answer record whose owner is a pointer to the question name (offset
    /// 12), the way servers compress answers.
    fn record_to_question(rtype: u16, rdata: &[u8]) -> Vec<u8> {
        let mut out = vec![0xC0, 0x0C];
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&300u32.to_be_bytes());
        out.extend_from_slice(&u16::try_from(rdata.len()).unwrap().to_be_bytes());
        out.extend_from_slice(rdata);
        out
    }

    fn response_two_a_one_aaaa() -> Vec<u8> {
        let mut msg = header(0x1234, 0x8180, 1, 3);
        msg.extend(encode_name("pypi.org"));
        msg.extend_from_slice(&[0, 1, 0, 1]);
        msg.extend(record_to_question(TYPE_A, &[151, 101, 0, 223]));
        msg.extend(record_to_question(TYPE_A, &[151, 101, 64, 223]));
        let v6: Ipv6Addr = "2a04:4e42::223".parse().unwrap();
        msg.extend(record_to_question(TYPE_AAAA, &v6.octets()));
        msg
    }

    fn single(buf: &[u8], tcp: bool) -> DnsQuery {
        let mut queries = decode_query(buf, tcp);
        assert_eq!(queries.len(), 1, "{queries:?}");
        queries.remove(0)
    }

    #[test]
    fn decodes_a_aaaa_and_txt_queries() {
        for qtype in ["A", "AAAA", "TXT"] {
            let q = single(&build_query("registry.npmjs.org", qtype), false);
            assert_eq!(
                q,
                DnsQuery {
                    id: 0x1234,
                    name: "registry.npmjs.org".into(),
                    qtype: qtype.into(),
                    truncated: false,
                    transport: Transport::Udp,
                }
            );
        }
    }

    #[test]
    fn unknown_type_is_numbered() {
        let q = single(&build_query("t.example", "TYPE10"), false);
        assert_eq!(q.qtype, "TYPE10");
    }

    #[test]
    fn tcp_with_length_prefix() {
        let q = single(&with_prefix(&build_query("files.pythonhosted.org", "A")), true);
        assert_eq!(q.name, "files.pythonhosted.org");
        assert_eq!(q.qtype, "A");
        assert_eq!(q.transport, Transport::Tcp);
        assert!(!q.truncated);
    }

    #[test]
    fn tcp_without_prefix_and_prefix_alone() {
        let msg = build_query("crates.io", "AAAA");
        // The prefix went out in its own write: that write holds no query,
        // and the next one is a bare message.
        assert!(decode_query(&with_prefix(&msg)[..2], true).is_empty());
        let q = single(&msg, true);
        assert_eq!((q.name.as_str(), q.qtype.as_str()), ("crates.io", "AAAA"));
    }

    #[test]
    fn tcp_writev_with_two_framed_queries() {
        // glibc's TCP path sends the A and AAAA questions in one writev.
        let mut buf = with_prefix(&build_query("github.com", "A"));
        buf.extend(with_prefix(&build_query("github.com", "AAAA")));
        let types: Vec<_> = decode_query(&buf, true).into_iter().map(|q| (q.name, q.qtype)).collect();
        assert_eq!(
            types,
            [("github.com".to_string(), "A".to_string()), ("github.com".to_string(), "AAAA".to_string())]
        );
    }

    #[test]
    fn truncated_at_32_bytes_gives_partial_name() {
        let full = build_query("registry.yarnpkg.com", "A");
        let q = single(&full[..32], false);
        assert!(q.truncated);
        // 12 header bytes leave 20 for the name: "registry" (9 wire bytes),
        // "yarnpkg" (8), then the length byte of "com" and two of its letters.
        assert_eq!(q.name, "registry.yarnpkg.co");
        assert_eq!(q.qtype, "");

        // Here the name fits exactly and only QTYPE/QCLASS are cut.
        let q = single(&build_query("registry.npmjs.org", "A")[..32], false);
        assert_eq!((q.name.as_str(), q.truncated), ("registry.npmjs.org", true));
        assert_eq!(q.qtype, "");
    }

    #[test]
    fn truncated_tcp_query_keeps_framing() {
        let full = with_prefix(&build_query("index.crates.io", "A"));
        let q = single(&full[..25], true);
        assert!(q.truncated);
        assert_eq!(q.name, "index.crat");
    }

    #[test]
    fn missing_qclass_counts_as_truncated() {
        let full = build_query("example.com", "MX");
        let q = single(&full[..full.len() - 1], false);
        assert_eq!((q.name.as_str(), q.qtype.as_str()), ("example.com", "MX"));
        assert!(q.truncated);
    }

    #[test]
    fn sendmmsg_pair_is_two_calls() {
        let a = single(&build_query("pypi.org", "A"), false);
        let aaaa = single(&build_query("pypi.org", "AAAA"), false);
        assert_eq!((a.qtype.as_str(), aaaa.qtype.as_str()), ("A", "AAAA"));
        assert_eq!(a.name, aaaa.name);
    }

    #[test]
    fn compression_pointer_loop_terminates() {
        // Question name is a pointer to itself.
        let mut msg = header(1, 0x0100, 1, 0);
        msg.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1]);
        assert!(decode_query(&msg, false).is_empty());

        // Two labels pointing at each other: a -> b -> a ...
        let mut msg = header(1, 0x0100, 1, 0);
        msg.extend_from_slice(&[1, b'a', 0xC0, 0x10, 1, b'b', 0xC0, 0x0C]);
        assert!(decode_query(&msg, false).is_empty());

        // And the same in a response's answer section.
        let mut msg = header(1, 0x8180, 0, 1);
        msg.extend_from_slice(&[0xC0, 0x0C]);
        assert!(decode_answers(&msg, false).is_empty());
    }

    #[test]
    fn backward_pointer_in_second_question() {
        let mut msg = header(7, 0x0100, 2, 0);
        msg.extend(encode_name("example.com"));
        msg.extend_from_slice(&[0, 1, 0, 1]);
        // "www" + pointer to "example.com" at offset 12.
        msg.extend_from_slice(&[3, b'w', b'w', b'w', 0xC0, 0x0C, 0, 28, 0, 1]);
        let names: Vec<_> = decode_query(&msg, false).into_iter().map(|q| (q.name, q.qtype)).collect();
        assert_eq!(
            names,
            [("example.com".to_string(), "A".to_string()), ("www.example.com".to_string(), "AAAA".to_string())]
        );
    }

    #[test]
    fn upper_case_is_lowered_and_odd_bytes_escaped() {
        assert_eq!(single(&build_query("Registry.NPMJS.org", "A"), false).name, "registry.npmjs.org");
        let mut msg = header(1, 0x0100, 1, 0);
        msg.extend_from_slice(&[4, b'a', b'.', 0x07, b' ', 0, 0, 1, 0, 1]);
        assert_eq!(single(&msg, false).name, "a\\.\\007\\032");
    }

    #[test]
    fn rejects_bad_labels_and_long_names() {
        let mut msg = header(1, 0x0100, 1, 0);
        msg.extend_from_slice(&[0x40, b'a', 0, 0, 1, 0, 1]);
        assert!(decode_query(&msg, false).is_empty());

        // 5 labels of 63 bytes = 321 wire bytes, over the 255 limit.
        let label = "x".repeat(63);
        let long = [label.as_str(); 5].join(".");
        assert!(decode_query(&build_query(&long, "A"), false).is_empty());
        // 3 labels (193 bytes) are fine.
        let ok = [label.as_str(); 3].join(".");
        assert_eq!(single(&build_query(&ok, "A"), false).name, ok);
    }

    #[test]
    fn non_dns_gives_nothing() {
        let http = b"GET /simple/requests/ HTTP/1.1\r\nHost: pypi.org\r\n\r\n";
        assert!(decode_query(http, false).is_empty());
        assert!(decode_query(http, true).is_empty());
        assert!(decode_answers(http, false).is_empty());
        assert!(decode_query(&[], true).is_empty());
        assert!(decode_query(&[0; 11], false).is_empty());
    }

    #[test]
    fn query_and_response_are_not_confused() {
        let response = response_two_a_one_aaaa();
        assert!(decode_query(&response, false).is_empty());
        assert!(decode_answers(&build_query("pypi.org", "A"), false).is_empty());
    }

    #[test]
    fn response_with_two_a_and_one_aaaa() {
        let response = response_two_a_one_aaaa();
        let expected: Vec<DnsAnswer> = ["151.101.0.223", "151.101.64.223", "2a04:4e42::223"]
            .iter()
            .map(|ip| DnsAnswer { name: "pypi.org".into(), ip: ip.parse().unwrap() })
            .collect();
        assert_eq!(decode_answers(&response, false), expected);
        assert_eq!(decode_answers(&with_prefix(&response), true), expected);
        // A TCP reader that read the length separately gets the bare body.
        assert_eq!(decode_answers(&response, true), expected);
        // Cut inside the last record: the complete ones remain.
        assert_eq!(decode_answers(&response[..response.len() - 3], false), expected[..2]);
    }

    #[test]
    fn cname_chain_maps_back_to_question() {
        let mut msg = header(9, 0x8180, 1, 3);
        msg.extend(encode_name("Files.PythonHosted.org"));
        msg.extend_from_slice(&[0, 1, 0, 1]);
        msg.extend(record_to_question(TYPE_CNAME, &encode_name("dualstack.python.map.fastly.net")));
        // The A record is owned by the CNAME target (uncompressed here).
        let mut a = encode_name("dualstack.python.map.fastly.net");
        a.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 151, 101, 1, 63]);
        msg.extend(a);
        // An unrelated record keeps its own name.
        let mut other = encode_name("elsewhere.example");
        other.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
        msg.extend(other);
        let answers = decode_answers(&msg, false);
        assert_eq!(
            answers,
            [
                DnsAnswer { name: "files.pythonhosted.org".into(), ip: "151.101.1.63".parse().unwrap() },
                DnsAnswer { name: "elsewhere.example".into(), ip: "10.0.0.1".parse().unwrap() }
            ]
        );
    }

    #[test]
    fn serializes_transport_lowercase() {
        let q = single(&build_query("pypi.org", "A"), true);
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(json["transport"], "tcp");
        assert_eq!(serde_json::to_value(Transport::Udp).unwrap(), "udp");
    }

    #[test]
    fn looks_encoded_examples() {
        for ordinary in [
            "registry.npmjs.org",
            "files.pythonhosted.org",
            "us-east-1.amazonaws.com",
            "a-very-long-but-wordy-subdomain-name.example.com",
            "averylongbutwordysubdomainname.example.com",
            "objects.githubusercontent.com",
            "productionresultssa19.blob.core.windows.net",
            "productionresultsstorage23.blob.core.windows.net",
            "prod-registry-k8s-io-us-east-1.s3.dualstack.us-east-1.amazonaws.com",
            "ec2-54-123-45-67.compute-1.amazonaws.com",
            "",
        ] {
            assert!(!looks_encoded(ordinary), "{ordinary}");
        }
        for encoded in [
            "4a6f686e20446f65206c6f67696e3d.attacker.example",
            "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U.x.example",
            // As our decoder reports it: lower-cased.
            "mfrggzdfmztwq2lknnwg23tpobyxe43u.x.example",
            "dXNlcj1yb290O3Bhc3M9aHVudGVyMg.x.example",
            "q8zk3vw1xj7tn2rm.x.example",
        ] {
            assert!(looks_encoded(encoded), "{encoded}");
        }
    }

    use crate::testutil::Rng;

    #[test]
    fn fuzz_never_panics() {
        let seeds = [
            build_query("registry.npmjs.org", "A"),
            with_prefix(&build_query("files.pythonhosted.org", "AAAA")),
            response_two_a_one_aaaa(),
            with_prefix(&response_two_a_one_aaaa()),
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut decoded = 0;
        for round in 0..100_000 {
            let buf: Vec<u8> = if round % 4 == 0 {
                let len = rng.below(600);
                (0..len).map(|_| rng.byte()).collect()
            } else {
                let mut buf = seeds[rng.below(seeds.len())].clone();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(buf.len());
                    match rng.below(4) {
                        0 => buf[at] ^= 1 << rng.below(8),
                        1 => buf[at] = rng.byte(),
                        // Pointer bytes are where loops and out-of-range
                        // reads come from.
                        2 => buf[at] = 0xC0 | (rng.byte() & 0x3F),
                        _ => buf.truncate(at),
                    }
                    if buf.is_empty() {
                        break;
                    }
                }
                buf
            };
            let tcp = rng.below(2) == 0;
            let queries = decode_query(&buf, tcp);
            let answers = decode_answers(&buf, tcp);
            for q in &queries {
                // Escaping at most quadruples the 255-byte wire limit.
                assert!(q.name.len() <= 4 * MAX_NAME_WIRE_LEN, "{q:?}");
            }
            assert!(queries.len() + answers.len() <= buf.len());
            decoded += queries.len() + answers.len();
            let _ = queries.iter().any(|q| looks_encoded(&q.name));
        }
        // Mutated seeds must still decode often, or the fuzzing exercised
        // only the early rejections.
        assert!(decoded > 10_000, "only {decoded} decoded");
    }
}
