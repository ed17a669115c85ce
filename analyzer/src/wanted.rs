//! What the analysis reads of a live run's results, told to the tracer so
//! that a result nobody reads costs no second stop
//! (`tracer::ptrace::wanted`).

use crate::analysis::home_of;
use crate::paths;
use crate::rules::matcher::ProbePaths;
use crate::rules::Rule;
use crate::RulePack;

/// Which probes' and read-only opens' results (success, errno, the new
/// fd) an analysis with this pack reads.
#[derive(Debug)]
pub struct ResultsRead {
    paths: ProbePaths,
    /// The paths of the rules about opens that could hold for a read.
    reads: ProbePaths,
}

impl ResultsRead {
    pub fn of(pack: &RulePack) -> ResultsRead {
        let about = |event: &'static str| move |r: &&Rule| r.events.iter().any(|e| e == event);
        let probe_rules = pack.rules.iter().filter(about("probe"));
        let read_rules = pack.rules.iter().filter(about("open")).filter(|r| r.conds.could_hold_for_a_read());
        ResultsRead {
            paths: ProbePaths::of(probe_rules.map(|r| &r.conds)),
            reads: ProbePaths::of(read_rules.map(|r| &r.conds)),
        }
    }

    /// Whether the result of a probe of absolute `path` is read: by a rule
    /// that could match it, or by the report, which lists the probes in a
    /// home directory with their outcome (and learns HOME from those that
    /// succeed). `/proc` paths are kept whole: the analyzer names
    /// `/proc/self` by its pid before rules see it.
    pub fn probe(&self, path: &str) -> bool {
        read_by(&self.paths, path)
    }

    /// Whether the result of a read-only open of absolute `path` is read:
    /// by a rule about opens that could match it, or in a home or `/proc`
    /// as for probes. (Every open is listed in the report's files; one
    /// whose result is unknown is not listed as failed.)
    pub fn read(&self, path: &str) -> bool {
        read_by(&self.reads, path)
    }
}

fn read_by(rules: &ProbePaths, path: &str) -> bool {
    // Normalized only when it needs to be: this runs at a call's stop.
    let normalized;
    let path = if paths::is_normal(path) {
        path
    } else {
        normalized = paths::normalize(path);
        &normalized
    };
    home_of(path).is_some() || path.starts_with("/proc/") || rules.could_match(path)
}

impl tracer::ptrace::ResultsWanted for ResultsRead {
    fn probe(&self, path: &[u8]) -> bool {
        // The analyzer reads a path that is not UTF-8 lossily: whatever it
        // matches, the result is kept.
        std::str::from_utf8(path).map_or(true, |p| ResultsRead::probe(self, p))
    }
    fn open(&self, path: &[u8]) -> bool {
        std::str::from_utf8(path).map_or(true, |p| self.read(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `reads` says no to every path of `unread` and yes to every one of
    /// `wanted`.
    fn sorts(reads: impl Fn(&str) -> bool, unread: &[&str], wanted: &[&str]) {
        for path in unread {
            assert!(!reads(path), "read: {path}");
        }
        for path in wanted {
            assert!(reads(path), "not read: {path}");
        }
    }

    #[test]
    fn the_default_pack_reads_results_where_a_probe_rule_could_match_or_in_a_home() {
        let read = ResultsRead::of(&RulePack::embedded().unwrap());
        let unread = [
            // Where a directory walk or an installer stats: nobody reads them.
            "/usr/share/doc/libelf1",
            "/usr/lib/python3.11/json/__init__.py",
            "/tmp/tmp.x1/node_modules/express/package.json",
            // Plantable (/tmp), but no config file or library.
            "/tmp/tmp.x1/node_modules/iconv-lite/encodings",
            "/opt/app/lib/x.so",
        ];
        let wanted = [
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
        ];
        sorts(|p| read.probe(p), &unread, &wanted);
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

    #[test]
    fn the_default_pack_reads_a_read_only_open_where_an_open_rule_could_match_or_in_a_home() {
        let read = ResultsRead::of(&RulePack::embedded().unwrap());
        let unread = [
            // What a directory walk opens; a package's own files (writing
            // into another package is a rule, reading is not).
            "/usr/share/doc/libelf1",
            "/usr/lib/python3.11/json",
            "/tmp/tmp.x1/node_modules/express",
            "/usr/lib/node_modules/npm/node_modules/semver",
        ];
        let wanted = [
            "/root/.cache",
            "/home/dev/projects",
            "/tmp/scratch/home/.ssh",
            "/tmp/scratch/home/.ssh/id_rsa",
            "/tmp/scratch/home/.aws/credentials",
            "/etc/shadow",
            "/tmp/evil/openssl.cnf",
            "/proc/1/environ",
        ];
        sorts(|p| read.read(p), &unread, &wanted);
    }

    #[test]
    fn an_open_rule_about_writes_only_reads_no_read_only_open() {
        let dir = tempfile::tempdir().unwrap();
        let rule = |access: &str| {
            format!("id = \"usr-{access}\"\nseverity = \"low\"\nsummary = \"s\"\nwhy = \"w\"\nevent = \"open\"\n\n[match]\npath = [\"/usr/**\"]\naccess = [\"{access}\"]\n")
        };
        std::fs::write(dir.path().join("usr-write.toml"), rule("write")).unwrap();
        assert!(!ResultsRead::of(&RulePack::load_dir(dir.path()).unwrap()).read("/usr/x"));
        std::fs::write(dir.path().join("usr-read.toml"), rule("read")).unwrap();
        let read = ResultsRead::of(&RulePack::load_dir(dir.path()).unwrap());
        assert!(read.read("/usr/x"));
        assert!(!read.read("/opt/x"));
        assert!(!read.probe("/usr/x"), "no probe rule");
    }
}
