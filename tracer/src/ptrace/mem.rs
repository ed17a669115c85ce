//! Reading the tracee's memory: strings, buffers, pointer arrays.
//!
//! `process_vm_readv` reads a whole range in one call, but fails on the
//! first unmapped page; strings are therefore read page by page so a NUL on
//! this page is found even when the next page is unmapped. When
//! process_vm_readv is refused altogether, PTRACE_PEEKDATA reads word by
//! word. A read that fails yields what was read, never a lost event.

use std::io::{IoSlice, IoSliceMut};

use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;

use super::sys;

const PAGE: u64 = 4096;
/// Longest path or argument read (PATH_MAX).
pub const MAX_STR: usize = 4096;
/// Most argv/envp entries read.
pub const MAX_ARGS: usize = 4096;
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
    let mut out = Vec::new();
    let mut at = addr;
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

/// A NULL-terminated array of pointers (argv, envp): the strings, and
/// whether the array or a string was cut.
///
/// The pointer array is read in chunks, the strings together ([`strings`]):
/// a few calls per array, however many strings. (Strings do not always lie
/// side by side: a shell builds a child's environment from its own
/// variables, scattered over its heap.)
pub fn string_array(pid: i32, addr: u64) -> (Vec<Vec<u8>>, bool) {
    const CHUNK: usize = 64;
    let mut ptrs = Vec::new();
    let mut ended = false;
    'read: while ptrs.len() < MAX_ARGS && addr != 0 {
        let raw = read(pid, addr + 8 * ptrs.len() as u64, 8 * CHUNK);
        if raw.len() < 8 {
            break;
        }
        for word in raw.chunks_exact(8) {
            let p = u64::from_ne_bytes(word.try_into().expect("8 bytes"));
            if p == 0 {
                ended = true;
                break 'read;
            }
            ptrs.push(p);
            if ptrs.len() == MAX_ARGS {
                break 'read;
            }
        }
    }
    let mut truncated = !ended && addr != 0;
    let mut out = Vec::with_capacity(ptrs.len());
    for s in strings(pid, &ptrs) {
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

/// The NUL-terminated strings at `ptrs`, as [`string`] reads them, in as
/// few calls as possible: one `process_vm_readv` for up to 1,024 strings,
/// each remote range the string's first bytes up to the end of its page (so
/// no range fails for want of the next page); then, one by one, those not
/// ended within that or not read (a range after an unreadable one).
pub fn strings(pid: i32, ptrs: &[u64]) -> Vec<Option<(Vec<u8>, bool)>> {
    /// Bytes read at first per string: most arguments and variables.
    const FIRST: u64 = 512;
    /// Most ranges one call takes (IOV_MAX).
    const MAX_IOV: usize = 1024;
    let mut out = Vec::with_capacity(ptrs.len());
    for chunk in ptrs.chunks(MAX_IOV) {
        let lens: Vec<usize> = chunk.iter().map(|&p| (PAGE - p % PAGE).min(FIRST) as usize).collect();
        let mut buf = vec![0u8; lens.iter().sum()];
        let remote: Vec<RemoteIoVec> =
            chunk.iter().zip(&lens).map(|(&p, &len)| RemoteIoVec { base: p as usize, len }).collect();
        let got = process_vm_readv(Pid::from_raw(pid), &mut [IoSliceMut::new(&mut buf)], &remote).unwrap_or(0);
        let mut at = 0;
        for (&p, &len) in chunk.iter().zip(&lens) {
            let quick = (p != 0 && at + len <= got)
                .then(|| memchr::memchr(0, &buf[at..at + len]).map(|nul| buf[at..at + nul].to_vec()))
                .flatten();
            out.push(match quick {
                Some(s) => Some((s, false)),
                None => string(pid, p, MAX_STR),
            });
            at += len;
        }
    }
    out
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
}
