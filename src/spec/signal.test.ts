import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseSignal, signalNumber } from './index.ts';

test('signals by name, short name, number string and number', () => {
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('term'), 15);
  assert.equal(signalNumber('9'), 9);
  assert.equal(signalNumber(2), 2);
  assert.equal(signalNumber('RTMIN+3'), undefined);
  assert.equal(signalNumber(0), undefined);
});

test('a signal the API takes is normalised to its name, a real-time one kept as given', () => {
  assert.equal(normaliseSignal('9'), 'SIGKILL');
  assert.equal(normaliseSignal('kill'), 'SIGKILL');
  assert.equal(normaliseSignal(' sigterm '), 'SIGTERM');
  assert.equal(normaliseSignal('40'), '40');
  assert.equal(normaliseSignal('SIGRTMIN+3'), 'SIGRTMIN+3');
  assert.throws(() => normaliseSignal('33'), /Invalid signal: 33/);
  assert.throws(() => normaliseSignal('NOPE'), /Invalid signal: NOPE/);
});

test('the same table names and numbers signals for the API and for the runtime', () => {
  for (let n = 1; n <= 31; n++) assert.equal(signalNumber(normaliseSignal(String(n))), n);
});
