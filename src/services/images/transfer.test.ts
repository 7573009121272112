/** Transfers at speed: layers compressed once and kept; downloads shared by concurrent pulls. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { makeTar } from '../../archive/testing.ts';
import { EventBus } from '../../events/index.ts';
import { ImageStore } from '../../images/index.ts';
import type { JsonMessage } from '../../api/types/index.ts';
import { ContentStore } from '../../content/index.ts';
import { MetadataDb } from '../../metadata/index.ts';
import { Snapshotter } from '../../snapshots/index.ts';
import { RealHost } from '../../host/index.ts';
import { startFakeRegistry, type FakeRegistry } from '../../registry/testing.ts';
import { sha256, type Digest } from '../../spec/index.ts';
import { ImageService } from './index.ts';

let dir: string;
let db: MetadataDb;
let svc: ImageService;
const regs: FakeRegistry[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-transfer-'));
  db = new MetadataDb(join(dir, 'metadata.db'));
  const content = await ContentStore.open(join(dir, 'content'));
  const snapshots = await Snapshotter.open(join(dir, 'overlay'), db, content, new RealHost());
  svc = new ImageService(new ImageStore(db, content, snapshots), new EventBus());
});
after(async () => {
  for (const r of regs) await r.close();
  db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const tmp = () => join(dir, 'tmp');

async function registry(): Promise<FakeRegistry> {
  const r = await startFakeRegistry();
  regs.push(r);
  return r;
}

async function localImage(bytes: number): Promise<{ id: string; diffId: Digest }> {
  const tar = await makeTar([{ name: 'payload', content: randomBytes(bytes).toString('base64') }]);
  const img = await svc.import(Readable.from([tar]), { changes: [], progress: () => {} });
  return { id: img.id, diffId: sha256(tar) };
}

async function push(name: string, tag: string): Promise<JsonMessage[]> {
  const msgs: JsonMessage[] = [];
  await svc.push(svc.planPush(name, tag), { tmp: tmp(), out: (m) => msgs.push(m), aux: () => {} });
  return msgs;
}

test('a layer is gzipped once: the first push keeps its form, a push to another registry only uploads it', async () => {
  const { id, diffId } = await localImage(400_000);
  assert.equal(svc.store.compressed.find(diffId, 'gzip'), undefined, 'no background work in tests');
  const a = await registry();
  svc.tag(id, `${a.host}/t/app`, '1');
  await push(`${a.host}/t/app`, '1');
  const kept = svc.store.compressed.find(diffId, 'gzip');
  assert.ok(kept, 'the form the first push made is kept');
  assert.deepEqual(gunzipSync(await svc.store.content.read(kept.digest)), await svc.store.content.read(diffId));
  assert.ok(a.repoBlobs.get('t/app')?.has(kept.digest), 'and it is what the registry got');

  // Another registry: nothing to mount from, so the layer is uploaded — without compressing.
  const b = await registry();
  const compressing = svc.store.compressed.compressing;
  svc.store.compressed.compressing = () => {
    throw new Error('compressed again');
  };
  try {
    svc.tag(id, `${b.host}/t/app`, '1');
    const msgs = await push(`${b.host}/t/app`, '1');
    assert.ok(msgs.some((m) => m.status === 'Pushed'));
    const last = msgs.filter((m) => m.status === 'Pushing').at(-1)!;
    assert.deepEqual(last.progressDetail, { current: kept.size, total: kept.size });
  } finally {
    svc.store.compressed.compressing = compressing;
  }
  assert.ok(b.repoBlobs.get('t/app')?.has(kept.digest));

  // The form goes with its layer.
  for (const t of svc.resolve(id).tags) svc.store.untag(t);
  await svc.remove(id, { force: true });
  assert.equal(svc.store.compressed.find(diffId, 'gzip'), undefined);
  assert.equal(await svc.store.content.has(kept.digest), false);
});

test('layers made here are gzipped in the background once things are quiet', async () => {
  svc.store.compressed.background = true;
  try {
    const { diffId } = await localImage(400_000);
    const deadline = Date.now() + 20_000;
    while (!svc.store.compressed.find(diffId, 'gzip') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(svc.store.compressed.find(diffId, 'gzip'));
  } finally {
    svc.store.compressed.background = false;
  }
});

test('zstd pushes make their own form and an OCI manifest; a level asks for a form made with it', async () => {
  const { id, diffId } = await localImage(300_000);
  const r = await registry();
  svc.tag(id, `${r.host}/t/z`, '1');
  await svc.push(svc.planPush(`${r.host}/t/z`, '1'), {
    tmp: tmp(),
    out: () => {},
    aux: () => {},
    compression: { kind: 'zstd', level: 5 },
  });
  const form = svc.store.compressed.find(diffId, 'zstd', 5)!;
  assert.ok(form);
  assert.equal(svc.store.compressed.find(diffId, 'zstd', 19), undefined);
  const m = JSON.parse(r.manifests.get('t/z')!.get('1')!.bytes.toString());
  assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(m.config.mediaType, 'application/vnd.oci.image.config.v1+json');
  assert.deepEqual(
    m.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest]),
    [['application/vnd.oci.image.layer.v1.tar+zstd', form.digest]],
  );
  // And it pulls back (into a store that does not have it).
  for (const t of svc.resolve(id).tags) svc.store.untag(t);
  await svc.remove(id, { force: true });
  await svc.pull(`${r.host}/t/z:1`, { tmp: tmp(), out: () => {} });
  assert.equal(svc.resolve(`${r.host}/t/z:1`).id, id);
});

test('two pulls of one image at once download each layer once', async () => {
  const { id } = await localImage(600_000);
  const r = await registry();
  svc.tag(id, `${r.host}/t/shared`, '1');
  await push(`${r.host}/t/shared`, '1');
  for (const t of svc.resolve(id).tags) svc.store.untag(t);
  await svc.remove(id, { force: true });
  const before = r.log.filter((q) => /\/blobs\/sha256:/.test(q) && q.startsWith('GET')).length;
  await Promise.all([
    svc.pull(`${r.host}/t/shared:1`, { tmp: tmp(), out: () => {} }),
    svc.pull(`${r.host}/t/shared:1`, { tmp: tmp(), out: () => {} }),
  ]);
  const blobGets = r.log.filter((q) => /\/blobs\/sha256:/.test(q) && q.startsWith('GET')).length - before;
  // One config per pull, and the one layer once.
  assert.equal(blobGets, 3);
  assert.equal(svc.resolve(`${r.host}/t/shared:1`).id, id);
});

test('a pulled layer keeps the blob it came as and no tar: save gives the same archive, a push elsewhere uploads that blob', async () => {
  const { id, diffId } = await localImage(300_000);
  const a = await registry();
  svc.tag(id, `${a.host}/t/kept`, '1');
  await push(`${a.host}/t/kept`, '1');
  const saved = await collect(await svc.save([id]));
  const sent = svc.store.compressed.find(diffId, 'gzip')!;
  for (const t of svc.resolve(id).tags) svc.store.untag(t);
  await svc.remove(id, { force: true });
  assert.equal(svc.store.snapshots.isDiffIdUsed(diffId), false);

  await svc.pull(`${a.host}/t/kept:1`, { tmp: tmp(), out: () => {} });
  assert.equal(await svc.store.content.has(diffId), false, 'no uncompressed tar is stored');
  const kept = svc.store.compressed.find(diffId, 'gzip')!;
  assert.equal(kept.digest, sent.digest, 'the registry blob is kept as it came');
  assert.ok(await svc.store.content.has(kept.digest));
  assert.deepEqual(await collect(await svc.save([id])), saved, 'save writes the same archive as before the pull');

  const b = await registry();
  const compressing = svc.store.compressed.compressing;
  svc.store.compressed.compressing = () => {
    throw new Error('compressed again');
  };
  try {
    svc.tag(id, `${b.host}/t/kept`, '1');
    await push(`${b.host}/t/kept`, '1');
  } finally {
    svc.store.compressed.compressing = compressing;
  }
  assert.ok(b.repoBlobs.get('t/kept')?.has(kept.digest), 'the pulled blob is what the other registry gets');
  assert.deepEqual(await readdirNames(tmp()), [], 'no scratch file is left');
});

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function readdirNames(d: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return readdir(d).catch(() => []);
}
