import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  exitStatus,
  negotiate,
  ResizeDecoder,
  SPDY_PORTFORWARD,
  SPDY_REMOTECOMMAND,
  WS_PORTFORWARD,
  WS_REMOTECOMMAND,
} from './channels.ts';
import { RequestCache, TOKEN_TTL_MS } from './requests.ts';

test("the protocol is the client's first choice the server knows; none offered is the oldest binary one", () => {
  assert.equal(negotiate(['v4.channel.k8s.io', 'v3.channel.k8s.io'], SPDY_REMOTECOMMAND), 'v4.channel.k8s.io');
  assert.equal(negotiate(['v9.channel.k8s.io', 'v2.channel.k8s.io'], SPDY_REMOTECOMMAND), 'v2.channel.k8s.io');
  assert.equal(negotiate(['v5.channel.k8s.io', 'v4.channel.k8s.io'], WS_REMOTECOMMAND), 'v5.channel.k8s.io');
  assert.equal(negotiate(['v5.channel.k8s.io', 'v4.channel.k8s.io'], WS_PORTFORWARD), 'v4.channel.k8s.io');
  assert.equal(negotiate([], WS_REMOTECOMMAND), 'channel.k8s.io');
  assert.equal(negotiate([], SPDY_PORTFORWARD), 'portforward.k8s.io');
  assert.equal(negotiate(['portforward.k8s.io'], SPDY_REMOTECOMMAND), undefined);
});

test('v4 and v5 clients get a Status with the exit code as its cause; older ones text, and nothing on success', () => {
  assert.deepEqual(JSON.parse(exitStatus('v4.channel.k8s.io', 0)!.toString()), { metadata: {}, status: 'Success' });
  const failed = JSON.parse(exitStatus('v5.channel.k8s.io', 3)!.toString());
  assert.equal(failed.status, 'Failure');
  assert.equal(failed.reason, 'NonZeroExitCode');
  assert.deepEqual(failed.details.causes, [{ reason: 'ExitCode', message: '3' }]);
  const err = JSON.parse(exitStatus('v4.channel.k8s.io', undefined, 'no such container')!.toString());
  assert.deepEqual(err, { metadata: {}, status: 'Failure', message: 'no such container' });
  assert.equal(exitStatus('v2.channel.k8s.io', 0), undefined);
  assert.equal(exitStatus('channel.k8s.io', 2)!.toString(), 'command terminated with non-zero exit code: 2');
});

test('terminal sizes: one per JSON object, however the bytes are cut; nonsense sizes are dropped', () => {
  const d = new ResizeDecoder();
  assert.deepEqual(d.push('{"Width":100,"He'), []);
  assert.deepEqual(d.push('ight":30}\n{"Width":80,"Height":24}\n'), [
    { width: 100, height: 30 },
    { width: 80, height: 24 },
  ]);
  assert.deepEqual(d.push('{"Width":0,"Height":24}{"Width":"x"}not json{"Width":1,"Height":1}'), [
    { width: 1, height: 1 },
  ]);
});

test('a token is good once, and for a minute', () => {
  let now = 1000;
  const c = new RequestCache<string>(() => now);
  const a = c.insert('a');
  const b = c.insert('b');
  assert.match(a, /^[A-Za-z0-9_-]{11}$/);
  assert.equal(c.consume(a), 'a');
  assert.equal(c.consume(a), undefined);
  now += TOKEN_TTL_MS;
  assert.equal(c.consume(b), undefined);
  c.insert('c');
  now += TOKEN_TTL_MS;
  assert.equal(c.size, 0);
});
