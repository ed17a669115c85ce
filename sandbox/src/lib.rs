//! Everything that **isolates** a pkgtrace run, one entry point per piece:
//!
//! - [`namespaces`]: the sandbox itself — network namespace, the
//!   [`namespaces::ChildSetup`] the tracer applies between fork and exec
//!   (mounts, identity, rlimits; it implements the tracer's `ChildHook`),
//!   the per-run uid ([`namespaces::UidLease`]);
//! - [`cgroup`]: the run's cgroup (memory, pids, kill at the end);
//! - [`workspace`]: the run's writable places, on a size-limited tmpfs;
//! - [`identity`]: who the sandbox says it is (user, HOME, host name);
//! - [`canaries`]: fake credentials planted in the workspace;
//! - [`sinks`]: the network world inside (DNS and TCP sinks that answer and
//!   record, never forward).
//!
//! Nothing here analyzes events: the driver in the `pkgtrace` binary asks
//! for a sandbox and feeds the tracer's events to the analyzer.

pub mod canaries;
pub mod cgroup;
pub mod identity;
pub mod namespaces;
pub mod sinks;
pub mod workspace;

pub use identity::Identity;
pub use namespaces::{ChildSetup, SandboxSpec, UidLease};
