//! The subcommands of `pkgtrace`, one file each: its arguments and what it
//! does. [`crate::cli`] parses the command line and dispatches here.
//!
//! What more than one command needs (how a report is judged and shown, the
//! rule pack, durations) is in [`shared`].

pub mod analyze;
pub mod baseline;
pub mod diff;
pub mod index;
pub mod merge;
pub mod parse;
pub mod query;
pub mod reanalyze;
pub mod rules;
pub mod run;
pub mod scan;
mod shared;
pub mod trace;
