/** The image service over real stores: import, save, load and their events. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { makeTar } from '../../archive/testing.ts';
import { EventBus } from '../../events/index.ts';
import type { EventMessage } from '../../api/types/index.ts';
import { ImageStore } from '../../images/index.ts';
import { ContentStore } from '../../content/index.ts';
import { MetadataDb } from '../../metadata/index.ts';
import { Snapshotter } from '../../snapshots/index.ts';
import { RealHost } from '../../host/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageService } from './index.ts';

let dir: string;
let db: MetadataDb;
let svc: ImageService;
const events: EventMessage[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-image-service-'));
  db = new MetadataDb(join(dir, 'metadata.db'));
  const content = await ContentStore.open(join(dir, 'content'));
  const snapshots = await Snapshotter.open(join(dir, 'overlay'), db, content, new RealHost());
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  svc = new ImageService(new ImageStore(db, content, snapshots), bus);
});
after(async () => {
  db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('import tags the image, applies changes, reports progress and an import event', async () => {
  const tar = await makeTar([{ name: 'hello.txt', content: 'hi' }]);
  const seen: number[] = [];
  const img = await svc.import(Readable.from([tar]), {
    ref: 'imported:1',
    changes: ['CMD ["cat", "/hello.txt"]', 'ENV A=1'],
    progress: (m) => seen.push(m.progressDetail?.current ?? 0),
  });
  assert.deepEqual(img.tags, ['imported:1']);
  assert.deepEqual(img.config.config?.Cmd, ['cat', '/hello.txt']);
  assert.equal(seen.at(-1), tar.length);
  const ev = events.find((e) => e.Action === 'import')!;
  assert.equal(ev.Actor.ID, img.id);
  await assert.rejects(
    svc.import(Readable.from([tar]), { ref: 'Bad Name', changes: [], progress: () => {} }),
    (e: Error & { category?: string }) => e.category === 'InvalidArgument',
  );
});

test('save then load through the service: same ID, tags, save and load events', async () => {
  const img = svc.resolve('imported:1');
  svc.tag('imported:1', 'copy', 'v2');
  const tar = await collect(await svc.save(['imported:1', 'copy:v2']));
  assert.ok(events.some((e) => e.Action === 'save' && e.Actor.ID === img.id));
  await svc.remove('copy:v2');
  await svc.remove('imported:1');
  assert.equal(svc.store.find(img.id), undefined, 'the image is gone before the load');
  const lines: string[] = [];
  const loaded = await svc.load(Readable.from([tar]), {
    tmp: join(dir, 'tmp'),
    out: (m) => m.stream && lines.push(m.stream),
  });
  assert.deepEqual(loaded, [{ id: img.id, tags: ['imported:1', 'copy:v2'] }]);
  assert.deepEqual(lines, ['Loaded image: imported:1\n', 'Loaded image: copy:v2\n']);
  assert.ok(events.some((e) => e.Action === 'load' && e.Actor.ID === img.id));
  await assert.rejects(svc.save(['nope:missing']), (e: Error & { category?: string }) => e.category === 'NotFound');
});

test('bootstrap refuses an unknown image before doing any work', async () => {
  await assert.rejects(
    svc.bootstrap('alpine:3', { host: new RealHost(), tmp: join(dir, 'tmp') }, () => {}),
    /only busybox\[:tag\] and debian:<suite>/,
  );
});

test("rmi deletes the image's untagged, unused ancestors as dockerd does, unless noprune; it stops at a tag or another child", async () => {
  const base = await svc.import(Readable.from([await makeTar([{ name: 'base.txt', content: 'b' }])]), {
    ref: 'base:1',
    changes: [],
    progress: () => {},
  });
  // A build's steps as the legacy builder leaves them: each an untagged image whose parent is
  // the step before; only the last is tagged.
  const step = async (parent: string, cmd: string, tag?: string) => {
    const config = { ...svc.store.get(parent).config, config: { Cmd: [cmd] } };
    const img = await svc.store.create(Buffer.from(JSON.stringify(config)), { parent });
    if (tag) svc.tag(img.id, tag.split(':')[0]!, tag.split(':')[1]);
    return img.id;
  };
  const s1 = await step(base.id, 'one');
  const s2 = await step(s1, 'two');
  const top = await step(s2, 'three', 'built:1');
  assert.deepEqual(await svc.remove('built:1'), [
    { Untagged: 'built:1' },
    { Deleted: top },
    { Deleted: s2 },
    { Deleted: s1 },
  ]);
  assert.ok(svc.store.find(base.id), 'the tagged base stays');

  // --no-prune: the step before stays, dangling.
  const k1 = await step(base.id, 'keep');
  const kTop = await step(k1, 'keep-top', 'kept:1');
  assert.deepEqual(await svc.remove('kept:1', { noprune: true }), [{ Untagged: 'kept:1' }, { Deleted: kTop }]);
  assert.ok(svc.store.find(k1), 'noprune keeps the parent');

  // A parent with another child is held by it: the walk stops there, quietly.
  const shared = await step(base.id, 'shared');
  await step(shared, 'left', 'left:1');
  const right = await step(shared, 'right', 'right:1');
  assert.deepEqual(await svc.remove('right:1'), [{ Untagged: 'right:1' }, { Deleted: right }]);
  assert.ok(svc.store.find(shared), 'the other child still holds the shared parent');
  await svc.remove('left:1');
  assert.equal(svc.store.find(shared), undefined, 'its last child gone, the shared parent went with it');
  await svc.remove(k1);
  await svc.remove('base:1');
});
