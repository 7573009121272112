import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../spec/index.ts';
import { collectGarbage } from './gc.ts';
import { acquireGcLock, acquireRootLock } from './rootlock.ts';
import { digestOf, schema2Manifest, startTestRegistry, type TestRegistry } from './testing.ts';

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function registry(t: { after(fn: () => Promise<void>): void }, o = {}): Promise<TestRegistry> {
  const reg = await startTestRegistry(o);
  t.after(() => reg.close());
  return reg;
}

/** Pushes an image of `layers` (texts) under `ref`; returns its manifest digest and blobs. */
async function pushImage(
  reg: TestRegistry,
  name: string,
  ref: string,
  layers: string[],
): Promise<{ manifest: Digest; config: Digest; layers: Digest[] }> {
  const configText = JSON.stringify({ layers, ref, nonce: Math.random() });
  const config = await reg.pushBlob(name, configText);
  const ls: Digest[] = [];
  for (const l of layers) ls.push(await reg.pushBlob(name, l));
  const body = schema2Manifest(
    { digest: config, size: Buffer.byteLength(configText) },
    layers.map((l, i) => ({ digest: ls[i]!, size: Buffer.byteLength(l) })),
  );
  // An empty ref pushes by digest only, untagged (as buildx pushes an index's manifests).
  const r = await reg.call('PUT', `/v2/${name}/manifests/${ref || digestOf(body)}`, {
    body,
    headers: { 'Content-Type': MANIFEST },
  });
  assert.equal(r.status, 201, r.body.toString());
  return { manifest: digestOf(body), config, layers: ls };
}

async function status(reg: TestRegistry, name: string, digest: Digest): Promise<number> {
  return (await reg.call('HEAD', `/v2/${name}/blobs/${digest}`)).status;
}

test('garbage collection removes the blobs only a deleted manifest used, and never one a manifest still references', async (t) => {
  const reg = await registry(t);
  const a = await pushImage(reg, 'app', 'a', ['shared layer', 'layer of a']);
  const b = await pushImage(reg, 'app', 'b', ['shared layer', 'layer of b']);
  const other = await pushImage(reg, 'other/app', 'x', ['layer of b']);
  assert.equal((await reg.call('DELETE', `/v2/app/manifests/${b.manifest}`)).status, 202);

  const dry = await collectGarbage(reg.root, { dryRun: true, graceMs: 0 });
  assert.deepEqual(new Set(dry.blobs), new Set([b.manifest, b.config]));
  assert.equal(await status(reg, 'app', b.config), 200, 'a dry run removes nothing');

  const report = await collectGarbage(reg.root, { graceMs: 0 });
  assert.deepEqual(new Set(report.blobs), new Set([b.manifest, b.config]));
  assert.equal(await status(reg, 'app', b.config), 404);
  for (const d of [a.config, ...a.layers]) assert.equal(await status(reg, 'app', d), 200, `${d} is a's`);
  assert.equal(await status(reg, 'other/app', other.layers[0]!), 200, 'another repository still references it');
  const got = await reg.call('GET', `/v2/app/manifests/a`);
  assert.equal(got.status, 200);
});

test('--delete-untagged keeps what a tag reaches: an index and its manifests, and a tagged image signature', async (t) => {
  const reg = await registry(t);
  const child = await pushImage(reg, 'app', '', ['child layer']);
  const childBody = (await reg.call('GET', `/v2/app/manifests/${child.manifest}`)).body.toString();
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: MANIFEST,
        digest: child.manifest,
        size: Buffer.byteLength(childBody),
        platform: { os: 'linux', architecture: 'amd64' },
      },
    ],
  });
  assert.equal(
    (await reg.call('PUT', '/v2/app/manifests/multi', { body: index, headers: { 'Content-Type': OCI_INDEX } })).status,
    201,
  );
  const tagged = await pushImage(reg, 'app', 'signed', ['signed layer']);
  const taggedSize = (await reg.call('GET', '/v2/app/manifests/signed')).body.length;
  const sigLayer = await reg.pushBlob('app', 'a signature payload');
  const emptyConfig = await reg.pushBlob('app', '{}');
  const referrer = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyConfig, size: 2 },
    layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sigLayer, size: 19 }],
    subject: { mediaType: MANIFEST, digest: tagged.manifest, size: taggedSize },
  });
  const refPut = await reg.call('PUT', `/v2/app/manifests/${digestOf(referrer)}`, {
    body: referrer,
    headers: { 'Content-Type': OCI_MANIFEST },
  });
  assert.equal(refPut.status, 201, refPut.body.toString());
  // An image whose tag moved on: untagged now.
  const old = await pushImage(reg, 'app', 'latest', ['old layer']);
  await pushImage(reg, 'app', 'latest', ['new layer']);

  const kept = await collectGarbage(reg.root, { graceMs: 0 });
  assert.deepEqual(kept.blobs, [], 'without --delete-untagged every manifest keeps its blobs');

  const report = await collectGarbage(reg.root, { deleteUntagged: true, graceMs: 0 });
  assert.deepEqual(report.manifests, [`app@${old.manifest}`]);
  assert.deepEqual(new Set(report.blobs), new Set([old.manifest, old.config, ...old.layers]));
  assert.equal((await reg.call('GET', `/v2/app/manifests/${old.manifest}`)).status, 404);
  for (const d of [child.config, ...child.layers, sigLayer, emptyConfig])
    assert.equal(await status(reg, 'app', d), 200, `${d} is reached from a tag`);
  const referrers = JSON.parse((await reg.call('GET', `/v2/app/referrers/${tagged.manifest}`)).body.toString());
  assert.equal(referrers.manifests.length, 1, 'the signature is still listed');
});

test('a push racing a garbage collection loses nothing: what it has just linked is recent, and kept', async (t) => {
  const reg = await registry(t);
  const gone = await pushImage(reg, 'app', 'gone', ['unreferenced soon']);
  await reg.call('DELETE', `/v2/app/manifests/${gone.manifest}`);
  // Layers uploaded, manifest not yet sent: the moment a sweep must not hit.
  const early = await reg.pushBlob('app', 'uploaded before the manifest');
  let stop = false;
  const collections = (async () => {
    let runs = 0;
    while (!stop || runs === 0) {
      await collectGarbage(reg.root, {});
      runs++;
    }
    return runs;
  })();
  const pushed = await Promise.all(
    Array.from({ length: 6 }, (_, i) => pushImage(reg, `race/r${i}`, 'v1', [`layer ${i}`, `layer ${i} two`])),
  );
  stop = true;
  assert.ok((await collections) >= 1);
  const config = JSON.stringify({ late: true });
  const configDigest = await reg.pushBlob('app', config);
  const late = schema2Manifest({ digest: configDigest, size: config.length }, [
    { digest: early, size: Buffer.byteLength('uploaded before the manifest') },
  ]);
  const put = await reg.call('PUT', '/v2/app/manifests/late', { body: late, headers: { 'Content-Type': MANIFEST } });
  assert.equal(put.status, 201, put.body.toString());
  for (const [i, p] of pushed.entries()) {
    assert.equal((await reg.call('GET', `/v2/race/r${i}/manifests/v1`)).status, 200);
    for (const d of [p.config, ...p.layers]) assert.equal(await status(reg, `race/r${i}`, d), 200);
  }
  // And what was garbage before the race still goes once it is old enough.
  const later = await collectGarbage(reg.root, { now: () => Date.now() + 3600_000 });
  assert.ok(later.blobs.includes(gone.config));
  assert.equal(await status(reg, 'app', early), 200);
});

/** A live process that is not this one, to hold a lock file as a server would. */
async function otherProcess(t: { after(fn: () => void): void }): Promise<number> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => child.kill());
  await new Promise((r) => child.once('spawn', r));
  return child.pid!;
}

test('garbage collection refuses a root a writable server holds, runs beside a read-only one, and holds starts off', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-gc-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const server = await otherProcess(t);

  const writable = join(dir, 'writable');
  await acquireRootLock(writable, server);
  await assert.rejects(
    acquireGcLock(writable),
    /accepts writes: stop it, or restart it with storage\.maintenance\.readonly/,
  );

  const readOnly = join(dir, 'readonly');
  await acquireRootLock(readOnly, server, { readOnly: true });
  assert.match(await readFile(join(readOnly, 'berth-registry.lock'), 'utf8'), /^\d+ readonly\n$/);
  const gc = await acquireGcLock(readOnly);
  await gc.release();

  const idle = join(dir, 'idle');
  const held = await acquireGcLock(idle);
  await assert.rejects(acquireRootLock(idle, server), /a garbage collection is running/);
  await held.release();
  const started = await acquireRootLock(idle, server);
  await started.release();
});

test('a read-only registry refuses every write with 405 UNSUPPORTED; with delete disabled only deletes are refused', async (t) => {
  const ro = await registry(t, { server: { handler: { readOnly: true } } });
  assert.equal((await ro.call('GET', '/v2/')).status, 200);
  for (const [method, path] of [
    ['POST', '/v2/app/blobs/uploads/'],
    ['PUT', '/v2/app/manifests/v1'],
    ['DELETE', `/v2/app/manifests/${digestOf('x')}`],
    ['PATCH', '/v2/app/blobs/uploads/00000000-0000-0000-0000-000000000000'],
  ] as const) {
    const r = await ro.call(method, path, { body: '' });
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.match(r.body.toString(), /"code":"UNSUPPORTED".*read-only mode/);
  }
  const noDelete = await registry(t, { server: { handler: { deleteEnabled: false } } });
  const img = await pushImage(noDelete, 'app', 'v1', ['l']);
  const del = await noDelete.call('DELETE', `/v2/app/manifests/${img.manifest}`);
  assert.equal(del.status, 405);
  assert.match(del.body.toString(), /deleting is disabled/);
  assert.equal((await noDelete.call('GET', '/v2/app/manifests/v1')).status, 200);
});

test('sha512 blobs are marked and swept like sha256 ones', async (t) => {
  const reg = await registry(t);
  const sha512 = (data: string) => `sha512:${createHash('sha512').update(data).digest('hex')}`;
  const push = async (data: string) =>
    assert.equal((await reg.call('POST', `/v2/app/blobs/uploads/?digest=${sha512(data)}`, { body: data })).status, 201);
  for (const data of ['{}', 'kept layer', 'loose layer']) await push(data);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha512('{}'), size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha512('kept layer'), size: 10 }],
  });
  const put = await reg.call('PUT', '/v2/app/manifests/v1', {
    body: manifest,
    headers: { 'Content-Type': OCI_MANIFEST },
  });
  assert.equal(put.status, 201, put.body.toString());
  const report = await collectGarbage(reg.root, { graceMs: 0 });
  assert.deepEqual(report.blobs, [sha512('loose layer')]);
  assert.equal(await status(reg, 'app', sha512('kept layer') as Digest), 200);
  assert.equal(await status(reg, 'app', sha512('loose layer') as Digest), 404);
});
