'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
//
// Puts terminal escape sequences where a report shows package-controlled
// text: an argv (`sh -c` with a clear-screen and red "PWNED" argument), a
// path it opens (under ~/.ssh, so it is also a finding), and its own
// output. A text report that prints them raw lets a package clear or rewrite
// the user's screen. Everything fails or does nothing; exits at once.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ESC = '\x1b[2J\x1b[31mPWNED';
try {
  spawnSync('/bin/sh', ['-c', 'true "$1"', 'sh', ESC], { stdio: 'ignore' });
} catch (e) { /* ignored */ }
try {
  fs.closeSync(fs.openSync(path.join(os.homedir(), '.ssh', `id_${ESC}`), 'r'));
} catch (e) { /* ENOENT */ }
console.log(`escape-text: ${ESC}\x1b[0m`);
