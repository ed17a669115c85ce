#!/usr/bin/env python3
"""Time `grep -c openat LOG` and `pkgtrace analyze --format json LOG` on the
same file in the same run; print medians, throughput, peak RSS and the ratio.

Called by bench/run.sh; can also be run directly:
    bench/measure.py --log bench-data/big.log --lines N [--runs 3]
                     [--pkgtrace 'target/release/pkgtrace'] [--pkgtrace-args 'analyze --format json']

Wall clock is time.perf_counter() around spawn..exit of each command.
Peak RSS: GNU /usr/bin/time -f %M (KiB) when it is present and works, else
os.wait4()'s rusage.ru_maxrss for that child (the same number
getrusage(RUSAGE_CHILDREN) reports, but per run).
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MB = 1000 * 1000          # throughput: MB = 10^6 bytes
MIB = 1024 * 1024         # RSS: MiB
TARGET_RATIO = 5.0        # issue 14: <= 5x grep -c openat
TARGET_MB_S = 300.0       # ... and >= 300 MB/s
TARGET_RSS_MIB = 100.0


def gnu_time():
    path = "/usr/bin/time"
    if os.environ.get("BENCH_NO_GNU_TIME"):  # for testing the fallback
        return None
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return None
    try:
        with tempfile.NamedTemporaryFile("r") as f:
            r = subprocess.run([path, "-f", "%M", "-o", f.name, "true"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0 and f.read().strip().isdigit():
                return path
    except OSError:
        pass
    return None


def run_once(cmd, stdout, timer):
    """Returns (seconds, exit code, peak RSS KiB, stderr text, CPU seconds)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
        argv = [timer, "-f", "%M", "-o", rss.name] + cmd if timer else cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        kib = usage.ru_maxrss
        if timer:
            # GNU time appends "Command exited with non-zero status N" first.
            lines = [l for l in rss.read().split("\n") if l.strip()]
            if lines and lines[-1].strip().isdigit():
                kib = int(lines[-1])
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return secs, p.returncode, kib, err.read().decode(errors="replace"), cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pkgtrace", default="target/release/pkgtrace")
    ap.add_argument("--pkgtrace-args", default="analyze --format json")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--ff-dir", help="the same log split one file per task (`strace -ff`): analyzed too")
    a = ap.parse_args()

    size = os.path.getsize(a.log)
    timer = gnu_time()
    tools = [
        # name, argv, accepted exit codes, keep stdout
        ("grep -c openat", ["grep", "-c", "openat", a.log], {0, 1}, True),
        ("pkgtrace analyze",
         shlex.split(a.pkgtrace) + shlex.split(a.pkgtrace_args) + [a.log],
         {0, 1}, False),  # pkgtrace: 1 = findings, 2 = error
    ]
    if a.ff_dir:
        nfiles = len(os.listdir(a.ff_dir))
        tools.append((f"pkgtrace -ff dir", shlex.split(a.pkgtrace) + shlex.split(a.pkgtrace_args) + [a.ff_dir],
                      {0, 1}, False))
    exe = shutil.which(tools[1][1][0]) or tools[1][1][0]
    print(f"log: {a.log}  {size / MB:.1f} MB  {a.lines} lines")
    print(f"pkgtrace: {shlex.join(tools[1][1][:-1])} LOG  ({exe})")
    print(f"peak RSS via: {timer + ' -f %M' if timer else 'os.wait4 rusage (no GNU /usr/bin/time)'}")
    print(f"runs: {a.runs} each, interleaved, median wall clock")

    # Sanity check on a ~1 MB prefix (whole lines), stdout captured: a stub
    # that exits at once would otherwise "win" the bench.  Warnings only.
    with open(a.log, "rb") as f:
        head = f.read(1 << 20)
    head = head[: head.rfind(b"\n") + 1] or head
    with tempfile.NamedTemporaryFile(suffix=".log") as sample:
        sample.write(head)
        sample.flush()
        cmd = tools[1][1][:-1] + [sample.name]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True)
    if r.returncode not in tools[1][2]:
        sys.stderr.write(f"bench: `{shlex.join(cmd)}` exited {r.returncode}\n"
                         f"{r.stderr.decode(errors='replace')[-4000:]}\n")
        return 2
    note = ""
    if not r.stdout.strip():
        note = "  WARNING: no output -- is `analyze` implemented?"
    else:
        try:
            json.loads(r.stdout)
        except ValueError:
            try:  # JSON Lines is fine too
                for line in r.stdout.splitlines():
                    if line.strip():
                        json.loads(line)
            except ValueError:
                note = "  WARNING: output is not JSON (neither one document nor JSON lines)"
    print(f"sample check (first {len(head) / MB:.1f} MB): exit {r.returncode}, "
          f"{len(r.stdout)} bytes of output{note}")

    times = {t[0]: [] for t in tools}
    cpus = {t[0]: [] for t in tools}
    rss = {t[0]: 0 for t in tools}
    grep_count = None
    for i in range(a.runs):
        for name, cmd, ok, keep in tools:
            with tempfile.TemporaryFile() as out:
                secs, rc, kib, err, cpu = run_once(cmd, out if keep else subprocess.DEVNULL, timer)
                if rc not in ok:
                    sys.stderr.write(f"bench: `{shlex.join(cmd)}` exited {rc}\n{err[-4000:]}\n")
                    return 2
                if keep:
                    out.seek(0)
                    grep_count = out.read().decode().strip()
            times[name].append(secs)
            cpus[name].append(cpu)
            rss[name] = max(rss[name], kib)
            print(f"  run {i + 1}: {name:<17} {secs:8.3f} s  exit {rc}  rss {kib / 1024:.1f} MiB",
                  flush=True)

    print(f"(grep counted {grep_count} lines containing 'openat')")
    print()
    rows = []
    hdr = f"{'tool':<18} {'median s':>9} {'MB/s':>9} {'lines/s':>12} {'peak RSS MiB':>13} {'cores':>6}"
    print(hdr)
    print("-" * len(hdr))
    res = {}
    for name, *_ in tools:
        med = statistics.median(times[name])
        # Cores busy on average: CPU time over wall clock, run by run.
        cores = statistics.median(c / t for c, t in zip(cpus[name], times[name]))
        r = {"median_s": med, "runs_s": times[name], "mb_per_s": size / MB / med,
             "lines_per_s": a.lines / med, "peak_rss_mib": rss[name] / 1024, "cores": cores}
        res[name] = r
        print(f"{name:<18} {med:9.3f} {r['mb_per_s']:9.1f} {r['lines_per_s']:12,.0f} "
              f"{r['peak_rss_mib']:13.1f} {cores:6.2f}")
    g, p = res[tools[0][0]], res[tools[1][0]]
    ratio = p["median_s"] / g["median_s"]
    print()
    print(f"ratio pkgtrace/grep (time): {ratio:.2f}x")
    ok_ratio = ratio <= TARGET_RATIO
    ok_rss = p["peak_rss_mib"] <= TARGET_RSS_MIB
    ok_mbs = p["mb_per_s"] >= TARGET_MB_S
    print(f"target: ≥ {TARGET_MB_S:g} MB/s (got {p['mb_per_s']:.1f}) {'OK' if ok_mbs else 'MISSED'}")
    print(f"target: ratio ≤ {TARGET_RATIO:g} (got {ratio:.2f}) {'OK' if ok_ratio else 'MISSED'}")
    print(f"target: peak RSS ≤ {TARGET_RSS_MIB:g} MB (got {p['peak_rss_mib']:.1f}) "
          f"{'OK' if ok_rss else 'MISSED'}")
    ok_ff = True
    if a.ff_dir:
        f = res[tools[2][0]]
        ff_ratio = f["median_s"] / g["median_s"]
        ok_ff = f["mb_per_s"] >= TARGET_MB_S and ff_ratio <= TARGET_RATIO and f["peak_rss_mib"] <= TARGET_RSS_MIB
        print(f"several files (the log as {nfiles} `-ff` files, {a.ff_dir}): {f['mb_per_s']:.1f} MB/s, "
              f"{ff_ratio:.2f}x grep on the one file, peak RSS {f['peak_rss_mib']:.1f} MiB, "
              f"{f['cores']:.2f} cores busy: {'OK' if ok_ff else 'MISSED'}")
    if note:
        print(f"sample check:{note}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"log": a.log, "bytes": size, "lines": a.lines, "runs": a.runs,
                       "grep_openat_count": grep_count, "tools": res, "ratio": ratio,
                       "target_ratio_ok": ok_ratio, "target_rss_ok": ok_rss}, f, indent=2)
    if a.strict and not (ok_ratio and ok_rss and ok_mbs and ok_ff):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
