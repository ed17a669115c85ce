//! PyPI's harness venv, made once and copied into each run.
//!
//! A PyPI install runs in a venv of pkgtrace's making (`python3 -m venv
//! .venv`, the staging's set-up command). Making it costs 2.3 s on this
//! kind of machine, nearly all of it ensurepip running pip to install pip,
//! and it was half of every PyPI package's time in a scan. No package
//! code takes part in it, so the venv is made once per interpreter, outside
//! the sandbox, in the cache; each run gets a copy (`cp -a`, 0.2 s) in its
//! workspace, where the set-up command would have made it.
//!
//! A venv names its own absolute path in a few text files (the `bin/pip*`
//! scripts' `#!` lines, the `activate` scripts, `pyvenv.cfg`'s `command`).
//! The copy's are rewritten to the path the run's venv has inside the
//! sandbox, so the copy is what `python3 -m venv` would have made there.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};

/// The set-up command the copy stands in for.
pub fn is_venv_setup(setup: &[Vec<String>]) -> bool {
    matches!(setup, [cmd] if cmd.iter().map(String::as_str).eq(["python3", "-m", "venv", ".venv"]))
}

/// Where a template records the path it was made at.
const ORIGIN: &str = ".pkgtrace-origin";

/// The template venv for the `python3` found on `path` (the sandbox's
/// PATH: the same files inside, shown read-only), made on first use under
/// `cache/pypi/venv/`. Concurrent runs may race to make it: each makes its
/// own and renames it into place; the first rename wins.
pub fn template(cache: &Path, path: &str) -> Result<PathBuf> {
    let python = std::env::split_paths(path)
        .map(|d| d.join("python3"))
        .find(|p| p.is_file())
        .context("no python3 on the sandbox's PATH")?;
    let real = fs::canonicalize(&python).with_context(|| format!("failed to resolve {}", python.display()))?;
    let stamp = fs::metadata(&real)?.modified()?.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    // `usr-bin-python3.11-1700000000`: a new interpreter (another path, or
    // the same one upgraded) gets a template of its own.
    let key = format!("{}-{stamp}", real.display().to_string().trim_start_matches('/').replace('/', "-"));
    let dir = cache.join("pypi").join("venv").join(&key);
    if dir.join(ORIGIN).is_file() {
        return Ok(dir);
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let tmp = cache.join("pypi").join("venv").join(format!(".tmp-{}-{nanos}", std::process::id()));
    fs::create_dir_all(tmp.parent().expect("a parent"))?;
    let out = Command::new(&python).args(["-m", "venv"]).arg(&tmp).output()?;
    if !out.status.success() {
        let _ = fs::remove_dir_all(&tmp);
        bail!("{} -m venv failed: {}", python.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    fs::write(tmp.join(ORIGIN), tmp.display().to_string())?;
    if fs::rename(&tmp, &dir).is_err() {
        // Another run's is in place (rename onto a non-empty directory fails).
        let _ = fs::remove_dir_all(&tmp);
    }
    if !dir.join(ORIGIN).is_file() {
        bail!("failed to put the venv template in {}", dir.display());
    }
    Ok(dir)
}

/// Copies `template` to `dest` (a host path) as the venv that is `inside`
/// in the sandbox, owned by `uid`.
pub fn place(template: &Path, dest: &Path, inside: &str, uid: u32) -> Result<()> {
    let origin = fs::read_to_string(template.join(ORIGIN)).context("the venv template has no origin record")?;
    let st = Command::new("cp").arg("-a").arg(template).arg(dest).status()?;
    if !st.success() {
        bail!("failed to copy the venv template to {}", dest.display());
    }
    fs::remove_file(dest.join(ORIGIN))?;
    let mut files = vec![dest.join("pyvenv.cfg")];
    for e in fs::read_dir(dest.join("bin"))? {
        let e = e?;
        if e.file_type()?.is_file() {
            files.push(e.path());
        }
    }
    for f in files {
        // Text files only (the scripts venv writes); fs::write keeps the mode.
        let Ok(text) = fs::read_to_string(&f) else { continue };
        if text.contains(&origin) {
            fs::write(&f, text.replace(&origin, inside))?;
        }
    }
    let st = Command::new("chown").args(["-R", "-h", &format!("{uid}:{uid}")]).arg(dest).status()?;
    if !st.success() {
        bail!("failed to hand {} to the sandbox user", dest.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_it_replaces_is_exactly_the_venv_command() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(is_venv_setup(&[v(&["python3", "-m", "venv", ".venv"])]));
        assert!(!is_venv_setup(&[v(&["python3", "-m", "venv", "env"])]));
        assert!(!is_venv_setup(&[]));
        assert!(!is_venv_setup(&[v(&["python3", "-m", "venv", ".venv"]), v(&["true"])]));
    }

    #[test]
    fn a_placed_copy_names_its_own_path_and_runs_pip() {
        let t = tempfile::tempdir().unwrap();
        let cache = t.path().join("cache");
        let made = template(&cache, crate::run::phase::SANDBOX_PATH).unwrap();
        assert_eq!(template(&cache, crate::run::phase::SANDBOX_PATH).unwrap(), made, "made once");
        let origin = fs::read_to_string(made.join(ORIGIN)).unwrap();
        let dest = t.path().join("project/.venv");
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        // Here the path inside is the host path: the copy must run as is.
        let inside = dest.display().to_string();
        place(&made, &dest, &inside, 0).unwrap();
        let pip = fs::read_to_string(dest.join("bin/pip")).unwrap();
        assert!(pip.starts_with(&format!("#!{inside}/bin/python")), "{pip}");
        for f in ["bin/pip", "bin/activate", "pyvenv.cfg"] {
            let text = fs::read_to_string(dest.join(f)).unwrap();
            assert!(!text.contains(&origin), "{f} still names the template: {text}");
        }
        assert!(!dest.join(ORIGIN).exists());
        let out = Command::new(dest.join("bin/pip")).arg("--version").output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && said.contains(&inside), "{said} {}", String::from_utf8_lossy(&out.stderr));
    }
}
