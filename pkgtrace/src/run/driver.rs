//! The whole of `pkgtrace run`: identify the package, stage it outside the
//! sandbox (no package code runs), run each phase inside a fresh sandbox
//! workspace, label baseline findings, name leaked canaries, and store the
//! report with the phases' event streams in the results repository.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::baseline::{self, Baseline};
use super::canaries::{self, Canary};
use super::phase::{self, PhaseSpec};
use super::progress;
use super::venv;
use super::workspace::Workspace;
use analyzer::rules::RulePack;
use package::{self, Ecosystem, FetchOptions, PackageRef, Source, Staged};
use report::{PhaseReport, Report, Stats, SCHEMA_VERSION};
use sandbox::sinks::RunCa;

pub struct RunOptions {
    /// `install`, `start`, in the order given.
    pub phases: Vec<String>,
    pub timeout: Duration,
    pub ecosystem: Option<Ecosystem>,
    pub sdist: bool,
    pub cache: PathBuf,
    /// The results repository reports are stored in; None: not stored.
    pub results: Option<PathBuf>,
    /// The rule pack's hash (`results::pack_hash`), recorded with a stored report.
    pub rule_pack_hash: String,
    /// Compare with a control run of an empty package (cached).
    pub baseline: bool,
    /// Keep the sandbox workspace on disk (for debugging).
    pub keep: bool,
    /// Record each phase's event stream as `<dir>/<phase>.events.jsonl`.
    pub events: Option<PathBuf>,
    /// Run without tracing (benchmarks).
    pub untraced: bool,
    /// Let the phases use every CPU (see `tracer::ptrace::cpu`).
    pub all_cpus: bool,
    /// Read every call's result (see `tracer::ptrace::wanted`).
    pub all_results: bool,
    /// Memory limit of each phase, in bytes.
    pub memory: u64,
    /// Size limit of the run's writable places together, in bytes.
    pub disk: u64,
    /// Most tasks a phase may have at once.
    pub pids: u64,
}

impl RunOptions {
    /// `pkgtrace run`'s defaults (install and start, 300 s, 4 GiB, 2 GiB
    /// of disk, 1,024 tasks, compared with the baseline, not stored), with
    /// its cache in `cache`.
    pub fn with_defaults(cache: PathBuf) -> RunOptions {
        RunOptions {
            phases: vec!["install".into(), "start".into()],
            timeout: Duration::from_secs(300),
            ecosystem: None,
            sdist: false,
            cache,
            results: None,
            rule_pack_hash: String::new(),
            baseline: true,
            keep: false,
            events: None,
            untraced: false,
            all_cpus: false,
            all_results: false,
            memory: 4096 << 20,
            disk: 2 << 30,
            pids: 1024,
        }
    }
}

/// The sandbox cannot be built on this machine (exit 3, not a usage error).
#[derive(Debug, thiserror::Error)]
#[error("the sandbox cannot be built here: {0}")]
pub struct SandboxUnavailable(pub String);

fn unavailable(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(SandboxUnavailable(e.to_string()))
}

pub use report::{LeakedCanary, PackageInfo};

/// What `run` produced: the report, and what storing it did.
pub struct RunResult {
    pub report: Report,
    pub stored: Option<results::Stored>,
}

pub fn run(spec: &str, pack: &RulePack, opts: &RunOptions) -> Result<RunResult> {
    // A results path that cannot be a repository is said before the run, not after.
    if let Some(dir) = &opts.results {
        results::Repo::open_or_init(dir)?;
    }
    // So is an --events directory that cannot be made.
    if let Some(dir) = &opts.events {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create the --events directory {}", dir.display()))?;
    }
    let pkg = package::parse(spec, opts.ecosystem)?;
    let t = Instant::now();
    let staged = package::stage(&pkg, &opts.cache, &FetchOptions { sdist: opts.sdist })?;
    progress::step("fetch", t);
    let canaries = canaries::generate();
    // Stored runs keep every phase's event stream (reanalyze reads it): in
    // `--events DIR` when given, else in a directory of the cache.
    let scratch = match (&opts.results, &opts.events) {
        (Some(_), None) => Some(EventsScratch::create(&opts.cache)?),
        _ => None,
    };
    let events = opts.events.as_deref().or(scratch.as_ref().map(|s| s.0.as_path()));
    let (mut phases, leaked) = run_phases(&staged, pack, opts, &canaries, events)?;
    let t = Instant::now();
    if opts.baseline {
        for p in &mut phases {
            let b = control_baseline(staged.ecosystem, &p.name, pack, opts)
                .with_context(|| format!("failed to run the {} control run for the baseline", staged.ecosystem))?;
            baseline::apply(p, &b);
        }
        progress::step("baseline", t);
    }
    let mut stats = Stats::default();
    for p in &phases {
        stats.events += p.events;
        stats.processes += p.processes;
    }
    let report = Report {
        schema_version: SCHEMA_VERSION,
        package: Some(PackageInfo {
            purl: purl_of(&pkg, &staged),
            ecosystem: staged.ecosystem,
            name: staged.name.clone(),
            version: staged.version.clone(),
        }),
        canaries_leaked: leaked,
        phases,
        stats,
    };
    let t = Instant::now();
    let stored = match (&opts.results, events) {
        (Some(dir), Some(events)) => Some(store(dir, &report, events, &canaries, &opts.rule_pack_hash)?),
        _ => None,
    };
    if stored.is_some() {
        progress::step("store", t);
    }
    Ok(RunResult { report, stored })
}

/// Stores the report and the phases' event streams (recorded in `events`)
/// in the results repository `dir`: one commit, the index updated.
fn store(
    dir: &Path,
    report: &Report,
    events: &Path,
    canaries: &[Canary],
    rule_pack_hash: &str,
) -> Result<results::Stored> {
    let sb = report.phases.iter().find_map(|p| p.sandbox.as_ref());
    let identity = results::RunIdentity {
        ecosystem: report.package.as_ref().map(|p| p.ecosystem.to_string()),
        user: sb.map(|s| s.user.clone()).unwrap_or_default(),
        home: sb.map(|s| s.home.clone()).unwrap_or_default(),
        project: sb.map(|s| s.project.clone()).unwrap_or_default(),
        hostname: sb.map(|s| s.hostname.clone()).unwrap_or_default(),
        canaries: canaries.iter().map(|c| c.value.clone()).collect(),
        package: report.package.as_ref().map(|p| format!("{}@{}", p.name, p.version)),
    };
    let streams: Vec<(String, PathBuf)> = report
        .phases
        .iter()
        .map(|p| (p.name.clone(), events.join(format!("{}.events.jsonl", p.name))))
        .filter(|(_, path)| path.exists())
        .collect();
    let run = results::Run {
        report,
        events: streams.iter().map(|(p, path)| (p.clone(), path.as_path())).collect(),
        identity,
        rule_pack: rule_pack_hash.to_string(),
    };
    results::store_run(dir, &run).with_context(|| format!("failed to store the report in {}", dir.display()))
}

/// A directory in the cache for a stored run's event streams, removed on drop.
struct EventsScratch(PathBuf);

impl EventsScratch {
    fn create(cache: &Path) -> Result<EventsScratch> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let dir = cache.join("events").join(format!("{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
        Ok(EventsScratch(dir))
    }
}

impl Drop for EventsScratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn purl_of(pkg: &PackageRef, staged: &Staged) -> String {
    let name = staged.name.replace('@', "%40");
    match &pkg.source {
        Source::Registry => format!("pkg:{}/{}@{}", staged.ecosystem, name, staged.version),
        Source::Local(path) => format!("pkg:{}/{}@{}?local={}", staged.ecosystem, name, staged.version, path.display()),
    }
}

/// Every phase, in one workspace (the start phase sees what install did).
fn run_phases(
    staged: &Staged,
    pack: &RulePack,
    opts: &RunOptions,
    canaries: &[Canary],
    events: Option<&Path>,
) -> Result<(Vec<PhaseReport>, Vec<LeakedCanary>)> {
    let t = Instant::now();
    // Whatever pkgtrace mounts for the run stays in its own mount namespace.
    sandbox::namespaces::private_mount_namespace().map_err(|e| {
        unavailable(format!("failed to enter a private mount namespace (pkgtrace run needs root): {e}"))
    })?;
    // A uid no other run and no process on the machine has, for this run.
    let lease = sandbox::namespaces::UidLease::claim()
        .map_err(|e| unavailable(format!("failed to claim a uid for the sandbox: {e}")))?;
    let mut ws = Workspace::create(&staged.workdir, canaries, lease.uid, opts.disk)
        .map_err(|e| unavailable(format!("failed to prepare the sandbox workspace: {e}")))?;
    if opts.keep {
        ws.keep();
    }
    // The run's CA: HTTPS from inside is terminated by the sinks with
    // certificates it signs, which the sandbox trusts.
    let ca = Arc::new(RunCa::generate().map_err(|e| unavailable(format!("failed to make the run's CA: {e:#}")))?);
    let ca_env = ws
        .trust(&ca.cert_pem())
        .map_err(|e| unavailable(format!("failed to make the sandbox trust the run's CA: {e}")))?;
    // PyPI's venv: a copy of one made once, where the set-up command would
    // have made it (`venv`); the command itself when that fails.
    let mut venv_setup = staged.setup.clone();
    if venv::is_venv_setup(&staged.setup) {
        let inside = format!("{}/project/.venv", ws.identity.home);
        match venv::template(&opts.cache, phase::SANDBOX_PATH)
            .and_then(|t| venv::place(&t, &ws.home.join("project/.venv"), &inside, lease.uid))
        {
            Ok(()) => venv_setup.clear(),
            Err(e) => tracing::warn!("making the venv in the sandbox instead of copying one: {e:#}"),
        }
    }
    progress::step("setup", t);
    let mut phases = Vec::new();
    let mut leaked = Vec::new();
    for name in &opts.phases {
        // pkgtrace's own set-up (PyPI's venv) belongs to the install phase.
        let (setup, commands) = match name.as_str() {
            "install" => (venv_setup.clone(), staged.install.clone()),
            "start" => (Vec::new(), staged.start.clone()),
            other => anyhow::bail!("unknown phase {other:?} (install, start)"),
        };
        let (ro_binds, path_prefix, mut env) = toolchain(staged.ecosystem, &ws.identity.home);
        env.extend(ca_env.iter().cloned());
        env.extend(staged.env.iter().cloned());
        let spec = PhaseSpec {
            name: name.clone(),
            setup,
            commands,
            env,
            timeout: opts.timeout,
            ecosystem: Some(staged.ecosystem.to_string()),
            package: Some(format!("{}@{}", staged.name, staged.version)),
            ro_binds,
            path_prefix,
            events: events.map(|d| d.join(format!("{name}.events.jsonl"))),
            untraced: opts.untraced,
            all_cpus: opts.all_cpus,
            all_results: opts.all_results,
            memory: opts.memory,
            pids: opts.pids,
        };
        progress::begin(name);
        let t = Instant::now();
        let report = phase::run(&ws, &spec, pack, canaries, &ca)?;
        progress::step(name, t);
        leaked.extend(leaks(&report, canaries));
        phases.push(report);
    }
    Ok((phases, leaked))
}

/// What an ecosystem's tools need inside the sandbox besides /usr: the
/// Rust toolchain lives under the invoking user's home (rustup), which the
/// sandbox covers; it is shown read-only at the same path.
fn toolchain(eco: Ecosystem, home_inside: &str) -> (Vec<PathBuf>, Vec<String>, Vec<(String, String)>) {
    if eco == Ecosystem::Npm {
        // node-gyp builds native addons against the running node's headers.
        // It downloads them from nodejs.org unless told where they are; the
        // sandbox's world cannot serve real ones, the host's node has them.
        let env = if Path::new("/usr/include/node/common.gypi").exists() {
            vec![("npm_config_nodedir".to_string(), "/usr".to_string())]
        } else {
            Vec::new()
        };
        return (Vec::new(), Vec::new(), env);
    }
    if eco != Ecosystem::Cargo {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let rustup =
        std::env::var("RUSTUP_HOME").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(&home).join(".rustup"));
    let cargo_home =
        std::env::var("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(&home).join(".cargo"));
    let cargo_bin = cargo_home.join("bin");
    let mut binds = Vec::new();
    let mut path = Vec::new();
    let mut env = vec![("CARGO_HOME".to_string(), format!("{home_inside}/.cargo"))];
    if rustup.is_dir() {
        env.push(("RUSTUP_HOME".into(), rustup.display().to_string()));
        binds.push(rustup);
    }
    if cargo_bin.is_dir() {
        path.push(cargo_bin.display().to_string());
        binds.push(cargo_bin);
    }
    (binds, path, env)
}

/// Canaries in what left a phase: DNS names (the sink's and the traced
/// queries), what the sinks received, and exfiltration findings.
fn leaks(phase: &PhaseReport, canaries: &[Canary]) -> Vec<LeakedCanary> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut add = |c: &Canary, via: String| found.push((c.name.clone(), via));
    for q in &phase.behaviour.dns {
        for c in found_in(&q.name, canaries) {
            add(c, format!("dns {}", q.name));
        }
    }
    if let Some(sinks) = &phase.sinks {
        for q in &sinks.dns {
            for c in found_in(&q.name, canaries) {
                add(c, format!("dns {}", q.name));
            }
        }
    }
    // What the sinks received (HTTPS decrypted) that carried a canary.
    for x in &phase.network {
        for value in &x.canaries {
            for c in canaries.iter().filter(|c| &c.value == value) {
                let to =
                    x.url.clone().unwrap_or_else(|| format!("{}:{}", x.host.as_deref().unwrap_or(&x.address), x.port));
                add(c, format!("{} {to}", x.protocol));
            }
        }
    }
    // Datagrams (UDP to any address) that carried a canary.
    for conn in &phase.behaviour.connections {
        for value in &conn.canaries {
            for c in canaries.iter().filter(|c| &c.value == value) {
                let to = conn.host.as_deref().unwrap_or(&conn.address);
                let port = conn.port.map(|p| format!(":{p}")).unwrap_or_default();
                add(c, format!("{} {to}{port}", conn.transport));
            }
        }
    }
    for f in phase.findings.iter().filter(|f| f.rule == "exfil-canary-value") {
        for c in found_in(&f.subject, canaries) {
            add(c, format!("dns {}", f.subject));
        }
    }
    // A value split over several lookups under one domain: their first
    // labels joined in order (as the analyzer joins them).
    let mut joined: Vec<(String, analyzer::canary::JoinedLabels)> = Vec::new();
    for q in &phase.behaviour.dns {
        let Some((domain, data)) = analyzer::canary::dns_chunk(&q.name) else { continue };
        let Some(first) = analyzer::canary::dns_chunk_first(data) else { continue };
        let domain = domain.to_ascii_lowercase();
        let at = joined.iter().position(|(d, _)| *d == domain).unwrap_or_else(|| {
            joined.push((domain, Default::default()));
            joined.len() - 1
        });
        joined[at].1.push(first);
    }
    for (domain, j) in joined.iter().filter(|(_, j)| j.queries > 1) {
        for c in found_in(&j.text, canaries) {
            add(c, format!("dns {domain} (split over {} queries)", j.queries));
        }
    }
    let mut out: Vec<LeakedCanary> = Vec::new();
    for (canary, via) in found {
        let l = LeakedCanary { canary, phase: phase.name.clone(), via };
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// Makes sure the control baselines of `eco` are cached (`pkgtrace scan`
/// does this once before its jobs start, so that N runs do not all make
/// the same baseline at once).
pub fn prepare_baselines(eco: Ecosystem, pack: &RulePack, opts: &RunOptions) -> Result<()> {
    for phase in ["install", "start"] {
        control_baseline(eco, phase, pack, opts)
            .with_context(|| format!("failed to run the {eco} control run for the baseline"))?;
    }
    Ok(())
}

/// The baseline of an ecosystem's phase: cached, else made by running the
/// same pipeline on an empty package.
fn control_baseline(eco: Ecosystem, phase: &str, pack: &RulePack, opts: &RunOptions) -> Result<Baseline> {
    if let Some(b) = baseline::load(&opts.cache, eco, phase) {
        return Ok(b);
    }
    let dir = opts.cache.join("control").join(eco.to_string());
    baseline::write_control_package(&dir, eco)?;
    let pkg = package::parse(&dir.display().to_string(), Some(eco))?;
    let staged = package::stage(&pkg, &opts.cache, &FetchOptions { sdist: opts.sdist })?;
    let canaries = canaries::generate();
    let control = RunOptions {
        timeout: opts.timeout,
        ecosystem: Some(eco),
        sdist: opts.sdist,
        baseline: false,
        all_cpus: opts.all_cpus,
        all_results: opts.all_results,
        memory: opts.memory,
        disk: opts.disk,
        pids: opts.pids,
        ..RunOptions::with_defaults(opts.cache.clone())
    };
    let (phases, _) = run_phases(&staged, pack, &control, &canaries, None)?;
    let mut wanted = None;
    for p in &phases {
        let b = baseline::from_phase(p);
        baseline::save(&opts.cache, eco, &p.name, &b)?;
        if p.name == phase {
            wanted = Some(b);
        }
    }
    Ok(wanted.unwrap_or_default())
}

/// The default cache directory.
pub fn default_cache() -> PathBuf {
    package::default_cache_root().unwrap_or_else(|| PathBuf::from(".pkgtrace-cache"))
}

/// Which canaries appear in `text` (plainly or encoded): one search for
/// all of them.
fn found_in<'a>(text: &str, canaries: &'a [Canary]) -> Vec<&'a Canary> {
    let values: Vec<String> = canaries.iter().map(|c| c.value.clone()).collect();
    let hits = analyzer::canary::found_bytes(text.as_bytes(), &values);
    canaries.iter().filter(|c| hits.contains(&c.value.as_str())).collect()
}

#[cfg(test)]
mod found_in_tests {
    use super::*;

    #[test]
    fn finds_a_hex_encoded_canary() {
        let a = canaries::generate();
        let hex: String = a[0].value.bytes().map(|b| format!("{b:02x}")).collect();
        let found = found_in(&format!("{hex}.x.attacker.example"), &a);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "npm token (~/.npmrc)");
    }
}
