//! pkgtrace: what a software package does to a machine when it is
//! installed and first used.
//!
//! This crate **consumes** the events the `tracer` crate produces:
//! [`analysis::Analyzer`] keeps a [`process::ProcessModel`], derives
//! [`rules::Fact`]s, runs the [`rules::RulePack`] and builds a
//! [`report::Report`]. The `pkgtrace` binary is [`cli`].

pub mod analysis;
pub mod canary;
pub mod cli;
pub use event::dns;
pub mod findings;
pub use package;
pub mod outcome;
pub mod paths;
pub mod process;
pub use report;
pub mod rules;
pub mod run;
pub use event::terminal;
pub use report::severity;
pub use sandbox::sinks;
pub mod text;

#[cfg(test)]
mod testutil;

pub use analysis::{Analyzer, Context};
pub use report::Report;
pub use rules::RulePack;
pub use severity::Severity;
