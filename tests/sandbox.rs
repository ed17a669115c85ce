//! The sandbox against hostile packages (issue 7). Each test runs one
//! `corpus/packages/npm/hostile-*` package with `pkgtrace run` and checks
//! both halves:
//!
//! - **contained**, on the host: the terminal pkgtrace ran on received
//!   nothing, no process or cgroup of the run is left, the test's own
//!   process, socket and IPC key were not reached, the disk did not fill;
//! - **reported**: the finding or the phase status that names the attempt.
//!
//! Each package's hostile action touches only what its test made (a marker
//! in `marker.json`, a pty, a socket, a process); see
//! `corpus/packages/README.md`. Every check also looks at the package's
//! output, so that a pass means "attempted and stopped", not "never tried".
//! The tests run in parallel with each other and with other pkgtrace runs:
//! they look only at their own run's uid, cgroups and markers. Needs root.
// openpty, setsid/TIOCSCTTY in the child, statvfs: libc calls, each with
// its SAFETY line.
#![allow(unsafe_code)]

mod common;

use std::fs::File;
use std::io::{ErrorKind, Read as _};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{SocketAddr, UnixListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// How long one pkgtrace process may take beyond its `--timeout`
/// (staging, sandbox set-up, clean-up) before the test calls it hung.
const SLACK: Duration = Duration::from_secs(45);

fn limit(timeout_secs: u32) -> Duration {
    Duration::from_secs(timeout_secs.into()) + SLACK
}

/// Runs a staged package's install phase (`--format json`): the finished
/// pkgtrace process and its report.
fn run_install(label: &str, pkg: &StagedPackage, timeout: u32, extra: &[&str]) -> (Finished, Value) {
    let mut args = vec!["--phase", "install"];
    args.extend_from_slice(extra);
    let done = finish(run_command(label, &pkg.path, timeout, &args), limit(timeout));
    let report = done.report();
    (done, report)
}

/// The install phase's outcome, output tails and active rules: what a
/// failure message needs to tell "stopped" from "never tried".
fn context(report: &Value) -> String {
    let install = phase(report, "install");
    format!(
        "install status {} error {} run {}\nstdout tail:\n{}\nstderr tail:\n{}\nactive rules: {:?}",
        install["status"],
        install["error"],
        install["run"],
        install["output"]["stdout"].as_str().unwrap_or(""),
        install["output"]["stderr"].as_str().unwrap_or(""),
        active_rules(install)
    )
}

// --- 1. the terminal --------------------------------------------------------

/// A pty: the master and slave ends, the slave in raw mode (no echo, no
/// line editing, no output processing), so bytes pushed into its input
/// queue stay there to be read and the report reaches the master as is.
fn open_pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two fds into the ints; name, termios and
    // winsize may be NULL.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both fds were just opened by openpty and are owned here only.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // SAFETY: termios is plain data, filled by tcgetattr before use.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
    }
    (master, slave)
}

fn set_nonblocking(fd: &OwnedFd) {
    // SAFETY: F_GETFL/F_SETFL on an fd owned by the caller.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        assert!(flags >= 0 && libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) == 0);
    }
}

/// Everything readable from `fd` now, without waiting.
fn read_available(fd: &OwnedFd) -> Vec<u8> {
    set_nonblocking(fd);
    let mut file = File::from(fd.try_clone().expect("dup"));
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match file.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads the pty master on a thread until stopped (then drains it).
fn read_master(master: OwnedFd) -> (Arc<AtomicBool>, thread::JoinHandle<Vec<u8>>) {
    set_nonblocking(&master);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = thread::spawn(move || {
        let mut file = File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let stopping = flag.load(Ordering::Relaxed);
            match file.read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock && !stopping => thread::sleep(Duration::from_millis(20)),
                Err(_) => return out,
            }
        }
    });
    (stop, handle)
}

/// The JSON report in what pkgtrace printed on the terminal (its stderr
/// shares it): the first object, at the start of a line, that has phases.
fn report_in(printed: &[u8]) -> Option<Value> {
    (0..printed.len()).filter(|&i| printed[i] == b'{' && (i == 0 || printed[i - 1] == b'\n')).find_map(|i| {
        let v = serde_json::Deserializer::from_slice(&printed[i..]).into_iter::<Value>().next()?.ok()?;
        v["phases"].is_array().then_some(v)
    })
}

/// pkgtrace runs on a pty the test owns, as its controlling terminal and
/// its stdin, stdout and stderr (`sudo pkgtrace run` from a shell). The
/// package pushes `echo PWNED-<marker>` into every terminal it can reach with
/// TIOCSTI (and TIOCLINUX): the pty's input queue must stay empty, and the
/// attempt is a `refused-terminal-injection` finding.
#[test]
fn terminal_injection_reaches_no_terminal() {
    let (master, slave) = open_pty();
    let rdev = File::from(slave.try_clone().expect("dup")).metadata().expect("fstat the pty").rdev();
    let marker = random_hex(6);
    let pkg = stage_package("npm/hostile-tiocsti", &json!({ "marker": marker, "tty_rdev": rdev }));
    let timeout = 30;
    let mut cmd = run_command("tiocsti", &pkg.path, timeout, &["--phase", "install"]);
    let stdio = || Stdio::from(slave.try_clone().expect("dup the pty"));
    cmd.stdin(stdio()).stdout(stdio()).stderr(stdio());
    // SAFETY: runs in the forked child before exec; setsid and ioctl are
    // async-signal-safe and touch only the child. The pty (fd 0 by now)
    // becomes the controlling terminal of pkgtrace's new session.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (stop, reader) = read_master(master);
    let mut child = cmd.spawn().expect("start pkgtrace");
    drop(cmd); // its copies of the pty
    let status = wait_with_limit(&mut child, limit(timeout));
    // Before the master closes: that hangs the pty up and drops its input.
    let injected = read_available(&slave);
    stop.store(true, Ordering::Relaxed);
    let printed = reader.join().expect("pty reader");
    assert!(
        status.is_some(),
        "pkgtrace did not finish within {:?}; it printed:\n{}",
        limit(timeout),
        String::from_utf8_lossy(&printed)
    );
    let report = report_in(&printed)
        .unwrap_or_else(|| panic!("no JSON report on the terminal; it got:\n{}", String::from_utf8_lossy(&printed)));
    let install = phase(&report, "install");

    let mut p = Problems::new("hostile-tiocsti");
    p.check(output(install).contains("TIOCSTI"), "the package did not run its TIOCSTI attempts");
    p.check(injected.is_empty(), format!("the terminal's input received {:?}", String::from_utf8_lossy(&injected)));
    p.check(fires(install, "refused-terminal-injection"), "no active refused-terminal-injection finding");
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

// --- 2-4. escaping the tracer ------------------------------------------------

/// `clone(CLONE_UNTRACED)` by raw syscall: refused and reported; and in
/// any case no process of the run survives it: no process of its uid, no
/// cgroup, nothing carrying the package's marker (the child would sleep
/// 20 s first).
#[test]
fn untraced_clone_is_refused_and_nothing_survives() {
    let marker = random_hex(6);
    let pkg = stage_package("npm/hostile-untraced", &json!({ "marker": marker }));
    let (_, report) = run_install("untraced", &pkg, 30, &[]);
    let install = phase(&report, "install");
    let mut p = Problems::new("hostile-untraced");
    p.check(output(install).contains("clone(CLONE_UNTRACED)"), "the package did not attempt the clone");
    p.check(!output(install).contains("child"), "clone(CLONE_UNTRACED) succeeded (the package printed a child pid)");
    p.check(fires(install, "refused-escape-from-tracing"), "no active refused-escape-from-tracing finding");
    let escaped = processes_with_cmdline(&format!("pkgtrace-untraced-{marker}"));
    p.check(escaped.is_empty(), format!("the package's processes survive the run: {escaped:?}"));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// `io_uring_setup`: refused (it would open ~/.npmrc through the ring,
/// unseen by ptrace) and reported.
#[test]
fn io_uring_is_refused() {
    let pkg = stage_package("npm/hostile-io-uring", &json!({ "marker": random_hex(6) }));
    let (_, report) = run_install("io-uring", &pkg, 30, &[]);
    let install = phase(&report, "install");
    let out = output(install);
    let mut p = Problems::new("hostile-io-uring");
    p.check(out.contains("io_uring_setup"), "the package did not attempt io_uring_setup");
    p.check(!out.contains("io_uring_setup: fd"), "io_uring_setup succeeded");
    p.check(!out.contains("io_uring openat"), "a file was opened through io_uring");
    p.check(fires(install, "refused-escape-from-tracing"), "no active refused-escape-from-tracing finding");
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// System calls through `int $0x80` (the i386 ABI): refused and reported.
#[test]
fn int80_syscalls_are_refused() {
    let pkg = stage_package("npm/hostile-int80", &json!({ "marker": random_hex(6) }));
    let (_, report) = run_install("int80", &pkg, 30, &[]);
    let install = phase(&report, "install");
    let out = output(install);
    let getpid = out.lines().find_map(|l| l.strip_prefix("int80 getpid: ")).map(str::to_string);
    let mut p = Problems::new("hostile-int80");
    p.check(getpid.is_some(), "the package did not attempt int 0x80");
    p.check(getpid.as_deref().is_none_or(|r| r.starts_with('E')), format!("int 0x80 getpid succeeded: {getpid:?}"));
    p.check(!out.contains(": fd "), "~/.npmrc was opened through int 0x80");
    p.check(fires(install, "refused-escape-from-tracing"), "no active refused-escape-from-tracing finding");
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// A seccomp filter of the package's own that returns SECCOMP_RET_TRACE
/// chooses the data of the tracer's stops: the open of ~/.npmrc is still
/// reported (the tracer computes the data from its own filter), and so is
/// the attempt.
#[test]
fn a_packages_own_seccomp_filter_does_not_hide_its_opens() {
    let pkg = stage_package("npm/hostile-seccomp-steer", &json!({ "marker": random_hex(6) }));
    let (_, report) = run_install("seccomp-steer", &pkg, 30, &[]);
    let install = phase(&report, "install");
    let out = output(install);
    let mut p = Problems::new("hostile-seccomp-steer");
    p.check(out.contains("steer: read "), "the package did not read ~/.npmrc under its own filter");
    p.check(fires(install, "read-registry-token"), "the read of ~/.npmrc was not reported");
    p.check(fires(install, "seccomp-filter-steers-tracer"), "no active seccomp-filter-steers-tracer finding");
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// The calls container escapes and privilege escalations go through, each
/// once: in the sandbox every one fails (the package's uid holds no
/// capability), and each is reported.
#[test]
fn privileged_calls_fail_and_are_reported() {
    let pkg = stage_package("npm/hostile-privileged-calls", &json!({}));
    let (_, report) = run_install("privileged-calls", &pkg, 30, &[]);
    let install = phase(&report, "install");
    let mut p = Problems::new("hostile-privileged-calls");
    p.check(output(install).contains("escape_calls ok"), "the package did not run to its end");
    let rules = PRIVILEGED_CALL_RULES;
    for rule in rules {
        p.check(fires(install, rule), format!("no active {rule} finding"));
    }
    // Every one of them failed: nothing was made, nothing was changed.
    let succeeded: Vec<String> = install["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"].as_str().is_some_and(|r| rules.contains(&r)) && f["evidence"]["result"] == "ok")
        .map(|f| format!("{} {}", f["rule"], f["evidence"]["syscall"]))
        .collect();
    p.check(succeeded.is_empty(), format!("calls that succeeded in the sandbox: {succeeded:?}"));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

/// A process shares its parent's session keyring, and whoever has a
/// keyring as its session keyring may read the keys in it: without a
/// keyring of its own, a package would read the invoking user's session
/// keys. pkgtrace runs here in a session keyring of the test's own,
/// holding a key with a random marker; the package looks for it and must
/// not find it. It may use its own uid's keyrings, and that is reported.
#[test]
fn the_invokers_session_keyring_is_out_of_reach() {
    let marker = random_hex(6);
    let pkg = stage_package("npm/hostile-keyring", &json!({ "marker": marker }));
    let mut cmd = run_command("keyring", &pkg.path, 30, &["--phase", "install"]);
    let description = std::ffi::CString::new(format!("pkgtrace-test-{marker}")).unwrap();
    let secret = format!("SECRET-{marker}");
    let payload = secret.clone().into_bytes();
    // SAFETY: the hook makes two system calls (async-signal-safe) on data
    // allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::syscall(libc::SYS_keyctl, libc::KEYCTL_JOIN_SESSION_KEYRING, 0) < 0
                || libc::syscall(
                    libc::SYS_add_key,
                    c"user".as_ptr(),
                    description.as_ptr(),
                    payload.as_ptr(),
                    payload.len(),
                    libc::KEY_SPEC_SESSION_KEYRING,
                ) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let report = finish(cmd, limit(30)).report();
    let install = phase(&report, "install");
    let out = output(install);
    let mut p = Problems::new("hostile-keyring");
    p.check(out.contains("keyring: no pkgtrace-test-"), "the package did not look for the key, or found it");
    p.check(!out.contains(&secret), "the package read the invoking user's session key");
    p.check(out.contains("keyring: left a key in the user keyring: yes"), "the package had no keyring of its own");
    p.check(fires(install, "kernel-keyring-access"), "no kernel-keyring-access finding");
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

// --- 5. other processes -----------------------------------------------------

/// Kills its process (only it) on drop.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A host process the test started, with the sandbox uid every run used
/// before issue 7 (1500), so that a package that can see it can kill it:
/// the package must neither see its command line nor kill it. Reading the
/// `/proc` of everything and `kill(-1, SIGKILL)` are reported.
#[test]
fn host_processes_are_invisible_and_unkillable() {
    let marker = random_hex(6);
    let mut target = KillOnDrop(
        Command::new("sleep")
            .arg0(format!("{TARGET_PREFIX}{marker}"))
            .arg("60")
            .uid(1500)
            .gid(1500)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the target process"),
    );
    let pkg = stage_package("npm/hostile-proc-snoop", &json!({ "marker": marker }));
    let (_, report) = run_install("proc-snoop", &pkg, 30, &[]);
    let install = phase(&report, "install");
    let out = output(install);
    let mut p = Problems::new("hostile-proc-snoop");
    p.check(out.contains("processes seen:"), "the package did not list /proc");
    p.check(!out.contains(&marker), "the package saw the test's host process (its command line is in the output)");
    p.check(
        matches!(target.0.try_wait(), Ok(None)),
        format!("the test's host process was killed: {:?}", target.0.try_wait()),
    );
    p.check(fires(install, "signal-outside-own-tree"), "no active signal-outside-own-tree finding");
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

// --- 6. host sockets --------------------------------------------------------

/// Removes the socket files it names on drop.
struct RemoveOnDrop(Vec<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A listening UNIX socket anyone may connect to, not blocking on accept.
fn listen(path: &Path) -> UnixListener {
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path).unwrap_or_else(|e| panic!("listen on {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).expect("chmod the socket");
    l.set_nonblocking(true).expect("non-blocking listener");
    l
}

/// What a listener got, if anything connected.
fn accepted(l: &UnixListener) -> Option<String> {
    match l.accept() {
        Ok((mut stream, _)) => {
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let mut got = Vec::new();
            let _ = stream.read_to_end(&mut got);
            Some(String::from_utf8_lossy(&got).into_owned())
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => None,
        Err(e) => Some(format!("(accept failed: {e})")),
    }
}

/// The test listens on a socket under the host's /run (where D-Bus and
/// friends listen), one under the host's /tmp, and an abstract one. The
/// package connects to them and writes the npm token: none accepts
/// anything, and each attempt is a failed connect in the report.
#[test]
fn host_unix_sockets_are_unreachable() {
    let marker = random_hex(6);
    let run_path = PathBuf::from(format!("/run/pkgtrace-test-{marker}.sock"));
    let tmp_path = PathBuf::from(format!("/tmp/pkgtrace-test-{marker}.sock"));
    let abstract_name = format!("pkgtrace-test-{marker}");
    let _cleanup = RemoveOnDrop(vec![run_path.clone(), tmp_path.clone()]);
    use std::os::linux::net::SocketAddrExt;
    let listeners = [
        (run_path.display().to_string(), listen(&run_path)),
        (tmp_path.display().to_string(), listen(&tmp_path)),
        (format!("@{abstract_name}"), {
            let addr = SocketAddr::from_abstract_name(abstract_name.as_bytes()).expect("abstract address");
            let l = UnixListener::bind_addr(&addr).expect("listen on the abstract socket");
            l.set_nonblocking(true).expect("non-blocking listener");
            l
        }),
    ];
    let pkg = stage_package(
        "npm/hostile-run-socket",
        &json!({ "marker": marker, "sockets": [run_path, tmp_path], "abstract": abstract_name }),
    );
    let (_, report) = run_install("run-socket", &pkg, 30, &[]);
    let install = phase(&report, "install");
    let connections = install["behaviour"]["connections"].as_array().cloned().unwrap_or_default();
    let mut p = Problems::new("hostile-run-socket");
    p.check(output(install).contains(&format!("connect {}", run_path.display())), "the package did not connect");
    for (name, listener) in &listeners {
        if let Some(got) = accepted(listener) {
            p.check(false, format!("{name} accepted a connection from the sandbox, which sent {got:?}"));
        }
        // An abstract address may come with the NULs that pad it.
        let seen: Vec<&Value> = connections
            .iter()
            .filter(|c| c["address"].as_str().is_some_and(|a| a.trim_end_matches('\0') == name))
            .collect();
        p.check(!seen.is_empty(), format!("the report has no connect to {name}"));
        p.check(
            seen.iter().all(|c| c["result"] != "ok"),
            format!("the report says a connect to {name} succeeded: {seen:?}"),
        );
    }
    p.extend(leftovers(&report));
    p.assert_none(&format!("{}\nconnections: {connections:?}", context(&report)));
}

// --- 7. the disk ------------------------------------------------------------

/// Bytes available to an unprivileged user on the file system of `path`.
fn available(path: &str) -> u64 {
    let c = std::ffi::CString::new(path).expect("path");
    // SAFETY: statvfs fills the plain struct for a NUL-terminated path.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        assert_eq!(libc::statvfs(c.as_ptr(), &mut s), 0, "statvfs {path}");
        s.f_bavail * s.f_frsize
    }
}

const MIB: u64 = 1 << 20;

/// With `--disk 256m`, a package writing 64 MiB files into HOME, /tmp and
/// /dev/shm until a write fails gets ENOSPC at about 256 MiB in all, the
/// phase ends, and the host's / and /tmp lose no more than that while it
/// runs (other tests write too: half a GiB of noise is allowed).
#[test]
fn disk_fill_stops_at_the_disk_limit() {
    let roots = ["/", "/tmp"];
    let before: Vec<u64> = roots.iter().map(|r| available(r)).collect();
    let watch = Watch::start(Duration::from_millis(100), before.clone(), move |low: &mut Vec<u64>| {
        for (i, r) in roots.iter().enumerate() {
            low[i] = low[i].min(available(r));
        }
    });
    let pkg = stage_package("npm/hostile-disk-fill", &json!({ "marker": random_hex(6) }));
    let timeout = 60;
    let (done, report) = run_install("disk-fill", &pkg, timeout, &["--disk", "256m"]);
    let lowest = watch.stop();
    let after: Vec<u64> = roots.iter().map(|r| available(r)).collect();
    let install = phase(&report, "install");
    let stdout = install["output"]["stdout"].as_str().unwrap_or("");
    let stderr = install["output"]["stderr"].as_str().unwrap_or("");
    let total = stdout.lines().find_map(|l| l.strip_prefix("total ")?.strip_suffix(" bytes")?.parse::<u64>().ok());
    let mut p = Problems::new("hostile-disk-fill");
    p.check(total.is_some(), "the package printed no total (did it run? did it end?)");
    p.check(
        install["status"] == "completed" || install["status"] == "failed",
        format!("the phase did not end by itself: status {}", install["status"]),
    );
    p.check(done.wall < Duration::from_secs(timeout.into()), format!("the run took {:?}", done.wall));
    p.check(
        total.is_none_or(|t| t <= 320 * MIB),
        format!("the package wrote {} MiB, more than --disk 256m allows", total.unwrap_or(0) / MIB),
    );
    p.check(stderr.contains("ENOSPC") || stderr.contains("EDQUOT"), "the stderr tail shows no ENOSPC (or EDQUOT)");
    for (i, root) in roots.iter().enumerate() {
        let drop = before[i].saturating_sub(lowest[i]);
        p.check(drop <= 512 * MIB, format!("{root} lost {} MiB of free space during the run", drop / MIB));
        let kept = before[i].saturating_sub(after[i]);
        p.check(kept <= 256 * MIB, format!("{root} has {} MiB less free space after the run", kept / MIB));
    }
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

// --- 8. SysV IPC ------------------------------------------------------------

/// The keys of the host's SysV IPC objects of one kind (shm, msg, sem).
fn ipc_keys(kind: &str) -> Vec<i64> {
    std::fs::read_to_string(format!("/proc/sysvipc/{kind}"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// The package creates shared memory, a message queue and a semaphore set
/// with a key of this test's and leaves them: the host's /proc/sysvipc
/// never has that key, during the run or after.
#[test]
fn sysv_ipc_objects_stay_in_the_sandbox() {
    let key = 0x7074_0000_i64 | i64::from_str_radix(&random_hex(2), 16).expect("hex");
    let kinds = ["shm", "msg", "sem"];
    let watch = Watch::start(Duration::from_millis(20), Vec::<String>::new(), move |seen: &mut Vec<String>| {
        for kind in kinds {
            if ipc_keys(kind).contains(&key) && !seen.iter().any(|s| s == kind) {
                seen.push(kind.to_string());
            }
        }
    });
    let pkg = stage_package("npm/hostile-sysv-ipc", &json!({ "marker": random_hex(6), "ipc_key": key }));
    let (_, report) = run_install("sysv-ipc", &pkg, 30, &[]);
    let seen = watch.stop();
    // The test's own key: whatever got out is removed again.
    for (kind, flag) in [("shm", "-M"), ("msg", "-Q"), ("sem", "-S")] {
        if seen.iter().any(|s| s == kind) {
            let _ = Command::new("ipcrm").arg(flag).arg(format!("{key:#x}")).status();
        }
    }
    let install = phase(&report, "install");
    let mut p = Problems::new("hostile-sysv-ipc");
    p.check(output(install).contains("shmget"), "the package did not create its IPC objects");
    p.check(seen.is_empty(), format!("the host's /proc/sysvipc had key {key:#x} in: {seen:?}"));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}

// --- 9. a fork bomb next to another run ---------------------------------------

/// A fork bomb and benign-plain, run at the same time by two pkgtrace
/// processes (benign-plain starts once the bomb has a few hundred
/// processes): both finish; benign-plain is unharmed (its phases complete
/// and its findings are those of EXPECTED.toml); the bomb's phase is
/// stopped by its --timeout at the latest; the two runs have different
/// uids, and no process or cgroup of either is left.
#[test]
fn a_fork_bomb_does_not_harm_a_run_beside_it() {
    let marker = random_hex(6);
    let bomb_pkg = stage_package("npm/hostile-fork-bomb", &json!({ "marker": marker }));
    let benign_pkg = stage_package("npm/benign-plain", &json!({}));
    let bomb_timeout = 15;
    let benign_timeout = 60;
    let bomb_cmd = run_command("fork-bomb", &bomb_pkg.path, bomb_timeout, &["--phase", "install"]);
    let benign_cmd = run_command("fork-bomb-neighbour", &benign_pkg.path, benign_timeout, &[]);
    // benign-plain starts once the bomb is going (it is compiled first),
    // so that it runs next to the bomb at its worst.
    let needle = format!("pkgtrace-bomb-{marker}");
    let (bomb, benign, bomb_size) = thread::scope(|s| {
        let bomb = s.spawn(|| finish(bomb_cmd, limit(bomb_timeout)));
        let started = std::time::Instant::now();
        let mut size = 0;
        while size < 300 && started.elapsed() < Duration::from_secs(10) && !bomb.is_finished() {
            thread::sleep(Duration::from_millis(100));
            size = size.max(processes_with_cmdline(&needle).len());
        }
        let benign = s.spawn(|| finish(benign_cmd, limit(benign_timeout)));
        (bomb.join().expect("bomb run"), benign.join().expect("benign run"), size)
    });
    let (bomb_report, benign_report) = (bomb.report(), benign.report());
    let install = phase(&bomb_report, "install");
    let mut p = Problems::new("hostile-fork-bomb beside benign-plain");
    p.check(output(install).contains("fork bomb: forking"), "the bomb did not start");
    p.check(bomb_size >= 100, format!("the bomb had only {bomb_size} processes when benign-plain started"));
    p.check(
        install["status"] == "failed" || install["status"] == "timeout",
        format!("the bomb's phase was not stopped: status {}", install["status"]),
    );
    let wall_ms = install["run"]["wall_ms"].as_u64().unwrap_or(u64::MAX);
    p.check(
        wall_ms <= (u64::from(bomb_timeout) + 10) * 1000,
        format!("the bomb's phase ran {wall_ms} ms, past its --timeout {bomb_timeout} s"),
    );
    for ph in benign_report["phases"].as_array().map(Vec::as_slice).unwrap_or_default() {
        p.check(
            ph["status"] == "completed" && ph["run"]["exit_code"] == 0,
            format!(
                "benign-plain's {} phase: status {} run {} stderr {:?}",
                ph["name"], ph["status"], ph["run"], ph["output"]["stderr"]
            ),
        );
    }
    p.check(benign_report["phases"].as_array().is_some_and(|a| a.len() == 2), "benign-plain ran not both phases");
    p.extend(expectation_problems(&benign_report, "npm/benign-plain"));
    let uid = |r: &Value| phase(r, "install")["sandbox"]["uid"].as_u64();
    p.check(
        uid(&bomb_report).is_some() && uid(&bomb_report) != uid(&benign_report),
        format!("the two runs must have different uids: {:?} and {:?}", uid(&bomb_report), uid(&benign_report)),
    );
    let escaped = processes_with_cmdline(&needle);
    p.check(escaped.is_empty(), format!("{} processes of the bomb survive", escaped.len()));
    p.extend(leftovers(&bomb_report));
    p.extend(leftovers(&benign_report));
    p.assert_none(&context(&bomb_report));
}

// --- 10. UDP ----------------------------------------------------------------

/// The npm token sent raw in a UDP datagram to 8.8.8.8:53 (and a UDP
/// connect there): the datagram is a connection in the report with the
/// canary found in it, `canaries_leaked` names the token and where it
/// went, `exfil-canary-value` and `connect-public-dns-resolver` fire, and
/// the datagram landed in the sandbox's sink, not the outside.
#[test]
fn udp_exfiltration_to_a_public_resolver_is_reported() {
    let pkg = stage_package("npm/hostile-udp-token", &json!({ "marker": random_hex(6) }));
    let (_, report) = run_install("udp-token", &pkg, 30, &[]);
    let install = phase(&report, "install");
    let connections = install["behaviour"]["connections"].as_array().cloned().unwrap_or_default();
    let udp: Vec<&Value> = connections
        .iter()
        .filter(|c| c["transport"] == "udp" && c["address"] == "8.8.8.8" && c["port"] == 53)
        .collect();
    let leaked = report["canaries_leaked"].as_array().cloned().unwrap_or_default();
    let mut p = Problems::new("hostile-udp-token");
    p.check(output(install).contains("sendto 8.8.8.8:53"), "the package did not send");
    p.check(!udp.is_empty(), "the report lists no UDP connection to 8.8.8.8:53");
    // It did not reach 8.8.8.8: the network namespace has only loopback,
    // and the tracer routed the datagram into the sandbox's UDP sink.
    let sunk = install["network"].as_array().cloned().unwrap_or_default();
    p.check(
        sunk.iter().any(|x| {
            x["transport"] == "udp"
                && x["address"] == "8.8.8.8"
                && x["port"] == 53
                && x["canaries"].as_array().is_some_and(|a| !a.is_empty())
        }),
        format!("the datagram to 8.8.8.8:53 did not land in the sink: {sunk:?}"),
    );
    p.check(
        udp.iter().any(|c| c["canaries"].as_array().is_some_and(|a| !a.is_empty())),
        "no UDP connection to 8.8.8.8:53 names the canary found in it (`canaries`)",
    );
    p.check(
        leaked.iter().any(|l| {
            l["canary"].as_str().is_some_and(|c| c.starts_with("npm token"))
                && l["via"].as_str().is_some_and(|v| v.contains("8.8.8.8"))
        }),
        format!("canaries_leaked does not name the npm token sent to 8.8.8.8: {leaked:?}"),
    );
    p.check(fires(install, "exfil-canary-value"), "no active exfil-canary-value finding");
    p.check(fires(install, "connect-public-dns-resolver"), "no active connect-public-dns-resolver finding");
    p.extend(leftovers(&report));
    p.assert_none(&format!("{}\nconnections: {connections:?}", context(&report)));
}

// --- 11. the text report ----------------------------------------------------

/// A package's argv, path and output carry terminal escape sequences: the
/// default text report prints none of them raw (no ESC byte at all on
/// stdout) and shows them escaped.
#[test]
fn the_text_report_escapes_control_characters() {
    let pkg = stage_package("npm/hostile-escape-text", &json!({ "marker": random_hex(6) }));
    let timeout = 30;
    let mut cmd = Command::new(bin());
    cmd.args(["run", "--no-store", "--no-baseline", "--phase", "install", "--timeout"])
        .arg(timeout.to_string())
        .arg("--cache")
        .arg(cache("escape-text"))
        .arg(&pkg.path)
        .stdin(Stdio::null());
    let done = finish(cmd, limit(timeout));
    let text = String::from_utf8_lossy(&done.stdout);
    let escaped_forms = ["\\x1b[2J", "\\x1B[2J", "\\e[2J", "\\u{1b}[2J", "\\u001b[2J", "\\033[2J", "^[[2J"];
    let mut p = Problems::new("hostile-escape-text");
    p.check(text.contains("PWNED"), "the report does not show the package's argv or path at all");
    p.check(!done.stdout.contains(&0x1b), "the text report has a raw ESC byte");
    p.check(
        escaped_forms.iter().any(|f| text.contains(f)),
        format!("the text report shows no escaped form of ESC (one of {escaped_forms:?})"),
    );
    p.assert_none(&format!(
        "exit {:?}; stdout (escaped here):\n{}\nstderr:\n{}",
        done.status,
        text.escape_debug(),
        done.stderr
    ));
}

// --- 12. what gives the sandbox away ----------------------------------------

/// Sandbox-aware malware looks around before it acts. The package prints
/// what it finds; nothing of it may name pkgtrace or show the host: no
/// container marker file (`/.dockerenv`) at the root, PID 1
/// looks like a machine's init (not pkgtrace's command line), the cgroup is
/// `/` (not `pkgtrace-<pid>-…`), no other run's cgroup is listed, /sys shows
/// the sandbox's network (loopback), not the host's interfaces,
/// /etc/hostname agrees with the host name (which resolves from
/// /etc/hosts, as on Debian), no mount point names pkgtrace, and the login
/// name is the sandbox user's.
#[test]
fn the_sandbox_does_not_give_itself_away() {
    let pkg = stage_package("npm/hostile-fingerprint", &json!({}));
    let (_, report) = run_install("fingerprint", &pkg, 60, &[]);
    let install = phase(&report, "install");
    let out = output(install);
    let seen = |what: &str| -> String {
        let prefix = format!("fp: {what} ");
        out.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or("<not printed>").to_string()
    };
    let sandbox = &install["sandbox"];
    let mut p = Problems::new("hostile-fingerprint");
    p.check(seen("root-markers") == "<none>", format!("container marker files are visible: {}", seen("root-markers")));
    p.check(seen("init-cmdline") == r"b'/sbin/init\x00'", format!("PID 1's command line: {}", seen("init-cmdline")));
    p.check(seen("init-comm") == "systemd", format!("PID 1's name: {}", seen("init-comm")));
    for who in ["cgroup-self", "cgroup-1"] {
        let cgroups = seen(who);
        p.check(
            !cgroups.starts_with('<') && cgroups.split(' ').all(|c| c.ends_with(":/")),
            format!("{who}: a cgroup other than / is named: {cgroups}"),
        );
    }
    p.check(seen("cgroupfs") == "<empty>", format!("/sys/fs/cgroup lists {}", seen("cgroupfs")));
    p.check(seen("interfaces") == "lo", format!("/sys/class/net lists {}", seen("interfaces")));
    let hostname = sandbox["hostname"].as_str().unwrap_or("<none>");
    p.check(seen("uname") == hostname, format!("uname says {}, the report {hostname}", seen("uname")));
    if Path::new("/etc/hostname").is_file() {
        p.check(seen("hostname-file") == hostname, format!("/etc/hostname says {}", seen("hostname-file")));
    }
    p.check(seen("resolves") == "127.0.1.1", format!("the host name resolves to {}", seen("resolves")));
    p.check(
        seen("mounts") != "<not printed>" && !seen("mounts").contains("pkgtrace"),
        format!("a mount point names pkgtrace: {}", seen("mounts")),
    );
    let user = sandbox["user"].as_str().unwrap_or("<none>");
    p.check(seen("login") == user, format!("os.getlogin() says {}, the user is {user}", seen("login")));
    p.extend(leftovers(&report));
    p.assert_none(&context(&report));
}
