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
