//! [`Bytes`]: a byte string (a path, an argv entry, a payload) that need not
//! be UTF-8.
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
        String::from_utf8_lossy(&self.0)
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
        match std::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("hex", &to_hex(&self.0))?;
                map.end()
            }
        }
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
    fn bad_hex_is_an_error() {
        assert!(serde_json::from_str::<Bytes>(r#"{"hex":"zz"}"#).is_err());
        assert!(serde_json::from_str::<Bytes>(r#"{"hex":"abc"}"#).is_err());
    }
}
