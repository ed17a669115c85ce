//! The process model: which task belongs to which process, each process's
//! parent, executable, argv, cwd and fd table, maintained from Spawn, Exec,
//! Chdir, Open, Socket, Connect, Dup and Close events, so relative paths and
//! `write(fd)`/`send(fd)` can be resolved.
//!
//! Threads share their process's state: every task id maps to its thread
//! group leader. Events can arrive for a task before its parent's Spawn (a
//! child's execve is often printed before the parent's clone returns); such
//! a process is created on first sight and adopted when the Spawn arrives.

use foldhash::HashMap;

use tracer::SockAddr;

use crate::paths;

/// What an fd refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdInfo {
    File(String),
    Socket { family: String, stream: bool, peer: Option<SockAddr> },
    Pipe,
    Other,
}

impl FdInfo {
    /// The name rules use for `fd_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            FdInfo::File(_) => "file",
            FdInfo::Socket { family, .. } if family == "inet" || family == "inet6" => "inet_socket",
            FdInfo::Socket { .. } => "socket",
            FdInfo::Pipe => "pipe",
            FdInfo::Other => "other",
        }
    }

    /// Reads a `-y`/`-yy` decoration: a path, `pipe:[N]`, `socket:[N]`,
    /// `TCP:[a:p->b:q]`, `UDP6:[...]`, `UNIX:[...]`, `NETLINK:[...]`.
    pub fn from_decoration(d: &str) -> FdInfo {
        if d.starts_with('/') {
            return FdInfo::File(d.to_string());
        }
        if d.starts_with("pipe:") {
            return FdInfo::Pipe;
        }
        let (proto, rest) = d.split_once(':').unwrap_or((d, ""));
        let (family, stream) = match proto {
            "TCP" => ("inet", true),
            "TCPv6" | "TCP6" => ("inet6", true),
            "UDP" => ("inet", false),
            "UDPv6" | "UDP6" => ("inet6", false),
            p if p.starts_with("UNIX") => ("unix", p != "UNIX-DGRAM"),
            "NETLINK" => ("netlink", false),
            "socket" => ("unknown", false),
            _ => return FdInfo::Other,
        };
        let peer = rest
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split_once("->")
            .and_then(|(_, peer)| parse_endpoint(peer, family));
        FdInfo::Socket { family: family.to_string(), stream, peer }
    }
}

/// `1.2.3.4:53` or `[::1]:53` as printed inside socket decorations.
fn parse_endpoint(s: &str, family: &str) -> Option<SockAddr> {
    let (ip, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']').to_string();
    match family {
        "inet" => Some(SockAddr::Inet { ip, port }),
        "inet6" => Some(SockAddr::Inet6 { ip, port }),
        _ => None,
    }
}

/// One process (thread group).
#[derive(Clone, Debug, Default)]
pub struct Process {
    pub pid: i32,
    pub parent: Option<i32>,
    pub exe: Option<String>,
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    pub fds: HashMap<i32, FdInfo>,
    /// HOME from the last exec's recorded environment.
    pub home: Option<String>,
    /// The package whose script or code it runs; inherited by children.
    pub package: Option<String>,
    /// That package's own directory (where its scripts start).
    pub package_dir: Option<String>,
    /// It talked to an internet address: what it writes may be downloaded.
    pub online: bool,
    pub exec_count: u32,
    pub exited: bool,
}

/// All processes of one run.
#[derive(Debug, Default)]
pub struct ProcessModel {
    procs: HashMap<i32, Process>,
    /// task id → thread group leader, for tasks that are not leaders.
    leader: HashMap<i32, i32>,
    /// The first process seen: the traced command.
    root: Option<i32>,
    initial_cwd: Option<String>,
}

impl ProcessModel {
    /// `cwd`: the directory the traced command started in, if known.
    pub fn new(cwd: Option<String>) -> ProcessModel {
        ProcessModel { initial_cwd: cwd, ..ProcessModel::default() }
    }

    /// The process a task belongs to.
    pub fn leader_of(&self, tid: i32) -> i32 {
        self.leader.get(&tid).copied().unwrap_or(tid)
    }

    pub fn get(&self, pid: i32) -> Option<&Process> {
        self.procs.get(&self.leader_of(pid))
    }

    /// Has task `tid` been seen (as a process, a thread, or the root)?
    pub fn knows(&self, tid: i32) -> bool {
        self.leader.contains_key(&tid) || self.procs.contains_key(&tid)
    }

    pub fn root(&self) -> Option<i32> {
        self.root
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// The process of task `tid`, created on first sight.
    pub fn task(&mut self, tid: i32) -> &mut Process {
        let pid = self.leader_of(tid);
        if self.root.is_none() {
            self.root = Some(pid);
        }
        let initial_cwd = &self.initial_cwd;
        let is_root = self.root == Some(pid);
        self.procs.entry(pid).or_insert_with(|| Process {
            pid,
            cwd: if is_root { initial_cwd.clone() } else { None },
            ..Process::default()
        })
    }

    /// A new task `child` of task `parent`.
    pub fn spawn(&mut self, parent: i32, child: i32, thread: bool) {
        let parent_pid = self.leader_of(parent);
        self.task(parent);
        if thread {
            self.leader.insert(child, parent_pid);
            // A task printed before this Spawn was taken for a process.
            self.procs.remove(&child);
            return;
        }
        // An id a thread had before is a new process's now.
        self.leader.remove(&child);
        let p = self.procs[&parent_pid].clone();
        match self.procs.get_mut(&child) {
            // Seen before the Spawn: adopt it, filling in what it inherits.
            Some(existing) if !existing.exited && existing.parent.is_none() && Some(child) != self.root => {
                existing.parent = Some(parent_pid);
                existing.cwd = existing.cwd.take().or(p.cwd);
                existing.package = existing.package.take().or(p.package);
                existing.package_dir = existing.package_dir.take().or(p.package_dir);
                if existing.exe.is_none() {
                    existing.exe = p.exe;
                    existing.argv = p.argv;
                }
                for (fd, info) in p.fds {
                    existing.fds.entry(fd).or_insert(info);
                }
            }
            _ => {
                // A fresh process (or a reused pid): a copy of the parent.
                self.procs.insert(
                    child,
                    Process {
                        pid: child,
                        parent: Some(parent_pid),
                        exe: p.exe,
                        argv: p.argv,
                        cwd: p.cwd,
                        fds: p.fds,
                        home: p.home,
                        package: p.package,
                        package_dir: p.package_dir,
                        online: false,
                        exec_count: 0,
                        exited: false,
                    },
                );
            }
        }
    }

    /// A successful exec: new program, same process. Descriptors opened
    /// close-on-exec (nearly all, these days) close without a `close` in
    /// the trace, and a stale entry could make a pipe that reuses a
    /// socket's number look like that socket; only stdin, stdout and stderr
    /// are kept, which is what a program is normally given.
    pub fn exec(&mut self, tid: i32, exe: String, argv: Vec<String>, home: Option<String>) {
        let p = self.task(tid);
        p.fds.retain(|fd, _| (0..=2).contains(fd));
        p.exe = Some(exe);
        p.argv = argv;
        p.exec_count += 1;
        if home.is_some() {
            p.home = home;
        }
    }

    /// A task ended; a leader's end ends the process.
    pub fn exit(&mut self, tid: i32) {
        // A thread stays its process's: what the sinks received from it is
        // reported after every exit (a client's worker thread sent it).
        // Its id taken again by a new process or thread replaces the entry.
        if self.leader.contains_key(&tid) {
            return;
        }
        if let Some(p) = self.procs.get_mut(&tid) {
            p.exited = true;
        }
    }

    /// A thread's exec replaced the leader: the thread is gone.
    pub fn superseded(&mut self, by: i32) {
        self.leader.remove(&by);
    }

    /// The chain of processes from the root down to `pid` (inclusive).
    pub fn chain(&self, pid: i32) -> Vec<&Process> {
        let mut out = Vec::new();
        let mut cur = Some(self.leader_of(pid));
        while let Some(p) = cur.and_then(|c| self.procs.get(&c)) {
            if out.len() >= 64 || out.iter().any(|q: &&Process| q.pid == p.pid) {
                break;
            }
            out.push(p);
            cur = p.parent;
        }
        out.reverse();
        out
    }

    /// Is `pid` a task of process `process`?
    pub fn same_process(&self, process: i32, pid: i32) -> bool {
        self.leader_of(pid) == process
    }

    /// Resolves `path` for task `tid` against a dirfd or the cwd.
    pub fn resolve(&self, tid: i32, dirfd: Option<&tracer::Fd>, path: &str) -> String {
        if path.starts_with('/') {
            return paths::normalize(path);
        }
        let p = self.get(tid);
        let base: Option<String> = match dirfd {
            Some(fd) if fd.num == tracer::strace::value::AT_FDCWD => {
                fd.path.as_ref().map(|d| d.lossy().into_owned()).or_else(|| p.and_then(|p| p.cwd.clone()))
            }
            Some(fd) => {
                fd.path.as_ref().map(|d| d.lossy().into_owned()).or_else(|| match p.and_then(|p| p.fds.get(&fd.num)) {
                    Some(FdInfo::File(dir)) => Some(dir.clone()),
                    _ => None,
                })
            }
            None => p.and_then(|p| p.cwd.clone()),
        };
        if path.is_empty() {
            return base.unwrap_or_default();
        }
        paths::resolve(base.as_deref(), path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_inherit_and_threads_share() {
        let mut m = ProcessModel::new(Some("/proj".into()));
        m.task(10).fds.insert(3, FdInfo::File("/etc/x".into()));
        m.spawn(10, 11, false);
        m.spawn(11, 12, true);
        assert_eq!(m.leader_of(12), 11);
        assert_eq!(m.get(12).unwrap().cwd.as_deref(), Some("/proj"));
        assert_eq!(m.get(11).unwrap().fds.get(&3), Some(&FdInfo::File("/etc/x".into())));
        m.exec(12, "/bin/sh".into(), vec!["sh".into()], None);
        assert_eq!(m.get(11).unwrap().exe.as_deref(), Some("/bin/sh"));
        let chain: Vec<i32> = m.chain(12).iter().map(|p| p.pid).collect();
        assert_eq!(chain, vec![10, 11]);
    }

    #[test]
    fn an_exited_thread_is_still_its_process_s() {
        let mut m = ProcessModel::new(Some("/proj".into()));
        m.task(10);
        m.spawn(10, 11, false);
        m.exec(11, "/usr/bin/turbo".into(), vec!["turbo".into()], None);
        m.spawn(11, 12, true);
        m.exit(12);
        assert_eq!(m.leader_of(12), 11, "a request its thread sent is reported after the thread's exit");
        assert!(!m.get(11).unwrap().exited);
        // The id taken again by a new process.
        m.spawn(10, 12, false);
        assert_eq!(m.leader_of(12), 12);
        assert_eq!(m.get(12).unwrap().parent, Some(10));
    }

    #[test]
    fn child_seen_before_its_spawn_is_adopted() {
        let mut m = ProcessModel::new(Some("/proj".into()));
        m.task(1);
        m.exec(2, "/bin/true".into(), vec!["true".into()], None);
        m.spawn(1, 2, false);
        let p = m.get(2).unwrap();
        assert_eq!(p.parent, Some(1));
        assert_eq!(p.exe.as_deref(), Some("/bin/true"));
        assert_eq!(p.cwd.as_deref(), Some("/proj"));
    }

    #[test]
    fn decorations() {
        let tcp = FdInfo::from_decoration("TCP:[127.0.0.1:40000->1.2.3.4:443]");
        assert_eq!(
            tcp,
            FdInfo::Socket {
                family: "inet".into(),
                stream: true,
                peer: Some(SockAddr::Inet { ip: "1.2.3.4".into(), port: 443 })
            }
        );
        assert_eq!(tcp.kind(), "inet_socket");
        let udp6 = FdInfo::from_decoration("UDPv6:[[::1]:5000->[::1]:53]");
        assert!(matches!(udp6, FdInfo::Socket { peer: Some(SockAddr::Inet6 { port: 53, .. }), .. }));
        assert_eq!(FdInfo::from_decoration("/etc/passwd"), FdInfo::File("/etc/passwd".into()));
        assert_eq!(FdInfo::from_decoration("pipe:[123]"), FdInfo::Pipe);
        assert_eq!(FdInfo::from_decoration("UNIX-STREAM:[1->2]").kind(), "socket");
    }
}
