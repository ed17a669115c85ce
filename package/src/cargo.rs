//! Cargo staging: a small binary crate (`pkgtrace-staging`) that depends on
//! the crate, with every dependency vendored by `cargo vendor` (which only
//! resolves and downloads: no build script or proc-macro runs) and a
//! `.cargo/config.toml` pointing crates.io at `vendor/`. Inside the sandbox
//! `cargo build --offline` runs the build scripts and proc-macros, and
//! `cargo run --offline` runs a `main` that links the crate.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::detect::one_line;
use super::error::PackageError;
use super::fetch::{argv, client_error, copy_tree, env_pairs, mkdir, run, write_file, Ctx, Fetched};
use super::purl::{validate_version, Source};

/// Where a local crate is copied inside the work dir.
const LOCAL_DIR: &str = "pkg";
const STAGING_NAME: &str = "pkgtrace-staging";
const NOT_FOUND: &[&str] = &["no matching package named", "failed to select a version"];
const VENDOR_CONFIG: &str = "[source.crates-io]\nreplace-with = \"vendored-sources\"\n\n\
                             [source.vendored-sources]\ndirectory = \"vendor\"\n";

pub(crate) fn fetch(ctx: &Ctx) -> Result<Fetched, PackageError> {
    let pkg = ctx.pkg;
    let cargo_home = ctx.cache.join("cargo").join(".cargo-home");
    mkdir(&cargo_home)?;

    let dependency = match &pkg.source {
        Source::Registry => format!("{:?}", pkg.version.as_deref().map_or("*".to_string(), |v| format!("={v}"))),
        Source::Local(path) => {
            let dest = ctx.work.join(LOCAL_DIR);
            if path.is_dir() {
                copy_tree(path, &dest, &["target", ".git"])?;
            } else {
                extract_crate(path, &ctx.work, &dest)?;
            }
            format!("{{ path = {LOCAL_DIR:?} }}")
        }
    };
    let manifest = format!(
        "[package]\nname = \"{STAGING_NAME}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n{} = {dependency}\n\n\
         # The package is not a member of this workspace, whatever its own manifest says.\n\
         [workspace]\nexclude = [\"{LOCAL_DIR}\"]\n",
        pkg.name
    );
    write_file(&ctx.work.join("Cargo.toml"), manifest)?;
    mkdir(&ctx.work.join("src"))?;
    write_file(&ctx.work.join("src/main.rs"), main_rs(None))?;

    let out = run(Command::new("cargo")
        .args(["vendor", "--quiet", "vendor"])
        .current_dir(&ctx.work)
        .env("CARGO_HOME", &cargo_home)
        .env_remove("CARGO_TARGET_DIR"))?;
    if !out.status.success() {
        return Err(client_error(&ctx.purl, "cargo vendor failed", &out, NOT_FOUND));
    }
    // `cargo vendor` writes no directory when there is nothing to vendor.
    mkdir(&ctx.work.join("vendor"))?;
    mkdir(&ctx.work.join(".cargo"))?;
    write_file(&ctx.work.join(".cargo/config.toml"), VENDOR_CONFIG)?;

    let lock_path = ctx.work.join("Cargo.lock");
    let lock =
        fs::read_to_string(&lock_path).map_err(|e| PackageError::io("failed to read the staging Cargo.lock", e))?;
    let version = locked_version(&lock, &pkg.name, pkg.is_local()).ok_or_else(|| PackageError::Fetch {
        purl: ctx.purl.clone(),
        detail: format!("{} is not in the resolved Cargo.lock", pkg.name),
    })?;
    let version = validate_version(&version)?;

    let crate_dir = match &pkg.source {
        Source::Local(_) => ctx.work.join(LOCAL_DIR),
        Source::Registry => vendored_dir(&ctx.work.join("vendor"), &pkg.name, &version),
    };
    let lib = lib_name(&crate_dir, &pkg.name);
    if lib.is_none() {
        tracing::warn!(purl = %ctx.purl, "crate has no library target; the start phase only runs an empty main");
    }
    write_file(&ctx.work.join("src/main.rs"), main_rs(lib.as_deref()))?;

    Ok(Fetched {
        name: pkg.name.clone(),
        version,
        // Nothing of pkgtrace's own to set up: the staging crate and its
        // vendored sources are complete, and the toolchain is bound read-only.
        setup: Vec::new(),
        install: vec![argv(&["cargo", "build", "--offline"])],
        start: vec![argv(&["cargo", "run", "--offline", "--quiet"])],
        env: env_pairs(&[("CARGO_NET_OFFLINE", "true"), ("CARGO_TERM_COLOR", "never")]),
    })
}

fn main_rs(lib: Option<&str>) -> String {
    let body = "fn main() {\n    let _ = std::any::type_name::<()>();\n}\n";
    match lib {
        Some(lib) => format!("use {lib} as _;\n\n{body}"),
        None => body.to_string(),
    }
}

/// Unpacks a `.crate` (a gzipped tar with one `<name>-<version>/` directory) into `dest`.
fn extract_crate(archive: &Path, work: &Path, dest: &Path) -> Result<(), PackageError> {
    let tmp = work.join(".unpack");
    mkdir(&tmp)?;
    let out = run(Command::new("tar").arg("-xzf").arg(archive).arg("-C").arg(&tmp).arg("--no-same-owner"))?;
    if !out.status.success() {
        return Err(PackageError::CorruptArchive {
            path: archive.to_path_buf(),
            detail: one_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    let roots: Vec<PathBuf> = fs::read_dir(&tmp)
        .map_err(|e| PackageError::io("failed to read the unpacked crate", e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    let [root] = roots.as_slice() else {
        return Err(PackageError::CorruptArchive {
            path: archive.to_path_buf(),
            detail: "expected exactly one top directory with a Cargo.toml".into(),
        });
    };
    fs::rename(root, dest).map_err(|e| PackageError::io("failed to move the unpacked crate", e))?;
    fs::remove_dir_all(&tmp).map_err(|e| PackageError::io("failed to clean up the unpacked crate", e))
}

/// The version of `name` in a Cargo.lock: the registry one, or (local) the one without a source.
fn locked_version(lock: &str, name: &str, local: bool) -> Option<String> {
    let doc: toml::Table = toml::from_str(lock).ok()?;
    doc.get("package")?.as_array()?.iter().filter_map(|p| p.as_table()).find_map(|p| {
        let source = p.get("source").and_then(|s| s.as_str());
        let matches = p.get("name").and_then(|n| n.as_str()) == Some(name)
            && if local { source.is_none() } else { source.is_some_and(|s| s.starts_with("registry+")) };
        matches.then(|| p.get("version").and_then(|v| v.as_str()).map(str::to_string)).flatten()
    })
}

/// `cargo vendor` uses `vendor/<name>`, or `vendor/<name>-<version>` when several versions are vendored.
fn vendored_dir(vendor: &Path, name: &str, version: &str) -> PathBuf {
    let versioned = vendor.join(format!("{name}-{version}"));
    if versioned.is_dir() {
        versioned
    } else {
        vendor.join(name)
    }
}

/// The crate's library name (`[lib] name`, else the package name with `-` → `_`),
/// or `None` when it has no library target.
fn lib_name(crate_dir: &Path, name: &str) -> Option<String> {
    let manifest_path = crate_dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest_path).ok();
    let doc = text.as_deref().and_then(|t| toml::from_str::<toml::Table>(t).ok());
    let lib = doc.as_ref().and_then(|d| d.get("lib")).and_then(|l| l.as_table());
    let lib_path = lib.and_then(|l| l.get("path")).and_then(|p| p.as_str()).unwrap_or("src/lib.rs");
    if lib.is_none() && !crate_dir.join(lib_path).is_file() {
        return None;
    }
    let lib_name = lib.and_then(|l| l.get("name")).and_then(|n| n.as_str()).map(str::to_string);
    Some(lib_name.unwrap_or_else(|| name.replace('-', "_")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::testutil::{run_install, run_phase};
    use crate::{parse, stage, Ecosystem, FetchOptions, PackageError};

    #[test]
    fn reads_locked_versions() {
        let lock = "version = 4\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.11\"\n\
                    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
                    [[package]]\nname = \"mine\"\nversion = \"0.2.0\"\n";
        assert_eq!(locked_version(lock, "itoa", false).as_deref(), Some("1.0.11"));
        assert_eq!(locked_version(lock, "mine", true).as_deref(), Some("0.2.0"));
        assert_eq!(locked_version(lock, "mine", false), None);
    }

    #[test]
    fn finds_the_lib_name() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("Cargo.toml"), "[package]\nname = \"a-b\"\nversion = \"1.0.0\"\n").unwrap();
        assert_eq!(lib_name(t.path(), "a-b"), None, "no src/lib.rs: binary-only");
        fs::create_dir_all(t.path().join("src")).unwrap();
        fs::write(t.path().join("src/lib.rs"), "").unwrap();
        assert_eq!(lib_name(t.path(), "a-b").as_deref(), Some("a_b"));
        fs::write(
            t.path().join("Cargo.toml"),
            "[package]\nname = \"a-b\"\nversion = \"1.0.0\"\n[lib]\nname = \"zz\"\n",
        )
        .unwrap();
        assert_eq!(lib_name(t.path(), "a-b").as_deref(), Some("zz"));
        assert!(main_rs(Some("zz")).starts_with("use zz as _;"));
    }

    /// A local crate whose build script leaves a marker: vendoring must not
    /// run it, and the staged install phase must.
    #[test]
    fn stages_local_crate_without_running_build_script() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("evil-crate");
        let marker = t.path().join("build-rs-ran");
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"pkgtrace-evil-crate\"\nversion = \"0.4.2\"\nedition = \"2021\"\nbuild = \"build.rs\"\n",
        )
        .unwrap();
        fs::write(dir.join("src/lib.rs"), "pub fn f() -> u8 { 7 }\n").unwrap();
        fs::write(
            dir.join("build.rs"),
            format!("fn main() {{ std::fs::write({:?}, \"ran\").unwrap(); }}\n", marker.display().to_string()),
        )
        .unwrap();

        let pkg = parse(dir.to_str().unwrap(), None).unwrap();
        assert_eq!(pkg.ecosystem, Ecosystem::Cargo);
        let staged = stage(&pkg, &t.path().join("cache"), &FetchOptions::default()).unwrap();
        assert!(!marker.exists(), "build.rs ran during staging");
        assert_eq!((staged.name.as_str(), staged.version.as_str()), ("pkgtrace-evil-crate", "0.4.2"));
        let main = fs::read_to_string(staged.workdir.join("src/main.rs")).unwrap();
        assert!(main.starts_with("use pkgtrace_evil_crate as _;"), "{main}");
        assert!(staged.workdir.join(".cargo/config.toml").is_file());

        run_install(&staged);
        assert!(marker.exists(), "cargo build did not run build.rs");
        run_phase(&staged, &staged.start);
    }

    #[test]
    fn registry_cargo_itoa() {
        let t = tempfile::tempdir().unwrap();
        let pkg = parse("pkg:cargo/itoa@1.0.11", None).unwrap();
        let staged = stage(&pkg, t.path(), &FetchOptions::default()).unwrap();
        assert_eq!(staged.version, "1.0.11");
        assert!(staged.workdir.join("vendor/itoa/Cargo.toml").is_file());
        run_install(&staged);
        run_phase(&staged, &staged.start);
    }

    #[test]
    fn registry_cargo_not_found() {
        let t = tempfile::tempdir().unwrap();
        let pkg = parse("pkg:cargo/itoa@99.0.0", None).unwrap();
        let err = stage(&pkg, t.path(), &FetchOptions::default()).unwrap_err();
        assert!(matches!(err, PackageError::NotFound { .. }), "{err}");
    }
}
