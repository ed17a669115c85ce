//! What `pkgtrace scan` is to scan: its inputs read into a deduplicated
//! list of [`Item`]s, and the slice of it one shard takes.
//!
//! An input is a purl on the command line, a lockfile (every package it
//! pins: `package-lock.json`, `npm-shrinkwrap.json`, `Cargo.lock`,
//! `requirements*.txt`), a local package (directory or archive, as `run`
//! takes), or a text file of those, one per line (`#` comments and blank
//! lines ignored; a relative path is taken from the list's directory).
//! `pkg:npm/x@*` is every published version. A line that is not a package
//! is a [`BadLine`] with its file and line number, and the rest goes on.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use package::{Ecosystem, PackageRef, Source};

/// One package version to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// What the child `pkgtrace run` is given: a normalised purl, or a
    /// local package's absolute path.
    pub input: String,
    /// Identity for deduplication and sharding: the purl, or `local:PATH`.
    pub key: String,
    /// Where its report is stored (`npm/left-pad/1.3.0`), when the version
    /// is known before running (a purl without a version is "latest",
    /// resolved only when staged).
    pub dir: Option<String>,
    pub ecosystem: Ecosystem,
}

/// An input line that is not a package, or an input that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    /// `list.txt:7`, or the argument itself.
    pub at: String,
    pub error: String,
}

/// Reads every input, in order; duplicates are kept once (the first).
pub fn read(inputs: &[String], cache: &Path) -> (Vec<Item>, Vec<BadLine>) {
    let mut items = Vec::new();
    let mut bad = Vec::new();
    for input in inputs {
        read_one(input, cache, &mut items, &mut bad);
    }
    let mut seen = HashSet::new();
    items.retain(|i: &Item| seen.insert(i.key.clone()));
    (items, bad)
}

fn read_one(input: &str, cache: &Path, items: &mut Vec<Item>, bad: &mut Vec<BadLine>) {
    let path = Path::new(input);
    if input.trim_start().to_ascii_lowercase().starts_with("pkg:") || !path.is_file() || is_archive(path) {
        match entry(input, Path::new("."), cache) {
            Ok(mut found) => items.append(&mut found),
            Err(error) => bad.push(BadLine { at: input.to_string(), error }),
        }
        return;
    }
    if is_lockfile(path) {
        match package::lockfile::read(path) {
            Ok(locked) => items.extend(locked.iter().filter_map(|l| {
                let pkg = PackageRef::registry(l.ecosystem, &l.name, Some(&l.version)).ok()?;
                Some(item(&pkg, None))
            })),
            Err(e) => bad.push(BadLine { at: input.to_string(), error: e.to_string() }),
        }
        return;
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            bad.push(BadLine { at: input.to_string(), error: format!("failed to read {input}: {e}") });
            return;
        }
    };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for (n, line) in text.lines().enumerate() {
        let spec = strip_comment(line).trim();
        if spec.is_empty() {
            continue;
        }
        match entry(spec, &base, cache) {
            Ok(mut found) => items.append(&mut found),
            Err(error) => bad.push(BadLine { at: format!("{input}:{}", n + 1), error }),
        }
    }
}

/// A line without its comment: `#` at the start, or after white space (a
/// purl's own `#subpath` has none before it).
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => &line[..i],
        None => line,
    }
}

fn is_lockfile(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, "package-lock.json" | "npm-shrinkwrap.json" | "Cargo.lock")
        || (name.starts_with("requirements") && name.ends_with(".txt"))
}

fn is_archive(path: &Path) -> bool {
    let name = path.to_string_lossy();
    [".tgz", ".tar.gz", ".whl", ".zip", ".crate", ".tar.bz2"].iter().any(|s| name.ends_with(s))
}

/// One purl or path: the versions it means.
fn entry(spec: &str, base: &Path, cache: &Path) -> Result<Vec<Item>, String> {
    if let Some(name) = spec.strip_suffix("@*").filter(|s| s.to_ascii_lowercase().starts_with("pkg:")) {
        let pkg = package::parse(name, None).map_err(|e| e.to_string())?;
        let versions = package::published_versions(&pkg, cache).map_err(|e| e.to_string())?;
        return versions
            .iter()
            .map(|v| {
                let one = PackageRef::registry(pkg.ecosystem, &pkg.name, Some(v)).map_err(|e| e.to_string())?;
                Ok(item(&one, None))
            })
            .collect();
    }
    let is_purl = spec.to_ascii_lowercase().starts_with("pkg:");
    let resolved = if is_purl || Path::new(spec).is_absolute() { PathBuf::from(spec) } else { base.join(spec) };
    let spec_for_parse = if is_purl { spec.to_string() } else { resolved.display().to_string() };
    let pkg = package::parse(&spec_for_parse, None).map_err(|e| e.to_string())?;
    let local = match &pkg.source {
        Source::Local(p) => Some(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
        Source::Registry => None,
    };
    Ok(vec![item(&pkg, local)])
}

fn item(pkg: &PackageRef, local: Option<PathBuf>) -> Item {
    let dir = pkg.version.as_ref().map(|v| results::store::version_dir(pkg.ecosystem.as_str(), &pkg.name, v));
    match local {
        Some(path) => {
            let path = path.display().to_string();
            Item { input: path.clone(), key: format!("local:{path}"), dir, ecosystem: pkg.ecosystem }
        }
        None => Item { input: pkg.purl(), key: pkg.purl(), dir, ecosystem: pkg.ecosystem },
    }
}

/// `--shard I/N`: which shard of N an item belongs to, by the 64-bit
/// FNV-1a hash of its key (the normalised purl) modulo N. FNV-1a because
/// it is tiny, has no seed (the same purl lands in the same shard on every
/// machine, run and version of pkgtrace) and spreads short strings well.
pub fn shard_of(key: &str, n: u64) -> u64 {
    event::hash::fnv1a(key.bytes()) % n
}

/// Parses `I/N` (0 ≤ I < N).
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("not a shard: {s:?} (I/N, e.g. 0/4)"))?;
    let i: u64 = i.trim().parse().map_err(|_| format!("not a shard index: {i:?}"))?;
    let n: u64 = n.trim().parse().map_err(|_| format!("not a shard count: {n:?}"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: the index must be below the count"));
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        // FNV-1a 64 test vectors.
        assert_eq!(shard_of("", u64::MAX), 0xcbf2_9ce4_8422_2325);
        assert_eq!(shard_of("a", u64::MAX), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(shard_of("foobar", u64::MAX), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn shards_split_everything_once() {
        let keys: Vec<String> = (0..300).map(|i| format!("pkg:npm/p{i}@1.0.0")).collect();
        let mut counts = [0; 3];
        for k in &keys {
            counts[shard_of(k, 3) as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<i32>(), 300);
        assert!(counts.iter().all(|c| *c > 60), "{counts:?}");
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        assert!(parse_shard("3/3").is_err() && parse_shard("1").is_err() && parse_shard("0/0").is_err());
    }

    #[test]
    fn lists_have_comments_duplicates_and_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("list.txt");
        std::fs::write(
            &list,
            "# a list\n\npkg:npm/left-pad@1.3.0  # pinned\npkg:npm/left-pad@1.3.0\npkg:npm/%ZZ\npkg:pypi/Requests@2.31.0\n",
        )
        .unwrap();
        let (items, bad) = read(&[list.display().to_string(), "pkg:npm/left-pad@1.3.0".into()], dir.path());
        let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["pkg:npm/left-pad@1.3.0", "pkg:pypi/requests@2.31.0"]);
        assert_eq!(items[0].dir.as_deref(), Some("npm/left-pad/1.3.0"));
        assert_eq!(bad.len(), 1);
        assert!(bad[0].at.ends_with("list.txt:5"), "{bad:?}");
    }
}
