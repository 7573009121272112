import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scratchDir } from './testing.ts';
import { BuildCache } from './cache.ts';

const mkdtempSync = scratchDir;

test('the cache survives a new instance (a daemon restart) and forgets images that are gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cache-'));
  const k = BuildCache.key('sha256:parent', '/bin/sh -c echo hi');
  assert.notEqual(k, BuildCache.key('sha256:parent', '/bin/sh -c echo ho'));
  assert.notEqual(k, BuildCache.key('sha256:other', '/bin/sh -c echo hi'));
  assert.notEqual(k, BuildCache.key('sha256:parent', '/bin/sh -c echo hi', 'content'));
  const a = new BuildCache(dir);
  await a.set(k, 'sha256:img');
  const b = new BuildCache(dir);
  assert.equal(
    b.get(k, () => true),
    'sha256:img',
  );
  assert.equal(
    b.get(k, () => false),
    undefined,
    'an image removed since is a miss',
  );
  assert.equal(
    b.get(k, () => true),
    undefined,
    'and the entry is gone',
  );
  await b.set(k, 'sha256:img2');
  assert.deepEqual(b.images(), ['sha256:img2']);
  assert.equal(await b.clear(), 1);
  assert.equal(
    new BuildCache(dir).get(k, () => true),
    undefined,
  );
});

test('an unreadable cache file starts an empty cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cache-'));
  writeFileSync(join(dir, 'cache.json'), '{not json');
  assert.deepEqual(new BuildCache(dir).images(), []);
});
