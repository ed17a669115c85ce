//! `pkgtrace run`: a package fetched outside, installed and started inside
//! a sandbox, traced, analyzed, and stored in the results directory.

pub mod baseline;
pub use sandbox::{canaries, cgroup, workspace};
pub mod driver;
pub mod phase;
pub mod results;

pub use driver::{run, RunOptions};
