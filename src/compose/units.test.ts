import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBytes, parseDuration, splitShell } from './units.ts';

test('sizes as go-units reads them', () => {
  assert.equal(parseBytes('512m'), 512 * 1024 * 1024);
  assert.equal(parseBytes('1gb'), 1024 ** 3);
  assert.equal(parseBytes('64K'), 65536);
  assert.equal(parseBytes(100), 100);
  assert.throws(() => parseBytes('lots'));
});

test('Go durations', () => {
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.equal(parseDuration('500ms'), 5e8);
  assert.equal(parseDuration('1.5s'), 1.5e9);
  assert.throws(() => parseDuration('10'));
});

test('commands split as shlex does', () => {
  assert.deepEqual(splitShell(`sh -c 'echo "hi there"; exit 1'`), ['sh', '-c', 'echo "hi there"; exit 1']);
  assert.deepEqual(splitShell('a "b \\"c\\"" d\\ e'), ['a', 'b "c"', 'd e']);
  assert.deepEqual(splitShell(''), []);
  assert.throws(() => splitShell("echo 'x"));
});
