'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
// Builds uring.c with the system's C compiler and runs it.
const { spawnSync } = require('child_process');
const path = require('path');

const cc = spawnSync('cc', ['-O2', '-o', 'uring', 'uring.c'], { cwd: __dirname, stdio: 'inherit' });
if (cc.status !== 0) {
  console.log('io_uring: could not build uring.c');
  process.exit(0);
}
spawnSync(path.join(__dirname, 'uring'), [], { stdio: 'inherit', timeout: 5000 });
