import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposure, infoWarnings, refusal, resolveApiTls } from './apitls.ts';

const none = () => false;

test('a TCP listener with client verification is fine anywhere; without it, only on loopback or by explicit choice', () => {
  const verified = resolveApiTls({ tlsVerify: true }, {}, none);
  const plain = resolveApiTls({}, {}, none);
  const plainOnPurpose = resolveApiTls({ tls: false }, {}, none);
  const unverified = resolveApiTls({ tlsVerify: false }, {}, none);
  assert.equal(exposure(verified, false), 'ok');
  assert.equal(exposure(plain, true), 'warn');
  assert.equal(exposure(plain, false), 'refuse');
  assert.equal(exposure(plainOnPurpose, false), 'warn');
  assert.equal(exposure(unverified, false), 'warn');
  assert.match(
    refusal('tcp://0.0.0.0:2375'),
    /You can override this by explicitly specifying '--tls=false' or '--tlsverify=false'/,
  );
});

test('docker info warns of every TCP listener without encryption or client verification', () => {
  const hosts = ['unix:///run/berth/berth.sock', 'tcp://127.0.0.1:2375'];
  assert.match(
    infoWarnings(hosts, resolveApiTls({}, {}, none))[0]!,
    /^WARNING: API is accessible on http:\/\/127.0.0.1:2375 without encryption\./,
  );
  assert.match(
    infoWarnings(hosts, resolveApiTls({ tlsVerify: false }, {}, none))[0]!,
    /^WARNING: API is accessible on https:\/\/127.0.0.1:2375 without TLS client verification\./,
  );
  assert.deepEqual(infoWarnings(hosts, resolveApiTls({ tlsVerify: true }, {}, none)), []);
});

test('the default certificate files are found in DOCKER_CERT_PATH, else DOCKER_CONFIG, else ~/.docker', () => {
  const has = (p: string) => p.endsWith('.pem');
  assert.equal(resolveApiTls({ tls: true }, {}, has, '/home/u').cert, '/home/u/.docker/cert.pem');
  assert.equal(resolveApiTls({ tls: true }, { DOCKER_CONFIG: '/cfg' }, has).key, '/cfg/key.pem');
  assert.equal(resolveApiTls({ tls: true }, { DOCKER_CERT_PATH: '/p', DOCKER_CONFIG: '/cfg' }, has).ca, '/p/ca.pem');
});
