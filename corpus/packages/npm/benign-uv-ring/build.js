'use strict';
// pkgtrace test corpus, benign. Builds ring.c as bin/node and runs it: what
// Node 22 does at its start (libuv's epoll-control rings), from a process
// whose executable is named node, as the real one's is.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

fs.mkdirSync(path.join(__dirname, 'bin'), { recursive: true });
const node = path.join(__dirname, 'bin', 'node');
const cc = spawnSync('cc', ['-O2', '-o', node, 'ring.c'], { cwd: __dirname, stdio: 'inherit' });
if (cc.status !== 0) {
  console.log('uv-ring: could not build ring.c');
  process.exit(0);
}
spawnSync(node, [], { stdio: 'inherit', timeout: 5000 });
