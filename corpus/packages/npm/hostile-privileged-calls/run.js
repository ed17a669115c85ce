'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
// Builds escape_calls.c with the system's C compiler and runs it on a
// directory of its own under /tmp (the device node it tries goes there).
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const cc = spawnSync('cc', ['-O2', '-o', 'escape_calls', 'escape_calls.c'], { cwd: __dirname, stdio: 'inherit' });
if (cc.status !== 0) {
  console.log('escape_calls: could not build escape_calls.c');
  process.exit(0);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'escape-calls-'));
spawnSync(path.join(__dirname, 'escape_calls'), [dir], { stdio: 'inherit', timeout: 5000 });
