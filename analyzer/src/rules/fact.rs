//! [`Fact`]: the flat record of one thing that happened, which rules match.
//!
//! The analyzer derives facts from events and the process model; a rule's
//! own `[[test]]` cases describe facts directly. Keeping rules on facts, not
//! events, means a rule is written once for every source.

use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

use tracer::Access;

use super::matcher::PathMemo;

/// One thing that happened, with everything a rule may ask about it.
#[derive(Clone, Debug, Default)]
pub struct Fact {
    /// `open`, `probe`, `exec`, `connect`, `dns`, ... (see rules/README.md)
    pub kind: &'static str,
    pub syscall: String,
    /// Absolute, normalised (or relative when the cwd was unknown).
    pub path: Option<String>,
    /// The path relative to the traced HOME (`.ssh/id_rsa`), when inside it.
    /// With HOME unknown (a log with no environment), relative to whichever
    /// home it is in (`/root`, `/home/<user>`), so credential paths match.
    pub home_rel: Option<String>,
    /// The path is in a home directory nothing shows to be the traced
    /// user's (HOME unknown and no evidence for it): another user's, or a
    /// build machine's path that does not exist here (`/home/iojs/build`).
    pub foreign_home: bool,
    pub source: Option<String>,
    pub access: Option<Access>,
    /// The open creates or truncates: a write even when O_RDONLY is absent.
    pub creates: bool,
    /// Known outcome: Some(true) success, Some(false) failure.
    pub success: Option<bool>,
    pub errno: Option<String>,
    /// The process that did it (for `exec`: the program it became).
    pub actor: Arc<Actor>,
    pub created_in_run: bool,
    /// The path is inside the acting package's own directory.
    pub in_package_dir: bool,
    /// The file was written in this run by a process that had talked to an
    /// internet address (a download, as far as a trace can tell).
    pub downloaded: bool,
    pub in_project: bool,
    pub family: Option<String>,
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
    pub host: Option<String>,
    pub dns_name: Option<String>,
    pub dns_type: Option<String>,
    pub encoded_label: bool,
    /// A DNS name carries the traced machine's host name or the user's
    /// name (plainly or encoded).
    pub identity: bool,
    pub mode: Option<u32>,
    pub env: Vec<String>,
    pub old_fd: Option<i32>,
    pub new_fd: Option<i32>,
    pub fd_kind: Option<String>,
    pub request: Option<String>,
    /// Whose process a signal, a ptrace request or a `/proc/<pid>/` path
    /// is aimed at: [`TARGET_OWN`], [`TARGET_TREE`], [`TARGET_OUTSIDE`] or
    /// [`TARGET_ALL`].
    pub target: Option<&'static str>,
    /// The pid as the call named it (kill: 0, -1 and -pgid included).
    pub target_pid: Option<i32>,
    /// The signal a kill sent, named as strace names it (`SIGTERM`; `0` for
    /// the existence probe).
    pub signal: Option<String>,
    /// What the sandbox refused (`denied`): `CLONE_UNTRACED`, `io_uring`,
    /// `TIOCSTI`, ...
    pub refused: Option<String>,
    pub payload: Option<String>,
    /// A `request` (what a sandbox sink received): `http`, `https`, `tls`,
    /// `dns`, `raw`; the HTTP method and the absolute URL.
    pub protocol: Option<String>,
    pub method: Option<String>,
    pub url: Option<String>,
    pub canary: bool,
    /// Shared by every fact of a phase: a copy per fact cost an allocation.
    pub phase: Arc<str>,
    pub ecosystem: Option<Arc<str>>,
    /// What `path` matched before, in earlier facts about the same path
    /// (used only while it is still this fact's path).
    pub path_memo: Option<Rc<PathMemo>>,
}

/// The acting process, as rules see it. Shared between the facts of one
/// process until it spawns or execs, so building a fact copies nothing.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub exe: Option<String>,
    pub argv: Vec<String>,
    /// argv joined by spaces, for `argv_re`.
    pub argv_line: String,
    pub parent_exe: Option<String>,
    /// Ancestors' executables, nearest first.
    pub ancestors: Vec<String>,
    pub is_package_manager: bool,
    pub parent_is_package_manager: bool,
    /// The process chain for reports: `npm → sh → node collect.js`.
    pub chain: String,
    /// The package whose script or code this process runs (see
    /// `report::Finding::package`).
    pub package: Option<String>,
    /// That package's own directory.
    pub package_dir: Option<String>,
    /// It runs package code: it, or a process between it and a package
    /// manager above it, is not a package manager (npm → `sh -c` of a
    /// lifecycle script → anything it starts; pip → `python -c` of a
    /// setup.py → ...). A package manager's own children (pip's build
    /// requirements, npm's git dependencies) and what a wrapper the trace
    /// started runs (`bash -c "npm install"`) are not. A process that works
    /// for a package (`package`: a lifecycle script's environment, the
    /// command of a `start` phase) is.
    pub package_code: bool,
}

/// The acting process itself (its threads, its own process group for kill 0).
pub const TARGET_OWN: &str = "own";
/// Another process of the traced tree: parent, child, sibling, or a
/// process group led by one of them.
pub const TARGET_TREE: &str = "tree";
/// A process the trace never saw: not part of the package's run.
pub const TARGET_OUTSIDE: &str = "outside";
/// Every process the sender may signal (kill -1).
pub const TARGET_ALL: &str = "all";
pub const TARGETS: &[&str] = &[TARGET_OWN, TARGET_TREE, TARGET_OUTSIDE, TARGET_ALL];

impl Fact {
    /// Inside the traced user's own HOME.
    pub fn in_home(&self) -> bool {
        self.home_rel.is_some() && !self.foreign_home
    }

    /// A kill with signal 0: nothing is delivered, the sender only learns
    /// whether the target exists (and whether it may signal it).
    pub fn existence_probe(&self) -> bool {
        self.signal.as_deref() == Some("0")
    }

    /// What the finding is about, for de-duplication and display.
    pub fn subject(&self) -> String {
        match self.kind {
            "exec" => {
                if self.actor.argv.is_empty() {
                    self.path.clone().unwrap_or_default()
                } else {
                    shell_words(&self.actor.argv)
                }
            }
            "dns" => self.dns_name.clone().unwrap_or_default(),
            "request" if self.url.is_some() => {
                format!("{} {}", self.method.as_deref().unwrap_or("?"), self.url.as_deref().unwrap_or_default())
            }
            "connect" | "bind" | "listen" | "send" | "request" => {
                let host = self.host.clone().or_else(|| self.ip.map(|i| i.to_string()));
                match (host, self.port, &self.path) {
                    (Some(h), Some(p), _) if h.contains(':') => format!("[{h}]:{p}"),
                    (Some(h), Some(p), _) => format!("{h}:{p}"),
                    (Some(h), None, _) => h,
                    (None, _, Some(path)) => path.clone(),
                    _ => self.family.clone().unwrap_or_default(),
                }
            }
            "dup" => format!(
                "fd {} -> {} ({})",
                self.old_fd.unwrap_or(-1),
                self.new_fd.unwrap_or(-1),
                self.fd_kind.as_deref().unwrap_or("unknown")
            ),
            "ptrace" => match (&self.request, &self.path) {
                (Some(r), Some(t)) => format!("{r} {t}"),
                (Some(r), None) => r.clone(),
                _ => "ptrace".into(),
            },
            "kill" => {
                let who = match self.target_pid {
                    Some(-1) => "every process (-1)".to_string(),
                    Some(0) => "its own process group (0)".to_string(),
                    Some(p) if p < 0 => format!("process group {}", -i64::from(p)),
                    Some(p) => p.to_string(),
                    None => "?".to_string(),
                };
                match self.signal.as_deref() {
                    Some("0") => format!("signal 0 to {who}"),
                    sig => format!("{} to {who}", sig.unwrap_or("?")),
                }
            }
            "denied" => format!("{} {}", self.syscall, self.refused.as_deref().unwrap_or("?")),
            "other" => match &self.path {
                Some(p) => format!("{} {p}", self.syscall),
                None => self.syscall.clone(),
            },
            _ => self.path.clone().unwrap_or_default(),
        }
    }
}

/// argv as a readable command line (quotes only where needed).
pub fn shell_words(argv: &[String]) -> String {
    let mut out = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+%^".contains(&b)) {
            out.push_str(a);
        } else {
            out.push('\'');
            out.push_str(&a.replace('\'', r"'\''"));
            out.push('\'');
        }
    }
    out
}
