# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
#
# Creates a SysV shared memory segment, a message queue and a semaphore set
# with one distinctive key (`ipc_key` in marker.json, else 0x7074726b,
# "ptrk") and exits without removing them: without an IPC namespace of its
# own they outlive the run on the host. It holds them for 1 s first so that
# the test can look for them while the run is still going.
import ctypes
import errno
import json
import os
import time

here = os.path.dirname(os.path.abspath(__file__))
try:
    with open(os.path.join(here, "marker.json")) as f:
        key = int(json.load(f)["ipc_key"])
except (OSError, ValueError, KeyError):
    key = 0x7074726B

IPC_CREAT = 0o1000
libc = ctypes.CDLL(None, use_errno=True)
for what, call in (
    ("shmget", lambda: libc.shmget(key, 4096, IPC_CREAT | 0o600)),
    ("msgget", lambda: libc.msgget(key, IPC_CREAT | 0o600)),
    ("semget", lambda: libc.semget(key, 1, IPC_CREAT | 0o600)),
):
    ident = call()
    if ident < 0:
        e = ctypes.get_errno()
        print(f"{what} {key:#x}: {errno.errorcode.get(e, e)}")
    else:
        print(f"{what} {key:#x}: id {ident}")
time.sleep(1)
