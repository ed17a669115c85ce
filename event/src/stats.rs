//! Figures about a stream of events: what its source read and produced.

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
}
