//! `pkgtrace run`: a package fetched outside, installed and started inside
//! a sandbox, traced, analyzed, and stored in the results directory.

pub mod baseline;
pub mod canaries;
pub mod cgroup;
pub mod driver;
pub mod phase;
pub mod results;
pub mod workspace;

pub use driver::{run, RunOptions};
