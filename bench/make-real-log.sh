#!/usr/bin/env bash
# Build target/bench-real/real.log: a >= 300 MB strace log of REAL package
# installs, the log `make bench` measures `pkgtrace analyze` on (issue 14).
#
# How it is made
#   1. Download (online): npm packages with dependencies into a private npm
#      cache (`npm install --ignore-scripts` in a throw-away project), PyPI
#      source distributions with dependencies (`pip download --no-binary :all:`),
#      plus the build back-ends they need, into a venv.
#   2. Record (offline): every install again, from the cache only, inside a
#      network namespace with loopback only, under
#          strace -f -tt -yy -s 256 -v -o PART
#      npm: `npm install --offline` (install scripts run); pip:
#      `pip install --no-index --find-links DIR --no-binary :all:` (every sdist
#      is built: setup.py / PEP 517 back-ends, compilers for C extensions).
#   3. real.log = the parts concatenated (whole rounds) until >= BENCH_MIN_MB.
#      Every line is a real strace line; rounds repeat pids and timestamps.
#
# Cached in target/bench-real/ (out of git): parts are recorded once;
# FORCE=1 re-concatenates; delete the directory to download and record again.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DIR=${BENCH_REAL_DIR:-$ROOT/${CARGO_TARGET_DIR:-target}/bench-real}
OUT=$DIR/real.log
PARTS=$DIR/parts
MIN_MB=${BENCH_MIN_MB:-300}
MIN_BYTES=$((MIN_MB * 1000 * 1000))

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

if [[ -z "${FORCE:-}" && $(size_of "$OUT") -ge $MIN_BYTES ]]; then
    echo "make-real-log: $OUT is cached ($(( $(size_of "$OUT") / 1000000 )) MB)"
    exit 0
fi
for tool in strace unshare npm node; do
    command -v "$tool" >/dev/null || { echo "make-real-log: '$tool' is required" >&2; exit 2; }
done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

# npm packages with dependencies (a few with install scripts), PyPI packages
# with dependencies (pure Python and C extensions).
NPM_SETS=("express@4" "chalk@4 commander@11 debug@4 semver@7 yargs@17" "axios@1 lodash@4 moment@2 uuid@9 minimist@1")
PIP_SETS=("requests" "click jinja2 markupsafe" "pyyaml six python-dateutil")

mkdir -p "$PARTS" "$DIR/npm-cache" "$DIR/pip-dl" "$DIR/home" "$DIR/tmp"
ENV=(env HOME="$DIR/home" TMPDIR="$DIR/tmp" npm_config_cache="$DIR/npm-cache"
     npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
     PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 LC_ALL=C)

# --- 1. downloads (cached by a stamp file) ---------------------------------
if [[ ! -f $DIR/downloaded ]]; then
    echo "make-real-log: downloading npm packages and PyPI sdists"
    for i in "${!NPM_SETS[@]}"; do
        d=$DIR/npm-dl-$i; rm -rf "$d"; mkdir -p "$d"
        (cd "$d" && echo '{"name":"dl","version":"1.0.0"}' >package.json \
            && "${ENV[@]}" npm install --ignore-scripts --no-audit --no-fund ${NPM_SETS[$i]} >/dev/null)
    done
    [[ -x $DIR/venv/bin/python ]] || "$PY" -m venv "$DIR/venv"
    "${ENV[@]}" "$DIR/venv/bin/pip" install -q -U pip setuptools wheel flit_core hatchling hatch-vcs setuptools-scm
    for s in "${PIP_SETS[@]}"; do
        # shellcheck disable=SC2086
        "${ENV[@]}" "$DIR/venv/bin/pip" download -q --no-binary :all: --no-build-isolation -d "$DIR/pip-dl" $s || echo "make-real-log: pip download $s failed" >&2
    done
    touch "$DIR/downloaded"
fi

# --- 2. offline recordings --------------------------------------------------
STRACE=(strace -f -tt -yy -s 256 -v)
offline() {  # offline PART CMD... : run CMD under strace in a loopback-only netns
    local part=$PARTS/$1.log; shift
    [[ -s $part ]] && return 0
    echo "make-real-log: recording $(basename "$part")"
    "${ENV[@]}" unshare --net -- sh -c 'ip link set lo up 2>/dev/null; exec "$@"' sh \
        "${STRACE[@]}" -o "$part.tmp" "$@" >/dev/null 2>&1 </dev/null || true
    [[ -s $part.tmp ]] || { echo "make-real-log: $1 left no trace" >&2; return 1; }
    mv "$part.tmp" "$part"
    echo "make-real-log:   $(( $(size_of "$part") / 1000000 )) MB"
}
for i in "${!NPM_SETS[@]}"; do
    w=$DIR/npm-work-$i; rm -rf "$w"; mkdir -p "$w"
    echo '{"name":"bench","version":"1.0.0"}' >"$w/package.json"
    # shellcheck disable=SC2086
    (cd "$w" && offline "npm-$i" npm install --offline --no-audit --no-fund ${NPM_SETS[$i]})
done
for i in "${!PIP_SETS[@]}"; do
    v=$DIR/pip-venv-$i; rm -rf "$v"
    "$PY" -m venv "$v"
    # The build back-ends (online, not recorded): --no-build-isolation uses them.
    "${ENV[@]}" "$v/bin/pip" install -q -U pip setuptools wheel flit_core hatchling hatch-vcs setuptools-scm
    # shellcheck disable=SC2086
    offline "pip-$i" "$v/bin/pip" install --no-index --find-links "$DIR/pip-dl" \
        --no-binary :all: --no-build-isolation ${PIP_SETS[$i]}
done

# --- 3. concatenate ---------------------------------------------------------
mapfile -t ALL < <(ls "$PARTS"/*.log | sort)
round=0
for p in "${ALL[@]}"; do round=$((round + $(size_of "$p"))); done
rounds=$(( (MIN_BYTES + round - 1) / round ))
echo "make-real-log: ${#ALL[@]} parts, $((round / 1000000)) MB a round, $rounds rounds"
: >"$OUT.tmp"
for ((r = 0; r < rounds; r++)); do cat "${ALL[@]}" >>"$OUT.tmp"; done
mv "$OUT.tmp" "$OUT"
echo "make-real-log: wrote $OUT: $(( $(size_of "$OUT") / 1000000 )) MB"
