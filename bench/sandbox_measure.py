"""Times `pkgtrace run` phases traced and untraced; see bench/sandbox.sh."""
import json, statistics, subprocess, sys, tempfile

binary, runs, packages = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
cache = tempfile.mkdtemp(prefix="pkgtrace-sandbox-bench-")

def run(pkg, untraced):
    args = [binary, "run", "--format", "json", "--no-store", "--no-baseline", "--cache", cache]
    if untraced:
        args.append("--untraced")
    out = subprocess.run(args + [pkg], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"sandbox-bench: {pkg}: exit {out.returncode}: {out.stderr.strip()[-400:]}")
    report = json.loads(out.stdout)
    return {p["name"]: p.get("run") or {} for p in report["phases"]}

print(f"sandbox-bench: {runs} runs per variant, interleaved, median wall clock per phase")
print(f"{'package':36} {'phase':8} {'untraced ms':>12} {'traced ms':>10} {'overhead':>9} {'setup ms':>9}")
for pkg in packages:
    run(pkg, True)  # warm the staging cache and the page cache
    samples = {}
    for i in range(runs):
        for untraced in ((False, True) if i % 2 == 0 else (True, False)):
            for phase, r in run(pkg, untraced).items():
                s = samples.setdefault(phase, {"t": [], "u": [], "setup": []})
                s["u" if untraced else "t"].append(r.get("wall_ms", 0))
                if not untraced:
                    s["setup"].append(r.get("setup_ms", 0))
    for phase, s in samples.items():
        u, t = statistics.median(s["u"]), statistics.median(s["t"])
        ratio = t / u if u else float("nan")
        print(f"{pkg.split('packages/')[-1]:36} {phase:8} {u:12.0f} {t:10.0f} {ratio:8.2f}x {statistics.median(s['setup']):9.0f}")
print("target: sandbox set-up well under a second (setup ms: fork to the command's first exec, sandbox built)")
