import { test } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageCache, walkUsage } from './fsusage.ts';

test('usage counts allocated bytes and inodes, a hard-linked file once, a missing directory as nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-fsusage-'));
  try {
    await mkdir(join(dir, 'a'));
    await writeFile(join(dir, 'a', 'f'), Buffer.alloc(100_000, 1));
    const one = await walkUsage([dir, join(dir, 'missing')]);
    assert.equal(one.inodesUsed, 3, 'the directory, a/ and f');
    assert.ok(one.usedBytes >= 100_000);
    await link(join(dir, 'a', 'f'), join(dir, 'g'));
    const linked = await walkUsage([dir]);
    assert.equal(linked.inodesUsed, 3);
    assert.equal(linked.usedBytes, one.usedBytes);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the cache answers from its last walk until it is too old', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-fsusage-'));
  try {
    const cache = new UsageCache([dir], 60_000);
    const first = await cache.get();
    await writeFile(join(dir, 'new'), 'x');
    assert.equal((await cache.get()).inodesUsed, first.inodesUsed);
    assert.equal((await cache.get(Date.now() + 120_000)).inodesUsed, first.inodesUsed + 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
