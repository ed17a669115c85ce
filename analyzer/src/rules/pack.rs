//! A rule pack: the rules and lists of a directory laid out like `rules/`,
//! either the default pack compiled into the binary or `--rules DIR`.

use foldhash::{HashMap, HashMapExt};
use std::fs;
use std::path::Path;

use super::fact::Fact;
use super::lists::Lists;
use super::matcher::{exe_globs, ExeGlobs};
use super::rule::{Rule, Verdict};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/rule_pack.rs"));
}

/// Why a pack could not be loaded: every bad file, each with its reason.
#[derive(Debug, thiserror::Error)]
#[error("invalid rule pack:\n{}", .0.join("\n"))]
pub struct PackError(pub Vec<String>);

/// A loaded, compiled rule pack.
#[derive(Debug)]
pub struct RulePack {
    pub rules: Vec<Rule>,
    pub lists: Lists,
    by_kind: HashMap<String, Vec<usize>>,
    package_managers: ExeGlobs,
}

impl RulePack {
    /// The pack compiled into the binary.
    pub fn embedded() -> Result<RulePack, PackError> {
        RulePack::from_files(embedded::FILES.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect())
    }

    /// The embedded pack's files (path under `rules/`, text): what its hash
    /// is computed from (the results repository records which pack made a report).
    pub fn embedded_sources() -> &'static [(&'static str, &'static str)] {
        embedded::FILES
    }

    /// Every `*.toml` under `dir` (`lists.toml` holds the lists), every
    /// pattern compiled at once: a rule no fact would reach is still an
    /// error now (the embedded pack compiles its patterns when first
    /// reached; a test compiles them all).
    pub fn load_dir(dir: &Path) -> Result<RulePack, PackError> {
        let pack = RulePack::load_dir_lazy(dir)?;
        pack.force()?;
        Ok(pack)
    }

    /// Compiles every rule's glob sets and regexes now.
    pub fn force(&self) -> Result<(), PackError> {
        let errors: Vec<String> = (self.rules.iter())
            .filter_map(|r| r.force().err().map(|e| format!("{}: {e}", r.file)))
            .chain(self.package_managers.force().err().map(|e| format!("lists.toml: package_manager_exes: {e}")))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(PackError(errors))
        }
    }

    fn load_dir_lazy(dir: &Path) -> Result<RulePack, PackError> {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        walk(dir, dir, &mut files, &mut errors);
        if !errors.is_empty() {
            return Err(PackError(errors));
        }
        if files.is_empty() {
            return Err(PackError(vec![format!("{}: no rule files (*.toml) found", dir.display())]));
        }
        RulePack::from_files(files)
    }

    fn from_files(files: Vec<(String, String)>) -> Result<RulePack, PackError> {
        let mut errors = Vec::new();
        let lists_text = files.iter().find(|(p, _)| p == "lists.toml").map(|(_, t)| t.as_str()).unwrap_or("");
        let lists = Lists::parse(lists_text).unwrap_or_else(|e| {
            errors.push(format!("lists.toml: {e}"));
            Lists::default()
        });
        let mut rules: Vec<Rule> = Vec::new();
        for (path, text) in &files {
            if path == "lists.toml" {
                continue;
            }
            match Rule::compile(path, text, &lists) {
                Ok(rule) => {
                    if let Some(other) = rules.iter().find(|r| r.id == rule.id) {
                        errors.push(format!("{path}: duplicate rule id {:?} (also in {})", rule.id, other.file));
                    } else {
                        rules.push(rule);
                    }
                }
                Err(e) => errors.push(format!("{path}: {e}")),
            }
        }
        let pm = lists.get("package_manager_exes").map(<[String]>::to_vec).unwrap_or_default();
        let package_managers = exe_globs(&pm).unwrap_or_else(|e| {
            errors.push(format!("lists.toml: package_manager_exes: {e}"));
            exe_globs(&[]).expect("empty glob set")
        });
        if !errors.is_empty() {
            return Err(PackError(errors));
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        let mut by_kind: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            for e in &r.events {
                by_kind.entry(e.clone()).or_default().push(i);
            }
        }
        Ok(RulePack { rules, lists, by_kind, package_managers })
    }

    /// Does this pack have any rule for facts of `kind`?
    pub fn wants(&self, kind: &str) -> bool {
        self.by_kind.contains_key(kind)
    }

    /// Every rule that matches the fact, with its verdict.
    pub fn evaluate<'a>(&'a self, f: &Fact, mut hit: impl FnMut(usize, &'a Rule, Verdict<'a>)) {
        let Some(idx) = self.by_kind.get(f.kind) else { return };
        for &i in idx {
            let r = &self.rules[i];
            match r.evaluate_of_its_kind(f) {
                Verdict::NoMatch => {}
                v => hit(i, r, v),
            }
        }
    }

    /// Is this executable (or interpreted script) the package manager?
    pub fn is_package_manager(&self, exe: &str) -> bool {
        self.package_managers.is_match(exe)
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>, errors: &mut Vec<String>) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(format!("failed to read {}: {e}", dir.display()));
            return;
        }
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(root, &p, out, errors);
        } else if p.extension().is_some_and(|e| e == "toml") {
            let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned();
            match fs::read_to_string(&p) {
                Ok(t) => out.push((rel, t)),
                Err(e) => errors.push(format!("failed to read {}: {e}", p.display())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded pack compiles its patterns only when a fact reaches
    /// them: every one of them must still compile.
    #[test]
    fn every_pattern_of_the_embedded_pack_compiles() {
        let pack = RulePack::embedded().unwrap();
        assert!(pack.rules.len() > 50);
        pack.force().unwrap();
    }

    /// A user's pack is compiled whole when it loads: a regex that parses
    /// but is too large to compile is an error then, even though no fact
    /// would ever reach its rule in a short run.
    #[test]
    fn a_pack_from_disk_with_a_pattern_that_does_not_compile_fails_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let rule = |id: &str, re: &str| {
            format!(
                "id = \"{id}\"\nseverity = \"low\"\nsummary = \"s\"\nwhy = \"w\"\nevent = \"exec\"\n\n\
                 [match]\nargv_re = '{re}'\n"
            )
        };
        fs::write(dir.path().join("fine.toml"), rule("fine", "curl .*")).unwrap();
        assert!(RulePack::load_dir(dir.path()).is_ok());
        // Parses (the syntax is fine), but exceeds the regex size limit.
        fs::write(dir.path().join("huge.toml"), rule("huge", r"\w{1000}{1000}")).unwrap();
        let err = RulePack::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("huge.toml"), "{err}");
        // Lazily loaded, the same pack loads; its rule matches nothing.
        let lazy = RulePack::load_dir_lazy(dir.path()).unwrap();
        assert!(lazy.force().is_err());
        // A syntax error is found at load even without compiling.
        fs::write(dir.path().join("huge.toml"), rule("huge", "curl (")).unwrap();
        assert!(RulePack::load_dir_lazy(dir.path()).is_err());
    }
}
