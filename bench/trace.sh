#!/usr/bin/env bash
# `make bench`, part 2: overhead of the live tracer `pkgtrace trace` on four
# workloads (find, python opening ~4k files, node requiring npm's modules, a
# shell forking /bin/true 300x), each run natively, under `strace -f`, under
# `strace -f --seccomp-bpf -e trace=<pkgtrace's syscall set>` and under
# `pkgtrace trace`.  Medians, ratios and the targets per workload.
# See bench/README.md ("Live tracer overhead").
#
# Environment overrides:
#   PKGTRACE_TRACE   command prefix for the pkgtrace variant (CMD argv is
#                    appended; skips `cargo build`).  Default:
#                    target/release/pkgtrace trace --format json -o /dev/null --
#                    Stand-in while `trace` does not exist:
#                    PKGTRACE_TRACE="strace -f --seccomp-bpf -e trace=%file,%network,%process -o /dev/null" bench/trace.sh
#   TRACE_RUNS       timed runs per variant, median reported (default 5; 3 is faster)
#   TRACE_WORKLOADS  comma list out of find,python,node,sh (default: all)
#   TRACE_JSON       also write the results as JSON to this path
#   TRACE_STRICT=1   exit 1 when a target is missed (default: report only)
set -euo pipefail

# The syscalls for the strace-seccomp variant: by default exactly the ones
# pkgtrace's own seccomp filter stops on (`pkgtrace traced-syscalls`).
TRACE_SYSCALLS=${TRACE_SYSCALLS:-}

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z "${PKGTRACE_TRACE:-}" ]]; then
    echo "trace-bench: cargo build --release -p pkgtrace"
    cargo build --release -p pkgtrace
    PKGTRACE_TRACE="$PWD/${CARGO_TARGET_DIR:-target}/release/pkgtrace trace --format json -o /dev/null --"
fi

if [[ -z "$TRACE_SYSCALLS" ]]; then
    TRACE_SYSCALLS=$("$PWD/${CARGO_TARGET_DIR:-target}/release/pkgtrace" traced-syscalls)
    # Calls newer than this strace (fchmodat2 in 6.1) are left out of its set.
    known=()
    for s in ${TRACE_SYSCALLS//,/ }; do
        strace -e trace="$s" -o /dev/null true 2>/dev/null && known+=("$s")
    done
    TRACE_SYSCALLS=$(IFS=,; echo "${known[*]}")
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
WORKLOADS=${TRACE_WORKLOADS:-find,python,node,sh}
if [[ ,$WORKLOADS, == *,node,* ]]; then
    if [[ -z $NODE ]]; then
        echo "trace-bench: node not found, skipping the node workload" >&2
        WORKLOADS=$(tr ',' '\n' <<<"$WORKLOADS" | grep -vx node | paste -sd, -)
    else
        NPM_DIR=$(npm root -g 2>/dev/null || true)/npm
        [[ -d $NPM_DIR/node_modules ]] || NPM_DIR=  # trace_node_require.js guesses
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
    --syscalls "$TRACE_SYSCALLS" --python "$PY" --node "${NODE:-node}" --npm-dir "$NPM_DIR" \
    --workloads "$WORKLOADS" --scratch "$SCRATCH" ${extra[@]+"${extra[@]}"} || rc=$?
exit $rc
