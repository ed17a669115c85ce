//! The human-readable report: findings grouped by severity with their
//! process chain and evidence, then a summary of the behaviour. Colored
//! only when asked to (a terminal, no NO_COLOR).

use std::fmt::Write as _;

use crate::report::{PhaseReport, Report};
use crate::severity::Severity;

/// How many entries of each behaviour list the text shows.
const LIST_MAX: usize = 25;

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
        let _ = writeln!(out, "{}", st.bold(&format!("{} ({} {} {})", pkg.purl, pkg.ecosystem, pkg.name, pkg.version)));
    }
    if !report.canaries_leaked.is_empty() {
        let _ = writeln!(out, "{}", st.paint("1;31", "CANARIES LEAKED (planted credentials that left the sandbox):"));
        for l in &report.canaries_leaked {
            let _ = writeln!(out, "  {} — in {} via {}", l.canary, l.phase, l.via);
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
    let _ = writeln!(out, "{}", st.bold(&format!("== phase {}: {} findings", phase.name, active.len())));
    if let Some(status) = &phase.status {
        let _ =
            writeln!(out, "status: {status}{}", phase.error.as_deref().map(|e| format!(" — {e}")).unwrap_or_default());
    }
    if let Some(run) = &phase.run {
        let mut how = match (&run.exit_code, &run.signal) {
            (Some(c), _) => format!("the command exited with {c}"),
            (None, Some(s)) => format!("the command was killed by {s}"),
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
    }
    for sev in Severity::ALL.iter().rev() {
        let group: Vec<_> = active.iter().filter(|f| f.severity == *sev).collect();
        if group.is_empty() {
            continue;
        }
        out.push('\n');
        for f in group {
            let count = if f.count > 1 { format!(" (×{})", f.count) } else { String::new() };
            let _ = writeln!(out, "{} {}{count}", st.severity(f.severity), f.message);
            let at = f.evidence.at.as_deref().map(|a| format!(" at {a}")).unwrap_or_default();
            let result = f.evidence.result.as_deref().map(|r| format!(" → {r}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "         {}",
                st.dim(&format!("[{}] by {} (pid {}){at}, {}{result}", f.rule, f.process, f.pid, f.evidence.syscall))
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
            let _ = writeln!(out, "{}", st.dim(&format!("  [{}] {} — {why}", f.rule, f.subject)));
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
            let _ =
                writeln!(out, "    {} {}", crate::rules::fact::shell_words(&c.argv), st.dim(&format!("({})", c.chain)));
        }
        more(out, b.commands.len(), st);
    }
    if !b.dns.is_empty() {
        let _ = writeln!(out, "  dns:");
        for d in b.dns.iter().take(LIST_MAX) {
            let cut = if d.truncated { " (truncated)" } else { "" };
            let _ = writeln!(out, "    {} {}{cut} via {}", d.name, d.r#type, d.server);
        }
        more(out, b.dns.len(), st);
    }
    if !b.connections.is_empty() {
        let _ = writeln!(out, "  connections:");
        for c in b.connections.iter().take(LIST_MAX) {
            let port = c.port.map(|p| format!(":{p}")).unwrap_or_default();
            let host = c.host.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
            let _ = writeln!(out, "    {} {}{port}{host} → {}", c.transport, c.address, c.result);
        }
        more(out, b.connections.len(), st);
    }
    if let Some(sinks) = &phase.sinks {
        if !sinks.tcp.is_empty() {
            let _ = writeln!(out, "  where it tried to go (the sandbox's sinks received):");
            for t in sinks.tcp.iter().take(LIST_MAX) {
                let host = t
                    .host
                    .clone()
                    .or_else(|| t.tls_sni.clone())
                    .or_else(|| t.http_host.clone())
                    .unwrap_or_else(|| t.local_ip.to_string());
                let what = t
                    .http_request
                    .clone()
                    .or_else(|| t.tls_sni.as_ref().map(|s| format!("TLS ClientHello, SNI {s}")))
                    .unwrap_or_else(|| format!("{} bytes", t.first_bytes.len()));
                let _ = writeln!(out, "    {host}:{} — {what}", t.port);
            }
            more(out, sinks.tcp.len(), st);
        }
    }
    if let Some(o) = &phase.output {
        if phase.status.as_deref().is_some_and(|s| s != "completed") && !o.stderr.trim().is_empty() {
            let _ = writeln!(out, "  stderr (end):");
            for line in o.stderr.lines().rev().take(8).collect::<Vec<_>>().into_iter().rev() {
                let _ = writeln!(out, "    {}", st.dim(line));
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
            let _ = writeln!(out, "    {} {}", f.path, st.dim(&format!("({})", what.join(", "))));
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
