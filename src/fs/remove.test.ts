import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeFile, removeTree } from './index.ts';

test("a container's directory goes whole: files, a fifo, empty and full directories, nested ones", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-remove-'));
  try {
    const c = join(dir, 'c');
    mkdirSync(join(c, 'work', 'work'), { recursive: true });
    mkdirSync(join(c, 'rootfs'));
    mkdirSync(join(c, 'upper', 'etc', 'deep'), { recursive: true });
    writeFileSync(join(c, 'upper', 'etc', 'deep', 'f'), 'x');
    writeFileSync(join(c, 'config.json'), '{}');
    execFileSync('mkfifo', [join(c, 'ctl')]);
    await removeTree(c);
    assert.equal(existsSync(c), false);
    assert.equal(existsSync(dir), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('links are removed, never followed: what they point at stays, whether inside the tree or the link itself', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-remove-'));
  try {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep'), 'kept');
    const c = join(dir, 'c');
    mkdirSync(c);
    symlinkSync(outside, join(c, 'to-dir'));
    symlinkSync(join(outside, 'keep'), join(c, 'to-file'));
    await removeTree(c);
    assert.equal(existsSync(c), false);
    symlinkSync(outside, join(dir, 'top-link'));
    await removeTree(join(dir, 'top-link'));
    await removeFile(join(dir, 'top-link'));
    assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('what is not there counts as removed; a file goes by either, a directory given as a file goes whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-remove-'));
  try {
    await removeTree(join(dir, 'missing'));
    await removeFile(join(dir, 'missing'));
    await removeTree(join(dir, 'missing', 'deeper'));
    writeFileSync(join(dir, 'a'), 'a');
    writeFileSync(join(dir, 'b'), 'b');
    await removeTree(join(dir, 'a'));
    await removeFile(join(dir, 'b'));
    mkdirSync(join(dir, 'd', 'e'), { recursive: true });
    writeFileSync(join(dir, 'd', 'e', 'f'), 'f');
    await removeFile(join(dir, 'd'));
    assert.deepEqual(
      ['a', 'b', 'd'].map((n) => existsSync(join(dir, n))),
      [false, false, false],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
