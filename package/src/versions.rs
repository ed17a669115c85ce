//! Every published version of a registry package, for a backfill
//! (`pkgtrace scan pkg:npm/x@*`): npm's own client (`npm view NAME versions
//! --json`), PyPI's simple index (PEP 700 `versions`, the page staging
//! already reads) and crates.io's sparse index (one JSON line per version).
//! Nothing is installed and no package code runs.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::detect::one_line;
use super::error::PackageError;
use super::fetch::{mkdir, run};
use super::purl::{Ecosystem, PackageRef, Source};

/// crates.io's sparse index.
const CRATES_INDEX: &str = "https://index.crates.io";

/// The published versions of `pkg` (its version is ignored), oldest first
/// as the registry lists them. `cache` holds the downloaded index pages.
pub fn published_versions(pkg: &PackageRef, cache: &Path) -> Result<Vec<String>, PackageError> {
    let purl = pkg.purl();
    if pkg.source != Source::Registry {
        return Err(PackageError::MalformedPurl { spec: purl, reason: "@* needs a registry package".into() });
    }
    let dir = cache.join("versions");
    mkdir(&dir)?;
    let versions = match pkg.ecosystem {
        Ecosystem::Npm => npm(&pkg.name, &dir, &purl)?,
        Ecosystem::Pypi => super::pypi::published_versions(&pkg.name, &dir.join("pypi.json"), &purl)?,
        Ecosystem::Cargo => cargo(&pkg.name, &dir, &purl)?,
    };
    if versions.is_empty() {
        return Err(PackageError::NotFound { purl, detail: "the registry lists no version".into() });
    }
    Ok(versions)
}

fn npm(name: &str, cache: &Path, purl: &str) -> Result<Vec<String>, PackageError> {
    let out = run(Command::new("npm")
        .arg("--cache")
        .arg(cache.join(".npm-cache"))
        .args(["view", name, "versions", "--json"])
        .env("npm_config_update_notifier", "false"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let detail = one_line(&format!("{text} {}", String::from_utf8_lossy(&out.stderr)));
        return Err(if detail.contains("E404") {
            PackageError::NotFound { purl: purl.to_string(), detail }
        } else {
            PackageError::Fetch { purl: purl.to_string(), detail: format!("npm view failed: {detail}") }
        });
    }
    Ok(parse_npm(&text))
}

/// `npm view x versions --json`: an array, or a bare string for a package
/// with one version.
fn parse_npm(text: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        Ok(Value::String(s)) => vec![s],
        _ => Vec::new(),
    }
}

fn cargo(name: &str, cache: &Path, purl: &str) -> Result<Vec<String>, PackageError> {
    let lower = name.to_ascii_lowercase();
    let url = format!("{CRATES_INDEX}/{}", sparse_path(&lower));
    let dest = cache.join("crates-index");
    super::pypi::download_to(&url, &dest, purl)?;
    let text = std::fs::read_to_string(&dest).map_err(|e| PackageError::io(format!("failed to read {url}"), e))?;
    Ok(parse_sparse(&text))
}

/// Where a crate's file is in the sparse index (cargo's layout by name length).
fn sparse_path(name: &str) -> String {
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// One JSON object per line, `vers` the version; yanked ones are kept (a
/// backfill wants what was ever published).
fn parse_sparse(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["vers"].as_str().map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_clients_answers() {
        assert_eq!(parse_npm("[\"1.0.0\",\"1.1.0\"]"), ["1.0.0", "1.1.0"]);
        assert_eq!(parse_npm("\"0.1.0\""), ["0.1.0"]);
        assert!(parse_npm("garbage").is_empty());
        let sparse = "{\"name\":\"a\",\"vers\":\"0.1.0\"}\n{\"name\":\"a\",\"vers\":\"0.2.0\",\"yanked\":true}\n";
        assert_eq!(parse_sparse(sparse), ["0.1.0", "0.2.0"]);
    }

    #[test]
    fn sparse_index_paths_follow_cargo() {
        assert_eq!(sparse_path("a"), "1/a");
        assert_eq!(sparse_path("ab"), "2/ab");
        assert_eq!(sparse_path("abc"), "3/a/abc");
        assert_eq!(sparse_path("serde"), "se/rd/serde");
    }
}
