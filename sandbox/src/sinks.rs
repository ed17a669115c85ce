//! Network sinks: a fake internet inside the sandbox's network namespace.
//!
//! The package under test runs in a network namespace that has only
//! loopback, so nothing it sends can leave the machine. Blocking alone would
//! hide intent: a `connect` that fails with `ENETUNREACH` says nothing about
//! the URL the code wanted. These sinks answer instead, just enough for the
//! package to show its hand:
//!
//! * a DNS server (UDP and TCP, normally on 127.0.0.1:53) that records every
//!   question and answers `A` questions with a per-name **sinkhole address**
//!   in 127.53.0.0/16 (see [`sinkhole`]), so a later connection to that
//!   address can be mapped back to the name it was handed out for;
//! * TCP sinks (80, 443 and whatever else the caller asks for) that accept
//!   every connection, keep the first bytes, pick out the HTTP request line
//!   and `Host` header or the TLS ClientHello's SNI, answer HTTP with an empty
//!   `200 OK` and close everything else.
//!
//! Everything here parses bytes chosen by a hostile package: parsing uses
//! checked slicing only, every read has a timeout, and every thread watches
//! a stop flag, so [`Sinks::stop`] returns promptly whatever clients do.
//! Record counts are capped so a flood cannot exhaust the analyzer's memory.

use std::collections::hash_map::{Entry, HashMap};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use event::dns;

/// The ports every run should sink; the caller adds its extra ports to these
/// and passes the whole list to [`Sinks::start`].
pub const DEFAULT_TCP_PORTS: [u16; 2] = [80, 443];

/// Read timeout of every socket: the longest a thread goes without looking
/// at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// Sleep of the accept loop when no listener had a pending connection.
const ACCEPT_POLL: Duration = Duration::from_millis(10);
/// A client that sends nothing for this long has said all it will say
/// before it gets an answer.
const IDLE_LIMIT: Duration = Duration::from_secs(2);
/// Upper bound for one read phase, against clients that drip a byte just
/// before every idle timeout.
const READ_DEADLINE: Duration = Duration::from_secs(10);
/// A client that does not read its response must not hold a thread.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long an HTTP connection is drained after the response (see
/// [`drain`]).
const DRAIN_LIMIT: Duration = Duration::from_millis(500);
/// Bytes read from a TCP sink connection before it is classified.
const MAX_FIRST_BYTES: usize = 4096;
/// Bytes kept verbatim in a [`TcpRecord`].
const MAX_RAW: usize = 256;
/// Concurrent connection threads; beyond this, connections are recorded
/// and closed at once so a connect flood cannot spawn unbounded threads.
const MAX_CONNECTIONS: usize = 256;
/// Records kept per list; later ones are counted and dropped.
const MAX_RECORDS: usize = 20_000;
/// Connections accepted per listener after the stop flag is set, so that
/// what already reached the backlog is still recorded.
const FINAL_ACCEPTS: usize = 1024;
/// Sinkhole addresses tried for one name before giving up on a unique one.
const MAX_PROBES: u32 = 64;

const DNS_HEADER_LEN: usize = 12;
const DNS_TTL: u32 = 60;
const DNS_FLAG_QR: u16 = 0x8000;
const DNS_FLAG_RA: u16 = 0x0080;
/// Opcode and RD bits, copied from the query as resolvers expect.
const DNS_COPIED_FLAGS: u16 = 0x7900;
const RCODE_FORMERR: u16 = 1;
const RCODE_NOTIMP: u16 = 4;

const HTTP_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

pub use report::sinks::{DnsRecord, SinkLog, TcpRecord};

/// The sinkhole address for a name: deterministic, in 127.53.0.0/16, never
/// the .0.0 or .0.1 host. `name` is compared as the DNS sink reports it
/// (lower-cased, no trailing dot); case is ignored here too.
///
/// Two names can hash to the same address. The DNS sink then hands the later
/// name another address (see [`Assignments::assign`]), so its answer differs
/// from this function only after such a collision.
pub fn sinkhole(name: &str) -> Ipv4Addr {
    sinkhole_probe(&name.to_ascii_lowercase(), 0)
}

/// Address number `attempt` in the probe sequence of `name`.
fn sinkhole_probe(name: &str, attempt: u32) -> Ipv4Addr {
    // FNV-1a: stable across Rust versions and runs, unlike `DefaultHasher`,
    // so the same name gets the same address in every report.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes().chain(attempt.to_be_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 32;
    // 65534 host numbers starting at 2 skip 127.53.0.0 and 127.53.0.1, which
    // look like network/well-known addresses in a report.
    let host = 2 + (hash % 65_534) as u16;
    let [hi, lo] = host.to_be_bytes();
    Ipv4Addr::new(127, 53, hi, lo)
}

/// Which name each sinkhole address was given out for.
#[derive(Default)]
struct Assignments {
    by_name: HashMap<String, Ipv4Addr>,
    by_ip: HashMap<Ipv4Addr, String>,
}

impl Assignments {
    /// The address for `name`: the one it already has, else the first free
    /// one of its probe sequence, so that every address maps back to exactly
    /// one name. Once the probes find nothing free (tens of thousands of
    /// names), the name shares [`sinkhole`]'s address and `name_for` keeps
    /// answering with the earlier name.
    fn assign(&mut self, name: &str) -> Ipv4Addr {
        if let Some(ip) = self.by_name.get(name) {
            return *ip;
        }
        for attempt in 0..MAX_PROBES {
            let ip = sinkhole_probe(name, attempt);
            if let Entry::Vacant(slot) = self.by_ip.entry(ip) {
                slot.insert(name.to_owned());
                self.by_name.insert(name.to_owned(), ip);
                return ip;
            }
        }
        sinkhole_probe(name, 0)
    }
}

/// State shared by the sink threads and [`Sinks`].
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Arrival counter: records are completed out of order (a slow TCP
    /// client finishes after a fast one that came later), so each gets its
    /// number when it arrives and the lists are sorted at the end.
    seq: AtomicU64,
    dns: Mutex<Vec<(u64, DnsRecord)>>,
    tcp: Mutex<Vec<(u64, TcpRecord)>>,
    names: Mutex<Assignments>,
    dropped: AtomicUsize,
    panics: AtomicUsize,
}

/// A panicking thread must not take the records down with it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    fn record_dns(&self, seq: u64, record: DnsRecord) {
        tracing::debug!(name = %record.name, qtype = %record.qtype, transport = %record.transport, "DNS sink query");
        push_capped(&mut lock(&self.dns), (seq, record), &self.dropped);
    }

    fn record_tcp(&self, seq: u64, record: TcpRecord) {
        tracing::debug!(port = record.port, ip = %record.local_ip, host = ?record.host, "TCP sink connection");
        push_capped(&mut lock(&self.tcp), (seq, record), &self.dropped);
    }

    fn name_for(&self, ip: IpAddr) -> Option<String> {
        match ip.to_canonical() {
            IpAddr::V4(v4) => lock(&self.names).by_ip.get(&v4).cloned(),
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
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    dns_addr: SocketAddr,
    tcp_ports: Vec<u16>,
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
    pub fn start(dns_addr: SocketAddr, tcp_ports: &[u16]) -> io::Result<Sinks> {
        // Everything is bound before any thread starts, so a failure leaves
        // nothing running and the error names the port.
        let (udp, dns_tcp) = bind_dns(dns_addr)?;
        let dns_local = udp.local_addr()?;
        let mut listeners = vec![(Service::Dns, dns_tcp)];
        let mut ports = Vec::new();
        for &port in tcp_ports {
            if port != 0 && ports.contains(&port) {
                continue;
            }
            let (bound, sockets) = bind_sink(port)
                .map_err(|e| io::Error::new(e.kind(), format!("binding TCP sink on port {port}: {e}")))?;
            ports.push(bound);
            listeners.extend(sockets.into_iter().map(|l| (Service::Sink, l)));
        }
        for (_, listener) in &listeners {
            // One thread polls all listeners; std has no poll(2), and a
            // blocking accept could not see the stop flag.
            listener.set_nonblocking(true)?;
        }
        udp.set_read_timeout(Some(POLL))?;

        let mut sinks = Sinks { shared: Arc::default(), threads: Vec::new(), dns_addr: dns_local, tcp_ports: ports };
        let shared = Arc::clone(&sinks.shared);
        // If a spawn fails, `?` drops `sinks`, whose Drop stops the threads
        // already running.
        sinks.threads.push(thread::Builder::new().name("sink-dns-udp".into()).spawn(move || serve_udp(&udp, &shared))?);
        let shared = Arc::clone(&sinks.shared);
        sinks
            .threads
            .push(thread::Builder::new().name("sink-accept".into()).spawn(move || accept_loop(&listeners, &shared))?);
        Ok(sinks)
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
    pub fn stop(mut self) -> SinkLog {
        self.shutdown();
        self.take_log()
    }

    /// Sets the stop flag and waits for every thread. Idempotent.
    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for handle in self.threads.drain(..) {
            self.shared.join(handle);
        }
        let panics = self.shared.panics.load(Ordering::SeqCst);
        if panics > 0 {
            tracing::error!(panics, "network sink threads panicked; their records are missing");
        }
    }

    fn take_log(&self) -> SinkLog {
        let dropped = self.shared.dropped.load(Ordering::SeqCst);
        if dropped > 0 {
            tracing::warn!(dropped, limit = MAX_RECORDS, "network sinks dropped records over the limit");
        }
        let mut dns = std::mem::take(&mut *lock(&self.shared.dns));
        let mut tcp = std::mem::take(&mut *lock(&self.shared.tcp));
        dns.sort_by_key(|(seq, _)| *seq);
        tcp.sort_by_key(|(seq, _)| *seq);
        SinkLog { dns: dns.into_iter().map(|(_, r)| r).collect(), tcp: tcp.into_iter().map(|(_, r)| r).collect() }
    }
}

impl Drop for Sinks {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// UDP and TCP sockets on the same DNS address. For port 0 the TCP port
/// must match the one the kernel chose for UDP, which can be taken for TCP;
/// a few fresh picks make that race harmless.
fn bind_dns(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let annotate = |e: io::Error| io::Error::new(e.kind(), format!("binding DNS sink on {addr}: {e}"));
    let attempts = if addr.port() == 0 { 16 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(addr).map_err(annotate)?;
        let bound = udp.local_addr()?;
        match TcpListener::bind(bound) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(annotate(last.unwrap_or_else(|| ErrorKind::AddrInUse.into())))
}

/// Listeners for one sink port and the port they got.
///
/// `[::]` is bound first: where `net.ipv6.bindv6only` is 0 (the Linux
/// default) that socket also takes IPv4, and binding `0.0.0.0` afterwards
/// fails with `AddrInUse`, which is then expected. Binding `0.0.0.0` first
/// would make `[::]` fail instead and leave `::1` unserved, and std cannot
/// set `IPV6_V6ONLY` to avoid the conflict. Without IPv6 only `0.0.0.0` is
/// bound.
fn bind_sink(port: u16) -> io::Result<(u16, Vec<TcpListener>)> {
    let v6 = TcpListener::bind((Ipv6Addr::UNSPECIFIED, port));
    let port = match &v6 {
        Ok(listener) => listener.local_addr()?.port(),
        Err(_) => port,
    };
    let v4 = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port));
    match (v6, v4) {
        (Ok(a), Ok(b)) => Ok((port, vec![a, b])),
        (Ok(a), Err(e)) if e.kind() == ErrorKind::AddrInUse => Ok((port, vec![a])),
        (_, Ok(b)) => Ok((port, vec![b])),
        (_, Err(e)) => Err(e),
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}

fn serve_udp(socket: &UdpSocket, shared: &Shared) {
    // Large enough for any datagram, so no query arrives cut.
    let mut buf = vec![0u8; 65_536];
    let mut serve_one = |socket: &UdpSocket| match socket.recv_from(&mut buf) {
        Ok((n, peer)) => {
            if let Some(reply) = handle_dns(&buf[..n], "udp", shared) {
                if let Err(e) = socket.send_to(&reply, peer) {
                    tracing::debug!(%peer, error = %e, "DNS sink could not send a UDP reply");
                }
            }
            true
        }
        Err(e) if is_timeout(&e) => false,
        Err(e) => {
            tracing::debug!(error = %e, "DNS sink UDP receive failed");
            thread::sleep(ACCEPT_POLL);
            false
        }
    };
    while !shared.stopping() {
        serve_one(socket);
    }
    // Queries already queued arrived before stop was called; record them.
    if socket.set_nonblocking(true).is_ok() {
        for _ in 0..FINAL_ACCEPTS {
            if !serve_one(socket) {
                break;
            }
        }
    }
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
            shared.record_tcp(seq, sink_record(&stream, &[], shared));
        }
        return;
    }
    let thread_shared = Arc::clone(shared);
    let spawned = thread::Builder::new().name("sink-conn".into()).spawn(move || match service {
        Service::Dns => serve_dns_tcp(stream, &thread_shared),
        Service::Sink => serve_sink(stream, &thread_shared, seq),
    });
    match spawned {
        Ok(handle) => workers.push(handle),
        Err(e) => tracing::warn!(error = %e, "network sink could not start a connection thread"),
    }
}

/// Accepted sockets may inherit the listener's non-blocking mode on some
/// systems; the handlers rely on blocking reads with a timeout.
fn prepare(stream: &TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))
}

/// Why [`fill`] returned.
#[derive(Debug, PartialEq, Eq)]
enum Fill {
    /// `complete` said yes or `cap` bytes arrived.
    Ready,
    /// Idle, too slow, or stopping.
    TimedOut,
    /// End of stream or a socket error.
    Closed,
}

/// Reads into `buf` until `complete(buf)`, `cap` bytes, end of stream,
/// [`IDLE_LIMIT`] without data, [`READ_DEADLINE`], or the stop flag.
///
/// The read comes before the checks so that bytes already waiting are
/// collected even when the sinks are stopping.
fn fill(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    cap: usize,
    shared: &Shared,
    complete: impl Fn(&[u8]) -> bool,
) -> Fill {
    let start = Instant::now();
    let mut last_data = start;
    let mut chunk = [0u8; 4096];
    loop {
        if buf.len() >= cap || complete(buf) {
            return Fill::Ready;
        }
        let stopping = shared.stopping();
        let want = (cap - buf.len()).min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Fill::Closed,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                last_data = Instant::now();
                continue;
            }
            Err(e) if is_timeout(&e) => {}
            Err(_) => return Fill::Closed,
        }
        if stopping || last_data.elapsed() >= IDLE_LIMIT || start.elapsed() >= READ_DEADLINE {
            return Fill::TimedOut;
        }
    }
}

/// Serves DNS over TCP: each message has a 2-byte length prefix, in both
/// directions, and a client may send several on one connection (glibc
/// sends its A and AAAA questions together).
fn serve_dns_tcp(mut stream: TcpStream, shared: &Shared) {
    if prepare(&stream).is_err() {
        return;
    }
    let frame_len = |buf: &[u8]| match buf {
        [hi, lo, ..] => Some(usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    };
    let mut buf = Vec::new();
    loop {
        let outcome = fill(&mut stream, &mut buf, 2 + usize::from(u16::MAX), shared, |b| {
            frame_len(b).is_some_and(|n| b.len() >= 2 + n)
        });
        while let Some(len) = frame_len(&buf).filter(|&n| buf.len() >= 2 + n) {
            if len < DNS_HEADER_LEN {
                // Not DNS framing; nothing sensible can follow.
                return;
            }
            let msg: Vec<u8> = buf.drain(..2 + len).skip(2).collect();
            if let Some(reply) = handle_dns(&msg, "tcp", shared) {
                let Ok(reply_len) = u16::try_from(reply.len()) else { return };
                let mut framed = reply_len.to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                if stream.write_all(&framed).is_err() {
                    return;
                }
            }
        }
        if outcome != Fill::Ready || shared.stopping() {
            return;
        }
    }
}

/// Records the questions of one DNS message and builds the reply, if one is
/// due.
fn handle_dns(msg: &[u8], transport: &str, shared: &Shared) -> Option<Vec<u8>> {
    let header = msg.get(..DNS_HEADER_LEN)?;
    if header[2] & 0x80 != 0 {
        // A response. Never answered, so that a reflected packet or two
        // sinks pointed at each other cannot loop.
        return None;
    }
    // The caller removed any TCP framing.
    let questions = dns::decode_query(msg, false);
    let question_end = questions.first().filter(|q| !q.truncated).and_then(|_| question_end(msg));
    let class_in = question_end.is_some_and(|end| msg.get(end - 2..end) == Some(&[0, 1][..]));
    let answer = match (questions.first(), question_end) {
        (Some(q), Some(_)) if q.qtype == "A" && class_in => Some(lock(&shared.names).assign(&q.name)),
        _ => None,
    };
    for (i, q) in questions.iter().enumerate() {
        let record = DnsRecord {
            name: q.name.clone(),
            qtype: q.qtype.clone(),
            answer: if i == 0 { answer } else { None },
            transport: transport.to_owned(),
        };
        shared.record_dns(shared.next_seq(), record);
    }
    Some(build_reply(msg, question_end, answer))
}

/// Offset just past the first question (name, QTYPE, QCLASS).
fn question_end(msg: &[u8]) -> Option<usize> {
    let mut pos = DNS_HEADER_LEN;
    loop {
        let len = *msg.get(pos)?;
        match len & 0xC0 {
            0x00 if len == 0 => {
                pos += 1;
                break;
            }
            0x00 => pos += 1 + usize::from(len),
            0xC0 => {
                pos += 2;
                break;
            }
            _ => return None,
        }
    }
    let end = pos + 4;
    (end <= msg.len()).then_some(end)
}

/// The reply to a query whose header is `msg[..12]`.
///
/// With a question, the reply repeats it and is NOERROR, with one `A`
/// record when `answer` is given. Other types get an empty NOERROR (NODATA)
/// rather than NXDOMAIN: NXDOMAIN says the name does not exist at all, and
/// resolvers such as musl's fail the whole lookup when the AAAA half of
/// their parallel A+AAAA query gets it, so the package would never connect
/// to the sinkhole address. Without a usable question the reply is a bare
/// FORMERR (or NOTIMP for other opcodes), which ends the client's retries
/// at once instead of after its timeout.
fn build_reply(msg: &[u8], question_end: Option<usize>, answer: Option<Ipv4Addr>) -> Vec<u8> {
    let query_flags = u16::from_be_bytes([msg[2], msg[3]]);
    let opcode = (query_flags >> 11) & 0xF;
    let rcode = match question_end {
        Some(_) => 0,
        None if opcode != 0 => RCODE_NOTIMP,
        None => RCODE_FORMERR,
    };
    let flags = DNS_FLAG_QR | (query_flags & DNS_COPIED_FLAGS) | DNS_FLAG_RA | rcode;
    let qdcount = u16::from(question_end.is_some());
    let ancount = u16::from(answer.is_some());
    let mut reply = Vec::with_capacity(question_end.unwrap_or(DNS_HEADER_LEN) + 16);
    reply.extend_from_slice(&msg[..2]);
    for word in [flags, qdcount, ancount, 0, 0] {
        reply.extend_from_slice(&word.to_be_bytes());
    }
    if let Some(end) = question_end {
        // Only the first question is answered; EDNS and other additional
        // records are dropped, which every client accepts.
        reply.extend_from_slice(&msg[DNS_HEADER_LEN..end]);
        if let Some(ip) = answer {
            // Owner: compression pointer to the question name at offset 12.
            reply.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1]);
            reply.extend_from_slice(&DNS_TTL.to_be_bytes());
            reply.extend_from_slice(&4u16.to_be_bytes());
            reply.extend_from_slice(&ip.octets());
        }
    }
    reply
}

/// Serves one connection to a TCP sink.
fn serve_sink(mut stream: TcpStream, shared: &Shared, seq: u64) {
    let mut buf = Vec::new();
    if prepare(&stream).is_ok() {
        fill(&mut stream, &mut buf, MAX_FIRST_BYTES, shared, request_complete);
    }
    let record = sink_record(&stream, &buf, shared);
    let http = record.http_request.is_some();
    shared.record_tcp(seq, record);
    if http && stream.write_all(HTTP_RESPONSE).is_ok() {
        let _ = stream.shutdown(Shutdown::Write);
        drain(&mut stream, shared);
    }
    // TLS and everything else: closed by the drop. A TLS client that gets
    // no ServerHello fails like one behind a firewall that resets.
}

/// Reads and discards until the client closes, briefly. Closing a socket
/// with unread data (a request body) sends a reset, which can make the
/// client lose the response it has not read yet.
fn drain(stream: &mut TcpStream, shared: &Shared) {
    let start = Instant::now();
    let mut scratch = [0u8; 4096];
    while start.elapsed() < DRAIN_LIMIT {
        let stopping = shared.stopping();
        match stream.read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
        if stopping {
            return;
        }
    }
}

/// Has the client sent all it will send before it expects an answer?
fn request_complete(buf: &[u8]) -> bool {
    if let Some((_, complete)) = tls_handshake(buf) {
        return complete;
    }
    parse_http(buf).is_some() && (find(buf, b"\r\n\r\n").is_some() || find(buf, b"\n\n").is_some())
}

fn sink_record(stream: &TcpStream, buf: &[u8], shared: &Shared) -> TcpRecord {
    let local = stream.local_addr().ok();
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
    let local_ip = local.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip().to_canonical());
    let http = parse_http(buf);
    TcpRecord {
        port: local.map_or(0, |a| a.port()),
        local_ip,
        host: shared.name_for(local_ip),
        http_request: http.as_ref().map(|h| h.request_line.clone()),
        http_host: http.and_then(|h| h.host),
        tls_sni: tls_sni(buf),
        first_bytes: buf[..buf.len().min(MAX_RAW)].to_vec(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Printable ASCII as is, everything else (and `\`) escaped, so a report
/// cannot be corrupted by control characters the client chose.
fn printable(bytes: &[u8]) -> String {
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

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

struct HttpRequest {
    request_line: String,
    host: Option<String>,
}

/// The request line and `Host` header, when `buf` starts like an HTTP/1
/// request: an upper-case method, a space, and (once the line is complete)
/// a version starting with `HTTP/`. A request cut before the end of its
/// first line still counts, so a slow client is answered as HTTP too.
fn parse_http(buf: &[u8]) -> Option<HttpRequest> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    let line = trim_cr(&buf[..line_end.unwrap_or(buf.len())]);
    let method_len = line.iter().position(|&b| b == b' ')?;
    let method = &line[..method_len];
    if method.is_empty() || method.len() > 20 || !method.iter().all(|&b| b.is_ascii_uppercase() || b == b'-') {
        return None;
    }
    let mut host = None;
    if let Some(line_end) = line_end {
        let version = line.rsplit(|&b| b == b' ').next()?;
        if !version.starts_with(b"HTTP/") {
            return None;
        }
        // Only header lines that arrived whole: a cut `Host: evil.ex` would
        // name the wrong host.
        let rest = &buf[line_end + 1..];
        let whole = rest.iter().rposition(|&b| b == b'\n').map_or(&[][..], |end| &rest[..end]);
        host = whole.split(|&b| b == b'\n').map(trim_cr).take_while(|l| !l.is_empty()).find_map(|header| {
            let colon = header.iter().position(|&b| b == b':')?;
            header[..colon]
                .eq_ignore_ascii_case(b"host")
                .then(|| printable(header[colon + 1..].trim_ascii()).to_ascii_lowercase())
        });
    }
    Some(HttpRequest { request_line: printable(line), host })
}

/// The handshake bytes carried by the TLS records at the start of `buf`
/// (a ClientHello may span records), and whether the first handshake
/// message is complete. `None` when `buf` does not start with a TLS
/// handshake record.
fn tls_handshake(buf: &[u8]) -> Option<(Vec<u8>, bool)> {
    if !matches!(buf, [0x16, 3, ..]) {
        return None;
    }
    let mut handshake = Vec::new();
    let mut rest = buf;
    while let [0x16, 3, _, hi, lo, body @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let (fragment, after) = body.split_at(len.min(body.len()));
        handshake.extend_from_slice(fragment);
        if fragment.len() < len {
            break;
        }
        rest = after;
    }
    let complete = match handshake.as_slice() {
        [_, a, b, c, body @ ..] => body.len() >= usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c),
        _ => false,
    };
    Some((handshake, complete))
}

/// Checked big-endian reads from a shrinking slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    /// Up to `n` bytes: a ClientHello cut at the 4 KiB read limit still
    /// has its early extensions, where the server name usually is.
    fn take_upto(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        self.take(n).unwrap_or_default()
    }

    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u24(&mut self) -> Option<usize> {
        self.take(3).map(|b| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }
}

/// The host name of the `server_name` extension of a TLS ClientHello
/// (RFC 8446 4.1.2, RFC 6066 3).
fn tls_sni(buf: &[u8]) -> Option<String> {
    let (handshake, _) = tls_handshake(buf)?;
    let mut message = Reader(&handshake);
    if message.u8()? != 1 {
        return None;
    }
    let len = message.u24()?;
    let mut hello = Reader(message.take_upto(len));
    hello.take(2 + 32)?; // legacy_version, random
    let session_id = hello.u8()?;
    hello.take(session_id)?;
    let cipher_suites = hello.u16()?;
    hello.take(cipher_suites)?;
    let compression = hello.u8()?;
    hello.take(compression)?;
    let extensions_len = hello.u16()?;
    let mut extensions = Reader(hello.take_upto(extensions_len));
    while let (Some(kind), Some(len)) = (extensions.u16(), extensions.u16()) {
        let data = extensions.take(len)?;
        if kind == 0 {
            return server_name(data);
        }
    }
    None
}

fn server_name(data: &[u8]) -> Option<String> {
    let mut ext = Reader(data);
    let list_len = ext.u16()?;
    let mut list = Reader(ext.take_upto(list_len));
    while let Some(kind) = list.u8() {
        let len = list.u16()?;
        let name = list.take(len)?;
        if kind == 0 && !name.is_empty() {
            return Some(printable(name).to_ascii_lowercase());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL_DNS: &str = "127.0.0.1:0";
    const IO_TIMEOUT: Duration = Duration::from_secs(3);

    /// ClientHello of `openssl s_client -connect 127.0.0.1:PORT -servername
    /// sni.example -groups X25519 -tls1_3` (OpenSSL 3.0.19), as captured.
    const CLIENT_HELLO_HEX: &str =
        "16030100de010000da0303b7dadc8414b881602285f1427b3f96a30f4b3b5a0297411647c43eedd5b9ffb5\
        207973b5abfb8d4c29107a690f16aa472382300a716b8585fca803b47f48099d8e000813021303130100ff0100008900000010000e000\
        00b736e692e6578616d706c65000b000403000102000a00040002001d002300000016000000170000000d001e001c04030503060308070\
        8080809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d0020b5a0dc5bdec4ac8fd61016373\
        17a55ed5e96fe6d4751dfb3f72b807b08f6252c";

    fn client_hello() -> Vec<u8> {
        let hex: Vec<u8> = CLIENT_HELLO_HEX.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        hex.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
    }

    fn start() -> Sinks {
        Sinks::start(LOCAL_DNS.parse().unwrap(), &[0, 0]).unwrap()
    }

    /// Stops like [`Sinks::stop`] and also checks that no thread panicked.
    fn stop_checked(mut sinks: Sinks) -> SinkLog {
        sinks.shutdown();
        assert_eq!(sinks.shared.panics.load(Ordering::SeqCst), 0, "a sink thread panicked");
        sinks.take_log()
    }

    fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut msg = Vec::new();
        for word in [id, 0x0100, 1, 0, 0, 0] {
            msg.extend_from_slice(&word.to_be_bytes());
        }
        for label in name.split('.') {
            msg.push(u8::try_from(label.len()).unwrap());
            msg.extend_from_slice(label.as_bytes());
        }
        msg.push(0);
        msg.extend_from_slice(&qtype.to_be_bytes());
        msg.extend_from_slice(&1u16.to_be_bytes());
        msg
    }

    fn framed(msg: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(msg);
        out
    }

    fn word(msg: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([msg[at], msg[at + 1]])
    }

    /// Checks the reply header and returns the addresses of its A records.
    fn check_reply(reply: &[u8], id: u16, ancount: u16) -> Vec<IpAddr> {
        assert_eq!(word(reply, 0), id);
        let flags = word(reply, 2);
        assert_eq!(flags & 0x8000, 0x8000, "QR");
        assert_eq!(flags & 0x0080, 0x0080, "RA");
        assert_eq!(flags & 0x0100, 0x0100, "RD copied");
        assert_eq!(flags & 0xF, 0, "NOERROR");
        assert_eq!((word(reply, 4), word(reply, 6)), (1, ancount));
        dns::decode_answers(reply, false).into_iter().map(|a| a.ip).collect()
    }

    fn udp_exchange(server: SocketAddr, msg: &[u8]) -> Vec<u8> {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        socket.send_to(msg, server).unwrap();
        let mut buf = [0u8; 1024];
        let (n, _) = socket.recv_from(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    fn connect(ip: IpAddr, port: u16) -> TcpStream {
        let stream = TcpStream::connect_timeout(&SocketAddr::new(ip, port), IO_TIMEOUT).unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream
    }

    fn localhost() -> IpAddr {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }

    #[test]
    fn udp_a_query_gets_sinkhole_answer() {
        let sinks = start();
        let server = sinks.dns_local_addr();
        let reply = udp_exchange(server, &query(0x4242, "Evil.Example", 1));
        let expected = sinkhole("evil.example");
        assert_eq!(check_reply(&reply, 0x4242, 1), [IpAddr::V4(expected)]);
        // TTL of the answer (after header, question of 14+4 bytes, pointer, type, class).
        assert_eq!(&reply[12 + 18 + 6..12 + 18 + 10], &60u32.to_be_bytes());
        assert_eq!(sinks.name_for(IpAddr::V4(expected)).as_deref(), Some("evil.example"));
        assert_eq!(sinks.name_for(IpAddr::V6(expected.to_ipv6_mapped())).as_deref(), Some("evil.example"));

        // AAAA: empty NOERROR, not NXDOMAIN.
        let reply = udp_exchange(server, &query(7, "evil.example", 28));
        assert!(check_reply(&reply, 7, 0).is_empty());

        let log = stop_checked(sinks);
        let record = |qtype: &str, answer| DnsRecord {
            name: "evil.example".into(),
            qtype: qtype.into(),
            answer,
            transport: "udp".into(),
        };
        assert_eq!(log.dns, [record("A", Some(expected)), record("AAAA", None)]);
        assert!(log.tcp.is_empty());
    }

    #[test]
    fn tcp_dns_with_length_prefix() {
        let sinks = start();
        let mut stream = connect(localhost(), sinks.dns_local_addr().port());
        // Two questions in one write, as glibc sends them.
        let mut out = framed(&query(1, "a.example", 1));
        out.extend(framed(&query(2, "b.example", 16)));
        stream.write_all(&out).unwrap();
        let mut replies = Vec::new();
        for _ in 0..2 {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).unwrap();
            let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut reply).unwrap();
            replies.push(reply);
        }
        assert_eq!(check_reply(&replies[0], 1, 1), [IpAddr::V4(sinkhole("a.example"))]);
        assert!(check_reply(&replies[1], 2, 0).is_empty());
        drop(stream);

        let log = stop_checked(sinks);
        let got: Vec<_> = log.dns.iter().map(|r| (r.name.as_str(), r.qtype.as_str(), r.transport.as_str())).collect();
        assert_eq!(got, [("a.example", "A", "tcp"), ("b.example", "TXT", "tcp")]);
        assert_eq!(log.dns[0].answer, Some(sinkhole("a.example")));
    }

    #[test]
    fn http_request_is_recorded_and_answered() {
        let sinks = start();
        let port = sinks.tcp_local_ports()[0];
        let request = b"GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n";

        // First straight to 127.0.0.1, then to the sinkhole address of a
        // name the DNS sink handed out.
        let mut stream = connect(localhost(), port);
        stream.write_all(request).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&response));
        assert!(response.ends_with(b"\r\n\r\n"), "empty body");

        udp_exchange(sinks.dns_local_addr(), &query(3, "evil.example", 1));
        let ip = IpAddr::V4(sinkhole("evil.example"));
        let mut stream = connect(ip, port);
        stream.write_all(b"POST /upload HTTP/1.0\nhost: Evil.Example:8080\n\nbody").unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));

        let log = stop_checked(sinks);
        assert_eq!(log.tcp.len(), 2, "{:?}", log.tcp);
        assert_eq!(
            log.tcp[0],
            TcpRecord {
                port,
                local_ip: localhost(),
                host: None,
                http_request: Some("GET /x HTTP/1.1".into()),
                http_host: Some("evil.example".into()),
                tls_sni: None,
                first_bytes: request.to_vec(),
            }
        );
        let second = &log.tcp[1];
        assert_eq!((second.local_ip, second.host.as_deref()), (ip, Some("evil.example")));
        assert_eq!(second.http_request.as_deref(), Some("POST /upload HTTP/1.0"));
        assert_eq!(second.http_host.as_deref(), Some("evil.example:8080"));
    }

    #[test]
    fn tls_client_hello_gives_sni_and_is_closed() {
        let sinks = start();
        let port = sinks.tcp_local_ports()[1];
        let mut stream = connect(localhost(), port);
        stream.write_all(&client_hello()).unwrap();
        let started = Instant::now();
        let mut response = Vec::new();
        // Closed without an answer (a reset is fine too).
        let _ = stream.read_to_end(&mut response);
        assert!(response.is_empty());
        assert!(started.elapsed() < IDLE_LIMIT, "closed after the ClientHello, not after the idle timeout");

        let log = stop_checked(sinks);
        assert_eq!(log.tcp.len(), 1);
        let record = &log.tcp[0];
        assert_eq!(record.tls_sni.as_deref(), Some("sni.example"));
        assert_eq!((record.http_request.as_ref(), record.port), (None, port));
        assert_eq!(record.first_bytes, client_hello(), "227 bytes, under the 256-byte cap");
    }

    #[test]
    fn sni_across_records_and_cut_hellos() {
        let hello = client_hello();
        assert_eq!(tls_sni(&hello).as_deref(), Some("sni.example"));
        // The same handshake split over two records.
        let body = &hello[5..];
        let mut split = vec![0x16, 3, 1, 0, 40];
        split.extend_from_slice(&body[..40]);
        split.extend_from_slice(&[0x16, 3, 1, 0, u8::try_from(body.len() - 40).unwrap()]);
        split.extend_from_slice(&body[40..]);
        assert_eq!(tls_sni(&split).as_deref(), Some("sni.example"));
        assert!(request_complete(&split));
        assert!(!request_complete(&split[..60]));
        // Every prefix parses without panicking; the name needs its whole
        // extension.
        for end in 0..hello.len() {
            let sni = tls_sni(&hello[..end]);
            assert!(sni.is_none() || sni.as_deref() == Some("sni.example"));
        }
        assert_eq!(tls_sni(b"GET / HTTP/1.1\r\n\r\n"), None);
    }

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
        assert_eq!(log.tcp.len(), 1);
        assert!(log.tcp[0].first_bytes.is_empty());
        drop((silent, silent_dns));
    }

    use event::testutil::Rng;

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
        assert!(!log.tcp.is_empty());
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
            if let Some(reply) = handle_dns(&buf, "udp", &shared) {
                assert!(reply.len() >= DNS_HEADER_LEN);
                assert_eq!(reply[..2], buf[..2]);
            }
        }
    }

    #[test]
    fn dns_replies_to_bad_queries() {
        let shared = Shared::default();
        // A response is never answered.
        let mut response = query(5, "x.example", 1);
        response[2] |= 0x80;
        assert_eq!(handle_dns(&response, "udp", &shared), None);
        assert_eq!(handle_dns(&[0; 11], "udp", &shared), None);
        // An undecodable question: bare FORMERR with the same id.
        let mut bad = query(6, "x.example", 1);
        bad[12] = 0x80;
        let reply = handle_dns(&bad, "udp", &shared).unwrap();
        assert_eq!((word(&reply, 0), word(&reply, 2) & 0xF, word(&reply, 4)), (6, RCODE_FORMERR, 0));
        // Class CH: no address, but recorded.
        let mut chaos = query(7, "version.bind", 16);
        let len = chaos.len();
        chaos[len - 1] = 3;
        let reply = handle_dns(&chaos, "udp", &shared).unwrap();
        assert_eq!(word(&reply, 6), 0);
        assert_eq!(lock(&shared.dns).len(), 1);
    }

    #[test]
    fn sinkhole_is_deterministic_and_distinct() {
        let names = ["evil.example", "pypi.org", "registry.npmjs.org", "a.b.c", "x"];
        let ips: Vec<Ipv4Addr> = names.iter().map(|n| sinkhole(n)).collect();
        for (name, ip) in names.iter().zip(&ips) {
            assert_eq!(sinkhole(name), *ip);
            assert_eq!(sinkhole(&name.to_ascii_uppercase()), *ip);
            let [a, b, c, d] = ip.octets();
            assert_eq!((a, b), (127, 53));
            assert!((c, d) != (0, 0) && (c, d) != (0, 1), "{ip}");
        }
        let mut unique = ips.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ips.len());
    }

    #[test]
    fn colliding_names_get_distinct_addresses() {
        // With 65534 addresses, 2000 names collide somewhere with near
        // certainty (birthday bound); find one pair.
        let mut seen: HashMap<Ipv4Addr, String> = HashMap::new();
        let (first, second) = (0..2000)
            .map(|i| format!("n{i}.example"))
            .find_map(|name| seen.insert(sinkhole(&name), name.clone()).map(|previous| (previous, name)))
            .expect("no collision among 2000 names");
        let mut assignments = Assignments::default();
        let a = assignments.assign(&first);
        let b = assignments.assign(&second);
        assert_eq!(a, sinkhole(&first));
        assert_ne!(a, b);
        assert_eq!(assignments.assign(&second), b, "stable");
        assert_eq!(assignments.by_ip[&a], first);
        assert_eq!(assignments.by_ip[&b], second);
    }

    #[test]
    fn tcp_record_serializes_bytes_as_string() {
        let record = TcpRecord {
            port: 443,
            local_ip: IpAddr::V4(sinkhole("x")),
            host: Some("x".into()),
            http_request: None,
            http_host: None,
            tls_sni: None,
            first_bytes: b"GET \xff".to_vec(),
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["first_bytes"], "GET \u{fffd}");
        let back: TcpRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.first_bytes, "GET \u{fffd}".as_bytes());
    }
}
