//! Figures about a stream of events: what its source read and produced.

use std::fmt;

/// Counters over everything a source (a parser, a recorded stream) has read.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParseStats {
    /// Lines read.
    pub lines: u64,
    /// System call lines (complete or split) read.
    pub calls: u64,
    /// Events produced (unparsed ones included).
    pub events: u64,
    /// Lines that could not be understood.
    pub unparsed: u64,
    /// Files whose reading failed part-way (corrupt or truncated compressed
    /// data, a read error): their lines before the failure were used, the
    /// rest is missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cut: Vec<InputCut>,
}

impl ParseStats {
    /// Events that came from a line the parser understood.
    pub fn parsed(&self) -> u64 {
        self.events.saturating_sub(self.unparsed)
    }

    /// Adds `other`'s figures to these.
    pub fn add(&mut self, other: &ParseStats) {
        self.lines += other.lines;
        self.calls += other.calls;
        self.events += other.events;
        self.unparsed += other.unparsed;
        self.cut.extend(other.cut.iter().cloned());
    }
}

/// A file that could not be read to its end. Displays as
/// `FILE: corrupt gzip data after 120 lines: unexpected end of file`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputCut {
    pub file: String,
    /// Complete lines read from it before the failure.
    pub lines: u64,
    /// What failed: `corrupt gzip data`, `corrupt zstd data`, `read error`.
    pub what: String,
    /// The decoder's or the system's own words.
    pub cause: String,
}

impl fmt::Display for InputCut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} after {} lines: {}", self.file, self.what, self.lines, self.cause)
    }
}
