//! One strace output line: its prefix (pid, time, `-i`/`-n` columns) and
//! what kind of line it is (a call, a resumed call, an exit, a signal, a
//! hex dump or stack frame belonging to the previous call, ...).
//!
//! Pure functions on a byte slice; the stateful joining of split calls is
//! in [`super::parser`].

/// The columns strace prints before the call.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// From `1234 `, `[pid  1234] ` or `1234<comm> `; None when absent.
    pub pid: Option<i32>,
    /// From `-t`, `-tt`, `-ttt`, `-r` or `--timestamps=...,ns`.
    pub time_ns: Option<u64>,
}

/// What a line says, after its prefix.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// `name(args...` — `rest` starts after the `(`; the call is unfinished
    /// when `unfinished` is set (the ` <unfinished ...>` marker removed).
    /// `<pid changed to N ...>` (exec from a non-leader thread, in some
    /// strace versions) is unfinished too: it resumes under pid `new_pid`.
    Call { name: &'a [u8], rest: &'a [u8], unfinished: bool, new_pid: Option<i32> },
    /// `<... name resumed>rest` — `rest` continues the call's arguments.
    Resumed { name: &'a [u8], rest: &'a [u8] },
    /// `+++ exited with N +++`
    Exited { code: i32 },
    /// `+++ killed by SIGKILL (core dumped) +++`
    Killed { signal: &'a [u8], core_dumped: bool },
    /// `+++ superseded by execve in pid N +++`
    Superseded { by: i32 },
    /// `--- SIGCHLD {...} ---` or `--- stopped by SIGSTOP ---`
    Signal { signal: &'a [u8], stopped: bool },
    /// ` | 00000  47 45 54 ...  GET... |` (`-e write=`/`-e read=`)
    HexDump { data: &'a [u8] },
    /// ` * 29 bytes in buffer 0` (the header of one buffer's dump)
    BufferHeader,
    /// ` > /usr/lib/libc.so.6(open+0x1f) [0x...]` (`-k`)
    StackFrame,
    /// `[ Process PID=1234 runs in 32 bit mode. ]`: the task now makes its
    /// calls through another ABI (`32 bit`, `x32`, `64 bit`).
    Abi { mode: &'a [u8] },
    /// `strace: Process 1234 attached` and other notes from strace itself.
    StraceNote,
    /// An empty line.
    Blank,
    /// Anything else, with the reason it is not understood.
    Unknown(&'static str),
}

/// Splits a line (without its newline) into prefix and kind.
pub fn parse(line: &[u8]) -> (Prefix, Line<'_>) {
    match prefix(line) {
        Ok((prefix, rest)) => (prefix, classify(rest)),
        Err(done) => done,
    }
}

/// The time column of a line, as [`parse`] reads it, without reading the
/// rest: what merging a `-ff` set by time needs of every line.
pub fn time_of(line: &[u8]) -> Option<u64> {
    match prefix(line) {
        Ok((prefix, _)) | Err((prefix, _)) => prefix.time_ns,
    }
}

/// The prefix columns, and the rest of the line; or, for a line whose kind
/// its start already tells (blank, a continuation, a bad column), the line
/// read whole.
#[allow(clippy::result_large_err)]
#[inline(always)] // into `parse` as it was before being split out: +1% instructions otherwise
fn prefix(line: &[u8]) -> Result<(Prefix, &[u8]), (Prefix, Line<'_>)> {
    let mut prefix = Prefix::default();
    let trimmed = line.trim_ascii_start();
    if trimmed.is_empty() {
        return Err((prefix, Line::Blank));
    }
    // Continuation lines start with blanks and never carry a pid column.
    if trimmed.len() < line.len() || trimmed[0] == b'|' {
        match trimmed[0] {
            b'|' => return Err((prefix, Line::HexDump { data: trimmed })),
            b'>' => return Err((prefix, Line::StackFrame)),
            b'*' if trimmed.ends_with_any_buffer() => return Err((prefix, Line::BufferHeader)),
            _ => {}
        }
    }
    let mut s = trimmed;
    if let Some(rest) = s.strip_prefix(b"[pid ") {
        let Some(close) = memchr::memchr(b']', rest) else {
            return Err((prefix, Line::Unknown("unterminated [pid ...] prefix")));
        };
        prefix.pid = pid_with_comm(rest[..close].trim_ascii());
        if prefix.pid.is_none() {
            return Err((prefix, Line::Unknown("bad pid in [pid ...] prefix")));
        }
        s = rest[close + 1..].trim_ascii_start();
    } else if s[0].is_ascii_digit() {
        let digits = count(s, &DIGIT);
        match s.get(digits) {
            Some(b' ') => {
                prefix.pid = atoi(&s[..digits]);
                if prefix.pid.is_none() {
                    return Err((prefix, Line::Unknown("bad pid column")));
                }
                s = s[digits..].trim_ascii_start();
            }
            Some(b'<') => {
                // -Y: 1234<comm>; comm may hold spaces, so look for "> ".
                let Some(end) = memchr::memmem::find(&s[digits..], b"> ") else {
                    return Err((prefix, Line::Unknown("unterminated pid<comm> prefix")));
                };
                prefix.pid = atoi(&s[..digits]);
                s = s[digits + end + 2..].trim_ascii_start();
            }
            _ => {} // a timestamp without a pid column
        }
    }
    // Timestamp column: 12:00:00[.frac] or 1700000000[.frac] or (-r) 0.000123.
    if s.first().is_some_and(u8::is_ascii_digit) {
        // `-tt`'s `HH:MM:SS.uuuuuu ` is recognised by its shape.
        let tt = s.len() > 15 && s[2] == b':' && s[5] == b':' && s[8] == b'.' && s[15] == b' ';
        let len = if tt { 15 } else { count(s, &TIME) };
        match time_ns(&s[..len]) {
            Some(t) if s.get(len) == Some(&b' ') => {
                prefix.time_ns = Some(t);
                s = s[len..].trim_ascii_start();
            }
            _ => return Err((prefix, Line::Unknown("unrecognised column before the call"))),
        }
    }
    // -n ([ 257]) and -i ([00007f...]) columns.
    while s.first() == Some(&b'[') {
        let Some(close) = memchr::memchr(b']', s) else {
            break;
        };
        let inside = s[1..close].trim_ascii();
        // `????????????????` is -i's address when the task has none (exits).
        if !inside.iter().all(|c| c.is_ascii_hexdigit() || *c == b'?') || inside.is_empty() {
            break;
        }
        s = s[close + 1..].trim_ascii_start();
    }
    Ok((prefix, s))
}

/// Bytes of a number (`DIGIT`), of a time column (`TIME`), of a call's
/// name (`NAME`).
const fn byte_set(extra: &[u8], letters: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    if letters {
        let mut c = b'a';
        while c <= b'z' {
            t[c as usize] = true;
            t[(c - b'a' + b'A') as usize] = true;
            c += 1;
        }
    }
    let mut k = 0;
    while k < extra.len() {
        t[extra[k] as usize] = true;
        k += 1;
    }
    t
}
static DIGIT: [bool; 256] = byte_set(b"", false);
static TIME: [bool; 256] = byte_set(b".:", false);
static NAME: [bool; 256] = byte_set(b"_", true);

/// How many leading bytes of `s` are in `set`.
fn count(s: &[u8], set: &[bool; 256]) -> usize {
    s.iter().position(|&c| !set[c as usize]).unwrap_or(s.len())
}

fn classify(s: &[u8]) -> Line<'_> {
    let s = s.trim_ascii_end();
    if let Some(body) = s.strip_prefix(b"[ Process PID=").and_then(|b| b.strip_suffix(b" mode. ]")) {
        return match memchr::memmem::find(body, b" runs in ") {
            Some(at) => Line::Abi { mode: &body[at + b" runs in ".len()..] },
            None => Line::Unknown("unknown [ Process ] line"),
        };
    }
    if let Some(body) = s.strip_prefix(b"+++ ") {
        let body = body.strip_suffix(b" +++").unwrap_or(body);
        if let Some(code) = body.strip_prefix(b"exited with ") {
            return match atoi(code.trim_ascii()) {
                Some(code) => Line::Exited { code },
                None => Line::Unknown("bad exit code"),
            };
        }
        if let Some(sig) = body.strip_prefix(b"killed by ") {
            let core_dumped = sig.ends_with(b"(core dumped)");
            let signal = sig.split(|&c| c == b' ').next().unwrap_or(sig);
            return Line::Killed { signal, core_dumped };
        }
        if let Some(by) = body.strip_prefix(b"superseded by execve in pid ") {
            return match atoi(by.trim_ascii()) {
                Some(by) => Line::Superseded { by },
                None => Line::Unknown("bad pid in superseded line"),
            };
        }
        return Line::Unknown("unknown +++ line");
    }
    if let Some(body) = s.strip_prefix(b"--- ") {
        if let Some(sig) = body.strip_prefix(b"stopped by ") {
            let signal = sig.split(|&c| c == b' ').next().unwrap_or(sig);
            return Line::Signal { signal, stopped: true };
        }
        let signal = body.split(|&c| c == b' ').next().unwrap_or(body);
        if signal.starts_with(b"SIG") {
            return Line::Signal { signal, stopped: false };
        }
        return Line::Unknown("unknown --- line");
    }
    if let Some(body) = s.strip_prefix(b"<... ") {
        // `<... NAME resumed>`: looked for right after the name (a search
        // of the line for it cost more than the rest of reading the line).
        let name_len = count(body, &NAME);
        let end = if body[name_len..].starts_with(b" resumed>") {
            name_len
        } else {
            match memchr::memmem::find(body, b" resumed>") {
                Some(end) => end,
                None => return Line::Unknown("<... without resumed>"),
            }
        };
        return Line::Resumed { name: &body[..end], rest: &body[end + b" resumed>".len()..] };
    }
    let name_len = count(s, &NAME);
    // `strace: Process 12 attached`, or with strace's path as argv[0]
    // (looked for only when no call starts the line: the search for a colon
    // ran through every call's whole line).
    if s.get(name_len) != Some(&b'(') {
        if let Some(colon) = memchr::memchr(b':', s) {
            if s[..colon].ends_with(b"strace") && !s[..colon].contains(&b' ') {
                return Line::StraceNote;
            }
        }
    }
    if name_len == 0 {
        // `????(` is how strace names a call it cannot identify.
        if s.starts_with(b"????(") {
            return Line::Call { name: b"????", rest: &s[5..], unfinished: false, new_pid: None };
        }
        return Line::Unknown("not a system call line");
    }
    if s.get(name_len) != Some(&b'(') {
        return Line::Unknown("no '(' after the call name");
    }
    let rest = &s[name_len + 1..];
    let name = &s[..name_len];
    if let Some(head) = rest.strip_suffix(b"<unfinished ...>") {
        return Line::Call { name, rest: head, unfinished: true, new_pid: None };
    }
    if let Some(body) = rest.strip_suffix(b" ...>") {
        if let Some(pos) = memchr::memmem::rfind(body, b"<pid changed to ") {
            if let Some(pid) = atoi(&body[pos + b"<pid changed to ".len()..]) {
                return Line::Call { name, rest: &body[..pos], unfinished: true, new_pid: Some(pid) };
            }
        }
    }
    Line::Call { name, rest, unfinished: false, new_pid: None }
}

trait BufferHeaderExt {
    fn ends_with_any_buffer(&self) -> bool;
}
impl BufferHeaderExt for [u8] {
    fn ends_with_any_buffer(&self) -> bool {
        memchr::memmem::find(self, b" bytes in buffer ").is_some()
    }
}

fn pid_with_comm(s: &[u8]) -> Option<i32> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    atoi(&s[..digits])
}

/// A small decimal integer; None on overflow or no digits.
pub fn atoi(s: &[u8]) -> Option<i32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let (neg, s) = match s.strip_prefix(b"-") {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mut n: i64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    let n = if neg { -n } else { n };
    i32::try_from(n).ok()
}

/// Parses `HH:MM:SS[.frac]` (since midnight) or `SECONDS[.frac]`. On the
/// hot path: one pass, no allocation.
pub fn time_ns(s: &[u8]) -> Option<u64> {
    // `-tt`, the common case: `HH:MM:SS.uuuuuu`, read in place.
    if let &[h1, h2, b':', m1, m2, b':', s1, s2, b'.', u1, u2, u3, u4, u5, u6] = s {
        let d = [h1, h2, m1, m2, s1, s2, u1, u2, u3, u4, u5, u6].map(|c| u64::from(c.wrapping_sub(b'0')));
        if d.iter().all(|&v| v < 10) {
            let secs = (d[0] * 10 + d[1]) * 3600 + (d[2] * 10 + d[3]) * 60 + d[4] * 10 + d[5];
            let micros = d[6..].iter().fold(0, |n, &v| n * 10 + v);
            return Some(secs * 1_000_000_000 + micros * 1_000);
        }
    }
    let (whole, frac) = match memchr::memchr(b'.', s) {
        Some(p) => (&s[..p], &s[p + 1..]),
        None => (s, &b""[..]),
    };
    if frac.len() > 9 {
        return None;
    }
    let mut frac_ns: u64 = 0;
    for &c in frac {
        if !c.is_ascii_digit() {
            return None;
        }
        frac_ns = frac_ns * 10 + u64::from(c - b'0');
    }
    frac_ns *= 10u64.pow(9 - frac.len() as u32);
    let mut secs: u64 = 0;
    let mut part: u64 = 0;
    let mut digits = 0;
    let mut parts = 0;
    for &c in whole.iter().chain(std::iter::once(&b':')) {
        if c == b':' {
            if digits == 0 {
                return None;
            }
            secs = secs.checked_mul(60)?.checked_add(part)?;
            part = 0;
            digits = 0;
            parts += 1;
        } else if c.is_ascii_digit() && digits < 12 {
            part = part * 10 + u64::from(c - b'0');
            digits += 1;
        } else {
            return None;
        }
    }
    if parts != 1 && parts != 3 {
        return None;
    }
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `-tt` fast path gives what the general reading gives.
    #[test]
    fn clock_times_read_in_place_agree_with_the_general_reading() {
        assert_eq!(time_ns(b"08:36:08.409038"), Some((8 * 3600 + 36 * 60 + 8) * 1_000_000_000 + 409_038_000));
        assert_eq!(time_ns(b"23:59:59.999999"), time_ns(b"23:59:59.999999000"));
        assert_eq!(time_ns(b"00:00:01.000001"), time_ns(b"0:0:1.000001"));
        assert_eq!(time_ns(b"08:36:0x.409038"), None);
        assert_eq!(time_ns(b"08:36:08.40903x"), None);
    }

    fn call(line: &[u8]) -> (Prefix, Vec<u8>, bool) {
        match parse(line) {
            (p, Line::Call { name, unfinished, .. }) => (p, name.to_vec(), unfinished),
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn pid_columns() {
        assert_eq!(call(b"1234  openat(AT_FDCWD, \"/x\", O_RDONLY) = 3").0.pid, Some(1234));
        assert_eq!(call(b"[pid  1234] openat(AT_FDCWD, \"/x\", O_RDONLY) = 3").0.pid, Some(1234));
        assert_eq!(call(b"[pid 99<node main> ] read(3, \"\", 1) = 0").0.pid, Some(99));
        assert_eq!(call(b"1234<npm install> openat(AT_FDCWD, \"/x\", O_RDONLY) = 3").0.pid, Some(1234));
        assert_eq!(call(b"openat(AT_FDCWD, \"/x\", O_RDONLY) = 3").0.pid, None);
    }

    #[test]
    fn timestamps() {
        let (p, name, _) = call(b"1234  12:00:01 openat(AT_FDCWD, \"/x\", O_RDONLY) = 3");
        assert_eq!((p.pid, p.time_ns, name.as_slice()), (Some(1234), Some(43_201_000_000_000), &b"openat"[..]));
        assert_eq!(call(b"12:00:01.000002 close(3) = 0").0.time_ns, Some(43_201_000_002_000));
        assert_eq!(call(b"1700000000.123456789 close(3) = 0").0.time_ns, Some(1_700_000_000_123_456_789));
        let (p, _, _) = call(b"     0.000123 close(3) = 0");
        assert_eq!(p.time_ns, Some(123_000));
        let (p, _, _) = call(b"77    0.000123 close(3) = 0");
        assert_eq!((p.pid, p.time_ns), (Some(77), Some(123_000)));
    }

    #[test]
    fn syscall_number_and_ip_columns() {
        let (p, name, _) = call(b"1234  [  257] [00007f0c8e3d1b7b] openat(AT_FDCWD, \"/x\", O_RDONLY) = 3");
        assert_eq!((p.pid, name.as_slice()), (Some(1234), &b"openat"[..]));
    }

    #[test]
    fn unfinished_and_resumed() {
        let (_, name, unfinished) = call(b"3225  vfork( <unfinished ...>");
        assert_eq!((name.as_slice(), unfinished), (&b"vfork"[..], true));
        let (p, line) = parse(b"3225  <... vfork resumed>) = 3226");
        assert_eq!(p.pid, Some(3225));
        assert_eq!(line, Line::Resumed { name: b"vfork", rest: b") = 3226" });
    }

    #[test]
    fn pid_changed_marks_an_unfinished_exec() {
        let (p, line) = parse(b"3322 execve(\"/bin/true\", [\"true\"], 0x1 /* 1 var */ <pid changed to 3321 ...>");
        assert_eq!(p.pid, Some(3322));
        assert!(matches!(line, Line::Call { unfinished: true, new_pid: Some(3321), .. }), "{line:?}");
    }

    #[test]
    fn exits_signals_and_notes() {
        assert_eq!(parse(b"12 +++ exited with 3 +++").1, Line::Exited { code: 3 });
        assert_eq!(
            parse(b"12 +++ killed by SIGSEGV (core dumped) +++").1,
            Line::Killed { signal: b"SIGSEGV", core_dumped: true }
        );
        assert_eq!(parse(b"3321 +++ superseded by execve in pid 3322 +++").1, Line::Superseded { by: 3322 });
        assert_eq!(
            parse(b"12 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---").1,
            Line::Signal { signal: b"SIGCHLD", stopped: false }
        );
        assert_eq!(parse(b"12 --- stopped by SIGSTOP ---").1, Line::Signal { signal: b"SIGSTOP", stopped: true });
        assert_eq!(parse(b"strace: Process 12 attached").1, Line::StraceNote);
        assert_eq!(parse(b"1234  [ Process PID=1234 runs in 32 bit mode. ]").1, Line::Abi { mode: b"32 bit" });
        assert_eq!(parse(b"[ Process PID=7 runs in x32 mode. ]").1, Line::Abi { mode: b"x32" });
        assert_eq!(parse(b"/usr/bin/strace: Process 509 attached").1, Line::StraceNote);
        assert!(matches!(parse(b"800   [????????????????] +++ exited with 0 +++").1, Line::Exited { code: 0 }));
        assert_eq!(parse(b" | 00000  47 45 54  GET |").1, Line::HexDump { data: b"| 00000  47 45 54  GET |" });
        assert_eq!(parse(b" * 29 bytes in buffer 0").1, Line::BufferHeader);
        assert_eq!(parse(b" > /usr/lib/libc.so.6(open+0x1f) [0x10]").1, Line::StackFrame);
    }

    #[test]
    fn garbage_is_unknown_not_a_panic() {
        for s in [&b"hello world"[..], b"123", b"[pid", b"[pid x] a(", b"12:00 x", b"99999999999999999999 a()", b"1<"] {
            let (_, line) = parse(s);
            assert!(matches!(line, Line::Unknown(_)), "{:?} -> {line:?}", String::from_utf8_lossy(s));
        }
    }
}
