//! Recorded event streams (JSON Lines): the format is the `event` crate's
//! [`event::jsonl`]; here, opening one from a (possibly compressed) file.

use std::path::Path;

pub use event::jsonl::{EventsReader, EventsWriter};

use crate::strace::reader::open_maybe_compressed;
use crate::SourceError;

/// Opens a recorded stream: plain, `.gz` or `.zst`.
pub fn open(path: &Path) -> Result<EventsReader, SourceError> {
    Ok(EventsReader::new(&path.display().to_string(), open_maybe_compressed(path)?))
}
