'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
//
// Fills the disk: writes 64 MiB files into $HOME, /tmp and /dev/shm, one
// place after the other, until a write fails. Prints how much each place
// took and the total on stdout, and the error (ENOSPC, EDQUOT, ...) on
// stderr. It stops at 2 GiB per place whatever happens, so that even with
// no limit at all it ends and fills no real disk; the files stay where
// they were written (the sandbox's HOME and tmpfs, thrown away with it).
const fs = require('fs');
const os = require('os');
const path = require('path');

const CHUNK = 64 * 1024 * 1024;
const CAP = 2048 * 1024 * 1024;
const buf = Buffer.alloc(CHUNK, 0x5a);
let total = 0;
for (const dir of [os.homedir(), '/tmp', '/dev/shm']) {
  let written = 0;
  let why = 'stopped at 2 GiB';
  for (let n = 0; written < CAP; n++) {
    let fd;
    try {
      fd = fs.openSync(path.join(dir, `pkgtrace-fill-${n}`), 'w');
      for (let off = 0; off < CHUNK;) {
        const w = fs.writeSync(fd, buf, off, CHUNK - off);
        off += w;
        written += w;
      }
    } catch (e) {
      why = e.code || String(e);
      console.error(`write ${dir}: ${why}`);
      break;
    } finally {
      if (fd !== undefined) try { fs.closeSync(fd); } catch (e) { /* ignored */ }
    }
  }
  console.log(`${dir}: ${written} bytes (${why})`);
  total += written;
}
console.log(`total ${total} bytes`);
