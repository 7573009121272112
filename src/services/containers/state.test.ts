import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, statusText, initialState, running, exited, restarting, guard } from './state.ts';

test('durations read like docker ps', () => {
  assert.equal(humanDuration(300), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(3500), '3 seconds');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(60 * 60_000), 'About an hour');
  assert.equal(humanDuration(5 * 3600_000), '5 hours');
  assert.equal(humanDuration(3 * 24 * 3600_000), '3 days');
});

test('status text per state', () => {
  const now = Date.parse('2026-01-01T00:00:10Z');
  const s0 = initialState();
  assert.equal(statusText(s0, now), 'Created');
  const s1 = running(s0, 42, new Date('2026-01-01T00:00:07Z'));
  assert.equal(statusText(s1, now), 'Up 3 seconds');
  const s2 = exited(s1, 3, new Date('2026-01-01T00:00:08Z'), false);
  assert.equal(statusText(s2, now), 'Exited (3) 2 seconds ago');
});

test('guards refuse what Docker refuses', () => {
  const r = running(initialState(), 1, new Date());
  assert.throws(
    () => guard.remove('web', r, false),
    /cannot remove container "\/web": container is running: stop the container before removing or force remove/,
  );
  assert.doesNotThrow(() => guard.remove('web', r, true));
  assert.throws(() => guard.kill('abc', initialState()), /Container abc is not running/);
  assert.throws(() => guard.start('web', { ...r, Status: 'paused', Paused: true }), /cannot start a paused container/);
  assert.doesNotThrow(() => guard.top('abc', r));
  assert.throws(() => guard.top('abc', initialState()), /container abc is not running/);
  assert.throws(
    () => guard.top('abc', restarting(r, 1, new Date(), false)),
    /Container abc is restarting, wait until the container is running/,
  );
});
