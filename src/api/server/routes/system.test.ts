import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTime } from './system.ts';

test("a prune's until=<duration> is cut to its second as dockerd's GetTimestamp; timestamps keep their fraction", () => {
  const before = Date.now();
  const ns = parseTime('0s', true, true)!;
  const after = Date.now();
  assert.equal(ns % 1e9, 0, 'a whole second');
  assert.ok(ns >= Math.floor(before / 1000) * 1e9 && ns <= after * 1e6);
  const hour = parseTime('1h', true, true)!;
  assert.equal(hour % 1e9, 0);
  assert.ok(Math.abs(ns - hour - 3600e9) <= 1e9);
  assert.equal(parseTime('1700000000.5', true, true), 1700000000.5e9, 'a timestamp as given');
  assert.equal(parseTime('2024-01-02T03:04:05.250Z', true, true), Date.parse('2024-01-02T03:04:05.250Z') * 1e6);
  assert.throws(() => parseTime('soon', true, true), /failed to parse value as time or duration: "soon"/);
});
