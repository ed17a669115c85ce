//! npm staging: a throw-away project (`pkgtrace-staging`) into which `npm
//! install --ignore-scripts` downloads and unpacks the package and all its
//! dependencies without running any lifecycle script; inside the sandbox
//! `npm rebuild` then runs those scripts offline, and `node` loads the package.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::detect::one_line;
use super::error::PackageError;
use super::fetch::{argv, client_error, env_pairs, mkdir, run, write_file, Ctx, Fetched};
use super::purl::{validate_version, Source};

const STAGING_MANIFEST: &str = r#"{"name":"pkgtrace-staging","version":"0.0.0","private":true}"#;
/// The local package's tarball, inside the work dir so the install never points outside it.
const LOCAL_TARBALL: &str = "package.tgz";
const NOT_FOUND: &[&str] = &["E404", "ETARGET", "is not in this registry", "No matching version found"];

pub(crate) fn fetch(ctx: &Ctx) -> Result<Fetched, PackageError> {
    let pkg = ctx.pkg;
    let npm_cache = ctx.cache.join("npm").join(".npm-cache");
    mkdir(&npm_cache)?;
    write_file(&ctx.work.join("package.json"), STAGING_MANIFEST)?;
    let npm = |args: &[&str]| {
        let mut cmd = Command::new("npm");
        cmd.arg("--cache")
            .arg(&npm_cache)
            .args(args)
            .current_dir(&ctx.work)
            // Belt and braces: no lifecycle script may run out here, whatever the user's npmrc says.
            .env("npm_config_ignore_scripts", "true")
            .env("npm_config_update_notifier", "false")
            .env("npm_config_audit", "false")
            .env("npm_config_fund", "false");
        cmd
    };

    let spec = match (&pkg.source, pkg.version.as_deref()) {
        // An exact version needs no resolving: `npm install` of it fails
        // with ETARGET or E404 (not found) as `npm view` would, and `npm
        // view` cost 0.4-0.65 s of the ~0.9 s a scan spent fetching each package.
        (Source::Registry, Some(v)) if is_exact_version(v) => format!("{}@{}", pkg.name, validate_version(v)?),
        (Source::Registry, _) => {
            let wanted = format!("{}@{}", pkg.name, pkg.version.as_deref().unwrap_or("latest"));
            let out = run(&mut npm(&["view", &wanted, "version", "--json"]))?;
            if !out.status.success() {
                return Err(match json_error(&String::from_utf8_lossy(&out.stdout)) {
                    Some((code, summary)) if NOT_FOUND.contains(&code.as_str()) => {
                        PackageError::NotFound { purl: ctx.purl.clone(), detail: format!("{code}: {summary}") }
                    }
                    Some((code, summary)) => PackageError::Fetch {
                        purl: ctx.purl.clone(),
                        detail: format!("npm view failed: {code}: {summary}"),
                    },
                    None => client_error(&ctx.purl, "npm view failed", &out, NOT_FOUND),
                });
            }
            let version =
                parse_view_version(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| PackageError::NotFound {
                    purl: ctx.purl.clone(),
                    detail: format!("npm view found no version of {wanted}"),
                })?;
            format!("{}@{}", pkg.name, validate_version(&version)?)
        }
        (Source::Local(path), _) if path.is_dir() => {
            // `npm pack` of a directory would run its prepack/prepare scripts; --ignore-scripts stops that.
            let dest = ctx.work.to_string_lossy().into_owned();
            let src = path.to_string_lossy().into_owned();
            let out = run(&mut npm(&["pack", "--ignore-scripts", "--json", "--pack-destination", &dest, "--", &src]))?;
            if !out.status.success() {
                return Err(client_error(&ctx.purl, "npm pack failed", &out, &[]));
            }
            let file = packed_filename(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| PackageError::Fetch {
                purl: ctx.purl.clone(),
                detail: "npm pack did not say which tarball it wrote".into(),
            })?;
            let packed = ctx.work.join(Path::new(&file).file_name().unwrap_or_default());
            fs::rename(&packed, ctx.work.join(LOCAL_TARBALL))
                .map_err(|e| PackageError::io(format!("failed to move {}", packed.display()), e))?;
            format!("./{LOCAL_TARBALL}")
        }
        (Source::Local(path), _) => {
            fs::copy(path, ctx.work.join(LOCAL_TARBALL))
                .map_err(|e| PackageError::io(format!("failed to copy {}", path.display()), e))?;
            format!("./{LOCAL_TARBALL}")
        }
    };

    let prefix = ctx.work.to_string_lossy().into_owned();
    let out = run(&mut npm(&[
        "install",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--save-exact",
        "--prefix",
        &prefix,
        "--",
        &spec,
    ]))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if ["TAR_BAD_ARCHIVE", "TAR_ENTRY_INVALID", "zlib: ", "Z_DATA_ERROR"].iter().any(|p| stderr.contains(p)) {
            let path = match &pkg.source {
                Source::Local(p) => p.clone(),
                Source::Registry => ctx.work.clone(),
            };
            return Err(PackageError::CorruptArchive { path, detail: one_line(&stderr) });
        }
        return Err(client_error(&ctx.purl, "npm install --ignore-scripts failed", &out, NOT_FOUND));
    }

    let manifest_path = ctx.work.join("node_modules").join(&pkg.name).join("package.json");
    let manifest: Value = fs::read_to_string(&manifest_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| PackageError::Fetch {
            purl: ctx.purl.clone(),
            detail: format!("npm install left no readable {}", manifest_path.display()),
        })?;
    let version = manifest
        .get("version")
        .and_then(Value::as_str)
        .ok_or_else(|| PackageError::BadManifest { path: manifest_path.clone(), detail: "no \"version\"".into() })?;
    let version = validate_version(version)?;
    write_file(&ctx.work.join(START_CJS_FILE), START_CJS)?;
    write_file(&ctx.work.join(START_MJS_FILE), START_MJS)?;

    Ok(Fetched {
        name: pkg.name.clone(),
        version,
        // Nothing of pkgtrace's own to set up: the staging project is complete,
        // and `npm rebuild` is the package manager running the package's scripts.
        setup: Vec::new(),
        // Not --offline: npm hands its settings to the scripts it runs
        // (npm_config_offline=true), and a package's own `npm install` or
        // `npx` would then stay off the network world. `npm rebuild`
        // fetches nothing.
        install: vec![argv(&["npm", "rebuild", "--no-audit", "--no-fund", "--foreground-scripts"])],
        start: vec![start_command(&pkg.name, &manifest)],
        env: env_pairs(&[
            ("npm_config_audit", "false"),
            ("npm_config_fund", "false"),
            ("npm_config_update_notifier", "false"),
        ]),
    })
}

/// A version that names one release (`1.3.0`, `2.0.0-rc.1+build.5`), not a
/// range or a dist-tag (`^1.2`, `1.x`, `latest`).
fn is_exact_version(v: &str) -> bool {
    static EXACT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
            .expect("valid regex")
    });
    EXACT.is_match(v)
}

/// The version `npm view <spec> version --json` printed: a string, or the
/// last of an array when the spec matched several.
fn parse_view_version(stdout: &str) -> Option<String> {
    match serde_json::from_str::<Value>(stdout.trim()).ok()? {
        Value::String(s) => Some(s),
        Value::Array(items) => items.iter().rev().find_map(|v| v.as_str().map(str::to_string)),
        _ => None,
    }
}

/// `(code, summary)` of the error object npm prints on stdout with `--json`.
fn json_error(stdout: &str) -> Option<(String, String)> {
    let json = &stdout[stdout.find('{')?..];
    let v: Value = serde_json::from_str(json).ok()?;
    let e = v.get("error")?;
    let code = e.get("code").and_then(Value::as_str).unwrap_or("error").to_string();
    let summary = e.get("summary").and_then(Value::as_str).unwrap_or("").lines().next().unwrap_or("").to_string();
    Some((code, summary))
}

/// The tarball file name from `npm pack --json` (`[{"filename": ...}]`).
fn packed_filename(stdout: &str) -> Option<String> {
    // npm may print warnings before the JSON; start at the first '['.
    let json = &stdout[stdout.find('[')?..];
    let v: Value = serde_json::from_str(json).ok()?;
    v.get(0)?.get("filename")?.as_str().map(str::to_string)
}

/// The start programs, written into the work dir: node loads the package
/// (named on the command line, with its subpaths) as its users would,
/// with `require` ([`START_CJS`]) or, for an ESM-only package, `import`
/// ([`START_MJS`]). A specifier with nothing behind it (no root entry, not
/// exported: `@types/*`, a CLI without `main`) is no failure: the program
/// says so and goes on. Whatever the package's own code throws still fails
/// the phase. Files, not `node -e`, so the report's command line reads
/// `node pkgtrace-start.cjs <name>`.
const START_CJS: &str = r#"// pkgtrace's start program: require the package as its users would.
const missing = new Set(['MODULE_NOT_FOUND', 'ERR_MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
// Taken off argv first: a package whose main is its CLI reads its own
// arguments there, and gets none, as when an application requires it.
const entries = process.argv.splice(2);
for (const e of entries) {
  try {
    require.resolve(e);
  } catch (err) {
    if (missing.has(err.code)) {
      console.error(`pkgtrace: ${e}: nothing to require`);
      continue;
    }
    throw err;
  }
  require(e);
}
"#;
const START_MJS: &str = r#"// pkgtrace's start program: import the package as its users would.
const missing = new Set(['MODULE_NOT_FOUND', 'ERR_MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
// Taken off argv first, as in the CommonJS program.
const entries = process.argv.splice(2);
for (const e of entries) {
  if (typeof import.meta.resolve === 'function') {
    try {
      import.meta.resolve(e);
    } catch (err) {
      if (missing.has(err.code)) {
        console.error(`pkgtrace: ${e}: nothing to import`);
        continue;
      }
      throw err;
    }
  }
  await import(e);
}
"#;
const START_CJS_FILE: &str = "pkgtrace-start.cjs";
const START_MJS_FILE: &str = "pkgtrace-start.mjs";

/// `node pkgtrace-start.cjs <entries>` (`.mjs` when the package is
/// ESM-only). The entries were validated (letters, digits, `@/-._~`).
fn start_command(name: &str, manifest: &Value) -> Vec<String> {
    let program = if is_esm_only(manifest) { START_MJS_FILE } else { START_CJS_FILE };
    std::iter::once("node".to_string())
        .chain(std::iter::once(program.to_string()))
        .chain(entries(name, manifest))
        .collect()
}

/// Most subpaths loaded when a package has no root entry.
const MAX_SUBPATHS: usize = 16;

/// What to load: the package itself, unless its `exports` map only
/// subpaths (keys `./x`, no `.`); then those subpaths, without patterns
/// (`./*`), `./package.json` or blocked (`null`) ones.
fn entries(name: &str, manifest: &Value) -> Vec<String> {
    let Some(Value::Object(map)) = manifest.get("exports") else { return vec![name.to_string()] };
    let subpaths_only = !map.is_empty() && map.keys().all(|k| k.starts_with("./"));
    if !subpaths_only {
        return vec![name.to_string()];
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "@/-._~".contains(c);
    let subs: Vec<String> = map
        .iter()
        .filter(|(k, v)| !v.is_null() && *k != "./package.json" && k.chars().all(allowed))
        .filter_map(|(k, _)| k.strip_prefix("./"))
        .filter(|k| !k.is_empty() && !k.split('/').any(|part| part == ".." || part == "."))
        .take(MAX_SUBPATHS)
        .map(|k| format!("{name}/{k}"))
        .collect();
    if subs.is_empty() {
        vec![name.to_string()]
    } else {
        subs
    }
}

/// Whether a package can only be imported, not required: `"type": "module"`
/// (or an `.mjs` main) with no CommonJS entry (`require` condition in
/// `exports`, or a `.cjs` main).
fn is_esm_only(manifest: &Value) -> bool {
    let main = manifest.get("main").and_then(Value::as_str).unwrap_or("");
    let module_type = manifest.get("type").and_then(Value::as_str) == Some("module");
    let exports = manifest.get("exports");
    let has_require = exports.is_some_and(|e| has_condition(e, "require"));
    let has_default = exports.is_some_and(|e| has_condition(e, "default"));
    let has_import = exports.is_some_and(|e| has_condition(e, "import"));
    if has_require || main.ends_with(".cjs") {
        return false;
    }
    if module_type || main.ends_with(".mjs") {
        return true;
    }
    // A CommonJS package whose exports only offer an `import` condition.
    has_import && !has_default
}

fn has_condition(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(map) => map.iter().any(|(k, v)| k == key || has_condition(v, key)),
        Value::Array(items) => items.iter().any(|v| has_condition(v, key)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::testutil::{run_install, run_phase};
    use crate::{parse, stage, Ecosystem, FetchOptions, Staged};
    use serde_json::json;

    #[test]
    fn esm_detection() {
        assert!(!is_esm_only(&json!({"main": "index.js"})));
        assert!(is_esm_only(&json!({"type": "module", "main": "index.js"})));
        assert!(is_esm_only(&json!({"type": "module", "exports": {".": {"import": "./a.js"}}})));
        assert!(!is_esm_only(&json!({"type": "module", "exports": {".": {"import": "./a.js", "require": "./a.cjs"}}})));
        assert!(!is_esm_only(&json!({"type": "module", "main": "index.cjs"})));
        assert!(is_esm_only(&json!({"main": "index.mjs"})));
        assert!(is_esm_only(&json!({"exports": {"import": "./a.mjs"}})));
        assert!(!is_esm_only(&json!({"exports": {"import": "./a.mjs", "default": "./a.js"}})));
        assert_eq!(start_command("@a/b", &json!({})), ["node", "pkgtrace-start.cjs", "@a/b"]);
        assert_eq!(start_command("x", &json!({"type": "module"})), ["node", "pkgtrace-start.mjs", "x"]);
        let subpaths = json!({"exports": {"./get": "./get.js", "./set": "./set.js"}});
        assert_eq!(start_command("d", &subpaths), ["node", "pkgtrace-start.cjs", "d/get", "d/set"]);
    }

    #[test]
    fn a_package_without_a_root_entry_is_loaded_through_its_subpaths() {
        let exports = json!({"exports": {"./get": "./get.js", "./set": "./set.js", "./package.json": "./package.json",
            "./lib/*": "./lib/*.js", "./hidden": null, "./../x": "./x.js"}});
        assert_eq!(entries("dunder-proto", &exports), vec!["dunder-proto/get", "dunder-proto/set"]);
        assert_eq!(entries("x", &json!({"exports": {".": "./i.js", "./a": "./a.js"}})), vec!["x"]);
        assert_eq!(entries("x", &json!({"exports": {"require": "./i.js"}})), vec!["x"]);
        assert_eq!(entries("x", &json!({"exports": "./i.js"})), vec!["x"]);
        assert_eq!(entries("x", &json!({"exports": {"./*": "./*.js"}})), vec!["x"]);
    }

    #[test]
    fn parses_client_output() {
        assert_eq!(parse_view_version("\"1.3.0\"\n").as_deref(), Some("1.3.0"));
        assert_eq!(parse_view_version("[\"1.0.0\", \"1.1.0\"]").as_deref(), Some("1.1.0"));
        assert_eq!(parse_view_version(""), None);
        let pack = "npm warn something\n[\n  {\"id\": \"x@1.0.0\", \"filename\": \"x-1.0.0.tgz\"}\n]\n";
        assert_eq!(packed_filename(pack).as_deref(), Some("x-1.0.0.tgz"));
        let err = "{\n  \"error\": {\n    \"code\": \"E404\",\n    \"summary\": \"Not Found - GET https://r/x - Not found\"\n  }\n}\n";
        assert_eq!(json_error(err), Some(("E404".into(), "Not Found - GET https://r/x - Not found".into())));
    }

    /// A local package whose every lifecycle script would leave a marker file:
    /// staging must leave none, and the staged install phase must run them.
    #[test]
    fn stages_local_package_without_running_scripts() {
        let t = tempfile::tempdir().unwrap();
        let pkg_dir = t.path().join("evil");
        let marker_dir = t.path().join("markers");
        fs::create_dir_all(&pkg_dir).unwrap();
        fs::create_dir_all(&marker_dir).unwrap();
        let script = |name: &str| {
            let p = marker_dir.join(name);
            format!("node -e \"require('fs').writeFileSync('{}', 'ran')\"", p.display())
        };
        let manifest = json!({
            "name": "pkgtrace-evil-local",
            "version": "1.2.3",
            "main": "index.js",
            "scripts": {
                "preinstall": script("preinstall"),
                "install": script("install"),
                "postinstall": script("postinstall"),
                "prepare": script("prepare"),
                "prepack": script("prepack"),
            }
        });
        fs::write(pkg_dir.join("package.json"), manifest.to_string()).unwrap();
        fs::write(pkg_dir.join("index.js"), "module.exports = 42;\n").unwrap();

        let pkg = parse(pkg_dir.to_str().unwrap(), None).unwrap();
        assert_eq!(pkg.ecosystem, Ecosystem::Npm);
        let cache = t.path().join("cache");
        let staged = stage(&pkg, &cache, &FetchOptions::default()).unwrap();
        let ran: Vec<_> = fs::read_dir(&marker_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(ran.is_empty(), "scripts ran during staging: {ran:?}");
        assert_eq!((staged.name.as_str(), staged.version.as_str()), ("pkgtrace-evil-local", "1.2.3"));
        assert!(staged.workdir.join("node_modules/pkgtrace-evil-local/index.js").is_file());
        assert_eq!(staged.start, vec![start_command("pkgtrace-evil-local", &json!({}))]);
        assert!(staged.setup.is_empty());

        // The install phase (here outside any sandbox, on our own harmless package) runs the scripts offline.
        run_install(&staged);
        assert!(marker_dir.join("postinstall").exists(), "npm rebuild did not run postinstall");
        run_phase(&staged, &staged.start);
    }

    /// Runs of one local package share its staging while its contents are
    /// the same, even when they stage it at once; a changed package gets a
    /// new staging and leaves the one a running run copies from alone.
    #[test]
    fn concurrent_stagings_of_a_local_package_do_not_collide() {
        let t = tempfile::tempdir().unwrap();
        let pkg_dir = t.path().join("local");
        fs::create_dir_all(&pkg_dir).unwrap();
        let manifest = json!({"name": "pkgtrace-local-shared", "version": "1.0.0", "main": "index.js"});
        fs::write(pkg_dir.join("package.json"), manifest.to_string()).unwrap();
        fs::write(pkg_dir.join("index.js"), "module.exports = 1;\n").unwrap();
        let pkg = parse(pkg_dir.to_str().unwrap(), None).unwrap();
        let cache = t.path().join("cache");
        let first: Vec<Staged> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..3).map(|_| s.spawn(|| stage(&pkg, &cache, &FetchOptions::default()))).collect();
            runs.into_iter().map(|r| r.join().unwrap().unwrap()).collect()
        });
        assert!(first.iter().all(|s| *s == first[0]), "{first:?}");
        let entry =
            |s: &Staged| fs::read_to_string(s.workdir.join("node_modules/pkgtrace-local-shared/index.js")).unwrap();
        assert_eq!(entry(&first[0]), "module.exports = 1;\n");

        fs::write(pkg_dir.join("index.js"), "module.exports = 2;\n").unwrap();
        let second = stage(&pkg, &cache, &FetchOptions::default()).unwrap();
        assert_ne!(second.workdir, first[0].workdir);
        assert_eq!(entry(&second), "module.exports = 2;\n");
        assert_eq!(entry(&first[0]), "module.exports = 1;\n", "the older staging was changed under its user");

        // A staging unused for longer than LOCAL_KEEP goes at the next staging of its package.
        let old = first[0].workdir.parent().unwrap();
        let long_ago = std::time::SystemTime::now() - crate::fetch::LOCAL_KEEP - std::time::Duration::from_secs(60);
        fs::File::options().append(true).open(old.join("staged.json")).unwrap().set_modified(long_ago).unwrap();
        assert_eq!(stage(&pkg, &cache, &FetchOptions::default()).unwrap(), second);
        assert!(!old.exists());
        assert!(second.workdir.is_dir());
    }

    #[test]
    fn exact_versions_are_told_from_ranges_and_tags() {
        for v in ["1.3.0", "0.0.2", "2.0.0-rc.1", "1.0.0+build.5", "10.20.30-alpha.1+x"] {
            assert!(is_exact_version(v), "{v}");
        }
        for v in ["latest", "^1.2.0", "~1.2.0", "1.x", "1.2", "1", ">=1.0.0", "01.2.3", "1.2.3 || 2.0.0", "next"] {
            assert!(!is_exact_version(v), "{v}");
        }
    }

    #[test]
    fn registry_npm_left_pad() {
        let t = tempfile::tempdir().unwrap();
        let pkg = parse("pkg:npm/left-pad@1.3.0", None).unwrap();
        let staged = stage(&pkg, t.path(), &FetchOptions::default()).unwrap();
        assert_eq!(staged.version, "1.3.0");
        assert!(staged.workdir.ends_with("npm/left-pad/1.3.0/work"));
        assert!(staged.workdir.join("node_modules/left-pad/package.json").is_file());
        // Second call reuses the cache.
        assert_eq!(stage(&pkg, t.path(), &FetchOptions::default()).unwrap(), staged);
        run_phase(&staged, &staged.start);
    }

    #[test]
    fn registry_npm_not_found() {
        let t = tempfile::tempdir().unwrap();
        let pkg = parse("pkg:npm/left-pad@99.99.99", None).unwrap();
        let err = stage(&pkg, t.path(), &FetchOptions::default()).unwrap_err();
        assert!(matches!(err, PackageError::NotFound { .. }), "{err}");
        assert!(err.to_string().starts_with("pkg:npm/left-pad@99.99.99 not found: "), "{err}");
        let pkg = parse("pkg:npm/pkgtrace-surely-no-such-package-4f1c2a", None).unwrap();
        let err = stage(&pkg, t.path(), &FetchOptions::default()).unwrap_err();
        assert!(matches!(err, PackageError::NotFound { .. }), "{err}");
        // The same, with an exact version (no `npm view` first).
        let pkg = parse("pkg:npm/pkgtrace-surely-no-such-package-4f1c2a@1.0.0", None).unwrap();
        let err = stage(&pkg, t.path(), &FetchOptions::default()).unwrap_err();
        assert!(matches!(err, PackageError::NotFound { .. }), "{err}");
        // A range is resolved by `npm view`.
        let pkg = parse("pkg:npm/left-pad@1.x", None).unwrap();
        assert_eq!(stage(&pkg, t.path(), &FetchOptions::default()).unwrap().version, "1.3.0");
    }
}
