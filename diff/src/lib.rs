//! **Behaviour diff** of two pkgtrace reports: what a new version of a
//! package does that the old one did not (and what it stopped doing).
//!
//! [`diff`] compares two [`report::Report`]s phase by phase and returns a
//! [`Diff`]: per phase ([`PhaseDiff`]) the [`Change`]s, most severe first —
//! findings that appeared, disappeared or changed severity, and the
//! behaviour behind them (commands, DNS names, hosts and ports, files
//! outside the package with credential files first, executables created
//! and run, processes left behind, lifecycle scripts, the phase's status,
//! counts that jumped). Strings are compared after [`normalize`]: the
//! package's own version, semver-looking strings, content hashes, temp
//! names, timestamps and long numbers become placeholders, so a version
//! bump alone gives an empty diff. [`Summary`] is the one-line verdict
//! ("2 new behaviours, 1 new high finding"); [`render`] writes text and
//! markdown.
//!
//! This crate reads reports only: it compiles no tracer, sandbox or rule
//! engine (the `pkgtrace` binary resolves purls, runs packages and writes SARIF).
//!
//! ```
//! let json = r#"{"schema_version":1,"phases":[],"stats":{"lines":0,"events":0,"unparsed":0,"processes":0}}"#;
//! let r: report::Report = serde_json::from_str(json).unwrap();
//! let d = diff::diff("old", Some(&r), "new", &r);
//! assert_eq!(d.summary().to_string(), "no behaviour change");
//! ```

mod behaviour;
mod compare;
pub mod normalize;
pub mod render;
mod summary;

pub use compare::{diff, prepare, Change, Diff, Kind, PhaseDiff, Sign};
pub use summary::Summary;
