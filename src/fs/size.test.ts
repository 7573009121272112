import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, linkSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directorySize } from './index.ts';

test("a layer's size is its files' bytes: hard links once, symlinks by their target's length, directories nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-size-'));
  try {
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'five'), '12345');
    linkSync(join(dir, 'a', 'five'), join(dir, 'a', 'b', 'same-five'));
    writeFileSync(join(dir, 'ten'), '0123456789');
    symlinkSync('ten', join(dir, 'link'));
    assert.equal(await directorySize(dir), 5 + 10 + 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory that is not there holds nothing', async () => {
  assert.equal(await directorySize(join(tmpdir(), 'berth-size-none', 'missing')), 0);
});
