#!/usr/bin/python3
"""Credential and secret reads (hits) next to harmless reads (near misses).
Every attempt is try/except: a failed attempt (ENOENT/EACCES) still counts."""
import os

H = os.path.expanduser("~")

def attempt(path, listdir=False):
    try:
        if listdir:
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(256)
    except OSError:
        pass

# --- hits ---------------------------------------------------------------
attempt(H + "/.ssh/id_rsa")                       # SSH private key (exists)
attempt(H + "/.ssh/id_ed25519")                   # SSH private key (ENOENT)
attempt(H + "/.ssh/ssh_host_rsa_key")             # *_key (ENOENT)
attempt(H + "/.npmrc")                            # registry token
attempt(H + "/.yarnrc.yml")                       # ENOENT
attempt(H + "/.pypirc")                           # registry token
attempt(H + "/.config/pip/pip.conf")              # ENOENT
attempt(H + "/.cargo/credentials.toml")           # ENOENT
attempt(H + "/.aws/credentials")                  # cloud
attempt(H + "/.aws/config")                       # cloud (ENOENT)
attempt(H + "/.config/gcloud/application_default_credentials.json")
attempt(H + "/.azure/accessTokens.json")
attempt(H + "/.kube/config")
attempt(H + "/.docker/config.json")               # dev tools
attempt(H + "/.git-credentials")
attempt(H + "/.config/gh/hosts.yml")
attempt(H + "/.netrc")                            # exists
attempt(H + "/.mozilla/firefox", listdir=True)    # browser profile discovery
attempt(H + "/.mozilla/firefox/x1y2z3.default-release/key4.db")   # exists
attempt(H + "/.mozilla/firefox/x1y2z3.default-release/logins.json")
attempt(H + "/.mozilla/firefox/x1y2z3.default-release/cookies.sqlite")
attempt(H + "/.config/google-chrome/Default/Login Data")
attempt(H + "/.config/BraveSoftware/Brave-Browser/Default/Cookies")
attempt(H + "/.config/solana/id.json")            # wallets
attempt(H + "/.electrum/wallets/default_wallet")
attempt(H + "/.ethereum/keystore", listdir=True)
attempt("/etc/shadow")                            # EACCES (not root)
attempt("/etc/gshadow")
attempt("/etc/sudoers")
attempt(H + "/other-app/.env")                    # .env outside the package
attempt("../.env")                                # relative: /home/pkgtrace/.env

# --- near misses ----------------------------------------------------------
attempt(H + "/.ssh/known_hosts")                  # other ~/.ssh/* -> only the LOW rule
attempt("/etc/passwd")                            # not /etc/shadow
attempt(H + "/project/.npmrc")                    # the package's own .npmrc
attempt(".env")                                   # the package's own .env
attempt(H + "/.bashrc")                           # reading (not writing) an rc file
attempt(H + "/.config/pkgtrace-demo/settings.json")  # unrelated config, ENOENT
