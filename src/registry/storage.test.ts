import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { RegistryError } from './errors.ts';
import { RegistryStorage } from './storage.ts';
import { digestOf, schema2Manifest } from './testing.ts';

async function tempRoot(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-regstore-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'root');
}

function code(e: unknown): string | undefined {
  return e instanceof RegistryError ? e.code : undefined;
}

test('an upload survives a restart: the next process re-hashes what it holds and finishes it', async (t) => {
  const root = await tempRoot(t);
  const first = await RegistryStorage.open(root);
  const { uuid } = await first.uploads.start('r');
  await first.uploads.append('r', uuid, Readable.from([Buffer.from('before ')]));
  const second = await RegistryStorage.open(root);
  assert.equal((await second.uploads.status('r', uuid)).size, 7);
  const done = await second.uploads.complete(
    'r',
    uuid,
    digestOf('before after'),
    Readable.from([Buffer.from('after')]),
  );
  assert.equal(done.size, 12);
  assert.equal(await second.blobs.stat('r', digestOf('before after')), 12);
});

test('abandoned uploads expire; busy or fresh ones do not', async (t) => {
  const root = await tempRoot(t);
  let now = Date.now();
  const storage = await RegistryStorage.open(root, { uploadTtlMs: 3600_000, now: () => now });
  const old = await storage.uploads.start('r');
  const fresh = await storage.uploads.start('r');
  const past = new Date(now - 2 * 3600_000);
  await utimes(join(root, 'uploads', old.uuid, 'data'), past, past);
  // A start interrupted before it recorded its repository, long ago; and junk.
  await mkdir(join(root, 'uploads', '11111111-2222-3333-4444-555555555555'));
  await utimes(join(root, 'uploads', '11111111-2222-3333-4444-555555555555'), past, past);
  const removed = await storage.uploads.expire();
  assert.deepEqual(removed.sort(), [old.uuid, '11111111-2222-3333-4444-555555555555'].sort());
  assert.deepEqual(await readdir(join(root, 'uploads')), [fresh.uuid]);
  await assert.rejects(storage.uploads.status('r', old.uuid), (e) => code(e) === 'BLOB_UPLOAD_UNKNOWN');
  now += 2 * 3600_000;
  // At open too: a registry that was down for a day comes back without the day's leftovers.
  const reopened = await RegistryStorage.open(root, { uploadTtlMs: 3600_000, now: () => now });
  assert.deepEqual(await readdir(join(root, 'uploads')), []);
  void reopened;
});

test('what a crash can leave behind is ignored or repaired', async (t) => {
  const root = await tempRoot(t);
  const storage = await RegistryStorage.open(root);
  const config = '{}';
  const cfg = await storage.uploads.put('r', digestOf(config), Readable.from([Buffer.from(config)]));
  const body = Buffer.from(schema2Manifest(cfg, []));
  const { digest } = await storage.manifests.put(
    'r',
    { tag: 'v1' },
    body,
    'application/vnd.docker.distribution.manifest.v2+json',
  );

  // A temporary tag file from a write that never got to its rename.
  await writeFile(join(root, 'repositories', 'r', '_manifests', 'tags', '.tmp-0123'), digest);
  assert.deepEqual(await storage.manifests.tags('r'), ['v1']);
  // A tag whose manifest link is gone (not something the write order produces, but a
  // damaged store must still answer, not crash).
  await writeFile(join(root, 'repositories', 'r', '_manifests', 'tags', 'dangling'), digestOf('gone'));
  await assert.rejects(storage.manifests.get('r', { tag: 'dangling' }), (e) => code(e) === 'MANIFEST_UNKNOWN');
  await writeFile(join(root, 'repositories', 'r', '_manifests', 'tags', 'garbage'), 'not a digest');
  await assert.rejects(storage.manifests.get('r', { tag: 'garbage' }), (e) => code(e) === 'MANIFEST_UNKNOWN');
  // An interrupted ingest of the content store is dropped at open.
  await writeFile(join(root, 'ingest', 'partial'), 'half');
  await RegistryStorage.open(root);
  assert.deepEqual(await readdir(join(root, 'ingest')), []);
  assert.equal((await storage.manifests.get('r', { tag: 'v1' })).body.toString(), body.toString());
});

test("the catalog lists nested repositories and skips the storage's own directories", async (t) => {
  const root = await tempRoot(t);
  const storage = await RegistryStorage.open(root);
  for (const name of ['b', 'a/b/c', 'a', 'a-b'])
    await storage.uploads.put(name, digestOf(name), Readable.from([Buffer.from(name)]));
  await mkdir(join(root, 'repositories', 'UPPER', '_blobs'), { recursive: true });
  assert.deepEqual(await storage.listRepositories(), ['a', 'a-b', 'a/b/c', 'b']);
});

test('an upload whose file vanished is unknown, not a hang or a crash', async (t) => {
  const root = await tempRoot(t);
  const storage = await RegistryStorage.open(root);
  const { uuid } = await storage.uploads.start('r');
  await rm(join(root, 'uploads', uuid, 'data'));
  await assert.rejects(
    storage.uploads.append('r', uuid, Readable.from([Buffer.from('x')])),
    (e) => code(e) === 'BLOB_UPLOAD_UNKNOWN',
  );
  // A tail beyond what was hashed (a chunk whose truncation failed) never reaches the blob.
  const second = await storage.uploads.start('r');
  await storage.uploads.append('r', second.uuid, Readable.from([Buffer.from('good')]));
  await writeFile(join(root, 'uploads', second.uuid, 'data'), 'good-and-garbage');
  const done = await storage.uploads.complete('r', second.uuid, digestOf('good'));
  assert.equal(done.size, 4);
  assert.equal(await storage.blobs.stat('r', digestOf('good')), 4);
});
