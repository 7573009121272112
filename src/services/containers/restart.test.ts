import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, restartOnExit, restartOnDaemonStart, BACKOFF_MAX_MS } from './restart.ts';

const exit = (exitCode: number, extra: { manuallyStopped?: boolean; restartCount?: number } = {}) => ({
  exitCode,
  manuallyStopped: false,
  restartCount: 0,
  ...extra,
});

test('on exit: always and unless-stopped restart, no does not, a user stop wins', () => {
  assert.equal(restartOnExit({ Name: 'always' }, exit(0)), true);
  assert.equal(restartOnExit({ Name: 'unless-stopped' }, exit(3)), true);
  assert.equal(restartOnExit({ Name: 'no' }, exit(1)), false);
  assert.equal(restartOnExit(undefined, exit(1)), false);
  assert.equal(restartOnExit({ Name: 'always' }, exit(137, { manuallyStopped: true })), false);
});

test('on-failure restarts on a non-zero code until its retry budget is spent', () => {
  assert.equal(restartOnExit({ Name: 'on-failure' }, exit(0)), false);
  assert.equal(restartOnExit({ Name: 'on-failure' }, exit(1, { restartCount: 100 })), true);
  assert.equal(restartOnExit({ Name: 'on-failure', MaximumRetryCount: 2 }, exit(1, { restartCount: 1 })), true);
  assert.equal(restartOnExit({ Name: 'on-failure', MaximumRetryCount: 2 }, exit(1, { restartCount: 2 })), false);
});

test('at daemon start: always even after a user stop, unless-stopped only without one, never a container never started', () => {
  const stopped = { ...exit(0, { manuallyStopped: true }), everStarted: true };
  assert.equal(restartOnDaemonStart({ Name: 'always' }, stopped), true);
  assert.equal(restartOnDaemonStart({ Name: 'unless-stopped' }, stopped), false);
  assert.equal(restartOnDaemonStart({ Name: 'unless-stopped' }, { ...exit(0), everStarted: true }), true);
  assert.equal(restartOnDaemonStart({ Name: 'on-failure' }, { ...exit(2), everStarted: true }), true);
  assert.equal(restartOnDaemonStart({ Name: 'always' }, { ...exit(0), everStarted: false }), false);
});

test('back-off doubles from 100 ms to a minute and resets after 10 s up', () => {
  const b = new Backoff();
  const delays = Array.from({ length: 12 }, () => b.next(50));
  assert.deepEqual(delays.slice(0, 5), [100, 200, 400, 800, 1600]);
  assert.equal(delays.at(-1), BACKOFF_MAX_MS);
  assert.equal(b.next(10_000), 100);
  assert.equal(b.next(9_999), 200);
});
