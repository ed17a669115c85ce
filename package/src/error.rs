//! The one error type of the package layer: bad input (purls, paths,
//! manifests, archives) and fetch failures, each with a message that names
//! the package or path it is about.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while naming, detecting or staging a package.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("malformed purl {spec:?}: {reason}")]
    MalformedPurl { spec: String, reason: String },

    #[error("unknown ecosystem {0:?} (expected npm, pypi or cargo)")]
    UnknownEcosystem(String),

    #[error("invalid {ecosystem} package name {name:?}: {reason}")]
    InvalidName { ecosystem: String, name: String, reason: String },

    #[error("invalid version {version:?}: {reason}")]
    InvalidVersion { version: String, reason: String },

    #[error("{spec:?} is not a purl (pkg:<type>/<name>@<version>) and no such file or directory exists")]
    PathNotFound { spec: String },

    #[error("cannot stage {}: {reason}", path.display())]
    Unrecognised { path: PathBuf, reason: String },

    #[error("bad package manifest {}: {detail}", path.display())]
    BadManifest { path: PathBuf, detail: String },

    #[error("corrupt or unreadable archive {}: {detail}", path.display())]
    CorruptArchive { path: PathBuf, detail: String },

    #[error("{purl} not found: {detail}")]
    NotFound { purl: String, detail: String },

    #[error("failed to fetch {purl}: {detail}")]
    Fetch { purl: String, detail: String },

    #[error("failed to run {program} (is it installed and on PATH?): {cause}")]
    Tool { program: String, cause: io::Error },

    #[error("{context}: {cause}")]
    Io { context: String, cause: io::Error },
}

impl PackageError {
    /// An I/O error with a lowercase fragment saying what was being done.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> PackageError {
        PackageError::Io { context: context.into(), cause: source }
    }
}

impl From<report::UnknownEcosystem> for PackageError {
    fn from(e: report::UnknownEcosystem) -> PackageError {
        PackageError::UnknownEcosystem(e.0)
    }
}
