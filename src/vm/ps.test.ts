import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestProcessTable } from './ps.ts';

test("the guest's processes read as ps -ef's table: a terminal, CPU time and start time from the guest's clock", () => {
  const now = new Date(2026, 11, 6, 15, 30, 0);
  // Up 100 s at 100 ticks a second: pid 1 started at 40 s (a minute ago) and used 3 s of CPU.
  const text = ['100.00 100', '0 7 1 34816 12 9000 sleep 5', '0 1 0 0 300 4000 sh -c while :; do :; done', ''].join(
    '\n',
  );
  assert.equal(
    guestProcessTable(text, now),
    [
      'UID PID PPID C STIME TTY   TIME     CMD',
      '0   1   0    5 15:29 ?     00:00:03 sh -c while :; do :; done',
      '0   7   1    1 15:29 pts/0 00:00:00 sleep 5',
      '',
    ].join('\n'),
  );
});

test('a stopped VM has the titles and no processes', () => {
  assert.equal(guestProcessTable('0 100\n', new Date()), 'UID PID PPID C STIME TTY TIME CMD\n');
});
