import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListen, parseRegistryFlags } from './registry-main.ts';

test('berth-registry flags: defaults are loopback:5000 and /var/lib/berth-registry', () => {
  assert.deepEqual(parseRegistryFlags([]), {
    host: '127.0.0.1',
    port: 5000,
    root: '/var/lib/berth-registry',
    realm: 'berth-registry',
    logLevel: 'info',
    help: false,
  });
  const cfg = parseRegistryFlags(['--listen', '127.0.0.1:5001', '--root=/tmp/r', '-l', 'debug']);
  assert.equal(cfg.port, 5001);
  assert.equal(cfg.root, '/tmp/r');
  assert.equal(cfg.logLevel, 'debug');
  assert.equal(parseRegistryFlags(['-h']).help, true);
  const auth = parseRegistryFlags(['--htpasswd', '/etc/htpasswd', '--realm=Private']);
  assert.equal(auth.htpasswd, '/etc/htpasswd');
  assert.equal(auth.realm, 'Private');
});

test('berth-registry flags: listen addresses and mistakes', () => {
  assert.deepEqual(parseListen(':5000'), { host: '0.0.0.0', port: 5000 });
  assert.deepEqual(parseListen('[::1]:5000'), { host: '::1', port: 5000 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['5000', '127.0.0.1:', '127.0.0.1:70000', '::1:5000'])
    assert.throws(() => parseListen(bad), /invalid --listen/, bad);
  assert.throws(() => parseRegistryFlags(['--root']), /needs an argument/);
  assert.throws(() => parseRegistryFlags(['--log-level', 'loud']), /invalid log level/);
  assert.throws(() => parseRegistryFlags(['serve']), /unknown flag/);
});

test('berth-registry TLS flags: both files or neither, and Basic auth off loopback only with TLS', () => {
  const tls = parseRegistryFlags(['--tls-cert', '/c.pem', '--tls-key=/k.pem', '--tls-client-ca', '/ca.pem']);
  assert.deepEqual([tls.tlsCert, tls.tlsKey, tls.tlsClientCa], ['/c.pem', '/k.pem', '/ca.pem']);
  assert.throws(() => parseRegistryFlags(['--tls-cert', '/c.pem']), /--tls-cert and --tls-key go together/);
  assert.throws(() => parseRegistryFlags(['--tls-client-ca', '/ca.pem']), /--tls-client-ca needs --tls-cert/);
  assert.throws(
    () => parseRegistryFlags(['--listen', ':5000', '--htpasswd', '/h']),
    /refusing Basic auth over plain HTTP on 0\.0\.0\.0:5000: passwords would cross the network merely base64-encoded/,
  );
  assert.throws(
    () => parseRegistryFlags(['--listen', 'registry.example:5000', '--htpasswd', '/h']),
    /refusing Basic auth/,
  );
  // on loopback, or with TLS, it is allowed
  parseRegistryFlags(['--listen', '127.0.0.1:5000', '--htpasswd', '/h']);
  parseRegistryFlags(['--listen', '[::1]:5000', '--htpasswd', '/h']);
  parseRegistryFlags(['--listen', ':5000', '--htpasswd', '/h', '--tls-cert', '/c', '--tls-key', '/k']);
});
