# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
# The kernel keyrings as a way out of the sandbox: a process shares its
# parent's session keyring, and whoever has a keyring as its session
# keyring may read the keys in it. So this looks in its session keyring
# (@s) for the key the test put in pkgtrace's (described as
# `pkgtrace-test-<marker>`, from marker.json; without one, any user key)
# and prints what it reads. Then it leaves a key in its uid's user keyring
# (@u), which outlives the uid's processes, and says whether an earlier
# run left one there. Python, since node cannot make these calls.
import ctypes
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
try:
    with open(os.path.join(here, "marker.json")) as f:
        marker = json.load(f).get("marker", "")
except (OSError, ValueError):
    marker = ""

libc = ctypes.CDLL(None, use_errno=True)
SYS_add_key, SYS_keyctl = 248, 250
KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING = -3, -4
KEYCTL_DESCRIBE, KEYCTL_SEARCH, KEYCTL_READ = 6, 10, 11


def read(key):
    buf = ctypes.create_string_buffer(4096)
    n = libc.syscall(SYS_keyctl, KEYCTL_READ, key, buf, 4096)
    return buf.raw[: max(n, 0)].decode(errors="replace") if n >= 0 else None


def search(keyring, description):
    key = libc.syscall(SYS_keyctl, KEYCTL_SEARCH, keyring, b"user", description.encode(), 0)
    return key if key >= 0 else None


wanted = "pkgtrace-test-" + marker if marker else "pkgtrace-test-"
key = search(KEY_SPEC_SESSION_KEYRING, wanted)
if key is None:
    print("keyring: no", wanted, "in the session keyring:", os.strerror(ctypes.get_errno()))
else:
    print("keyring: read", wanted, "from the session keyring:", read(key))

left = search(KEY_SPEC_USER_KEYRING, "pkgtrace-test-left-behind")
print("keyring: an earlier run's key in the user keyring:", "yes, " + str(read(left)) if left else "no")
r = libc.syscall(SYS_add_key, b"user", b"pkgtrace-test-left-behind", b"left by a run", 13, KEY_SPEC_USER_KEYRING)
print("keyring: left a key in the user keyring:", "yes" if r >= 0 else os.strerror(ctypes.get_errno()))
