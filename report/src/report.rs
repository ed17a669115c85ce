//! The report: per phase, the findings and the behaviour observed, plus
//! figures about the input. Serialised as JSON (schema_version 1, see the
//! README) or rendered as text (by the `pkgtrace` binary).

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::severity::Severity;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// The package (sandboxed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<crate::package::PackageInfo>,
    /// Canaries seen leaving the sandbox: which, in which phase, and how.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canaries_leaked: Vec<crate::package::LeakedCanary>,
    pub phases: Vec<PhaseReport>,
    pub stats: Stats,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Input lines read.
    pub lines: u64,
    /// Events produced from them.
    pub events: u64,
    /// Lines that could not be understood (each was warned about).
    pub unparsed: u64,
    /// Processes seen.
    pub processes: u64,
    /// Inputs that could not be read to their end (a corrupt or truncated
    /// `.gz` or `.zst`, a read error): the report covers their lines before
    /// the failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cut: Vec<event::InputCut>,
}

/// How a sandboxed phase went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseStatus {
    /// Every command exited 0.
    Completed,
    /// A command exited non-zero or was killed by a signal.
    Failed,
    /// The phase hit `--timeout`; everything was killed.
    Timeout,
    /// The phase could not run (the sandbox could not be built, ...).
    Error,
}

impl PhaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseStatus::Completed => "completed",
            PhaseStatus::Failed => "failed",
            PhaseStatus::Timeout => "timeout",
            PhaseStatus::Error => "error",
        }
    }
}

impl std::fmt::Display for PhaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseReport {
    pub name: String,
    /// How the phase went (sandboxed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PhaseStatus>,
    /// Why the phase could not run, when status is `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How the traced command ended (live runs, and streams recorded from them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<crate::Outcome>,
    /// The end of the command's output (sandboxed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputTail>,
    /// Who the run was inside the sandbox (sandboxed runs; not stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxInfo>,
    /// What the sandbox's DNS and TCP sinks received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sinks: Option<crate::sinks::SinkLog>,
    /// What the sandbox's network sinks received, one entry per connection
    /// or datagram, in arrival order: where it was going and what it
    /// carried (HTTPS decrypted). Empty outside a sandbox.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<Exchange>,
    pub findings: Vec<Finding>,
    pub behaviour: Behaviour,
    #[serde(skip)]
    pub processes: u64,
    #[serde(skip)]
    pub events: u64,
}

/// The sandbox a phase ran in: its uid and gid (one per run), host name,
/// HOME and work directory, and the cgroup directories on the host that held its processes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxInfo {
    pub uid: u32,
    pub gid: u32,
    pub hostname: String,
    /// The user name inside (stored reports name it `$USER`).
    #[serde(default)]
    pub user: String,
    /// HOME and the package's work directory inside (stored reports name
    /// them `$HOME` and `$PKG`).
    pub home: String,
    pub project: String,
    pub cgroups: Vec<String>,
}

/// The last bytes a command wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputTail {
    pub stdout: String,
    pub stderr: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Behaviour {
    /// Files touched outside the package's own directory.
    pub files: Vec<FileRecord>,
    /// How many distinct files inside the package's directory were touched.
    pub project_files: u64,
    /// Every successful exec, in order, with its full argv.
    pub commands: Vec<Command>,
    /// Every connect attempt, and every UDP destination datagrams were
    /// sent to (one entry per process and destination).
    pub connections: Vec<Connection>,
    /// Every distinct DNS query (name, type).
    pub dns: Vec<DnsQueryRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub read: bool,
    pub write: bool,
    pub delete: bool,
    pub exec: bool,
    #[serde(default)]
    pub chmod: bool,
    /// Looked up (stat, access, readlink); listed for paths in a home
    /// directory, where a stealer's search happens, even when never opened.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub probe: bool,
    /// Every attempt failed.
    pub failed: bool,
    #[serde(skip)]
    pub in_project: bool,
}

impl FileRecord {
    pub fn new(path: &str) -> FileRecord {
        FileRecord {
            path: path.to_string(),
            read: false,
            write: false,
            delete: false,
            exec: false,
            chmod: false,
            probe: false,
            failed: true,
            in_project: false,
        }
    }
    pub fn in_project(path: &str) -> FileRecord {
        FileRecord { in_project: true, ..FileRecord::new(path) }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub argv: Vec<String>,
    pub exe: String,
    pub pid: i32,
    pub parent: Option<i32>,
    /// The process chain that ran it.
    pub chain: String,
    /// Set when the program could not be started: the errno (`EACCES`
    /// for a file without execute permission, `ENOEXEC` for one the kernel
    /// cannot run, `ENOENT` for a command that exists nowhere on PATH).
    /// For a PATH search, one entry with its last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub family: String,
    pub address: String,
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `tcp` or `udp`.
    pub transport: String,
    /// `ok`, `unknown` or the errno (`ECONNREFUSED`, `EINPROGRESS`, ...).
    /// For a datagram sent with no connect, the first send's.
    pub result: String,
    pub pid: i32,
    /// UDP: the first bytes of the first datagram that is not a DNS
    /// query (at most 64), bytes that are not printable ASCII written
    /// `\xNN`. DNS queries are listed, decoded, in `dns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bytes: Option<String>,
    /// UDP: the canary values any datagram to this address carried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canaries: Vec<String>,
}

/// One connection or datagram a sink received (the report's `network`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// `tcp` or `udp`.
    pub transport: String,
    /// What the bytes were: `http`, `https` (TLS the sink terminated),
    /// `tls` (a handshake that did not complete: the client did not trust
    /// the sandbox's CA), `dns`, or `raw`.
    pub protocol: String,
    /// The destination the package asked for.
    pub address: String,
    pub port: u16,
    /// The name: the one the address was resolved from, else the TLS
    /// server name, else the HTTP `Host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub pid: i32,
    /// The process chain that sent it (`npm → sh → node x.js`).
    pub process: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The first bytes (decrypted), at most 1 KiB, as text: printable
    /// ASCII as is, `\\n`, `\\r`, `\\t`, `\\\\` and `\\xNN` for the rest.
    pub first_bytes: String,
    /// Bytes received in all (up to what the sink reads).
    pub size: u64,
    /// The canary values it carried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canaries: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsQueryRecord {
    pub name: String,
    pub r#type: String,
    /// The resolver the query was sent to.
    pub server: String,
    /// The payload was cut; the name may be partial.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    pub pid: i32,
}

impl Report {
    /// The most severe active finding, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.phases.iter().flat_map(|p| &p.findings).filter(|f| f.is_active()).map(|f| f.severity).max()
    }
}
