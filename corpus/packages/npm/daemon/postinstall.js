'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// Leaves a detached node process behind that never exits by itself; the
// tracer must kill it at the end of the phase.
const { spawn } = require('child_process');
try {
  spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { detached: true, stdio: 'ignore' }).unref();
} catch (e) { /* ignored */ }
process.exit(0);
