//! A memory limit for the whole sandbox: a memory cgroup that the command
//! is put into before it runs (every process it starts inherits it). The
//! kernel's OOM killer then stops a package that allocates without bound,
//! and the phase reports it (killed by SIGKILL). `RLIMIT_AS` cannot do this
//! job: V8 and other runtimes reserve far more address space than they use.
//!
//! cgroup v2 (`memory.max`) is used where the memory controller is on the
//! unified hierarchy, else cgroup v1 (`memory.limit_in_bytes`). Without
//! either (no permission, no controller) the run goes on without a memory
//! limit and says so.

use std::fs;
use std::path::PathBuf;

pub struct MemCgroup {
    pub dir: PathBuf,
}

impl MemCgroup {
    /// Creates a cgroup limited to `bytes`; None when the system offers no
    /// usable memory controller.
    pub fn create(bytes: u64) -> Option<MemCgroup> {
        let name = format!("pkgtrace-{}-{}", std::process::id(), rand_suffix());
        let v2 = PathBuf::from("/sys/fs/cgroup");
        let v2_ok = fs::read_to_string(v2.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "memory"));
        let (dir, limit_file) = if v2_ok {
            (v2.join(&name), "memory.max")
        } else {
            (PathBuf::from("/sys/fs/cgroup/memory").join(&name), "memory.limit_in_bytes")
        };
        fs::create_dir(&dir).ok()?;
        if fs::write(dir.join(limit_file), bytes.to_string()).is_err() {
            let _ = fs::remove_dir(&dir);
            return None;
        }
        // v1: swap would let the package outgrow the limit; forbid it when possible.
        let _ = fs::write(dir.join("memory.swappiness"), "0");
        Some(MemCgroup { dir })
    }

    /// The file a pid is written to, to move it into the cgroup.
    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// The cgroup hit its limit (the OOM killer acted) at least once.
    pub fn hit_limit(&self) -> bool {
        let failcnt = fs::read_to_string(self.dir.join("memory.failcnt")).ok();
        let events = fs::read_to_string(self.dir.join("memory.events")).ok();
        failcnt.is_some_and(|c| c.trim() != "0")
            || events.is_some_and(|e| e.lines().any(|l| l.starts_with("oom_kill ") && !l.ends_with(" 0")))
    }
}

impl Drop for MemCgroup {
    fn drop(&mut self) {
        // Empty by now (every process of the phase was killed or ended).
        let _ = fs::remove_dir(&self.dir);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos() as u64).unwrap_or(0)
}
