import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePs } from './top.ts';

test("docker top keeps ps's columns and only the container's rows, commands with their spaces", () => {
  const out = [
    'UID          PID    PPID  C STIME TTY          TIME CMD',
    'root           1       0  0 08:00 ?        00:00:01 /sbin/init',
    'root        4242    4200  0 08:01 ?        00:00:00 sh -c sleep 100',
    'root        4243    4242  0 08:01 ?        00:00:00 sleep 100',
    '',
  ].join('\n');
  const t = parsePs(out, new Set([4242, 4243]));
  assert.deepEqual(t.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.deepEqual(
    t.Processes.map((p) => p.at(-1)),
    ['sh -c sleep 100', 'sleep 100'],
  );
});

test('ps output without a PID column is refused', () => {
  assert.throws(() => parsePs('USER COMMAND\nroot init\n', new Set([1])), /Couldn't find PID field/);
});
