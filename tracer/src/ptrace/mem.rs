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
        // A partial read, or a range crossing into an unmapped page: go
        // page by page to keep whatever is readable.
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
/// At exec the strings lie side by side in one block; reading the pointer
/// array in chunks and the strings as one block takes a few syscalls
/// instead of one or more per string. Strings outside that block are read
/// one by one.
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
    let (Some(&lo), Some(&hi)) = (ptrs.iter().min(), ptrs.iter().max()) else {
        return (Vec::new(), truncated);
    };
    const MAX_BLOCK: u64 = 1 << 20;
    let block = if hi - lo < MAX_BLOCK { read(pid, lo, (hi - lo) as usize + MAX_STR) } else { Vec::new() };
    let mut out = Vec::with_capacity(ptrs.len());
    for p in ptrs {
        let at = (p - lo) as usize;
        let from_block = block.get(at..).and_then(|rest| {
            let nul = memchr::memchr(0, &rest[..rest.len().min(MAX_STR)])?;
            Some(rest[..nul].to_vec())
        });
        match from_block.map(|s| (s, false)).or_else(|| string(pid, p, MAX_STR)) {
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
