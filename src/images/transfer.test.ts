/**
 * save and load on real stores: round trips, the legacy docker-archive and plain OCI layouts,
 * and hostile archives, which must fail with InvalidArgument and leave nothing behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { makeTar, type TarEntry } from '../archive/testing.ts';
import { hexOf, hostPlatform, sha256, MediaType, type Digest, type ImageConfig } from '../spec/index.ts';
import { openTestStores, type TestStores } from './testing.ts';
import { saveImages } from './save.ts';
import { loadImages, type LoadOptions } from './load.ts';
import type { JsonMessage } from '../api/types/index.ts';
import type { ImageStore } from './store.ts';

let a: TestStores;
let b: TestStores;
before(async () => {
  a = await openTestStores();
  b = await openTestStores();
});
after(async () => {
  await a?.close();
  await b?.close();
});

/** An image of one layer per entry list, recorded in `store` and tagged. */
async function makeImage(
  store: ImageStore,
  layers: TarEntry[][],
  tags: string[],
  extra: Partial<ImageConfig> = {},
): Promise<Digest> {
  let parent: Digest | null = null;
  const diffIds: Digest[] = [];
  for (const entries of layers) {
    const l = await store.snapshots.addLayer(parent, Readable.from([await makeTar(entries)]));
    diffIds.push(l.diffId);
    parent = l.chainId;
  }
  const { architecture, os } = hostPlatform();
  const config: ImageConfig = {
    architecture,
    os,
    created: '2024-01-01T00:00:00Z',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    ...extra,
  };
  const img = await store.create(Buffer.from(JSON.stringify(config)));
  for (const t of tags) store.tag(img.id, t);
  return img.id;
}

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function untar(buf: Buffer): Promise<Map<string, { type: string; body: Buffer }>> {
  const out = new Map<string, { type: string; body: Buffer }>();
  const ex = extract();
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      out.set(e.header.name, { type: e.header.type ?? 'file', body: Buffer.concat(chunks) });
    }
  })();
  ex.end(buf);
  await done;
  return out;
}

async function load(s: TestStores, archive: Buffer, extra: Partial<LoadOptions> = {}) {
  const msgs: JsonMessage[] = [];
  const results = await loadImages(s.store, Readable.from([archive]), {
    tmp: s.tmp,
    out: (m) => msgs.push(m),
    ...extra,
  });
  return { results, msgs, text: msgs.map((m) => m.stream ?? '').join('') };
}

test('save writes the Docker 25 archive; load into another daemon gives the same ID and tags', async () => {
  const id = await makeImage(
    a.store,
    [
      [
        { name: 'bin/', type: 'directory' },
        { name: 'bin/hello', content: 'hello\n', mode: 0o755 },
      ],
      [
        { name: 'etc/', type: 'directory' },
        { name: 'etc/motd', content: 'hi\n' },
      ],
    ],
    ['roundtrip:1', 'roundtrip:2', 'other/name:v1'],
  );
  const { stream, ids } = await saveImages(a.store, ['roundtrip', 'other/name:v1']);
  assert.deepEqual(ids, [id]);
  const tar = await collect(stream);
  const files = await untar(tar);
  assert.equal(files.get('blobs/')?.type, 'directory');
  assert.equal(files.get('blobs/sha256/')?.type, 'directory');
  const manifest = JSON.parse(files.get('manifest.json')!.body.toString());
  assert.equal(manifest.length, 1);
  assert.equal(manifest[0].Config, `blobs/sha256/${hexOf(id)}`);
  // A bare repository name saves all its tags.
  assert.deepEqual(manifest[0].RepoTags, ['roundtrip:1', 'roundtrip:2', 'other/name:v1']);
  const config = JSON.parse(files.get(manifest[0].Config)!.body.toString()) as ImageConfig;
  assert.deepEqual(
    manifest[0].Layers,
    config.rootfs.diff_ids.map((d) => `blobs/sha256/${hexOf(d)}`),
  );
  for (const l of manifest[0].Layers as string[])
    assert.equal(sha256(files.get(l)!.body), `sha256:${l.split('/').pop()}`, 'layer blobs are the diff tars');
  assert.deepEqual(JSON.parse(files.get('oci-layout')!.body.toString()), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(files.get('index.json')!.body.toString());
  assert.equal(index.mediaType, MediaType.OciIndex);
  assert.deepEqual(
    index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations['io.containerd.image.name']),
    ['docker.io/library/roundtrip:1', 'docker.io/library/roundtrip:2', 'docker.io/other/name:v1'],
  );
  assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], '1');
  const ociManifest = JSON.parse(files.get(`blobs/sha256/${hexOf(index.manifests[0].digest)}`)!.body.toString());
  assert.equal(ociManifest.config.digest, id);
  assert.deepEqual(
    ociManifest.layers.map((l: { digest: string }) => l.digest),
    config.rootfs.diff_ids,
  );
  const repos = JSON.parse(files.get('repositories')!.body.toString());
  assert.deepEqual(Object.keys(repos).sort(), ['other/name', 'roundtrip']);

  const { results, text } = await load(b, tar);
  assert.deepEqual(results, [{ id, tags: ['roundtrip:1', 'roundtrip:2', 'other/name:v1'] }]);
  assert.equal(text, 'Loaded image: roundtrip:1\nLoaded image: roundtrip:2\nLoaded image: other/name:v1\n');
  assert.equal(b.store.resolve('roundtrip:2').id, id);
  assert.equal(
    existsSync(`${b.snapshots.diffDir(b.snapshots.stack(b.store.get(id).topChain).at(-1)!)}/etc/motd`),
    true,
  );

  // The same archive again: same image, nothing new; the saved archive of b is byte-identical.
  await load(b, tar);
  assert.equal(b.store.list().length, 1);
  const again = await collect((await saveImages(b.store, ['roundtrip', 'other/name:v1'])).stream);
  assert.equal(sha256(again), sha256(tar), 'save is deterministic');
  assert.deepEqual((await b.footprint()).tmp, [], 'no scratch files stay');
});

test('save by ID records no tag; load prints the ID; a moved tag says so', async () => {
  const id = await makeImage(a.store, [[{ name: 'x', content: 'x' }]], ['moving:1']);
  const tar = await collect((await saveImages(a.store, [id.slice(7, 19)])).stream);
  const files = await untar(tar);
  assert.equal(JSON.parse(files.get('manifest.json')!.body.toString())[0].RepoTags, null);
  assert.equal(files.has('repositories'), false);
  const { text } = await load(b, tar);
  assert.equal(text, `Loaded image ID: ${id}\n`);

  const other = await makeImage(b.store, [[{ name: 'y', content: 'y' }]], ['moving:1']);
  const tagged = await collect((await saveImages(a.store, ['moving:1'])).stream);
  const { text: moved } = await load(b, tagged);
  assert.equal(
    moved,
    `The image moving:1 already exists, renaming the old one with ID ${other} to empty string\nLoaded image: moving:1\n`,
  );
  assert.equal(b.store.resolve('moving:1').id, id);
  assert.deepEqual(b.store.get(other).tags, []);
  await assert.rejects(
    saveImages(a.store, ['nosuch:image']),
    (e: Error & { category?: string }) => e.category === 'NotFound',
  );
});

test('a gzip-compressed archive loads, with Loading layer progress per layer', async () => {
  const id = await makeImage(a.store, [[{ name: 'big', content: Buffer.alloc(3 << 20, 7) }]], ['gz:1']);
  const tar = await collect((await saveImages(a.store, ['gz:1'])).stream);
  const fresh = await openTestStores();
  try {
    const { results, msgs } = await load(fresh, gzipSync(tar));
    assert.equal(results[0]!.id, id);
    const progress = msgs.filter((m) => m.status === 'Loading layer');
    assert.ok(progress.length >= 2, 'several progress lines for a 3 MB layer');
    assert.match(progress[0]!.id!, /^[a-f0-9]{12}$/);
    assert.deepEqual(progress.at(-1)!.progressDetail, {
      current: progress.at(-1)!.progressDetail!.total,
      total: (3 << 20) + 1536,
    });
    const quiet = await openTestStores();
    try {
      const q = await load(quiet, tar, { quiet: true });
      assert.deepEqual(q.msgs, [{ stream: 'Loaded image: gz:1\n' }]);
    } finally {
      await quiet.close();
    }
  } finally {
    await fresh.close();
  }
});

test('destroying a save stream midway stops it and closes the blob being read', async () => {
  await makeImage(a.store, [[{ name: 'big', content: Buffer.alloc(8 << 20, 1) }]], ['abort:1']);
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  const { stream } = await saveImages(a.store, ['abort:1']);
  await new Promise<void>((resolve) => stream.once('data', () => resolve()));
  stream.destroy();
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(fds() <= before, 'no file descriptor is left open');
});

/** A legacy (Docker < 25) archive: `<v1id>/layer.tar`, a duplicate layer as a symlink, a gzip'd layer. */
async function legacyArchive(): Promise<{ tar: Buffer; id: Digest }> {
  const l1 = await makeTar([{ name: 'a.txt', content: 'one' }]);
  const l2 = await makeTar([{ name: 'b.txt', content: 'two' }]);
  const diffIds = [sha256(l1), sha256(l2), sha256(l1)];
  const { architecture, os } = hostPlatform();
  const config = Buffer.from(
    JSON.stringify({ architecture, os, config: { Cmd: ['true'] }, rootfs: { type: 'layers', diff_ids: diffIds } }),
  );
  const ids = ['1'.repeat(64), '2'.repeat(64), '3'.repeat(64)];
  const tar = await makeTar([
    { name: `${ids[0]}/`, type: 'directory' },
    { name: `${ids[0]}/VERSION`, content: '1.0' },
    { name: `${ids[0]}/json`, content: '{}' },
    { name: `${ids[0]}/layer.tar`, content: l1 },
    { name: `${ids[1]}/`, type: 'directory' },
    { name: `${ids[1]}/layer.tar`, content: gzipSync(l2) },
    { name: `${ids[2]}/`, type: 'directory' },
    { name: `${ids[2]}/layer.tar`, type: 'symlink', linkname: `../${ids[0]}/layer.tar` },
    { name: `${hexOf(sha256(config))}.json`, content: config },
    {
      name: 'manifest.json',
      content: JSON.stringify([
        { Config: `${hexOf(sha256(config))}.json`, RepoTags: ['legacy:old'], Layers: ids.map((i) => `${i}/layer.tar`) },
      ]),
    },
    { name: 'repositories', content: JSON.stringify({ legacy: { old: ids[2] } }) },
  ]);
  return { tar, id: sha256(config) };
}

test('a legacy docker-archive with symlinked duplicates and a gzip layer loads', async () => {
  const s = await openTestStores();
  try {
    const { tar, id } = await legacyArchive();
    const { results } = await load(s, tar);
    assert.deepEqual(results, [{ id, tags: ['legacy:old'] }]);
    const layers = s.snapshots.stack(s.store.get(id).topChain);
    assert.equal(layers.length, 3);
    assert.equal(layers[0]!.diffId, layers[2]!.diffId);
    assert.deepEqual(readdirSync(s.snapshots.diffDir(layers[1]!)), ['b.txt']);
  } finally {
    await s.close();
  }
});

test('a plain OCI layout (no manifest.json) with a nested index and gzip layers loads under its name', async () => {
  const s = await openTestStores();
  try {
    const layer = await makeTar([{ name: 'oci.txt', content: 'from an OCI layout' }]);
    const gz = gzipSync(layer);
    const { architecture, os } = hostPlatform();
    const config = Buffer.from(
      JSON.stringify({ architecture, os, rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: sha256(config), size: config.length },
        layers: [{ mediaType: MediaType.OciLayerGzip, digest: sha256(gz), size: gz.length }],
      }),
    );
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          {
            mediaType: MediaType.OciManifest,
            digest: sha256('nope'),
            size: 4,
            platform: { architecture: 'riscv64', os: 'linux' },
          },
          {
            mediaType: MediaType.OciManifest,
            digest: sha256(manifest),
            size: manifest.length,
            platform: { architecture, os },
          },
        ],
      }),
    );
    const blob = (d: Buffer): TarEntry => ({ name: `blobs/sha256/${hexOf(sha256(d))}`, content: d });
    const tar = await makeTar([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      blob(config),
      blob(gz),
      blob(manifest),
      blob(nested),
      {
        name: 'index.json',
        content: JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: MediaType.OciIndex,
              digest: sha256(nested),
              size: nested.length,
              annotations: {
                'io.containerd.image.name': 'docker.io/library/oci:v2',
                'org.opencontainers.image.ref.name': 'v2',
              },
            },
          ],
        }),
      },
    ]);
    const { results, text } = await load(s, tar);
    assert.deepEqual(results, [{ id: sha256(config), tags: ['oci:v2'] }]);
    assert.equal(text, 'Loaded image: oci:v2\n');
  } finally {
    await s.close();
  }
});

test('hostile archives fail with InvalidArgument and leave no image, layer, blob or scratch file', async () => {
  const s = await openTestStores();
  try {
    const good = await makeTar([{ name: 'ok.txt', content: 'ok' }]);
    const evil = await makeTar([{ name: 'ok.txt', content: 'not what the config says' }]);
    const { architecture, os } = hostPlatform();
    const cfg = (diffIds: Digest[]) =>
      Buffer.from(JSON.stringify({ architecture, os, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const archive = (layers: TarEntry[], layerNames: string[], diffIds: Digest[], more: TarEntry[] = []) => {
      const c = cfg(diffIds);
      return makeTar([
        ...layers,
        { name: 'config.json', content: c },
        {
          name: 'manifest.json',
          content: JSON.stringify([{ Config: 'config.json', RepoTags: ['hostile:1'], Layers: layerNames }]),
        },
        ...more,
      ]);
    };
    const sentinel = `/tmp/berth-load-escape-${process.pid}`;
    const cases: Array<[string, Buffer, RegExp]> = [
      [
        'dot-dot entry name',
        await makeTar([
          { name: `../../../../..${sentinel}`, content: 'pwned' },
          { name: 'manifest.json', content: '[]' },
        ]),
        /contains "\.\."/,
      ],
      ['absolute entry name', await makeTar([{ name: sentinel, content: 'pwned' }]), /absolute path/],
      [
        'absolute symlink as a layer',
        await archive([{ name: 'layer.tar', type: 'symlink', linkname: '/etc/passwd' }], ['layer.tar'], [sha256(good)]),
        /symlink to the absolute path/,
      ],
      [
        'symlink climbing out',
        await archive(
          [{ name: 'd/layer.tar', type: 'symlink', linkname: '../../outside.tar' }],
          ['d/layer.tar'],
          [sha256(good)],
        ),
        /outside the archive/,
      ],
      [
        'symlink loop',
        await archive(
          [
            { name: 'l1', type: 'symlink', linkname: 'l2' },
            { name: 'l2', type: 'symlink', linkname: 'l1' },
          ],
          ['l1'],
          [sha256(good)],
        ),
        /too many levels of links/,
      ],
      [
        'layer not matching its diff ID',
        await archive(
          [
            { name: 'good.tar', content: good },
            { name: 'evil.tar', content: evil },
          ],
          ['good.tar', 'evil.tar'],
          [sha256(good), sha256(good).replace(/.$/, '0') as Digest],
        ),
        /does not match the diff ID/,
      ],
      [
        'manifest naming a missing file',
        await archive([], ['missing/layer.tar'], [sha256(good)]),
        /has no file "missing\/layer\.tar"/,
      ],
      [
        'malformed manifest.json',
        await makeTar([{ name: 'manifest.json', content: '{not json' }]),
        /manifest\.json" is not valid JSON/,
      ],
      ['manifest.json not a list', await makeTar([{ name: 'manifest.json', content: 'null' }]), /not a list/],
      [
        'layer count mismatch',
        await archive([{ name: 'good.tar', content: good }], ['good.tar'], [sha256(good), sha256(good)]),
        /layers length mismatch/,
      ],
      [
        'invalid tag',
        await makeTar([
          { name: 'c', content: cfg([]) },
          { name: 'manifest.json', content: JSON.stringify([{ Config: 'c', RepoTags: ['UPPER:case'], Layers: [] }]) },
        ]),
        /invalid tag "UPPER:case"/,
      ],
      [
        'blob not matching its name',
        await archive(
          [{ name: `blobs/sha256/${hexOf(sha256(good))}`, content: evil }],
          [`blobs/sha256/${hexOf(sha256(good))}`],
          [sha256(good)],
        ),
        /does not match its digest name/,
      ],
      ['not a tar', Buffer.alloc(4096, 0x41), /not a valid tar/],
      ['no manifest', await makeTar([{ name: 'hello', content: 'x' }]), /neither manifest\.json nor index\.json/],
      [
        'too many layers',
        await archive(
          [{ name: 'good.tar', content: good }],
          Array(129).fill('good.tar'),
          Array(129).fill(sha256(good)),
        ),
        /129 layers, more than the 128/,
      ],
      [
        'too many entries',
        await makeTar(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, content: '' }))),
        /more than 10 entries/,
      ],
      ['too large', await makeTar([{ name: 'big', content: Buffer.alloc(64 * 1024) }]), /exceeds the limit/],
    ];
    for (const [what, tar, re] of cases) {
      await assert.rejects(
        load(s, tar, { maxEntries: 10, maxBytes: 32 * 1024 }),
        (e: Error & { category?: string }) => {
          assert.equal(e.category, 'InvalidArgument', `${what}: ${e.message}`);
          assert.match(e.message, re, what);
          return true;
        },
        what,
      );
      assert.deepEqual(s.store.list(), [], `${what}: no image`);
      assert.deepEqual(
        await s.footprint(),
        { blobs: [], layers: [], tmp: [], ingest: [] },
        `${what}: nothing stays on disk`,
      );
    }
    assert.equal(existsSync(sentinel), false, 'nothing was written outside');
  } finally {
    await s.close();
  }
});

test('a layer unpacked from a stream keeps no tar and learns its size; a wrong diff ID leaves nothing', async () => {
  const entries: TarEntry[] = [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/one-pass', content: 'written once\n' },
    { name: 'big', content: 'x'.repeat(3 << 20) },
  ];
  const tar = await makeTar(entries);
  const diffId = sha256(tar);
  let tarSize = 0;
  const layer = await a.store.snapshots.addLayerFromStream(null, diffId, Readable.from([tar]), (n) => (tarSize = n));
  assert.equal(layer.diffId, diffId);
  assert.equal(layer.chainId, diffId);
  assert.equal(tarSize, tar.length);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(`${a.store.snapshots.diffDir(layer)}/etc/one-pass`, 'utf8'), 'written once\n');
  assert.equal(await a.store.content.has(diffId), false, 'no tar blob: the caller keeps what the layer came as');

  const other = await makeTar([{ name: 'not-what-was-promised', content: 'x' }]);
  const promised = sha256(Buffer.from('something else'));
  const before = await a.footprint();
  await assert.rejects(a.store.snapshots.addLayerFromStream(null, promised, Readable.from([other])), /digest mismatch/);
  assert.equal(a.store.snapshots.get(promised), undefined);
  assert.equal(await a.store.content.has(promised), false);
  assert.deepEqual(await a.footprint(), before, 'no layer directory, blob or ingest file is left');
  await a.store.dropLayers([diffId]);
});

test('save --compression zstd writes zstd layers (their kept form) that load back to the same image', async () => {
  const id = await makeImage(
    a.store,
    [[{ name: 'z.txt', content: 'z'.repeat(100_000) }], [{ name: 'y.txt', content: 'y'.repeat(50_000) }]],
    ['zsaved:1'],
  );
  const { stream } = await saveImages(a.store, ['zsaved:1'], { compression: { kind: 'zstd', level: 3 } });
  const files = await untar(await collect(stream));
  const manifest = JSON.parse(files.get('manifest.json')!.body.toString())[0];
  const image = a.store.get(id);
  for (const [i, path] of (manifest.Layers as string[]).entries()) {
    const body = files.get(path)!.body;
    assert.deepEqual([...body.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'a zstd frame');
    const form = a.store.compressed.find(image.config.rootfs.diff_ids[i]!, 'zstd', 3)!;
    assert.equal(path, `blobs/sha256/${hexOf(form.digest)}`);
  }
  const index = JSON.parse(files.get('index.json')!.body.toString());
  const m = JSON.parse(files.get(`blobs/sha256/${hexOf(index.manifests[0].digest)}`)!.body.toString());
  assert.deepEqual(
    m.layers.map((l: { mediaType: string }) => l.mediaType),
    [MediaType.OciLayerZstd, MediaType.OciLayerZstd],
  );
  const { results } = await load(
    b,
    await collect((await saveImages(a.store, ['zsaved:1'], { compression: { kind: 'zstd' } })).stream),
  );
  assert.equal(results[0]!.id, id);
  assert.equal(b.store.resolve('zsaved:1').id, id);
});
