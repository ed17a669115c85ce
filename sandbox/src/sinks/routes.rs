//! Routes: which loopback address stands for which real destination.
//!
//! Every connect and datagram of the run to an internet address is
//! rerouted by the tracer (see `tracer::ptrace::redirect`) to an address
//! of its own in 127.64.0.0/10 on the sinks' world port. A sink that
//! accepts a connection or receives a datagram reads the address it was
//! sent to (`getsockname`, `IP_PKTINFO`) and finds here where the task
//! meant it to go, and which task it was. One address per (task,
//! destination): concurrent clients of one destination are told apart.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Mutex;

use super::lock;

/// First address handed out: 127.64.0.1. The range is loopback (so the
/// rerouted call stays on `lo`) and far from 127.0.0.1, which the
/// sandbox's own services (and the package's) use.
const FIRST: u32 = u32::from_be_bytes([127, 64, 0, 1]);
/// Past the last address: 127.128.0.0 (4 million addresses).
const END: u32 = u32::from_be_bytes([127, 128, 0, 0]);

/// Where a rerouted connection or datagram was going.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub dest: SocketAddr,
    /// The task that connected or sent (as the tracer numbers it).
    pub pid: i32,
}

/// The routes of one run.
#[derive(Debug)]
pub struct Routes {
    port: u16,
    /// Addresses never rerouted besides loopback: the sandbox's own.
    local: Vec<IpAddr>,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next: u32,
    by_route: HashMap<(i32, SocketAddr), Ipv4Addr>,
    by_addr: HashMap<Ipv4Addr, Route>,
}

impl Routes {
    /// Routes to the world `port` on 127.64.0.0/10; `local` are the
    /// sandbox's own non-loopback addresses (left alone, like loopback).
    pub fn new(port: u16, local: Vec<IpAddr>) -> Routes {
        Routes { port, local, table: Mutex::new(Table { next: FIRST, ..Table::default() }) }
    }

    /// Is `ip` one the run reaches directly: loopback, unspecified (which
    /// Linux takes as "this host"), or the sandbox's own?
    fn is_local(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_loopback() || ip.is_unspecified() || self.local.contains(&ip)
    }

    /// The sink address for `dest` as `pid` sends to it; None for local
    /// destinations, and once every address is taken.
    pub fn route(&self, pid: i32, dest: SocketAddr) -> Option<SocketAddrV4> {
        if self.is_local(dest.ip()) {
            return None;
        }
        // One entry per destination, whatever the family the task used.
        let dest = SocketAddr::new(dest.ip().to_canonical(), dest.port());
        let mut table = lock(&self.table);
        if let Some(ip) = table.by_route.get(&(pid, dest)) {
            return Some(SocketAddrV4::new(*ip, self.port));
        }
        if table.next >= END {
            return None;
        }
        let ip = Ipv4Addr::from(table.next);
        table.next += 1;
        table.by_route.insert((pid, dest), ip);
        table.by_addr.insert(ip, Route { dest, pid });
        Some(SocketAddrV4::new(ip, self.port))
    }

    /// The route a sink address (as `getsockname` or `IP_PKTINFO` gives
    /// it; IPv4-mapped accepted) was handed out for.
    pub fn lookup(&self, sink: IpAddr) -> Option<Route> {
        let IpAddr::V4(ip) = sink.to_canonical() else { return None };
        lock(&self.table).by_addr.get(&ip).copied()
    }
}

impl tracer::ptrace::Redirect for Routes {
    fn route(&self, pid: i32, dest: SocketAddr) -> Option<SocketAddrV4> {
        Routes::route(self, pid, dest)
    }

    fn original(&self, sink: SocketAddrV4) -> Option<SocketAddr> {
        (sink.port() == self.port).then(|| self.lookup(IpAddr::V4(*sink.ip()))).flatten().map(|r| r.dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_task_and_destination_gets_its_own_address() {
        let routes = Routes::new(4000, vec!["10.255.255.1".parse().unwrap()]);
        let c2: SocketAddr = "203.0.113.7:4444".parse().unwrap();
        let a = routes.route(10, c2).unwrap();
        assert_eq!(a.port(), 4000);
        assert!(a.ip().is_loopback());
        assert_eq!(routes.route(10, c2), Some(a), "the same task and destination: the same address");
        let b = routes.route(11, c2).unwrap();
        assert_ne!(a, b);
        assert_eq!(routes.lookup(IpAddr::V4(*b.ip())), Some(Route { dest: c2, pid: 11 }));
        // IPv4-mapped destinations are the same destination.
        let mapped: SocketAddr = "[::ffff:203.0.113.7]:4444".parse().unwrap();
        assert_eq!(routes.route(10, mapped), Some(a));
        let v6: SocketAddr = "[2001:db8::44]:31337".parse().unwrap();
        let c = routes.route(10, v6).unwrap();
        assert_eq!(routes.lookup(IpAddr::V6(c.ip().to_ipv6_mapped())).map(|r| r.dest), Some(v6));
        use tracer::ptrace::Redirect;
        assert_eq!(Redirect::original(&routes, c), Some(v6));
        assert_eq!(Redirect::original(&routes, SocketAddrV4::new(*c.ip(), 53)), None, "another port");
    }

    #[test]
    fn local_destinations_are_not_rerouted() {
        let routes = Routes::new(4000, vec!["10.255.255.1".parse().unwrap()]);
        for local in
            ["127.0.0.1:80", "127.64.0.9:4000", "0.0.0.0:80", "[::1]:443", "[::ffff:127.0.0.1]:80", "10.255.255.1:8080"]
        {
            assert_eq!(routes.route(1, local.parse().unwrap()), None, "{local}");
        }
        assert_eq!(routes.lookup("127.0.0.1".parse().unwrap()), None);
    }
}
