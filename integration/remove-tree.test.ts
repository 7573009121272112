/**
 * fs/'s removeTree on the real kernel where it matters: a mount point inside the directory being
 * removed (a container's root file system whose unmount failed) is never descended into — its
 * rmdir answers EBUSY before its content is looked at — so what is mounted there stays whole,
 * as with Node's fs.rm. Needs root (a tmpfs mount); skipped otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../src/fs/index.ts';

const root = process.getuid?.() === 0;

test(
  'a mount point in a removed directory is not descended into: what is mounted stays, its siblings go',
  { skip: !root && 'needs root' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-remove-mount-'));
    const c = join(dir, 'c');
    const rootfs = join(c, 'rootfs');
    mkdirSync(rootfs, { recursive: true });
    mkdirSync(join(c, 'work', 'work'), { recursive: true });
    writeFileSync(join(c, 'config.json'), '{}');
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', rootfs]);
    try {
      writeFileSync(join(rootfs, 'inside'), 'kept');
      await assert.rejects(removeTree(c), /EBUSY/);
      await assert.rejects(removeTree(rootfs), /EBUSY/);
      assert.equal(readFileSync(join(rootfs, 'inside'), 'utf8'), 'kept');
      assert.deepEqual(
        ['config.json', 'work'].map((n) => existsSync(join(c, n))),
        [false, false],
      );
    } finally {
      execFileSync('umount', [rootfs]);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
