//! The host side of a sandbox: a directory holding everything the run may
//! write — the sandbox's HOME (with the canary credentials and a copy of
//! the package's work dir), its `/tmp`, `/var/tmp` and `/dev/shm` — and the
//! files shown over `/etc` inside. The directory is a tmpfs of `--disk`
//! bytes, mounted in pkgtrace's private mount namespace: a package that
//! fills the disk fills that, and it is gone when the run ends (or when
//! pkgtrace dies). It lives outside the sandbox's view except for what is
//! bound in.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::identity::Identity;
use crate::namespaces as sandbox;

use crate::canaries::{self, Canary};

/// Where distributions keep the system's CA bundle (Debian and Ubuntu,
/// Fedora and RHEL, Alpine and others, SUSE).
const SYSTEM_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// The variables by which runtimes and tools that carry their own CA list
/// take another: Node (added to its own), OpenSSL-based clients (Python's
/// ssl, Ruby, Go's crypto/x509), requests, pip, curl, git.
const CA_VARIABLES: [&str; 7] = [
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "PIP_CERT",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "CARGO_HTTP_CAINFO",
];

pub struct Workspace {
    pub root: PathBuf,
    pub home: PathBuf,
    pub etc: PathBuf,
    /// Host directories bound writable inside, with their paths there.
    pub writable: Vec<(PathBuf, String)>,
    /// The run's uid and gid (the same number).
    pub uid: u32,
    /// Who the sandbox says it is (user, HOME, host name), new per run.
    pub identity: Identity,
    /// The run's host name (the identity's).
    pub hostname: String,
    /// Files of the workspace shown read-only over a path inside (beside
    /// the `/etc` files): the CA bundle.
    pub shown: Vec<(PathBuf, PathBuf)>,
    mounted: bool,
    keep: bool,
}

impl Workspace {
    /// Prepares a workspace of at most `disk` bytes with `workdir` copied
    /// in as the project, owned by `uid`. pkgtrace must be in its private
    /// mount namespace ([`sandbox::private_mount_namespace`]).
    pub fn create(workdir: &Path, canaries: &[Canary], uid: u32, disk: u64) -> io::Result<Workspace> {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let root = std::env::temp_dir().join(format!("pkgtrace-run-{}-{stamp}", std::process::id()));
        fs::create_dir_all(&root)?;
        let mut ws = Workspace {
            home: root.join("home"),
            etc: root.join("etc"),
            writable: Vec::new(),
            root,
            uid,
            hostname: String::new(),
            identity: Identity::generate(),
            shown: Vec::new(),
            mounted: false,
            keep: false,
        };
        sandbox::mount_tmpfs(&ws.root, disk)
            .map_err(|e| io::Error::other(format!("failed to mount the workspace's tmpfs: {e}")))?;
        ws.mounted = true;
        fs::create_dir_all(&ws.home)?;
        fs::create_dir_all(&ws.etc)?;
        canaries::plant(&ws.home, canaries)?;
        let project = ws.home.join("project");
        fs::create_dir_all(&project)?;
        // cp -a keeps symlinks (node_modules/.bin) and modes.
        let st = Command::new("cp").arg("-a").arg(format!("{}/.", workdir.display())).arg(&project).status()?;
        if !st.success() {
            return Err(io::Error::other(format!(
                "failed to copy {} into the sandbox (larger than --disk?)",
                workdir.display()
            )));
        }
        let st = Command::new("chown").args(["-R", &format!("{uid}:{uid}")]).arg(&ws.home).status()?;
        if !st.success() {
            return Err(io::Error::other("failed to hand the sandbox's HOME to the sandbox user"));
        }
        ws.hostname = ws.identity.hostname.clone();
        ws.writable.push((ws.home.clone(), ws.identity.home.clone()));
        for (dir, inside) in [("tmp", "/tmp"), ("var-tmp", "/var/tmp"), ("shm", "/dev/shm")] {
            let host = ws.root.join(dir);
            fs::create_dir(&host)?;
            fs::set_permissions(&host, fs::Permissions::from_mode(0o1777))?;
            ws.writable.push((host, inside.to_string()));
        }
        // Everything the sandbox user needs from /etc, and a resolver that
        // is the DNS sink.
        fs::write(ws.etc.join("resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")?;
        // As Debian writes them: the machine's own name resolves from
        // /etc/hosts (no lookup of it reaches the DNS sink), and
        // /etc/hostname agrees with the UTS name.
        let id = &ws.identity;
        fs::write(
            ws.etc.join("hosts"),
            format!(
                "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
                id.hostname
            ),
        )?;
        fs::write(ws.etc.join("hostname"), format!("{}\n", id.hostname))?;
        let name = format!("{}:", id.user);
        let mine = |l: &str| l.split(':').nth(2) == Some(&uid.to_string()) || l.starts_with(&name);
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        let passwd: String = passwd.lines().filter(|l| !mine(l)).map(|l| format!("{l}\n")).collect();
        let shell = if Path::new("/bin/bash").exists() { "/bin/bash" } else { "/bin/sh" };
        let entry = format!("{}:x:{uid}:{uid}:{},,,:{}:{shell}\n", id.user, id.full_name, id.home);
        fs::write(ws.etc.join("passwd"), format!("{passwd}{entry}"))?;
        let group = fs::read_to_string("/etc/group").unwrap_or_default();
        let group: String = group.lines().filter(|l| !mine(l)).map(|l| format!("{l}\n")).collect();
        fs::write(ws.etc.join("group"), format!("{group}{}:x:{uid}:\n", id.user))?;
        Ok(ws)
    }

    /// The package's directory inside: `<HOME>/project`.
    pub fn project(&self) -> String {
        format!("{}/project", self.identity.home)
    }

    /// The files shown read-only inside: each workspace file and the path
    /// it covers.
    pub fn etc_files(&self) -> Vec<(PathBuf, PathBuf)> {
        // /etc/hostname only over a host file: the tree is read-only, no
        // mount point can be made for it.
        let hostname = Path::new("/etc/hostname").is_file().then_some("hostname");
        let etc = ["resolv.conf", "passwd", "group", "hosts"]
            .into_iter()
            .chain(hostname)
            .map(|f| (self.etc.join(f), Path::new("/etc").join(f)));
        etc.chain(self.shown.iter().cloned()).collect()
    }

    /// Makes the sandbox trust `ca_pem` (the run's CA, a certificate only:
    /// its key never leaves pkgtrace's memory): the system's CA bundle is
    /// shown inside with the CA added, at every path where a distribution
    /// keeps it; the returned variables point each runtime that does not
    /// read the system bundle (Node, pip, requests, ...) at it too.
    pub fn trust(&mut self, ca_pem: &str) -> io::Result<Vec<(String, String)>> {
        let existing: Vec<&str> = SYSTEM_BUNDLES.iter().copied().filter(|p| Path::new(p).is_file()).collect();
        let system = existing.first().map(fs::read_to_string).transpose()?.unwrap_or_default();
        let bundle = self.etc.join("ca-certificates.crt");
        let mut text = system;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(ca_pem);
        fs::write(&bundle, text)?;
        fs::set_permissions(&bundle, fs::Permissions::from_mode(0o644))?;
        let inside = match existing.first() {
            Some(path) => {
                for path in &existing {
                    self.shown.push((bundle.clone(), PathBuf::from(path)));
                }
                (*path).to_string()
            }
            // No bundle on this host to cover: the runtimes' variables
            // point at a copy in HOME.
            None => {
                let dir = self.home.join(".config");
                fs::create_dir_all(&dir)?;
                fs::copy(&bundle, dir.join("ca-certificates.crt"))?;
                format!("{}/.config/ca-certificates.crt", self.identity.home)
            }
        };
        Ok(CA_VARIABLES.iter().map(|v| (v.to_string(), inside.clone())).collect())
    }

    /// Keep the workspace on disk (for debugging): its contents are copied
    /// out of the tmpfs when the run ends.
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if self.keep && self.mounted {
            let kept = self.root.with_extension("kept");
            let _ = Command::new("cp").arg("-a").arg(&self.root).arg(&kept).status();
            eprintln!("pkgtrace: sandbox workspace kept at {}", kept.display());
        }
        if self.mounted {
            let _ = sandbox::unmount(&self.root);
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}
