import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContentStore } from './index.ts';
import { sha256 } from '../spec/index.ts';

test('ingest stores by digest and verifies what the caller expected', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-content-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await ContentStore.open(dir);
  const info = await store.put('hello');
  assert.equal(info.digest, sha256('hello'));
  assert.equal(info.size, 5);
  assert.equal((await store.read(info.digest)).toString(), 'hello');
  await assert.rejects(
    store.ingest(Readable.from([Buffer.from('other')]), { digest: sha256('hello') }),
    /digest mismatch/,
  );
  await assert.rejects(
    store.ingest(Readable.from([Buffer.from('toolong')]), { size: 3 }),
    /more than the expected 3 bytes/,
  );
  assert.deepEqual(await readdir(join(dir, 'ingest')), [], 'failed ingests leave nothing behind');
  assert.deepEqual(await store.list(), [sha256('hello')]);
});

test('leftover ingest files from a crash are dropped on open', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-content-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await ContentStore.open(dir);
  await writeFile(join(dir, 'ingest', 'partial'), 'half a blob');
  await ContentStore.open(dir);
  assert.deepEqual(await readdir(join(dir, 'ingest')), []);
});

test('adopt moves an already hashed file in and checks its size', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-content-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await ContentStore.open(join(dir, 'store'));
  const file = join(dir, 'upload');
  await writeFile(file, 'layer bytes');
  const digest = sha256('layer bytes');
  await assert.rejects(store.adopt(file, { digest, size: 3 }), /size mismatch/);
  assert.equal(await store.has(digest), false);
  await store.adopt(file, { digest, size: 11 });
  assert.equal((await store.read(digest)).toString(), 'layer bytes');
  assert.deepEqual(await readdir(dir).then((n) => n.includes('upload')), false);
});
