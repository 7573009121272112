import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetachScanner, parseDetachKeys } from './attach.ts';

test("detach keys parse like Docker's", () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-@,a,ctrl-_')], [0, 97, 31]);
  assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys/);
  assert.throws(() => parseDetachKeys('meta-x'), /Invalid detach keys/);
});

test('the detach sequence is found across chunks and held back, other bytes pass', () => {
  const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
  assert.deepEqual(s.push(Buffer.from('ab\x10')), { pass: Buffer.from('ab'), detached: false });
  assert.deepEqual(s.push(Buffer.from('\x11tail')), { pass: Buffer.from(''), detached: true });
});

test('a partial sequence that does not complete is passed on intact', () => {
  const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
  assert.deepEqual(s.push(Buffer.from('\x10x')), { pass: Buffer.from('\x10x'), detached: false });
  assert.deepEqual(s.push(Buffer.from('\x10\x10\x11')), { pass: Buffer.from('\x10'), detached: true });
});
