//! Why a source of events could not be read.

/// Why a source could not be read. Bad *lines* are not errors: they become
/// `Unparsed` events and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("failed to read {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("no logs found in {path}")]
    Empty { path: String },
}
