//! Routing a sandboxed run's network traffic into the sandbox's sinks.
//!
//! The sandbox's network namespace has nothing but loopback, so a connect
//! to any other address fails at once (`ENETUNREACH`) and real malware
//! stops there, before the behaviour a report should show. The tracer
//! already stops on every `connect`, `sendto`, `sendmsg` and `sendmmsg`;
//! with a [`Redirect`] it also rewrites the destination, at that stop, to
//! the loopback address the redirect hands out for it (a sink that knows
//! the original destination), and puts the task's own arguments back when
//! the call returns. Datagrams coming back from a sink have their source
//! rewritten to the original destination at `recvfrom`/`recvmsg` exit, so
//! a resolver that checks who answered accepts the reply.
//!
//! Nothing here widens the sandbox: the rewritten call still runs in the
//! namespace with only loopback. The trace keeps the original destination
//! (the event is decoded before the rewrite).
//!
//! How the arguments are rewritten: the new `sockaddr` (and for
//! `sendmsg`/`sendmmsg` a copy of the message headers pointing to it) is
//! written below the task's stack pointer, past the red zone, where no live
//! data of the task can be (the task is stopped in the call); the argument
//! registers are pointed at it. The kernel copies the arguments in before
//! the call does anything, and the registers are restored at the exit
//! stop, so the task sees its own values again. A call interrupted and
//! restarted by the kernel passes the seccomp stop again and is rewritten
//! again. Where the scratch area cannot be written, the call is left alone
//! (and fails as before). x86_64 only: other architectures are not
//! rerouted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::mem;

/// Where a sandboxed run's traffic goes. The sandbox implements it with
/// its sinks; the tracer only asks and rewrites.
pub trait Redirect: Send + Sync + std::fmt::Debug {
    /// Task `pid` is about to connect or send to `dest`: the loopback
    /// address it should reach instead, or None to leave the call alone
    /// (loopback, the sandbox's own addresses).
    fn route(&self, pid: i32, dest: SocketAddr) -> Option<SocketAddrV4>;
    /// The original destination a sink address was handed out for.
    fn original(&self, sink: SocketAddrV4) -> Option<SocketAddr>;
}

/// What to put back at the call's exit.
#[derive(Debug)]
pub(super) struct Restore {
    /// Argument registers (by argument index) and their original values.
    args: Vec<(usize, u64)>,
    /// sendmmsg: the task's own array, the copy the kernel used, and the
    /// entries sent; the kernel wrote each `msg_len` into the copy.
    mmsg: Option<(u64, u64, u64)>,
}

/// Bytes below the stack pointer the x86_64 ABI lets a function use
/// without moving it.
const RED_ZONE: u64 = 128;
/// The scratch area: the new addresses and the header copies.
const SCRATCH: u64 = 2048;
/// `sizeof(struct msghdr)` and `sizeof(struct mmsghdr)` on 64-bit Linux.
const MSGHDR: usize = 56;
const MMSGHDR: usize = 64;
/// sendmmsg entries rerouted per call; a longer vector is cut to this
/// many (the call reports how many it sent and the caller sends the rest).
const MAX_MMSG: u64 = 16;
/// Room per rewritten address in the scratch area (`sockaddr_in6` is 28).
const ADDR_SLOT: u64 = 32;

/// Rewrites the destination of the call task `pid` is stopped in, if it
/// has an internet one the redirect routes. `name` is the call,
/// `args` its arguments, `sp` the task's stack pointer.
#[cfg(target_arch = "x86_64")]
pub(super) fn reroute(pid: i32, name: &str, args: [u64; 6], sp: u64, redirect: &dyn Redirect) -> Option<Restore> {
    let scratch = sp.checked_sub(RED_ZONE + SCRATCH)? & !15;
    let routed = |raw: &[u8]| -> Option<Vec<u8>> {
        let dest = parse(raw)?;
        let sink = redirect.route(pid, dest)?;
        encode(SocketAddr::V4(sink), family(raw)?)
    };
    let (set, mmsg): (Vec<(usize, u64)>, _) = match name {
        "connect" | "sendto" => {
            let (ptr_arg, len_arg) = if name == "connect" { (1, 2) } else { (4, 5) };
            if args[ptr_arg] == 0 {
                return None;
            }
            let raw = mem::read(pid, args[ptr_arg], (args[len_arg] as usize).min(128));
            let new = routed(&raw)?;
            if !mem::write(pid, scratch, &new) {
                return None;
            }
            (vec![(ptr_arg, scratch), (len_arg, new.len() as u64)], None)
        }
        "sendmsg" => {
            let mut hdr = mem::read(pid, args[1], MSGHDR);
            let new = routed(&msg_name(pid, &hdr)?)?;
            let copy = scratch + ADDR_SLOT;
            set_msg_name(&mut hdr, scratch, new.len());
            if !(mem::write(pid, scratch, &new) && mem::write(pid, copy, &hdr)) {
                return None;
            }
            (vec![(1, copy)], None)
        }
        "sendmmsg" => {
            let count = args[2].min(MAX_MMSG);
            let mut vec = mem::read(pid, args[1], count as usize * MMSGHDR);
            if vec.len() < count as usize * MMSGHDR {
                return None;
            }
            let copy = scratch + MAX_MMSG * ADDR_SLOT;
            let mut any = false;
            for i in 0..count as usize {
                let entry = &mut vec[i * MMSGHDR..(i + 1) * MMSGHDR];
                let Some(new) = msg_name(pid, entry).and_then(|raw| routed(&raw)) else { continue };
                let slot = scratch + i as u64 * ADDR_SLOT;
                if !mem::write(pid, slot, &new) {
                    return None;
                }
                set_msg_name(entry, slot, new.len());
                any = true;
            }
            if !any || !mem::write(pid, copy, &vec) {
                return None;
            }
            (vec![(1, copy), (2, count)], Some((args[1], copy, count)))
        }
        _ => return None,
    };
    let mut regs = super::sys::get_regs(pid).ok()?;
    let restore = Restore { args: set.iter().map(|&(i, _)| (i, args[i])).collect(), mmsg };
    for (i, value) in set {
        *arg_reg(&mut regs, i) = value;
    }
    super::sys::set_regs(pid, &regs).ok()?;
    Some(restore)
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) fn reroute(_: i32, _: &str, _: [u64; 6], _: u64, _: &dyn Redirect) -> Option<Restore> {
    None
}

/// Puts the task's own arguments back at the exit stop of a rerouted call
/// (the result register is left as the kernel set it).
#[cfg(target_arch = "x86_64")]
pub(super) fn restore(pid: i32, restore: &Restore) {
    if let Some((orig, copy, count)) = restore.mmsg {
        // The kernel wrote how much each message sent into the copy.
        let vec = mem::read(pid, copy, count as usize * MMSGHDR);
        for (i, entry) in vec.chunks_exact(MMSGHDR).enumerate() {
            let _ = mem::write(pid, orig + (i * MMSGHDR + MSGHDR) as u64, &entry[MSGHDR..MSGHDR + 4]);
        }
    }
    if let Ok(mut regs) = super::sys::get_regs(pid) {
        for &(i, value) in &restore.args {
            *arg_reg(&mut regs, i) = value;
        }
        let _ = super::sys::set_regs(pid, &regs);
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) fn restore(_: i32, _: &Restore) {}

/// At the exit of a `recvfrom`/`recvmsg` that succeeded: when the datagram
/// came from a sink address, writes the original destination in its place
/// (same family and length as the kernel wrote) and returns it.
pub(super) fn unroute_source(pid: i32, name: &str, args: [u64; 6], redirect: &dyn Redirect) -> Option<SocketAddr> {
    let (addr_ptr, len_ptr) = match name {
        "recvfrom" => (args[4], args[5]),
        "recvmsg" => {
            let hdr = mem::read(pid, args[1], MSGHDR);
            let name = u64::from_ne_bytes(hdr.get(0..8)?.try_into().ok()?);
            (name, args[1] + 8)
        }
        _ => return None,
    };
    if addr_ptr == 0 || len_ptr == 0 {
        return None;
    }
    let len = u32::from_ne_bytes(mem::read(pid, len_ptr, 4).try_into().ok()?) as usize;
    let raw = mem::read(pid, addr_ptr, len.min(128));
    let sink = match parse(&raw)? {
        SocketAddr::V4(v4) => v4,
        SocketAddr::V6(v6) => SocketAddrV4::new(v6.ip().to_ipv4_mapped()?, v6.port()),
    };
    let original = redirect.original(sink)?;
    let new = encode(original, family(&raw)?)?;
    (new.len() == raw.len() && mem::write(pid, addr_ptr, &new)).then_some(original)
}

#[cfg(target_arch = "x86_64")]
fn arg_reg(regs: &mut libc::user_regs_struct, i: usize) -> &mut u64 {
    match i {
        0 => &mut regs.rdi,
        1 => &mut regs.rsi,
        2 => &mut regs.rdx,
        3 => &mut regs.r10,
        4 => &mut regs.r8,
        _ => &mut regs.r9,
    }
}

/// The destination a `msghdr` names (its first bytes are `msg_name`, a
/// pointer, and `msg_namelen`), read from the task.
fn msg_name(pid: i32, hdr: &[u8]) -> Option<Vec<u8>> {
    let ptr = u64::from_ne_bytes(hdr.get(0..8)?.try_into().ok()?);
    let len = u32::from_ne_bytes(hdr.get(8..12)?.try_into().ok()?);
    (ptr != 0 && len > 0).then(|| mem::read(pid, ptr, (len as usize).min(128)))
}

fn set_msg_name(hdr: &mut [u8], ptr: u64, len: usize) {
    hdr[0..8].copy_from_slice(&ptr.to_ne_bytes());
    hdr[8..12].copy_from_slice(&(len as u32).to_ne_bytes());
}

fn family(raw: &[u8]) -> Option<i32> {
    Some(i32::from(u16::from_ne_bytes(raw.get(0..2)?.try_into().ok()?)))
}

/// A socket address as events carry it (IPv4-mapped IPv6 as such).
pub fn sock_addr(addr: SocketAddr) -> event::SockAddr {
    match addr {
        SocketAddr::V4(a) => event::SockAddr::Inet { ip: a.ip().to_string(), port: a.port() },
        SocketAddr::V6(a) => event::SockAddr::Inet6 { ip: a.ip().to_string(), port: a.port() },
    }
}

/// An internet `sockaddr` as a socket address; None for other families
/// and short buffers.
pub fn parse(raw: &[u8]) -> Option<SocketAddr> {
    let port = u16::from_be_bytes(raw.get(2..4)?.try_into().ok()?);
    match family(raw)? {
        libc::AF_INET => {
            let ip: [u8; 4] = raw.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 => {
            let ip: [u8; 16] = raw.get(8..24)?.try_into().ok()?;
            let flow = u32::from_ne_bytes(raw.get(4..8)?.try_into().ok()?);
            let scope = raw.get(24..28).and_then(|s| s.try_into().ok()).map_or(0, u32::from_ne_bytes);
            Some(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, flow, scope)))
        }
        _ => None,
    }
}

/// `addr` as a `sockaddr` of `family`: an IPv4 address on an IPv6 socket
/// is written IPv4-mapped; an IPv6 address cannot go on an IPv4 socket.
pub fn encode(addr: SocketAddr, family: i32) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(28);
    out.extend_from_slice(&(family as u16).to_ne_bytes());
    out.extend_from_slice(&addr.port().to_be_bytes());
    match (family, addr.ip()) {
        (libc::AF_INET, IpAddr::V4(ip)) => {
            out.extend_from_slice(&ip.octets());
            out.extend_from_slice(&[0; 8]);
        }
        (libc::AF_INET6, ip) => {
            let (ip6, flow, scope) = match (ip, addr) {
                (IpAddr::V6(ip), SocketAddr::V6(a)) => (ip, a.flowinfo(), a.scope_id()),
                (IpAddr::V4(ip), _) => (ip.to_ipv6_mapped(), 0, 0),
                (IpAddr::V6(ip), _) => (ip, 0, 0),
            };
            out.extend_from_slice(&flow.to_ne_bytes());
            out.extend_from_slice(&ip6.octets());
            out.extend_from_slice(&scope.to_ne_bytes());
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddrs_round_trip_in_both_families() {
        let v4: SocketAddr = "203.0.113.7:8080".parse().unwrap();
        let raw = encode(v4, libc::AF_INET).unwrap();
        assert_eq!(raw.len(), std::mem::size_of::<libc::sockaddr_in>());
        assert_eq!(parse(&raw), Some(v4));
        // The same address on an IPv6 socket is IPv4-mapped.
        let mapped = encode(v4, libc::AF_INET6).unwrap();
        assert_eq!(mapped.len(), std::mem::size_of::<libc::sockaddr_in6>());
        assert_eq!(parse(&mapped), Some("[::ffff:203.0.113.7]:8080".parse().unwrap()));
        let v6: SocketAddr = "[2001:db8::44]:31337".parse().unwrap();
        assert_eq!(parse(&encode(v6, libc::AF_INET6).unwrap()), Some(v6));
        assert_eq!(encode(v6, libc::AF_INET), None, "no IPv6 address on an IPv4 socket");
        assert_eq!(parse(&raw[..3]), None);
        assert_eq!(parse(&[1, 0, 0, 0, 0, 0]), None, "AF_UNIX is not routed");
    }
}
