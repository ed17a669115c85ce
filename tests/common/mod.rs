//! Helpers shared by the end-to-end tests (each test file includes this
//! module; not every file uses every helper).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The `pkgtrace` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pkgtrace");

/// HOME and cwd of the corpus logs, recorded in the corpus sandbox.
pub const CORPUS_OPTS: [&str; 4] = ["--home", "/home/pkgtrace", "--cwd", "/home/pkgtrace/project"];

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A recorded log of `corpus/strace/`, which must exist.
pub fn corpus_log(rel: &str) -> PathBuf {
    let p = repo().join("corpus/strace").join(rel);
    assert!(p.exists(), "corpus file missing: {}", p.display());
    p
}

/// The exit code of a finished `pkgtrace`; a signal fails the test.
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or_else(|| panic!("pkgtrace killed by a signal: {:?}", o.status))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
