//! Golden tests over the corpus: every recorded log becomes its own
//! snapshot of findings and behaviour (`corpus__<log>.snap`), and every log
//! in `formats/` and `behaviour/` also a snapshot of its event stream.
//! Volatile parts are redacted: pids become P1, P2, ... in order of first
//! appearance, times are dropped. Review changes with `cargo insta review`.

use std::collections::HashMap;
use std::path::Path;

use analyzer::{Analyzer, Context, RulePack};
use report::{Report, Stats, SCHEMA_VERSION};
use serde_json::Value;
use tracer::source::{discover, EventSource};

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/strace")
}

fn context() -> Context {
    Context {
        phase: "install".into(),
        home: Some("/home/pkgtrace".into()),
        cwd: Some("/home/pkgtrace/project".into()),
        canaries: vec!["CANARY-npm-4f1c2a9e7d3b".into(), "CANARY-aws-9b8c7d6e5f4a".into()],
        ..Context::default()
    }
}

fn analyze(path: &Path) -> Report {
    let pack = RulePack::embedded().expect("the built-in pack loads");
    let mut analyzer = Analyzer::new(&pack, context());
    let mut stats = Stats::default();
    for input in discover(path).expect("corpus path") {
        let (s, _) = analyzer::pipeline::run_input(&input, &mut analyzer).expect("corpus log reads");
        stats.lines += s.lines;
        stats.events += s.events;
        stats.unparsed += s.unparsed;
    }
    let phase = analyzer.finish();
    stats.processes = phase.processes;
    Report { schema_version: SCHEMA_VERSION, package: None, canaries_leaked: Vec::new(), phases: vec![phase], stats }
}

/// Replaces pid values by P1, P2, ... in order of first appearance.
struct Pids(HashMap<i64, String>);

impl Pids {
    fn redact(&mut self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, x) in map.iter_mut() {
                    let is_pid = matches!(k.as_str(), "pid" | "child" | "by" | "target" | "parent");
                    match x.as_i64() {
                        Some(n) if is_pid => {
                            let next = format!("P{}", self.0.len() + 1);
                            *x = Value::String(self.0.entry(n).or_insert(next).clone());
                        }
                        _ => self.redact(x),
                    }
                }
                map.remove("time_ns");
                map.remove("duration_ns");
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.redact(x)),
            _ => {}
        }
    }
}

/// `evidence.at` names the file by the path it was read from: keep only
/// its name and line.
fn short_origins(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if let (true, Some(s)) = (k == "at" || k == "file", x.as_str()) {
                    let short = s.rsplit('/').next().unwrap_or(s).to_string();
                    *x = Value::String(short);
                } else {
                    short_origins(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(short_origins),
        _ => {}
    }
}

fn report_snapshot(path: &Path) -> Value {
    let mut v = serde_json::to_value(analyze(path)).unwrap();
    Pids(HashMap::new()).redact(&mut v);
    short_origins(&mut v);
    v
}

fn events_snapshot(path: &Path) -> String {
    let mut pids = Pids(HashMap::new());
    let mut out = String::new();
    for input in discover(path).unwrap() {
        let mut src = EventSource::open(&input).unwrap();
        while let Some(ev) = src.next_event().unwrap() {
            let mut v = serde_json::to_value(&ev).unwrap();
            pids.redact(&mut v);
            short_origins(&mut v);
            out.push_str(&v.to_string());
            out.push('\n');
        }
    }
    out
}

fn snapshot_name(path: &Path) -> String {
    let rel = path.strip_prefix(corpus()).unwrap();
    rel.to_string_lossy().replace('/', "__")
}

#[test]
fn reports_of_every_corpus_log() {
    let mut paths: Vec<_> = ["behaviour", "formats", "npm"]
        .iter()
        .flat_map(|d| std::fs::read_dir(corpus().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            p.is_dir() || name.contains(".log")
        })
        .collect();
    paths.sort();
    assert!(paths.len() > 40, "the corpus is there");
    for path in paths {
        let name = snapshot_name(&path);
        insta::assert_json_snapshot!(format!("report__{name}"), report_snapshot(&path));
    }
}

#[test]
fn event_streams_of_format_and_behaviour_logs() {
    let mut paths: Vec<_> = ["behaviour", "formats"]
        .iter()
        .flat_map(|d| std::fs::read_dir(corpus().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "log"))
        .collect();
    paths.sort();
    for path in paths {
        let name = snapshot_name(&path);
        insta::assert_snapshot!(format!("events__{name}"), events_snapshot(&path));
    }
}

/// The same program recorded with every strace option gives the same
/// findings: the parser reads every format alike.
#[test]
fn every_format_of_demo_gives_the_same_findings() {
    let key = |path: &Path| -> Vec<(String, String)> {
        let r = analyze(path);
        let mut v: Vec<_> = r.phases[0]
            .findings
            .iter()
            .map(|f| (f.rule.clone(), f.subject.replace("x7f3a9.attacker.example", "x7f3a9.attacker.exa")))
            .collect();
        v.sort();
        v
    };
    let formats = corpus().join("formats");
    let reference = key(&formats.join("f-o.log"));
    assert!(reference.iter().any(|(r, _)| r == "read-registry-token"), "{reference:?}");
    assert!(reference.iter().any(|(r, s)| r == "dns-lookup" && s.starts_with("x7f3a9.attacker")), "{reference:?}");
    // s8 cuts the DNS payload before the name; nof traces the parent only.
    for name in [
        "T.log",
        "X-raw.log",
        "X-verbose.log",
        "Y.log",
        "i.log",
        "k.log",
        "n.log",
        "r.log",
        "read-all.log",
        "recommended.log",
        "recommended.log.gz",
        "recommended.log.zst",
        "stderr-f.log",
        "t.log",
        "tt.log",
        "ttt.log",
        "unix-ns.log",
        "v.log",
        "write-3.log",
        "write-all.log",
        "x.log",
        "xx.log",
        "y.log",
        "yy.log",
        "ff",
    ] {
        assert_eq!(key(&formats.join(name)), reference, "{name}");
    }
}

/// CVE-2022-32222, the finding this field started from: node 18.4.0 looks
/// for openssl.cnf under its build machine's `/home/iojs`, and a plain
/// `strace -f` log of it starting (no environment, so no HOME) must say so;
/// 18.5.0, fixed, must not. Nothing tells the analyzer where HOME is: a
/// home is the traced user's only on evidence.
#[test]
fn cve_2022_32222_is_flagged_in_a_plain_log_of_node_18_4_and_not_18_5() {
    let pack = RulePack::embedded().expect("the built-in pack loads");
    let analyze_plain = |name: &str| {
        let mut analyzer = Analyzer::new(&pack, Context { phase: "start".into(), ..Context::default() });
        let path = corpus().join("cve").join(name);
        for input in discover(&path).expect("corpus path") {
            analyzer::pipeline::run_input(&input, &mut analyzer).expect("corpus log reads");
        }
        analyzer.finish()
    };
    let loud = |phase: &report::PhaseReport| -> Vec<(String, String)> {
        phase
            .findings
            .iter()
            .filter(|f| f.is_active() && f.severity >= report::Severity::Medium)
            .map(|f| (f.rule.clone(), f.subject.clone()))
            .collect()
    };
    let old = analyze_plain("node-18.4.0-start.log");
    assert_eq!(
        loud(&old),
        [(
            "config-from-user-writable-path".to_string(),
            "/home/iojs/build/ws/out/Release/obj.target/deps/openssl/openssl.cnf".to_string()
        )],
        "only the build-path lookup, and not the traced command itself"
    );
    let finding = old.findings.iter().find(|f| f.rule == "config-from-user-writable-path").unwrap();
    assert_eq!(finding.severity, report::Severity::High);
    let fixed = analyze_plain("node-18.5.0-start.log");
    assert_eq!(loud(&fixed), [], "18.5.0 reads /etc/ssl/openssl.cnf only");
}
