//! Everything in pkgtrace that **consumes** events.
//!
//! [`Analyzer`] keeps a [`process::ProcessModel`], derives [`rules::Fact`]s,
//! runs the [`RulePack`] (the default pack, `rules/`, is compiled in) and
//! builds a `report::PhaseReport`. Also here: DNS decoding of payloads
//! ([`dns`], from the `event` crate), [`canary`] detection (plain or
//! encoded), and the one [`pipeline`] every command uses: source thread →
//! bounded channel → analyzer.
//!
//! ```no_run
//! use analyzer::{pipeline, Analyzer, Context, RulePack};
//! let pack = RulePack::embedded().unwrap();
//! let mut a = Analyzer::new(&pack, Context::default());
//! for input in tracer::source::discover("install.log".as_ref()).unwrap() {
//!     pipeline::run_input(&input, &mut a).unwrap();
//! }
//! let phase = a.finish();
//! println!("{} findings", phase.findings.len());
//! ```

pub mod analysis;
pub mod canary;
pub use event::dns;
pub mod findings;
pub mod paths;
pub mod pipeline;
pub mod process;
pub mod rules;

/// Helpers for tests (this crate's and the binary's).
#[doc(hidden)]
pub mod testutil;
pub mod wanted;

pub use analysis::{Analyzer, Context};
pub use report::{Report, Severity};
pub use rules::RulePack;
