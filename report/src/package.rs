//! What a sandboxed run's report says about the package: which one, and
//! the canaries seen leaving.

use serde::{Deserialize, Serialize};

/// The package a report is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInfo {
    pub purl: String,
    pub ecosystem: crate::Ecosystem,
    pub name: String,
    pub version: String,
}

/// A canary seen leaving the sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakedCanary {
    /// Which planted secret, e.g. `npm token (~/.npmrc)`.
    pub canary: String,
    pub phase: String,
    /// How it left: `dns <name>`, `tcp <host>:<port>`, or the finding's subject.
    pub via: String,
}
