#!/usr/bin/env bash
# Regenerate every strace log of the corpus (`make corpus` calls this).
#
#   corpus/record.sh            record everything
#   corpus/record.sh --no-fetch skip the one network step (npm cache add left-pad)
#   corpus/record.sh --parity BIN OUT
#                               run every behaviour program twice in the same
#                               sandbox, once under strace (OUT/NAME.log) and
#                               once under `BIN trace -o OUT/NAME.log.jsonl`,
#                               for the test that both sources give the same
#                               findings; the corpus itself is not touched
#   corpus/record.sh extras     record ONLY the named behaviour log(s) (extras,
#                               extras.log or behaviour/extras.log; several may
#                               be given): every other log is left untouched,
#                               behaviour/README.md is regenerated (same text +
#                               the entry) and the log's section of
#                               behaviour/sinks.txt is replaced; no fetch
#
# Needs root (for unshare), strace 6.1 at /usr/bin/strace, gcc, python3, node,
# npm, zstd, gzip. All package-like code runs inside
#   unshare --mount --net --pid --fork --mount-proc
# with only loopback up, as an unprivileged uid (1500, "pkgtrace"), with
# HOME=/home/pkgtrace (tmpfs, canary credentials) and cwd /home/pkgtrace/project.
# The only step that touches the real network is `npm cache add left-pad@1.3.0`,
# run OUTSIDE the sandbox before it starts (no package code runs then).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STRACE=/usr/bin/strace
UIDN=1500
HOMEDIR=/home/pkgtrace
PROJ=$HOMEDIR/project
S=/mnt/sandbox            # sandbox-private files (tmpfs), not part of HOME

# canary values (fixed, so logs are reproducible; listed in corpus/README.md)
C_NPM=CANARY-npm-4f1c2a9e7d3b
C_PYPI=CANARY-pypi-7e6d5c4b3a29
C_AWS=CANARY-aws-9b8c7d6e5f4a
C_SSH=CANARY-ssh-1a2b3c4d5e6f
C_ENV_NPM=CANARY-env-npm-0f9e8d7c6b5a
C_ENV_AWS=CANARY-env-aws-5a6b7c8d9e0f

die() { echo "record.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# outside the sandbox
# ---------------------------------------------------------------------------
if [ "${1:-}" != "--inside" ]; then
    FETCH=1; ONLY=()
    if [ "${1:-}" = --parity ]; then
        [ $# = 3 ] || die "usage: record.sh --parity PKGTRACE-BINARY OUTDIR"
        PARITY_BIN=$(realpath "$2"); PARITY_OUT=$(realpath "$3")
        export PARITY_BIN PARITY_OUT
        mkdir -p "$PARITY_OUT" && chmod 777 "$PARITY_OUT"
        set --; FETCH=0
    fi
    for a in "$@"; do
        case $a in
            --no-fetch) FETCH=0 ;;
            -*) die "unknown option $a" ;;
            *) ONLY+=("$a"); FETCH=0 ;;
        esac
    done
    [ "$(id -u)" = 0 ] || die "must run as root (unshare of mount/net/pid namespaces)"
    for t in "$STRACE" gcc node npm zstd gzip unshare setpriv ip /usr/bin/python3; do
        command -v "$t" >/dev/null || die "missing $t"
    done
    "$STRACE" -V | head -1 | grep -q 'version 6\.1' || echo "record.sh: warning: strace is not 6.1" >&2
    WORK=$(mktemp -d /var/tmp/pkgtrace-corpus.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
    mkdir -p "$WORK/npm-cache"
    if [ $FETCH = 1 ]; then
        echo "record.sh: fetching left-pad@1.3.0 into a private npm cache (outside the sandbox)"
        npm cache add left-pad@1.3.0 --cache "$WORK/npm-cache" >/dev/null 2>&1 \
            || echo "record.sh: npm cache add failed; the left-pad log will be skipped" >&2
    fi
    unshare --mount --net --pid --uts --fork --mount-proc --propagation private \
        bash "$HERE/record.sh" --inside "$WORK" ${ONLY[@]+"${ONLY[@]}"}
    if [ -n "${PARITY_OUT:-}" ]; then
        echo "record.sh: parity runs in $PARITY_OUT"
        exit 0
    fi
    chown -R --reference="$HERE" "$HERE/strace"
    du -sh "$HERE/strace"
    "$HERE/check.sh" || die "some logs lack the evidence they were recorded for (see above)"
    echo "record.sh: done"
    exit 0
fi

# ---------------------------------------------------------------------------
# inside: fresh mount, net and pid namespaces (we are pid 1 here)
# ---------------------------------------------------------------------------
WORK=$2
shift 2
ONLY=("$@")   # empty: record everything
DONE=()       # behaviour logs recorded in ONLY mode
ip link set lo up
hostname pkgtrace-sandbox
[ "$(ip -o link show | wc -l)" = 1 ] || die "network namespace has more than loopback"
ip -o addr show | grep -v ' lo ' && die "unexpected address"

mount -t tmpfs -o mode=755 tmpfs /mnt
mkdir -p $S/etc $S/out $S/bin /mnt/fakebin
cp -a "$WORK/npm-cache" $S/npm-cache
# The checkout, the parity output and the pkgtrace binary may live under
# /tmp or /var/tmp, which are covered next: keep them reachable through
# binds (and a copy) made first.
mkdir -p $S/here && mount --bind "$HERE" $S/here && HERE=$S/here
if [ -n "${PARITY_OUT:-}" ]; then
    mkdir -p $S/parity-out && mount --bind "$PARITY_OUT" $S/parity-out && PARITY_OUT=$S/parity-out
    cp "$PARITY_BIN" $S/pkgtrace && chmod 755 $S/pkgtrace && PARITY_BIN=$S/pkgtrace
fi
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /home

# resolver -> the DNS sink; clean hosts; a passwd entry for the traced user
printf 'nameserver 127.0.0.1\n' > $S/etc/resolv.conf
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' > $S/etc/hosts
{ grep -v ":$UIDN:" /etc/passwd; echo "pkgtrace:x:$UIDN:$UIDN:pkgtrace:$HOMEDIR:/bin/sh"; } > $S/etc/passwd
{ grep -v ":$UIDN:" /etc/group; echo "pkgtrace:x:$UIDN:"; } > $S/etc/group
for f in resolv.conf hosts passwd group; do mount --bind $S/etc/$f /etc/$f; done

# fake tools: copies of /bin/true with telling names
for t in npm twine cargo sudo su pkexec dig socat ncat xmrig; do cp /bin/true /mnt/fakebin/$t; done

# network sinks (DNS on 127.0.0.1:53, TCP sinks, reverse-shell listener)
/usr/bin/python3 "$HERE/programs/sandbox/sinks.py" $S/sinks.log $S/sinks.ready &
for _ in $(seq 50); do [ -e $S/sinks.ready ] && break; sleep 0.1; done
[ -e $S/sinks.ready ] || die "sinks did not start"

# compile the C programs (untraced)
for src in "$HERE"/programs/behaviour/*.c "$HERE"/programs/formats/*.c; do
    gcc -O0 -g -o $S/bin/"$(basename "$src" .c)" "$src" -lpthread
done

# a fresh HOME with canary credentials before every recording
fresh_home() {
    rm -rf $HOMEDIR /tmp/* /tmp/.[!.]* /dev/shm/* /var/tmp/* 2>/dev/null || true
    mkdir -p $HOMEDIR/.ssh $HOMEDIR/.aws $HOMEDIR/other-app $HOMEDIR/Documents \
             $HOMEDIR/.mozilla/firefox/x1y2z3.default-release $HOMEDIR/.cache \
             $PROJ/bin $PROJ/scripts
    printf '//registry.npmjs.org/:_authToken=%s\n' $C_NPM > $HOMEDIR/.npmrc
    printf '[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = %s\n' $C_PYPI > $HOMEDIR/.pypirc
    printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n' $C_SSH > $HOMEDIR/.ssh/id_rsa
    chmod 600 $HOMEDIR/.ssh/id_rsa
    printf 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n' > $HOMEDIR/.ssh/known_hosts
    printf '[default]\naws_access_key_id = AKIAPKGTRACECANARY01\naws_secret_access_key = %s\n' $C_AWS > $HOMEDIR/.aws/credentials
    printf 'machine api.example.com login pkgtrace password CANARY-netrc-3c2b1a\n' > $HOMEDIR/.netrc
    printf 'SQLite format 3\0CANARY-firefox-key4\n' > $HOMEDIR/.mozilla/firefox/x1y2z3.default-release/key4.db
    printf '# ~/.bashrc\nalias ll="ls -l"\n' > $HOMEDIR/.bashrc
    printf '# ~/.profile\n. ~/.bashrc\n' > $HOMEDIR/.profile
    printf 'ls\nssh prod\n' > $HOMEDIR/.bash_history
    printf 'DATABASE_URL=postgres://app:CANARY-dotenv-77aa@db/app\n' > $HOMEDIR/other-app/.env
    printf 'SECRET=CANARY-dotenv-home-88bb\n' > $HOMEDIR/.env
    for i in $(seq -w 1 20); do echo "document $i" > $HOMEDIR/Documents/doc$i.txt; done
    printf 'registry=https://registry.npmjs.org/\n' > $PROJ/.npmrc
    printf 'NODE_ENV=development\n' > $PROJ/.env
    printf '#!/bin/sh\necho prebuilt\n' > $PROJ/bin/prebuilt-tool.sh
    chmod 644 $PROJ/bin/prebuilt-tool.sh
    cp "$HERE"/programs/behaviour/*.py "$HERE"/programs/behaviour/*.sh "$HERE"/programs/behaviour/*.js $PROJ/
    cp "$HERE"/programs/behaviour/scripts/* $PROJ/scripts/
    cp $S/bin/* $PROJ/bin/
    chown -R $UIDN:$UIDN $HOMEDIR
}

# run a command as the traced user with a fixed, clean environment
as_user() {
    setpriv --reuid=$UIDN --regid=$UIDN --clear-groups --inh-caps=-all \
        env -i HOME=$HOMEDIR USER=pkgtrace LOGNAME=pkgtrace SHELL=/bin/sh \
        PATH=/usr/local/bin:/usr/bin:/bin:/mnt/fakebin LANG=C.UTF-8 TERM=dumb \
        NPM_TOKEN=$C_ENV_NPM AWS_SECRET_ACCESS_KEY=$C_ENV_AWS ${EXTRA_ENV:-} "$@"
}

# README generation: every recorded file gets the exact command and a description
readme_start() {  # $1 group dir, $2 title, $3 intro
    printf '# %s\n\n%s\n\n' "$2" "$3" > $S/out/$1/README.md
    printf 'Generated by `corpus/record.sh`; do not edit by hand. Every command ran inside\n' >> $S/out/$1/README.md
    printf 'the sandbox (see corpus/README.md) as uid %s with cwd `%s` and\n' $UIDN $PROJ >> $S/out/$1/README.md
    printf '`HOME=%s`, with stdin `/dev/null` and stdout/stderr discarded unless the command\nsays otherwise.\n\n' $HOMEDIR >> $S/out/$1/README.md
}
note() {  # $1 group, $2 file, $3 command line (as text), $4 description
    printf '## `%s`\n\n- command: `%s`\n- shows: %s\n\n' "$2" "$3" "$4" >> $S/out/$1/README.md
    echo "=== $1/$2" >> $S/sinks.log
}

# wanted GROUP FILE: is this log to be recorded (everything, or named in ONLY)?
wanted() {
    [ ${#ONLY[@]} = 0 ] && return 0
    local o
    for o in "${ONLY[@]}"; do
        o=${o#behaviour/}; o=${o%.log}
        [ "$1" = behaviour ] && [ "$o.log" = "$2" ] && return 0
    done
    return 1
}
# rec GROUP FILE "DESCRIPTION" STRACE-OPTS... -- CMD...   (strace writes with -o)
rec() {
    local group=$1 file=$2 desc=$3; shift 3
    local opts=() ; while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
    if [ -n "${PARITY_OUT:-}" ]; then
        # The same program, the same fresh HOME, once per source.
        [ "$group" = behaviour ] || return 0
        fresh_home
        (cd $PROJ && as_user $STRACE "${opts[@]}" -o "$PARITY_OUT/$file" "$@" </dev/null >/dev/null 2>&1) || true
        fresh_home
        (cd $PROJ && as_user "$PARITY_BIN" trace --format json --linger 1 --timeout 60 -o "$PARITY_OUT/$file.jsonl" -- "$@" \
            </dev/null >"$PARITY_OUT/$file.trace.json" 2>"$PARITY_OUT/$file.trace.err") || true
        return 0
    fi
    if ! wanted "$group" "$file"; then   # ONLY mode: keep the README entry, do not record
        note "$group" "$file" "cd $PROJ && strace ${opts[*]} -o $file $*" "$desc"
        return 0
    fi
    DONE+=("$file")
    fresh_home
    note "$group" "$file" "cd $PROJ && strace ${opts[*]} -o $file $*" "$desc"
    (cd $PROJ && as_user $STRACE "${opts[@]}" -o $S/out/$group/$file "$@" </dev/null >/dev/null 2>&1) || true
    [ -s $S/out/$group/$file ] || [ -d $S/out/$group/${file%/*} ] || die "no output for $group/$file"
}

mkdir -p $S/out/behaviour $S/out/formats $S/out/npm
chown -R $UIDN:$UIDN $S/out

# ---------------------------------------------------------------------------
# a. behaviour logs
# ---------------------------------------------------------------------------
REC=(-f -tt -T -y -yy -s 256)
readme_start behaviour "Behaviour logs" "One program per group of RULES.md behaviours, each recorded with the recommended options \`strace -f -tt -T -y -yy -s 256\`. Sources: \`corpus/programs/behaviour/\` (C programs are compiled to \`$PROJ/bin/\`). Which findings each log should produce: \`corpus/strace/EXPECTED.md\`. \`sinks.txt\` is what the sandbox's DNS and TCP sinks received during each recording."
B=behaviour
rec $B creds.log "credential and secret reads (SSH keys, registry tokens, cloud, dev tools, browser, wallets, /etc/shadow, .env outside the project) and near misses (known_hosts, /etc/passwd, the project's own .npmrc/.env)" \
    "${REC[@]}" -- /usr/bin/python3 creds.py
rec $B environ.log "/proc/self/environ, /proc/<own pid>/environ, a child's /proc/N/environ (succeeds), /proc/1/environ (EACCES); near misses /proc/self/stat, cmdline" \
    "${REC[@]}" -- $PROJ/bin/environ
rec $B config-probe.log "openssl.cnf from a non-existent build path /home/builder/build/out, cert bundle in HOME and /tmp, dlopen from a build path and /tmp (all ENOENT); near misses /etc/ssl/openssl.cnf, /usr/lib/ssl/openssl.cnf, the project's own config, libm" \
    "${REC[@]}" -- $PROJ/bin/config_probe
rec $B dns-glibc.log "glibc getaddrinfo (connect :53 + sendmmsg A+AAAA): registry.npmjs.org, a long ordinary name, the npm canary hex- and base32-encoded in a label, the canary verbatim in a name" \
    "${REC[@]}" -- /usr/bin/python3 dns_lookups.py
EXTRA_ENV=RES_OPTIONS=single-request rec $B dns-glibc-single-request.log "same as dns-glibc.log with RES_OPTIONS=single-request in the environment: one query per send (sendto on a connected socket, or send with NULL address)" \
    "${REC[@]}" -- /usr/bin/python3 dns_lookups.py
EXTRA_ENV=RES_OPTIONS=use-vc rec $B dns-glibc-tcp.log "same names with RES_OPTIONS=use-vc: DNS over TCP to 127.0.0.1:53, each query with a 2-byte big-endian length prefix (writev)" \
    "${REC[@]}" -- /usr/bin/python3 dns_lookups.py
rec $B dns-node.log "node: dns.lookup (getaddrinfo on a libuv threadpool thread) and dns.resolve4/resolveTxt (c-ares: connect + sendto NULL), names under x7f3a9.attacker.example" \
    "${REC[@]}" -- /usr/bin/node dns_node.js
rec $B net-connect.log "connect to 169.254.169.254:80 and [fd00:ec2::254]:80 (ENETUNREACH), webhook.site POST with the npm canary, discord webhook, api.telegram.org, stratum login to pool.minexmr.com:3333, a non-registry host; UDP payload with the AWS canary; listen on 0.0.0.0:8080 and [::]:8082. Near misses: registry.npmjs.org:443, 127.0.0.1:8443, UDP payload without canary, listen on 127.0.0.1:8081" \
    "${REC[@]}" -- /usr/bin/python3 net_connect.py
rec $B exfil-node.log "node reads ~/.npmrc and NPM_TOKEN and POSTs them as JSON over http to webhook.site:80 (dns.lookup, connect, write with both canaries)" \
    "${REC[@]}" -- /usr/bin/node exfil.js
rec $B revshell.log "near miss: file and pipe dup2'ed onto 1/0 in a child that execs echo; hit: TCP socket to 127.0.0.1:9001 dup2'ed onto 0,1,2 then execve /bin/sh (the listener sends 'echo pwned-via-reverse-shell; exit')" \
    "${REC[@]}" -- $PROJ/bin/revshell
rec $B exec-tools.log "curl piped to sh, wget to /tmp then sh of it, nc (not installed: failed PATH search), fake dig and socat; near misses /bin/echo with 'curl' in argv, uname, ls" \
    "${REC[@]}" -- /bin/sh exec_tools.sh
rec $B inline-code.log "sh -c, bash -c, python3 -c, node -e, perl -e, base64 -d piped to sh, openssl enc -d; near misses: scripts run from files, base64 encode, openssl version" \
    "${REC[@]}" -- /bin/sh inline_code.sh
rec $B dropper.log "file written to /tmp, chmod +x, exec; same via /dev/shm + fchmod; memfd_create + execveat(AT_EMPTY_PATH); chmod 04755 and 02755; near misses chmod 0644 of a created file, chmod 0755 of a pre-existing project file, exec /usr/bin/true" \
    "${REC[@]}" -- $PROJ/bin/dropper
rec $B antidebug.log "ptrace(PTRACE_TRACEME) (EPERM under strace), /proc/self/status read, PTRACE_ATTACH/POKEDATA on a child, open /proc/<child>/mem O_RDWR + pwrite, process_vm_readv/process_vm_writev; near misses /proc/self/stat, /proc/self/maps" \
    "${REC[@]}" -- $PROJ/bin/antidebug
rec $B privesc.log "mount(2), init_module, finit_module, setuid(0) (all fail, non-root); near misses getuid/geteuid" \
    "${REC[@]}" -- $PROJ/bin/privesc
rec $B publish.log "npm publish, twine upload, cargo publish, sudo, su, pkexec (fakes in /mnt/fakebin), mount(8) (real, fails); near misses npm view, cargo metadata, id" \
    "${REC[@]}" -- /bin/sh publish.sh
rec $B persistence.log "writes to ~/.bashrc, ~/.profile, ~/.zshrc, ~/.config/systemd/user/*.service, ~/.config/autostart, ~/.ssh/authorized_keys, user site-packages .pth (succeed) and /etc/profile.d, /etc/systemd/system, /var/spool/cron/crontabs, /etc/cron.d, /etc/rc.local, /etc/ld.so.preload, /usr/local/lib/python3.11/dist-packages .pth (fail); exec with LD_PRELOAD=/tmp/libhook.so; near misses: read of ~/.profile, writes in the project (incl. a .pth in the project), exec without LD_PRELOAD" \
    "${REC[@]}" -- /usr/bin/python3 persistence.py
rec $B persistence-v.log "persistence.py again with -v added: the execve environment is printed in full, so LD_PRELOAD=/tmp/libhook.so is visible (without -v only '/* 2 vars */' and the loader's failed open of /tmp/libhook.so show it)" \
    "${REC[@]}" -v -- /usr/bin/python3 persistence.py
rec $B tamper.log "write attempts into /usr/bin, /usr/lib, /bin (EACCES); writes to ~/.npmrc, ~/.pypirc, ~/.config/pip/pip.conf, ~/.cargo/config.toml, ~/.gitconfig, ~/.local/share; unlink ~/.bash_history and /var/log/dpkg.log; rmtree of ~/Documents (20 files). Near misses: writes in project/dist, /tmp, ~/.cache, ~/.npm/_cacache; rename and unlink inside the project" \
    "${REC[@]}" -- /usr/bin/python3 tamper.py
rec $B extras.log "one hit and one near miss for seven behaviours: \`sh -c 'curl ... | sh'\` (near misses: curl -o to a file, curl ... | head -c 64); fake miner /mnt/fakebin/xmrig with a stratum+tcp:// pool and --donate-level (near miss: echo of 'xmrig.json'); exec of a non-executable /tmp/.x/kworker (EACCES; near misses: a missing /tmp file (ENOENT), a non-executable project file (EACCES)); fake \`npm whoami\` and \`npm config get //registry.npmjs.org/:_authToken\` (near miss: npm config get prefix); rename of a cache file onto ~/.ssh/authorized_keys and symlink onto /etc/ld.so.preload (EACCES) (near miss: rename onto ~/.ssh/known_hosts); rename onto ~/.bashrc and symlink onto /usr/bin/kworker (EACCES) (near misses: renames inside project/dist and ~/.cache); DNS lookup of metadata.google.internal + connect to it on 80 (near miss: metadata.example.com)" \
    "${REC[@]}" -- /usr/bin/python3 extras.py
cp $S/sinks.log $S/out/behaviour/sinks.txt

# ONLY mode: publish just the recorded behaviour logs, the regenerated
# behaviour README and their sections of sinks.txt; nothing else is touched.
if [ ${#ONLY[@]} -gt 0 ]; then
    [ ${#DONE[@]} -gt 0 ] || die "no behaviour log matches: ${ONLY[*]}"
    [ ${#DONE[@]} = ${#ONLY[@]} ] || die "some names match no behaviour log: ${ONLY[*]} (recorded: ${DONE[*]})"
    for f in "${DONE[@]}"; do cp $S/out/behaviour/$f "$HERE/strace/behaviour/$f"; done
    cp $S/out/behaviour/README.md "$HERE/strace/behaviour/README.md"
    old="$HERE/strace/behaviour/sinks.txt"; [ -e "$old" ] || : > "$old"
    awk -v keep="$(printf 'behaviour/%s\n' "${DONE[@]}")" '
        BEGIN { n = split(keep, k, "\n"); for (i = 1; i <= n; i++) if (k[i] != "") want[k[i]] = 1 }
        FNR == 1 { fi++; cur = "" }
        /^=== / { cur = substr($0, 5); if (fi == 2) order[++no] = cur; next }
        { if (fi == 1) old[cur] = old[cur] $0 "\n"; else new[cur] = new[cur] $0 "\n" }
        END { for (i = 1; i <= no; i++) { c = order[i]; printf "=== %s\n%s", c, (c in want) ? new[c] : old[c] } }
    ' "$old" $S/sinks.log > $S/sinks.merged
    cp $S/sinks.merged "$old"
    exit 0
fi

# The parity runs need only the behaviour programs.
[ -n "${PARITY_OUT:-}" ] && exit 0

# ---------------------------------------------------------------------------
# b. format variants (mostly the same small program, bin/demo)
# ---------------------------------------------------------------------------
: > $S/sinks.log
readme_start formats "Format variants" "The same small programs recorded with each strace option the parser must handle. \`demo\` (corpus/programs/formats/demo.c) reads ~/.npmrc, creates \`/tmp/café \"quoted\" = <x>.txt\` and writes non-ASCII bytes to it, resolves x7f3a9.attacker.example (AF_INET only: glibc sends ONE query with sendto on fd 3; with the default -s 32 the payload string is cut inside the name), forks a child that execs /bin/echo, and waits. Unless a file's command says otherwise, -f is used (demo forks). Expected findings for every demo log: read of ~/.npmrc (registry token), a DNS lookup of x7f3a9.attacker.example, exec of /bin/echo."
F=formats
D=$PROJ/bin/demo
rec $F f-o.log "baseline: -f -o, pid column on every line" -f -- $D
fresh_home
note $F stderr-f.log "cd $PROJ && strace -f $D 2>stderr-f.log >/dev/null" "strace writing to stderr with -f: no prefix until a second task exists, then \`[pid  N] \` prefixes (the tracee writes only to stdout)"
(cd $PROJ && as_user $STRACE -f $D </dev/null >/dev/null 2>$S/out/$F/stderr-f.log) || true
rec $F nof.log "no -f: only the first process is traced (the child's execve is not in the log; no pid column)" -- $D
mkdir -p $S/out/$F/ff && chown $UIDN $S/out/$F/ff
rec $F ff/demo "-ff -o ff/demo: a DIRECTORY of per-pid files ff/demo.PID, no pid column inside" -ff -- $D
rec $F t.log "-t: HH:MM:SS" -f -t -- $D
rec $F tt.log "-tt: HH:MM:SS.micro" -f -tt -- $D
rec $F ttt.log "-ttt: unix seconds.micro" -f -ttt -- $D
rec $F r.log "-r: relative timestamps (seconds.micro since the previous syscall)" -f -r -- $D
rec $F unix-ns.log "--timestamps=unix,ns: unix seconds.nanoseconds" -f --timestamps=unix,ns -- $D
rec $F T.log "-T: <seconds> time spent in each syscall, at the end of the line" -f -T -- $D
rec $F y.log "-y: fd decorations with paths (fd<path>)" -f -y -- $D
rec $F yy.log "-yy: fd decorations with socket endpoints (fd<UDP:[127.0.0.1:38421->127.0.0.1:53]>) and device numbers (nested <...<char 1:3>>)" -f -yy -- $D
rec $F Y.log "-Y: pid<comm> in the pid column" -f -Y -- $D
rec $F x.log "-x: non-ASCII strings printed in hex (whole string as \`\\x..\` when any byte is non-ASCII)" -f -x -- $D
rec $F xx.log "-xx: all strings in hex" -f -xx -- $D
rec $F s8.log "-s 8: strings cut after 8 bytes (\"...\"... ellipsis)" -f -s 8 -- $D
rec $F X-raw.log "-X raw: constants as raw numbers (open flags, AF_INET, ...)" -f -X raw -- $D
rec $F X-verbose.log "-X verbose: raw numbers with the symbolic names in comments" -f -X verbose -- $D
rec $F v.log "-v: unabbreviated structures, full execve environment (contains the env canaries)" -f -v -- $D
if $STRACE -k -o /dev/null /bin/true 2>/dev/null; then
rec $F k.log "-k: a stack trace (\` > /path(sym+off) [0xaddr]\` lines) after every syscall" -f -k -- $D
fi
rec $F i.log "-i: instruction pointer [00007f...] before each call" -f -i -- $D
rec $F n.log "-n: syscall number [ 257] before each call" -f -n -- $D
rec $F write-all.log "-e write=all: full hex dumps (' | 00000  hex  ascii |' lines) of every write-like buffer, even where -s 32 cut the string (the DNS query on fd 3); vectored calls (writev/sendmsg) would add ' * N bytes in buffer M' headers" -f -e write=all -- $D
rec $F read-all.log "-e read=all: hex dumps of everything read" -f -e read=all -- $D
rec $F write-3.log "-e write=3,4: hex dumps only for fds 3 and 4" -f -e write=3,4 -- $D
rec $F recommended.log "the recommended option set -f -tt -T -y -yy -s 256 on demo; also stored compressed as recommended.log.gz and recommended.log.zst" -f -tt -T -y -yy -s 256 -- $D
gzip -9 -n -c $S/out/$F/recommended.log > $S/out/$F/recommended.log.gz
zstd -q -19 -c $S/out/$F/recommended.log > $S/out/$F/recommended.log.zst
rec $F signals.log "SIGCHLD handler in the parent (--- SIGCHLD ... --- + rt_sigreturn), a child stopped by SIGSTOP (--- stopped by SIGSTOP ---) and continued (restart_syscall(<... resuming interrupted clock_nanosleep ...>)), a child killed by SIGKILL (+++ killed by SIGKILL +++)" \
    -f -tt -- $PROJ/bin/signals
rec $F threads.log "three threads blocked in read() on pipes while the main thread writes: interleaved <unfinished ...> / <... read resumed>; each thread then opens ~/.ssh/known_hosts" \
    -f -tt -T -y -- $PROJ/bin/threads
rec $F thread-exec.log "execve from a non-leader thread: '+++ superseded by execve in pid N +++' and the execve resume under the leader's pid" \
    -f -tt -- $PROJ/bin/thread_exec
rec $F pathsearch.log "execvp PATH search: nc (ENOENT in every PATH dir, child exits 127) and curl (ENOENT in /usr/local/bin, then /usr/bin/curl --version)" \
    -f -tt -- $PROJ/bin/pathsearch
rec $F badpath.log "paths that are not valid UTF-8 (bytes 0xff 0xfe, printed as octal escapes \`\\377\\376\`) plus a valid UTF-8 name; with -y the fd decorations carry the same bytes" \
    -f -y -- $PROJ/bin/badpath
fresh_home
note $F badpath-stderr.log "cd $PROJ && strace -f -y $PROJ/bin/badpath 2>badpath-stderr.log" "strace writing to stderr while the tracee ALSO writes to stderr: the program's own message (with raw bytes 0xff 0xfe, not escaped) is interleaved with strace's lines. This is the only file in the corpus that is not valid UTF-8 (strace itself always escapes non-printable bytes)."
(cd $PROJ && as_user $STRACE -f -y $PROJ/bin/badpath </dev/null >/dev/null 2>$S/out/$F/badpath-stderr.log) || true
rec $F badpath-x.log "badpath with -x: the invalid bytes as \`\\xff\\xfe\`" -f -y -x -- $PROJ/bin/badpath

# ---------------------------------------------------------------------------
# c. a real npm install, offline
# ---------------------------------------------------------------------------
: > $S/sinks.log
readme_start npm "Real npm installs (offline)" "npm $(npm --version) on node $(node --version), run offline inside the sandbox with \`strace -f -tt -T -y -yy -s 256\`. The project is \`corpus/programs/npm-project/\` copied to \`$PROJ\`; the package \`corpus/programs/npm-pkg/\` was packed with \`npm pack\` (untraced, inside the sandbox) into \`$HOMEDIR/pkgtrace-evil-demo-1.0.0.tgz\`. Logs larger than 2 MB are stored zstd-compressed. \`sinks.txt\` is what the DNS and TCP sinks received; \`*.stdout\` is npm's own stdout+stderr. Note: even with \`--offline\`, npm's update notifier resolves registry.npmjs.org and connects to it on 443 (a TLS ClientHello reaches the sink) because the fresh HOME has no \`~/.npm/_update-notifier-last-checked\`: that is package-manager behaviour, not package code."
npm_home() {
    fresh_home
    rm -rf $PROJ/* $PROJ/.npmrc $PROJ/.env
    cp "$HERE"/programs/npm-project/package.json $PROJ/
    rm -rf /tmp/npm-pkg; cp -r "$HERE"/programs/npm-pkg /tmp/npm-pkg
    mkdir -p $HOMEDIR/.npm; cp -a $S/npm-cache/. $HOMEDIR/.npm/
    chown -R $UIDN:$UIDN $HOMEDIR /tmp/npm-pkg
    (cd /tmp/npm-pkg && as_user npm pack --offline --no-update-notifier --pack-destination $HOMEDIR >/dev/null 2>&1) || die "npm pack failed"
    rm -rf /tmp/npm-pkg
}
npm_home
note npm install-local-tgz.log "cd $PROJ && strace -f -tt -T -y -yy -s 256 -o install-local-tgz.log npm install --offline --no-audit --no-fund ../pkgtrace-evil-demo-1.0.0.tgz" \
    "npm installs a local tarball whose postinstall (\`sh -c node postinstall.js\`, the declared lifecycle script) reads ~/.npmrc, runs \`/bin/sh -c 'cat ~/.npmrc | base64 > /tmp/.npmrc.b64 && uname -a'\` (inline shell, base64 ENcode), writes /tmp/.pkgtrace-evil-demo-ran with NPM_TOKEN, and looks up x7f3a9.attacker.example and <hex of the npm token>.x7f3a9.attacker.example (dns.lookup: threadpool thread). npm itself reads ~/.npmrc (package manager: near miss)."
(cd $PROJ && as_user $STRACE -f -tt -T -y -yy -s 256 -o $S/out/npm/install-local-tgz.log \
    npm install --offline --no-audit --no-fund ../pkgtrace-evil-demo-1.0.0.tgz </dev/null >$S/out/npm/install-local-tgz.stdout 2>&1) || true
if [ -n "$(ls -A $S/npm-cache 2>/dev/null)" ]; then
    npm_home
    note npm install-left-pad.log "cd $PROJ && strace -f -tt -T -y -yy -s 256 -o install-left-pad.log npm install --offline --no-audit --no-fund left-pad@1.3.0" \
        "control run: left-pad@1.3.0 from the npm cache (pre-fetched outside the sandbox with \`npm cache add left-pad@1.3.0\` into ~/.npm) has no install scripts: only the package manager's own behaviour (reads ~/.npmrc, node opens /etc/ssl/openssl.cnf, writes node_modules and package-lock.json)."
    (cd $PROJ && as_user $STRACE -f -tt -T -y -yy -s 256 -o $S/out/npm/install-left-pad.log \
        npm install --offline --no-audit --no-fund left-pad@1.3.0 </dev/null >$S/out/npm/install-left-pad.stdout 2>&1) || true
fi
cp $S/sinks.log $S/out/npm/sinks.txt
for f in $S/out/npm/*.log; do
    if [ "$(stat -c %s "$f")" -gt 2000000 ]; then zstd -q -19 --rm "$f"; fi
done

# ---------------------------------------------------------------------------
# publish into the corpus (generated files only; hand-written files are kept)
# ---------------------------------------------------------------------------
for g in behaviour formats npm; do
    rm -rf "$HERE/strace/$g"
    cp -r $S/out/$g "$HERE/strace/$g"
done
