#!/usr/bin/env python3
"""Split a `strace -f` log (lines start with the pid) into the `-ff` form
strace writes with `-ff -o DIR/trace`: one file per task, DIR/trace.PID,
the pid prefix removed.  Used by bench/run.sh for the several-files figure.

    bench/split-ff.py LOG DIR
"""
import os
import sys


def main():
    log, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.unlink(os.path.join(out, name))
    files = {}
    try:
        with open(log, "rb") as f:
            for line in f:
                sp = line.find(b" ")
                pid = line[:sp]
                if sp <= 0 or not pid.isdigit():
                    continue
                fh = files.get(pid)
                if fh is None:
                    fh = files[pid] = open(os.path.join(out, "trace." + pid.decode()), "wb", buffering=1 << 16)
                fh.write(line[sp + 1:])
    finally:
        for fh in files.values():
            fh.close()
    print(f"split-ff: {len(files)} files in {out}")


if __name__ == "__main__":
    main()
