//! The sinks' shared state and their TCP front door: [`Sinks`] binds every
//! socket and starts the threads, the state they share records what they
//! saw (capped), and one loop accepts TCP connections and hands each to the
//! DNS-over-TCP server or the generic sink.

use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::mitm::RunCa;
use super::received::Received;
use super::routes::{Route, Routes};
use super::sinkhole::Assignments;
use super::{dns, tcp, udp, DnsRecord, SinkLog};

/// The ports every run should sink; the caller adds its extra ports to these
/// and passes the whole list to [`Sinks::start`].
pub const DEFAULT_TCP_PORTS: [u16; 2] = [80, 443];

/// Read timeout of every socket: the longest a thread goes without looking
/// at the stop flag.
pub(super) const POLL: Duration = Duration::from_millis(100);
/// Sleep of the accept loop when no listener had a pending connection.
pub(super) const ACCEPT_POLL: Duration = Duration::from_millis(10);
/// Concurrent connection threads; beyond this, connections are recorded
/// and closed at once so a connect flood cannot spawn unbounded threads.
const MAX_CONNECTIONS: usize = 256;
/// Records kept per list; later ones are counted and dropped.
const MAX_RECORDS: usize = 20_000;
/// Connections accepted per listener after the stop flag is set, so that
/// what already reached the backlog is still recorded.
pub(super) const FINAL_ACCEPTS: usize = 1024;

/// State shared by the sink threads and [`Sinks`].
#[derive(Default)]
pub(super) struct Shared {
    stop: AtomicBool,
    /// Arrival counter: records are completed out of order (a slow TCP
    /// client finishes after a fast one that came later), so each gets its
    /// number when it arrives and the lists are sorted at the end.
    seq: AtomicU64,
    pub(super) dns: Mutex<Vec<(u64, DnsRecord)>>,
    received: Mutex<Vec<(u64, Received)>>,
    pub(super) names: Mutex<Assignments>,
    /// The world's routes (see [`World`]).
    routes: Option<Arc<Routes>>,
    /// The run's CA, when TLS is terminated.
    pub(super) ca: Option<Arc<RunCa>>,
    dropped: AtomicUsize,
    pub(super) panics: AtomicUsize,
}

/// A panicking thread must not take the records down with it.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(super) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub(super) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    pub(super) fn record_dns(&self, seq: u64, record: DnsRecord) {
        tracing::debug!(name = %record.name, qtype = %record.qtype, transport = %record.transport, "DNS sink query");
        push_capped(&mut lock(&self.dns), (seq, record), &self.dropped);
    }

    pub(super) fn record_received(&self, seq: u64, record: Received) {
        tracing::debug!(dest = %record.dest, protocol = record.protocol, host = ?record.host, "network sink received");
        push_capped(&mut lock(&self.received), (seq, record), &self.dropped);
    }

    /// Where a connection or datagram to the sink address `ip` was going.
    pub(super) fn route(&self, ip: IpAddr) -> Option<Route> {
        self.routes.as_ref()?.lookup(ip)
    }

    pub(super) fn name_for(&self, ip: IpAddr) -> Option<String> {
        match ip.to_canonical() {
            IpAddr::V4(v4) => lock(&self.names).name_for(v4),
            IpAddr::V6(_) => None,
        }
    }

    fn join(&self, handle: JoinHandle<()>) {
        if handle.join().is_err() {
            self.panics.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn push_capped<T>(list: &mut Vec<T>, item: T, dropped: &AtomicUsize) {
    if list.len() < MAX_RECORDS {
        list.push(item);
    } else {
        dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// The running sinks. Dropping them without [`Sinks::stop`] also stops the
/// threads, but discards the records.
pub struct Sinks {
    pub(super) shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    dns_addr: SocketAddr,
    tcp_ports: Vec<u16>,
    world_port: Option<u16>,
}

/// The rest of the internet: a TCP and a UDP socket on one port of
/// 0.0.0.0 (the world port) that every connection and datagram to an
/// internet address reaches, rerouted by the tracer through [`Routes`].
#[derive(Debug, Default)]
pub struct World {
    /// The sandbox's own non-loopback addresses, reached directly.
    pub local: Vec<IpAddr>,
    /// Terminate TLS with this CA (which the sandbox trusts).
    pub ca: Option<Arc<RunCa>>,
}

/// Everything the sinks recorded, in arrival order.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The DNS sink's questions.
    pub log: SinkLog,
    /// Each connection and datagram, as `request` events will show it.
    pub received: Vec<Received>,
}

/// What an accepted TCP connection is for.
#[derive(Clone, Copy)]
enum Service {
    Dns,
    Sink,
}

impl Sinks {
    /// Binds every socket NOW, in the network namespace of the calling thread (the caller
    /// has already entered the sandbox's netns), and serves them on background threads.
    /// `dns_addr` is normally 127.0.0.1:53; `tcp_ports` are bound on 0.0.0.0 (and [::] if possible).
    ///
    /// Port 0 (for DNS or in `tcp_ports`) means any free port; see
    /// [`Sinks::dns_local_addr`] and [`Sinks::tcp_local_ports`]. `tcp_ports`
    /// is the complete list: include [`DEFAULT_TCP_PORTS`]. Repeated non-zero
    /// ports are bound once.
    pub fn start(dns_addr: SocketAddr, tcp_ports: &[u16], world: Option<World>) -> io::Result<Sinks> {
        // Everything is bound before any thread starts, so a failure leaves
        // nothing running and the error names the port.
        let (udp, dns_tcp) = dns::bind_dns(dns_addr)?;
        let dns_local = udp.local_addr()?;
        let mut listeners = vec![(Service::Dns, dns_tcp)];
        let mut ports = Vec::new();
        for &port in tcp_ports {
            if port != 0 && ports.contains(&port) {
                continue;
            }
            let (bound, sockets) = tcp::bind_sink(port)
                .map_err(|e| io::Error::new(e.kind(), format!("binding TCP sink on port {port}: {e}")))?;
            ports.push(bound);
            listeners.extend(sockets.into_iter().map(|l| (Service::Sink, l)));
        }
        let mut shared = Shared::default();
        let mut world_udp = None;
        let mut world_port = None;
        if let Some(world) = world {
            let (tcp, udp) =
                bind_world().map_err(|e| io::Error::new(e.kind(), format!("binding the world sink: {e}")))?;
            let port = tcp.local_addr()?.port();
            listeners.push((Service::Sink, tcp));
            world_udp = Some(udp);
            world_port = Some(port);
            shared.routes = Some(Arc::new(Routes::new(port, world.local)));
            shared.ca = world.ca;
        }
        for (_, listener) in &listeners {
            // One thread polls all listeners; std has no poll(2), and a
            // blocking accept could not see the stop flag.
            listener.set_nonblocking(true)?;
        }
        udp.set_read_timeout(Some(POLL))?;

        let mut sinks =
            Sinks { shared: Arc::new(shared), threads: Vec::new(), dns_addr: dns_local, tcp_ports: ports, world_port };
        let shared = Arc::clone(&sinks.shared);
        // If a spawn fails, `?` drops `sinks`, whose Drop stops the threads
        // already running.
        sinks
            .threads
            .push(thread::Builder::new().name("sink-dns-udp".into()).spawn(move || dns::serve_udp(&udp, &shared))?);
        if let Some(socket) = world_udp {
            let shared = Arc::clone(&sinks.shared);
            sinks.threads.push(
                thread::Builder::new().name("sink-world-udp".into()).spawn(move || udp::serve(&socket, &shared))?,
            );
        }
        let shared = Arc::clone(&sinks.shared);
        sinks
            .threads
            .push(thread::Builder::new().name("sink-accept".into()).spawn(move || accept_loop(&listeners, &shared))?);
        Ok(sinks)
    }

    /// The routes into the world sink, for the tracer (None without a world).
    pub fn routes(&self) -> Option<Arc<Routes>> {
        self.shared.routes.clone()
    }

    /// The world port (TCP and UDP), when there is a world.
    pub fn world_port(&self) -> Option<u16> {
        self.world_port
    }

    /// The address the DNS sink listens on (UDP and TCP).
    pub fn dns_local_addr(&self) -> SocketAddr {
        self.dns_addr
    }

    /// The ports the TCP sinks listen on, in the order given to
    /// [`Sinks::start`] (port 0 replaced by the port chosen, repeats removed).
    pub fn tcp_local_ports(&self) -> Vec<u16> {
        self.tcp_ports.clone()
    }

    /// The name a sinkhole address was handed out for.
    pub fn name_for(&self, ip: IpAddr) -> Option<String> {
        self.shared.name_for(ip)
    }

    /// Stops the threads (they must not block forever: use timeouts / nonblocking + a stop flag)
    /// and returns everything recorded, in arrival order.
    pub fn stop(mut self) -> Recorded {
        self.shutdown();
        self.take_log()
    }

    /// Sets the stop flag and waits for every thread. Idempotent.
    pub(super) fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for handle in self.threads.drain(..) {
            self.shared.join(handle);
        }
        let panics = self.shared.panics.load(Ordering::SeqCst);
        if panics > 0 {
            tracing::error!(panics, "network sink threads panicked; their records are missing");
        }
    }

    pub(super) fn take_log(&self) -> Recorded {
        let dropped = self.shared.dropped.load(Ordering::SeqCst);
        if dropped > 0 {
            tracing::warn!(dropped, limit = MAX_RECORDS, "network sinks dropped records over the limit");
        }
        let mut dns = std::mem::take(&mut *lock(&self.shared.dns));
        let mut received = std::mem::take(&mut *lock(&self.shared.received));
        dns.sort_by_key(|(seq, _)| *seq);
        received.sort_by_key(|(seq, _)| *seq);
        Recorded {
            log: SinkLog { dns: dns.into_iter().map(|(_, r)| r).collect() },
            received: received.into_iter().map(|(_, r)| r).collect(),
        }
    }
}

impl Drop for Sinks {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub(super) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}

/// Runs `serve_one` (one datagram; false when none was waiting) on a UDP
/// socket with a read timeout until the sinks stop, then once more for
/// each datagram already queued: those were sent before stop was called.
pub(super) fn serve_datagrams(
    socket: &std::net::UdpSocket,
    shared: &Shared,
    mut serve_one: impl FnMut(&std::net::UdpSocket) -> bool,
) {
    while !shared.stopping() {
        serve_one(socket);
    }
    if socket.set_nonblocking(true).is_ok() {
        for _ in 0..FINAL_ACCEPTS {
            if !serve_one(socket) {
                break;
            }
        }
    }
}

/// The world's TCP listener and UDP socket, on one free port of 0.0.0.0.
/// The kernel picks the TCP port, which can be taken for UDP; a few fresh
/// picks make that race harmless.
fn bind_world() -> io::Result<(TcpListener, std::net::UdpSocket)> {
    let mut last = None;
    for _ in 0..16 {
        let tcp = TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, 0))?;
        match udp::bind(tcp.local_addr()?.port()) {
            Ok(udp) => return Ok((tcp, udp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| ErrorKind::AddrInUse.into()))
}

/// Accepts on every TCP listener and hands each connection to a thread.
fn accept_loop(listeners: &[(Service, TcpListener)], shared: &Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stopping() {
        let mut idle = true;
        for (service, listener) in listeners {
            match listener.accept() {
                Ok((stream, _)) => {
                    idle = false;
                    dispatch(*service, stream, shared, &mut workers);
                }
                Err(e) if is_timeout(&e) => {}
                // EMFILE and the like: the sleep below is the back-off.
                Err(e) => tracing::debug!(error = %e, "network sink accept failed"),
            }
        }
        if idle {
            thread::sleep(ACCEPT_POLL);
        }
    }
    // Connections already in the backlog reached the sink before stop was
    // called; they are recorded with whatever they have sent by now.
    for (service, listener) in listeners {
        for _ in 0..FINAL_ACCEPTS {
            let Ok((stream, _)) = listener.accept() else { break };
            dispatch(*service, stream, shared, &mut workers);
        }
    }
    for worker in workers {
        shared.join(worker);
    }
}

fn dispatch(service: Service, stream: TcpStream, shared: &Arc<Shared>, workers: &mut Vec<JoinHandle<()>>) {
    let seq = shared.next_seq();
    let (done, running): (Vec<_>, Vec<_>) = workers.drain(..).partition(|w| w.is_finished());
    *workers = running;
    for worker in done {
        shared.join(worker);
    }
    if workers.len() >= MAX_CONNECTIONS {
        if let Service::Sink = service {
            shared.record_received(seq, tcp::unread(&stream, shared));
        }
        return;
    }
    let thread_shared = Arc::clone(shared);
    let spawned = thread::Builder::new().name("sink-conn".into()).spawn(move || match service {
        Service::Dns => dns::serve_dns_tcp(stream, None, &thread_shared),
        Service::Sink => tcp::serve_sink(stream, &thread_shared, seq),
    });
    match spawned {
        Ok(handle) => workers.push(handle),
        Err(e) => tracing::warn!(error = %e, "network sink could not start a connection thread"),
    }
}

/// Printable ASCII as is, everything else (and `\`) escaped, so a report
/// cannot be corrupted by control characters the client chose. Used for
/// every string the HTTP and TLS parsers take from the client.
pub(super) fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::UdpSocket;
    use std::time::Instant;

    use event::testutil::Rng;

    use super::*;
    use crate::sinks::dns::{handle_dns, DNS_HEADER_LEN};
    use crate::sinks::http::parse_http;
    use crate::sinks::tcp::{request_complete, IDLE_LIMIT};
    use crate::sinks::testutil::{client_hello, connect, localhost, query, start, stop_checked};
    use crate::sinks::tls::tls_sni;

    #[test]
    fn silent_clients_do_not_hang_stop() {
        let sinks = start();
        let silent = connect(localhost(), sinks.tcp_local_ports()[0]);
        let silent_dns = connect(localhost(), sinks.dns_local_addr().port());
        // Let the accept loop pick them up.
        thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        let log = stop_checked(sinks);
        assert!(started.elapsed() < IDLE_LIMIT, "stop took {:?}", started.elapsed());
        assert_eq!(log.received.len(), 1);
        assert!(log.received[0].data.is_empty());
        drop((silent, silent_dns));
    }

    fn garbage_payloads() -> Vec<Vec<u8>> {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut payloads: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x16, 3, 1, 0xff, 0xff],
            vec![0x16, 3, 1, 0, 5, 1, 0xff, 0xff, 0xff, 0xff],
            vec![0x16, 3, 1, 0, 0, 0x16, 3, 1, 0, 0],
            b"GET".to_vec(),
            b"GET / FTP/1.0\r\nHost: x\r\n\r\n".to_vec(),
            b"\x00\x00\x00\x00".to_vec(),
            // DNS header with QR set, pointer loop, huge counts.
            vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1],
            vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1],
            vec![0, 1, 0x28, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0],
            vec![0xff; 300],
        ];
        for _ in 0..20 {
            payloads.push(rng.bytes(600));
            payloads.push(rng.mutate(&client_hello()));
            payloads.push(rng.mutate(&query(9, "x.example", 1)));
        }
        payloads
    }

    #[test]
    fn garbage_on_every_socket_never_panics() {
        let sinks = start();
        let dns_addr = sinks.dns_local_addr();
        let payloads = garbage_payloads();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        for payload in &payloads {
            udp.send_to(payload, dns_addr).unwrap();
        }
        let mut ports = sinks.tcp_local_ports();
        ports.push(dns_addr.port());
        let mut streams = Vec::new();
        for port in ports {
            for payload in payloads.iter().take(24) {
                let mut stream = connect(localhost(), port);
                let _ = stream.write_all(payload);
                streams.push(stream);
            }
            // Garbage that claims to be framed DNS.
            let mut stream = connect(localhost(), port);
            let _ = stream.write_all(&[0, 0, 0, 3, 1, 2, 3]);
            streams.push(stream);
        }
        thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        let log = stop_checked(sinks);
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(!log.received.is_empty());
        drop(streams);
    }

    #[test]
    fn parsers_survive_fuzzing() {
        let shared = Shared::default();
        let seeds = [
            client_hello(),
            query(1, "registry.npmjs.org", 1),
            b"GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n".to_vec(),
        ];
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for round in 0..20_000 {
            let seed = rng.below(seeds.len());
            let buf = if round % 4 == 0 { rng.bytes(400) } else { rng.mutate(&seeds[seed]) };
            let _ = tls_sni(&buf);
            let _ = parse_http(&buf);
            let _ = request_complete(&buf);
            if let Some(reply) = handle_dns(&buf, "udp", None, &shared) {
                assert!(reply.len() >= DNS_HEADER_LEN);
                assert_eq!(reply[..2], buf[..2]);
            }
        }
    }
}
