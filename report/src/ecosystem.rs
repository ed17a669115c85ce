//! The package ecosystems pkgtrace knows. Part of the report (a stored
//! report names its package's ecosystem); the `package` crate fetches for
//! each.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A package ecosystem: decides the client used to fetch and the commands run inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Npm,
    Pypi,
    Cargo,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 3] = [Ecosystem::Npm, Ecosystem::Pypi, Ecosystem::Cargo];

    /// The purl type, which is also the directory name in caches and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Cargo => "cargo",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ecosystem {
    type Err = UnknownEcosystem;

    /// Accepts the purl type and the usual aliases (`pip`, `python`, `crates`, `rust`), any case.
    fn from_str(s: &str) -> Result<Ecosystem, UnknownEcosystem> {
        match s.to_ascii_lowercase().as_str() {
            "npm" | "node" | "nodejs" => Ok(Ecosystem::Npm),
            "pypi" | "pip" | "python" => Ok(Ecosystem::Pypi),
            "cargo" | "crate" | "crates" | "crates.io" | "rust" => Ok(Ecosystem::Cargo),
            _ => Err(UnknownEcosystem(s.to_string())),
        }
    }
}

/// A name that is no ecosystem pkgtrace knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEcosystem(pub String);

impl fmt::Display for UnknownEcosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown ecosystem {:?} (expected npm, pypi or cargo)", self.0)
    }
}

impl std::error::Error for UnknownEcosystem {}
