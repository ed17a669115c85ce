//! Finding the logs in a path the user named, and reading any of them as
//! one kind of event stream.
//!
//! A path is a strace log, a recorded event stream (JSON Lines), or a
//! directory holding either, or `-ff` per-task files (`prefix.PID`), which
//! together form one log.

use std::collections::BTreeMap;
use std::fs;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::jsonl::EventsReader;
use crate::strace::{LogFile, LogReader, ParseStats};
use crate::SourceError;
use event::Event;

/// One log found under a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A strace log: one file, or the files of one `-ff` run.
    Strace(Vec<LogFile>),
    /// A recorded event stream.
    Events(PathBuf),
}

impl Input {
    /// A short name for messages: the file, or the `-ff` prefix.
    pub fn display_name(&self) -> String {
        match self {
            Input::Strace(files) if files.len() == 1 => files[0].path.display().to_string(),
            Input::Strace(files) => {
                let first = files.first().map(|f| f.path.display().to_string()).unwrap_or_default();
                match first.rfind('.') {
                    Some(dot) => format!("{}.*", &first[..dot]),
                    None => first,
                }
            }
            Input::Events(path) => path.display().to_string(),
        }
    }
}

/// The logs a path names, in a stable order.
pub fn discover(path: &Path) -> Result<Vec<Input>, SourceError> {
    let io_err = |source| SourceError::Io { path: path.display().to_string(), cause: source };
    let meta = fs::metadata(path).map_err(io_err)?;
    if !meta.is_dir() {
        return Ok(vec![classify_file(path)?]);
    }
    let mut names: Vec<PathBuf> = fs::read_dir(path)
        .map_err(io_err)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut sets: BTreeMap<String, Vec<LogFile>> = BTreeMap::new();
    let mut out = Vec::new();
    for p in names {
        match per_task_name(&p) {
            Some((prefix, pid)) => sets.entry(prefix).or_default().push(LogFile { path: p, pid: Some(pid) }),
            None => match classify_file(&p)? {
                // Inside a directory, only files that look like logs count
                // (a README or a program's saved output sits beside them);
                // a file named on the command line is always read.
                Input::Strace(_) if !looks_like_strace(&p)? => {
                    tracing::warn!("{}: skipped, not a strace log or event stream", p.display());
                }
                input => out.push(input),
            },
        }
    }
    for (_, mut files) in sets {
        files.sort_by_key(|f| f.pid);
        out.push(Input::Strace(files));
    }
    if out.is_empty() {
        return Err(SourceError::Empty { path: path.display().to_string() });
    }
    Ok(out)
}

/// `prefix.1234`, `prefix.1234.gz`, `prefix.1234.zst` → (prefix, 1234).
fn per_task_name(p: &Path) -> Option<(String, i32)> {
    let name = p.file_name()?.to_str()?;
    let name = name.strip_suffix(".gz").or_else(|| name.strip_suffix(".zst")).unwrap_or(name);
    let (prefix, pid) = name.rsplit_once('.')?;
    if prefix.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((prefix.to_string(), pid.parse().ok()?))
}

fn classify_file(p: &Path) -> Result<Input, SourceError> {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name.contains(".jsonl") {
        return Ok(Input::Events(p.to_path_buf()));
    }
    // Sniff: an event stream starts with a JSON object.
    let mut r = crate::strace::reader::open_maybe_compressed(p)?;
    let head = r.fill_buf().map_err(|source| SourceError::Io { path: p.display().to_string(), cause: source })?;
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return Ok(Input::Events(p.to_path_buf()));
    }
    Ok(Input::Strace(vec![LogFile { path: p.to_path_buf(), pid: None }]))
}

/// Does the file's first non-blank line read as strace output?
fn looks_like_strace(p: &Path) -> Result<bool, SourceError> {
    let mut r = crate::strace::reader::open_maybe_compressed(p)?;
    let mut buf = Vec::new();
    for _ in 0..8 {
        match crate::strace::reader::read_line(&mut *r, &mut buf) {
            Ok(Some(_)) if buf.trim_ascii().is_empty() => continue,
            Ok(Some(_)) => {
                use crate::strace::line::{parse, Line};
                return Ok(!matches!(parse(&buf).1, Line::Unknown(_) | Line::HexDump { .. }));
            }
            Ok(None) => return Ok(false),
            Err(source) => return Err(SourceError::Io { path: p.display().to_string(), cause: source }),
        }
    }
    Ok(false)
}

/// Any input, read as events.
pub enum EventSource {
    Strace(Box<LogReader>),
    Events(Box<EventsReader>),
}

impl EventSource {
    pub fn open(input: &Input) -> Result<EventSource, SourceError> {
        Ok(match input {
            Input::Strace(files) => EventSource::Strace(Box::new(LogReader::open(files)?)),
            Input::Events(path) => EventSource::Events(Box::new(crate::jsonl::open(path)?)),
        })
    }

    pub fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        match self {
            EventSource::Strace(r) => r.next_event(),
            EventSource::Events(r) => r.next_event(),
        }
    }

    /// Reads on until `batch` holds at least `max` events or the source
    /// ends; false once it has ended.
    pub fn fill(&mut self, batch: &mut Vec<Event>, max: usize) -> Result<bool, SourceError> {
        match self {
            EventSource::Strace(r) => r.fill(batch, max),
            EventSource::Events(r) => {
                while batch.len() < max {
                    match r.next_event()? {
                        Some(ev) => batch.push(ev),
                        None => return Ok(false),
                    }
                }
                Ok(true)
            }
        }
    }

    /// How the recorded live run ended, for streams that say.
    pub fn run(&self) -> Option<crate::ptrace::Outcome> {
        match self {
            EventSource::Strace(_) => None,
            EventSource::Events(r) => r.run().cloned(),
        }
    }

    /// What reading the source cost and found: for a recorded stream, the
    /// figures of the log it was recorded from.
    pub fn stats(&self) -> ParseStats {
        match self {
            EventSource::Strace(r) => r.stats(),
            EventSource::Events(r) => r.stats(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_task_names() {
        assert_eq!(per_task_name(Path::new("/d/trace.123")), Some(("trace".into(), 123)));
        assert_eq!(per_task_name(Path::new("/d/trace.log.9.zst")), Some(("trace.log".into(), 9)));
        assert_eq!(per_task_name(Path::new("/d/trace.log")), None);
        assert_eq!(per_task_name(Path::new("/d/.123")), None);
    }
}
