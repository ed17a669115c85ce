//! Sinkhole addresses: which address in 104.21.0.0/16 the DNS sink hands
//! out for each name, and which name a connection to such an address was
//! meant for.
//!
//! [`sinkhole`] is the deterministic address of a name; [`Assignments`]
//! keeps the addresses of one run unique, so that every address maps back
//! to exactly one name.

use std::collections::hash_map::{Entry, HashMap};
use std::net::Ipv4Addr;

/// The /16 names get their addresses from. Not loopback, which a client
/// (or malware checking for a sandbox) can tell from an answer from the
/// internet: 104.21.0.0/16 is where a great many ordinary sites behind a
/// CDN resolve to. The tracer routes connects to these addresses into the
/// sinks like every other internet address.
pub const POOL: [u8; 2] = [104, 21];

/// Sinkhole addresses tried for one name before giving up on a unique one.
const MAX_PROBES: u32 = 64;

/// The sinkhole address for a name: deterministic, in [`POOL`], never
/// the .0.0 or .0.1 host. `name` is compared as the DNS sink reports it
/// (lower-cased, no trailing dot); case is ignored here too.
///
/// Two names can hash to the same address. The DNS sink then hands the later
/// name another address (see [`Assignments::assign`]), so its answer differs
/// from this function only after such a collision.
pub fn sinkhole(name: &str) -> Ipv4Addr {
    sinkhole_probe(&name.to_ascii_lowercase(), 0)
}

/// Address number `attempt` in the probe sequence of `name`.
fn sinkhole_probe(name: &str, attempt: u32) -> Ipv4Addr {
    // FNV-1a: stable across Rust versions and runs, unlike `DefaultHasher`,
    // so the same name gets the same address in every report.
    let mut hash = event::hash::fnv1a(name.bytes().chain(attempt.to_be_bytes()));
    hash ^= hash >> 32;
    // 65534 host numbers starting at 2 skip .0.0 and .0.1, which
    // look like network/well-known addresses in a report.
    let host = 2 + (hash % 65_534) as u16;
    let [hi, lo] = host.to_be_bytes();
    Ipv4Addr::new(POOL[0], POOL[1], hi, lo)
}

/// Which name each sinkhole address was given out for.
#[derive(Default)]
pub(super) struct Assignments {
    by_name: HashMap<String, Ipv4Addr>,
    by_ip: HashMap<Ipv4Addr, String>,
}

impl Assignments {
    /// The address for `name`: the one it already has, else the first free
    /// one of its probe sequence, so that every address maps back to exactly
    /// one name. Once the probes find nothing free (tens of thousands of
    /// names), the name shares [`sinkhole`]'s address and `name_for` keeps
    /// answering with the earlier name.
    pub(super) fn assign(&mut self, name: &str) -> Ipv4Addr {
        if let Some(ip) = self.by_name.get(name) {
            return *ip;
        }
        for attempt in 0..MAX_PROBES {
            let ip = sinkhole_probe(name, attempt);
            if let Entry::Vacant(slot) = self.by_ip.entry(ip) {
                slot.insert(name.to_owned());
                self.by_name.insert(name.to_owned(), ip);
                return ip;
            }
        }
        sinkhole_probe(name, 0)
    }

    /// The name `ip` was given out for.
    pub(super) fn name_for(&self, ip: Ipv4Addr) -> Option<String> {
        self.by_ip.get(&ip).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinkhole_is_deterministic_and_distinct() {
        let names = ["evil.example", "pypi.org", "registry.npmjs.org", "a.b.c", "x"];
        let ips: Vec<Ipv4Addr> = names.iter().map(|n| sinkhole(n)).collect();
        for (name, ip) in names.iter().zip(&ips) {
            assert_eq!(sinkhole(name), *ip);
            assert_eq!(sinkhole(&name.to_ascii_uppercase()), *ip);
            let [a, b, c, d] = ip.octets();
            assert_eq!([a, b], POOL);
            assert!((c, d) != (0, 0) && (c, d) != (0, 1), "{ip}");
        }
        let mut unique = ips.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ips.len());
    }

    #[test]
    fn colliding_names_get_distinct_addresses() {
        // With 65534 addresses, 2000 names collide somewhere with near
        // certainty (birthday bound); find one pair.
        let mut seen: HashMap<Ipv4Addr, String> = HashMap::new();
        let (first, second) = (0..2000)
            .map(|i| format!("n{i}.example"))
            .find_map(|name| seen.insert(sinkhole(&name), name.clone()).map(|previous| (previous, name)))
            .expect("no collision among 2000 names");
        let mut assignments = Assignments::default();
        let a = assignments.assign(&first);
        let b = assignments.assign(&second);
        assert_eq!(a, sinkhole(&first));
        assert_ne!(a, b);
        assert_eq!(assignments.assign(&second), b, "stable");
        assert_eq!(assignments.by_ip[&a], first);
        assert_eq!(assignments.by_ip[&b], second);
    }
}
