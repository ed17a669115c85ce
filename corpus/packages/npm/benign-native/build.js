'use strict';
// Benign: imitates a native build step. Writes build/out.node.txt inside this
// package's own directory and compiles nothing.
const fs = require('fs');
const path = require('path');
try {
  const dir = path.join(__dirname, 'build');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'out.node.txt'), `built by ${process.version} on ${process.platform}-${process.arch}\n`);
} catch (e) { /* ignored */ }
process.exit(0);
