//! Reading the tracee's memory: strings, buffers, pointer arrays.
//!
//! `process_vm_readv` reads a whole range in one call, but fails on the
//! first unmapped page; strings are therefore read page by page so a NUL on
//! this page is found even when the next page is unmapped. When
//! process_vm_readv is refused altogether, PTRACE_PEEKDATA reads word by
//! word. A read that fails yields what was read, never a lost event.

use std::borrow::Cow;
use std::io::{IoSlice, IoSliceMut};

use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;

use event::BytesList;

use super::sys;

const PAGE: u64 = 4096;
/// Longest path or argument read (PATH_MAX).
pub const MAX_STR: usize = 4096;
/// Most argv/envp entries read.
pub const MAX_ARGS: usize = 4096;
/// Bytes [`string`] reads at first.
const FIRST_READ: usize = 256;
/// Payload bytes kept per send (enough for a DNS query or a request line).
pub const MAX_PAYLOAD: usize = 512;

/// Reads up to `len` bytes at `addr`; returns what could be read.
pub fn read(pid: i32, addr: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    if len == 0 || addr == 0 {
        return Vec::new();
    }
    let n = read_into(pid, addr, &mut out);
    out.truncate(n);
    out
}

fn read_into(pid: i32, addr: u64, buf: &mut [u8]) -> usize {
    let remote = [RemoteIoVec { base: addr as usize, len: buf.len() }];
    match process_vm_readv(Pid::from_raw(pid), &mut [IoSliceMut::new(buf)], &remote) {
        Ok(n) if n == buf.len() => n,
        // A partial read stops at the first page it could not read (the
        // end of the stack, above exec's strings): keep it, and try on from
        // there page by page (one more call, which normally fails at once).
        Ok(n) if n > 0 => n + read_pages(pid, addr + n as u64, &mut buf[n..]),
        // Nothing at all: the first page may still be partly readable.
        Ok(_) | Err(nix::Error::EFAULT) => read_pages(pid, addr, buf),
        Err(_) => peek_into(pid, addr, buf),
    }
}

fn read_pages(pid: i32, addr: u64, buf: &mut [u8]) -> usize {
    let mut done = 0;
    while done < buf.len() {
        let at = addr + done as u64;
        let chunk = ((PAGE - at % PAGE) as usize).min(buf.len() - done);
        let remote = [RemoteIoVec { base: at as usize, len: chunk }];
        match process_vm_readv(Pid::from_raw(pid), &mut [IoSliceMut::new(&mut buf[done..done + chunk])], &remote) {
            Ok(n) if n > 0 => done += n,
            _ => break,
        }
    }
    done
}

fn peek_into(pid: i32, addr: u64, buf: &mut [u8]) -> usize {
    let mut done = 0;
    while done < buf.len() {
        let Ok(word) = sys::peek(pid, addr + done as u64) else { break };
        let bytes = word.to_ne_bytes();
        let n = bytes.len().min(buf.len() - done);
        buf[done..done + n].copy_from_slice(&bytes[..n]);
        done += n;
    }
    done
}

/// A NUL-terminated string at `addr` (None for a NULL pointer), and whether
/// it was cut at `max`.
pub fn string(pid: i32, addr: u64, max: usize) -> Option<(Vec<u8>, bool)> {
    if addr == 0 {
        return None;
    }
    // Most paths and arguments are short: a first small read (up to the
    // end of the page, so it cannot fail for want of the next one) finds
    // their NUL without copying a whole page out of the tracee.
    let mut first = [0u8; FIRST_READ];
    let len = ((PAGE - addr % PAGE) as usize).min(FIRST_READ).min(max);
    let n = read_into(pid, addr, &mut first[..len]);
    if let Some(nul) = memchr::memchr(0, &first[..n]) {
        return Some((first[..nul].to_vec(), false));
    }
    let mut out = first[..n].to_vec();
    if n < len || out.len() >= max {
        return Some((out, true));
    }
    let mut at = addr + n as u64;
    while out.len() < max {
        let chunk = ((PAGE - at % PAGE) as usize).min(max - out.len());
        let mut buf = vec![0u8; chunk];
        let n = read_into(pid, at, &mut buf);
        if let Some(nul) = memchr::memchr(0, &buf[..n]) {
            out.extend_from_slice(&buf[..nul]);
            return Some((out, false));
        }
        out.extend_from_slice(&buf[..n]);
        if n < chunk {
            // Unreadable memory before any NUL: keep what there is.
            return Some((out, true));
        }
        at += n as u64;
    }
    Some((out, true))
}

/// What `execve` is given at its entry: the path (None for a NULL pointer)
/// and argv with whether it was cut, in two `process_vm_readv` calls in the
/// common case: the start of the argv array, then the path and every
/// string together ([`strings`]). The environment is read from the new
/// stack once the exec has happened ([`stack_exec`]), or with
/// [`string_array`] when it failed.
pub fn exec_args(pid: i32, path_at: u64, argv_at: u64) -> ExecArgs {
    let (argv_ptrs, argv_ended) = pointers(pid, argv_at);
    let mut all = Vec::with_capacity(1 + argv_ptrs.len());
    all.push(path_at);
    all.extend_from_slice(&argv_ptrs);
    let mut got = strings(pid, &all).into_iter();
    let path = got.next().flatten().map(|(s, _)| s);
    ExecArgs { path, argv: collect(got, argv_ended) }
}

/// The strings of the NULL-terminated array at `at` (an argv or envp), and
/// whether it was cut; a NULL array is empty, as execve takes it.
pub fn string_array(pid: i32, at: u64) -> (Vec<Vec<u8>>, bool) {
    let (ptrs, ended) = pointers(pid, at);
    collect(strings(pid, &ptrs), ended)
}

/// What a program was just started with, read from its new stack at the
/// exec stop (`sp`: its stack pointer then): what the kernel copied, as
/// opposed to what the caller's memory held at the execve entry, which
/// another of its threads may change in between (the kernel copies the
/// strings after the entry stop). None when nothing can be read at `sp`.
///
/// It is also cheaper. At the entry the strings lie wherever the caller
/// kept them (a shell builds a child's environment from its own variables,
/// scattered over its heap); by the exec stop the kernel has laid out argc,
/// the argv and envp pointers and the auxiliary vector at `sp`, and the
/// strings side by side above them, so one read from `sp` to the stack's
/// end normally has them all. Pointers or strings beyond that read are
/// read as [`exec_args`] reads them.
pub fn stack_exec(pid: i32, sp: u64, word: usize) -> Option<StackExec> {
    /// Bytes read from `sp`: the pointers and strings of all but huge
    /// argument lists (the read stops at the stack's end, normally sooner).
    const STACK_READ: usize = 16 * 1024;
    /// The auxiliary vector's key for the path execve was given.
    const AT_EXECFN: u64 = 31;
    with_scratch(STACK_READ, |buf| {
        let remote = [RemoteIoVec { base: sp as usize, len: buf.len() }];
        // Partial by design: the stack ends a few KiB above `sp`.
        let n = process_vm_readv(Pid::from_raw(pid), &mut [IoSliceMut::new(buf)], &remote).unwrap_or(0);
        let read = &buf[..n];
        let mut words = Words { pid, base: sp, word, head: read, more: Vec::new(), more_at: 0 };
        // argc, argv, NULL, envp, NULL, then the auxiliary vector (key,
        // value pairs up to AT_NULL).
        let argc = words.get(0)?;
        let (argv_ptrs, argv_ended) = words.array(1);
        // envp follows argv's NULL, however many of argv were kept.
        let env_from = argc.checked_add(2)?;
        let (env_ptrs, env_ended) = words.array(env_from);
        // A pointer below `sp`, or an argv that is not argc long: the stack
        // is not laid out as read (another ABI), so nothing is said.
        if (argv_ended && argv_ptrs.len() as u64 != argc) || argv_ptrs.iter().chain(&env_ptrs).any(|&p| p < sp) {
            return None;
        }
        let mut execfn = None;
        let aux = env_from + env_ptrs.len() as u64 + 1;
        for pair in (0..if env_ended { 64 } else { 0 }).map(|i| aux + 2 * i) {
            match (words.get(pair), words.get(pair + 1)) {
                (Some(AT_EXECFN), Some(value)) => execfn = Some(value),
                (Some(0), _) | (None, _) | (_, None) => break,
                _ => {}
            }
        }
        // A string from the read when it ends there, else on its own.
        let in_read = |p: u64| {
            p.checked_sub(sp).and_then(|at| usize::try_from(at).ok()).and_then(|at| read.get(at..)).and_then(ends_at)
        };
        let string_at = |p: u64| in_read(p).map(|(s, cut)| (s.to_vec(), cut)).or_else(|| string(pid, p, MAX_STR));
        // The environment: dozens of strings, copied into one list, which
        // has room for everything from the first of them to the read's end.
        let room =
            env_ptrs.first().and_then(|&p| p.checked_sub(sp)).map_or(0, |at| read.len().saturating_sub(at as usize));
        let mut env = BytesList::with_capacity(env_ptrs.len(), room);
        let mut env_cut = !env_ended;
        for &p in &env_ptrs {
            let got = match in_read(p) {
                Some((s, cut)) => Some((Cow::Borrowed(s), cut)),
                None => string(pid, p, MAX_STR).map(|(s, cut)| (Cow::Owned(s), cut)),
            };
            let Some((s, cut)) = got else {
                env_cut = true;
                break;
            };
            env_cut |= cut;
            env.push(&s);
        }
        Some(StackExec {
            argv: collect(argv_ptrs.iter().map(|&p| string_at(p)), argv_ended),
            env: (env, env_cut),
            execfn: execfn.and_then(string_at).map(|(s, _)| s),
        })
    })
}

/// The string at the start of `bytes`, as [`string`] reads it, when it
/// ends (or reaches MAX_STR) within them; None when it runs past them.
fn ends_in(bytes: &[u8]) -> Read {
    ends_at(bytes).map(|(s, cut)| (s.to_vec(), cut))
}

/// [`ends_in`], borrowed.
fn ends_at(bytes: &[u8]) -> Option<(&[u8], bool)> {
    let room = &bytes[..bytes.len().min(MAX_STR)];
    match memchr::memchr(0, room) {
        Some(nul) => Some((&room[..nul], false)),
        None if room.len() == MAX_STR => Some((room, true)),
        None => None,
    }
}

/// [`stack_exec`]'s answer: argv and envp with "cut", as [`exec_args`]
/// gives them, and the path execve was given (`AT_EXECFN`).
pub struct StackExec {
    pub argv: (Vec<Vec<u8>>, bool),
    pub env: (BytesList, bool),
    pub execfn: Option<Vec<u8>>,
}

/// [`exec_args`]' answer: the path, and argv with "cut".
pub struct ExecArgs {
    pub path: Option<Vec<u8>>,
    pub argv: (Vec<Vec<u8>>, bool),
}

/// Pointers read at a time from an array not read yet: most argv and envp
/// fit in the first read.
const PTR_CHUNK: usize = 64;

/// The pointers of the NULL-terminated array at `addr`, and whether it
/// ended (a NULL array, as execve takes for an empty one, ends at once).
fn pointers(pid: i32, addr: u64) -> (Vec<u64>, bool) {
    if addr == 0 {
        return (Vec::new(), true);
    }
    Words { pid, base: addr, word: 8, head: &[], more: Vec::new(), more_at: 0 }.array(0)
}

/// The words of the tracee's memory from `base`, by index: from the bytes
/// already read there (`head`) while they last, then [`PTR_CHUNK`] words
/// at a time.
struct Words<'b> {
    pid: i32,
    base: u64,
    /// 8, or 4 for a 32-bit program.
    word: usize,
    head: &'b [u8],
    more: Vec<u8>,
    /// The offset from `base` that `more` starts at.
    more_at: usize,
}

impl Words<'_> {
    fn get(&mut self, index: u64) -> Option<u64> {
        let at = usize::try_from(index).ok()?.checked_mul(self.word)?;
        let end = at.checked_add(self.word)?;
        let bytes = if end <= self.head.len() {
            &self.head[at..end]
        } else {
            if at < self.more_at || end > self.more_at + self.more.len() {
                self.more = read(self.pid, self.base.checked_add(at as u64)?, self.word * PTR_CHUNK);
                self.more_at = at;
            }
            self.more.get(at - self.more_at..end - self.more_at)?
        };
        let mut w = [0u8; 8];
        w[..self.word].copy_from_slice(bytes);
        // Both architectures are little-endian: a 32-bit word is the low half.
        Some(u64::from_le_bytes(w))
    }

    /// The NULL-terminated array from word `from`: its pointers, and
    /// whether its NULL was found (not when memory ran out first, or
    /// [`MAX_ARGS`] were taken).
    fn array(&mut self, from: u64) -> (Vec<u64>, bool) {
        let mut ptrs = Vec::with_capacity(PTR_CHUNK);
        for index in from.. {
            match self.get(index) {
                Some(0) => return (ptrs, true),
                Some(p) => ptrs.push(p),
                None => break,
            }
            if ptrs.len() == MAX_ARGS {
                break;
            }
        }
        (ptrs, false)
    }
}

/// The strings of an array; cut when its end was not found or a string
/// was cut or unreadable (the strings after that one are dropped).
fn collect(got: impl IntoIterator<Item = Option<(Vec<u8>, bool)>>, ended: bool) -> (Vec<Vec<u8>>, bool) {
    let mut truncated = !ended;
    let mut out = Vec::new();
    for s in got {
        match s {
            Some((s, cut)) => {
                truncated |= cut;
                out.push(s);
            }
            None => {
                truncated = true;
                break;
            }
        }
    }
    (out, truncated)
}

/// A string as [`string`] reads it: None for a NULL pointer, else its
/// bytes and whether it was cut.
type Read = Option<(Vec<u8>, bool)>;

/// Where [`strings`] reads before each string is copied out: one buffer
/// per tracer thread, reused from exec to exec (not allocated and zeroed
/// anew each time).
fn with_scratch<T>(len: usize, f: impl FnOnce(&mut [u8]) -> T) -> T {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut scratch = SCRATCH.with_borrow_mut(std::mem::take);
    if scratch.len() < len {
        scratch.resize(len, 0);
    }
    let out = f(&mut scratch[..len]);
    SCRATCH.with_borrow_mut(|s| *s = scratch);
    out
}

/// The NUL-terminated strings at `ptrs`, as [`string`] reads them, in as
/// few calls as possible:
/// - strings that lie in a few clusters are read one range per cluster
///   ([`span`]): the kernel walks each page once, not once per string;
/// - otherwise one `process_vm_readv` for up to 1,024 strings, each remote
///   range the string's first bytes up to the end of its page (so no range
///   fails for want of the next page);
/// - then, one by one, those not ended within what was read.
fn strings(pid: i32, ptrs: &[u64]) -> Vec<Read> {
    if let Some(out) = span(pid, ptrs) {
        return out;
    }
    /// Bytes read at first per string: most arguments and variables.
    const FIRST: u64 = FIRST_READ as u64;
    /// Most ranges one call takes (IOV_MAX).
    const MAX_IOV: usize = 1024;
    let mut out = Vec::with_capacity(ptrs.len());
    for chunk in ptrs.chunks(MAX_IOV) {
        // A NULL pointer gets an empty range: it must not fail the call.
        let lens: Vec<usize> =
            chunk.iter().map(|&p| if p == 0 { 0 } else { (PAGE - p % PAGE).min(FIRST) as usize }).collect();
        let remote: Vec<RemoteIoVec> =
            chunk.iter().zip(&lens).map(|(&p, &len)| RemoteIoVec { base: p as usize, len }).collect();
        with_scratch(lens.iter().sum(), |buf| {
            let got = process_vm_readv(Pid::from_raw(pid), &mut [IoSliceMut::new(buf)], &remote).unwrap_or(0);
            let mut at = 0;
            for (&p, &len) in chunk.iter().zip(&lens) {
                let quick = (p != 0 && at + len <= got).then(|| ends_in(&buf[at..at + len])).flatten();
                out.push(quick.or_else(|| string(pid, p, MAX_STR)));
                at += len;
            }
        });
    }
    out
}

/// [`strings`] for strings that lie in a few clusters (the usual case: a
/// new program's strings on its stack; a shell's variables in its heap,
/// with the path and argv somewhere else): one read, one range per
/// cluster, from a cluster's first string to the end of its last one's
/// page. Strings less than a page apart share a cluster. None when there
/// are too many clusters or too many bytes, or when a range is not all
/// readable (a hole between two strings): then each is read on its own.
fn span(pid: i32, ptrs: &[u64]) -> Option<Vec<Read>> {
    /// Most bytes read this way, and most clusters.
    const SPAN_MAX: u64 = 256 * 1024;
    const MAX_CLUSTERS: usize = 16;
    let mut live: Vec<u64> = ptrs.iter().copied().filter(|&p| p != 0).collect();
    if live.is_empty() {
        return None;
    }
    live.sort_unstable();
    let page_end = |p: u64| (p / PAGE + 1) * PAGE;
    // (start, end) of each cluster, in address order.
    let mut clusters: Vec<(u64, u64)> = Vec::with_capacity(MAX_CLUSTERS);
    for p in live {
        let full = clusters.len() == MAX_CLUSTERS;
        match clusters.last_mut() {
            Some((_, end)) if p < *end + PAGE => *end = (*end).max(page_end(p)),
            _ if full => return None,
            _ => clusters.push((p, page_end(p))),
        }
    }
    // Where each cluster lands in the local buffer.
    let mut offsets = Vec::with_capacity(clusters.len());
    let mut total = 0;
    for (start, end) in &clusters {
        offsets.push(total);
        total += end - start;
    }
    if total > SPAN_MAX {
        return None;
    }
    let remote: Vec<RemoteIoVec> =
        clusters.iter().map(|&(s, e)| RemoteIoVec { base: s as usize, len: (e - s) as usize }).collect();
    with_scratch(total as usize, |buf| {
        let got = process_vm_readv(Pid::from_raw(pid), &mut [IoSliceMut::new(buf)], &remote).ok()?;
        (got == buf.len()).then(|| {
            ptrs.iter()
                .map(|&p| {
                    if p == 0 {
                        return None;
                    }
                    let i = clusters.partition_point(|&(s, _)| s <= p) - 1;
                    let (start, end) = clusters[i];
                    let at = offsets[i] + (p - start);
                    // One going on past its cluster is read on its own.
                    ends_in(&buf[at as usize..(at + end - p) as usize]).or_else(|| string(pid, p, MAX_STR))
                })
                .collect()
        })
    })
}

/// A native-endian u64 at `addr`.
pub fn u64_at(pid: i32, addr: u64) -> Option<u64> {
    let raw = read(pid, addr, 8);
    <[u8; 8]>::try_from(raw.as_slice()).ok().map(u64::from_ne_bytes)
}

/// Writes `bytes` at `addr` in the tracee, all or nothing as far as the
/// caller is concerned: false when any of it could not be written.
pub fn write(pid: i32, addr: u64, bytes: &[u8]) -> bool {
    let remote = [RemoteIoVec { base: addr as usize, len: bytes.len() }];
    matches!(process_vm_writev(Pid::from_raw(pid), &[IoSlice::new(bytes)], &remote), Ok(n) if n == bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    fn scattered_strings_are_read_together_long_and_unreadable_ones_alone() {
        let me = std::process::id() as i32;
        let long = "x".repeat(3000);
        let owned: Vec<CString> = ["HOME=/home/jmiller", "", long.as_str(), "PATH=/usr/bin:/bin"]
            .iter()
            .map(|s| CString::new(*s).unwrap())
            .collect();
        let mut ptrs: Vec<u64> = owned.iter().map(|c| c.as_ptr() as u64).collect();
        // An address nothing is mapped at, between readable ones: it reads
        // as empty and cut (as `string` has it), and the strings after it
        // are still read.
        ptrs.insert(2, 0x1000);
        let got = strings(me, &ptrs);
        let text: Vec<Option<String>> = got
            .into_iter()
            .map(|s| s.map(|(b, cut)| format!("{}{}", String::from_utf8(b).unwrap(), if cut { "…" } else { "" })))
            .collect();
        assert_eq!(
            text,
            vec![
                Some("HOME=/home/jmiller".into()),
                Some(String::new()),
                Some("…".into()),
                Some(long.clone()),
                Some("PATH=/usr/bin:/bin".into())
            ]
        );
        // More strings than one call takes.
        let many: Vec<CString> = (0..2500).map(|i| CString::new(format!("V{i}=value")).unwrap()).collect();
        let ptrs: Vec<u64> = many.iter().map(|c| c.as_ptr() as u64).collect();
        let got = strings(me, &ptrs);
        assert_eq!(got.len(), 2500);
        assert_eq!(got[2499].as_ref().map(|(b, _)| b.as_slice()), Some(&b"V2499=value"[..]));
    }

    #[test]
    fn strings_close_together_are_read_as_one_range_as_each_would_be_alone() {
        let me = std::process::id() as i32;
        // One block, as a shell's variables or a new stack's strings lie:
        // short ones, an empty one, one longer than MAX_STR, and the last
        // one running on past the end of the block's last page.
        let mut block = vec![0u8; 4 * PAGE as usize + MAX_STR];
        let base = block.as_ptr() as u64;
        // 100 bytes before the end of a page, well inside the block.
        let last = (((base + MAX_STR as u64 + 2 * PAGE) / PAGE) * PAGE - 100 - base) as usize;
        let mut starts = Vec::new();
        let mut put = |at: usize, s: &[u8]| {
            block[at..at + s.len()].copy_from_slice(s);
            starts.push(at);
        };
        put(10, b"HOME=/home/jmiller");
        put(40, b"");
        put(50, &vec![b'x'; MAX_STR + 10]);
        put(MAX_STR + 100, b"PATH=/usr/bin:/bin");
        put(last, &vec![b'y'; 500]);
        let mut ptrs: Vec<u64> = starts.iter().map(|&at| base + at as u64).collect();
        ptrs.insert(2, 0);
        let together = span(me, &ptrs).expect("one range");
        let alone: Vec<_> = ptrs.iter().map(|&p| string(me, p, MAX_STR)).collect();
        assert_eq!(together, alone);
        assert_eq!(together[0], Some((b"HOME=/home/jmiller".to_vec(), false)));
        assert_eq!(together[2], None, "a NULL pointer");
        assert_eq!(together[3], Some((vec![b'x'; MAX_STR], true)), "cut at MAX_STR");
        assert_eq!(together[5].as_ref().map(|(s, cut)| (s.len(), *cut)), Some((500, false)), "read on past the range");
        // Far apart (the block in the heap, a string on this stack): two
        // clusters, read as each would be alone.
        let here = c"on the stack";
        let far = [base + 10, here.as_ptr() as u64, base + 50];
        let got = span(me, &far).expect("two ranges");
        assert_eq!(got, far.iter().map(|&p| string(me, p, MAX_STR)).collect::<Vec<_>>());
        assert_eq!(got[1], Some((b"on the stack".to_vec(), false)));
        // An unreadable page inside a range: not read this way.
        assert!(span(me, &[0x1000, 0x2010]).is_none());
        // Strings two pages apart each make a cluster: 16 are read this
        // way, 17 are more than it takes (each is then read alone).
        let wide = vec![0u8; 40 * PAGE as usize];
        let every_other: Vec<u64> = (0..17).map(|i| wide.as_ptr() as u64 + 2 * i * PAGE).collect();
        assert!(span(me, &every_other[..16]).is_some());
        assert!(span(me, &every_other).is_none());
    }

    /// A NULL-terminated pointer array over `strs`, as execve gets one.
    fn array(strs: &[CString]) -> Vec<u64> {
        strs.iter().map(|c| c.as_ptr() as u64).chain([0]).collect()
    }

    #[test]
    fn exec_args_reads_path_argv_and_env_and_says_what_was_cut() {
        let me = std::process::id() as i32;
        let path = CString::new("/usr/bin/env").unwrap();
        let argv: Vec<CString> =
            ["env", "-i", "A=1", "/bin/echo", "hi"].iter().map(|s| CString::new(*s).unwrap()).collect();
        // More variables than the first read of the array takes.
        let env: Vec<CString> = (0..150).map(|i| CString::new(format!("V{i}=x")).unwrap()).collect();
        let (argv_at, env_at) = (array(&argv), array(&env));
        let got = exec_args(me, path.as_ptr() as u64, argv_at.as_ptr() as u64);
        assert_eq!(got.path.as_deref(), Some(&b"/usr/bin/env"[..]));
        assert_eq!(got.argv.0, argv.iter().map(|c| c.as_bytes().to_vec()).collect::<Vec<_>>());
        assert!(!got.argv.1, "argv ended with its NULL");
        let got_env = string_array(me, env_at.as_ptr() as u64);
        assert_eq!(got_env.0.len(), 150);
        assert_eq!(got_env.0[149], b"V149=x");
        assert!(!got_env.1);

        // NULL path and envp (execve allows a NULL envp): no path, no
        // variables, and neither counts as cut; argv is still read.
        let got = exec_args(me, 0, argv_at.as_ptr() as u64);
        assert_eq!(got.path, None);
        assert_eq!(got.argv.0.len(), 5);
        assert_eq!(string_array(me, 0), (Vec::new(), false));

        // argv at an address nothing is mapped at: cut and empty; the path
        // and envp are still read.
        let got = exec_args(me, path.as_ptr() as u64, 0x1000);
        assert_eq!(got.argv, (Vec::new(), true));
        assert_eq!(string_array(me, env_at.as_ptr() as u64).0.len(), 150, "envp read although argv could not be");
        assert_eq!(got.path.as_deref(), Some(&b"/usr/bin/env"[..]));
    }

    /// A new program's initial stack as the kernel lays it out, built in
    /// this process: argc, argv, NULL, envp, NULL, the auxiliary vector,
    /// then the strings; every pointer is an address in the block. With
    /// `far`, the last variable lies 20 KiB further up (beyond the first
    /// read).
    fn fake_stack(argv: &[&[u8]], env: &[&[u8]], execfn: &[u8], far: bool) -> Vec<u8> {
        const GAP: usize = 20 * 1024;
        let head_len = 8 * (1 + argv.len() + 1 + env.len() + 1 + 6);
        let strings: usize = argv.iter().chain(env).chain([&execfn]).map(|s| s.len() + 1).sum();
        let mut block = vec![0u8; head_len + strings + if far { GAP } else { 0 }];
        let base = block.as_ptr() as u64;
        let mut bytes = Vec::new();
        let start = base + head_len as u64;
        let place = |bytes: &mut Vec<u8>, s: &[u8]| {
            let at = start + bytes.len() as u64;
            bytes.extend_from_slice(s);
            bytes.push(0);
            at
        };
        let mut head = vec![argv.len() as u64];
        head.extend(argv.iter().map(|s| place(&mut bytes, s)));
        head.push(0);
        let (last, near) = env.split_last().map(|(l, n)| (Some(*l), n)).unwrap_or((None, env));
        head.extend(near.iter().map(|s| place(&mut bytes, s)));
        let execfn_at = place(&mut bytes, execfn);
        if let Some(last) = last {
            if far {
                bytes.resize(bytes.len() + GAP - last.len() - 1, 0);
            }
            head.push(place(&mut bytes, last));
        }
        head.push(0);
        head.extend([6, 4096, 31, execfn_at, 0, 0]); // AT_PAGESZ, AT_EXECFN, AT_NULL
        for (i, w) in head.iter().enumerate() {
            block[8 * i..8 * i + 8].copy_from_slice(&w.to_ne_bytes());
        }
        block[head_len..head_len + bytes.len()].copy_from_slice(&bytes);
        block
    }

    #[test]
    fn a_new_programs_strings_are_read_from_its_stack() {
        let me = std::process::id() as i32;
        let argv: [&[u8]; 3] = [b"env", b"A=1", b""];
        let env: [&[u8]; 2] = [b"HOME=/root", b"LD_PRELOAD=/tmp/x.so"];
        let block = fake_stack(&argv, &env, b"/usr/bin/env", false);
        let got = stack_exec(me, block.as_ptr() as u64, 8).expect("readable");
        assert_eq!(got.argv, (argv.iter().map(|s| s.to_vec()).collect(), false));
        assert_eq!(got.env, (env.iter().collect(), false));
        assert_eq!(got.execfn.as_deref(), Some(&b"/usr/bin/env"[..]));

        // A variable beyond the first read is read on its own.
        let block = fake_stack(&argv, &env, b"/usr/bin/env", true);
        let got = stack_exec(me, block.as_ptr() as u64, 8).unwrap();
        assert_eq!(got.env, (env.iter().collect(), false));

        // Nothing mapped at the stack pointer: nothing to say.
        assert!(stack_exec(me, 0x1000, 8).is_none());
    }

    /// A 32-bit program's stack (4-byte words), built below 4 GiB so its
    /// pointers fit; and one whose argv is longer than the first read.
    #[test]
    fn a_32_bit_stack_and_a_long_argv_are_read_too() {
        let me = std::process::id() as i32;
        let base = sys::map_at(0x3f00_0000, 64 * 1024).expect("a mapping below 4 GiB");
        assert!(base < 1 << 32);
        let words: [u64; 9] = [2, base + 100, base + 104, 0, base + 110, 0, 31, base + 120, 0];
        let mut bytes = vec![0u8; 200];
        for (i, w) in words.iter().enumerate() {
            bytes[4 * i..4 * i + 4].copy_from_slice(&(*w as u32).to_le_bytes());
        }
        bytes[100..104].copy_from_slice(b"sh\0\0");
        bytes[104..107].copy_from_slice(b"-c\0");
        bytes[110..117].copy_from_slice(b"HOME=/\0");
        bytes[120..128].copy_from_slice(b"/bin/sh\0");
        let remote = [RemoteIoVec { base: base as usize, len: bytes.len() }];
        let wrote = nix::sys::uio::process_vm_writev(Pid::from_raw(me), &[std::io::IoSlice::new(&bytes)], &remote);
        assert_eq!(wrote, Ok(bytes.len()));
        let got = stack_exec(me, base, 4).expect("a 32-bit stack");
        assert_eq!(got.argv, (vec![b"sh".to_vec(), b"-c".to_vec()], false));
        assert_eq!(got.env, ([b"HOME=/"].into_iter().collect(), false));
        assert_eq!(got.execfn.as_deref(), Some(&b"/bin/sh"[..]));
        // Read as 64-bit words, the same bytes make no sense: nothing said.
        assert!(stack_exec(me, base, 8).is_none());

        // 3,000 arguments: their pointers alone are more than the first read.
        let args: Vec<Vec<u8>> = (0..3000).map(|i| format!("a{i}").into_bytes()).collect();
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let stack = fake_stack(&argv, &[b"K=V"], b"/bin/x", false);
        let got = stack_exec(me, stack.as_ptr() as u64, 8).unwrap();
        assert_eq!(got.argv, (args.clone(), false));
        assert_eq!(got.env.0, [b"K=V"].into_iter().collect());

        // More arguments than are kept: argv is cut, the environment is
        // still found after all of them.
        let args: Vec<Vec<u8>> = (0..MAX_ARGS + 10).map(|i| format!("{i}").into_bytes()).collect();
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let stack = fake_stack(&argv, &[b"K=V", b"L=W"], b"/bin/x", false);
        let got = stack_exec(me, stack.as_ptr() as u64, 8).unwrap();
        assert_eq!(got.argv, (args[..MAX_ARGS].to_vec(), true));
        assert_eq!(got.env, ([b"K=V", b"L=W"].into_iter().collect(), false));
    }
}
