'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// Tries to leave the sandbox: writes to root's real home and to /etc, and
// connects to non-loopback addresses. Every attempt must FAIL in the sandbox
// (EACCES / ENETUNREACH). Writes nothing else. Prints what happened.
const fs = require('fs');
const net = require('net');
const crypto = require('crypto');

setTimeout(() => process.exit(0), 3000).unref();
process.on('uncaughtException', () => process.exit(0));

const results = [];
for (const file of [`/root/.pkgtrace-escape-${crypto.randomBytes(4).toString('hex')}`, '/etc/pkgtrace-escape']) {
  try {
    fs.writeFileSync(file, 'pkgtrace-test-escape\n', { flag: 'wx' });
    results.push(`write ${file}: ESCAPED`);
  } catch (e) { results.push(`write ${file}: ${e.code}`); }
}

let pending = 0;
function report() {
  if (--pending > 0) return;
  console.log('pkgtrace-test-escape: ' + results.join('; '));
  process.exit(0);
}
for (const [host, port] of [['1.1.1.1', 443], ['10.0.0.1', 80]]) {
  pending++;
  let settled = false;
  const settle = (what) => { if (!settled) { settled = true; results.push(`connect ${host}:${port}: ${what}`); sock.destroy(); report(); } };
  const sock = net.connect({ host, port, timeout: 2500 });
  sock.on('connect', () => settle('ESCAPED'));
  sock.on('error', (e) => settle(e.code));
  sock.on('timeout', () => settle('timeout'));
}
