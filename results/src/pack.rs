//! The rule pack's hash: which rules made a stored report (`meta.json`'s
//! `rule_pack`). SHA-256 over the pack's files, sorted by path, each as its
//! path, a NUL, its text, a NUL: the same pack gives the same hash whether
//! built in or given with `--rules`.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};

/// The hash of the rules in `dir`, or of the built-in pack.
pub fn pack_hash(dir: Option<&Path>) -> Result<String> {
    let mut files: Vec<(String, String)> = match dir {
        None => analyzer::RulePack::embedded_sources().iter().map(|(p, t)| (p.to_string(), t.to_string())).collect(),
        Some(d) => {
            let mut out = Vec::new();
            walk(d, d, &mut out)?;
            out
        }
    };
    files.sort();
    let mut h = Sha256::new();
    for (path, text) in &files {
        h.update(path.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<()> {
    for e in fs::read_dir(dir).with_context(|| format!("failed to read {}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            walk(root, &p, out)?;
        } else if p.extension().is_some_and(|x| x == "toml") {
            let rel = p.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
            out.push((rel, fs::read_to_string(&p).with_context(|| format!("failed to read {}", p.display()))?));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_built_in_pack_and_its_directory_hash_alike() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
        assert_eq!(super::pack_hash(None).unwrap(), super::pack_hash(Some(&dir)).unwrap());
        assert_eq!(super::pack_hash(None).unwrap().len(), 64);
    }
}
