//! What the sandbox's network sinks received, as the report embeds it
//! (filled by the `sandbox` crate's sinks).

use std::net::Ipv4Addr;

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
    /// The resolver the question was sent to, when it was not the
    /// sandbox's own (a package asking 8.8.8.8 directly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// Everything the DNS sink was asked, in arrival order. What the other
/// sinks received is in the phase's `network` section (the analyzer builds
/// it from the sinks' `request` events, with the process that sent it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkLog {
    pub dns: Vec<DnsRecord>,
}
