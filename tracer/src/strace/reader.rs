//! Opening strace logs: plain, gzip or zstd (detected by their magic bytes),
//! one file or a directory of `-ff` per-task files (`prefix.PID`), read as
//! one stream of events in constant memory.
//!
//! Per-task files are merged by their timestamps when they have them (so a
//! parent's clone comes before its child's first call); without timestamps
//! they are read one after the other in pid order.
//!
//! A file that cannot be read to its end (corrupt or truncated compressed
//! data, a read error) ends there: its lines before the failure are used,
//! and [`LogReader::stats`] says where it was cut ([`InputCut`]). A log cut
//! half-way still tells what happened before the cut, which is what a
//! half-downloaded CI artifact is kept for.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use event::{Event, InputCut};

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

/// How a file is stored, told by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// What failed when reading such a file fails part-way.
    fn failure(self) -> &'static str {
        match self {
            Compression::None => "read error",
            Compression::Gzip => "corrupt gzip data",
            Compression::Zstd => "corrupt zstd data",
        }
    }
}

/// Opens a possibly compressed file for buffered reading.
pub fn open_maybe_compressed(path: &Path) -> Result<Box<dyn BufRead + Send>, SourceError> {
    open_log(path).map(|(_, r)| r)
}

/// Opens a possibly compressed file for buffered reading; says how it is
/// stored.
pub fn open_log(path: &Path) -> Result<(Compression, Box<dyn BufRead + Send>), SourceError> {
    open_log_buffered(path, ONE_FILE_BUF)
}

/// Read buffer of a log read alone.
const ONE_FILE_BUF: usize = 1 << 20;
/// Read buffers of a `-ff` set, all files together: its files are all open
/// at once, so memory stays flat however many tasks the log has.
const SET_BUF: usize = 16 << 20;
const MIN_BUF: usize = 16 << 10;

fn open_log_buffered(path: &Path, buf: usize) -> Result<(Compression, Box<dyn BufRead + Send>), SourceError> {
    let err = |source| SourceError::Io { path: path.display().to_string(), cause: source };
    let mut file = File::open(path).map_err(err)?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic).map_err(err)?;
    let head = io::Cursor::new(magic[..n].to_vec()).chain(file);
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => (
            Compression::Gzip,
            Box::new(BufReader::with_capacity(buf, Salvage::new(flate2::read::MultiGzDecoder::new(head)))),
        ),
        [0x28, 0xb5, 0x2f, 0xfd] => (
            Compression::Zstd,
            Box::new(BufReader::with_capacity(buf, Salvage::new(zstd::stream::read::Decoder::new(head).map_err(err)?))),
        ),
        _ => (Compression::None, Box::new(BufReader::with_capacity(buf, head))),
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

/// A decoder read in small steps, so that what it decoded before it hit
/// corrupt data is handed on. flate2 and zstd fail the whole `read` call
/// in which decoding fails, dropping what that call had already decoded
/// (flate2 decodes up to 32 KiB of input per call): with the 1 MiB reads
/// of a `BufReader`, a small gzip log corrupt in its middle would give
/// nothing at all. In steps, what is lost is at most one step and what the
/// decoder still held (inflate's 32 KiB window).
struct Salvage<R> {
    inner: R,
    /// The decoder's error, returned on the call after the data before it.
    error: Option<io::Error>,
}

/// Bytes asked of the decoder at a time.
const SALVAGE_STEP: usize = 4 << 10;

impl<R> Salvage<R> {
    fn new(inner: R) -> Salvage<R> {
        Salvage { inner, error: None }
    }
}

impl<R: Read> Read for Salvage<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut n = 0;
        while n < buf.len() {
            let end = (n + SALVAGE_STEP).min(buf.len());
            match self.inner.read(&mut buf[n..end]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if n == 0 => return Err(e),
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        Ok(n)
    }
}

struct Stream {
    name: Arc<str>,
    compression: Compression,
    reader: Box<dyn BufRead + Send>,
    pid: Option<i32>,
    line_no: u64,
    /// The line read ahead (in `buf`), with its sort key and whether it
    /// was cut; None at the end of the file.
    next: Option<(u64, bool)>,
    buf: Vec<u8>,
    last_time: u64,
    /// Where reading failed, if it did; the stream ended there.
    cut: Option<InputCut>,
}

impl Stream {
    /// Reads the next line into `buf`; a read that fails ends the stream
    /// and records where (the bytes of a line it cut are dropped). `timed`:
    /// read the line's time too, for merging several files by time (one
    /// file needs no sort key, and the parser reads the prefix anyway).
    fn advance(&mut self, timed: bool) {
        match read_line(&mut *self.reader, &mut self.buf) {
            Ok(Some(overlong)) => {
                self.line_no += 1;
                // Continuation lines (hex dumps) carry no time: keep them
                // right after their call by giving them its time.
                if let Some(t) = timed.then(|| line::time_of(&self.buf)).flatten() {
                    self.last_time = t;
                }
                self.next = Some((self.last_time, overlong));
            }
            Ok(None) => self.next = None,
            Err(cause) => self.cut_by(cause),
        }
    }

    /// Reading failed: the stream ends here, and says where and why.
    fn cut_by(&mut self, cause: io::Error) {
        self.next = None;
        self.buf.clear();
        self.cut = Some(InputCut {
            file: self.name.to_string(),
            lines: self.line_no,
            what: self.compression.failure().to_string(),
            cause: cause.to_string(),
        });
    }
}

/// Raises this process's soft limit on open files, if need be and the hard
/// limit allows, so a `-ff` set of `files` files can be open at once (a
/// real `npm install` leaves thousands). Past the hard limit, opening says
/// "Too many open files" with the file's name.
fn allow_open_files(files: usize) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    // Room for what else is open (the rule pack, stdio, the output).
    let want = files as u64 + 64;
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < want {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, want.min(hard), hard);
        }
    }
}

/// A strace log (one file, or a `-ff` set) read as events.
pub struct LogReader {
    streams: Vec<Stream>,
    merge_by_time: bool,
    /// Merging by time: each stream with a line read ahead, by that line's
    /// time (then by file, as ties go).
    ahead: BinaryHeap<Reverse<(u64, usize)>>,
    /// Merging by time: the stream whose next line is the earliest, kept
    /// out of `ahead`.
    run: Option<usize>,
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
        let buf = if files.len() > 1 {
            allow_open_files(files.len());
            (SET_BUF / files.len()).clamp(MIN_BUF, ONE_FILE_BUF)
        } else {
            ONE_FILE_BUF
        };
        for f in files {
            let (compression, reader) = open_log_buffered(&f.path, buf)?;
            streams.push(Stream {
                name: Arc::from(f.path.display().to_string()),
                compression,
                reader,
                pid: f.pid,
                line_no: 0,
                next: None,
                buf: Vec::new(),
                last_time: 0,
                cut: None,
            });
        }
        let mut merge_by_time = false;
        if streams.len() > 1 {
            for s in &mut streams {
                s.advance(true);
            }
            merge_by_time = streams.iter().all(|s| s.next.is_none() || line::time_of(&s.buf).is_some());
        }
        let ahead = if merge_by_time {
            streams.iter().enumerate().filter_map(|(i, s)| s.next.map(|(t, _)| Reverse((t, i)))).collect()
        } else {
            BinaryHeap::new()
        };
        Ok(LogReader {
            streams,
            merge_by_time,
            ahead,
            run: None,
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

    /// What reading found so far, with the files that were cut.
    pub fn stats(&self) -> ParseStats {
        let mut stats = self.parser.stats().clone();
        stats.cut.extend(self.streams.iter().filter_map(|s| s.cut.clone()));
        stats
    }

    /// The next event, or None at the end of the log (or where every file
    /// was cut: see [`LogReader::stats`]).
    pub fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Ok(Some(ev));
            }
            if self.finished {
                return Ok(None);
            }
            let mut out = std::mem::take(&mut self.out);
            self.step(&mut out);
            self.queue.extend(out.drain(..));
            self.out = out;
        }
    }

    /// Reads on until `batch` holds at least `max` events or the log ends;
    /// false once it has ended. The parser writes its events straight into
    /// `batch`: handed on one by one, each event was copied three times
    /// more on its way.
    pub fn fill(&mut self, batch: &mut Vec<Event>, max: usize) -> Result<bool, SourceError> {
        batch.extend(self.queue.drain(..));
        while batch.len() < max && !self.finished {
            self.step(batch);
        }
        Ok(!self.finished)
    }

    /// Every stream has ended: calls still unfinished are flushed into `out`.
    fn end(&mut self, out: &mut Vec<Event>) {
        let (name, line) =
            self.streams.last().map(|s| (s.name.clone(), s.line_no)).unwrap_or_else(|| (Arc::from(""), 0));
        self.parser.finish(&name, line, out);
        self.finished = true;
    }

    /// Reads one line (or finishes), its events into `out`.
    fn step(&mut self, out: &mut Vec<Event>) {
        if self.streams.len() == 1 {
            // A line whole in the read buffer is parsed where it is, not
            // copied out first; any other (cut by the buffer's end, the
            // last, over-long) goes the way of every line of a `-ff` set.
            let s = &mut self.streams[0];
            match s.reader.fill_buf() {
                Ok(avail) => {
                    if let Some(end) = memchr::memchr(b'\n', avail) {
                        let line = &avail[..end];
                        let line = line.strip_suffix(b"\r").unwrap_or(line);
                        s.line_no += 1;
                        self.parser.feed(&s.name, s.line_no, s.pid, line, out);
                        s.reader.consume(end + 1);
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return,
                Err(cause) => {
                    s.cut_by(cause);
                    return self.end(out);
                }
            }
        }
        let idx = if self.streams.len() == 1 {
            self.streams[0].advance(false);
            self.streams[0].next.is_some().then_some(0)
        } else if self.merge_by_time {
            // Streams were read ahead; the earliest line goes first. The
            // stream just read from goes on while its next line is still
            // the earliest (a process's calls come in runs): no heap
            // push and pop for each of those lines.
            match self.run.take() {
                Some(i) => Some(i),
                None => self.ahead.pop().map(|Reverse((_, i))| i),
            }
        } else {
            while self.current < self.streams.len() && self.streams[self.current].next.is_none() {
                self.current += 1;
            }
            (self.current < self.streams.len()).then_some(self.current)
        };
        let Some(i) = idx else { return self.end(out) };
        let s = &mut self.streams[i];
        if s.next.is_some_and(|(_, overlong)| overlong) {
            tracing::warn!("{}:{}: line longer than {} bytes, cut", s.name, s.line_no, MAX_LINE);
        }
        self.parser.feed(&s.name, s.line_no, s.pid, &s.buf, out);
        if self.streams.len() > 1 {
            // Read ahead so the merge can compare this stream again.
            let s = &mut self.streams[i];
            s.advance(self.merge_by_time);
            if let (true, Some((t, _))) = (self.merge_by_time, s.next) {
                // The order the heap would give: by time, then by file.
                if self.ahead.peek().is_none_or(|Reverse(first)| (t, i) < *first) {
                    self.run = Some(i);
                } else {
                    self.ahead.push(Reverse((t, i)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// `n` lines of a plausible strace log, different enough from each
    /// other that they do not compress to nothing.
    fn log(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            writeln!(out, "{} openat(AT_FDCWD, \"/srv/file-{i:x}-{}\", O_RDONLY) = 3", 100 + i % 7, i * 7919 % 10007)
                .unwrap();
        }
        out
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Reads `bytes` as a log file to its end: events, stats.
    fn read_all(bytes: &[u8]) -> (u64, ParseStats) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log.gz");
        std::fs::write(&path, bytes).unwrap();
        let mut r = LogReader::open_file(&path).unwrap();
        let mut n = 0;
        while r.next_event().unwrap().is_some() {
            n += 1;
        }
        (n, r.stats())
    }

    #[test]
    fn a_whole_gzip_file_is_not_cut() {
        let (events, stats) = read_all(&gzip(&log(2000)));
        assert_eq!(events, 2000);
        assert!(stats.cut.is_empty(), "{:?}", stats.cut);
    }

    #[test]
    fn a_truncated_gzip_file_gives_its_lines_before_the_cut() {
        let gz = gzip(&log(20_000));
        let (events, stats) = read_all(&gz[..gz.len() / 2]);
        assert_eq!(stats.cut.len(), 1, "{stats:?}");
        let cut = &stats.cut[0];
        assert_eq!(cut.what, "corrupt gzip data");
        assert_eq!(cut.lines, stats.lines);
        assert!(cut.lines > 5_000 && cut.lines < 20_000, "{cut}");
        assert_eq!(events, cut.lines, "every complete line before the cut is an event");
    }

    #[test]
    fn corrupt_gzip_data_keeps_what_came_before_it() {
        // A gzip member whose deflate stream is the log up to a sync flush,
        // then a block of the reserved type 3 (`0x07`: final, type 3),
        // which inflate refuses. Under 32 KiB of gzip, flate2 decodes it
        // in one call: without `Salvage`, that call fails as a whole and
        // not one line comes out.
        let plain = log(2_000);
        let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflate.write_all(&plain).unwrap();
        deflate.flush().unwrap();
        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        gz.extend_from_slice(deflate.get_ref());
        gz.extend_from_slice(&[0x07, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(gz.len() < 32 << 10, "{}", gz.len());
        let (events, stats) = read_all(&gz);
        assert_eq!(stats.cut.len(), 1, "{stats:?}");
        let cut = &stats.cut[0];
        assert_eq!(cut.what, "corrupt gzip data");
        // What inflate holds in its 32 KiB window but had not yet handed
        // out is lost, and at most one step.
        let lost: usize = plain.split_inclusive(|b| *b == b'\n').skip(cut.lines as usize).map(<[u8]>::len).sum();
        assert!(cut.lines > 0 && lost <= (32 << 10) + SALVAGE_STEP, "{lost} bytes lost before the damage: {cut}");
        assert_eq!(events, cut.lines);
    }

    #[test]
    fn salvage_hands_on_the_data_before_an_error() {
        /// Gives 10 000 bytes, then fails.
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 >= 10_000 {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "bad"));
                }
                let n = buf.len().min(10_000 - self.0);
                buf[..n].fill(b'x');
                self.0 += n;
                Ok(n)
            }
        }
        let mut s = Salvage::new(Failing(0));
        let mut buf = vec![0u8; 1 << 20];
        assert_eq!(s.read(&mut buf).unwrap(), 10_000);
        assert_eq!(s.read(&mut buf).unwrap_err().to_string(), "bad");
    }

    /// The paths a set's `openat` lines open, in the order the reader gives them.
    fn opened(set: &[LogFile]) -> Vec<String> {
        let mut r = LogReader::open(set).unwrap();
        let mut paths = Vec::new();
        while let Some(ev) = r.next_event().unwrap() {
            if let event::EventKind::Open { path, .. } = ev.kind {
                paths.push(path.lossy().into_owned());
            }
        }
        paths
    }

    #[test]
    fn a_large_ff_set_is_merged_by_time_within_a_low_open_file_limit() {
        use nix::sys::resource::{getrlimit, setrlimit, Resource};
        // More files than the soft limit allows open at once: the set
        // raises it (up to the hard limit) rather than failing.
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let files = 400u64;
        assert!(hard >= files + 64, "the test needs a hard limit above {files}");
        setrlimit(Resource::RLIMIT_NOFILE, 128, hard).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut set = Vec::new();
        for pid in 0..files {
            let path = dir.path().join(format!("t.{}", 1000 + pid));
            // Task k's lines are at seconds k and k + 400: all tasks'
            // first lines come before any second line.
            let body = format!(
                "10:00:{:02}.{:06} openat(AT_FDCWD, \"/a/{pid}\", O_RDONLY) = 3\n\
                 10:{:02}:{:02}.{:06} openat(AT_FDCWD, \"/b/{pid}\", O_RDONLY) = 3\n",
                pid / 100,
                pid % 100 * 10_000,
                (pid + 400) / 6000 + 1,
                (pid + 400) / 100 % 60,
                pid % 100 * 10_000,
            );
            std::fs::write(&path, body).unwrap();
            set.push(LogFile { path, pid: Some(1000 + pid as i32) });
        }
        let paths = opened(&set);
        assert_eq!(paths.len(), 2 * files as usize);
        let firsts: Vec<String> = (0..files).map(|p| format!("/a/{p}")).collect();
        assert_eq!(paths[..files as usize], firsts[..], "by time: every task's first call, in time order");
        assert!(paths[files as usize..].iter().all(|p| p.starts_with("/b/")));
    }

    /// Runs of lines from one file, ties between files, a file that ends
    /// mid-run: the merge gives time order, and the earlier file first on
    /// a tie, whether a line is taken from the heap or goes on a run.
    #[test]
    fn an_ff_set_is_merged_by_time_then_by_file_across_runs_and_ties() {
        let dir = tempfile::tempdir().unwrap();
        // (file, seconds of each line): runs in a, a tie between a and b at
        // 5, and c (tied with a at 2) ending in the middle of a's run.
        let files: [(&str, &[u32]); 3] = [("a", &[1, 2, 3, 4, 5, 9]), ("b", &[5, 6, 7, 8]), ("c", &[2, 3])];
        let mut set = Vec::new();
        for (i, (name, times)) in files.iter().enumerate() {
            let path = dir.path().join(format!("t.{}", 100 + i));
            let body: String = times
                .iter()
                .enumerate()
                .map(|(k, t)| format!("10:00:{t:02}.000000 openat(AT_FDCWD, \"/{name}/{k}\", O_RDONLY) = 3\n"))
                .collect();
            std::fs::write(&path, body).unwrap();
            set.push(LogFile { path, pid: Some(100 + i as i32) });
        }
        let paths = opened(&set);
        let want = ["/a/0", "/a/1", "/c/0", "/a/2", "/c/1", "/a/3", "/a/4", "/b/0", "/b/1", "/b/2", "/b/3", "/a/5"];
        assert_eq!(paths, want);
    }
}
