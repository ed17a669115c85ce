//! The network world end to end at the tracer's level: a traced program in
//! a fresh network namespace (only loopback) connects and sends to internet
//! addresses, and every call lands in the world sink with its original
//! destination, while the program sees the internet it asked for. Needs
//! root (a network namespace, ptrace).

use std::sync::Arc;
use std::time::Duration;

use event::{EventKind, SockAddr};
use sandbox::namespaces::enter_new_netns;
use sandbox::sinks::{Sinks, World};
use tracer::ptrace;

/// Talks to the internet the ways packages do: TCP to a bare IP, UDP with
/// sendto and with sendmsg, DNS to a public resolver on an unconnected
/// socket (whose reply must seem to come from the resolver), TCP over IPv6.
const PROGRAM: &str = r#"
import socket, struct
s = socket.create_connection(("203.0.113.7", 4444), timeout=3)
s.sendall(b"hello from tcp")
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"ping", ("198.51.100.1", 9999))
u.sendmsg([b"by sendmsg"], [], 0, ("198.51.100.2", 7777))
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x05world\x07example\x00\x00\x01\x00\x01"
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d.settimeout(3)
d.sendto(q, ("8.8.8.8", 53))
reply, src = d.recvfrom(512)
print("dns reply from", src[0], src[1], "id", hex(struct.unpack(">H", reply[:2])[0]))
s6 = socket.create_connection(("2001:db8::44", 31337), timeout=3)
s6.sendall(b"over v6")
s6.close()
print("done")
"#;

#[test]
fn every_internet_destination_lands_in_the_world_sink() {
    let uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    assert_eq!(uid.ok(), Some(0), "needs root: a network namespace and ptrace");
    let out_dir = tempfile::tempdir().unwrap();
    let script = out_dir.path().join("net.py");
    std::fs::write(&script, PROGRAM).unwrap();
    let stdout = out_dir.path().join("stdout");
    // The namespace is this test thread's own.
    enter_new_netns().expect("a network namespace");
    let sinks = Sinks::start("127.0.0.1:0".parse().unwrap(), &[], Some(World::default())).unwrap();
    let opts = ptrace::Options {
        argv: vec!["sh".into(), "-c".into(), format!("python3 {} > {}", script.display(), stdout.display()).into()],
        timeout: Some(Duration::from_secs(30)),
        linger: Duration::from_millis(200),
        flush_each: false,
        sandbox: None,
        path: None,
        cgroup_procs: Vec::new(),
        untraced: false,
        stdout_to_stderr: false,
        all_cpus: false,
        placed: None,
        redirect: sinks.routes().map(|r| r as Arc<dyn ptrace::Redirect>),
        results: None,
    };
    let mut events = Vec::new();
    let outcome = ptrace::trace(&opts, |batch| events.extend(batch)).unwrap();
    let recorded = sinks.stop();
    let printed = std::fs::read_to_string(&stdout).unwrap_or_default();
    assert_eq!(outcome.exit_code, Some(0), "the program ran to its end; it printed {printed:?}");
    assert!(printed.contains("dns reply from 8.8.8.8 53 id 0x1234"), "{printed}");

    // TCP is recorded when accepted, UDP when received: sorted, not in order.
    let mut got: Vec<(&str, &str, String, Vec<u8>)> =
        recorded.received.iter().map(|r| (r.transport, r.protocol, r.dest.to_string(), r.data.clone())).collect();
    got.sort();
    let query = got.iter().find(|g| g.1 == "dns").map(|g| g.3.clone()).unwrap_or_default();
    assert!(query.ends_with(b"\x05world\x07example\x00\x00\x01\x00\x01"), "the query arrived whole: {query:?}");
    let mut expected: Vec<(&str, &str, String, Vec<u8>)> = vec![
        ("tcp", "raw", "203.0.113.7:4444".into(), b"hello from tcp".to_vec()),
        ("udp", "raw", "198.51.100.1:9999".into(), b"ping".to_vec()),
        ("udp", "raw", "198.51.100.2:7777".into(), b"by sendmsg".to_vec()),
        ("udp", "dns", "8.8.8.8:53".into(), query),
        ("tcp", "raw", "[2001:db8::44]:31337".into(), b"over v6".to_vec()),
    ];
    expected.sort();
    assert_eq!(got, expected);
    // Each is tied to the task that sent it: python, a traced process.
    let spawned: Vec<i32> = events.iter().map(|e| e.pid).collect();
    for r in &recorded.received {
        assert!(r.pid.is_some_and(|p| spawned.contains(&p)), "{r:?} names a traced task");
    }
    // The trace keeps what the program asked for, and the connect worked.
    let connects: Vec<(String, bool)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Connect { addr: SockAddr::Inet { ip, port } | SockAddr::Inet6 { ip, port }, result, .. } => {
                Some((format!("{ip}:{port}"), result.success() || result.errno.as_deref() == Some("EINPROGRESS")))
            }
            _ => None,
        })
        .collect();
    assert!(connects.contains(&("203.0.113.7:4444".to_string(), true)), "{connects:?}");
    assert!(connects.contains(&("2001:db8::44:31337".to_string(), true)), "{connects:?}");
}
