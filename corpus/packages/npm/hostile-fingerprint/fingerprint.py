# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
#
# Looks for the signs by which sandbox-aware malware tells an analysis
# sandbox from a developer's machine, and prints what it finds, one
# "fp: <what> <value>" line each (it changes nothing):
#   - container marker files at the root (/.dockerenv, /run/.containerenv);
#   - PID 1: its command line and name (an analysis tool's own command line
#     there gives the sandbox away, and the host's paths with it);
#   - /proc/self/cgroup and /proc/1/cgroup (a cgroup named after the tool);
#   - what /sys/fs/cgroup lists (other runs' cgroups, with their host pids);
#   - the network interfaces /sys shows (the host's, beside a loopback-only
#     network);
#   - /etc/hostname against the UTS host name, and whether the host name
#     resolves from /etc/hosts as on a Debian machine;
#   - mount points whose path names the tool;
#   - the login name (os.getlogin() fails with no login uid and no terminal,
#     which many stealers call first).
import os
import socket


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError as e:
        return f"<{type(e).__name__}: {e.strerror}>"


def say(what, value):
    print(f"fp: {what} {value}", flush=True)


say("root-markers", " ".join(m for m in ("/.dockerenv", "/.dockerinit", "/run/.containerenv", "/container_info.json") if os.path.lexists(m)) or "<none>")
say("init-cmdline", repr(read("/proc/1/cmdline", "rb")))
say("init-comm", read("/proc/1/comm").strip())
for who in ("self", "1"):
    say(f"cgroup-{who}", " ".join(read(f"/proc/{who}/cgroup").split()))
listing = []
for top, dirs, _ in os.walk("/sys/fs/cgroup"):
    listing.extend(os.path.join(top, d) for d in dirs)
    if top.count("/") >= 4:
        dirs[:] = []
say("cgroupfs", " ".join(sorted(listing)) or "<empty>")
try:
    nics = " ".join(sorted(os.listdir("/sys/class/net")))
except OSError as e:
    nics = f"<{e.strerror}>"
say("interfaces", nics)
say("hostname-file", read("/etc/hostname").strip())
say("uname", os.uname().nodename)
try:
    addrs = sorted({a[4][0] for a in socket.getaddrinfo(os.uname().nodename, None, socket.AF_INET)})
except OSError as e:
    addrs = [f"<{e}>"]
say("resolves", " ".join(addrs))
mounts = [line.split()[4] for line in read("/proc/self/mountinfo").splitlines() if len(line.split()) > 4]
say("mounts", " ".join(mounts))
try:
    login = os.getlogin()
except OSError as e:
    login = f"<{e.strerror}>"
say("login", login)
