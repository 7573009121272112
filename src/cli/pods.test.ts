import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byTime } from './pods.ts';

test("pod logs order the members' lines by their times, whose fractions the daemon trims of trailing zeros", () => {
  const times = ['2026-12-06T15:11:50.5Z', '2026-12-06T15:11:49.02Z', '2026-12-06T15:11:49.1Z', '2026-12-06T15:11:49Z'];
  assert.deepEqual(
    times
      .map((time) => ({ time }))
      .sort(byTime)
      .map((l) => l.time),
    ['2026-12-06T15:11:49Z', '2026-12-06T15:11:49.02Z', '2026-12-06T15:11:49.1Z', '2026-12-06T15:11:50.5Z'],
  );
});
