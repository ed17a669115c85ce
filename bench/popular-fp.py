#!/usr/bin/env python3
"""False alarms on popular benign packages (issue "Accuracy").

Runs a list of popular, benign packages with pinned versions through
`pkgtrace run --format json --no-store` (registries reachable, root), one at
a time, with one shared `--cache` so the control runs (baselines) and the
downloads are made once. Prints, per package: each phase's status, the
active findings at medium and above (rule, severity, subject, process chain,
package), the exit code and the wall time; then the totals the issue
measures:

* every phase `completed`;
* no active critical finding;
* no active high finding other than a network contact (a network-contact
  rule) to a host the package really uses (its `hosts` in PACKAGES below).

Each report is kept as `<out>/<slug>.json` (stderr beside it, `.err`), and
the whole table as `<out>/summary.json`. A missed goal is reported, not
fatal; `--strict` exits 1 on one.

    sudo bench/popular-fp.py                          # all packages
    sudo bench/popular-fp.py --only esbuild,pyyaml    # a subset (substring of the spec)
    sudo bench/popular-fp.py --summarize              # re-print from the kept reports

Environment: PKGTRACE (the binary; default: `cargo build -p pkgtrace`, then
a copy of target/debug/pkgtrace, so a rebuild during the run changes
nothing), POPULAR_OUT (default bench-data/popular-fp), POPULAR_CACHE
(default bench-data/popular-fp-cache).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlsplit

# (purl, extra arguments, timeout in seconds, hosts the package really
# contacts at install or first use). A host matches itself and its
# sub-domains.
PACKAGES = [
    # npm: binaries shipped in optional dependencies, native builds,
    # downloads at install.
    ("pkg:npm/esbuild@0.20.2", [], 300, []),
    ("pkg:npm/husky@9.0.11", [], 300, []),
    ("pkg:npm/typescript@5.3.3", [], 300, []),
    ("pkg:npm/lodash@4.17.21", [], 300, []),
    ("pkg:npm/chalk@5.3.0", [], 300, []),
    ("pkg:npm/express@4.18.2", [], 300, []),
    ("pkg:npm/%40swc/core@1.4.2", [], 300, []),
    ("pkg:npm/sharp@0.33.2", [], 300, []),
    # prebuild-install / node-pre-gyp fetch a prebuilt binary from GitHub
    # releases, falling back to node-gyp (which fetches node's headers).
    ("pkg:npm/better-sqlite3@9.4.3", [], 600, ["github.com", "objects.githubusercontent.com", "nodejs.org"]),
    ("pkg:npm/sqlite3@5.1.7", [], 600, ["github.com", "objects.githubusercontent.com", "nodejs.org"]),
    ("pkg:npm/bcrypt@5.1.1", [], 600, ["github.com", "objects.githubusercontent.com", "nodejs.org"]),
    ("pkg:npm/prisma@5.9.1", [], 600, ["binaries.prisma.sh", "checkpoint.prisma.io"]),
    ("pkg:npm/puppeteer@22.0.0", [], 600, ["storage.googleapis.com", "edgedl.me.gvt1.com", "googlechromelabs.github.io"]),
    ("pkg:npm/cypress@13.6.0", [], 900, ["download.cypress.io", "cdn.cypress.io"]),
    ("pkg:npm/electron@28.2.0", [], 900, ["github.com", "objects.githubusercontent.com"]),
    ("pkg:npm/%40sentry/cli@2.28.6", [], 600, ["downloads.sentry-cdn.com", "release-registry.services.sentry.io"]),
    ("pkg:npm/re2@1.20.9", [], 900, ["github.com", "objects.githubusercontent.com", "nodejs.org"]),
    ("pkg:npm/node-sass@9.0.0", [], 900, ["github.com", "objects.githubusercontent.com", "nodejs.org"]),
    ("pkg:npm/bufferutil@4.0.8", [], 300, []),
    ("pkg:npm/core-js@3.36.0", [], 300, []),
    ("pkg:npm/es5-ext@0.10.64", [], 300, []),
    # PyPI: pure Python, wheels with C extensions, sdists built in the sandbox.
    ("pkg:pypi/requests@2.31.0", [], 300, []),
    ("pkg:pypi/six@1.16.0", [], 300, []),
    ("pkg:pypi/numpy@1.26.4", [], 300, []),
    ("pkg:pypi/cryptography@42.0.5", [], 300, []),
    ("pkg:pypi/pillow@10.2.0", [], 300, []),
    ("pkg:pypi/lxml@5.1.0", [], 300, []),
    ("pkg:pypi/psutil@5.9.8", ["--sdist"], 600, []),
    ("pkg:pypi/pyyaml@6.0.1", ["--sdist"], 600, []),
    ("pkg:pypi/simplejson@3.19.2", ["--sdist"], 600, []),
    ("pkg:pypi/markupsafe@2.1.5", ["--sdist"], 600, []),
    ("pkg:pypi/matplotlib@3.8.3", [], 300, []),
    ("pkg:pypi/msgpack@1.0.7", ["--sdist"], 600, []),
    ("pkg:pypi/wrapt@1.16.0", ["--sdist"], 600, []),
    ("pkg:pypi/cffi@1.16.0", ["--sdist"], 600, []),
    # cargo: a proc-macro crate, a build.rs probing rustc, a build.rs with cc.
    ("pkg:cargo/serde@1.0.197", [], 600, []),
    ("pkg:cargo/libc@0.2.153", [], 600, []),
    ("pkg:cargo/ring@0.17.8", [], 900, []),
    ("pkg:cargo/openssl-sys@0.9.101", [], 900, []),
]

# Rules that flag a network contact: for a host the package really uses,
# a finding of these is expected, not a false alarm.
NETWORK_RULES = {"connect-non-registry-host", "dns-lookup"}
NETWORK_RULE_PREFIXES = ("http-",)

RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def is_network_rule(rule):
    return rule in NETWORK_RULES or rule.startswith(NETWORK_RULE_PREFIXES)


def host_of(subject):
    """The host a network finding's subject names (URL, host:port or host)."""
    s = subject.strip().split()[0] if subject.strip() else ""
    if "://" in s:
        return (urlsplit(s).hostname or "").lower()
    if s.startswith("["):
        return s[1 : s.find("]")].lower()
    if s.count(":") == 1:
        s = s.split(":")[0]
    return s.lower()


def host_in(host, hosts):
    return any(host == h or host.endswith("." + h) for h in hosts)


def slug(purl):
    return purl.removeprefix("pkg:").replace("%40", "").replace("/", "_").replace("@", "-")


def active(finding):
    return "suppressed_by" not in finding and not finding.get("baseline")


def judge(report, hosts):
    """Per-package verdict from a report (None: no report)."""
    phases = report.get("phases", []) if report else []
    findings = [(p["name"], f) for p in phases for f in p.get("findings", []) if active(f)]
    loud = [(ph, f) for ph, f in findings if RANK.get(f["severity"], 0) >= RANK["medium"]]
    critical = [(ph, f) for ph, f in loud if f["severity"] == "critical"]
    expected_net = lambda f: is_network_rule(f["rule"]) and host_in(host_of(f.get("subject", "")), hosts)
    high = [(ph, f) for ph, f in loud if f["severity"] == "high" and not expected_net(f)]
    return {
        "phases": [(p["name"], p["status"], p.get("run", {}).get("wall_ms")) for p in phases],
        "completed": bool(phases) and all(p["status"] == "completed" for p in phases),
        "no_critical": bool(phases) and not critical,
        "no_unexpected_high": bool(phases) and not high,
        "loud": loud,
        "unexpected_hosts": sorted(
            {h for h in (host_of(f.get("subject", "")) for _, f in findings if is_network_rule(f["rule"]))
             if h and not host_in(h, hosts)}
        ),
    }


def run_one(pkgtrace, cache, out, purl, extra, timeout):
    name = slug(purl)
    cmd = [pkgtrace, "run", "--format", "json", "--no-store", "--cache", cache, "--timeout", str(timeout), *extra, purl]
    start = time.monotonic()
    with open(os.path.join(out, name + ".json"), "wb") as so, open(os.path.join(out, name + ".err"), "wb") as se:
        # Every phase has its own timeout; allow for both phases, the fetch
        # and the control runs before pkgtrace itself is given up.
        try:
            code = subprocess.run(cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL, timeout=3 * timeout + 600).returncode
        except subprocess.TimeoutExpired:
            code = "killed"
    wall = time.monotonic() - start
    meta = {"purl": purl, "args": extra, "exit": code, "wall_s": round(wall, 1)}
    with open(os.path.join(out, name + ".meta.json"), "w") as f:
        json.dump(meta, f)
    return meta


def load(out, purl):
    name = slug(purl)
    try:
        with open(os.path.join(out, name + ".meta.json")) as f:
            meta = json.load(f)
    except OSError:
        return None, None, ""
    try:
        with open(os.path.join(out, name + ".json")) as f:
            report = json.load(f)
    except (OSError, ValueError):
        report = None
    with open(os.path.join(out, name + ".err"), errors="replace") as f:
        err = f.read()
    return meta, report, err


def print_package(purl, extra, meta, verdict, err):
    flags = " ".join(extra)
    print(f"== {purl} {flags}".rstrip())
    phases = ", ".join(f"{n} {s} ({(ms or 0) / 1000:.1f} s)" for n, s, ms in verdict["phases"]) or "no report"
    print(f"   exit {meta['exit']}, wall {meta['wall_s']:.1f} s; phases: {phases}")
    if not verdict["phases"]:
        tail = [l for l in err.strip().splitlines() if l.strip()][-3:]
        for line in tail:
            print(f"   stderr: {line[:200]}")
    for ph, f in sorted(verdict["loud"], key=lambda x: -RANK.get(x[1]["severity"], 0)):
        subject = f.get("subject", "").replace("\n", " ")
        if len(subject) > 140:
            subject = subject[:137] + "..."
        count = f" (x{f['count']})" if f.get("count", 1) > 1 else ""
        print(f"   {f['severity'].upper():8} [{f['rule']}] {ph}: {subject}{count}")
        print(f"            by {f.get('process', '?')} (package {f.get('package', '-')})")
    if verdict["unexpected_hosts"]:
        print(f"   network contacts to hosts not on its list: {', '.join(verdict['unexpected_hosts'])}")
    verdicts = [("completed", "every phase completed"), ("no_critical", "no critical"), ("no_unexpected_high", "no unexpected high")]
    print("   " + "; ".join(f"{label}: {'yes' if verdict[k] else 'NO'}" for k, label in verdicts))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated substrings of the purls to run")
    ap.add_argument("--summarize", action="store_true", help="print from the kept reports, run nothing")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = ap.parse_args()

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.path.abspath(os.environ.get("POPULAR_OUT", os.path.join(repo, "bench-data/popular-fp")))
    cache = os.path.abspath(os.environ.get("POPULAR_CACHE", os.path.join(repo, "bench-data/popular-fp-cache")))
    os.makedirs(out, exist_ok=True)
    selected = PACKAGES
    if args.only:
        wanted = args.only.split(",")
        selected = [p for p in PACKAGES if any(w in p[0] for w in wanted)]

    if not args.summarize:
        if os.geteuid() != 0:
            sys.exit("popular-fp: pkgtrace run needs root (namespaces, cgroups, ptrace)")
        pkgtrace = os.environ.get("PKGTRACE")
        if not pkgtrace:
            subprocess.run(["cargo", "build", "-p", "pkgtrace"], cwd=repo, check=True)
            pkgtrace = os.path.join(out, "pkgtrace")
            shutil.copy2(os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target")), "debug/pkgtrace"), pkgtrace)
        print(f"popular-fp: {pkgtrace}, cache {cache}, reports in {out}\n", flush=True)
        for purl, extra, timeout, hosts in selected:
            meta = run_one(pkgtrace, cache, out, purl, extra, timeout)
            _, report, err = load(out, purl)
            print_package(purl, extra, meta, judge(report, hosts), err)
            sys.stdout.flush()

    rows = []
    for purl, extra, _, hosts in selected:
        meta, report, err = load(out, purl)
        if meta is None:
            continue
        verdict = judge(report, hosts)
        if args.summarize:
            print_package(purl, extra, meta, verdict, err)
        rows.append({"purl": purl, "args": extra, **meta, **{k: v for k, v in verdict.items() if k != "loud"},
                     "loud": [{"phase": ph, **{k: f.get(k) for k in ("rule", "severity", "subject", "process", "package", "count")}}
                              for ph, f in verdict["loud"]]})
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(rows, f, indent=1)

    n = len(rows)
    if n == 0:
        print("popular-fp: no package ran")
        return 1
    pct = lambda key: 100.0 * sum(1 for r in rows if r[key]) / n
    print(f"{'package':40} {'exit':>5} {'wall s':>7}  completed  no-crit  no-high  loud (medium+)")
    for r in rows:
        yn = lambda k: "yes" if r[k] else "NO"
        print(f"{(r['purl'] + (' --sdist' if '--sdist' in r['args'] else '')):40} {str(r['exit']):>5} {r['wall_s']:7.1f}"
              f"  {yn('completed'):9}  {yn('no_critical'):7}  {yn('no_unexpected_high'):7}  "
              f"{', '.join(sorted({x['rule'] for x in r['loud']})) or '-'}")
    print()
    print(f"packages: {n}")
    print(f"every phase completed:                         {pct('completed'):5.1f}%")
    print(f"no critical:                                   {pct('no_critical'):5.1f}%")
    print(f"no high but network contacts to its own hosts: {pct('no_unexpected_high'):5.1f}%")
    missed = any(not (r["completed"] and r["no_critical"] and r["no_unexpected_high"]) for r in rows)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
