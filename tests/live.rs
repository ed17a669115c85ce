//! Live tracer tests: real tracees under `pkgtrace trace`, one at a time.
//!
//! - parity: every behaviour program of the corpus, run in the corpus
//!   sandbox once under the real `strace -f` and once under `pkgtrace trace
//!   -o`, must give the same findings (rule, subject);
//! - robustness: the tracees of `corpus/programs/live/` (1,000 children,
//!   exec from a thread, SIGKILL, SIGTERM ignored past the timeout, a
//!   double-forked daemon, PTRACE_TRACEME, a huge argv, a non-UTF-8 path,
//!   SIGSTOP/SIGCONT, signals) must neither hang the tracer nor leave a
//!   process behind.
//!
//! These tests need root (the sandbox's namespaces), gcc and strace; CI runs
//! as root and installs them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{repo, BIN};

/// The tracees, compiled once per test run.
fn tracees() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-tracees");
        let st = Command::new(repo().join("corpus/programs/live/build.sh")).arg(&dir).status().expect("build.sh runs");
        assert!(st.success(), "the tracees build");
        dir
    })
}

fn tracee(name: &str) -> String {
    tracees().join(name).display().to_string()
}

/// A copy of a tracee in a directory of the test's own, so the check for
/// leftovers sees only this test's processes (tests run in parallel).
fn own_tracee(test: &str, name: &str) -> (String, PathBuf) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("own").join(test);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::copy(tracees().join(name), &path).unwrap();
    (path.display().to_string(), dir)
}

/// `pkgtrace trace --format json [extra] -- cmd`: the report, the exit code
/// and the command's output (which pkgtrace sends to stderr).
fn trace(extra: &[&str], cmd: &[&str]) -> (Value, i32, String) {
    common::needs_root("live tracing");
    let out = Command::new(BIN)
        .env_remove("LD_LIBRARY_PATH")
        .args(["trace", "--format", "json"])
        .args(extra)
        .arg("--")
        .args(cmd)
        .stdin(Stdio::null())
        .output()
        .expect("pkgtrace runs");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("report is JSON ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr)));
    (report, out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `TRACEE DIR ARGS...` under `pkgtrace trace -o DIR/events.jsonl`, DIR
/// being a directory of the test's own (`test`): the command line, the
/// report, the command's output, and DIR (the stream is
/// `DIR/events.jsonl`), once the command has exited 0.
fn trace_in_dir(test: &str, name: &str, args: &[&str]) -> (Vec<String>, Value, String, PathBuf) {
    let dir = test_dir(test);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = vec![tracee(name), dir.display().to_string()];
    cmd.extend(args.iter().map(|a| a.to_string()));
    let cmd_ref: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let (r, _, err) = trace(&["-o", &dir.join("events.jsonl").display().to_string()], &cmd_ref);
    assert_eq!(run_of(&r)["exit_code"], 0, "{err}");
    (cmd, r, err, dir)
}

/// The directory [`trace_in_dir`] gives test `test`.
fn test_dir(test: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(test)
}

/// The records of an event stream `-o` wrote (JSON Lines).
fn events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The `argument_race` events of a stream whose text starts with `call: `.
fn races(path: &Path, call: &str) -> usize {
    let prefix = format!("{call}: ");
    events(path)
        .iter()
        .filter(|e| e["syscall"] == "argument_race" && e["args"].as_str().is_some_and(|a| a.starts_with(&prefix)))
        .count()
}

/// Whether `rule` has an active finding in the report.
fn fires(r: &Value, rule: &str) -> bool {
    active(r).iter().any(|(id, _)| id == rule)
}

fn run_of(r: &Value) -> &Value {
    &r["phases"][0]["run"]
}

fn active(r: &Value) -> BTreeSet<(String, String)> {
    r["phases"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed_by").is_none())
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["subject"].as_str().unwrap().to_string()))
        .collect()
}

/// Processes whose executable lives under `dir`, i.e. left behind by a test.
fn leftovers(dir: &Path) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(exe) = std::fs::read_link(e.path().join("exe")) else { continue };
        if exe.starts_with(dir) && !is_zombie(pid) {
            out.push(pid);
        }
    }
    out
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(true)
}

/// Waits up to 3 s for processes to disappear (a killed orphan is reaped by
/// init a moment later).
fn assert_no_leftovers(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = leftovers(dir);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "processes left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// --- parity with strace --------------------------------------------------

fn analyze(path: &Path) -> Value {
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json", "--home", "/home/pkgtrace", "--cwd", "/home/pkgtrace/project"])
        .args(["--canary", "CANARY-npm-4f1c2a9e7d3b", "--canary", "CANARY-aws-9b8c7d6e5f4a"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.code().unwrap_or(9) <= 1,
        "analyze {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `cmd` run under `strace -f -o DIR/strace.log`, and the log's active
/// findings.
fn strace_findings(dir: &Path, cmd: &[String]) -> BTreeSet<(String, String)> {
    let log = dir.join("strace.log");
    let st = Command::new("strace")
        .args(["-f", "-o"])
        .arg(&log)
        .args(cmd)
        .stdout(Stdio::null())
        .status()
        .expect("strace runs");
    assert!(st.success(), "strace {cmd:?}");
    active(&analyze(&log))
}

/// pids differ between two runs: `/proc/123/` and ptrace targets are
/// compared without them.
fn without_pids(set: BTreeSet<(String, String)>) -> BTreeSet<(String, String)> {
    let re = regex::Regex::new(r"(/proc/|PTRACE_[A-Z]+ )\d+").unwrap();
    set.into_iter().map(|(r, s)| (r, re.replace_all(&s, "${1}N").into_owned())).collect()
}

#[test]
fn live_tracer_and_strace_log_give_the_same_findings() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parity");
    let _ = std::fs::remove_dir_all(&out);
    let st = Command::new(repo().join("corpus/record.sh"))
        .args(["--parity", BIN, &out.display().to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("record.sh runs");
    assert!(st.success(), "record.sh --parity");
    let mut compared = 0;
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    assert!(logs.len() >= 20, "every behaviour program ran: {logs:?}");
    for log in logs {
        let jsonl = PathBuf::from(format!("{}.jsonl", log.display()));
        let from_strace = without_pids(active(&analyze(&log)));
        let live = analyze(&jsonl);
        assert!(
            run_of(&live)["exit_code"].as_i64().is_some() || run_of(&live)["signal"].is_string(),
            "the run outcome is recorded"
        );
        let from_live = without_pids(active(&live));
        let name = log.file_name().unwrap().to_string_lossy().into_owned();
        if name == "persistence.log" {
            // strace without -v prints no exec environment, so LD_PRELOAD in
            // it is invisible there; the live tracer always reads it. The
            // same program with `strace -v` is persistence-v.log (equal).
            assert!(
                from_live.is_superset(&from_strace),
                "{name}: live misses {:?}",
                from_strace.difference(&from_live)
            );
            assert!(from_live.iter().any(|(r, _)| r == "exec-with-ld-preload"));
            continue;
        }
        assert!(!from_strace.is_empty(), "{name} has findings");
        assert_eq!(
            from_live,
            from_strace,
            "{name}: only live {:?}, only strace {:?}",
            from_live.difference(&from_strace).collect::<Vec<_>>(),
            from_strace.difference(&from_live).collect::<Vec<_>>()
        );
        compared += 1;
    }
    assert!(compared >= 19);
}

// --- robustness -------------------------------------------------------------

#[test]
fn a_thousand_short_lived_children() {
    let (prog, dir) = own_tracee("many_children", "many_children");
    let (r, _, err) = trace(&[], &[&prog, "fork"]);
    assert!(err.contains("reaped 1000"), "{err}");
    assert_eq!(run_of(&r)["exit_code"], 0);
    assert!(r["stats"]["processes"].as_u64().unwrap() >= 1001, "{}", r["stats"]);
    let (r, _, err) = trace(&[], &[&prog, "exec"]);
    assert!(err.contains("reaped 1000"), "{err}");
    let commands = r["phases"][0]["behaviour"]["commands"].as_array().unwrap();
    assert_eq!(commands.iter().filter(|c| c["exe"] == "/bin/true").count(), 1000);
    assert_no_leftovers(&dir);
}

#[test]
fn exec_from_a_non_leader_thread_is_reported_under_the_leader() {
    let (r, _, err) = trace(&[], &[&tracee("thread_exec")]);
    assert!(err.contains("from-thread"), "{err}");
    assert_eq!(run_of(&r)["exit_code"], 0);
    let commands = r["phases"][0]["behaviour"]["commands"].as_array().unwrap();
    let echo = commands.iter().find(|c| c["argv"][0] == "echo").expect("the thread's exec");
    assert_eq!(echo["argv"][1], "from-thread");
    assert_eq!(echo["pid"], commands[0]["pid"], "the exec completes under the leader's pid");
}

/// A thread of the caller keeps changing an execve's argument, its variable
/// and its argument count from another CPU while the call is stopped at its
/// entry: the event must say what the new program got (what env printed),
/// not what the caller's memory held at the stop. Reading at the entry got
/// 20 of 30 wrong.
#[test]
fn exec_strings_are_reported_as_the_new_program_got_them() {
    let ev = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exec_race.jsonl");
    let (r, _, err) = trace(&["-o", &ev.display().to_string()], &[&tracee("exec_race"), "30"]);
    assert_eq!(run_of(&r)["exit_code"], 0, "{err}");
    // env's output, one group per exec: RACE=..., A=..., and B=1 when the
    // third argument made it.
    let mut got: Vec<(String, Vec<String>)> = Vec::new();
    for line in err.lines() {
        if line.starts_with("RACE=") {
            got.push((line.to_string(), Vec::new()));
        } else if line.starts_with("A=") || line.starts_with("B=") {
            got.last_mut().expect("RACE= comes first").1.push(line.to_string());
        }
    }
    let reported: Vec<(String, Vec<String>)> = events(&ev)
        .into_iter()
        // Those the kernel failed (EFAULT: the count changed while it
        // copied) are retried.
        .filter(|e| e["kind"] == "exec" && e["path"] == "/usr/bin/env" && e["result"]["errno"].is_null())
        .map(|e| {
            let args = e["argv"].as_array().unwrap()[1..].iter().map(|a| a.as_str().unwrap().to_string());
            (e["env"][0].as_str().unwrap().to_string(), args.collect())
        })
        .collect();
    assert_eq!(got.len(), 30, "{err}");
    let values: BTreeSet<&str> = got.iter().map(|(v, _)| v.as_str()).collect();
    let counts: BTreeSet<usize> = got.iter().map(|(_, a)| a.len()).collect();
    assert_eq!((values.len(), counts.len()), (2, 2), "the flipping thread ran: {got:?}");
    assert_eq!(reported, got);
}

/// A tracee's own seccomp filter returning SECCOMP_RET_TRACE chooses the
/// data the tracer's stop carries: trusting it, pkgtrace took every open of
/// the process for a foreign-ABI call (0x2) and reported none. The open
/// must be reported whole whatever the data, and the attempt flagged.
#[test]
fn a_tracees_own_seccomp_filter_does_not_steer_the_tracer() {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seccomp-steer-target");
    std::fs::write(&file, "secret\n").unwrap();
    for data in ["0x0", "0x2", "0x5"] {
        let ev = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("seccomp-steer-{data}.jsonl"));
        let (r, _, err) =
            trace(&["-o", &ev.display().to_string()], &[&tracee("seccomp_steer"), data, &file.display().to_string()]);
        assert_eq!(run_of(&r)["exit_code"], 0, "{data}: {err}");
        assert!(err.contains("open ok"), "{data}: {err}");
        let events = events(&ev);
        let opens: Vec<&Value> =
            events.iter().filter(|e| e["kind"] == "open" && e["path"] == file.display().to_string()).collect();
        assert_eq!(opens.len(), 1, "{data}: {events:?}");
        assert!(opens[0]["result"]["value"].as_i64().is_some_and(|fd| fd >= 0), "{data}: {:?}", opens[0]);
        assert_eq!(opens[0]["resolved"], file.display().to_string(), "{data}");
        let steered = events.iter().filter(|e| e["syscall"] == "seccomp_ret_trace").count();
        assert_eq!(steered, 1, "{data}: reported once for the process");
        assert!(fires(&r, "seccomp-filter-steers-tracer"), "{data}: {:?}", active(&r));
    }
}

/// execve with a NULL or empty argv (the kernel gives the program a ""
/// argv[0], a script its interpreter's): the tracer once panicked on it,
/// so one such call ended any run unreported.
#[test]
fn execs_without_argv_are_reported() {
    let (_, _, err, dir) = trace_in_dir("no-argv", "no_argv", &[]);
    let ev = dir.join("events.jsonl");
    assert!(err.contains("no_argv ok"), "{err}");
    let execs: Vec<Value> =
        events(&ev).into_iter().filter(|e| e["kind"] == "exec" && e["result"]["value"] == 0).collect();
    let script = dir.join("noargv.sh").display().to_string();
    let to = |path: &str| execs.iter().filter(|e| e["path"] == path).count();
    assert_eq!((to("/bin/true"), to(&script)), (2, 1), "{execs:?}");
    for e in execs.iter().filter(|e| e["path"] == "/bin/true") {
        assert!(e["argv"].as_array().unwrap().len() <= 1, "{e}");
    }
}

/// prctl(PR_SET_DUMPABLE, 0) is reported (it shuts out tracers without
/// CAP_SYS_PTRACE); a root tracer still reads what the process opens.
#[test]
fn a_process_making_itself_non_dumpable_is_reported() {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("non-dumpable-target");
    std::fs::write(&file, "x").unwrap();
    let ev = Path::new(env!("CARGO_TARGET_TMPDIR")).join("non-dumpable.jsonl");
    let (r, _, err) =
        trace(&["-o", &ev.display().to_string()], &[&tracee("non_dumpable"), &file.display().to_string()]);
    assert_eq!(run_of(&r)["exit_code"], 0, "{err}");
    assert!(active(&r).contains(&("make-process-non-dumpable".to_string(), "prctl".to_string())), "{:?}", active(&r));
    let events = events(&ev);
    let opened = events.iter().any(|e| {
        e["kind"] == "open" && e["path"] == file.display().to_string() && e["resolved"] == file.display().to_string()
    });
    assert!(opened, "{events:?}");
}

/// The calls sandbox escapes and privilege escalations go through, each
/// made once in a form that fails or changes nothing outside its
/// directory: reported by the live tracer, with the same findings as from
/// a strace log of the same program.
#[test]
fn escape_calls_are_reported_live_and_from_strace_alike() {
    let (cmd, r, _, dir) = trace_in_dir("escape-calls", "escape_calls", &[]);
    let ev = dir.join("events.jsonl");
    let events = events(&ev);
    let other = |call: &str| events.iter().find(|e| e["kind"] == "other" && e["syscall"] == call);
    for call in [
        "mknodat",
        "mknod",
        "open_by_handle_at",
        "keyctl",
        "add_key",
        "fsopen",
        "open_tree",
        "move_mount",
        "pidfd_getfd",
        "userfaultfd",
        "sethostname",
        "clock_settime",
        "reboot",
        "swapon",
        "iopl",
    ] {
        assert!(other(call).is_some(), "no {call} event");
    }
    let node = format!("AT_FDCWD, {:?}, S_IFCHR|0600, makedev(0x1, 0x3)", dir.join("null").display().to_string());
    assert_eq!(other("mknodat").unwrap()["args"], node.as_str());
    assert_eq!(other("fsopen").unwrap()["args"], r#""pkgtrace-no-such-fs", 0x0"#);
    let live = active(&r);
    for (rule, call) in [
        ("create-device-node", "mknodat"),
        ("open-by-file-handle", "open_by_handle_at"),
        ("kernel-keyring-access", "keyctl"),
        ("kernel-keyring-access", "add_key"),
        ("kernel-module-or-mount", "fsopen"),
        ("kernel-module-or-mount", "open_tree"),
        ("kernel-module-or-mount", "move_mount"),
        ("process-vm-access", "pidfd_getfd"),
        ("userfaultfd", "userfaultfd"),
        ("change-machine-state", "sethostname"),
        ("change-machine-state", "clock_settime"),
        ("change-machine-state", "reboot"),
        ("change-machine-state", "swapon"),
        ("change-machine-state", "iopl"),
    ] {
        assert!(live.contains(&(rule.to_string(), call.to_string())), "{rule} on {call}: {live:?}");
    }
    // A FIFO is what builds make; only the device node is a finding.
    assert!(!live.contains(&("create-device-node".to_string(), "mknod".to_string())), "{live:?}");

    let from_strace = strace_findings(&dir, &cmd);
    let escapes = |set: &BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
        set.iter().filter(|(rule, _)| common::PRIVILEGED_CALL_RULES.contains(&rule.as_str())).cloned().collect()
    };
    assert_eq!(escapes(&live), escapes(&from_strace), "live and strace differ");
}

/// What ptrace cannot follow runs under `trace` (the sandbox refuses it),
/// and the attempt is reported: a child made with CLONE_UNTRACED by clone
/// and by clone3, an io_uring, a seccomp listener, a call through the i386
/// ABI. (The untraced
/// child still has the tracer's filter: what it stops on fails for it.) strace cannot
/// follow them either; a log of it gives the same findings, but for the
/// i386 call, which strace 6 decodes without a note that the ABI changed.
#[test]
fn calls_that_escape_tracing_are_reported() {
    let child_file = test_dir("untraceable").join("untraced-child");
    let _ = std::fs::remove_file(&child_file);
    let (cmd, r, _, dir) = trace_in_dir("untraceable", "untraceable", &[]);
    let ev = dir.join("events.jsonl");
    // The untraced child ran untraced, but every call the filter stops on
    // failed for it (ENOSYS: no tracer to stop for): its open made nothing.
    let child = child_file.display().to_string();
    assert!(!child_file.exists(), "the untraced child opened {child}");
    assert!(!events(&ev).iter().any(|e| e["path"] == child.as_str()), "the untraced child was traced");
    let live = active(&r);
    for call in ["clone", "clone3", "io_uring_setup", "seccomp", "foreign_abi"] {
        assert!(live.contains(&("untraceable-call".to_string(), call.to_string())), "{call}: {live:?}");
    }

    let from_strace = strace_findings(&dir, &cmd);
    let untraceable = |set: &BTreeSet<(String, String)>| -> BTreeSet<String> {
        set.iter().filter(|(rule, _)| rule == "untraceable-call").map(|(_, call)| call.clone()).collect()
    };
    let mut expected = untraceable(&live);
    expected.remove("foreign_abi");
    assert_eq!(untraceable(&from_strace), expected);
}

/// libuv's epoll-control rings (256 entries, no SQPOLL), made by a program
/// named `node` as Node 22 makes them at its start, leave
/// `untraceable-call` suppressed; libuv 1.45's SQPOLL file ring, which
/// reads files unseen, is reported. The live tracer gives the ring's flags
/// as strace does, and a strace log of the same command agrees.
#[test]
fn a_runtime_epoll_ring_is_suppressed_and_a_file_ring_is_reported() {
    let (prog, dir) = own_tracee("uring-rings", "uring_rings");
    let node = dir.join("node");
    std::fs::rename(&prog, &node).unwrap();
    let node = node.display().to_string();
    let epoll = vec![
        "256, {flags=IORING_SETUP_NO_SQARRAY, sq_thread_cpu=0, sq_thread_idle=0}",
        "256, {flags=0, sq_thread_cpu=0, sq_thread_idle=0}",
    ];
    let sqpoll = vec!["64, {flags=IORING_SETUP_SQPOLL, sq_thread_cpu=0, sq_thread_idle=10}"];
    for (mode, rings, reported) in [("epoll", epoll, false), ("sqpoll", sqpoll, true)] {
        let ev = dir.join(format!("{mode}.jsonl"));
        let (r, code, err) = trace(&["-o", &ev.display().to_string()], &[&node, mode]);
        assert!(err.contains("rings ok"), "{mode}: {err}");
        let seen: Vec<String> = events(&ev)
            .iter()
            .filter(|e| e["syscall"] == "io_uring_setup")
            .map(|e| e["args"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(seen, rings, "{mode}");
        let ring = ("untraceable-call".to_string(), "io_uring_setup".to_string());
        assert_eq!(active(&r).contains(&ring), reported, "{mode}: {:?}", active(&r));
        let suppressed = r["phases"][0]["findings"].as_array().unwrap().iter().any(|f| {
            f["rule"] == "untraceable-call"
                && f["suppressed_by"].as_str().is_some_and(|why| why.contains("epoll-control ring"))
        });
        assert_eq!(suppressed, !reported, "{mode}: the finding is kept, suppressed");
        assert_eq!(code, if reported { 1 } else { 0 }, "{mode}: exit code");
        let cmd = [node.clone(), mode.to_string()];
        assert_eq!(strace_findings(&dir, &cmd).contains(&ring), reported, "{mode}: from the strace log");
    }
}

/// A thread rewrites a rename's destination while the call runs: the
/// tracer cannot know which name the kernel used, but it sees the string
/// change between the call's entry and its exit, and reports the race.
#[test]
fn a_path_rewritten_during_a_rename_is_reported() {
    let (_, r, err, dir) = trace_in_dir("rename-race", "rename_race", &["300"]);
    let ev = dir.join("events.jsonl");
    let landed = err.lines().find_map(|l| l.strip_prefix("landed ")).expect("the tracee's summary");
    assert!(races(&ev, "rename") > 0, "no race seen in 300 renames ({landed})");
    assert!(fires(&r, "syscall-argument-race"), "{:?}", active(&r));
}

/// The same race on a connect's address (UDP, in a network namespace of
/// its own whose loopback is down: nothing can be sent anywhere).
#[test]
fn an_address_rewritten_during_a_connect_is_reported() {
    let ev = Path::new(env!("CARGO_TARGET_TMPDIR")).join("connect-race.jsonl");
    let (r, _, err) = trace(&["-o", &ev.display().to_string()], &["unshare", "-n", &tracee("connect_race"), "300"]);
    assert_eq!(run_of(&r)["exit_code"], 0, "{err}");
    assert!(err.contains("connect_race done"), "{err}");
    assert!(races(&ev, "connect") > 0, "no race seen in 300 connects");
    assert!(fires(&r, "syscall-argument-race"), "{:?}", active(&r));
}

#[test]
fn a_tracee_killed_by_sigkill() {
    let (r, _, _) = trace(&[], &[&tracee("killed")]);
    assert_eq!(run_of(&r)["signal"], "SIGKILL");
    assert!(run_of(&r).get("exit_code").is_none());
    assert_eq!(r["stats"]["processes"], 2);
}

#[test]
fn a_tracee_ignoring_sigterm_is_killed_at_the_timeout() {
    let (prog, dir) = own_tracee("timeout", "ignore_term");
    let start = Instant::now();
    let (r, code, _) = trace(&["--timeout", "1"], &[&prog]);
    assert!(start.elapsed() < Duration::from_secs(6), "took {:?}", start.elapsed());
    assert_eq!(run_of(&r)["timed_out"], true);
    assert_eq!(run_of(&r)["signal"], "SIGKILL");
    assert_eq!(code, 4, "a run the timeout cut short is incomplete");
    assert_no_leftovers(&dir);
}

#[test]
fn sigterm_to_pkgtrace_kills_the_run_and_reports_it() {
    let (prog, dir) = own_tracee("sigterm", "ignore_term");
    let child = Command::new(BIN)
        .env_remove("LD_LIBRARY_PATH")
        .args(["trace", "--format", "json", "--", &prog])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let st = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let out: Output = child.wait_with_output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).expect("a report even when interrupted");
    assert_eq!(run_of(&r)["interrupted"], true);
    assert_no_leftovers(&dir);
}

#[test]
fn a_double_forked_daemon_is_traced_and_killed_at_the_end() {
    let pidfile = Path::new(env!("CARGO_TARGET_TMPDIR")).join("daemon.pid");
    let _ = std::fs::remove_file(&pidfile);
    let (prog, dir) = own_tracee("daemon", "daemon");
    let (r, _, _) = trace(&["--linger", "0.5"], &[&prog, &pidfile.display().to_string()]);
    assert_eq!(run_of(&r)["exit_code"], 0);
    assert!(run_of(&r)["killed_at_end"].as_u64().unwrap_or(0) >= 1, "{}", run_of(&r));
    let daemon: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    // The daemon was traced: its writing of the pid file is in the report.
    let files = r["phases"][0]["behaviour"]["files"].as_array().unwrap();
    assert!(
        files.iter().any(|f| f["path"].as_str().unwrap().ends_with("daemon.pid.tmp")),
        "the daemon's own writes are seen"
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while Path::new(&format!("/proc/{daemon}")).exists() && !is_zombie(daemon) {
        assert!(Instant::now() < deadline, "the daemon {daemon} still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_no_leftovers(&dir);
}

#[test]
fn ptrace_traceme_fails_under_the_tracer_and_is_reported() {
    let (r, _, err) = trace(&[], &[&tracee("traceme")]);
    assert!(err.contains("traced") && !err.contains("not-traced"), "{err}");
    let f = active(&r);
    assert!(f.iter().any(|(rule, _)| rule == "ptrace-traceme"), "{f:?}");
    assert!(f.iter().any(|(rule, _)| rule == "read-proc-self-status"), "{f:?}");
}

#[test]
fn a_huge_argv_is_read_capped_and_marked() {
    let ev = Path::new(env!("CARGO_TARGET_TMPDIR")).join("huge.jsonl");
    let (r, _, err) = trace(&["-o", &ev.display().to_string()], &[&tracee("huge_argv")]);
    assert!(err.contains("argc ok"), "{err}");
    assert_eq!(run_of(&r)["exit_code"], 0);
    let execs: Vec<Value> = events(&ev).into_iter().filter(|e| e["kind"] == "exec").collect();
    assert_eq!(execs.len(), 2);
    let big = &execs[1];
    assert_eq!(big["argv"].as_array().unwrap().len(), 4096, "argv is read up to its cap");
    assert_eq!(big["argv_truncated"], true);
}

/// Exits nobody reads are skipped, and none that a rule reads: a probe of
/// a path no rule is about comes without its result, one of a credential
/// file with it; fcntl's dup of a file is not followed when the process is
/// alone, but is in a child sharing its fd table and while a thread runs;
/// a socket dup'ed onto stdin is reported.
#[test]
fn exits_nobody_reads_are_skipped_and_those_rules_read_are_kept() {
    let dir = test_dir("skipped-exits");
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = |extra: &[&str]| {
        let ev = dir.join("events.jsonl");
        let out = Command::new(BIN)
            .env("HOME", &home)
            .args(["trace", "--format", "json", "-o", &ev.display().to_string()])
            .args(extra)
            .arg("--")
            .args([&tracee("skipped_exits"), &home.display().to_string()])
            .stdin(Stdio::null())
            .output()
            .expect("pkgtrace runs");
        let r: Value = serde_json::from_slice(&out.stdout).expect("report");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(run_of(&r)["exit_code"], 0, "{err}");
        assert!(err.contains("skipped_exits ok"), "{err}");
        (r, events(&ev))
    };
    let boring = "/usr/share/pkgtrace-test-nothing-here";
    let probe = |events: &[Value], path: &str| {
        let e = events.iter().find(|e| e["kind"] == "probe" && e["path"] == path);
        e.unwrap_or_else(|| panic!("{path} probed")).clone()
    };
    let (_, all) = run(&["--all-results"]);
    assert_eq!(probe(&all, boring)["result"]["errno"], "ENOENT", "--all-results reads it");
    let (r, events) = run(&[]);
    assert_eq!(probe(&events, boring)["result"], serde_json::json!({}), "no result read");
    let probe = |path: &str| probe(&events, path);
    let key = home.join(".ssh/id_rsa").display().to_string();
    assert_eq!(probe(&key)["result"]["errno"], "ENOENT");
    assert!(active(&r).contains(&("probe-credential-file".to_string(), key.clone())), "{:?}", active(&r));
    let dups: Vec<(i64, i64)> = events
        .iter()
        .filter(|e| e["kind"] == "dup" && e["syscall"] == "fcntl")
        .map(|e| (e["pid"].as_i64().unwrap(), e["new"].as_i64().unwrap()))
        .collect();
    let root = events.iter().find(|e| e["kind"] == "exec").unwrap()["pid"].as_i64().unwrap();
    // The CLONE_FILES child's, the threaded one's, the socket's (onto 0).
    assert_eq!(dups.len(), 3, "{dups:?}");
    assert_ne!(dups[0].0, root, "the child sharing the fd table: {dups:?}");
    assert_eq!(&dups[1..], &[(root, 5), (root, 0)], "{dups:?}");
    assert!(fires(&r, "dup-socket-to-stdio"), "{:?}", active(&r));
    // Read-only opens of one name under a directory fd.
    let opened = |events: &[Value], dir: &str, name: &str| {
        let e = events.iter().find(|e| e["kind"] == "open" && e["path"] == name && e["dirfd"]["path"] == dir);
        e.unwrap_or_else(|| panic!("{dir} + {name} opened")).clone()
    };
    let home_dir = home.display().to_string();
    let ssh = home.join(".ssh").display().to_string();
    assert_eq!(opened(&events, "/usr", "share")["result"], serde_json::json!({}), "no result read");
    assert!(opened(&all, "/usr", "share")["result"]["value"].as_i64().unwrap() > 2, "--all-results reads it");
    assert!(opened(&events, "/usr", "lib")["result"]["value"].as_i64().unwrap() > 2, "no O_NOFOLLOW: kept");
    // `~/.ssh/**` (read-ssh-directory-file) matches the directory itself.
    assert!(opened(&events, &home_dir, ".ssh")["result"]["value"].as_i64().unwrap() > 2, "a rule's path: kept");
    let key_read = opened(&events, &ssh, "id_rsa");
    assert!(key_read["result"]["value"].as_i64().unwrap() > 2, "a rule's path: kept");
    assert_eq!(key_read["resolved"], key, "named by its fd");
    assert!(active(&r).contains(&("read-ssh-private-key".to_string(), key)), "{:?}", active(&r));
    // Listed in the report, not as failed.
    let files = r["phases"][0]["behaviour"]["files"].as_array().unwrap();
    let share = files.iter().find(|f| f["path"] == "/usr/share").expect("/usr/share listed");
    assert_eq!((share["read"].as_bool(), share["failed"].as_bool()), (Some(true), Some(false)), "{share}");
}

#[test]
fn a_non_utf8_path_survives_trace_and_replay() {
    let (_, r, _, dir) = trace_in_dir("badpath", "badpath", &[]);
    let ev = dir.join("events.jsonl");
    let files = r["phases"][0]["behaviour"]["files"].as_array().unwrap();
    let bad = files.iter().find(|f| f["path"].as_str().unwrap().contains('\u{fffd}')).expect("the bad name, lossy");
    assert_eq!(bad["write"], true);
    assert_eq!(bad["delete"], true);
    let text = std::fs::read_to_string(&ev).unwrap();
    assert!(text.contains(r#"{"hex":"#), "non-UTF-8 bytes are kept as hex in the stream");
}

#[test]
fn job_control_works_under_the_tracer() {
    let (r, _, err) = trace(&["--timeout", "20"], &[&tracee("stopcont")]);
    assert_eq!(run_of(&r)["exit_code"], 0, "{err}");
    assert!(err.contains("stopped") && err.contains("continued"), "{err}");
    assert!(run_of(&r).get("timed_out").is_none());
}

#[test]
fn vfork_posix_spawn_and_clone3_are_followed() {
    let (r, _, err) = trace(&[], &[&tracee("vfork_exec")]);
    assert_eq!(err.matches(": ok").count(), 4, "{err}");
    assert_eq!(run_of(&r)["exit_code"], 0);
    assert!(r["stats"]["processes"].as_u64().unwrap() >= 4);
}

#[test]
fn signals_are_delivered_to_the_tracee() {
    let (r, _, err) = trace(&[], &[&tracee("signals")]);
    assert!(err.contains("usr1 5 rt 3 usr2-from-child yes"), "{err}");
    assert_eq!(run_of(&r)["exit_code"], 0);
}

#[test]
fn a_bounded_fork_bomb_is_followed() {
    let (prog, dir) = own_tracee("fork_bomb", "fork_bomb_bounded");
    let (r, _, err) = trace(&[], &[&prog]);
    assert!(err.contains("processes 511"), "{err}");
    assert_eq!(r["stats"]["processes"], 511);
    assert_no_leftovers(&dir);
}

// --- the command line ------------------------------------------------------

#[test]
fn a_recorded_stream_replays_to_the_same_report() {
    let ev = Path::new(env!("CARGO_TARGET_TMPDIR")).join("replay.jsonl");
    let (live, code, _) =
        trace(&["-o", &ev.display().to_string()], &["sh", "-c", "cat /etc/hostname; ls /nonexistent"]);
    let out = Command::new(BIN).args(["analyze", "--format", "json", "--phase", "trace"]).arg(&ev).output().unwrap();
    assert_eq!(out.status.code(), Some(code));
    let replay: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replay["phases"][0]["findings"], live["phases"][0]["findings"]);
    assert_eq!(replay["phases"][0]["behaviour"], live["phases"][0]["behaviour"]);
    assert_eq!(replay["phases"][0]["run"], live["phases"][0]["run"]);
    assert_eq!(replay["stats"]["events"], live["stats"]["events"]);
}

#[test]
fn follow_prints_findings_as_they_happen() {
    // The traced command itself is not behaviour; what it runs is.
    let (_, _, err) = trace(&["--follow"], &["sh", "-c", "sh -c true; true"]);
    assert!(err.contains("pkgtrace: medium [inline-code-exec]"), "{err}");
}

#[test]
fn the_exit_status_and_a_missing_command() {
    let (r, _, _) = trace(&[], &["sh", "-c", "exit 3"]);
    assert_eq!(run_of(&r)["exit_code"], 3);
    let out = Command::new(BIN).args(["trace", "--", "/nonexistent/cmd"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("command not found: /nonexistent/cmd"));
}

/// The CPUs a process may run on, from its `Cpus_allowed_list` line
/// (`0-1`, `3`, `0,2-3`).
fn cpu_list(line: &str) -> Vec<usize> {
    let list = line.split(':').nth(1).expect("Cpus_allowed_list: ...").trim();
    let mut out = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap()),
            None => out.push(part.parse().unwrap()),
        }
    }
    out
}

#[test]
fn the_command_shares_one_cpu_with_its_tracer_unless_all_cpus_is_asked() {
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let ours = cpu_list(ours.lines().find(|l| l.starts_with("Cpus_allowed_list:")).unwrap());
    let show = ["sh", "-c", "grep Cpus_allowed_list: /proc/self/status"];
    let (_, code, out) = trace(&[], &show);
    assert_eq!(code, 0, "{out}");
    let pinned = cpu_list(out.lines().find(|l| l.starts_with("Cpus_allowed_list:")).expect("the command's line"));
    if ours.len() > 1 {
        assert_eq!(pinned.len(), 1, "one CPU: {out}");
        assert!(ours.contains(&pinned[0]), "one of the CPUs pkgtrace may use: {pinned:?} of {ours:?}");
    } else {
        assert_eq!(pinned, ours);
    }
    let (_, code, out) = trace(&["--all-cpus"], &show);
    assert_eq!(code, 0, "{out}");
    let all = cpu_list(out.lines().find(|l| l.starts_with("Cpus_allowed_list:")).expect("the command's line"));
    assert_eq!(all, ours, "--all-cpus leaves the command every CPU pkgtrace has");
}
