//! What reaches outside the run, end to end from strace lines: signals and
//! `/proc` reads judged by whose process they aim at, calls the sandbox
//! refused, and datagrams listed as connections.

use tracer::{Event, EventKind, Origin};

use crate::analysis::{Analyzer, Context};
use crate::rules::RulePack;
use crate::testutil::analyze_lines;
use report::PhaseReport;

fn ctx() -> Context {
    Context { phase: "install".into(), ..Context::default() }
}

fn fired<'r>(r: &'r PhaseReport, rule: &str) -> Vec<&'r str> {
    r.findings.iter().filter(|f| f.rule == rule && f.is_active()).map(|f| f.subject.as_str()).collect()
}

/// node (10) spawns sh (11); 999 and 4242 are processes the trace never saw.
const TREE: [&str; 3] = [
    r#"10 execve("/usr/bin/node", ["node", "x.js"], 0x1 /* 1 var */) = 0"#,
    "10 clone(child_stack=NULL, flags=SIGCHLD) = 11",
    r#"11 execve("/bin/sh", ["sh", "-c", "sleep 9"], 0x1 /* 1 var */) = 0"#,
];

#[test]
fn signals_count_only_when_they_leave_the_tree() {
    let mut lines = TREE.to_vec();
    lines.extend([
        "10 kill(11, SIGTERM) = 0",      // its child
        "11 kill(10, SIGUSR1) = 0",      // its parent
        "11 kill(0, SIGHUP) = 0",        // its own process group
        "11 kill(-11, SIGINT) = 0",      // the group it leads
        "10 tgkill(10, 10, SIGURG) = 0", // its own thread
        "10 kill(4242, SIGKILL) = -1 EPERM (Operation not permitted)",
        "11 kill(-1, SIGKILL) = 0",
        "10 kill(-999, SIGTERM) = -1 ESRCH (No such process)",
        "10 kill(5555, 0) = -1 ESRCH (No such process)",
    ]);
    let r = analyze_lines(&lines, ctx());
    assert_eq!(
        fired(&r, "signal-outside-own-tree"),
        vec!["SIGKILL to 4242", "SIGKILL to every process (-1)", "SIGTERM to process group 999"]
    );
    assert_eq!(fired(&r, "probe-process-outside-own-tree"), vec!["signal 0 to 5555"]);
    let f = r.findings.iter().find(|f| f.subject == "SIGKILL to 4242").unwrap();
    assert_eq!((f.process.as_str(), f.evidence.result.as_deref()), ("node x.js", Some("EPERM")));
}

#[test]
fn proc_entries_of_strangers_are_reconnaissance_of_the_tree_are_not() {
    let mut lines = TREE.to_vec();
    lines.extend([
        r#"10 openat(AT_FDCWD, "/proc/11/status", O_RDONLY) = 3"#,
        r#"10 openat(AT_FDCWD, "/proc/10/cmdline", O_RDONLY) = 3"#,
        r#"10 openat(AT_FDCWD, "/proc/4242/cmdline", O_RDONLY) = 3"#,
        r#"10 readlink("/proc/4242/exe", "/usr/bin/ssh-agent", 4095) = 18"#,
        r#"10 openat(AT_FDCWD, "/proc/4242/environ", O_RDONLY) = -1 EACCES (Permission denied)"#,
        r#"10 openat(AT_FDCWD, "/proc/1/cgroup", O_RDONLY) = 3"#,
    ]);
    let r = analyze_lines(&lines, ctx());
    assert_eq!(fired(&r, "read-other-process-proc"), vec!["/proc/4242/cmdline", "/proc/4242/exe"]);
    assert_eq!(fired(&r, "read-other-process-environ"), vec!["/proc/4242/environ"]);
}

#[test]
fn refused_calls_are_findings_named_by_call_and_reason() {
    let pack = RulePack::embedded().unwrap();
    let mut a = Analyzer::new(&pack, ctx());
    let denied = |seq, syscall: &str, what: &str, errno: &str| Event {
        seq,
        pid: 7,
        time_ns: None,
        duration_ns: None,
        origin: Origin::Live,
        kind: EventKind::Denied {
            syscall: syscall.into(),
            what: what.into(),
            errno: errno.into(),
            args: String::new(),
        },
    };
    a.event(&denied(0, "clone", "CLONE_UNTRACED", "EPERM"));
    a.event(&denied(1, "ioctl", "TIOCSTI", "EPERM"));
    a.event(&denied(2, "unshare", "CLONE_NEWUSER", "EPERM"));
    a.event(&denied(3, "i386:11", "foreign ABI", "ENOSYS"));
    let r = a.finish();
    assert_eq!(fired(&r, "refused-escape-from-tracing"), vec!["clone CLONE_UNTRACED", "i386:11 foreign ABI"]);
    assert_eq!(fired(&r, "refused-terminal-injection"), vec!["ioctl TIOCSTI"]);
    assert_eq!(fired(&r, "refused-user-namespace"), vec!["unshare CLONE_NEWUSER"]);
    assert_eq!(r.findings[0].evidence.result.as_deref(), Some("EPERM"));
}

#[test]
fn a_datagram_is_a_connection_with_its_first_bytes_and_canaries() {
    let canary = "CANARY-npm-4f1c2a9e7d3b";
    let lines = [
        r#"20 execve("/usr/bin/python3", ["python3", "setup.py", "install"], 0x1 /* 1 var */) = 0"#,
        "20 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP) = 3",
        // Not a DNS query: a raw token, to a public resolver's port 53.
        r#"20 sendto(3, "tok=CANARY-npm-4f1c2a9e7d3b\n\0\1", 30, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("8.8.8.8")}, 16) = 30"#,
        r#"20 sendto(3, "again", 5, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("8.8.8.8")}, 16) = 5"#,
        // A connected UDP socket: its connect made the entry, the send fills it.
        "20 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP) = 4",
        r#"20 connect(4, {sa_family=AF_INET, sin_port=htons(9999), sin_addr=inet_addr("203.0.113.9")}, 16) = 0"#,
        r#"20 write(4, "hello", 5) = 5"#,
        // TCP stays as it was: a connect, no bytes.
        "20 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 5",
        r#"20 connect(5, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("203.0.113.7")}, 16) = -1 EINPROGRESS (Operation now in progress)"#,
        r#"20 sendto(5, "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL, NULL, 0) = 16"#,
    ];
    let r = analyze_lines(&lines, Context { canaries: vec![canary.into()], ..ctx() });
    let c = &r.behaviour.connections;
    assert_eq!(c.len(), 3, "{c:#?}");
    assert_eq!((c[0].transport.as_str(), c[0].address.as_str(), c[0].port), ("udp", "8.8.8.8", Some(53)));
    assert_eq!(c[0].first_bytes.as_deref(), Some(r"tok=CANARY-npm-4f1c2a9e7d3b\n\x00\x01"));
    assert_eq!(c[0].canaries, vec![canary.to_string()]);
    assert_eq!((c[0].result.as_str(), c[0].pid), ("ok", 20));
    assert_eq!((c[1].transport.as_str(), c[1].first_bytes.as_deref()), ("udp", Some("hello")));
    assert_eq!((c[2].transport.as_str(), c[2].first_bytes.as_deref()), ("tcp", None));
    assert_eq!(fired(&r, "exfil-canary-value"), vec!["8.8.8.8:53"]);
    assert_eq!(fired(&r, "connect-public-dns-resolver"), vec!["8.8.8.8:53"]);
    let json = serde_json::to_value(&r.behaviour.connections[2]).unwrap();
    assert!(json.get("first_bytes").is_none() && json.get("canaries").is_none(), "TCP entries keep their shape");
}

#[test]
fn a_dns_query_to_a_public_resolver_is_a_finding_and_a_connection() {
    // glibc-style: connect the UDP socket, then send the query on it.
    let lines = [
        r#"30 execve("/usr/bin/node", ["node", "i.js"], 0x1 /* 1 var */) = 0"#,
        "30 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 3",
        r#"30 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("1.1.1.1")}, 16) = 0"#,
        r#"30 sendmmsg(3<UDP:[10.0.0.2:5000->1.1.1.1:53]>, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01", iov_len=29}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=29}], 1, MSG_NOSIGNAL) = 1"#,
    ];
    let r = analyze_lines(&lines, ctx());
    assert_eq!(fired(&r, "connect-public-dns-resolver"), vec!["1.1.1.1:53"]);
    let c = &r.behaviour.connections;
    assert_eq!(c.len(), 1, "the send fills the connect's entry: {c:#?}");
    // The query is in `dns`, decoded; its raw bytes start with a random ID.
    assert_eq!(c[0].first_bytes, None);
    assert_eq!(r.behaviour.dns[0].name, "example.com");
}

/// In a PID namespace the kernel spells `/proc/self` with the namespace's
/// pid, which is none of the tracer's: the entry is still the process's own.
#[test]
fn proc_self_resolved_to_a_namespace_pid_stays_own() {
    let mut lines = TREE.to_vec();
    lines.extend([
        r#"10 openat(AT_FDCWD, "/proc/self/status", O_RDONLY) = 3</proc/5/status>"#,
        r#"10 openat(AT_FDCWD, "/proc/self/cmdline", O_RDONLY) = 3</proc/5/cmdline>"#,
    ]);
    let r = analyze_lines(&lines, ctx());
    assert!(fired(&r, "read-other-process-proc").is_empty(), "{:?}", r.findings);
    assert_eq!(fired(&r, "read-proc-self-status"), vec!["/proc/self/status"]);
}
