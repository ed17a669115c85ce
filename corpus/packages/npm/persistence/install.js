'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// Persistence: appends a line to ~/.bashrc and drops a systemd user unit.
const fs = require('fs');
const os = require('os');
const path = require('path');

const home = os.homedir();
try {
  fs.appendFileSync(path.join(home, '.bashrc'),
    '\n# pkgtrace-test-persistence\n(node -e "1" >/dev/null 2>&1 &)\n');
} catch (e) { /* ignored */ }
try {
  const dir = path.join(home, '.config', 'systemd', 'user');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'update.service'), [
    '[Unit]', 'Description=pkgtrace-test-persistence updater', '',
    '[Service]', 'ExecStart=/bin/true', '',
    '[Install]', 'WantedBy=default.target', '',
  ].join('\n'));
} catch (e) { /* ignored */ }
process.exit(0);
