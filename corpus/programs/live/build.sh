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
# Test processes run this at the same time and exec what an earlier one
# built: a binary is written under a name of this process's own and
# renamed into place (an exec never sees a half-written file, or one open
# for writing: ETXTBSY), and one newer than its source and than the
# shared header (other_cpu.h) is kept.
for src in "$here"/*.c; do
    name=$(basename "$src" .c)
    if [ "$out/$name" -nt "$src" ] && [ "$out/$name" -nt "$here/other_cpu.h" ]; then
        continue
    fi
    tmp="$out/.$name.$$"
    { $CC -O1 -pthread -Wall -Werror -o "$tmp" "$src" && mv -f "$tmp" "$out/$name"; } &
    pids="$pids $!"
done
rc=0
for p in $pids; do
    wait "$p" || rc=1
done
exit $rc
