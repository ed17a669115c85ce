#!/usr/bin/env bash
# Build bench-data/big.log: a large strace log for `make bench`.
#
# How the log is made
#   Every part below is a REAL workload recorded ONCE with the real strace:
#       strace -f -tt -T -y -yy -s 256 -o bench-data/parts/NAME.log CMD...
#   Parts are cached in bench-data/parts/; a part is only recorded again if its
#   file is missing or empty.  big.log is then the concatenation of all parts,
#   repeated (whole rounds, with `cat`) until it is at least BENCH_MIN_MB
#   (default 300) MB.  So every line of big.log is a real recorded strace line;
#   the repetition only means that pids/timestamps recur from round to round
#   (each part is complete in itself, so no <unfinished ...> spans a copy
#   boundary).
#
#   Workloads that could touch the network run under `unshare --net` (a fresh
#   network namespace with only loopback), and every workload runs with HOME,
#   TMPDIR, npm and pip caches pointed at a scratch directory under /tmp, plus
#   PYTHONDONTWRITEBYTECODE=1, so nothing is written outside /tmp and
#   bench-data/.
#
# Caching: if big.log already exists and is >= BENCH_MIN_MB, nothing is done.
# FORCE=1 rebuilds big.log from the cached parts; delete bench-data/parts to
# re-record.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DATA=$ROOT/bench-data
PARTS=$DATA/parts
OUT=$DATA/big.log
MIN_MB=${BENCH_MIN_MB:-300}
MIN_BYTES=$((MIN_MB * 1000 * 1000))

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

if [[ -z "${FORCE:-}" && -f "$OUT" && $(size_of "$OUT") -ge $MIN_BYTES ]]; then
    echo "make-log: $OUT is cached ($(( $(size_of "$OUT") / 1000000 )) MB >= $MIN_MB MB), not re-recording"
    exit 0
fi

for tool in strace unshare; do
    command -v "$tool" >/dev/null || { echo "make-log: '$tool' is required" >&2; exit 2; }
done
# Prefer the distribution python (a pyenv shim would add its own bash noise).
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
NODE=$(command -v node || true)
NPM=$(command -v npm || true)

mkdir -p "$PARTS"
SCRATCH=$(mktemp -d /tmp/pkgtrace-bench.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/home" "$SCRATCH/tmp" "$SCRATCH/npm-cache" "$SCRATCH/work"

# Environment for every recorded workload: all writes go to $SCRATCH.
RUN_ENV=(env HOME="$SCRATCH/home" TMPDIR="$SCRATCH/tmp" XDG_CACHE_HOME="$SCRATCH/home/.cache"
         npm_config_cache="$SCRATCH/npm-cache" npm_config_update_notifier=false
         npm_config_fund=false npm_config_audit=false
         PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
         PYTHONDONTWRITEBYTECODE=1 NODE_DISABLE_COMPILE_CACHE=1 LC_ALL=C)
STRACE_OPTS=(-f -tt -T -y -yy -s 256)

TOTAL_REC=0
# record NAME NET DESC CMD...   (NET = net: run inside `unshare --net`, lo up)
record() {
    local name=$1 net=$2 desc=$3; shift 3
    local part=$PARTS/$name.log
    if [[ -s $part ]]; then
        echo "make-log: part $name cached ($(( $(size_of "$part") / 1000000 )) MB)"
        return
    fi
    echo "make-log: recording part $name: $desc$([[ $net == net ]] && echo ' (in unshare --net)')"
    local t0 t1 rc=0
    t0=$(date +%s.%N)
    if [[ $net == net ]]; then
        # strace runs inside the new namespace so the log holds only CMD;
        # the namespace has loopback only (brought up so 127.0.0.1 works).
        ( cd "$SCRATCH/work" && "${RUN_ENV[@]}" unshare --net -- sh -c \
            'ip link set lo up 2>/dev/null || true; exec "$@"' sh \
            strace "${STRACE_OPTS[@]}" -o "$part.tmp" "$@" ) >/dev/null 2>&1 </dev/null || rc=$?
    else
        ( cd "$SCRATCH/work" && "${RUN_ENV[@]}" \
            strace "${STRACE_OPTS[@]}" -o "$part.tmp" "$@" ) >/dev/null 2>&1 </dev/null || rc=$?
    fi
    t1=$(date +%s.%N)
    # A workload failing (e.g. DNS in a namespace without network) is fine: the
    # trace is still real.  An empty trace is not.
    if [[ ! -s $part.tmp ]]; then
        echo "make-log: part $name produced no trace (exit $rc)" >&2
        rm -f "$part.tmp"; return 1
    fi
    mv "$part.tmp" "$part"
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
    TOTAL_REC=$(awk -v a="$TOTAL_REC" -v b="$secs" 'BEGIN{printf "%.1f", a+b}')
    echo "make-log:   -> $(( $(size_of "$part") / 1000000 )) MB, $(wc -l <"$part") lines, ${secs}s (workload exit $rc)"
}

echo "make-log: building $OUT (>= $MIN_MB MB) from real strace recordings (strace ${STRACE_OPTS[*]})"

# 1. Directory walk: getdents64/newfstatat/openat over all of /usr.
record find-usr-h local "find /usr -name '*.h'" find /usr -name '*.h'

# 2. Python opening and stat'ing thousands of files under /usr/lib/python3*.
record py-files local "python3 stat+open of every file under /usr/lib/python3*" "$PY" -c '
import glob, os
n = 0
for base in glob.glob("/usr/lib/python3*"):
    for d, dirs, files in os.walk(base):
        for f in files:
            p = os.path.join(d, f)
            try:
                os.stat(p); os.lstat(p); os.access(p, os.R_OK)
                with open(p, "rb") as fh:
                    fh.read(4096)
                n += 1
            except OSError:
                pass
print(n)
'

# 3. Python importing network-capable stdlib modules and resolving a name
#    (DNS attempt fails inside the namespace: real socket/connect/sendto calls).
record py-imports net "python3 importing json/email/http.client/ssl/... + getaddrinfo + connect" "$PY" -c '
import json, email, email.parser, http.client, urllib.request, ssl, socket, sqlite3
import xml.dom.minidom, asyncio, subprocess, tarfile, zipfile, hashlib, logging, csv
try:
    socket.getaddrinfo("pypi.org", 443)
except OSError as e:
    print("dns:", e)
s = socket.socket(); s.settimeout(1)
try:
    s.connect(("127.0.0.1", 9))
except OSError as e:
    print("connect:", e)
subprocess.run(["/bin/true"])
'

# 4. pip listing installed packages (reads all dist-info metadata).
record pip-list net "python3 -m pip list" "$PY" -m pip list

# 5. node requiring npm's own modules.
if [[ -n $NODE && -n $NPM ]]; then
    NPM_ROOT=$(npm root -g 2>/dev/null)
    record node-npm net "node -e requiring every module under \$(npm root -g)/npm" "$NODE" -e "
const path = require('path'), fs = require('fs');
const root = path.join('$NPM_ROOT', 'npm');
const mods = fs.readdirSync(path.join(root, 'node_modules'));
let ok = 0;
for (const m of mods) { try { require(path.join(root, 'node_modules', m)); ok++; } catch (e) {} }
for (const f of ['lib/npm.js', 'lib/cli.js', 'lib/utils/config/index.js']) {
  try { require(path.join(root, f)); ok++; } catch (e) {}
}
console.log(ok);
"
    # 6. npm itself (config + listing global packages), network-isolated.
    record npm-ls net "npm ls -g --depth=1" "$NPM" ls -g --depth=1
else
    echo "make-log: node/npm not found, skipping node workloads"
fi

# 7. A shell spawning /bin/true a few hundred times (fork/exec/wait churn).
record sh-true local "sh loop running /bin/true 400 times" sh -c 'i=0; while [ $i -lt 400 ]; do /bin/true; i=$((i+1)); done'

# 8. tar streaming a big tree (read/write with 256-byte string previews).
#    Piped through cat: GNU tar skips reading files when writing to /dev/null.
record tar-share local "tar cf - /usr/share/doc /usr/share/perl5 /usr/include | cat" sh -c 'tar cf - /usr/share/doc /usr/share/perl5 /usr/include 2>/dev/null | cat >/dev/null'

echo "make-log: recording time this run: ${TOTAL_REC}s"

# Concatenate whole rounds of all parts until >= MIN_MB.
mapfile -t ALL < <(ls "$PARTS"/*.log | sort)
round_bytes=0
for p in "${ALL[@]}"; do round_bytes=$((round_bytes + $(size_of "$p"))); done
rounds=$(( (MIN_BYTES + round_bytes - 1) / round_bytes ))
echo "make-log: ${#ALL[@]} parts, $((round_bytes / 1000000)) MB per round, concatenating $rounds rounds"
: >"$OUT.tmp"
for ((r = 0; r < rounds; r++)); do
    cat "${ALL[@]}" >>"$OUT.tmp"
done
mv "$OUT.tmp" "$OUT"
echo "make-log: wrote $OUT: $(( $(size_of "$OUT") / 1000000 )) MB, $(wc -l <"$OUT") lines"
