import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scratchDir } from './testing.ts';
import { BuildCache, cacheFromMatch } from './cache.ts';

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

test("--cache-from as dockerd: a source whose history and layers begin with the parent's and whose next entry is the step", () => {
  const d = (n: number) => `sha256:${String(n).repeat(64)}` as never;
  const base = {
    rootfs: { type: 'layers' as const, diff_ids: [d(1)] },
    history: [{ created: 't0', created_by: 'ADD rootfs' }],
  };
  const built = {
    rootfs: { type: 'layers' as const, diff_ids: [d(1), d(2)] },
    history: [
      { created: 't0', created_by: 'ADD rootfs' },
      { created: 't1', created_by: '/bin/sh -c #(nop)  ENV A=1', empty_layer: true },
      { created: 't2', created_by: '/bin/sh -c make' },
      { created: 't3', created_by: '/bin/sh -c #(nop)  CMD ["app"]', empty_layer: true },
    ],
  };
  const env = cacheFromMatch(base, '/bin/sh -c #(nop)  ENV A=1', [built]);
  assert.deepEqual(
    { layer: env?.layer, last: env?.last, by: env?.entry.created_by },
    { layer: undefined, last: false, by: '/bin/sh -c #(nop)  ENV A=1' },
  );
  const afterEnv = { rootfs: base.rootfs, history: built.history.slice(0, 2) };
  const make = cacheFromMatch(afterEnv, '/bin/sh -c make', [built]);
  assert.equal(make?.layer, d(2), 'the layer the RUN added');
  const afterMake = { rootfs: built.rootfs, history: built.history.slice(0, 3) };
  assert.equal(
    cacheFromMatch(afterMake, '/bin/sh -c #(nop)  CMD ["app"]', [built])?.last,
    true,
    'the last step is the source itself',
  );
  assert.equal(cacheFromMatch(afterEnv, '/bin/sh -c make install', [built]), undefined, 'another command');
  const otherBase = { rootfs: { type: 'layers' as const, diff_ids: [d(9)] }, history: base.history };
  assert.equal(cacheFromMatch(otherBase, '/bin/sh -c #(nop)  ENV A=1', [built]), undefined, 'another parent layer');
  const rebuiltBase = { ...base, history: [{ created: 't9', created_by: 'ADD rootfs' }] };
  assert.equal(cacheFromMatch(rebuiltBase, '/bin/sh -c #(nop)  ENV A=1', [built]), undefined, 'another parent history');
  assert.equal(cacheFromMatch(built, 'anything', [built]), undefined, 'nothing after its last entry');
});

test('--cache-from compares history times as instants: Go\'s "45Z" is Berth\'s "45.000Z"', () => {
  const d = (n: number) => `sha256:${String(n).repeat(64)}` as never;
  // busybox as Berth wrote it, and an image dockerd built on it (dockerd rewrote the times)
  const base = {
    rootfs: { type: 'layers' as const, diff_ids: [d(1)] },
    history: [{ created: '2026-05-07T20:33:45.000Z', created_by: 'ADD rootfs' }],
  };
  const built = {
    rootfs: { type: 'layers' as const, diff_ids: [d(1)] },
    history: [
      { created: '2026-05-07T20:33:45Z', created_by: 'ADD rootfs' },
      { created: '2026-12-07T19:29:38.859150637Z', created_by: '/bin/sh -c #(nop)  LABEL a=b', empty_layer: true },
    ],
  };
  assert.equal(cacheFromMatch(base, '/bin/sh -c #(nop)  LABEL a=b', [built])?.last, true);
  const later = { ...base, history: [{ created: '2026-05-07T20:33:45.5Z', created_by: 'ADD rootfs' }] };
  assert.equal(cacheFromMatch(later, '/bin/sh -c #(nop)  LABEL a=b', [built]), undefined, 'another instant');
  const ns = { ...base, history: [{ created: '2026-05-07T20:33:45.000000001Z', created_by: 'ADD rootfs' }] };
  assert.equal(cacheFromMatch(ns, '/bin/sh -c #(nop)  LABEL a=b', [built]), undefined, 'a nanosecond later');
});
