//! What the analysis reads of a live run's results, told to the tracer so
//! that a result nobody reads costs no second stop
//! (`tracer::ptrace::wanted`).

use crate::analysis::home_of;
use crate::paths;
use crate::rules::matcher::ProbePaths;
use crate::RulePack;

/// Which probes' results (success, errno) an analysis with this pack reads.
#[derive(Debug)]
pub struct ResultsRead {
    paths: ProbePaths,
}

impl ResultsRead {
    pub fn of(pack: &RulePack) -> ResultsRead {
        let probe_rules = pack.rules.iter().filter(|r| r.events.iter().any(|e| e == "probe"));
        ResultsRead { paths: ProbePaths::of(probe_rules.map(|r| &r.conds)) }
    }

    /// Whether the result of a probe of absolute `path` is read: by a rule
    /// that could match it, or by the report, which lists the probes in a
    /// home directory with their outcome (and learns HOME from those that
    /// succeed). `/proc` paths are kept whole: the analyzer names
    /// `/proc/self` by its pid before rules see it.
    pub fn probe(&self, path: &str) -> bool {
        // Normalized only when it needs to be: this runs at a probe's stop.
        let normalized;
        let path = if paths::is_normal(path) {
            path
        } else {
            normalized = paths::normalize(path);
            &normalized
        };
        home_of(path).is_some() || path.starts_with("/proc/") || self.paths.could_match(path)
    }
}

impl tracer::ptrace::ResultsWanted for ResultsRead {
    fn probe(&self, path: &[u8]) -> bool {
        // The analyzer reads a path that is not UTF-8 lossily: whatever it
        // matches, the result is kept.
        std::str::from_utf8(path).map_or(true, |p| ResultsRead::probe(self, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pack_reads_results_where_a_probe_rule_could_match_or_in_a_home() {
        let read = ResultsRead::of(&RulePack::embedded().unwrap());
        // Where a directory walk or an installer stats: nobody reads them.
        for path in [
            "/usr/share/doc/libelf1",
            "/usr/lib/python3.11/json/__init__.py",
            "/tmp/tmp.x1/node_modules/express/package.json",
            // Plantable (/tmp), but no config file or library.
            "/tmp/tmp.x1/node_modules/iconv-lite/encodings",
            "/opt/app/lib/x.so",
        ] {
            assert!(!read.probe(path), "{path}");
        }
        for path in [
            // The report lists a home's probes; HOME is learnt from them.
            "/root/.cache/pip",
            "/home/dev/projects/x",
            // Probe rules: credentials in any home, config files and
            // libraries from plantable places.
            "/tmp/scratch/home/.aws/credentials",
            "/tmp/scratch/home/.ssh/id_ed25519",
            // `~/*.kdbx`: tried on the last component alone.
            "/tmp/scratch/home/vault.kdbx",
            "/tmp/evil/openssl.cnf",
            "/home/iojs/build/ws/out/Release/obj.target/deps/openssl/openssl.cnf",
            // Not normalized: the rules see /tmp/evil/libcrypto.so.3.
            "/usr/../tmp/evil/libcrypto.so.3",
            "/proc/self/environ",
        ] {
            assert!(read.probe(path), "{path}");
        }
    }

    #[test]
    fn a_probe_rule_without_a_path_condition_reads_every_result() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("any-stat.toml"),
            "id = \"any-stat\"\nseverity = \"low\"\nsummary = \"s\"\nwhy = \"w\"\nevent = \"probe\"\n\n[match]\nexe = [\"*\"]\n",
        )
        .unwrap();
        let read = ResultsRead::of(&RulePack::load_dir(dir.path()).unwrap());
        assert!(read.probe("/usr/share/doc/libelf1"));
    }
}
