//! **Identifies** and **stages** packages: identity (purls and local paths,
//! [`PackageRef`], [`Ecosystem`]), detection of a local package's
//! ecosystem, and the fetch layer ([`stage`]) that stages a package outside
//! the sandbox, with no package code running, for a later offline install
//! and start inside it: a staged directory and the phase commands
//! ([`Staged`]). One module per ecosystem: `npm`, `pypi`, `cargo` (with its
//! toolchain set-up).

mod cargo;
mod detect;
mod error;
mod fetch;
pub mod lockfile;
mod npm;
mod purl;
mod pypi;
mod versions;

pub use error::PackageError;
pub use fetch::{default_cache_root, stage, FetchOptions, Staged};
pub use purl::{normalize_pypi_name, parse, Ecosystem, PackageRef, Source};
pub use versions::published_versions;
