//! The world's UDP sink: every datagram the run sends to an internet
//! address arrives here (rerouted by the tracer to an address of its own
//! on the world port). Datagrams to port 53 are DNS questions and are
//! answered like the DNS sink's; every other datagram is recorded and not
//! answered.
//!
//! A reply must come from the address the client sent to: a connected UDP
//! socket (glibc's resolver, c-ares) drops anything else. The socket is
//! bound to 0.0.0.0, so each datagram's own destination is read from
//! `IP_PKTINFO` and the reply is sent from it the same way.

use std::io::{IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::thread;

use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn,
};

use super::dns::handle_dns;
use super::received::{Received, MAX_KEPT};
use super::{serve_datagrams, Shared, ACCEPT_POLL, POLL};

/// Binds the world's UDP socket on 0.0.0.0:`port` with `IP_PKTINFO`.
pub(super) fn bind(port: u16) -> std::io::Result<UdpSocket> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port))?;
    setsockopt(&socket, sockopt::Ipv4PacketInfo, &true).map_err(std::io::Error::from)?;
    socket.set_read_timeout(Some(POLL))?;
    Ok(socket)
}

/// One datagram: its bytes, who sent it and the address it was sent to.
fn receive(socket: &UdpSocket, buf: &mut [u8]) -> nix::Result<(usize, SocketAddr, Ipv4Addr)> {
    let mut cmsg = nix::cmsg_space!(libc::in_pktinfo);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn>(socket.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())?;
    let mut to = Ipv4Addr::UNSPECIFIED;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::Ipv4PacketInfo(info) = c {
            to = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
        }
    }
    let from = msg.address.map(|a| SocketAddr::new(IpAddr::V4(a.ip()), a.port()));
    Ok((msg.bytes, from.unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))), to))
}

/// Sends `reply` to `peer` from address `from`.
fn reply_from(socket: &UdpSocket, reply: &[u8], peer: SocketAddr, from: Ipv4Addr) {
    let SocketAddr::V4(peer) = peer else { return };
    let info = libc::in_pktinfo {
        ipi_ifindex: 0,
        ipi_spec_dst: libc::in_addr { s_addr: u32::from(from).to_be() },
        ipi_addr: libc::in_addr { s_addr: 0 },
    };
    let to = SockaddrIn::from(peer);
    let cmsgs = [ControlMessage::Ipv4PacketInfo(&info)];
    if let Err(e) = sendmsg(socket.as_raw_fd(), &[IoSlice::new(reply)], &cmsgs, MsgFlags::empty(), Some(&to)) {
        tracing::debug!(%peer, error = %e, "world UDP sink could not reply");
    }
}

pub(super) fn serve(socket: &UdpSocket, shared: &Shared) {
    let mut buf = vec![0u8; 65_536];
    let serve_one = |socket: &UdpSocket| match receive(socket, &mut buf) {
        Ok((n, peer, to)) => {
            handle(socket, &buf[..n], peer, to, shared);
            true
        }
        Err(nix::Error::EAGAIN | nix::Error::EINTR) => false,
        Err(e) => {
            tracing::debug!(error = %e, "world UDP sink receive failed");
            thread::sleep(ACCEPT_POLL);
            false
        }
    };
    serve_datagrams(socket, shared, serve_one);
}

fn handle(socket: &UdpSocket, data: &[u8], peer: SocketAddr, to: Ipv4Addr, shared: &Shared) {
    let route = shared.route(IpAddr::V4(to));
    let dest = route.map_or(SocketAddr::from((to, socket.local_addr().map_or(0, |a| a.port()))), |r| r.dest);
    let mut host = shared.name_for(dest.ip());
    let mut dns = false;
    if dest.port() == 53 {
        // Answered whatever it is (a resolver answers garbage with an
        // error); listed as DNS only when it holds a question.
        let question = event::dns::decode_query(data, false);
        dns = !question.is_empty();
        host = question.first().map(|q| q.name.clone()).or(host);
        if let Some(reply) = handle_dns(data, "udp", Some(dest), shared) {
            reply_from(socket, &reply, peer, to);
        }
    }
    let received = Received {
        transport: "udp",
        protocol: if dns { "dns" } else { "raw" },
        dest,
        pid: route.map(|r| r.pid),
        host,
        method: None,
        url: None,
        data: data[..data.len().min(MAX_KEPT)].to_vec(),
        size: data.len() as u64,
    };
    shared.record_received(shared.next_seq(), received);
}
