#!/usr/bin/env python3
"""bench/trace.sh workload (b): open and read every file under the given
directories (default: /usr/lib/python3*, ~4-5k files on Debian 12).

    python3 bench/trace_py_files.py [DIR...]

Per file: open, one read of up to 64 KiB, close -- so the time is dominated
by path syscalls (getdents64/openat/newfstatat/close), not by copying bytes.
Prints the number of files opened; exits 0 unless none could be opened.
"""
import glob
import os
import sys


def main(roots):
    n = 0
    for base in roots:
        for d, _dirs, files in os.walk(base):
            for f in files:
                try:
                    with open(os.path.join(d, f), "rb") as fh:
                        fh.read(65536)
                    n += 1
                except OSError:  # dangling symlinks, sockets, permissions
                    pass
    print(n)
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or sorted(glob.glob("/usr/lib/python3*"))))
