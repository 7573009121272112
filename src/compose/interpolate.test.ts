import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolate, parseEnvFile, InterpolationError } from './interpolate.ts';

const env: Record<string, string> = { A: 'a', EMPTY: '', N: '3' };
const look = (k: string) => env[k];

test('plain, braced and default forms', () => {
  assert.equal(interpolate('$A-${A}', look), 'a-a');
  assert.equal(interpolate('${NOPE}x', look), 'x');
  assert.equal(interpolate('${NOPE:-def}', look), 'def');
  assert.equal(interpolate('${EMPTY:-def}', look), 'def');
  assert.equal(interpolate('${EMPTY-def}', look), '');
  assert.equal(interpolate('${NOPE-def}', look), 'def');
  assert.equal(interpolate('${A:+alt}|${NOPE:+alt}|${EMPTY+alt}', look), 'alt||alt');
});

test('nested defaults and $$ escapes', () => {
  assert.equal(interpolate('${NOPE:-${A}-${N}}', look), 'a-3');
  assert.equal(interpolate('$$A costs $$5', look), '$A costs $5');
  assert.equal(interpolate('echo $ 5', look), 'echo $ 5');
});

test('required variables fail with their message', () => {
  assert.equal(interpolate('${A:?x}', look), 'a');
  assert.equal(interpolate('${EMPTY?x}', look), '');
  assert.throws(() => interpolate('${EMPTY:?must be set}', look), {
    message: 'required variable EMPTY is missing a value: must be set',
  });
  assert.throws(() => interpolate('${NOPE?}', look), { message: 'required variable NOPE is missing a value' });
});

test('malformed references are errors naming the key', () => {
  assert.throws(
    () => interpolate('${A', look, 'services.web.image'),
    (e: Error) => e instanceof InterpolationError && /services\.web\.image/.test(e.message),
  );
  assert.throws(() => interpolate('${1A}', look), InterpolationError);
  assert.throws(() => interpolate('${A!x}', look), InterpolationError);
});

test('.env files: comments, export, quotes', () => {
  assert.deepEqual(parseEnvFile('# c\nA=1\nexport B = two \nC="x y"\nD=\'$lit\'\nE=v # comment\nF\n'), {
    A: '1',
    B: 'two',
    C: 'x y',
    D: '$lit',
    E: 'v',
    F: undefined,
  });
});
