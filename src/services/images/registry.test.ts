/** Pull and push over real stores on a temporary directory, against an in-test registry. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTar } from '../../archive/testing.ts';
import { EventBus } from '../../events/index.ts';
import { ImageStore } from '../../images/index.ts';
import type { JsonMessage } from '../../api/types/index.ts';
import { ContentStore } from '../../content/index.ts';
import { MetadataDb } from '../../metadata/index.ts';
import { Snapshotter } from '../../snapshots/index.ts';
import { RealHost } from '../../host/index.ts';
import { schema2Manifest } from '../../registry/index.ts';
import { startFakeRegistry, type FakeRegistry } from '../../registry/testing.ts';
import { MediaType, sha256, type Descriptor, type Digest } from '../../spec/index.ts';
import { ImageService } from './index.ts';

let dir: string;
let db: MetadataDb;
let svc: ImageService;
let reg: FakeRegistry;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-regsvc-'));
  db = new MetadataDb(join(dir, 'metadata.db'));
  const content = await ContentStore.open(join(dir, 'content'));
  const snapshots = await Snapshotter.open(join(dir, 'overlay'), db, content, new RealHost());
  svc = new ImageService(new ImageStore(db, content, snapshots), new EventBus());
  reg = await startFakeRegistry({ auth: { scheme: 'bearer', username: 'u', password: 'p' } });
});
after(async () => {
  await reg?.close();
  db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const creds = { username: 'u', password: 'p' };
const tmp = () => join(dir, 'tmp');

/** Publishes an image of the given layers (tar, how to compress) in `repo:tag`. */
async function publish(
  repo: string,
  tag: string,
  layers: Array<{ files: Record<string, string>; comp: 'gzip' | 'zstd' | 'none' }>,
): Promise<{ manifest: Digest; diffIds: Digest[]; blobs: Digest[] }> {
  const diffIds: Digest[] = [];
  const descs: Descriptor[] = [];
  for (const l of layers) {
    const tar = await makeTar(Object.entries(l.files).map(([name, content]) => ({ name, content })));
    diffIds.push(sha256(tar));
    const blob = l.comp === 'gzip' ? gzipSync(tar) : l.comp === 'zstd' ? zstdCompressSync(tar) : tar;
    const mediaType =
      l.comp === 'gzip' ? MediaType.DockerLayerGzip : l.comp === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayer;
    descs.push({ mediaType, digest: reg.addBlob(repo, blob), size: blob.length });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layers.map(() => ({ created_by: tag })),
    }),
  );
  const cd = reg.addBlob(repo, config);
  const m = schema2Manifest({ mediaType: MediaType.DockerConfig, digest: cd, size: config.length }, descs);
  return {
    manifest: reg.addManifest(repo, tag, MediaType.DockerManifest, m),
    diffIds,
    blobs: descs.map((d) => d.digest),
  };
}

async function pull(ref: string): Promise<JsonMessage[]> {
  const msgs: JsonMessage[] = [];
  await svc.pull(ref, { tmp: tmp(), creds, out: (m) => msgs.push(m) });
  return msgs;
}

const statuses = (msgs: JsonMessage[]) =>
  msgs
    .filter((m) => !/^(Downloading|Extracting)$/.test(m.status ?? ''))
    .map((m) => `${m.status}${m.id ? ` ${m.id}` : ''}`);

test('pull: layers in gzip, zstd and plain tar; up to date the second time; Already exists for a shared base', async () => {
  const base = { files: { 'etc/base': 'base' }, comp: 'gzip' as const };
  const a = await publish('t/app', 'v1', [
    base,
    { files: { 'a.txt': 'a'.repeat(100_000) }, comp: 'zstd' },
    { files: { 'b.txt': 'b' }, comp: 'none' },
  ]);
  const msgs = await pull(`${reg.host}/t/app:v1`);
  const s = statuses(msgs);
  assert.equal(s[0], 'Pulling from t/app v1');
  assert.ok(s.includes(`Pulling fs layer ${a.blobs[0]!.slice(7, 19)}`));
  assert.ok(s.includes(`Pull complete ${a.blobs[2]!.slice(7, 19)}`));
  assert.ok(msgs.some((m) => m.status === 'Downloading' && m.progressDetail?.total));
  assert.equal(s.at(-2), `Digest: ${a.manifest}`);
  assert.equal(s.at(-1), `Status: Downloaded newer image for ${reg.host}/t/app:v1`);
  const img = svc.resolve(`${reg.host}/t/app:v1`);
  assert.deepEqual(img.config.rootfs.diff_ids, a.diffIds);
  assert.deepEqual(img.digests, [`${reg.host}/t/app@${a.manifest}`]);
  assert.equal(svc.resolve(`${reg.host}/t/app@${a.manifest}`).id, img.id);
  const again = statuses(await pull(`${reg.host}/t/app:v1`));
  assert.deepEqual(again, [
    'Pulling from t/app v1',
    `Digest: ${a.manifest}`,
    `Status: Image is up to date for ${reg.host}/t/app:v1`,
  ]);
  const b = await publish('t/other', 'v2', [base, { files: { 'c.txt': 'c' }, comp: 'gzip' }]);
  const s2 = statuses(await pull(`${reg.host}/t/other:v2`));
  assert.ok(s2.includes(`Already exists ${b.blobs[0]!.slice(7, 19)}`));
  assert.ok(s2.includes(`Pull complete ${b.blobs[1]!.slice(7, 19)}`));
  // by digest
  const s3 = statuses(await pull(`${reg.host}/t/other@${b.manifest}`));
  assert.equal(s3[0], `Pulling from t/other ${reg.host}/t/other@${b.manifest}`);
  // The tag pull recorded the digest: nothing new, as dockerd says.
  assert.equal(s3.at(-1), `Status: Image is up to date for ${reg.host}/t/other@${b.manifest}`);
  assert.deepEqual(await readdir(tmp()), []);
});

test('pull: a corrupt blob, a dropped connection or a wrong diff ID leave no image and no layers', async () => {
  const layersBefore = (db.stmt('SELECT count(*) AS n FROM layers').get() as { n: number }).n;
  const imagesBefore = svc.store.list().length;
  const x = await publish('t/bad', 'v1', [
    { files: { 'x/1': '1' }, comp: 'gzip' },
    { files: { 'x/2': '2'.repeat(200_000) }, comp: 'gzip' },
  ]);
  reg.corrupt.add(x.blobs[1]!);
  await assert.rejects(pull(`${reg.host}/t/bad:v1`), /digest mismatch/);
  reg.corrupt.clear();
  reg.drop.add(x.blobs[1]!);
  await assert.rejects(pull(`${reg.host}/t/bad:v1`));
  reg.drop.clear();
  // A config that names another diff ID for a layer.
  const tar = await makeTar([{ name: 'y', content: 'y' }]);
  const blob = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('not it')] } }),
  );
  const m = schema2Manifest(
    { mediaType: MediaType.DockerConfig, digest: reg.addBlob('t/bad', config), size: config.length },
    [{ mediaType: MediaType.DockerLayerGzip, digest: reg.addBlob('t/bad', blob), size: blob.length }],
  );
  reg.addManifest('t/bad', 'v2', MediaType.DockerManifest, m);
  await assert.rejects(pull(`${reg.host}/t/bad:v2`), /does not match the diff ID/);
  assert.equal((db.stmt('SELECT count(*) AS n FROM layers').get() as { n: number }).n, layersBefore);
  assert.equal(svc.store.list().length, imagesBefore);
  assert.deepEqual(await readdir(tmp()), []);
  await assert.rejects(
    pull(`${reg.host}/t/bad:nope`),
    (e: Error & { category?: string }) =>
      e.category === 'NotFound' && /^manifest for .*t\/bad:nope not found: manifest unknown/.test(e.message),
  );
  await assert.rejects(svc.pull(`${reg.host}/t/bad:v1`, { tmp: tmp(), out: () => {} }), /pull access denied/);
});

test('pull: four layers wait for three downloads; a client going away stops the pull and leaves nothing', async () => {
  const { randomBytes } = await import('node:crypto');
  const big = () => ({
    files: { [`r${Math.random()}`]: randomBytes(600_000).toString('base64') },
    comp: 'gzip' as const,
  });
  const x = await publish('t/slow', 'v1', [big(), big(), big(), big()]);
  for (const b of x.blobs) reg.slow.add(b);
  const layersBefore = (db.stmt('SELECT count(*) AS n FROM layers').get() as { n: number }).n;
  const ac = new AbortController();
  const msgs: JsonMessage[] = [];
  const p = svc.pull(`${reg.host}/t/slow:v1`, {
    tmp: tmp(),
    creds,
    signal: ac.signal,
    out: (m) => {
      msgs.push(m);
      if (m.status === 'Downloading' && (m.progressDetail?.current ?? 0) > 200_000) ac.abort();
    },
  });
  await assert.rejects(p, /cancelled/);
  reg.slow.clear();
  assert.deepEqual(
    statuses(msgs).filter((l) => l.startsWith('Waiting')),
    [`Waiting ${x.blobs[3]!.slice(7, 19)}`],
  );
  assert.equal((db.stmt('SELECT count(*) AS n FROM layers').get() as { n: number }).n, layersBefore);
  assert.equal(svc.store.find(`${reg.host}/t/slow:v1`), undefined);
  assert.deepEqual(await readdir(tmp()), []);
  // And the registry's view of it, as `docker manifest inspect`-like tools ask.
  assert.deepEqual(await svc.distribution(`${reg.host}/t/slow:v1`, creds), {
    Descriptor: {
      mediaType: MediaType.DockerManifest,
      digest: x.manifest,
      size: reg.manifests.get('t/slow')!.get('v1')!.bytes.length,
    },
    Platforms: [{ architecture: 'amd64', os: 'linux' }],
  });
});

test('pull -a: every tag of the repository, one status line for the repository', async () => {
  await publish('t/many', 'a', [{ files: { 'm/a': 'a' }, comp: 'gzip' }]);
  await publish('t/many', 'b', [{ files: { 'm/b': 'b' }, comp: 'gzip' }]);
  const msgs: JsonMessage[] = [];
  const rs = await svc.pullAll(`${reg.host}/t/many`, { tmp: tmp(), creds, out: (m) => msgs.push(m) });
  assert.equal(rs.length, 2);
  const s = statuses(msgs);
  assert.deepEqual(
    s.filter((l) => l.startsWith('Pulling from')),
    ['Pulling from t/many a', 'Pulling from t/many b'],
  );
  assert.deepEqual(
    s.filter((l) => l.startsWith('Status:')),
    [`Status: Downloaded newer image for ${reg.host}/t/many`],
  );
  assert.ok(svc.store.find(`${reg.host}/t/many:a`) && svc.store.find(`${reg.host}/t/many:b`));
});

test('pull: two pulls of one image at once both succeed and share the layers', async () => {
  const x = await publish('t/twice', 'v1', [
    { files: { 't/1': '1'.repeat(300_000) }, comp: 'gzip' },
    { files: { 't/2': '2' }, comp: 'zstd' },
  ]);
  const [a, b] = await Promise.all([pull(`${reg.host}/t/twice:v1`), pull(`${reg.host}/t/twice:v1`)]);
  assert.equal(statuses(a).at(-2), `Digest: ${x.manifest}`);
  assert.equal(statuses(b).at(-2), `Digest: ${x.manifest}`);
  const img = svc.resolve(`${reg.host}/t/twice:v1`);
  assert.equal(svc.store.snapshots.stack(img.topChain).length, 2);
  assert.equal(
    (
      db.stmt('SELECT count(*) AS n FROM layers WHERE diff_id IN (?, ?)').get(x.diffIds[0], x.diffIds[1]) as {
        n: number;
      }
    ).n,
    2,
  );
});

test('pull: an index resolves to the host platform entry', async () => {
  const a = await publish('t/multi', 'amd', [{ files: { arch: 'amd64' }, comp: 'gzip' }]);
  const entry = (digest: Digest, arch: string) => ({
    mediaType: MediaType.DockerManifest,
    digest,
    size: reg.manifests.get('t/multi')!.get(digest)!.bytes.length,
    platform: { os: 'linux', architecture: arch },
  });
  const other = sha256('elsewhere');
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [{ ...entry(a.manifest, 'arm64'), digest: other }, entry(a.manifest, 'amd64')],
    }),
  );
  const id = reg.addManifest('t/multi', 'latest', MediaType.OciIndex, index);
  const s = statuses(await pull(`${reg.host}/t/multi:latest`));
  assert.equal(s.at(-2), `Digest: ${id}`);
  assert.ok(svc.resolve(`${reg.host}/t/multi:latest`).digests.includes(`${reg.host}/t/multi@${id}`));
});

test('push: Pushed, then Layer already exists, then Mounted from; unknown image is NotFound', async () => {
  const a = svc.resolve(`${reg.host}/t/app:v1`);
  svc.tag(a.id, `${reg.host}/t/pushed`, 'one');
  const run = async (name: string, tag?: string) => {
    const msgs: JsonMessage[] = [];
    const aux: object[] = [];
    await svc.push(svc.planPush(name, tag), { tmp: tmp(), creds, out: (m) => msgs.push(m), aux: (x) => aux.push(x) });
    return { s: statuses(msgs.filter((m) => m.status !== 'Pushing')), aux, msgs };
  };
  const first = await run(`${reg.host}/t/pushed`, 'one');
  assert.equal(first.s[0], `The push refers to repository [${reg.host}/t/pushed]`);
  // Pulled from t/app on this registry: every layer is mounted, not uploaded.
  assert.ok(first.s.includes(`Mounted from t/app ${a.config.rootfs.diff_ids[0]!.slice(7, 19)}`), first.s.join('\n'));
  const last = first.s.at(-1)!;
  assert.match(last, /^one: digest: sha256:[a-f0-9]{64} size: \d+$/);
  assert.equal((first.aux[0] as { Tag: string }).Tag, 'one');
  // A committed-looking image that the registry has never seen: pushed.
  const fresh = await publishLocal();
  svc.tag(fresh, `${reg.host}/t/fresh`, '1');
  const f1 = await run(`${reg.host}/t/fresh`, '1');
  assert.ok(
    f1.s.some((l) => l.startsWith('Pushed ')),
    f1.s.join('\n'),
  );
  assert.ok(f1.msgs.some((m) => m.status === 'Pushing' && m.progressDetail?.total));
  svc.tag(fresh, `${reg.host}/t/fresh`, '2');
  const all = await run(`${reg.host}/t/fresh`);
  assert.deepEqual(
    all.aux.map((x) => (x as { Tag: string }).Tag),
    ['1', '2'],
  );
  assert.ok(all.s.filter((l) => l.startsWith('Layer already exists')).length >= 2);
  svc.tag(fresh, `${reg.host}/t/third`, 'x');
  const m = await run(`${reg.host}/t/third`, 'x');
  assert.ok(
    m.s.some((l) => l.startsWith('Mounted from t/fresh')),
    m.s.join('\n'),
  );
  // Pull it back by the pushed digest after deleting it locally.
  const digest = (all.aux[0] as { Digest: string }).Digest;
  for (const t of svc.resolve(fresh).tags) svc.store.untag(t);
  await svc.remove(fresh, { force: true }).catch(() => {});
  const back = statuses(await pull(`${reg.host}/t/fresh@${digest}`));
  assert.equal(back.at(-1), `Status: Downloaded newer image for ${reg.host}/t/fresh@${digest}`);
  assert.equal(svc.resolve(`${reg.host}/t/fresh@${digest}`).id, fresh);
  assert.throws(
    () => svc.planPush(`${reg.host}/t/nothing`, 'v1'),
    /An image does not exist locally with the tag: 127\.0\.0\.1:\d+\/t\/nothing/,
  );
});

/** An image made locally (as import does): one layer no registry has. */
async function publishLocal(): Promise<string> {
  const { Readable } = await import('node:stream');
  const tar = await makeTar([{ name: 'fresh.txt', content: 'f'.repeat(300_000) + Math.random() }]);
  const img = await svc.import(Readable.from([tar]), { changes: [], progress: () => {} });
  return img.id;
}

/** Runs `fn` with the image service reading `files` (path under the test root → text) as its registry setup. */
async function withRegistryFiles(
  files: Record<string, string>,
  cfg: (root: string) => Partial<typeof svc.registry>,
  fn: () => Promise<void>,
): Promise<void> {
  const root = await mkdtemp(join(dir, 'regcfg-'));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(root, p, '..'), { recursive: true });
    await writeFile(join(root, p), text);
  }
  const saved = svc.registry;
  svc.registry = { insecure: [], mirrors: [], certsDirs: [], ...cfg(root) };
  try {
    await fn();
  } finally {
    svc.registry = saved;
  }
}

// Nothing listens on 127.0.0.1:9 here: a host that refuses the connection at once.
const REFUSED = 'http://127.0.0.1:9';

test('pull through hosts.toml: registry.k8s.io from a loopback mirror, after a host that refuses; tagged with its own name', async () => {
  const x = await publish('mirror/pause', '3.9', [{ files: { pause: 'p' }, comp: 'gzip' }]);
  await withRegistryFiles(
    {
      'certs.d/registry.k8s.io/hosts.toml': `server = "${REFUSED}"
[host."${REFUSED}/down"]
[host."http://${reg.host}"]
  capabilities = ["pull", "resolve"]
`,
    },
    (root) => ({ certsDirs: [join(root, 'certs.d')] }),
    async () => {
      const s = statuses(await pull('registry.k8s.io/mirror/pause:3.9'));
      assert.equal(s.at(-2), `Digest: ${x.manifest}`);
    },
  );
  const img = svc.resolve('registry.k8s.io/mirror/pause:3.9');
  assert.deepEqual(img.tags, ['registry.k8s.io/mirror/pause:3.9']);
  assert.ok(img.digests.includes(`registry.k8s.io/mirror/pause@${x.manifest}`));
});

test('pull through hosts.toml: a mirror that may only pull serves digests, not tags', async () => {
  const x = await publish('mirror/digests', 'v1', [{ files: { d: 'd' }, comp: 'gzip' }]);
  await withRegistryFiles(
    {
      'certs.d/quay.example.test/hosts.toml': `server = "${REFUSED}"
[host."http://${reg.host}"]
  capabilities = ["pull"]
`,
    },
    (root) => ({ certsDirs: [join(root, 'certs.d')] }),
    async () => {
      await assert.rejects(pull('quay.example.test/mirror/digests:v1'), /127\.0\.0\.1:9/);
      await pull(`quay.example.test/mirror/digests@${x.manifest}`);
    },
  );
  assert.ok(svc.store.find(`quay.example.test/mirror/digests@${x.manifest}`));
});

test('pull through registries.conf: a mirror keeping the images under a path of its own', async () => {
  const x = await publish('cache/app', '1', [{ files: { app: 'a' }, comp: 'zstd' }]);
  await withRegistryFiles(
    {
      'registries.conf': `[[registry]]
prefix = "ghcr.example.test/team"
location = "ghcr.example.test/team"
[[registry.mirror]]
location = "${reg.host}/cache"
`,
    },
    (root) => ({ registriesConf: join(root, 'registries.conf') }),
    async () => {
      const s = statuses(await pull('ghcr.example.test/team/app:1'));
      assert.equal(s.at(-2), `Digest: ${x.manifest}`);
    },
  );
  assert.ok(svc.store.find('ghcr.example.test/team/app:1'));
});
