#!/usr/bin/env bash
# `make bench`, part 2: overhead of the live tracer `pkgtrace trace` on four
# workloads (find /usr/share, python opening ~4k files, a shell forking
# /bin/true 300x, a real offline `npm install` with dependencies), each run
# natively, under `strace -f --seccomp-bpf -e trace=%file,%network,%process`
# (what a strace user runs) and under `pkgtrace trace`.  Medians, the ratio
# pkgtrace/strace and the issue-14 target (<= 0.7x) per workload.
# See bench/README.md ("Live tracer overhead").
#
# Environment overrides:
#   PKGTRACE_TRACE   command prefix for the pkgtrace variant (CMD argv is
#                    appended; skips `cargo build`).  Default:
#                    target/release/pkgtrace trace --format json -o {out} --
#                    ({out}: the events file in the scratch dir, as strace's
#                    variant writes its log there). Stand-in while `trace`
#                    does not exist:
#                    PKGTRACE_TRACE="strace -f --seccomp-bpf -e trace=%file,%network,%process -o {out}" bench/trace.sh
#   TRACE_RUNS       timed runs per variant, median reported (default 5; 3 is faster)
#   TRACE_WORKLOADS  comma list out of find,python,sh,npm,node (default: find,python,sh,npm)
#   TRACE_SYSCALLS   strace -e trace= of the strace variant (default %file,%network,%process)
#   TRACE_JSON       also write the results as JSON to this path
#   TRACE_STRICT=1   exit 1 when a target is missed (default: report only)
set -euo pipefail

# The strace-seccomp variant traces what a strace user would ask for
# (issue 14), not pkgtrace's own set.
TRACE_SYSCALLS=${TRACE_SYSCALLS:-%file,%network,%process}

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z "${PKGTRACE_TRACE:-}" ]]; then
    echo "trace-bench: cargo build --release -p pkgtrace"
    cargo build --release -p pkgtrace
    PKGTRACE_TRACE="$PWD/${CARGO_TARGET_DIR:-target}/release/pkgtrace trace --format json -o {out} --"
fi

for tool in strace unshare ip; do
    command -v "$tool" >/dev/null || { echo "trace-bench: '$tool' is required" >&2; exit 2; }
done
# The distribution python for the workload (a pyenv shim would add a bash
# wrapper to every run); any python3 runs the harness.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
NODE=$(command -v node || true)
NPM_DIR=
NPM_CACHE=
WORKLOADS=${TRACE_WORKLOADS:-find,python,sh,npm}
if [[ ,$WORKLOADS, == *,node,* ]]; then
    NPM_DIR=$(npm root -g 2>/dev/null || true)/npm
    [[ -d $NPM_DIR/node_modules ]] || NPM_DIR=  # trace_node_require.js guesses
fi
if [[ ,$WORKLOADS, == *,npm,* ]]; then
    # The npm workload installs offline from the cache make-real-log.sh filled.
    if command -v npm >/dev/null && bench/make-real-log.sh; then
        NPM_CACHE=$PWD/${CARGO_TARGET_DIR:-target}/bench-real/npm-cache
    else
        echo "trace-bench: no npm cache (bench/make-real-log.sh failed), skipping the npm workload" >&2
        WORKLOADS=$(tr ',' '\n' <<<"$WORKLOADS" | grep -vx npm | paste -sd, -)
    fi
fi

SCRATCH=$(mktemp -d /tmp/pkgtrace-trace-bench.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

extra=()
[[ -n "${TRACE_JSON:-}" ]] && extra+=(--json "$(realpath -m "$TRACE_JSON")")
[[ "${TRACE_STRICT:-}" == 1 ]] && extra+=(--strict)

# The whole measurement loop runs in a fresh network namespace (loopback only,
# brought up), so every variant of every workload sees the same network and
# nothing can reach the outside.  Needs root (or user namespaces).
unshare --net true 2>/dev/null || { echo "trace-bench: 'unshare --net' failed (run as root)" >&2; exit 2; }
echo "trace-bench: workloads $WORKLOADS, scratch $SCRATCH"
rc=0
unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh \
    "$PY" bench/trace_measure.py --runs "${TRACE_RUNS:-5}" --pkgtrace "$PKGTRACE_TRACE" \
    --syscalls "$TRACE_SYSCALLS" --python "$PY" --node "${NODE:-node}" --npm-dir "$NPM_DIR" --npm-cache "$NPM_CACHE" \
    --workloads "$WORKLOADS" --scratch "$SCRATCH" ${extra[@]+"${extra[@]}"} || rc=$?
exit $rc
