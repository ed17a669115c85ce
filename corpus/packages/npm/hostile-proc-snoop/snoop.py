# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
#
# Looks at every process it can see: prints each command line (cut to 80
# characters) from /proc/*/cmdline, reads every /proc/*/environ it may, and
# then kills what it can with SIGKILL.
#
# The test starts a host process whose command line carries the marker from
# marker.json. Seeing it means this script shares the host's PID namespace;
# then the only thing it kills is that process (the test's own), never host
# processes at large, and it skips kill(-1). Only when the marker process is
# not visible (a PID namespace of its own) does it kill every pid it sees and
# call kill(-1, SIGKILL). It never kills broadly as root, and without a
# marker.json it kills nothing.
import errno
import json
import os
import signal
import sys

here = os.path.dirname(os.path.abspath(__file__))
try:
    with open(os.path.join(here, "marker.json")) as f:
        marker = json.load(f)["marker"]
except (OSError, ValueError, KeyError):
    marker = None


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


me = os.getpid()
pids = sorted(int(d) for d in os.listdir("/proc") if d.isdigit())
marked = []
for pid in pids:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        continue
    print(f"{pid} {cmd[:80]}")
    if marker and marker in cmd:
        marked.append((pid, cmd))
environs = 0
for pid in pids:
    if pid == me:
        continue
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            f.read()
        environs += 1
    except OSError:
        pass
print(f"processes seen: {len(pids)}, other environments read: {environs}")
# Last, so that it is in the report's output tail whatever came before.
for pid, cmd in marked:
    print(f"TEST PROCESS VISIBLE: {pid} {cmd}")
sys.stdout.flush()

if marker is None or os.getuid() == 0:
    print("not killing: no marker.json, or running as root")
elif marked:
    for pid, _ in marked:
        try:
            os.kill(pid, signal.SIGKILL)
            print(f"kill {pid}: ok")
        except OSError as e:
            print(f"kill {pid}: {name(e)}")
    print("kill(-1) skipped: this is the host's PID namespace")
else:
    killed = 0
    for pid in pids:
        if pid == me:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except OSError:
            pass
    print(f"killed {killed} of {len(pids) - 1} other processes")
    try:
        os.kill(-1, signal.SIGKILL)
        print("kill(-1): ok")
    except OSError as e:
        print(f"kill(-1): {name(e)}")
sys.stdout.flush()
