//! Helpers shared by the sinks' unit tests: a running [`Sinks`] on free
//! ports, clients for it, and the captured ClientHello and DNS queries the
//! tests send.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Recorded, Sinks};

const LOCAL_DNS: &str = "127.0.0.1:0";
const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// ClientHello of `openssl s_client -connect 127.0.0.1:PORT -servername
/// sni.example -groups X25519 -tls1_3` (OpenSSL 3.0.19), as captured.
const CLIENT_HELLO_HEX: &str = "16030100de010000da0303b7dadc8414b881602285f1427b3f96a30f4b3b5a0297411647c43eedd5b9ffb5\
    207973b5abfb8d4c29107a690f16aa472382300a716b8585fca803b47f48099d8e000813021303130100ff0100008900000010000e000\
    00b736e692e6578616d706c65000b000403000102000a00040002001d002300000016000000170000000d001e001c04030503060308070\
    8080809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d0020b5a0dc5bdec4ac8fd61016373\
    17a55ed5e96fe6d4751dfb3f72b807b08f6252c";

pub(super) fn client_hello() -> Vec<u8> {
    let hex: Vec<u8> = CLIENT_HELLO_HEX.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    hex.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
}

pub(super) fn start() -> Sinks {
    Sinks::start(LOCAL_DNS.parse().unwrap(), &[0, 0], None).unwrap()
}

/// Stops like [`Sinks::stop`] and also checks that no thread panicked.
pub(super) fn stop_checked(mut sinks: Sinks) -> Recorded {
    sinks.shutdown();
    assert_eq!(sinks.shared.panics.load(Ordering::SeqCst), 0, "a sink thread panicked");
    sinks.take_log()
}

pub(super) fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
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

pub(super) fn udp_exchange(server: SocketAddr, msg: &[u8]) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    socket.send_to(msg, server).unwrap();
    let mut buf = [0u8; 1024];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    buf[..n].to_vec()
}

pub(super) fn connect(ip: IpAddr, port: u16) -> TcpStream {
    let stream = TcpStream::connect_timeout(&SocketAddr::new(ip, port), IO_TIMEOUT).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

pub(super) fn localhost() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}
