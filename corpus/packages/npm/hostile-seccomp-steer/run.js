'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
// Builds steer.c with the system's C compiler and runs it.
const { spawnSync } = require('child_process');
const path = require('path');

const cc = spawnSync('cc', ['-O2', '-o', 'steer', 'steer.c'], { cwd: __dirname, stdio: 'inherit' });
if (cc.status !== 0) {
  console.log('steer: could not build steer.c');
  process.exit(0);
}
spawnSync(path.join(__dirname, 'steer'), [], { stdio: 'inherit', timeout: 5000 });
