import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from './index.ts';

const tick = () => new Promise((r) => setImmediate(r));

test('tasks under one key run one at a time, in the order they were queued', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const task = (name: string) => async () => {
    log.push(`${name} begins`);
    await tick();
    await tick();
    log.push(`${name} ends`);
    return name;
  };
  const results = await Promise.all([lock.run('k', task('a')), lock.run('k', task('b')), lock.run('k', task('c'))]);
  assert.deepEqual(results, ['a', 'b', 'c']);
  assert.deepEqual(log, ['a begins', 'a ends', 'b begins', 'b ends', 'c begins', 'c ends']);
});

test('tasks under different keys do not wait for each other', async () => {
  const lock = new KeyedLock();
  let release!: () => void;
  const held = lock.run('a', () => new Promise<void>((r) => (release = r)));
  let other = false;
  await lock.run('b', async () => {
    other = true;
  });
  assert.equal(other, true, 'the task under b ran while a was held');
  release();
  await held;
});

test('a failed task rejects its caller and the next task under the key still runs', async () => {
  const lock = new KeyedLock();
  const failed = lock.run('k', async () => {
    throw new Error('boom');
  });
  const next = lock.run('k', async () => 'ran');
  await assert.rejects(failed, /boom/);
  assert.equal(await next, 'ran');
});

test('a key is forgotten once nothing is queued under it', async () => {
  const lock = new KeyedLock();
  const running = lock.run('k', tick);
  assert.equal(lock.busy('k'), true);
  await running;
  assert.equal(lock.busy('k'), false);
});
