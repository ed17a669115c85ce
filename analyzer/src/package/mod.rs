//! Package identity (purls and local paths) and the fetch layer that stages a
//! package outside the sandbox, with no package code running, for a later
//! offline install and start inside it.

mod cargo;
mod detect;
mod error;
mod fetch;
mod npm;
mod purl;
mod pypi;

pub use error::PackageError;
pub use fetch::{default_cache_root, stage, FetchOptions, Staged};
pub use purl::{normalize_pypi_name, parse, Ecosystem, PackageRef, Source};
