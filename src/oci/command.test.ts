import { test } from 'node:test';
import assert from 'node:assert/strict';
import { categoryOf } from '../errdefs/index.ts';
import { combineCommand } from './index.ts';

const image = { imageEntrypoint: ['/entry'], imageCmd: ['default'] };

test('no entrypoint given: the image entrypoint with the given CMD, else the image CMD', () => {
  assert.deepEqual(combineCommand({ ...image, entrypointSet: false }), ['/entry', 'default']);
  assert.deepEqual(combineCommand({ ...image, cmd: ['x', 'y'], entrypointSet: false }), ['/entry', 'x', 'y']);
  assert.deepEqual(
    combineCommand({ ...image, cmd: [], entrypointSet: false }),
    ['/entry', 'default'],
    'an empty CMD is no CMD',
  );
  assert.deepEqual(combineCommand({ imageCmd: ['sh'], entrypointSet: false }), ['sh']);
  assert.deepEqual(combineCommand({ imageEntrypoint: null, imageCmd: null, cmd: ['ls'], entrypointSet: false }), [
    'ls',
  ]);
});

test('--entrypoint replaces the image entrypoint and clears the image CMD', () => {
  assert.deepEqual(combineCommand({ ...image, entrypoint: ['echo'], entrypointSet: true }), ['echo']);
  assert.deepEqual(combineCommand({ ...image, entrypoint: ['echo'], cmd: ['hi'], entrypointSet: true }), [
    'echo',
    'hi',
  ]);
  // entrypoint is ignored unless entrypointSet says it was given
  assert.deepEqual(combineCommand({ ...image, entrypoint: ['echo'], entrypointSet: false }), ['/entry', 'default']);
});

test('an empty entrypoint resets it: [] keeps the image CMD, [""] (docker run --entrypoint "") does not', () => {
  assert.deepEqual(combineCommand({ ...image, entrypoint: [], entrypointSet: true }), ['default']);
  assert.deepEqual(combineCommand({ ...image, entrypoint: [], cmd: ['ls'], entrypointSet: true }), ['ls']);
  assert.deepEqual(combineCommand({ ...image, entrypoint: null, entrypointSet: true }), ['default']);
  assert.deepEqual(combineCommand({ ...image, entrypoint: [''], cmd: ['ls', '-l'], entrypointSet: true }), [
    'ls',
    '-l',
  ]);
  assert.throws(() => combineCommand({ ...image, entrypoint: [''], entrypointSet: true }), /no command specified/);
  // an image whose entrypoint is [""] has none
  assert.deepEqual(combineCommand({ imageEntrypoint: [''], imageCmd: ['sh'], entrypointSet: false }), ['sh']);
});

test('nothing to run is an InvalidArgument "no command specified"', () => {
  let err: unknown;
  try {
    combineCommand({ entrypointSet: false });
  } catch (e) {
    err = e;
  }
  assert.match((err as Error).message, /^no command specified$/);
  assert.equal(categoryOf(err), 'InvalidArgument');
  assert.throws(
    () => combineCommand({ imageEntrypoint: [], imageCmd: [], entrypointSet: false }),
    /no command specified/,
  );
});
