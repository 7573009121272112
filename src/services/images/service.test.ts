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
