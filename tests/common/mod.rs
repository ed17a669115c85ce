//! Helpers shared by the end-to-end tests (each test file includes this
//! module; not every file uses every helper): the binary and the corpus,
//! exit codes and output; for `pkgtrace run`: finding the binary,
//! staging a corpus package with a per-test marker, running pkgtrace with a
//! wall-clock limit, reading a report's phases and active rules, and
//! checking on the host that nothing of a run is left (its processes, by
//! uid or by marker; its cgroups).
//!
//! Tests run in parallel with other pkgtrace runs, so every check here looks
//! only at what belongs to one run: the uid and cgroups its report names, or
//! a random marker the test put into the package.
// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `pkgtrace` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pkgtrace");

/// HOME and cwd of the corpus logs, recorded in the corpus sandbox.
pub const CORPUS_OPTS: [&str; 4] = ["--home", "/home/pkgtrace", "--cwd", "/home/pkgtrace/project"];

/// A recorded log of `corpus/strace/`, which must exist.
pub fn corpus_log(rel: &str) -> PathBuf {
    let p = repo().join("corpus/strace").join(rel);
    assert!(p.exists(), "corpus file missing: {}", p.display());
    p
}

/// The exit code of a finished `pkgtrace`; a signal fails the test.
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or_else(|| panic!("pkgtrace killed by a signal: {:?}", o.status))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Tests that trace (ptrace), build sandboxes (namespaces, mounts, cgroups)
/// or run packages need root, as CI has: without it they fail with this
/// message instead of an obscure one, and never skip.
pub fn needs_root(what: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    // Uid: real, effective, saved, filesystem.
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|v| v.split_whitespace().nth(1));
    assert_eq!(euid, Some("0"), "{what} needs root (ptrace, namespaces, cgroups): run the tests as root, as CI does");
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pkgtrace")
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `n` random bytes from the kernel, as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).expect("read /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fixture made once per test run and shared by the tests of one file:
/// nextest runs each test in a process of its own, so a `OnceLock` alone
/// would make it once per test. The first process to create
/// `<name>-<run>.building` (in the test target's temporary directory)
/// calls `make` with `<name>-<run>` and marks it `.done`, or `.failed` if
/// `make` panics; the others wait for either. The run is nextest's
/// `NEXTEST_RUN_ID` (`cargo test` runs every test in one process: the pid).
pub fn once_per_run(name: &str, wait: Duration, make: impl FnOnce(&Path)) -> PathBuf {
    let run = std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| std::process::id().to_string());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{run}"));
    let (done, failed) = (dir.with_extension("done"), dir.with_extension("failed"));
    if std::fs::create_dir(dir.with_extension("building")).is_ok() {
        /// Marks the fixture failed if `make` panics, so the waiters stop.
        struct OnPanic(PathBuf);
        impl Drop for OnPanic {
            fn drop(&mut self) {
                if thread::panicking() {
                    let _ = std::fs::write(&self.0, "");
                }
            }
        }
        let guard = OnPanic(failed.clone());
        make(&dir);
        std::fs::write(&done, "").expect("mark the shared fixture made");
        drop(guard);
    }
    let deadline = Instant::now() + wait;
    while !done.exists() {
        assert!(!failed.exists(), "{name}: the test that made this fixture failed (see its output)");
        assert!(Instant::now() < deadline, "{name}: not made within {wait:?} (see the test that made it)");
        thread::sleep(Duration::from_millis(200));
    }
    dir
}

/// A copy of a corpus package in a fresh directory, with `marker.json`
/// added: what the test tells the package (its marker, the paths and
/// devices it may touch). Removed on drop.
pub struct StagedPackage {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// Copies `corpus/packages/<rel>` and writes `marker` as its `marker.json`.
pub fn stage_package(rel: &str, marker: &Value) -> StagedPackage {
    let dir = tempfile::Builder::new()
        .prefix("pkgtrace-staged-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create a temporary directory");
    let path = dir.path().join(Path::new(rel).file_name().expect("package directory name"));
    copy_dir(&repo().join("corpus/packages").join(rel), &path);
    std::fs::write(path.join("marker.json"), marker.to_string()).expect("write marker.json");
    StagedPackage { _dir: dir, path }
}

/// Copies the tree `from` to `to` (made if missing).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// A download cache of the test's own: staging a local package replaces
/// `local/<ecosystem>/<name>` in the cache, which two runs of the same
/// package at once must not share.
pub fn cache(label: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-cache").join(label)
}

/// `pkgtrace run --format json --no-store --no-baseline --timeout SECS
/// --cache <label's cache> EXTRA... PACKAGE`, stdin from /dev/null.
pub fn run_command(label: &str, package: &Path, timeout_secs: u32, extra: &[&str]) -> Command {
    needs_root("pkgtrace run");
    let mut cmd = Command::new(bin());
    cmd.args(["run", "--format", "json", "--no-store", "--no-baseline", "--timeout"])
        .arg(timeout_secs.to_string())
        .arg("--cache")
        .arg(cache(label))
        .args(extra)
        .arg(package)
        .stdin(Stdio::null());
    cmd
}

/// A pkgtrace process that ended, with what it printed.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// From spawn to exit.
    pub wall: Duration,
}

impl Finished {
    /// The JSON report on stdout.
    pub fn report(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!("the report is not JSON ({e}); exit {:?}; stderr:\n{}", self.status, self.stderr)
        })
    }
}

/// Runs `cmd` (stdout and stderr captured) and waits at most `limit`; a
/// pkgtrace that takes longer is killed and the test fails: a sandbox that
/// hangs on a hostile package is a failure too.
pub fn finish(mut cmd: Command, limit: Duration) -> Finished {
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start pkgtrace");
    let mut out = child.stdout.take().expect("stdout pipe");
    let mut err = child.stderr.take().expect("stderr pipe");
    let stdout = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let stderr = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let status = wait_with_limit(&mut child, limit);
    let wall = start.elapsed();
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    match status {
        Some(status) => Finished { status, stdout, stderr, wall },
        None => panic!("pkgtrace did not finish within {limit:?} and was killed; stderr:\n{stderr}"),
    }
}

/// Waits for `child` at most `limit`; past it, kills that child (only it:
/// pkgtrace's own clean-up is what is under test) and returns None.
pub fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for pkgtrace") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

pub fn phase<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("the report has no phase {name}"))
}

/// `(rule, severity)` of every finding neither suppressed nor baseline.
pub fn active_rules(phase: &Value) -> Vec<(String, String)> {
    phase["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|f| f.get("suppressed_by").is_none() && f.get("baseline").is_none())
        .map(|f| (f["rule"].as_str().unwrap_or("").to_string(), f["severity"].as_str().unwrap_or("").to_string()))
        .collect()
}

pub fn fires(phase: &Value, rule: &str) -> bool {
    active_rules(phase).iter().any(|(r, _)| r == rule)
}

/// The phase's captured stdout and stderr tails, one after the other.
pub fn output(phase: &Value) -> String {
    format!("{}{}", phase["output"]["stdout"].as_str().unwrap_or(""), phase["output"]["stderr"].as_str().unwrap_or(""))
}

/// argv[0] of a host process a test starts as a target for a package
/// (`proc-snoop` kills what it sees): not a process of any run, though it
/// may have a run's uid.
pub const TARGET_PREFIX: &str = "pkgtrace-test-target-";

/// Live processes (not zombies) whose real uid is `uid`, test targets
/// ([`TARGET_PREFIX`]) aside.
pub fn processes_of_uid(uid: u64) -> Vec<i32> {
    live_processes()
        .into_iter()
        .filter(|(pid, _)| {
            let argv0 = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            !argv0.starts_with(TARGET_PREFIX.as_bytes())
        })
        .filter(|(pid, _)| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let real = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|v| v.split_whitespace().next());
            real == Some(uid.to_string().as_str())
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Live processes (not zombies) whose command line contains `needle`,
/// with that command line.
pub fn processes_with_cmdline(needle: &str) -> Vec<(i32, String)> {
    live_processes()
        .into_iter()
        .filter(|(pid, _)| *pid as u32 != std::process::id())
        .filter_map(|(pid, _)| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
            cmd.contains(needle).then_some((pid, cmd))
        })
        .collect()
}

/// `(pid, state)` of every process on the host that is not a zombie.
fn live_processes() -> Vec<(i32, char)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ...: comm may hold spaces and parentheses.
        let state = stat.rfind(')').and_then(|i| stat[i + 1..].trim_start().chars().next()).unwrap_or('?');
        if state != 'Z' && state != 'X' {
            out.push((pid, state));
        }
    }
    out
}

/// What a run left behind, per phase, as problems (empty: nothing): a
/// process of the phase's sandbox uid, a cgroup directory of the phase that
/// still exists, a process the tracer found untraced. A phase whose report
/// has no `sandbox` is a problem too: the test could not check it.
pub fn leftovers(report: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for ph in report["phases"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = ph["name"].as_str().unwrap_or("?");
        let sandbox = &ph["sandbox"];
        match sandbox["uid"].as_u64() {
            Some(uid) => {
                let left = processes_of_uid(uid);
                if !left.is_empty() {
                    problems.push(format!("{name}: processes of the run's uid {uid} survive: {}", describe(&left)));
                }
            }
            None => problems.push(format!("{name}: the report has no phases[].sandbox.uid: {sandbox}")),
        }
        match sandbox["cgroups"].as_array() {
            Some(cgroups) => {
                for c in cgroups.iter().filter_map(Value::as_str) {
                    if Path::new(c).exists() {
                        problems.push(format!("{name}: the run's cgroup {c} still exists"));
                    }
                }
            }
            None => problems.push(format!("{name}: the report has no phases[].sandbox.cgroups")),
        }
        if let Some(untraced) = ph["run"]["untraced"].as_array().filter(|u| !u.is_empty()) {
            problems.push(format!("{name}: processes ran untraced: {untraced:?}"));
        }
    }
    problems
}

/// `pid (comm)` of each process, for messages.
pub fn describe(pids: &[i32]) -> String {
    pids.iter()
        .map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            format!("{pid} ({})", comm.trim())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The corpus package `rel`'s entry in `corpus/packages/EXPECTED.toml`.
pub fn expectation(rel: &str) -> toml::Value {
    let text = std::fs::read_to_string(repo().join("corpus/packages/EXPECTED.toml")).expect("read EXPECTED.toml");
    let table: toml::Table = toml::from_str(&text).expect("EXPECTED.toml is TOML");
    table["package"]
        .as_array()
        .expect("[[package]] entries")
        .iter()
        .find(|p| p["path"].as_str() == Some(rel))
        .unwrap_or_else(|| panic!("{rel} is not in EXPECTED.toml"))
        .clone()
}

/// Where `report` differs from the findings EXPECTED.toml gives for `rel`
/// (`must_fire`, `must_not_fire`, `clean`, `clean_phases`); empty: none.
pub fn expectation_problems(report: &Value, rel: &str) -> Vec<String> {
    let pkg = expectation(rel);
    let mut problems = Vec::new();
    let items = |key: &str| -> Vec<(String, String)> {
        pkg.get(key)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .map(|i| (i["phase"].as_str().unwrap_or("").to_string(), i["rule"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    for (ph, rule) in items("must_fire") {
        if !fires(phase(report, &ph), &rule) {
            problems.push(format!("{rel}: {rule} must fire in {ph}; got {:?}", active_rules(phase(report, &ph))));
        }
    }
    for (ph, rule) in items("must_not_fire") {
        if fires(phase(report, &ph), &rule) {
            problems.push(format!("{rel}: {rule} must not fire in {ph}"));
        }
    }
    let clean: Vec<String> = if pkg.get("clean").and_then(|v| v.as_bool()) == Some(true) {
        report["phases"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).map(Into::into).collect()
    } else {
        pkg.get("clean_phases")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .map(Into::into)
            .collect()
    };
    for ph in clean {
        let loud: Vec<_> =
            active_rules(phase(report, &ph)).into_iter().filter(|(_, s)| s != "info" && s != "low").collect();
        if !loud.is_empty() {
            problems.push(format!("{rel}: {ph} must be clean; got {loud:?}"));
        }
    }
    problems
}

/// Runs `f` every `every` on a thread of its own until stopped: watches
/// the host while a run goes on (free disk space, IPC objects).
pub struct Watch<T> {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<T>,
}

impl<T: Send + 'static> Watch<T> {
    pub fn start(every: Duration, mut state: T, mut f: impl FnMut(&mut T) + Send + 'static) -> Watch<T> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                f(&mut state);
                thread::sleep(every);
            }
            f(&mut state);
            state
        });
        Watch { stop, handle }
    }

    /// Stops watching (after one last look) and returns what was gathered.
    pub fn stop(self) -> T {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("watch thread")
    }
}

/// Failed checks, gathered so that one run reports everything it got wrong
/// (contained and reported are separate halves), then panics with all of
/// them and the context given.
pub struct Problems {
    what: String,
    list: Vec<String>,
}

impl Problems {
    pub fn new(what: &str) -> Problems {
        Problems { what: what.to_string(), list: Vec::new() }
    }

    pub fn check(&mut self, ok: bool, problem: impl Into<String>) {
        if !ok {
            self.list.push(problem.into());
        }
    }

    pub fn extend(&mut self, problems: Vec<String>) {
        self.list.extend(problems);
    }

    /// Panics if any check failed, with `context` (say, the phase's output)
    /// to tell whether the package really attempted what it should.
    pub fn assert_none(self, context: &str) {
        if !self.list.is_empty() {
            panic!("{}:\n  - {}\n\ncontext:\n{context}", self.what, self.list.join("\n  - "));
        }
    }
}

/// Where the install phase differs from the install-phase `must_fire` and
/// `must_not_fire` of `rel` in `EXPECTED.toml` (only install runs here).
pub fn expected_install_rules(report: &Value, rel: &str) -> Vec<String> {
    let pkg = expectation(rel);
    let install = phase(report, "install");
    let mut problems = Vec::new();
    for (key, should_fire) in [("must_fire", true), ("must_not_fire", false)] {
        let items = pkg.get(key).and_then(toml::Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for item in items.iter().filter(|i| i.get("phase").and_then(toml::Value::as_str) == Some("install")) {
            let rule = item.get("rule").and_then(toml::Value::as_str).unwrap_or("");
            if fires(install, rule) != should_fire {
                let verb = if should_fire { "must fire" } else { "must not fire" };
                problems.push(format!("EXPECTED.toml: {rule} {verb} in install"));
            }
        }
    }
    problems
}

/// Severities in order, for comparing them.
pub fn rank(severity: &str) -> u8 {
    match severity {
        "info" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        other => panic!("unknown severity {other:?}"),
    }
}

/// The most severe active finding of the whole report.
pub fn worst(report: &Value) -> Option<String> {
    report["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(active_rules)
        .map(|(_, severity)| severity)
        .max_by_key(|s| rank(s))
}

/// The rules of the calls container escapes and privilege escalations go
/// through (`escape_calls.c`: the live tracee and npm/hostile-privileged-calls).
pub const PRIVILEGED_CALL_RULES: [&str; 7] = [
    "create-device-node",
    "open-by-file-handle",
    "kernel-keyring-access",
    "kernel-module-or-mount",
    "process-vm-access",
    "userfaultfd",
    "change-machine-state",
];
