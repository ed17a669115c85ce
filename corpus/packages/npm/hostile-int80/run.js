'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
// Builds int80.c with the system's C compiler and runs it.
const { spawnSync } = require('child_process');
const path = require('path');

const cc = spawnSync('cc', ['-O2', '-o', 'int80', 'int80.c'], { cwd: __dirname, stdio: 'inherit' });
if (cc.status !== 0) {
  console.log('int80: could not build int80.c');
  process.exit(0);
}
spawnSync(path.join(__dirname, 'int80'), [], { stdio: 'inherit', timeout: 5000 });
