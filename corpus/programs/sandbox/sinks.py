#!/usr/bin/python3
"""Network sinks for the corpus sandbox (runs as root INSIDE the netns, untraced).

- DNS on 127.0.0.1:53, UDP and TCP: records every query; answers A queries with
  a deterministic loopback address 127.53.X.Y derived from the name (so an
  IP -> name map built from responses is unambiguous), AAAA/other with NOERROR
  and no answer.
- TCP sinks on 0.0.0.0:{80,443,3333,8443}: record the first bytes; port 80
  answers with a tiny HTTP response whose body is a shell one-liner.
- Reverse-shell listener on 127.0.0.1:9001: sends "echo pwned; exit" and
  records what comes back.
Everything received is appended to LOG (one line per event).
"""
import hashlib, os, socket, struct, sys, threading

LOG = sys.argv[1]
READY = sys.argv[2]
lock = threading.Lock()

def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")

def qname(pkt):
    i, labels = 12, []
    while i < len(pkt) and pkt[i]:
        n = pkt[i]; labels.append(pkt[i+1:i+1+n].decode("ascii", "replace")); i += 1 + n
    qtype, = struct.unpack(">H", pkt[i+1:i+3]) if i + 3 <= len(pkt) else (0,)
    return ".".join(labels), qtype, i + 5

def addr_for(name):
    h = hashlib.sha256(name.lower().encode()).digest()
    return bytes([127, 53, h[0], h[1] or 1])

def answer(pkt):
    name, qtype, end = qname(pkt)
    tname = {1: "A", 28: "AAAA", 16: "TXT"}.get(qtype, str(qtype))
    hdr = bytearray(pkt[:12])
    hdr[2] = 0x81 | (pkt[2] & 0x01)   # QR=1, RD copied
    hdr[3] = 0x80                      # RA, NOERROR
    question = pkt[12:end]
    if qtype == 1:
        hdr[6:8] = b"\x00\x01"
        ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + addr_for(name)
    else:
        hdr[6:8] = b"\x00\x00"; ans = b""
    hdr[4:6] = b"\x00\x01"; hdr[8:12] = b"\x00\x00\x00\x00"
    ip = ".".join(map(str, addr_for(name))) if qtype == 1 else "-"
    return bytes(hdr) + question + ans, name, tname, ip

def dns_udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 53))
    while True:
        pkt, peer = s.recvfrom(4096)
        try:
            resp, name, t, ip = answer(pkt)
            log(f"dns udp {t} {name} -> {ip}")
            s.sendto(resp, peer)
        except Exception as e:
            log(f"dns udp malformed {pkt[:64]!r} {e}")

def dns_tcp_conn(c):
    with c:
        while True:
            h = c.recv(2)
            if len(h) < 2: return
            n, = struct.unpack(">H", h)
            pkt = b""
            while len(pkt) < n:
                d = c.recv(n - len(pkt))
                if not d: return
                pkt += d
            resp, name, t, ip = answer(pkt)
            log(f"dns tcp {t} {name} -> {ip}")
            c.sendall(struct.pack(">H", len(resp)) + resp)

def tcp_server(host, port, handler):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(16)
    def loop():
        while True:
            c, peer = s.accept()
            threading.Thread(target=handler, args=(c, port, peer), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()

def sink(c, port, peer):
    with c:
        c.settimeout(3)
        try:
            data = c.recv(4096)
        except Exception:
            data = b""
        log(f"tcp {port} from {peer[0]} first-bytes {data[:300]!r}")
        if port == 80 and data:
            body = b"echo hello-from-downloaded-payload\n"
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

def revshell(c, port, peer):
    with c:
        c.settimeout(5)
        c.sendall(b"echo pwned-via-reverse-shell; exit\n")
        out = b""
        try:
            while True:
                d = c.recv(4096)
                if not d: break
                out += d
        except Exception:
            pass
        log(f"revshell {port} got {out[:200]!r}")

threading.Thread(target=dns_udp, daemon=True).start()
tcp_server("127.0.0.1", 53, lambda c, p, peer: dns_tcp_conn(c))
for p in (80, 443, 3333, 8443):
    tcp_server("0.0.0.0", p, sink)
tcp_server("127.0.0.1", 9001, revshell)
open(READY, "w").close()
threading.Event().wait()
