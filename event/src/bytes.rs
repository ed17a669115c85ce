//! [`Bytes`]: a byte string (a path, an argv entry, a payload) that need not
//! be UTF-8. [`BytesList`]: a list of them kept in one buffer (an
//! environment: dozens of strings per exec).
//!
//! In JSON a `Bytes` is a plain string when it is valid UTF-8 — the common
//! case, and the readable one — and `{"hex": "..."}` otherwise, so that a
//! recorded event stream gives back exactly the bytes that were seen.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// The bytes as text, with invalid UTF-8 replaced by U+FFFD.
    pub fn lossy(&self) -> Cow<'_, str> {
        lossy(&self.0)
    }
}

/// `bytes` as text, with invalid UTF-8 replaced by U+FFFD: what
/// `String::from_utf8_lossy` gives, faster for the common valid case (its
/// chunked check goes byte by byte; `from_utf8` skips ASCII a word at a
/// time).
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

impl From<&[u8]> for Bytes {
    fn from(b: &[u8]) -> Bytes {
        Bytes(b.to_vec())
    }
}
impl From<Vec<u8>> for Bytes {
    fn from(b: Vec<u8>) -> Bytes {
        Bytes(b)
    }
}
impl From<&str> for Bytes {
    fn from(s: &str) -> Bytes {
        Bytes(s.as_bytes().to_vec())
    }
}
impl From<String> for Bytes {
    fn from(s: String) -> Bytes {
        Bytes(s.into_bytes())
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{:?}", self.lossy())
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lossy())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        BytesRef(&self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or {\"hex\": \"...\"}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                Ok(Bytes::from(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Bytes, E> {
                Ok(Bytes::from(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Bytes, A::Error> {
                let mut out = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "hex" {
                        let hex: Cow<'de, str> = map.next_value()?;
                        out = Some(from_hex(&hex).ok_or_else(|| de::Error::custom("invalid hex"))?);
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                out.map(Bytes).ok_or_else(|| de::Error::missing_field("hex"))
            }
        }
        d.deserialize_any(BytesVisitor)
    }
}

/// A list of byte strings in one buffer: what an exec's environment is
/// read into. The live tracer builds one per exec, on its own CPU, where
/// every allocation counts (issue 14): two allocations for the list
/// instead of one per variable. In JSON, an array of [`Bytes`].
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct BytesList {
    /// The strings, end to end.
    data: Vec<u8>,
    /// Where each string ends in `data`.
    ends: Vec<usize>,
}

impl BytesList {
    pub fn new() -> BytesList {
        BytesList::default()
    }
    /// Room for `strings` strings of `bytes` bytes in all.
    pub fn with_capacity(strings: usize, bytes: usize) -> BytesList {
        BytesList { data: Vec::with_capacity(bytes), ends: Vec::with_capacity(strings) }
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    pub fn push(&mut self, s: &[u8]) {
        self.data.extend_from_slice(s);
        self.ends.push(self.data.len());
    }
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = i.checked_sub(1).map_or(0, |prev| self.ends[prev]);
        Some(&self.data[start..end])
    }
    pub fn iter(&self) -> BytesListIter<'_> {
        BytesListIter { list: self, next: 0 }
    }
}

/// The strings of a [`BytesList`], in order.
pub struct BytesListIter<'a> {
    list: &'a BytesList,
    next: usize,
}

impl<'a> Iterator for BytesListIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let s = self.list.get(self.next)?;
        self.next += 1;
        Some(s)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.list.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for BytesListIter<'_> {}

impl<'a> IntoIterator for &'a BytesList {
    type Item = &'a [u8];
    type IntoIter = BytesListIter<'a>;
    fn into_iter(self) -> BytesListIter<'a> {
        self.iter()
    }
}

impl<S: AsRef<[u8]>> FromIterator<S> for BytesList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> BytesList {
        let mut out = BytesList::new();
        for s in iter {
            out.push(s.as_ref());
        }
        out
    }
}

impl fmt::Debug for BytesList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

impl Serialize for BytesList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for item in self.iter() {
            seq.serialize_element(&BytesRef(item))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for BytesList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BytesList, D::Error> {
        Vec::<Bytes>::deserialize(d).map(|v| v.iter().map(Bytes::as_slice).collect())
    }
}

/// A borrowed [`Bytes`], serialized the same way.
struct BytesRef<'a>(&'a [u8]);

impl Serialize for BytesRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("hex", &to_hex(self.0))?;
                map.end()
            }
        }
    }
}

fn to_hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// Standard base64, padded (RFC 4648): a Docker auth field written for
/// the sandbox, test data encoded as exfiltration encodes it.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_a_plain_string_and_other_bytes_round_trip_as_hex() {
        let text = Bytes::from("/etc/passwd");
        assert_eq!(serde_json::to_string(&text).unwrap(), r#""/etc/passwd""#);
        let raw = Bytes(vec![b'/', b't', 0xff, 0x00, b'x']);
        let json = serde_json::to_string(&raw).unwrap();
        assert_eq!(json, r#"{"hex":"2f74ff0078"}"#);
        assert_eq!(serde_json::from_str::<Bytes>(&json).unwrap(), raw);
        assert_eq!(serde_json::from_str::<Bytes>(r#""/etc/passwd""#).unwrap(), text);
    }

    #[test]
    fn a_list_serializes_as_an_array_of_bytes_and_round_trips() {
        let list: BytesList = [&b"HOME=/root"[..], b"", b"X=\xff"].into_iter().collect();
        assert_eq!(list.len(), 3);
        assert_eq!(list.get(1), Some(&b""[..]));
        assert_eq!(list.get(3), None);
        assert_eq!(list.iter().collect::<Vec<_>>(), vec![&b"HOME=/root"[..], b"", b"X=\xff"]);
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"["HOME=/root","",{"hex":"583dff"}]"#);
        // The same JSON as a Vec<Bytes>: recorded streams read either way.
        let vec: Vec<Bytes> = list.iter().map(Bytes::from).collect();
        assert_eq!(serde_json::to_string(&vec).unwrap(), json);
        assert_eq!(serde_json::from_str::<BytesList>(&json).unwrap(), list);
        assert_eq!(serde_json::from_str::<BytesList>("[]").unwrap(), BytesList::new());
        assert!(serde_json::from_str::<BytesList>(r#""HOME=/""#).is_err());
    }

    #[test]
    fn base64_as_rfc_4648_gives_it() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn bad_hex_is_an_error() {
        assert!(serde_json::from_str::<Bytes>(r#"{"hex":"zz"}"#).is_err());
        assert!(serde_json::from_str::<Bytes>(r#"{"hex":"abc"}"#).is_err());
    }
}
