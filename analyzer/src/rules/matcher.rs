//! Compiling a rule's `[match]` / `[[unless]]` table into conditions, and
//! checking them against a [`Fact`]. All keys of a table must hold; a list
//! value holds when any entry does. The keys are those of rules/README.md;
//! an unknown key is an error, never silently ignored.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;
use tracer::Access;

use super::fact::{Fact, TARGETS};
use super::lists::Lists;
use crate::paths::basename;

// Compiling every glob set and regex of the default pack took 14 ms, on
// the critical path of every short run (`trace`, each package of a scan
// is a `pkgtrace run` of its own). Most of them are never reached: a fact
// gets to a rule's globs and regexes only after the rule's cheap
// conditions held (see `Conds::compile`). So each pattern is checked when
// the pack loads (a bad rule is still an error before anything runs), and
// compiled when a fact first reaches it. `RulePack::load_dir` compiles
// everything at once (`force`), so a user's pack fails as a whole at load.

/// A matcher compiled on first use from a source checked at load. A build
/// can still fail then only on a size limit: the matcher then matches
/// nothing (logged); [`Lazy::force`] reports it for packs loaded from disk.
#[derive(Debug)]
pub struct Lazy<S, T> {
    source: S,
    build: fn(&S) -> Result<T, String>,
    built: OnceLock<Option<T>>,
}

impl<S, T> Lazy<S, T> {
    fn new(source: S, build: fn(&S) -> Result<T, String>) -> Lazy<S, T> {
        Lazy { source, build, built: OnceLock::new() }
    }
    fn get(&self) -> Option<&T> {
        self.built
            .get_or_init(|| {
                (self.build)(&self.source).map_err(|e| tracing::warn!("not compiled, matches nothing: {e}")).ok()
            })
            .as_ref()
    }
    /// Compiles it now; the error, if it does not compile.
    fn force(&self) -> Result<(), String> {
        if !matches!(self.built.get(), Some(Some(_))) {
            let _ = self.built.set(Some((self.build)(&self.source)?));
        }
        Ok(())
    }
}

/// A glob set.
pub type Globs = Lazy<Vec<Glob>, GlobSet>;

impl Globs {
    fn of(globs: Vec<Glob>) -> Globs {
        Lazy::new(globs, |globs| {
            let mut b = GlobSetBuilder::new();
            for g in globs {
                b.add(g.clone());
            }
            b.build().map_err(|e| e.to_string())
        })
    }
    pub fn is_match(&self, s: &str) -> bool {
        !self.source.is_empty() && self.get().is_some_and(|g| g.is_match(s))
    }
}

/// A regex.
pub type Re = Lazy<String, Regex>;

impl Re {
    fn of(pattern: &str) -> Result<Re, String> {
        regex_syntax::Parser::new().parse(pattern).map_err(|e| e.to_string())?;
        Ok(Lazy::new(pattern.to_string(), |p| Regex::new(p).map_err(|e| e.to_string())))
    }
    fn is_match(&self, s: &str) -> bool {
        self.get().is_some_and(|r| r.is_match(s))
    }
}

/// Paths: absolute globs, and globs relative to HOME (written `~/...`).
#[derive(Debug)]
pub struct PathGlobs {
    abs: Globs,
    home: Globs,
    /// Names this set in a [`PathMemo`]; unique in the process.
    id: u32,
}

static NEXT_PATH_GLOBS: AtomicU32 = AtomicU32::new(0);

impl PathGlobs {
    fn is_match(&self, path: Option<&str>, home_rel: Option<&str>) -> bool {
        path.is_some_and(|p| self.abs.is_match(p)) || home_rel.is_some_and(|h| self.home.is_match(h))
    }

    /// [`PathGlobs::is_match`] for a fact's own path, through the memo of
    /// what that path matched before (`memo`, when it is that path's).
    fn is_match_fact(&self, f: &Fact) -> bool {
        let path = f.path.as_deref();
        let abs = match (path, &f.path_memo) {
            (Some(p), Some(memo)) if *memo.path == *p => memo.get_or(self.id, || self.abs.is_match(p)),
            (Some(p), _) => self.abs.is_match(p),
            (None, _) => false,
        };
        abs || f.home_rel.as_deref().is_some_and(|h| self.home.is_match(h))
    }

    fn force(&self) -> Result<(), String> {
        self.abs.force()?;
        self.home.force()
    }
}

/// Which probes' results (success, errno) a pack's rules could read: its
/// probe rules' path conditions (see `tracer::ptrace::wanted`). All of a
/// rule's conditions must hold, so its path globs and its path regexes
/// bound the paths it can match; a rule with neither reads every probe.
///
/// Which directory is HOME is the analyzer's to say (it learns it as the
/// run goes on), so a `~/...` glob is tried on the tails of a path. Trying
/// every glob on every tail cost 4 to 20 µs a probe, on the tracer's
/// critical path; so each glob is tried only on the tails it could match:
/// `~/**/...` once, on the whole path; `~/.ssh/...` on the tails whose
/// first component is `.ssh`; `~/.*/**/key4.db` on those starting with
/// `.`; `~/*.kdbx` (no `**`, one component) on the last component alone.
#[derive(Debug)]
pub struct ProbePaths {
    all: bool,
    /// Absolute globs, tried on the path.
    abs: RuleGlobs,
    /// `~/**/...` globs, tried on the path without its leading `/`.
    anywhere: RuleGlobs,
    /// `~/NAME/...` globs, tried on the tails whose first component is a
    /// NAME.
    named: RuleGlobs,
    names: foldhash::HashSet<String>,
    /// `~/PREFIX*...` globs, tried on the tails starting with a PREFIX.
    prefixed: RuleGlobs,
    prefixes: Vec<String>,
    /// Globs without a literal start or `**`, by their number of
    /// components: tried on the tail of that many components.
    counted: Vec<(usize, RuleGlobs)>,
    /// Per rule: whether it has globs, and its regexes.
    rules: Vec<(bool, Vec<Regex>)>,
}

/// Globs of several rules in one set, and which rule each is.
#[derive(Debug, Default)]
struct RuleGlobs {
    globs: Vec<(Glob, usize)>,
    set: Option<GlobSet>,
}

impl RuleGlobs {
    fn build(&mut self) -> Result<(), globset::Error> {
        let mut b = GlobSetBuilder::new();
        for (g, _) in &self.globs {
            b.add(g.clone());
        }
        self.set = Some(b.build()?).filter(|s| !s.is_empty());
        Ok(())
    }
    fn is_match(&self, s: &str) -> bool {
        self.set.as_ref().is_some_and(|set| set.is_match(s))
    }
    /// The rules whose globs match `s`.
    fn rules(&self, s: &str) -> impl Iterator<Item = usize> + '_ {
        let hits = self.set.as_ref().map(|set| set.matches(s)).unwrap_or_default();
        hits.into_iter().map(|i| self.globs[i].1)
    }
}

impl ProbePaths {
    /// From the `[match]` conditions of every rule about probes.
    pub fn of<'a>(rules: impl IntoIterator<Item = &'a Conds>) -> ProbePaths {
        let mut p = ProbePaths {
            all: false,
            abs: RuleGlobs::default(),
            anywhere: RuleGlobs::default(),
            named: RuleGlobs::default(),
            names: Default::default(),
            prefixed: RuleGlobs::default(),
            prefixes: Vec::new(),
            counted: Vec::new(),
            rules: Vec::new(),
        };
        for conds in rules {
            let res: Option<Vec<Regex>> = (conds.0.iter())
                .filter_map(|c| match c {
                    Cond::PathRe(r) => Some(r.get().cloned()),
                    _ => None,
                })
                .collect();
            // A regex that did not compile matches nothing: the rule neither.
            let Some(res) = res else { continue };
            // One glob condition bounds the rule (each must hold).
            let globs = conds.0.iter().find_map(|c| match c {
                Cond::Path(g) => Some(g),
                _ => None,
            });
            let i = p.rules.len();
            for glob in globs.iter().flat_map(|g| &g.abs.source) {
                p.abs.globs.push((glob.clone(), i));
            }
            for glob in globs.iter().flat_map(|g| &g.home.source) {
                p.add_home(glob, i);
            }
            p.all |= globs.is_none() && res.is_empty();
            p.rules.push((globs.is_some(), res));
        }
        let sets = [&mut p.abs, &mut p.anywhere, &mut p.named, &mut p.prefixed];
        let built = sets.into_iter().chain(p.counted.iter_mut().map(|(_, g)| g)).all(|g| g.build().is_ok());
        // Too big to build: every result is read.
        p.all |= !built;
        p
    }

    fn add_home(&mut self, glob: &Glob, rule: usize) {
        let text = glob.glob();
        let meta = |s: &str| s.find(['*', '?', '[', '{', '\\']);
        let first = text.split('/').next().unwrap_or("");
        let into = if first.starts_with("**") {
            &mut self.anywhere
        } else if !first.is_empty() && meta(first).is_none() {
            self.names.insert(first.to_string());
            &mut self.named
        } else if let Some(prefix) = text.get(..meta(text).unwrap_or(0)).filter(|p| !p.is_empty()) {
            self.prefixes.push(prefix.to_string());
            &mut self.prefixed
        } else if !text.contains("**") {
            let n = text.split('/').count();
            if !self.counted.iter().any(|(c, _)| *c == n) {
                self.counted.push((n, RuleGlobs::default()));
            }
            &mut self.counted.iter_mut().find(|(c, _)| *c == n).expect("just added").1
        } else {
            // `~/*x/**`: every tail could match.
            self.prefixes.push(String::new());
            &mut self.prefixed
        };
        into.globs.push((glob.clone(), rule));
    }

    /// Whether some rule could match a probe of `path` (absolute,
    /// normalized).
    pub fn could_match(&self, path: &str) -> bool {
        if self.all {
            return true;
        }
        let regexes_hold = |i: usize| self.rules[i].1.iter().all(|r| r.is_match(path));
        // Rules bound by regexes alone.
        if self.rules.iter().enumerate().any(|(i, (globs, res))| !globs && !res.is_empty() && regexes_hold(i)) {
            return true;
        }
        let rel = path.strip_prefix('/').unwrap_or(path);
        // Every tail after a `/`; the one of `n` components is the n-th from the end.
        let tails = || path.match_indices('/').map(|(i, _)| &path[i + 1..]);
        let named = || tails().filter(|t| self.names.contains(t.split('/').next().unwrap_or("")));
        let prefixed = || tails().filter(|t| self.prefixes.iter().any(|p| t.starts_with(p.as_str())));
        let counted =
            || (self.counted.iter()).filter_map(|(n, globs)| Some((tails().rev().nth(n.checked_sub(1)?)?, globs)));
        // The globs first (a path matches none, mostly); then the regexes
        // of the rules whose globs matched.
        let any = self.abs.is_match(path)
            || self.anywhere.is_match(rel)
            || named().any(|t| self.named.is_match(t))
            || prefixed().any(|t| self.prefixed.is_match(t))
            || counted().any(|(t, globs)| globs.is_match(t));
        if !any {
            return false;
        }
        let mut hits = self.abs.rules(path).chain(self.anywhere.rules(rel));
        hits.any(regexes_hold)
            || named().flat_map(|t| self.named.rules(t)).any(regexes_hold)
            || prefixed().flat_map(|t| self.prefixed.rules(t)).any(regexes_hold)
            || counted().flat_map(|(t, globs)| globs.rules(t)).any(regexes_hold)
    }
}

/// What one path matched: for each [`PathGlobs`] asked so far, whether
/// its absolute globs match. Shared by every fact about that path (the
/// analyzer keeps one per path): a real install opens and stats the same
/// few thousand paths again and again, and matching a path against one
/// rule's globs after another was a fifth of all analysis.
#[derive(Debug)]
pub struct PathMemo {
    path: Rc<str>,
    seen: RefCell<Vec<(u32, bool)>>,
}

impl PathMemo {
    pub fn new(path: Rc<str>) -> PathMemo {
        PathMemo { path, seen: RefCell::new(Vec::new()) }
    }

    fn get_or(&self, id: u32, is_match: impl FnOnce() -> bool) -> bool {
        if let Some(&(_, m)) = self.seen.borrow().iter().find(|(i, _)| *i == id) {
            return m;
        }
        let m = is_match();
        self.seen.borrow_mut().push((id, m));
        m
    }
}

/// Executables: globs with a `/` match the full path, others the base name.
#[derive(Debug)]
pub struct ExeGlobs {
    full: Globs,
    base: Globs,
}

impl ExeGlobs {
    pub fn is_match(&self, exe: &str) -> bool {
        self.full.is_match(exe) || self.base.is_match(basename(exe))
    }
    pub fn force(&self) -> Result<(), String> {
        self.full.force()?;
        self.base.force()
    }
}

#[derive(Debug)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    fn parse(s: &str) -> Result<Cidr, String> {
        let (ip, bits) = s.split_once('/').unwrap_or((s, ""));
        let net: IpAddr = ip.parse().map_err(|_| format!("bad CIDR {s:?}"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = if bits.is_empty() { max } else { bits.parse().map_err(|_| format!("bad CIDR {s:?}"))? };
        if bits > max {
            return Err(format!("bad CIDR {s:?}"));
        }
        Ok(Cidr { net, bits })
    }
    fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address matches IPv4 ranges.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.bits == 0 { 0 } else { u32::MAX << (32 - self.bits) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.bits == 0 { 0 } else { u128::MAX << (128 - self.bits) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// One compiled key of a match table.
#[derive(Debug)]
pub enum Cond {
    Path(PathGlobs),
    PathRe(Re),
    Source(PathGlobs),
    /// Which accesses hold, as bits: see [`access_bits`].
    Access(u8),
    /// Some(true): success; Some(false): failure; None: any.
    Result(Option<bool>),
    Errno(Vec<String>),
    Syscall(Vec<String>),
    Exe(ExeGlobs),
    ArgvRe(Re),
    ParentExe(ExeGlobs),
    AncestorExe(ExeGlobs),
    IsPackageManager(bool),
    ParentIsPackageManager(bool),
    CreatedInRun(bool),
    InPackageDir(bool),
    PackageCode(bool),
    Downloaded(bool),
    InProject(bool),
    InHome(bool),
    Family(Vec<String>),
    IpCidr(Vec<Cidr>),
    Port(Vec<(u16, u16)>),
    Host(Globs),
    DnsNameRe(Re),
    DnsType(Vec<String>),
    EncodedLabel(bool),
    Identity(bool),
    Mode(Vec<String>),
    EnvRe(Re),
    NewFd(Vec<i64>),
    FdKind(Vec<String>),
    Request(Vec<String>),
    Target(Vec<String>),
    Signal(Vec<String>),
    ExistenceProbe(bool),
    Refused(Vec<String>),
    PayloadRe(Re),
    Protocol(Vec<String>),
    Method(Vec<String>),
    UrlRe(Re),
    Canary(bool),
    Phase(Vec<String>),
    Ecosystem(Vec<String>),
}

/// All keys of one table.
#[derive(Debug, Default)]
pub struct Conds(pub Vec<Cond>);

impl Conds {
    pub fn compile(table: &toml::Table, lists: &Lists, skip: &[&str]) -> Result<Conds, String> {
        let mut out = Vec::new();
        for (key, value) in table {
            if skip.contains(&key.as_str()) {
                continue;
            }
            out.push(compile_key(key, value, lists).map_err(|e| format!("key `{key}`: {e}"))?);
        }
        // All must hold and checking one has no effect, so the order is
        // free: cheap comparisons first, globs and regexes only for the
        // facts that pass them (most facts fail on kind, syscall, access
        // or result long before a glob set would).
        out.sort_by_key(Cond::cost);
        Ok(Conds(out))
    }

    pub fn holds(&self, f: &Fact) -> bool {
        self.0.iter().all(|c| c.holds(f))
    }

    /// Whether these conditions could hold for a read-only open (or an
    /// `O_PATH` one): false when an `access` key asks for writes only.
    pub fn could_hold_for_a_read(&self) -> bool {
        self.0.iter().all(|c| match c {
            Cond::Access(bits) => bits & (ACCESS_READ | ACCESS_PATH) != 0,
            _ => true,
        })
    }

    /// Compiles every glob set and regex now (they are otherwise compiled
    /// when first reached).
    pub fn force(&self) -> Result<(), String> {
        for c in &self.0 {
            match c {
                Cond::Path(g) | Cond::Source(g) => g.force()?,
                Cond::Exe(g) | Cond::ParentExe(g) | Cond::AncestorExe(g) => g.force()?,
                Cond::Host(g) => g.force()?,
                Cond::PathRe(r)
                | Cond::ArgvRe(r)
                | Cond::DnsNameRe(r)
                | Cond::EnvRe(r)
                | Cond::PayloadRe(r)
                | Cond::UrlRe(r) => r.force()?,
                _ => {}
            }
        }
        Ok(())
    }
}

fn compile_key(key: &str, v: &toml::Value, lists: &Lists) -> Result<Cond, String> {
    let strs = || lists.expand(v);
    let lower = || strs().map(|l| l.into_iter().map(|s| s.to_ascii_lowercase()).collect::<Vec<_>>());
    let boolean = || v.as_bool().ok_or_else(|| "expected true or false".to_string());
    let regex = || Re::of(v.as_str().ok_or("expected a regex string")?);
    Ok(match key {
        "path" => Cond::Path(path_globs(&strs()?)?),
        "path_re" => Cond::PathRe(regex()?),
        "source" => Cond::Source(path_globs(&strs()?)?),
        "access" => {
            let mut bits = 0;
            for a in &lower()? {
                bits |= match a.as_str() {
                    "read" => ACCESS_READ,
                    "write" => ACCESS_WRITE,
                    "read_write" => ACCESS_READ_WRITE,
                    "path" => ACCESS_PATH,
                    _ => return Err(format!("unknown access {a:?}")),
                };
            }
            Cond::Access(bits)
        }
        "result" => match v.as_str().ok_or("expected success, failure or any")? {
            "success" => Cond::Result(Some(true)),
            "failure" => Cond::Result(Some(false)),
            "any" => Cond::Result(None),
            r => return Err(format!("unknown result {r:?}")),
        },
        "errno" => Cond::Errno(strs()?),
        "syscall" => Cond::Syscall(strs()?),
        "exe" => Cond::Exe(exe_globs(&strs()?)?),
        "argv_re" => Cond::ArgvRe(regex()?),
        "parent_exe" => Cond::ParentExe(exe_globs(&strs()?)?),
        "ancestor_exe" => Cond::AncestorExe(exe_globs(&strs()?)?),
        "is_package_manager" => Cond::IsPackageManager(boolean()?),
        "parent_is_package_manager" => Cond::ParentIsPackageManager(boolean()?),
        "created_in_run" => Cond::CreatedInRun(boolean()?),
        "in_package_dir" => Cond::InPackageDir(boolean()?),
        "package_code" => Cond::PackageCode(boolean()?),
        "downloaded" => Cond::Downloaded(boolean()?),
        "in_project" => Cond::InProject(boolean()?),
        "in_home" => Cond::InHome(boolean()?),
        "family" => Cond::Family(lower()?),
        "ip_cidr" => Cond::IpCidr(strs()?.iter().map(|s| Cidr::parse(s)).collect::<Result<_, _>>()?),
        "port" => Cond::Port(ports(v)?),
        "host" => Cond::Host(Globs::of(
            lower()?.iter().map(|h| Glob::new(h).map_err(|e| e.to_string())).collect::<Result<_, _>>()?,
        )),
        "dns_name_re" => Cond::DnsNameRe(regex()?),
        "dns_type" => Cond::DnsType(strs()?.into_iter().map(|s| s.to_ascii_uppercase()).collect()),
        "encoded_label" => Cond::EncodedLabel(boolean()?),
        "carries_identity" => Cond::Identity(boolean()?),
        "mode" => {
            let l = lower()?;
            for m in &l {
                if !["setuid", "setgid", "exec", "world_writable"].contains(&m.as_str()) {
                    return Err(format!("unknown mode {m:?}"));
                }
            }
            Cond::Mode(l)
        }
        "env_re" => Cond::EnvRe(regex()?),
        "new_fd" => Cond::NewFd(ints(v)?),
        "fd_kind" => Cond::FdKind(lower()?),
        "request" => Cond::Request(strs()?),
        "target" => {
            let l = lower()?;
            for t in &l {
                if !TARGETS.contains(&t.as_str()) {
                    return Err(format!("unknown target {t:?} (one of {})", TARGETS.join(", ")));
                }
            }
            Cond::Target(l)
        }
        "signal" => Cond::Signal(strs()?),
        "existence_probe" => Cond::ExistenceProbe(boolean()?),
        "refused" => Cond::Refused(strs()?),
        "payload_re" => Cond::PayloadRe(regex()?),
        "protocol" => Cond::Protocol(lower()?),
        "method" => Cond::Method(strs()?.into_iter().map(|s| s.to_ascii_uppercase()).collect()),
        "url_re" => Cond::UrlRe(regex()?),
        "canary" => Cond::Canary(boolean()?),
        "phase" => Cond::Phase(lower()?),
        "ecosystem" => Cond::Ecosystem(lower()?),
        other => return Err(format!("unknown match key {other:?}")),
    })
}

fn glob(p: &str) -> Result<Glob, String> {
    GlobBuilder::new(p).literal_separator(true).build().map_err(|e| format!("bad glob {p:?}: {e}"))
}

pub fn path_globs(pats: &[String]) -> Result<PathGlobs, String> {
    let mut abs = Vec::new();
    let mut home = Vec::new();
    for p in pats {
        // `dir/**` means the directory and everything in it: opening the
        // directory itself (to list it) counts too.
        let dir = p.strip_suffix("/**").filter(|d| !d.is_empty() && !d.ends_with("**"));
        for p in std::iter::once(p.as_str()).chain(dir) {
            if let Some(rel) = p.strip_prefix("~/") {
                home.push(glob(rel)?);
            } else if p == "~" {
                home.push(glob("")?);
            } else {
                abs.push(glob(p)?);
            }
        }
    }
    Ok(PathGlobs { abs: Globs::of(abs), home: Globs::of(home), id: NEXT_PATH_GLOBS.fetch_add(1, Ordering::Relaxed) })
}

pub fn exe_globs(pats: &[String]) -> Result<ExeGlobs, String> {
    let mut full = Vec::new();
    let mut base = Vec::new();
    for p in pats {
        if p.contains('/') {
            full.push(glob(p)?);
        } else {
            base.push(glob(p)?);
        }
    }
    Ok(ExeGlobs { full: Globs::of(full), base: Globs::of(base) })
}

fn ints(v: &toml::Value) -> Result<Vec<i64>, String> {
    match v {
        toml::Value::Integer(i) => Ok(vec![*i]),
        toml::Value::Array(a) => a.iter().map(|x| x.as_integer().ok_or_else(|| "expected integers".into())).collect(),
        _ => Err("expected an integer or a list of integers".into()),
    }
}

fn ports(v: &toml::Value) -> Result<Vec<(u16, u16)>, String> {
    let one = |x: &toml::Value| -> Result<(u16, u16), String> {
        match x {
            toml::Value::Integer(i) => {
                let p = u16::try_from(*i).map_err(|_| format!("bad port {i}"))?;
                Ok((p, p))
            }
            toml::Value::String(s) => {
                let (lo, hi) = s.split_once('-').unwrap_or((s, s));
                let lo = lo.trim().parse().map_err(|_| format!("bad port range {s:?}"))?;
                let hi = hi.trim().parse().map_err(|_| format!("bad port range {s:?}"))?;
                Ok((lo, hi))
            }
            _ => Err("expected a port or \"lo-hi\"".into()),
        }
    };
    match v {
        toml::Value::Array(a) => a.iter().map(one).collect(),
        x => Ok(vec![one(x)?]),
    }
}

const ACCESS_READ: u8 = 1;
const ACCESS_WRITE: u8 = 2;
const ACCESS_READ_WRITE: u8 = 4;
const ACCESS_PATH: u8 = 8;

/// The `access` values a fact's access satisfies, as bits (written as
/// names in rules, compared as bits for every fact).
fn access_bits(f: &Fact) -> u8 {
    let Some(a) = f.access else { return 0 };
    let mut bits = 0;
    if a.reads() {
        bits |= ACCESS_READ;
    }
    if a.writes() || f.creates {
        bits |= ACCESS_WRITE;
    }
    if a == Access::ReadWrite {
        bits |= ACCESS_READ_WRITE;
    }
    if a == Access::Path {
        bits |= ACCESS_PATH;
    }
    bits
}

fn mode_holds(want: &[String], mode: Option<u32>) -> bool {
    let Some(m) = mode else { return false };
    want.iter().any(|w| match w.as_str() {
        "setuid" => m & 0o4000 != 0,
        "setgid" => m & 0o2000 != 0,
        "exec" => m & 0o111 != 0,
        "world_writable" => m & 0o002 != 0,
        _ => false,
    })
}

fn any_eq(list: &[String], v: Option<&str>) -> bool {
    v.is_some_and(|v| list.iter().any(|x| x == v))
}

impl Cond {
    /// A rank of how much checking this condition costs: 0 for a field
    /// comparison, 1 for a short list, 2 for glob sets, 3 for regexes.
    fn cost(&self) -> u8 {
        match self {
            Cond::IsPackageManager(_)
            | Cond::ParentIsPackageManager(_)
            | Cond::CreatedInRun(_)
            | Cond::InPackageDir(_)
            | Cond::PackageCode(_)
            | Cond::Downloaded(_)
            | Cond::InProject(_)
            | Cond::EncodedLabel(_)
            | Cond::Identity(_)
            | Cond::ExistenceProbe(_)
            | Cond::Canary(_)
            | Cond::Result(_) => 0,
            Cond::Access(_)
            | Cond::Errno(_)
            | Cond::Syscall(_)
            | Cond::Family(_)
            | Cond::IpCidr(_)
            | Cond::Port(_)
            | Cond::DnsType(_)
            | Cond::Mode(_)
            | Cond::NewFd(_)
            | Cond::FdKind(_)
            | Cond::Request(_)
            | Cond::Target(_)
            | Cond::Signal(_)
            | Cond::Refused(_)
            | Cond::Protocol(_)
            | Cond::Method(_)
            | Cond::Phase(_)
            | Cond::Ecosystem(_)
            | Cond::InHome(_) => 1,
            Cond::Path(_) | Cond::Source(_) | Cond::Exe(_) | Cond::ParentExe(_) | Cond::Host(_) => 2,
            Cond::AncestorExe(_)
            | Cond::PathRe(_)
            | Cond::ArgvRe(_)
            | Cond::DnsNameRe(_)
            | Cond::EnvRe(_)
            | Cond::PayloadRe(_)
            | Cond::UrlRe(_) => 3,
        }
    }

    pub fn holds(&self, f: &Fact) -> bool {
        match self {
            Cond::Path(g) => g.is_match_fact(f),
            Cond::PathRe(r) => f.path.as_deref().is_some_and(|p| r.is_match(p)),
            Cond::Source(g) => {
                let home_rel = f.source.as_deref().and_then(|s| {
                    let (p, h) = (f.path.as_deref()?, f.home_rel.as_deref()?);
                    // source shares HOME with path; derive its relative form.
                    let home = p.strip_suffix(h)?;
                    s.strip_prefix(home)
                });
                g.is_match(f.source.as_deref(), home_rel)
            }
            Cond::Access(want) => access_bits(f) & want != 0,
            Cond::Result(want) => want.is_none() || f.success == *want,
            Cond::Errno(l) => any_eq(l, f.errno.as_deref()),
            Cond::Syscall(l) => any_eq(l, Some(&f.syscall)),
            Cond::Exe(g) => f.actor.exe.as_deref().is_some_and(|e| g.is_match(e)),
            Cond::ArgvRe(r) => r.is_match(&f.actor.argv_line),
            Cond::ParentExe(g) => f.actor.parent_exe.as_deref().is_some_and(|e| g.is_match(e)),
            Cond::AncestorExe(g) => f.actor.ancestors.iter().any(|e| g.is_match(e)),
            Cond::IsPackageManager(b) => f.actor.is_package_manager == *b,
            Cond::ParentIsPackageManager(b) => f.actor.parent_is_package_manager == *b,
            Cond::CreatedInRun(b) => f.created_in_run == *b,
            Cond::InPackageDir(b) => f.in_package_dir == *b,
            Cond::PackageCode(b) => f.actor.package_code == *b,
            Cond::Downloaded(b) => f.downloaded == *b,
            Cond::InProject(b) => f.in_project == *b,
            Cond::InHome(b) => f.in_home() == *b,
            Cond::Family(l) => any_eq(l, f.family.as_deref()),
            Cond::IpCidr(l) => f.ip.is_some_and(|ip| l.iter().any(|c| c.contains(ip))),
            Cond::Port(l) => f.port.is_some_and(|p| l.iter().any(|(lo, hi)| (*lo..=*hi).contains(&p))),
            Cond::Host(g) => {
                f.host.as_deref().is_some_and(|h| g.is_match(h)) || f.dns_name.as_deref().is_some_and(|h| g.is_match(h))
            }
            Cond::DnsNameRe(r) => f.dns_name.as_deref().is_some_and(|n| r.is_match(n)),
            Cond::DnsType(l) => any_eq(l, f.dns_type.as_deref()),
            Cond::EncodedLabel(b) => f.encoded_label == *b,
            Cond::Identity(b) => f.identity == *b,
            Cond::Mode(l) => mode_holds(l, f.mode),
            Cond::EnvRe(r) => f.env.iter().any(|e| r.is_match(e)),
            Cond::NewFd(l) => f.new_fd.is_some_and(|n| l.contains(&i64::from(n))),
            Cond::FdKind(l) => {
                // `socket` also holds for the more precise `inet_socket`.
                let k = f.fd_kind.as_deref();
                any_eq(l, k) || (k == Some("inet_socket") && l.iter().any(|x| x == "socket"))
            }
            Cond::Request(l) => any_eq(l, f.request.as_deref()),
            Cond::Target(l) => any_eq(l, f.target),
            Cond::Signal(l) => any_eq(l, f.signal.as_deref()),
            Cond::ExistenceProbe(b) => f.existence_probe() == *b,
            Cond::Refused(l) => any_eq(l, f.refused.as_deref()),
            Cond::PayloadRe(r) => f.payload.as_deref().is_some_and(|p| r.is_match(p)),
            Cond::Protocol(l) => any_eq(l, f.protocol.as_deref()),
            Cond::Method(l) => any_eq(l, f.method.as_deref()),
            Cond::UrlRe(r) => f.url.as_deref().is_some_and(|u| r.is_match(u)),
            Cond::Canary(b) => f.canary == *b,
            Cond::Phase(l) => l.iter().any(|p| **p == *f.phase),
            Cond::Ecosystem(l) => any_eq(l, f.ecosystem.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One memo serves every rule's globs for its path, each with its own
    /// answer, and is not used for a fact about another path.
    #[test]
    fn a_path_memo_keeps_each_glob_sets_own_answer() {
        let etc = path_globs(&["/etc/**".into()]).unwrap();
        let cnf = path_globs(&["**/*.cnf".into()]).unwrap();
        let memo = Rc::new(PathMemo::new("/etc/ssl/openssl.cnf".into()));
        let fact = |path: &str| Fact { path: Some(path.into()), path_memo: Some(memo.clone()), ..Fact::default() };
        for _ in 0..2 {
            assert!(etc.is_match_fact(&fact("/etc/ssl/openssl.cnf")));
            assert!(cnf.is_match_fact(&fact("/etc/ssl/openssl.cnf")));
        }
        assert_eq!(memo.seen.borrow().len(), 2);
        // The memo of another path is not this path's.
        assert!(!etc.is_match_fact(&fact("/usr/lib/ssl/x.cnf")));
        assert!(cnf.is_match_fact(&fact("/usr/lib/ssl/x.cnf")));
        assert!(!cnf.is_match_fact(&fact("/etc/passwd")));
        assert_eq!(memo.seen.borrow().len(), 2);
    }

    #[test]
    fn globs_do_not_cross_slashes_unless_double_star() {
        let g = path_globs(&["/etc/*".into(), "**/*.cnf".into(), "~/.ssh/id_*".into()]).unwrap();
        assert!(g.is_match(Some("/etc/shadow"), None));
        assert!(!g.is_match(Some("/etc/ssl/x"), None));
        assert!(g.is_match(Some("/home/iojs/build/openssl.cnf"), None));
        assert!(g.is_match(Some("/x/y"), Some(".ssh/id_rsa")));
        assert!(!g.is_match(Some("/x/y"), Some(".ssh/known_hosts")));
        let dir = path_globs(&["~/.mozilla/firefox/**".into()]).unwrap();
        assert!(dir.is_match(None, Some(".mozilla/firefox")));
        assert!(dir.is_match(None, Some(".mozilla/firefox/x/key4.db")));
        assert!(!dir.is_match(None, Some(".mozilla/firefox-esr")));
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("169.254.0.0/16").unwrap();
        assert!(c.contains("169.254.169.254".parse().unwrap()));
        assert!(!c.contains("10.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:169.254.1.1".parse().unwrap()));
        let c6 = Cidr::parse("fd00::/8").unwrap();
        assert!(c6.contains("fd00:ec2::254".parse().unwrap()));
        assert!(Cidr::parse("1.2.3.4/33").is_err());
    }

    #[test]
    fn exe_globs_by_name_or_path() {
        let g = exe_globs(&["node".into(), "/usr/lib/*/ssh".into()]).unwrap();
        assert!(g.is_match("/usr/bin/node"));
        assert!(g.is_match("/usr/lib/openssh/ssh"));
        assert!(!g.is_match("/usr/bin/nodejs"));
    }
}
