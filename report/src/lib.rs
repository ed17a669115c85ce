//! The report **schema**: what pkgtrace found, as stored in `report.json`
//! (`schema_version` 1) and rendered as text by the binary.
//!
//! The principal type is [`Report`]: per phase ([`PhaseReport`]) the
//! [`Finding`]s (each with a [`Severity`]) and the [`Behaviour`] observed,
//! plus, for sandboxed runs, the package ([`PackageInfo`]), the canaries
//! that leaked ([`LeakedCanary`]), how each command ended ([`Outcome`], the `event` crate's type)
//! and what the network sinks received ([`SinkLog`]). [`normalize`] turns a
//! report into the stored form, with run-specific values as placeholders.
//!
//! This crate depends on serde, regex (normalisation) and the serde-only
//! `event` crate (whose `Outcome` the report carries): a reader of reports
//! compiles no tracer, no sandbox, no ptrace.
//!
//! ```
//! let json = r#"{"schema_version":1,"phases":[],"stats":{"lines":0,"events":0,"unparsed":0,"processes":0}}"#;
//! let r: report::Report = serde_json::from_str(json).unwrap();
//! assert_eq!(r.worst(), None);
//! ```

pub mod ecosystem;
pub mod finding;
pub mod normalize;
pub mod package;
#[allow(clippy::module_inception)]
pub mod report;
pub mod sarif;
pub mod severity;
pub mod sinks;

pub use ecosystem::{Ecosystem, UnknownEcosystem};
/// How a traced command ended: the tracer's own type (serde only), so the
/// report and a recorded stream's trailer have one shape by construction.
pub use event::{InputCut, Outcome, Untraced};
pub use finding::{Evidence, Finding};
pub use package::{LeakedCanary, PackageInfo};
pub use report::{
    Behaviour, Command, Connection, DnsQueryRecord, Exchange, FileRecord, OutputTail, PhaseReport, PhaseStatus, Report,
    SandboxInfo, Stats, SCHEMA_VERSION,
};
pub use severity::Severity;
pub use sinks::{DnsRecord, SinkLog};
