#!/usr/bin/env python3
"""The results repository benchmark (bench/results.sh).

1. Query: synthesises stored reports holding --findings findings in all
   (50 per version, with DNS names, connections, commands and files), builds
   the index with `pkgtrace index --rebuild`, and times a few queries
   (median of 5 runs each, process spawn included).
2. Reanalyze: makes --versions stored versions from the corpus log of a real
   npm install (`pkgtrace parse`, `pkgtrace analyze`), and times
   `pkgtrace reanalyze` over them: versions re-evaluated per second.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RULES = ["read-registry-token", "dns-lookup", "connect-non-registry-host", "read-ssh-private-key", "exec-shell"]
SEVERITIES = ["info", "low", "medium", "high", "critical"]
PER_VERSION = 50


def git(repo, *args):
    subprocess.run(["git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args],
                   check=True, stdout=subprocess.DEVNULL)


def report(eco, name, version, n, seed):
    findings = [{
        "rule": RULES[(seed + i) % len(RULES)], "severity": SEVERITIES[(seed + i) % 5],
        "message": "m", "subject": f"$HOME/.f{i}", "pid": 1, "process": "npm → sh → node x.js",
        "evidence": {"syscall": "openat"}, "count": 1} for i in range(n)]
    behaviour = {
        "files": [{"path": f"$HOME/.f{i}", "read": True, "write": i % 7 == 0, "delete": False, "exec": False,
                   "failed": False} for i in range(10)],
        "project_files": 3,
        "commands": [{"argv": ["node", f"x{i}.js"], "exe": "/usr/bin/node", "pid": 2, "parent": 1, "chain": "npm → sh"}
                     for i in range(3)],
        "connections": [{"family": "inet", "address": f"10.0.{seed % 250}.{i}", "port": 443, "host": f"h{seed}.example",
                         "transport": "tcp", "result": "ok", "pid": 2} for i in range(2)],
        "dns": [{"name": f"n{seed}-{i}.example", "type": "A", "server": "10.0.0.1", "pid": 2} for i in range(3)],
    }
    phases = [{"name": "install", "status": "completed", "findings": findings, "behaviour": behaviour},
              {"name": "start", "status": "completed", "findings": [],
               "behaviour": {**behaviour, "dns": [{"name": f"beacon{seed}.example", "type": "A", "server": "x", "pid": 3}]}}]
    return {"schema_version": 1,
            "package": {"purl": f"pkg:{eco}/{name}@{version}", "ecosystem": eco, "name": name, "version": version},
            "phases": phases, "stats": {"lines": 0, "events": 0, "unparsed": 0, "processes": 0}}


def timed(cmd, runs=5):
    times = []
    out = None
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def bench_query(pkgtrace, findings, work):
    repo = os.path.join(work, "query-repo")
    os.makedirs(repo)
    git(repo, "init", "-q")
    versions = max(1, findings // PER_VERSION)
    for v in range(versions):
        eco = ["npm", "pypi", "cargo"][v % 3]
        d = os.path.join(repo, eco, f"pkg{v}", "1.0.0")
        os.makedirs(d)
        with open(os.path.join(d, "report.json"), "w") as f:
            json.dump(report(eco, f"pkg{v}", "1.0.0", PER_VERSION, v), f)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "synthetic")
    t, _ = timed([pkgtrace, "index", "--rebuild", "--results", repo], runs=1)
    print(f"index --rebuild: {versions} versions, {versions * PER_VERSION} findings in {t:.2f} s", flush=True)
    for q in (["--rule", "read-ssh-private-key", "--severity", "high"],
              ["--phase", "start", "--dns", "*"],
              ["--file", "$HOME/.f3", "--write"],
              ["--connects", "h777.example:443"],
              ["--sql", "SELECT rule, count(*) FROM findings GROUP BY rule"]):
        t, out = timed([pkgtrace, "query", "--format", "csv", "--results", repo, *q])
        rows = max(0, len(out.stdout.splitlines()) - 1)
        print(f"query {' '.join(q)}: {rows} rows in {t * 1000:.0f} ms", flush=True)


def bench_reanalyze(pkgtrace, versions, work):
    log = "corpus/strace/npm/install-local-tgz.log.zst"
    home, cwd = "/home/pkgtrace", "/home/pkgtrace/project"
    opts = ["--home", home, "--cwd", cwd]
    events = subprocess.run([pkgtrace, "parse", log], check=True, capture_output=True).stdout
    analyzed = subprocess.run([pkgtrace, "analyze", "--format", "json", *opts, log], capture_output=True)
    base = json.loads(analyzed.stdout)
    stream = subprocess.run(["zstd", "-q", "-c"], input=b'{"phase":"install"}\n' + events,
                            check=True, capture_output=True).stdout
    repo = os.path.join(work, "reanalyze-repo")
    os.makedirs(repo)
    git(repo, "init", "-q")
    for v in range(versions):
        d = os.path.join(repo, "npm", f"pkg{v}", "1.0.0")
        os.makedirs(d)
        r = dict(base)
        r["package"] = {"purl": f"pkg:npm/pkg{v}@1.0.0", "ecosystem": "npm", "name": f"pkg{v}", "version": "1.0.0"}
        with open(os.path.join(d, "report.json"), "w") as f:
            json.dump(r, f)
        with open(os.path.join(d, "events.jsonl.zst"), "wb") as f:
            f.write(stream)
        meta = {"pkgtrace_version": "bench", "rule_pack": "bench", "stored_at": "2026-01-01T00:00:00Z", "wall_ms": {},
                "context": {"ecosystem": "npm", "user": "pkgtrace", "home": home, "project": cwd,
                            "hostname": "pkgtrace", "canaries": []}}
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "synthetic")
    t = time.perf_counter()
    subprocess.run([pkgtrace, "reanalyze", "--results", repo], check=True, stdout=subprocess.DEVNULL)
    t = time.perf_counter() - t
    lines = len(events.splitlines())
    print(f"reanalyze: {versions} versions ({lines} events each, {len(stream) // 1024} KiB compressed) "
          f"in {t:.2f} s: {versions / t:.1f} versions/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pkgtrace", required=True)
    ap.add_argument("--findings", type=int, default=100000)
    ap.add_argument("--versions", type=int, default=40)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pkgtrace-results-bench-")
    try:
        bench_query(a.pkgtrace, a.findings, work)
        bench_reanalyze(a.pkgtrace, a.versions, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
