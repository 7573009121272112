import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { acquireRootLock, ROOT_LOCK_FILE } from './rootlock.ts';

test('root lock: one holder; a live holder is refused, a dead one taken over', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'berth-rootlock-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const lock = await acquireRootLock(root);
  assert.equal((await readFile(join(root, ROOT_LOCK_FILE), 'utf8')).trim(), String(process.pid));
  // Another process (pid 1 stands for a live one) cannot take it.
  await lock.release();
  await writeFile(join(root, ROOT_LOCK_FILE), '1\n');
  await assert.rejects(acquireRootLock(root), /registry root ".*" is in use by process 1/);
  // A pid whose process has exited: the lock a kill -9 leaves behind.
  const dead = spawnSync('true').pid!;
  await writeFile(join(root, ROOT_LOCK_FILE), `${dead}\n`);
  const taken = await acquireRootLock(root);
  await taken.release();
  assert.equal(existsSync(join(root, ROOT_LOCK_FILE)), false);
});
