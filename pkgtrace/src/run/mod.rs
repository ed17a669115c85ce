//! `pkgtrace run`: a package fetched outside, installed and started inside
//! a sandbox, traced, analyzed, and stored in the results repository
//! (the `results` crate).

pub mod baseline;
pub use sandbox::{canaries, cgroup, workspace};
pub mod driver;
pub mod phase;
pub mod progress;
pub mod venv;

pub use driver::{run, RunOptions};
