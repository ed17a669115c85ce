//! The run's cgroup: every process of a phase is in it from its first
//! instruction (the sandbox's init joins before it runs, and all it starts
//! inherits it). It gives
//!
//! - a **memory limit** (`--memory`): the kernel's OOM killer stops a package
//!   that allocates without bound (tmpfs pages the run writes count too).
//!   `RLIMIT_AS` cannot do this job: V8 reserves far more than it uses;
//! - a **process limit** (`--pids`): a fork bomb hits it in its own cgroup
//!   and starves no other run (RLIMIT_NPROC counts per uid);
//! - **the list of the run's processes**, searched for untraced ones, and
//!   **a kill of all of them** at the end (`cgroup.kill`, Linux 5.14).
//!
//! cgroup v2 is used where it has the memory and pids controllers; else the
//! v1 memory and pids hierarchies, with the v2 hierarchy mounted beside them
//! (`/sys/fs/cgroup/unified`, no controllers needed) for `cgroup.kill`. A
//! machine that offers neither is an error: the sandbox does not run
//! without its limits.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

const ROOT: &str = "/sys/fs/cgroup";

pub struct RunCgroup {
    /// Every directory made, the tracking one (whose cgroup.procs is
    /// complete) first.
    dirs: Vec<PathBuf>,
    /// `cgroup.kill`, when the kernel has it.
    kill: Option<PathBuf>,
    memory: PathBuf,
    pids: PathBuf,
    v2: bool,
    removed: bool,
}

impl RunCgroup {
    /// Creates the cgroup `name` limited to `memory` bytes and `pids` tasks.
    pub fn create(name: &str, memory: u64, pids: u64) -> Result<RunCgroup> {
        let root = Path::new(ROOT);
        let controllers = fs::read_to_string(root.join("cgroup.controllers")).ok();
        let mut cg = if let Some(controllers) = controllers {
            let have = |c: &str| controllers.split_whitespace().any(|x| x == c);
            if !have("memory") || !have("pids") {
                bail!("cgroup v2 at {ROOT} lacks the memory or pids controller (has: {})", controllers.trim());
            }
            let enabled = fs::read_to_string(root.join("cgroup.subtree_control")).unwrap_or_default();
            if !(enabled.contains("memory") && enabled.contains("pids")) {
                fs::write(root.join("cgroup.subtree_control"), "+memory +pids")
                    .context("failed to enable the memory and pids controllers for child cgroups")?;
            }
            let dir = root.join(name);
            make(&dir)?;
            RunCgroup {
                kill: Some(dir.join("cgroup.kill")).filter(|k| k.exists()),
                memory: dir.clone(),
                pids: dir.clone(),
                dirs: vec![dir],
                v2: true,
                removed: false,
            }
        } else {
            let (memory_dir, pids_dir) = (root.join("memory").join(name), root.join("pids").join(name));
            if !root.join("memory").is_dir() || !root.join("pids").is_dir() {
                bail!("no cgroup v2 and no cgroup v1 memory and pids hierarchies under {ROOT}");
            }
            let mut dirs = Vec::new();
            let unified = root.join("unified");
            let mut kill = None;
            if unified.join("cgroup.procs").exists() {
                let dir = unified.join(name);
                make(&dir)?;
                kill = Some(dir.join("cgroup.kill")).filter(|k| k.exists());
                dirs.push(dir);
            }
            let mut cg =
                RunCgroup { dirs, kill, memory: memory_dir.clone(), pids: pids_dir.clone(), v2: false, removed: false };
            make(&memory_dir)?;
            cg.dirs.push(memory_dir);
            make(&pids_dir)?;
            cg.dirs.push(pids_dir);
            cg
        };
        let (mem_file, swap) = if cg.v2 { ("memory.max", "memory.swap.max") } else { ("memory.limit_in_bytes", "") };
        let set = |dir: &Path, file: &str, value: String| {
            fs::write(dir.join(file), value).with_context(|| format!("failed to set {}", dir.join(file).display()))
        };
        let limits =
            set(&cg.memory, mem_file, memory.to_string()).and_then(|()| set(&cg.pids, "pids.max", pids.to_string()));
        if let Err(e) = limits {
            cg.remove().ok();
            return Err(e);
        }
        // Swap would let the package outgrow the limit; forbid it where possible.
        if cg.v2 {
            let _ = fs::write(cg.memory.join(swap), "0");
        } else {
            let _ = fs::write(cg.memory.join("memory.swappiness"), "0");
        }
        Ok(cg)
    }

    /// The `cgroup.procs` files a process is written to, to join every
    /// hierarchy; the first lists every process of the run.
    pub fn procs(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// The cgroup directories, for the report.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The memory limit was hit at least once (the OOM killer acted).
    pub fn hit_memory_limit(&self) -> bool {
        let failcnt = fs::read_to_string(self.memory.join("memory.failcnt")).ok();
        let events = fs::read_to_string(self.memory.join("memory.events")).ok();
        failcnt.is_some_and(|c| c.trim() != "0")
            || events.is_some_and(|e| e.lines().any(|l| l.starts_with("oom_kill ") && !l.ends_with(" 0")))
    }

    /// A fork was refused because the process limit was reached.
    pub fn hit_pids_limit(&self) -> bool {
        fs::read_to_string(self.pids.join("pids.events"))
            .is_ok_and(|e| e.lines().any(|l| l.starts_with("max ") && !l.ends_with(" 0")))
    }

    /// Pids still in the cgroup.
    fn members(&self) -> Vec<i32> {
        let mut out = Vec::new();
        for procs in self.procs() {
            let text = fs::read_to_string(procs).unwrap_or_default();
            out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Kills whatever is left in the cgroup and removes it. An error when
    /// something of the run could not be killed within a few seconds.
    pub fn kill_and_remove(&mut self) -> Result<()> {
        if self.removed {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = self.members();
            if left.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                bail!("processes of the run survive its end and could not be killed: {left:?}");
            }
            match &self.kill {
                Some(kill) => {
                    let _ = fs::write(kill, "1");
                }
                None => {
                    for pid in left {
                        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.remove()
    }

    fn remove(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        for dir in &self.dirs {
            // rmdir fails with EBUSY until the last task is fully gone.
            while let Err(e) = fs::remove_dir(dir) {
                if e.kind() == std::io::ErrorKind::NotFound {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(e).with_context(|| format!("failed to remove the run's cgroup {}", dir.display()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.removed = true;
        Ok(())
    }
}

fn make(dir: &Path) -> Result<()> {
    fs::create_dir(dir).with_context(|| format!("failed to create the run's cgroup {}", dir.display()))
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        if let Err(e) = self.kill_and_remove() {
            tracing::error!("{e:#}");
        }
    }
}
