import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atoi, boolValue, int64OrZero, logsTail, optionalInt, unixTimestamp } from './query.ts';

test('booleans: false only for empty, 0, no, false, none (any case, spaces around); absent is the default', () => {
  for (const v of ['', '0', 'no', 'NO', 'false', 'False', 'FALSE', 'none', ' false ', '\t0'])
    assert.equal(boolValue(v), false, JSON.stringify(v));
  for (const v of ['1', 'true', 'True', 'TRUE', 'yes', 'on', 'off', '2', '-1', 'x', ' 1 '])
    assert.equal(boolValue(v), true, JSON.stringify(v));
  assert.equal(boolValue(null), false);
  assert.equal(boolValue(null, true), true);
  assert.equal(boolValue('', true), false, 'present but empty is false even with a default of true');
});

test("integers as Go's Atoi: a sign and digits within int64, nothing else", () => {
  assert.equal(atoi('5'), 5);
  assert.equal(atoi('-1'), -1);
  assert.equal(atoi('+2'), 2);
  assert.equal(atoi('007'), 7);
  for (const v of ['', ' 3', '3 ', '1.5', 'abc', '0x10', '1e3', '1_000'])
    assert.throws(() => atoi(v), { message: `strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax` });
  assert.throws(() => atoi('9223372036854775808'), /value out of range/);
  assert.equal(atoi('9223372036854775807'), 9223372036854775807);
  assert.equal(optionalInt(null), undefined);
  assert.equal(optionalInt(''), undefined);
  assert.equal(int64OrZero('abc'), 0);
  assert.equal(int64OrZero('1g'), 0);
  assert.equal(int64OrZero('1024'), 1024);
});

test('logs tail: a count; anything else, and any negative count, is every line', () => {
  assert.equal(logsTail('0'), 0);
  assert.equal(logsTail('-0'), 0);
  assert.equal(logsTail('10'), 10);
  assert.equal(logsTail('+3'), 3);
  for (const v of [null, 'all', '-1', '-5', 'abc', '3.5', '', ' 2']) assert.equal(logsTail(v), undefined, String(v));
});

test('unix timestamps: seconds and a fraction scaled to nanoseconds; dates and durations refused', () => {
  assert.equal(unixTimestamp('1'), 1e9);
  assert.equal(unixTimestamp('1.5'), 1.5e9);
  assert.equal(unixTimestamp('-1'), -1e9);
  assert.equal(unixTimestamp('0'), 0);
  assert.equal(unixTimestamp('1700000000.000000001'), 1700000000e9 + 1);
  for (const v of ['1700000000.', '.5', 'abc', '10m', '2026-01-01T00:00:00Z', '1e3', ''])
    assert.throws(() => unixTimestamp(v), /strconv.ParseInt: parsing/, v);
});
