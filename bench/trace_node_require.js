// bench/trace.sh workload (c): require every module under npm's own
// node_modules that loads without error.  Module-heavy, few processes.
//   node bench/trace_node_require.js [NPM_DIR]
// NPM_DIR defaults to <node prefix>/lib/node_modules/npm (what
// `$(npm root -g)/npm` is on a standard install); trace.sh passes it.
// Prints "<loaded> <failed>" on stdout; exits 0 unless nothing loaded.
'use strict';
const path = require('path');
const fs = require('fs');

const npmDir = process.argv[2] ||
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
const nm = path.join(npmDir, 'node_modules');

const names = [];
for (const e of fs.readdirSync(nm).sort()) {
  if (e.startsWith('.')) continue;                 // .bin, .package-lock.json
  if (e.startsWith('@')) {                         // scoped: @npmcli/*, @sigstore/*
    for (const s of fs.readdirSync(path.join(nm, e)).sort()) names.push(path.join(e, s));
  } else {
    names.push(e);
  }
}

let ok = 0, failed = 0;
for (const n of names) {
  try { require(path.join(nm, n)); ok++; } catch (e) { failed++; }
}
process.stdout.write(`${ok} ${failed}\n`);
// Some modules leave handles (timers, signal listeners); don't wait on them.
process.exit(ok > 0 ? 0 : 1);
