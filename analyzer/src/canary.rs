//! Spotting canary values — unique strings planted in the run's fake
//! credentials — in data that leaves a process: payloads, DNS names, argv.
//!
//! Exfiltration rarely sends a secret verbatim. It hex-, base32- or
//! base64-encodes it to fit a DNS label or a URL, URL-encodes it in a form,
//! gzips the whole environment before base64 (`env | gzip | base64`), zips a
//! directory of stolen files, or encodes twice. So the search is layered:
//! the bytes themselves (case-insensitively), then every token of 8+
//! characters decoded in each of those encodings, every gzip or zlib stream
//! and every zip entry inflated, `%XX` escapes decoded, and each result
//! searched the same way, down to [`DEPTH`] layers. Base64 wrapped in lines
//! (what `base64` prints) is joined before it is decoded. The work per call
//! is bounded ([`BUDGET`] bytes looked at): a large upload costs a bounded
//! time, not an unbounded one.

use std::io::Read as _;

/// Layers of encoding or compression looked through.
const DEPTH: u32 = 4;

/// Most bytes one search looks at, over every layer.
const BUDGET: usize = 8 << 20;

/// Longest repeating XOR key looked for, and most bytes of one layer
/// searched for it.
const XOR_KEY_MAX: usize = 4;
const XOR_DATA_MAX: usize = 256 * 1024;

/// Most bytes one compressed stream inflates to.
const INFLATED_MAX: u64 = 2 << 20;

/// Does `text` carry one of `canaries`, plainly or encoded?
pub fn contains(text: &str, canaries: &[String]) -> bool {
    contains_bytes(text.as_bytes(), canaries)
}

/// Does `data` carry one of `canaries`, plainly, encoded or compressed?
pub fn contains_bytes(data: &[u8], canaries: &[String]) -> bool {
    contains_any(std::iter::once(data), canaries)
}

/// Does one of `texts` (an exec's argv and environment) carry one of
/// `canaries`? One search for all of them, each with its own budget.
pub fn contains_any<'t>(texts: impl IntoIterator<Item = &'t [u8]>, canaries: &[String]) -> bool {
    if canaries.is_empty() {
        return false;
    }
    let mut search = Search::new(canaries);
    texts.into_iter().any(|t| {
        search.budget = BUDGET;
        search.layer(t, DEPTH);
        search.found.iter().any(|f| *f)
    })
}

/// A DNS name of 3+ labels as data sent under a domain: the domain (its
/// last two labels) and the labels before it (`a.b` of `a.b.example.com`),
/// where exfiltration puts the data; else None.
pub fn dns_chunk(name: &str) -> Option<(&str, &str)> {
    let name = name.trim_end_matches('.');
    let last_dot = name.rfind('.')?;
    let domain_at = name[..last_dot].rfind('.')? + 1;
    Some((&name[domain_at..], &name[..domain_at - 1]))
}

/// The first label of [`dns_chunk`]'s data when it is long enough to carry
/// a piece of a value split over several lookups (8+ characters).
pub fn dns_chunk_first(data: &str) -> Option<&str> {
    let first = data.split('.').next()?;
    (first.len() >= 8).then_some(first)
}

/// Most characters of joined DNS labels kept ([`JoinedLabels`]).
const JOINED_MAX: usize = 16 * 1024;

/// The first data labels ([`dns_chunk_first`]) of lookups under one
/// domain, lower-cased and joined in order: a value split over several
/// lookups (hex chunks in successive queries) is found in them. The last
/// [`JOINED_MAX`] characters are kept.
#[derive(Debug, Default)]
pub struct JoinedLabels {
    pub text: String,
    /// Labels joined so far.
    pub queries: usize,
}

impl JoinedLabels {
    pub fn push(&mut self, label: &str) {
        self.text.push_str(&label.to_ascii_lowercase());
        self.queries += 1;
        if self.text.len() > JOINED_MAX {
            // An even cut keeps hex aligned.
            let mut cut = (self.text.len() - JOINED_MAX).next_multiple_of(2);
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.text.drain(..cut);
        }
    }
}

/// Does `text` carry one of `values` hex-, base32- or base64-encoded in a
/// token of 8+ characters (case-insensitively once decoded)? One layer, no
/// plain match: for values that appear plainly in innocent text (a user
/// name).
pub fn contains_encoded(text: &str, values: &[String]) -> bool {
    if values.is_empty() {
        return false;
    }
    let mut search = Search::new(values);
    search.tokens(text.as_bytes(), 0);
    search.found.iter().any(|f| *f)
}

/// Which of `canaries` `data` carries, plainly, encoded or compressed.
pub fn found_bytes<'c>(data: &[u8], canaries: &'c [String]) -> Vec<&'c str> {
    if canaries.is_empty() {
        return Vec::new();
    }
    let hits = Search::new(canaries).run(data);
    canaries.iter().zip(hits).filter(|(_, hit)| *hit).map(|(c, _)| c.as_str()).collect()
}

/// One search of one piece of data for every canary at once.
struct Search<'v> {
    /// The values as they are (for XOR) and lower-cased.
    values: &'v [String],
    lowered: Vec<Vec<u8>>,
    found: Vec<bool>,
    budget: usize,
}

impl<'v> Search<'v> {
    fn new(values: &'v [String]) -> Search<'v> {
        Search {
            values,
            lowered: values.iter().map(|c| c.as_bytes().to_ascii_lowercase()).collect(),
            found: vec![false; values.len()],
            budget: BUDGET,
        }
    }

    fn run(mut self, data: &[u8]) -> Vec<bool> {
        self.layer(data, DEPTH);
        self.found
    }

    fn done(&self) -> bool {
        self.found.iter().all(|f| *f) || self.budget == 0
    }

    /// Looks at `data` and, `depth` allowing, at what it decodes to.
    fn layer(&mut self, data: &[u8], depth: u32) {
        if self.done() || data.is_empty() {
            return;
        }
        self.budget = self.budget.saturating_sub(data.len());
        self.plain(data);
        self.xored(data);
        if depth == 0 || self.done() {
            return;
        }
        self.compressed(data, depth - 1);
        if data.contains(&b'%') {
            let unescaped = percent_decode(data);
            if unescaped.len() < data.len() {
                self.layer(&unescaped, depth - 1);
            }
        }
        self.tokens(data, depth - 1);
        if data.contains(&b'\n') {
            for block in base64_blocks(data) {
                self.decoded(&block, depth - 1);
            }
        }
    }

    fn plain(&mut self, data: &[u8]) {
        let lower = data.to_ascii_lowercase();
        for (value, found) in self.lowered.iter().zip(self.found.iter_mut()) {
            if !*found && !value.is_empty() && memchr::memmem::find(&lower, value).is_some() {
                *found = true;
            }
        }
    }

    /// XOR with a repeating key of up to [`XOR_KEY_MAX`] bytes, the
    /// cheapest cipher droppers and stealers use: the value is known, so at
    /// each place its first bytes give the key, and the rest of the value
    /// must fit it.
    fn xored(&mut self, data: &[u8]) {
        if data.len() > XOR_DATA_MAX {
            return;
        }
        for (value, found) in self.values.iter().map(|v| v.as_bytes()).zip(self.found.iter_mut()) {
            if *found || value.len() < 12 || data.len() < value.len() {
                continue;
            }
            *found = (0..=data.len() - value.len()).any(|at| {
                let x = &data[at..at + value.len()];
                (1..=XOR_KEY_MAX).any(|l| {
                    x.iter().zip(value).enumerate().all(|(i, (d, v))| d ^ v == x[i % l] ^ value[i % l])
                        && x[..l] != value[..l]
                })
            });
        }
    }

    /// Every token of 8+ characters of an encoding's alphabet, decoded.
    fn tokens(&mut self, data: &[u8], depth: u32) {
        let alphabet = |c: &u8| c.is_ascii_alphanumeric() || b"+/_-".contains(c);
        for token in data.split(|c| !alphabet(c)).filter(|t| t.len() >= 8) {
            if self.done() {
                return;
            }
            self.decoded(token, depth);
        }
    }

    fn decoded(&mut self, token: &[u8], depth: u32) {
        let Ok(token) = std::str::from_utf8(token) else { return };
        for bytes in [hex(token), base32(token), base64(token)].into_iter().flatten() {
            self.layer(&bytes, depth);
        }
    }

    /// gzip and zlib streams, and a zip's entries, inflated.
    fn compressed(&mut self, data: &[u8], depth: u32) {
        for at in memchr::memmem::find_iter(data, b"\x1f\x8b\x08").take(8) {
            let inflated = inflate(flate2::read::MultiGzDecoder::new(&data[at..]));
            self.layer(&inflated, depth);
        }
        if data.len() > 2 && data[0] == 0x78 && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0 {
            let inflated = inflate(flate2::read::ZlibDecoder::new(data));
            self.layer(&inflated, depth);
        }
        for at in memchr::memmem::find_iter(data, b"PK\x03\x04").take(64) {
            if let Some(entry) = zip_entry(&data[at..]) {
                self.layer(&entry, depth);
            }
        }
    }
}

/// What a decoder gives, up to [`INFLATED_MAX`] bytes (a truncated or
/// corrupt stream gives what came before the damage).
fn inflate(decoder: impl std::io::Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut limited = decoder.take(INFLATED_MAX);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match limited.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// A zip local file entry at the start of `data`: its contents, stored or
/// inflated.
fn zip_entry(data: &[u8]) -> Option<Vec<u8>> {
    let u16_at = |i: usize| Some(u16::from_le_bytes([*data.get(i)?, *data.get(i + 1)?]));
    let u32_at = |i: usize| Some(u32::from_le_bytes(data.get(i..i + 4)?.try_into().ok()?));
    let method = u16_at(8)?;
    let size = u32_at(18)? as usize;
    let start = 30 + usize::from(u16_at(26)?) + usize::from(u16_at(28)?);
    let body = data.get(start..)?;
    // Sizes may come after the data (flag 8): then up to the end.
    let body = if size > 0 { body.get(..size.min(body.len()))? } else { body };
    match method {
        0 => Some(body.to_vec()),
        8 => Some(inflate(flate2::read::DeflateDecoder::new(body))),
        _ => None,
    }
}

/// `%XX` escapes decoded (and `+` as a space, as in a form).
fn percent_decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let hexval = |c: u8| (c as char).to_digit(16);
        match data[i] {
            b'%' if i + 2 < data.len() => match (hexval(data[i + 1]), hexval(data[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Runs of 2+ lines made only of base64's alphabet, joined: what `base64`
/// and MIME bodies print, wrapped at 76. A line shorter than 16 characters
/// ends its run.
fn base64_blocks(data: &[u8]) -> Vec<Vec<u8>> {
    let b64 = |l: &[u8]| l.len() >= 4 && l.iter().all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(c));
    let mut blocks = Vec::new();
    let (mut current, mut lines) = (Vec::new(), 0);
    for line in data.split(|c| *c == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)) {
        if b64(line) {
            current.extend_from_slice(line);
            lines += 1;
            if line.len() >= 16 {
                continue;
            }
        }
        if lines >= 2 {
            blocks.push(std::mem::take(&mut current));
        }
        current.clear();
        lines = 0;
    }
    if lines >= 2 {
        blocks.push(current);
    }
    blocks
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// RFC 4648 base32, any case, padding optional.
fn base32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut acc, mut bits) = (0u64, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Base64, standard or URL-safe alphabet, padding optional.
fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> Vec<String> {
        vec!["CANARY-npm-4f1c2a9e7d3b".to_string()]
    }

    #[test]
    fn plain_and_case_insensitive() {
        assert!(contains("token=CANARY-npm-4f1c2a9e7d3b&x", &c()));
        assert!(contains("canary-npm-4f1c2a9e7d3b.attacker.example", &c()));
        assert!(!contains("CANARY-npm-000000000000", &c()));
        assert!(!contains("anything", &[]));
    }

    #[test]
    fn which_canaries() {
        let two = vec!["CANARY-npm-4f1c2a9e7d3b".to_string(), "CANARY-aws-0000aaaa1111".to_string()];
        assert_eq!(found_bytes(b"x Q0FOQVJZLW5wbS00ZjFjMmE5ZTdkM2I= y", &two), vec!["CANARY-npm-4f1c2a9e7d3b"]);
        assert!(found_bytes(b"nothing here", &two).is_empty());
        assert!(contains_any([&b"PATH=/usr/bin"[..], b"T=CANARY-aws-0000aaaa1111"], &two));
        assert!(!contains_any([&b"PATH=/usr/bin"[..], b"HOME=/home/u"], &two));
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn layered_encodings_and_compression() {
        let env = b"HOME=/home/sam\nNPM_TOKEN=CANARY-npm-4f1c2a9e7d3b\nPATH=/usr/bin\n";
        // env | gzip | base64, wrapped at 76 as base64 prints it, in a POST body.
        let wrapped: Vec<String> = event::bytes::base64(&gzip(env))
            .as_bytes()
            .chunks(76)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        let body = format!("POST /u HTTP/1.1\r\nHost: x\r\n\r\n{}\n", wrapped.join("\n"));
        assert!(contains(&body, &c()), "{body}");
        // The same without the wrapping (curl -d strips newlines).
        assert!(contains(&format!("d={}", event::bytes::base64(&gzip(env))), &c()));
        // base64 twice, in JSON.
        let twice =
            event::bytes::base64(event::bytes::base64(br#"{"NPM_TOKEN":"CANARY-npm-4f1c2a9e7d3b"}"#).as_bytes());
        assert!(contains(&format!(r#"{{"content":"{twice}"}}"#), &c()));
        // Raw gzip bytes in a body.
        let mut raw = b"POST /u HTTP/1.1\r\n\r\n".to_vec();
        raw.extend(gzip(env));
        assert!(contains_bytes(&raw, &c()));
        // URL-encoded in a form.
        assert!(contains("t=CANARY%2Dnpm%2D4f1c2a9e7d3b&x=1", &c()));
        // Nothing of the kind.
        assert!(!contains_bytes(&gzip(b"HOME=/home/sam\nPATH=/usr/bin\n"), &c()));
        assert!(!contains(&event::bytes::base64(&gzip(b"nothing")), &c()));
    }

    #[test]
    fn xored_with_a_short_key() {
        let secret = b"key=CANARY-npm-4f1c2a9e7d3b;";
        for key in [&b"\x5a"[..], b"k3y", b"\x01\x02\x03\x04"] {
            let xored: Vec<u8> = secret.iter().enumerate().map(|(i, b)| b ^ key[i % key.len()]).collect();
            let hex: String = xored.iter().map(|b| format!("{b:02x}")).collect();
            assert!(contains_bytes(&xored, &c()), "raw, key {key:?}");
            assert!(contains(&format!("GET /c?d={hex} HTTP/1.1"), &c()), "hex, key {key:?}");
        }
        // A key longer than 4 bytes is not looked for; random bytes match nothing.
        let long: Vec<u8> = secret.iter().enumerate().map(|(i, b)| b ^ b"longkey"[i % 7]).collect();
        assert!(!contains_bytes(&long, &c()));
        let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert!(!contains_bytes(&noise, &c()));
    }

    #[test]
    fn a_zip_of_stolen_files() {
        use std::io::Write as _;
        // A zip with one deflated entry, built by hand: local header, data.
        let mut deflated = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflated.write_all(b"[default]\naws_secret_access_key = CANARY-npm-4f1c2a9e7d3b\n").unwrap();
        let deflated = deflated.finish().unwrap();
        let name = b"aws/credentials";
        let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
        zip.extend([0u8; 8]); // time, date, crc
        zip.extend((deflated.len() as u32).to_le_bytes());
        zip.extend(100u32.to_le_bytes());
        zip.extend((name.len() as u16).to_le_bytes());
        zip.extend(0u16.to_le_bytes());
        zip.extend(name);
        zip.extend(&deflated);
        let mut body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.zip\"\r\n\r\n".to_vec();
        body.extend(&zip);
        assert!(contains_bytes(&body, &c()));
    }

    #[test]
    fn joined_labels_keep_their_last_characters_hex_aligned() {
        let mut j = JoinedLabels::default();
        j.push("43414E41");
        j.push("52592d");
        assert_eq!((j.text.as_str(), j.queries), ("43414e4152592d", 2));
        let label = "a".repeat(1001);
        for _ in 0..17 {
            j.push(&label);
        }
        assert!(j.text.len() <= JOINED_MAX && j.text.len() > JOINED_MAX - 2, "{}", j.text.len());
        assert_eq!((14 + 17 * 1001 - j.text.len()) % 2, 0, "cut at an even place");
        assert_eq!(j.queries, 19);
    }

    #[test]
    fn dns_chunks() {
        assert_eq!(dns_chunk("43414e4152592d.7.x7f3a9.h4ck.cfd."), Some(("h4ck.cfd", "43414e4152592d.7.x7f3a9")));
        assert_eq!(dns_chunk_first("43414e4152592d.7.x7f3a9"), Some("43414e4152592d"));
        assert_eq!(dns_chunk("short.x.attacker.example"), Some(("attacker.example", "short.x")));
        assert_eq!(dns_chunk_first("short.x"), None);
        assert_eq!(dns_chunk("43414e4152592d.example"), None);
        assert_eq!(dns_chunk("registry"), None);
    }

    #[test]
    fn encoded_in_dns_labels() {
        assert!(contains("43414e4152592d6e706d2d346631633261396537643362.x7f3a9.attacker.example", &c()));
        // base32 of the canary, lower-cased as DNS names are.
        assert!(contains("inau4qksleww44dnfu2gmmldgjqtszjxmqzwe.x.example", &c()));
        assert!(contains("GET /?d=Q0FOQVJZLW5wbS00ZjFjMmE5ZTdkM2I= HTTP/1.1", &c()));
        assert!(!contains("deadbeefdeadbeef.example", &c()));
    }
}
