import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference, familiarString, chainIds, sha256 } from './index.ts';

test('short names normalise to docker.io/library with latest', () => {
  const r = parseReference('busybox');
  assert.deepEqual(r, { domain: 'docker.io', path: 'library/busybox', tag: 'latest', digest: undefined });
  assert.equal(familiarString(r), 'busybox:latest');
});

test('registry with port and tag', () => {
  const r = parseReference('localhost:5000/team/app:v1.2');
  assert.equal(r.domain, 'localhost:5000');
  assert.equal(r.path, 'team/app');
  assert.equal(r.tag, 'v1.2');
  assert.equal(familiarString(r), 'localhost:5000/team/app:v1.2');
});

test('bad references are refused with a clear error', () => {
  assert.throws(() => parseReference('UPPER'), /invalid reference format "UPPER".*lowercase/);
  assert.throws(() => parseReference('a:b:c'), /invalid reference format/);
  assert.throws(() => parseReference(''), /invalid reference format/);
  assert.throws(() => parseReference('x@sha256:zz'), /invalid digest/);
});

test('chain ids follow the image spec', () => {
  const a = sha256('a');
  const b = sha256('b');
  assert.deepEqual(chainIds([a, b]), [a, sha256(`${a} ${b}`)]);
});
