//! What the sandbox's network sinks received, as the report embeds it
//! (filled by the `sandbox` crate's sinks).

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

/// One DNS question the sink received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// Lower-cased, without the trailing dot, odd bytes escaped (as
    /// [`dns::DnsQuery::name`]).
    pub name: String,
    /// Mnemonic such as `"A"` or `"TXT"`, `"TYPE<n>"` for others.
    pub qtype: String,
    /// The sinkhole address given out, for `A` questions.
    pub answer: Option<Ipv4Addr>,
    /// `"udp"` or `"tcp"`.
    pub transport: String,
}

/// One connection to a TCP sink.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpRecord {
    /// The port the client connected to.
    pub port: u16,
    /// The address the client connected to (IPv4-mapped IPv6 addresses are
    /// reported as IPv4).
    pub local_ip: IpAddr,
    /// The name `local_ip` was handed out for by the DNS sink, if it was.
    pub host: Option<String>,
    /// The request line, when the bytes look like HTTP.
    pub http_request: Option<String>,
    /// The `Host` header (lower-cased), when the bytes look like HTTP.
    pub http_host: Option<String>,
    /// The server name of a TLS ClientHello (lower-cased).
    pub tls_sni: Option<String>,
    /// The first bytes the client sent, at most 256.
    #[serde(with = "lossy_bytes")]
    pub first_bytes: Vec<u8>,
}

/// Everything the sinks recorded, in arrival order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkLog {
    pub dns: Vec<DnsRecord>,
    pub tcp: Vec<TcpRecord>,
}

/// `first_bytes` is mostly text (an HTTP request) and a JSON array of
/// numbers would make reports unreadable, so it is written as a string with
/// invalid UTF-8 replaced.
mod lossy_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&String::from_utf8_lossy(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        String::deserialize(deserializer).map(String::into_bytes)
    }
}
