//! The rule engine: rules are data (TOML, one per file; see
//! rules/README.md), matched against [`Fact`]s. Every matching rule fires.

pub mod fact;
pub mod lists;
pub mod matcher;
pub mod pack;
pub mod rule;
pub mod selftest;

pub use fact::Fact;
pub use pack::RulePack;
pub use rule::{Rule, Verdict};
