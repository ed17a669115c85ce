//! Spotting canary values — unique strings planted in the run's fake
//! credentials — in data that leaves a process: payloads, DNS names, argv.
//!
//! Exfiltration rarely sends a secret verbatim; it hex-, base32- or
//! base64-encodes it to fit a DNS label or a URL. So besides a plain,
//! case-insensitive search, every token of 8+ characters is decoded in each
//! of those encodings and searched again.

/// Does `text` carry one of `canaries`, plainly or encoded?
pub fn contains(text: &str, canaries: &[String]) -> bool {
    if canaries.is_empty() {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    let lowered: Vec<String> = canaries.iter().map(|c| c.to_ascii_lowercase()).collect();
    if lowered.iter().any(|c| lower.contains(c.as_str())) {
        return true;
    }
    contains_encoded(text, canaries)
}

/// Does `text` carry one of `values` hex-, base32- or base64-encoded in a
/// token of 8+ characters (case-insensitively once decoded)?
pub fn contains_encoded(text: &str, values: &[String]) -> bool {
    let lowered: Vec<String> = values.iter().map(|c| c.to_ascii_lowercase()).collect();
    let tokens = text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/_-".contains(c))).filter(|t| t.len() >= 8);
    for token in tokens {
        for decoded in [hex(token), base32(token), base64(token)].into_iter().flatten() {
            let d = String::from_utf8_lossy(&decoded).to_ascii_lowercase();
            if lowered.iter().any(|c| d.contains(c.as_str())) {
                return true;
            }
        }
    }
    false
}

/// Which of `canaries` `text` carries.
pub fn found<'c>(text: &str, canaries: &'c [String]) -> Vec<&'c str> {
    // One pass answers the common case (none); only a hit pays one per canary.
    if !contains(text, canaries) {
        return Vec::new();
    }
    canaries.iter().filter(|c| contains(text, std::slice::from_ref(*c))).map(String::as_str).collect()
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
        assert_eq!(found("x Q0FOQVJZLW5wbS00ZjFjMmE5ZTdkM2I= y", &two), vec!["CANARY-npm-4f1c2a9e7d3b"]);
        assert!(found("nothing here", &two).is_empty());
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
