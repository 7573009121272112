import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, imageUser, qualified } from './images.ts';
import { conditions } from './runtime.ts';

test('names are reported fully qualified, as CRI clients compare them', () => {
  assert.equal(qualified('busybox:latest'), 'docker.io/library/busybox:latest');
  assert.equal(qualified('registry.k8s.io/pause:3.9'), 'registry.k8s.io/pause:3.9');
  assert.equal(
    qualified('gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:' + 'a'.repeat(64)),
    'gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:' + 'a'.repeat(64),
  );
  assert.equal(qualified('127.0.0.1:5000/app:1'), '127.0.0.1:5000/app:1');
});

test("an image's user: a number is a uid, a name a username, with or without a group; none when unset", () => {
  assert.deepEqual(imageUser('1002'), { uid: { value: '1002' }, username: '' });
  assert.deepEqual(imageUser('1003:1003'), { uid: { value: '1003' }, username: '' });
  assert.deepEqual(imageUser('www-data'), { uid: null, username: 'www-data' });
  assert.deepEqual(imageUser('www-data:www-data'), { uid: null, username: 'www-data' });
  assert.deepEqual(imageUser(''), { uid: null, username: '' });
  assert.deepEqual(imageUser(undefined), { uid: null, username: '' });
});

test('registry credentials from a CRI auth config: user and password, or base64 auth, or tokens', () => {
  const none = { username: '', password: '', auth: '', server_address: '', identity_token: '', registry_token: '' };
  assert.equal(credentials(null), undefined);
  assert.equal(credentials(none), undefined);
  assert.deepEqual(credentials({ ...none, username: 'u', password: 'p' }), { username: 'u', password: 'p' });
  assert.deepEqual(credentials({ ...none, auth: Buffer.from('alice:s3:cret').toString('base64') }), {
    username: 'alice',
    password: 's3:cret',
  });
  assert.deepEqual(credentials({ ...none, identity_token: 'rt', registry_token: 'bt' }), {
    identityToken: 'rt',
    registryToken: 'bt',
  });
  assert.throws(() => credentials({ ...none, auth: Buffer.from('nocolon').toString('base64') }), /not base64/);
});

test('status: the runtime is ready, the network honestly not (no CNI yet)', () => {
  const [runtime, network] = conditions();
  assert.deepEqual([runtime!.type, runtime!.status], ['RuntimeReady', true]);
  assert.deepEqual([network!.type, network!.status, network!.reason], ['NetworkReady', false, 'NetworkPluginNotReady']);
});

test("status: NetworkReady is the CNI network's readiness when berthd gives it", () => {
  const [, ready] = conditions({ ready: true, reason: '', message: '' });
  assert.deepEqual([ready!.type, ready!.status], ['NetworkReady', true]);
  const [, not] = conditions({ ready: false, reason: 'NetworkPluginNotReady', message: 'cni config uninitialized' });
  assert.deepEqual(
    [not!.status, not!.reason, not!.message],
    [false, 'NetworkPluginNotReady', 'cni config uninitialized'],
  );
});
