//! `pkgtrace scan`: many packages, in parallel, resumable, sharded. The
//! inputs become items ([`inputs`]), the shard and what is already stored
//! decide which run ([`plan`]), and the [`scheduler`] runs each as a child
//! `pkgtrace run` ([`child`]) while [`display`] shows progress; the end is
//! a [`summary`].

pub mod child;
pub mod display;
pub mod inputs;
pub mod plan;
pub mod scheduler;
pub mod summary;
