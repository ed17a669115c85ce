#!/bin/sh
# build.sh OUTDIR: compile every live tracee (*.c next to this script) into
# OUTDIR, one binary per file, named after it.  Works from any cwd.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
CC=${CC:-gcc}
pids=""
for src in "$here"/*.c; do
    name=$(basename "$src" .c)
    $CC -O1 -pthread -Wall -Werror -o "$out/$name" "$src" &
    pids="$pids $!"
done
rc=0
for p in $pids; do
    wait "$p" || rc=1
done
exit $rc
