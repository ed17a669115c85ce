//! Who the sandbox says it is. Malware looks before it acts: a user called
//! `sandbox` or `pkgtrace`, a HOME of `/home/box`, a host name seen in an
//! earlier analysis, and it exits clean. Each run gets an ordinary
//! developer's identity instead: a common first name as the user, its home
//! under `/home`, a host name of the kinds people give laptops and build
//! machines. All are different per run and replaced by `$USER`, `$HOME`
//! and `$HOSTNAME` in stored reports, so two runs still compare equal.
//!
//! The uid stays the run's own (1600000 and up, see `UidLease`): that is
//! what keeps runs apart, and uids in that range are what directory-joined
//! (SSSD, winbind) workstations give their users.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// First names, for the GECOS field and the user name's initial.
const FIRST: &[&str] = &[
    "Alex", "Sam", "Jordan", "Chris", "Taylor", "Maria", "Kim", "Daniel", "Anna", "Mike", "Sarah", "Tom", "Lisa",
    "James", "Emma", "David", "Laura", "Ben", "Nina", "Paul", "Julia", "Mark", "Eva", "Leo", "Sofia", "Devon",
];

/// Surnames. The user name is the first initial and the surname
/// (`jmiller`), the pattern of directory-managed workstations; such names
/// do not occur as words in paths or text, so stored reports can replace
/// them by `$USER` without touching anything else (a user called `dev`
/// would turn `/dev/null` into `/$USER/null`).
const SURNAMES: &[&str] = &[
    "Miller", "Chen", "Garcia", "Kumar", "Nguyen", "Schmidt", "Rossi", "Novak", "Silva", "Brown", "Okafor", "Larsen",
    "Tanaka", "Moreau", "Kowalski", "Haddad",
];

/// Host-name shapes: laptops, workstations, cloud VMs and CI runners.
const HOSTS: &[&str] = &["laptop", "thinkpad", "xps", "workstation", "desktop", "dev", "build", "ubuntu", "fedora"];

/// The identity of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user name (also the group name).
    pub user: String,
    /// The GECOS full name.
    pub full_name: String,
    /// HOME inside the sandbox: `/home/<user>`.
    pub home: String,
    pub hostname: String,
}

impl Identity {
    /// A fresh identity, different from run to run.
    pub fn generate() -> Identity {
        Identity::from_seed(seed())
    }

    /// The identity a seed gives (tests; `generate` seeds from the clock
    /// and the process).
    pub fn from_seed(seed: u64) -> Identity {
        let mut x = seed | 1;
        let mut next = move || {
            // xorshift64*: enough to pick names.
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let first = FIRST[(next() % FIRST.len() as u64) as usize];
        let surname = SURNAMES[(next() % SURNAMES.len() as u64) as usize];
        let user = format!("{}{}", first[..1].to_ascii_lowercase(), surname.to_ascii_lowercase());
        let full_name = format!("{first} {surname}");
        let kind = HOSTS[(next() % HOSTS.len() as u64) as usize];
        let hostname = match next() % 4 {
            0 => format!("{user}-{kind}"),
            1 => format!("{kind}-{:02}", next() % 40 + 1),
            2 => {
                let v = next();
                format!("ip-10-{}-{}-{}", v % 32, (v >> 8) % 256, (v >> 16) % 254 + 1)
            }
            _ => format!("{kind}-{:04x}", next() % 0x1_0000),
        };
        Identity { home: format!("/home/{user}"), user, full_name, hostname }
    }
}

fn seed() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    nanos ^ u64::from(std::process::id()).rotate_left(32) ^ call.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_look_ordinary_and_vary() {
        let ids: Vec<Identity> =
            (1..200u64).map(|s| Identity::from_seed(s.wrapping_mul(0x9E37_79B9_7F4A_7C15))).collect();
        for id in &ids {
            assert!(id.user.bytes().all(|b| b.is_ascii_lowercase()), "{id:?}");
            assert_eq!(id.home, format!("/home/{}", id.user));
            assert!(!id.hostname.is_empty() && id.hostname.len() <= 63, "{id:?}");
            assert!(id.hostname.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "{id:?}");
            for word in ["pkgtrace", "sandbox", "box", "malware", "analysis"] {
                assert!(!id.user.contains(word) && !id.hostname.contains(word), "{id:?} gives itself away");
            }
        }
        let users: std::collections::HashSet<&str> = ids.iter().map(|i| i.user.as_str()).collect();
        let hosts: std::collections::HashSet<&str> = ids.iter().map(|i| i.hostname.as_str()).collect();
        assert!(users.len() > 20, "user names vary: {}", users.len());
        assert!(hosts.len() > 150, "host names vary: {}", hosts.len());
        assert_ne!(Identity::generate(), Identity::generate(), "two runs, two identities");
    }
}
