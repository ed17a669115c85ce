'use strict';
// pkgtrace test corpus. Not malicious: prints what the sandbox's network
// namespace looks like from inside, so that a test can check there is only
// loopback and no route out. Each file is printed after a `==> PATH <==`
// line (or `==> PATH <== missing: CODE`), the last line is
// `net-lists-interfaces: done`. Exits 0 whatever fails.
const fs = require('fs');

setTimeout(() => process.exit(0), 3000).unref();
for (const name of ['dev', 'route', 'if_inet6', 'ipv6_route']) {
  const file = `/proc/net/${name}`;
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) {
    console.log(`==> ${file} <== missing: ${e.code || e.message}`);
    continue;
  }
  console.log(`==> ${file} <==`);
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}
console.log('net-lists-interfaces: done');
process.exit(0);
