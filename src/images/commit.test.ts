import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffOverlayUpper } from '../archive/index.ts';
import { openTestStores, type TestStores } from './testing.ts';
import { commitImage } from './commit.ts';

let s: TestStores;
before(async () => {
  s = await openTestStores();
});
after(async () => {
  await s?.close();
});

test('a builder commit adopts the upper directory as the layer instead of unpacking its tar again', async () => {
  const upper = join(s.dir, 'ctr', 'upper');
  mkdirSync(join(upper, 'etc'), { recursive: true });
  writeFileSync(join(upper, 'etc', 'made'), 'by a step\n');
  const img = await commitImage(s.store, {
    parent: null,
    layer: diffOverlayUpper(upper, { host: s.host }),
    config: { Cmd: ['sh'] },
    createdBy: 'step',
    adoptDir: upper,
  });
  assert.ok(!existsSync(upper), 'the upper directory was moved');
  const layer = s.snapshots.get(img.topChain!)!;
  assert.equal(layer.diffId, img.config.rootfs.diff_ids[0]);
  assert.equal(readFileSync(join(s.snapshots.diffDir(layer), 'etc', 'made'), 'utf8'), 'by a step\n');
});
