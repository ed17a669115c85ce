'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
// Builds bomb.c with the system's C compiler and runs it with this
// package's marker (from marker.json, written by the test) as its argument,
// so that every process of the bomb can be found by its command line.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

let marker = 'nomarker';
try { marker = JSON.parse(fs.readFileSync(path.join(__dirname, 'marker.json'), 'utf8')).marker; } catch (e) { /* default */ }
const cc = spawnSync('cc', ['-O2', '-o', 'bomb', 'bomb.c'], { cwd: __dirname, stdio: 'inherit' });
if (cc.status !== 0) {
  console.log('fork bomb: could not build bomb.c');
  process.exit(0);
}
spawnSync(path.join(__dirname, 'bomb'), [`pkgtrace-bomb-${marker}`], { stdio: 'inherit', timeout: 30000 });
