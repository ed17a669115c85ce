//! Canary credentials: fake secrets planted in the sandbox's HOME and
//! environment, each value unique to the run, so that seeing one leave (in a
//! DNS name, a payload, or bytes a sink captured) proves exfiltration and
//! names what leaked.

use std::fs;
use std::io;
use std::path::Path;

/// One planted secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Canary {
    /// What it imitates, e.g. `npm token (~/.npmrc)`.
    pub name: String,
    pub value: String,
}

/// A fresh set of canaries with random values.
pub fn generate() -> Vec<Canary> {
    let mut seed = [0u8; 6];
    if fs::File::open("/dev/urandom").and_then(|mut f| io::Read::read_exact(&mut f, &mut seed)).is_err() {
        // No randomness: fall back to the clock (uniqueness per run is what matters).
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        seed.copy_from_slice(&t.to_le_bytes()[..6]);
    }
    let run: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let mk = |name: &str, kind: &str| Canary { name: name.to_string(), value: format!("CANARY-{kind}-{run}") };
    vec![
        mk("npm token (~/.npmrc)", "npm"),
        mk("PyPI password (~/.pypirc)", "pypi"),
        mk("SSH private key (~/.ssh/id_rsa)", "ssh"),
        mk("AWS secret key (~/.aws/credentials)", "aws"),
        mk("Docker registry auth (~/.docker/config.json)", "docker"),
        mk("git credentials (~/.git-credentials)", "git"),
        mk("netrc password (~/.netrc)", "netrc"),
        mk("AWS_SECRET_ACCESS_KEY (environment)", "envaws"),
        mk("GITHUB_TOKEN (environment)", "envgh"),
        mk("NPM_TOKEN (environment)", "envnpm"),
    ]
}

fn value<'a>(canaries: &'a [Canary], kind: &str) -> &'a str {
    canaries.iter().find(|c| c.value.contains(&format!("-{kind}-"))).map(|c| c.value.as_str()).unwrap_or("")
}

/// Writes the credential files into `home`.
pub fn plant(home: &Path, canaries: &[Canary]) -> io::Result<()> {
    let write = |rel: &str, text: String| -> io::Result<()> {
        let p = home.join(rel);
        if let Some(dir) = p.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(p, text)
    };
    write(".npmrc", format!("//registry.npmjs.org/:_authToken={}\n", value(canaries, "npm")))?;
    write(
        ".pypirc",
        format!(
            "[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = {}\n",
            value(canaries, "pypi")
        ),
    )?;
    write(
        ".ssh/id_rsa",
        format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n", value(canaries, "ssh")),
    )?;
    write(
        ".aws/credentials",
        format!(
            "[default]\naws_access_key_id = AKIAPKGTRACECANARY00\naws_secret_access_key = {}\n",
            value(canaries, "aws")
        ),
    )?;
    let docker_auth = event::bytes::base64(format!("pkgtrace:{}", value(canaries, "docker")).as_bytes());
    write(
        ".docker/config.json",
        format!("{{\"auths\":{{\"https://index.docker.io/v1/\":{{\"auth\":\"{docker_auth}\"}}}}}}\n"),
    )?;
    write(".git-credentials", format!("https://pkgtrace:{}@github.com\n", value(canaries, "git")))?;
    write(".netrc", format!("machine github.com login pkgtrace password {}\n", value(canaries, "netrc")))?;
    Ok(())
}

/// The environment variables holding canaries.
pub fn env(canaries: &[Canary]) -> Vec<(String, String)> {
    vec![
        ("AWS_SECRET_ACCESS_KEY".into(), value(canaries, "envaws").into()),
        ("GITHUB_TOKEN".into(), value(canaries, "envgh").into()),
        ("NPM_TOKEN".into(), value(canaries, "envnpm").into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_per_run_and_planted() {
        let a = generate();
        let b = generate();
        assert_ne!(a[0].value, b[0].value);
        let dir = tempfile::tempdir().unwrap();
        plant(dir.path(), &a).unwrap();
        let npmrc = fs::read_to_string(dir.path().join(".npmrc")).unwrap();
        assert!(npmrc.contains(&a[0].value));
    }
}
