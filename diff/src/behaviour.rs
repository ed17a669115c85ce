//! What one phase did, as comparable items: each a [`Kind`], a key (the
//! normalised text two versions are compared on) and what is shown (the
//! text as the report has it).
//!
//! Left out on purpose, because every program does them and a diff full of
//! them hides what matters: reads of shared libraries, the dynamic loader's
//! cache, locale and time-zone data, the resolver's configuration,
//! `/proc/self`, the sandbox's cgroup limits and `/dev/null`; an exec of a
//! program (that is a command, listed once as such), and a read of it (its
//! runtime's, which node does in some runs only); the connection to the
//! sandbox's resolver and to glibc's nscd socket (the DNS names are listed).

use std::collections::BTreeMap;

use report::{PhaseReport, Report};

use crate::compare::Kind;
use crate::normalize::Normalizer;

/// (kind, key) → shown text.
pub type Items = BTreeMap<(Kind, String), String>;

/// Credential and secret files: reading or writing one is the first thing a
/// reviewer looks for. Matched as substrings of the normalised path.
const CREDENTIALS: &[&str] = &[
    "/.npmrc",
    "/.yarnrc",
    "/.pypirc",
    "/.netrc",
    "/.git-credentials",
    "/.gitconfig",
    "/.ssh/",
    "/.aws/",
    "/.azure/",
    "/.config/gcloud",
    "/.kube/config",
    "/.docker/config.json",
    "/.gnupg/",
    "/.cargo/credentials",
    "/.config/gh/",
    "/.bash_history",
    "/.env",
    "/etc/shadow",
    "/.mozilla/",
    "/.config/google-chrome",
    "/.config/chromium",
    "/.local/share/keyrings",
    "/.electrum",
    "/.bitcoin",
];

/// Reads that every runtime does (prefixes of the normalised path).
const ROUTINE_READS: &[&str] = &[
    "/usr/lib/",
    "/lib/",
    "/lib64/",
    "/usr/lib64/",
    "/etc/ld.so",
    "/etc/locale.alias",
    "/usr/share/locale",
    "/usr/share/zoneinfo",
    "/usr/lib/locale",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/netsvc.conf",
    "/etc/svc.conf",
    "/etc/gai.conf",
    "/proc/self/",
    "/proc/N/",
    "/proc/meminfo",
    "/proc/cpuinfo",
    "/proc/stat",
    "/proc/sys/vm/overcommit_memory",
    "/sys/fs/cgroup/",
    "/sys/devices/system/cpu",
    "/dev/null",
    "/dev/urandom",
    "/dev/random",
    "/dev/tty",
];

/// Writes nobody cares about.
const ROUTINE_WRITES: &[&str] = &["/dev/null", "/dev/tty", "/dev/pts/"];

/// Is `path` (normalised) a credential or secret file?
pub fn is_credential(path: &str) -> bool {
    CREDENTIALS.iter().any(|c| path.contains(c))
}

/// The items of `phase` (of `report`, whose canary leaks are per phase).
pub fn items(report: &Report, phase: &PhaseReport, n: &Normalizer) -> Items {
    let mut out = Items::new();
    let mut put = |kind: Kind, key: String, shown: String| {
        out.entry((kind, key)).or_insert(shown);
    };
    let b = &phase.behaviour;

    for leak in report.canaries_leaked.iter().filter(|l| l.phase == phase.name) {
        let shown = format!("canary {} left via {}", leak.canary, leak.via);
        put(Kind::Leak, format!("{} {}", leak.canary, n.name(&leak.via)), shown);
    }

    // Executables this phase wrote and ran: a dropped payload.
    let created: Vec<&str> = b.files.iter().filter(|f| f.write && f.exec).map(|f| f.path.as_str()).collect();
    for path in &created {
        put(Kind::Executable, n.text(path), format!("created and ran {path}"));
    }

    for c in &b.commands {
        let line = argv_line(&c.argv);
        if let Some(script) = lifecycle_script(&c.argv) {
            put(Kind::Script, n.text(&script), format!("lifecycle script: {script}"));
            continue;
        }
        match &c.failed {
            Some(errno) => {
                put(Kind::Command, format!("{} ({errno})", n.text(&line)), format!("could not run {line} ({errno})"))
            }
            None => put(Kind::Command, n.text(&line), line),
        }
    }

    for d in &b.dns {
        put(Kind::Dns, n.name(&d.name), format!("DNS {}", d.name));
    }
    let resolvers: Vec<&str> = b.dns.iter().map(|d| d.server.as_str()).collect();
    for c in &b.connections {
        if c.transport == "unix" && c.address.contains("nscd") {
            continue;
        }
        if c.port == Some(53) && resolvers.contains(&c.address.as_str()) {
            continue;
        }
        let host = c.host.as_deref().unwrap_or(&c.address);
        let port = c.port.map(|p| format!(":{p}")).unwrap_or_default();
        let target = format!("{host}{port}/{}", c.transport);
        put(Kind::Network, format!("connect {}", n.name(&target)), format!("connects to {target}"));
    }
    for x in phase.network.iter().filter(|x| x.protocol != "dns") {
        let host = x.host.as_deref().unwrap_or(&x.address);
        let what = match (&x.method, &x.url) {
            (Some(m), Some(u)) => format!("{} {m} {u}", x.protocol),
            _ => x.protocol.clone(),
        };
        let shown = format!("sends {what} to {host}:{}", x.port);
        put(Kind::Network, format!("send {} {}:{}", n.text(&what), n.name(host), x.port), shown);
    }

    for f in &b.files {
        let key = n.text(&f.path);
        if created.contains(&f.path.as_str()) {
            continue;
        }
        let credential = is_credential(&key);
        let kind = if credential { Kind::Credential } else { Kind::File };
        // A program the phase ran is read by its own runtime, and not
        // always (node maps its code to large pages when the memory allows):
        // the command is listed as such.
        let routine_read = !credential && (f.exec || ROUTINE_READS.iter().any(|p| key.starts_with(p)));
        let routine_write = ROUTINE_WRITES.iter().any(|p| key.starts_with(p));
        for (on, verb) in
            [(f.read, "reads"), (f.write, "writes"), (f.delete, "deletes"), (f.chmod, "changes the mode of")]
        {
            let routine = match verb {
                "reads" => routine_read,
                _ => routine_write,
            };
            if on && !routine {
                put(kind, format!("{verb} {key}"), format!("{verb} {}", f.path));
            }
        }
    }

    let killed = phase.run.as_ref().map_or(0, |r| r.killed_at_end);
    if killed > 0 {
        put(Kind::LeftBehind, "left behind".into(), format!("left {killed} process(es) running (killed at the end)"));
    }
    out
}

/// npm runs every lifecycle script (preinstall, install, postinstall,
/// prepare) as `sh -c <script>`; cargo runs a crate's build script as
/// `.../build-script-build`; pip builds an sdist by running `setup.py`
/// or a PEP 517 backend hook (`_in_process.py`). The script, when `argv` is one.
pub fn lifecycle_script(argv: &[String]) -> Option<String> {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let first = base(argv.first()?);
    if matches!(first.as_str(), "sh" | "bash" | "dash") && argv.get(1).is_some_and(|a| a == "-c") {
        return argv.get(2).cloned();
    }
    if first.starts_with("build-script-") {
        return Some(format!("cargo build script {}", argv[0]));
    }
    if first.starts_with("python") {
        if let Some(hook) = argv.iter().skip(1).find(|a| a.ends_with("setup.py") || a.ends_with("_in_process.py")) {
            return Some(format!("python build {}", base(hook)));
        }
    }
    None
}

/// A command line as one string, arguments with spaces quoted.
pub fn argv_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| if a.is_empty() || a.contains([' ', '\t', '"']) { format!("'{a}'") } else { a.clone() })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The counts a jump is looked for in: processes started and files written
/// outside the package.
pub fn counts(phase: &PhaseReport) -> [(&'static str, u64); 2] {
    let b = &phase.behaviour;
    [
        ("processes started", b.commands.len() as u64),
        ("files written outside the package", b.files.iter().filter(|f| f.write).count() as u64),
    ]
}

/// A count that jumped: at least twice as many and at least 10 more (a
/// package that starts 1 process and then 3 did not jump; 5 then 40 did).
pub fn jumped(old: u64, new: u64) -> bool {
    new >= old.saturating_mul(2) && new >= old + 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_scripts_are_recognised() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(lifecycle_script(&v(&["sh", "-c", "node setup.js"])), Some("node setup.js".into()));
        assert_eq!(lifecycle_script(&v(&["/bin/sh", "$PKG/x/helper.sh"])), None);
        assert!(lifecycle_script(&v(&["/t/build/x-1/build-script-build"])).is_some());
        assert!(lifecycle_script(&v(&["python3", "-c", "x", "$TMP/_in_process.py"])).is_some());
        assert_eq!(lifecycle_script(&v(&["node", "x.js"])), None);
    }

    #[test]
    fn a_jump_is_twice_and_ten_more() {
        assert!(!jumped(1, 3));
        assert!(jumped(5, 40));
        assert!(!jumped(30, 45));
        assert!(jumped(0, 10));
    }

    /// A run's node reads /usr/bin/node (its large-page remap) and another's
    /// does not: no change; a read of another program still is one.
    #[test]
    fn a_program_that_ran_is_not_a_read_too() {
        let n = Normalizer::new(None);
        let keys = |path: &str, read: bool, exec: bool| -> Vec<String> {
            let mut behaviour = report::Behaviour::default();
            behaviour.files.push(report::FileRecord { read, exec, failed: false, ..report::FileRecord::new(path) });
            let phase = PhaseReport {
                name: "start".into(),
                status: None,
                error: None,
                run: None,
                output: None,
                sandbox: None,
                sinks: None,
                network: Vec::new(),
                findings: Vec::new(),
                behaviour,
                processes: 0,
                events: 0,
            };
            let r = Report {
                schema_version: 1,
                package: None,
                canaries_leaked: Vec::new(),
                phases: vec![phase.clone()],
                stats: Default::default(),
            };
            items(&r, &phase, &n).into_keys().map(|(_, k)| k).collect()
        };
        assert_eq!(keys("/usr/bin/node", true, true), keys("/usr/bin/node", false, true));
        assert_eq!(keys("/usr/bin/gcc", true, false), vec!["reads /usr/bin/gcc".to_string()]);
    }

    #[test]
    fn credential_files() {
        assert!(is_credential("$HOME/.npmrc"));
        assert!(is_credential("$HOME/.ssh/id_rsa"));
        assert!(!is_credential("/etc/ssl/openssl.cnf"));
    }
}
