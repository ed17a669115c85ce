//! Opening strace logs: plain, gzip or zstd (detected by their magic bytes),
//! one file or a directory of `-ff` per-task files (`prefix.PID`), read as
//! one stream of events in constant memory.
//!
//! Per-task files are merged by their timestamps when they have them (so a
//! parent's clone comes before its child's first call); without timestamps
//! they are read one after the other in pid order.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use event::Event;

use super::line;
use super::parser::{ParseStats, Parser};
use crate::SourceError;

pub use event::lines::{read_line, MAX_LINE};

/// One file of a log, with the task id its name gives (`-ff`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFile {
    pub path: PathBuf,
    pub pid: Option<i32>,
}

/// Opens a possibly compressed file for buffered reading.
pub fn open_maybe_compressed(path: &Path) -> Result<Box<dyn BufRead + Send>, SourceError> {
    let err = |source| SourceError::Io { path: path.display().to_string(), cause: source };
    let mut file = File::open(path).map_err(err)?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic).map_err(err)?;
    let head = io::Cursor::new(magic[..n].to_vec()).chain(file);
    const BUF: usize = 1 << 20;
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Box::new(BufReader::with_capacity(BUF, flate2::read::MultiGzDecoder::new(head))),
        [0x28, 0xb5, 0x2f, 0xfd] => {
            Box::new(BufReader::with_capacity(BUF, zstd::stream::read::Decoder::new(head).map_err(err)?))
        }
        _ => Box::new(BufReader::with_capacity(BUF, head)),
    })
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

struct Stream {
    name: Arc<str>,
    reader: Box<dyn BufRead + Send>,
    pid: Option<i32>,
    line_no: u64,
    /// The line read ahead (in `buf`), with its sort key and whether it
    /// was cut; None at the end of the file.
    next: Option<(u64, bool)>,
    buf: Vec<u8>,
    last_time: u64,
}

impl Stream {
    fn advance(&mut self) -> Result<(), SourceError> {
        match read_line(&mut *self.reader, &mut self.buf) {
            Ok(Some(overlong)) => {
                self.line_no += 1;
                // Continuation lines (hex dumps) carry no time: keep them
                // right after their call by giving them its time.
                if let Some(t) = line::parse(&self.buf).0.time_ns {
                    self.last_time = t;
                }
                self.next = Some((self.last_time, overlong));
            }
            Ok(None) => self.next = None,
            Err(source) => return Err(SourceError::Io { path: self.name.to_string(), cause: source }),
        }
        Ok(())
    }
}

/// A strace log (one file, or a `-ff` set) read as events.
pub struct LogReader {
    streams: Vec<Stream>,
    merge_by_time: bool,
    current: usize,
    parser: Parser,
    queue: VecDeque<Event>,
    out: Vec<Event>,
    finished: bool,
}

impl LogReader {
    /// Opens one file, or the files of a `-ff` set.
    pub fn open(files: &[LogFile]) -> Result<LogReader, SourceError> {
        let mut streams = Vec::with_capacity(files.len());
        for f in files {
            streams.push(Stream {
                name: Arc::from(f.path.display().to_string()),
                reader: open_maybe_compressed(&f.path)?,
                pid: f.pid,
                line_no: 0,
                next: None,
                buf: Vec::new(),
                last_time: 0,
            });
        }
        let mut merge_by_time = false;
        if streams.len() > 1 {
            for s in &mut streams {
                s.advance()?;
            }
            merge_by_time = streams.iter().all(|s| s.next.is_none() || line::parse(&s.buf).0.time_ns.is_some());
        }
        Ok(LogReader {
            streams,
            merge_by_time,
            current: 0,
            parser: Parser::new(),
            queue: VecDeque::new(),
            out: Vec::new(),
            finished: false,
        })
    }

    /// Opens a single log file.
    pub fn open_file(path: &Path) -> Result<LogReader, SourceError> {
        LogReader::open(&[LogFile { path: path.to_path_buf(), pid: None }])
    }

    pub fn stats(&self) -> &ParseStats {
        self.parser.stats()
    }

    /// The next event, or None at the end of the log.
    pub fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Ok(Some(ev));
            }
            if self.finished {
                return Ok(None);
            }
            self.step()?;
            self.queue.extend(self.out.drain(..));
        }
    }

    /// Reads one line (or finishes) into `self.out`.
    fn step(&mut self) -> Result<(), SourceError> {
        let idx = if self.streams.len() == 1 {
            self.streams[0].advance()?;
            self.streams[0].next.is_some().then_some(0)
        } else if self.merge_by_time {
            // Streams were read ahead; pick the earliest line.
            self.streams.iter().enumerate().filter_map(|(i, s)| s.next.map(|(t, _)| (t, i))).min().map(|(_, i)| i)
        } else {
            while self.current < self.streams.len() && self.streams[self.current].next.is_none() {
                self.current += 1;
            }
            (self.current < self.streams.len()).then_some(self.current)
        };
        let Some(i) = idx else {
            let (name, line) =
                self.streams.last().map(|s| (s.name.clone(), s.line_no)).unwrap_or_else(|| (Arc::from(""), 0));
            self.parser.finish(&name, line, &mut self.out);
            self.finished = true;
            return Ok(());
        };
        let s = &mut self.streams[i];
        if s.next.is_some_and(|(_, overlong)| overlong) {
            tracing::warn!("{}:{}: line longer than {} bytes, cut", s.name, s.line_no, MAX_LINE);
        }
        self.parser.feed(&s.name, s.line_no, s.pid, &s.buf, &mut self.out);
        if self.streams.len() > 1 {
            // Read ahead so the merge can compare this stream again.
            self.streams[i].advance()?;
        }
        Ok(())
    }
}
