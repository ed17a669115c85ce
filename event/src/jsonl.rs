//! Recorded event streams: one JSON object per line.
//!
//! `pkgtrace parse LOG > events.jsonl` writes the events of a log, then one
//! last line `{"stats": {...}}` with the figures of the log they came from, so
//! that analyzing the stream later gives the same report as analyzing the
//! log. A line that is not a valid event becomes an `Unparsed` event with its
//! file and line, like a bad strace line.

use std::io::{self, BufRead, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind, Origin};
use crate::lines::read_line;
use crate::outcome::Outcome;
use crate::stats::ParseStats;
use crate::SourceError;

/// The trailer line of a recorded stream.
#[derive(Serialize, Deserialize)]
struct Trailer {
    stats: ParseStats,
    /// How a live run ended, for streams recorded by `pkgtrace trace -o`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run: Option<Outcome>,
}

/// Writes events as JSON Lines.
pub struct EventsWriter<W: Write> {
    out: W,
}

impl<W: Write> EventsWriter<W> {
    pub fn new(out: W) -> EventsWriter<W> {
        EventsWriter { out }
    }
    pub fn write(&mut self, ev: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, ev)?;
        self.out.write_all(b"\n")
    }
    /// Writes the trailer and flushes.
    pub fn finish(self, stats: &ParseStats) -> io::Result<W> {
        self.finish_run(stats, None)
    }

    /// Writes the trailer with a live run's outcome and flushes.
    pub fn finish_run(mut self, stats: &ParseStats, run: Option<&Outcome>) -> io::Result<W> {
        serde_json::to_writer(&mut self.out, &Trailer { stats: stats.clone(), run: run.cloned() })?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads a recorded stream back.
pub struct EventsReader {
    name: Arc<str>,
    reader: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line_no: u64,
    seq: u64,
    /// Counted while reading, replaced by the trailer's figures if present.
    stats: ParseStats,
    trailer: Option<ParseStats>,
    run: Option<Outcome>,
}

impl EventsReader {
    /// Reads a stream named `name` (for messages) from `reader`; the
    /// tracer's `jsonl::open` opens a possibly compressed file.
    pub fn new(name: &str, reader: Box<dyn BufRead + Send>) -> EventsReader {
        EventsReader {
            name: Arc::from(name),
            reader,
            buf: Vec::new(),
            line_no: 0,
            seq: 0,
            stats: ParseStats::default(),
            trailer: None,
            run: None,
        }
    }

    /// The recorded run's outcome, once the trailer has been read.
    pub fn run(&self) -> Option<&Outcome> {
        self.run.as_ref()
    }

    pub fn stats(&self) -> ParseStats {
        match &self.trailer {
            // The recorded log's figures; never fewer events than were read
            // here (`pkgtrace run` wrote zeros there before it counted).
            Some(t) => ParseStats { events: t.events.max(self.stats.events), ..t.clone() },
            None => self.stats.clone(),
        }
    }

    pub fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            let got = read_line(&mut *self.reader, &mut self.buf)
                .map_err(|source| SourceError::Io { path: self.name.to_string(), cause: source })?;
            if got.is_none() {
                return Ok(None);
            }
            self.line_no += 1;
            self.stats.lines += 1;
            if self.buf.trim_ascii().is_empty() {
                continue;
            }
            match serde_json::from_slice::<Event>(&self.buf) {
                Ok(mut ev) => {
                    self.stats.events += 1;
                    if matches!(ev.kind, EventKind::Unparsed { .. }) {
                        self.stats.unparsed += 1;
                    }
                    ev.seq = self.seq;
                    self.seq += 1;
                    return Ok(Some(ev));
                }
                Err(e) => {
                    if let Ok(t) = serde_json::from_slice::<Trailer>(&self.buf) {
                        self.trailer = Some(t.stats);
                        self.run = t.run;
                        continue;
                    }
                    let origin = Origin::Log { file: self.name.clone(), line: self.line_no };
                    tracing::warn!("{origin}: not an event: {e}");
                    self.stats.events += 1;
                    self.stats.unparsed += 1;
                    if let Some(t) = &mut self.trailer {
                        t.unparsed += 1;
                    }
                    let seq = self.seq;
                    self.seq += 1;
                    let text = self.buf[..self.buf.len().min(512)].to_vec().into();
                    let kind = EventKind::Unparsed { text, reason: format!("not an event: {e}") };
                    return Ok(Some(Event { seq, pid: 0, time_ns: None, duration_ns: None, origin, kind }));
                }
            }
        }
    }
}
