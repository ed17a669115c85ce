//! The host side of a sandbox: a directory holding the sandbox's HOME (with
//! the canary credentials and a copy of the package's work dir), the files
//! bound over `/etc` inside, and the captured output of each phase. It
//! lives outside the sandbox's view except for HOME, and is removed when
//! the run ends.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use tracer::ptrace::sandbox::{SANDBOX_GID, SANDBOX_HOME, SANDBOX_UID};

use super::canaries::{self, Canary};

/// The work dir's path inside the sandbox.
pub const SANDBOX_PROJECT: &str = "/home/pkgtrace/project";

pub struct Workspace {
    pub root: PathBuf,
    pub home: PathBuf,
    pub etc: PathBuf,
    pub out: PathBuf,
    keep: bool,
}

impl Workspace {
    /// Prepares a workspace with `workdir` copied in as the project.
    pub fn create(workdir: &Path, canaries: &[Canary]) -> io::Result<Workspace> {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let root = std::env::temp_dir().join(format!("pkgtrace-run-{}-{stamp}", std::process::id()));
        let ws = Workspace { home: root.join("home"), etc: root.join("etc"), out: root.join("out"), root, keep: false };
        fs::create_dir_all(&ws.home)?;
        fs::create_dir_all(&ws.etc)?;
        fs::create_dir_all(&ws.out)?;
        canaries::plant(&ws.home, canaries)?;
        let project = ws.home.join("project");
        fs::create_dir_all(&project)?;
        // cp -a keeps symlinks (node_modules/.bin) and modes.
        let st = Command::new("cp").arg("-a").arg(format!("{}/.", workdir.display())).arg(&project).status()?;
        if !st.success() {
            return Err(io::Error::other(format!("failed to copy {} into the sandbox", workdir.display())));
        }
        let st = Command::new("chown").args(["-R", &format!("{SANDBOX_UID}:{SANDBOX_GID}")]).arg(&ws.home).status()?;
        if !st.success() {
            return Err(io::Error::other("failed to hand the sandbox's HOME to the sandbox user"));
        }
        // Everything the sandbox user needs from /etc, and a resolver that
        // is the DNS sink.
        fs::write(ws.etc.join("resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")?;
        fs::write(ws.etc.join("hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")?;
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        let passwd: String =
            passwd.lines().filter(|l| !l.contains(&format!(":{SANDBOX_UID}:"))).map(|l| format!("{l}\n")).collect();
        fs::write(
            ws.etc.join("passwd"),
            format!("{passwd}pkgtrace:x:{SANDBOX_UID}:{SANDBOX_GID}:pkgtrace:{SANDBOX_HOME}:/bin/sh\n"),
        )?;
        let group = fs::read_to_string("/etc/group").unwrap_or_default();
        let group: String =
            group.lines().filter(|l| !l.contains(&format!(":{SANDBOX_GID}:"))).map(|l| format!("{l}\n")).collect();
        fs::write(ws.etc.join("group"), format!("{group}pkgtrace:x:{SANDBOX_GID}:\n"))?;
        Ok(ws)
    }

    /// Keep the workspace on disk (for debugging).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// The last `max` bytes of a file, as text.
pub fn tail(path: &Path, max: usize) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}
