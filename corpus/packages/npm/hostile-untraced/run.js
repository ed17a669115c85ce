'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
// Builds untraced.c with the system's C compiler and runs it with this
// package's marker (from marker.json, written by the test) as its argument,
// so a process that escaped can be found by its command line.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

let marker = 'nomarker';
try { marker = JSON.parse(fs.readFileSync(path.join(__dirname, 'marker.json'), 'utf8')).marker; } catch (e) { /* default */ }
const cc = spawnSync('cc', ['-O2', '-o', 'untraced', 'untraced.c'], { cwd: __dirname, stdio: 'inherit' });
if (cc.status !== 0) {
  console.log('untraced: could not build untraced.c');
  process.exit(0);
}
spawnSync(path.join(__dirname, 'untraced'), [`pkgtrace-untraced-${marker}`], { stdio: 'inherit', timeout: 5000 });
