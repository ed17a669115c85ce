//! The stateful part of reading a strace log: joining `<unfinished ...>`
//! calls with their `<... resumed>` ends across interleaved pids, attaching
//! `-e write=` hex dumps to their call, following exec from a non-leader
//! thread, and turning every line into zero or more [`Event`]s.
//!
//! The parser holds at most one pending call per task and one event waiting
//! for its hex dump, so its memory does not grow with the log.

// A fast hash seeded per run (the keys are paths and pids from the log:
// seeded, a log cannot be made to collide), not SipHash: hashing was 7%
// of the instructions of analyzing a real log.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::Arc;

pub use event::ParseStats;
use event::{Event, EventKind, Origin, SysResult};

use super::decode::{self, Interest};
use super::line::{self, Line};

/// How many unparsed lines per parser are warned about individually.
const MAX_WARNINGS: u64 = 20;

/// A call whose start was printed with `<unfinished ...>`.
struct Pending {
    name: Vec<u8>,
    /// The arguments printed so far (after `name(`).
    text: Vec<u8>,
    time_ns: Option<u64>,
}

/// Turns strace lines into events. Feed it lines in log order with
/// [`Parser::feed`], then call [`Parser::finish`].
/// How strace names the ABI of a 64-bit machine's own programs.
const NATIVE_ABI: &[u8] = b"64 bit";

pub struct Parser {
    pending: HashMap<i32, Pending>,
    /// leader pid → the thread whose execve superseded it.
    superseded: HashMap<i32, i32>,
    /// A send waiting for the hex-dump lines that may follow it.
    held: Option<Event>,
    dump: Vec<u8>,
    seq: u64,
    stats: ParseStats,
    /// Lines without a pid column were seen (strace writing to stderr
    /// before a second task existed): they belong to the first task, whose
    /// pid shows up only later; `alias` is that pid once known.
    unprefixed_seen: bool,
    alias: Option<i32>,
    children: HashSet<i32>,
    /// Tasks whose unfinished call was skipped on purpose (a write to a
    /// file): their `resumed` line is expected and ignored.
    skipped: HashSet<i32>,
    joined: Vec<u8>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    pub fn new() -> Parser {
        Parser {
            pending: HashMap::new(),
            superseded: HashMap::new(),
            held: None,
            dump: Vec::new(),
            seq: 0,
            stats: ParseStats::default(),
            unprefixed_seen: false,
            alias: None,
            children: HashSet::new(),
            skipped: HashSet::new(),
            joined: Vec::new(),
        }
    }

    pub fn stats(&self) -> &ParseStats {
        &self.stats
    }

    /// Reads one line (without its newline). `pid_hint` is the pid for lines
    /// without a pid column: the suffix of a `-ff` file, or None (then 0).
    pub fn feed(&mut self, file: &Arc<str>, line_no: u64, pid_hint: Option<i32>, text: &[u8], out: &mut Vec<Event>) {
        self.stats.lines += 1;
        let (prefix, kind) = line::parse(text);
        match kind {
            Line::HexDump { data } => {
                if self.held.is_some() {
                    hex_dump_bytes(data, &mut self.dump);
                }
                return;
            }
            Line::BufferHeader | Line::StackFrame | Line::Blank | Line::StraceNote => return,
            _ => {}
        }
        self.release_held(out);
        let origin = || Origin::Log { file: file.clone(), line: line_no };
        // A line not understood says nothing about which task printed it:
        // it must not teach the parser the first task's pid.
        let pid = match kind {
            Line::Unknown(_) => prefix.pid.or(pid_hint).unwrap_or(0),
            _ => self.pid_of(prefix.pid, pid_hint),
        };
        match kind {
            Line::Call { name, rest, unfinished, new_pid } => {
                self.stats.calls += 1;
                let Some(interest) = decode::interest(name) else {
                    return;
                };
                if interest == Interest::Send && name == b"write" && decode::is_plain_file_write(rest) {
                    if unfinished {
                        self.skipped.insert(pid);
                    }
                    return;
                }
                if let Some(leader) = new_pid {
                    // The call resumes under the leader's pid.
                    self.superseded.insert(leader, pid);
                }
                if unfinished {
                    let call = Pending { name: name.to_vec(), text: rest.to_vec(), time_ns: prefix.time_ns };
                    if let Some(old) = self.pending.insert(pid, call) {
                        self.flush_pending(pid, old, origin(), out);
                    }
                    return;
                }
                self.complete(pid, prefix.time_ns, origin(), interest, name, rest, text, out);
            }
            Line::Resumed { name, rest } => {
                self.stats.calls += 1;
                let Some(interest) = decode::interest(name) else {
                    return;
                };
                // Exec from a thread: the start is under the thread's pid,
                // the end under the leader's.
                let start = match self.pending.remove(&pid) {
                    Some(p) => Some(p),
                    None => self.superseded.get(&pid).and_then(|tid| self.pending.remove(tid)),
                };
                match start {
                    Some(p) if p.name == name => {
                        let mut joined = std::mem::take(&mut self.joined);
                        joined.clear();
                        joined.extend_from_slice(&p.text);
                        joined.extend_from_slice(rest);
                        self.complete(pid, p.time_ns.or(prefix.time_ns), origin(), interest, name, &joined, text, out);
                        self.joined = joined;
                    }
                    None if self.skipped.remove(&pid) => {}
                    other => {
                        if let Some(p) = other {
                            self.flush_pending(pid, p, origin(), out);
                        }
                        self.unparsed(pid, origin(), text, "resumed call whose start is not in the log", out);
                    }
                }
            }
            Line::Exited { code } => {
                self.end_task(pid, origin(), out);
                let kind = EventKind::Exit { code: Some(code), signal: None, core_dumped: false };
                self.emit(pid, prefix.time_ns, None, origin(), kind, out);
            }
            Line::Killed { signal, core_dumped } => {
                self.end_task(pid, origin(), out);
                let signal = Some(String::from_utf8_lossy(signal).into_owned());
                self.emit(
                    pid,
                    prefix.time_ns,
                    None,
                    origin(),
                    EventKind::Exit { code: None, signal, core_dumped },
                    out,
                );
            }
            Line::Superseded { by } => {
                self.superseded.insert(pid, by);
                self.emit(pid, prefix.time_ns, None, origin(), EventKind::Superseded { by }, out);
            }
            Line::Signal { signal, stopped } => {
                let signal = String::from_utf8_lossy(signal).into_owned();
                self.emit(pid, prefix.time_ns, None, origin(), EventKind::Signal { signal, stopped }, out);
            }
            // Calls through another ABI than the machine's own (a 64-bit
            // process running 32-bit code): what a live run reports as
            // foreign_abi calls. strace decodes them with the right names.
            Line::Abi { mode } if mode != NATIVE_ABI => {
                let args = format!("{} mode", String::from_utf8_lossy(mode));
                let kind = EventKind::Other { syscall: "foreign_abi".into(), args, result: SysResult::unknown() };
                self.emit(pid, prefix.time_ns, None, origin(), kind, out);
            }
            Line::Abi { .. } => {}
            Line::Unknown(reason) => self.unparsed(pid, origin(), text, reason, out),
            Line::HexDump { .. } | Line::BufferHeader | Line::StackFrame | Line::Blank | Line::StraceNote => {}
        }
    }

    /// Ends the stream: calls still unfinished are emitted with an unknown
    /// result (the log ended, or the task died, before they returned).
    pub fn finish(&mut self, file: &Arc<str>, last_line: u64, out: &mut Vec<Event>) {
        self.release_held(out);
        let mut pids: Vec<i32> = self.pending.keys().copied().collect();
        pids.sort_unstable();
        for pid in pids {
            if let Some(p) = self.pending.remove(&pid) {
                self.flush_pending(pid, p, Origin::Log { file: file.clone(), line: last_line }, out);
            }
        }
    }

    fn pid_of(&mut self, column: Option<i32>, hint: Option<i32>) -> i32 {
        let Some(pid) = column else {
            self.unprefixed_seen = true;
            return hint.unwrap_or(0);
        };
        if self.unprefixed_seen && self.alias.is_none() && hint.is_none() {
            let root_spawning =
                self.pending.get(&0).is_some_and(|p| decode::interest(&p.name) == Some(Interest::Spawn));
            if !self.children.contains(&pid) && !root_spawning {
                self.alias = Some(pid);
            }
        }
        if self.alias == Some(pid) {
            0
        } else {
            pid
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn complete(
        &mut self,
        pid: i32,
        time_ns: Option<u64>,
        origin: Origin,
        interest: Interest,
        name: &[u8],
        rest: &[u8],
        line_text: &[u8],
        out: &mut Vec<Event>,
    ) {
        match decode::decode(interest, name, rest) {
            Ok(Some((kind, ret))) => {
                if let EventKind::Spawn { child, .. } = kind {
                    self.children.insert(child);
                }
                let hold = matches!(kind, EventKind::Send { .. });
                let ev = self.make(pid, time_ns, ret.duration_ns, origin, kind);
                if hold {
                    self.held = Some(ev);
                    self.dump.clear();
                } else {
                    out.push(ev);
                }
            }
            Ok(None) => {}
            Err(reason) => self.unparsed(pid, origin, line_text, reason, out),
        }
    }

    /// A task ended: its unfinished call will never return.
    fn end_task(&mut self, pid: i32, origin: Origin, out: &mut Vec<Event>) {
        if let Some(p) = self.pending.remove(&pid) {
            self.flush_pending(pid, p, origin, out);
        }
    }

    fn flush_pending(&mut self, pid: i32, p: Pending, origin: Origin, out: &mut Vec<Event>) {
        let Some(interest) = decode::interest(&p.name) else {
            return;
        };
        let mut text = p.text;
        // Close every bracket the cut-off arguments left open, then `) = ?`.
        let (_, end) = super::value::split_top(&text);
        if end < text.len() {
            text.truncate(end);
        }
        text.extend_from_slice(b") = ?");
        if let Ok(Some((kind, ret))) = decode::decode(interest, &p.name, &text) {
            let ev = self.make(pid, p.time_ns, ret.duration_ns, origin, kind);
            out.push(ev);
        }
    }

    fn unparsed(&mut self, pid: i32, origin: Origin, text: &[u8], reason: &str, out: &mut Vec<Event>) {
        self.stats.unparsed += 1;
        if self.stats.unparsed <= MAX_WARNINGS {
            tracing::warn!("{origin}: unparsed strace line: {reason}");
        } else if self.stats.unparsed == MAX_WARNINGS + 1 {
            tracing::warn!("{origin}: more unparsed lines follow; see stats.unparsed");
        }
        const MAX_TEXT: usize = 512;
        let text = text[..text.len().min(MAX_TEXT)].to_vec().into();
        let kind = EventKind::Unparsed { text, reason: reason.to_string() };
        let ev = self.make(pid, None, None, origin, kind);
        out.push(ev);
    }

    fn emit(
        &mut self,
        pid: i32,
        time_ns: Option<u64>,
        dur: Option<u64>,
        origin: Origin,
        kind: EventKind,
        out: &mut Vec<Event>,
    ) {
        let ev = self.make(pid, time_ns, dur, origin, kind);
        out.push(ev);
    }

    fn make(
        &mut self,
        pid: i32,
        time_ns: Option<u64>,
        duration_ns: Option<u64>,
        origin: Origin,
        kind: EventKind,
    ) -> Event {
        let seq = self.seq;
        self.seq += 1;
        self.stats.events += 1;
        Event { seq, pid, time_ns, duration_ns, origin, kind }
    }

    /// Emits the held send, with the full buffer from its hex dump if one
    /// followed (the dump is complete even when `-s` cut the string).
    fn release_held(&mut self, out: &mut Vec<Event>) {
        let Some(mut ev) = self.held.take() else {
            return;
        };
        if !self.dump.is_empty() {
            if let EventKind::Send { data, .. } = &mut ev.kind {
                if let [one] = data.as_mut_slice() {
                    if self.dump.len() >= one.bytes.len() {
                        one.bytes = std::mem::take(&mut self.dump).into();
                        one.truncated = one.len.is_some_and(|l| l > one.bytes.len() as u64);
                    }
                }
            }
            self.dump.clear();
        }
        out.push(ev);
    }
}

/// The bytes of one ` | 00000  47 45 54 ...  GET... |` line. strace prints
/// the offset, two blanks, then a 49-column hex area, then the text.
fn hex_dump_bytes(data: &[u8], out: &mut Vec<u8>) {
    const HEX_START: usize = 9; // "| " + 5 offset digits + 2 blanks
    let Some(area) = data.get(HEX_START..(HEX_START + 49).min(data.len())) else {
        return;
    };
    for tok in area.split(|&c| c == b' ').filter(|t| !t.is_empty()) {
        let Ok(s) = std::str::from_utf8(tok) else {
            return;
        };
        match u8::from_str_radix(s, 16) {
            Ok(b) if tok.len() == 2 => out.push(b),
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::SysResult;

    fn run(lines: &[&str]) -> (Vec<Event>, ParseStats) {
        let mut p = Parser::new();
        let file: Arc<str> = Arc::from("t.log");
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            p.feed(&file, i as u64 + 1, None, l.as_bytes(), &mut out);
        }
        p.finish(&file, lines.len() as u64, &mut out);
        (out, p.stats().clone())
    }

    #[test]
    fn joins_unfinished_and_resumed_across_pids() {
        let (ev, stats) = run(&[
            "100 openat(AT_FDCWD, \"/etc/a\", O_RDONLY <unfinished ...>",
            "101 openat(AT_FDCWD, \"/etc/b\", O_RDONLY) = 4",
            "100 <... openat resumed>) = -1 ENOENT (No such file or directory)",
        ]);
        assert_eq!(stats.unparsed, 0);
        assert_eq!(ev.len(), 2);
        assert_eq!((ev[0].pid, ev[1].pid), (101, 100));
        let EventKind::Open { path, result, .. } = &ev[1].kind else { panic!() };
        assert_eq!(path.as_slice(), b"/etc/a");
        assert_eq!(result.errno.as_deref(), Some("ENOENT"));
        assert_eq!(ev[1].origin, Origin::Log { file: "t.log".into(), line: 3 });
    }

    #[test]
    fn exec_from_thread_resumes_under_leader() {
        let (ev, _) = run(&[
            "3322 execve(\"/bin/true\", [\"true\"], 0x7f /* 1 var */ <unfinished ...>",
            "3321 +++ superseded by execve in pid 3322 +++",
            "3321 <... execve resumed>) = 0",
        ]);
        assert!(matches!(ev[0].kind, EventKind::Superseded { by: 3322 }));
        assert_eq!(ev[1].pid, 3321);
        let EventKind::Exec { result, .. } = &ev[1].kind else { panic!() };
        assert_eq!(*result, SysResult::ok(0));
    }

    #[test]
    fn exec_from_thread_with_pid_changed_marker() {
        let (ev, stats) = run(&[
            "3322 execve(\"/bin/true\", [\"true\"], 0x7f /* 1 var */ <pid changed to 3321 ...>",
            "3321 <... execve resumed>) = 0",
        ]);
        assert_eq!(stats.unparsed, 0);
        assert_eq!(ev[0].pid, 3321);
        assert!(matches!(&ev[0].kind, EventKind::Exec { result, .. } if result.success()));
    }

    #[test]
    fn killed_during_a_call_gives_unknown_result() {
        let (ev, _) = run(&[
            "7 connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"1.2.3.4\")}, 16 <unfinished ...>",
            "7 +++ killed by SIGKILL +++",
        ]);
        let EventKind::Connect { result, .. } = &ev[0].kind else { panic!("{:?}", ev[0]) };
        assert_eq!(*result, SysResult::unknown());
        assert!(matches!(&ev[1].kind, EventKind::Exit { signal: Some(s), .. } if s == "SIGKILL"));
    }

    #[test]
    fn hex_dump_replaces_a_cut_string() {
        let (ev, _) = run(&[
            "5 sendto(3, \"GET\"..., 8, 0, NULL, 0) = 8",
            " | 00000  47 45 54 20 2f 20 48 54                           GET / HT         |",
            "5 close(3) = 0",
        ]);
        let EventKind::Send { data, .. } = &ev[0].kind else { panic!() };
        assert_eq!(data[0].bytes.as_slice(), b"GET / HT");
        assert!(!data[0].truncated);
        assert!(matches!(ev[1].kind, EventKind::Close { .. }));
    }

    #[test]
    fn stderr_mode_root_pid_is_learnt() {
        let (ev, _) = run(&[
            "clone(child_stack=NULL, flags=SIGCHLD) = 51",
            "[pid    51] execve(\"/bin/true\", [\"true\"], 0x1 /* 1 var */) = 0",
            "[pid    50] close(3) = 0",
        ]);
        assert_eq!(ev[0].pid, 0);
        assert_eq!(ev[1].pid, 51);
        assert_eq!(ev[2].pid, 0, "the first task keeps one identity");
    }

    #[test]
    fn a_garbage_line_does_not_change_pids() {
        let (ev, _) = run(&["100 close(3) = 0", "garbage", "100 close(4) = 0"]);
        assert_eq!(ev.iter().map(|e| e.pid).collect::<Vec<_>>(), vec![100, 0, 100]);
    }

    #[test]
    fn garbage_becomes_unparsed_events_and_the_run_goes_on() {
        let (ev, stats) = run(&["\u{1}\u{2}garbage", "9 close(3) = 0", "9 openat(AT_FDCWD, \"/x\""]);
        assert_eq!(stats.unparsed, 2);
        assert!(matches!(ev[0].kind, EventKind::Unparsed { .. }));
        assert!(matches!(ev[1].kind, EventKind::Close { .. }));
    }
}
