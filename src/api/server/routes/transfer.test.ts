/** The transfer routes over HTTP on a unix socket, with real stores behind them. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTar } from '../../../archive/testing.ts';
import { ContentStore } from '../../../content/index.ts';
import { EventBus } from '../../../events/index.ts';
import { RealHost } from '../../../host/index.ts';
import { ImageStore } from '../../../images/index.ts';
import { MetadataDb } from '../../../metadata/index.ts';
import { ImageService } from '../../../services/images/index.ts';
import { Snapshotter } from '../../../snapshots/index.ts';
import { Router, listen, close, type Listener } from '../index.ts';
import { registerTransfer } from './transfer.ts';
import { registerImages } from './images.ts';

let dir: string;
let sock: string;
let db: MetadataDb;
let l: Listener;
let images: ImageService;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-transfer-'));
  db = new MetadataDb(join(dir, 'metadata.db'));
  const host = new RealHost();
  const content = await ContentStore.open(join(dir, 'content'));
  const snapshots = await Snapshotter.open(join(dir, 'overlay'), db, content, host);
  images = new ImageService(new ImageStore(db, content, snapshots), new EventBus());
  const r = new Router();
  registerTransfer(r, { images, host, tmp: join(dir, 'tmp') });
  registerImages(r, images);
  sock = join(dir, 'api.sock');
  l = await listen(r, `unix://${sock}`);
});
after(async () => {
  if (l) await close(l);
  db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  type: string;
  body: Buffer;
}

/** Sends `body` in 64 KiB pieces, as a client uploading an archive does. */
function call(method: string, path: string, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: sock, method, path, headers: body ? { 'Content-Type': 'application/x-tar' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    if (body) {
      let off = 0;
      const pump = () => {
        while (off < body.length) {
          const piece = body.subarray(off, off + 65536);
          off += piece.length;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    } else req.end();
  });
}

const lines = (r: Reply) =>
  r.body
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('import streams progress and ends with the image ID; pull and URL imports fail clearly', async () => {
  const tar = await makeTar([{ name: 'big', content: Buffer.alloc(3 << 20, 1) }]);
  const r = await call(
    'POST',
    '/v1.45/images/create?fromSrc=-&repo=imp&tag=1&changes=CMD%20%5B%22sh%22%5D&changes=ENV%20A%3D1&message=hello',
    tar,
  );
  assert.equal(r.status, 200);
  assert.equal(r.type, 'application/json');
  const msgs = lines(r);
  const last = msgs.at(-1)!;
  assert.match(String(last.status), /^sha256:[a-f0-9]{64}$/);
  assert.ok(
    msgs.some((m) => m.status === 'Importing' && typeof (m.progressDetail as { current: number }).current === 'number'),
  );
  const img = images.resolve('imp:1');
  assert.equal(img.id, last.status);
  assert.deepEqual(img.config.config?.Cmd, ['sh']);
  assert.equal(img.config.comment, 'hello');

  const pull = lines(await call('POST', '/images/create?fromImage=alpine&tag=latest'));
  assert.match(
    String(pull.at(-1)!.error),
    /^pull access denied for alpine, repository does not exist or may require 'docker login': no registry can be reached/,
  );
  const url = lines(await call('POST', '/images/create?fromSrc=http%3A%2F%2Fexample.com%2Fx.tar', Buffer.alloc(0)));
  assert.match(String(url.at(-1)!.error), /only an uploaded archive \(-\) can be imported/);
  const badChange = await call('POST', '/images/create?fromSrc=-&changes=RUN%20x', tar);
  assert.equal(badChange.status, 400);
  assert.deepEqual(JSON.parse(badChange.body.toString()), { message: 'run is not a valid change command' });
  const badName = await call('POST', '/images/create?fromSrc=-&repo=Upper', tar);
  assert.equal(badName.status, 400);
  assert.match(JSON.parse(badName.body.toString()).message, /invalid reference format "Upper"/);
});

test('save over HTTP: a tar for /images/get and /images/{name}/get, 404 JSON for an unknown name', async () => {
  const r = await call('GET', '/images/get?names=imp%3A1');
  assert.equal(r.status, 200);
  assert.equal(r.type, 'application/x-tar');
  assert.ok(r.body.includes(Buffer.from('manifest.json')));
  const one = await call('GET', '/images/imp:1/get');
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, r.body);
  const missing = await call('GET', '/images/get?names=nosuch%3Aimage');
  assert.equal(missing.status, 404);
  assert.match(JSON.parse(missing.body.toString()).message, /No such image: nosuch:image/);
});

test("load over HTTP: Docker's stream lines; a hostile archive gets its error even mid-upload", async () => {
  const tar = (await call('GET', '/images/get?names=imp%3A1')).body;
  const ok = lines(await call('POST', '/images/load?quiet=1', tar));
  assert.deepEqual(ok, [{ stream: 'Loaded image: imp:1\n' }]);
  // The first entry is refused while 32 MB are still on their way.
  const hostile = await makeTar([
    { name: '/etc/evil', content: 'x' },
    { name: 'pad', content: Buffer.alloc(32 << 20) },
  ]);
  const r = await call('POST', '/images/load', hostile);
  assert.equal(r.status, 200);
  const last = lines(r).at(-1)!;
  assert.match(String(last.error), /load: entry "\/etc\/evil" has an absolute path/);
  assert.deepEqual(last.errorDetail, { message: last.error });
});

test(
  'bootstrap streams progress, the image ID as aux, and a final status',
  { skip: process.getuid?.() !== 0 && 'needs root' },
  async () => {
    const msgs = lines(await call('POST', '/berth/v1/images/bootstrap?image=busybox'));
    const aux = msgs.find((m) => m.aux) as { aux: { ID: string } };
    assert.match(aux.aux.ID, /^sha256:[a-f0-9]{64}$/);
    assert.deepEqual(msgs.at(-1), { status: 'Successfully bootstrapped busybox' });
    assert.equal(images.resolve('busybox').id, aux.aux.ID);
    const bad = lines(await call('POST', '/berth/v1/images/bootstrap?image=debian%3Asid'));
    assert.match(String(bad.at(-1)!.error), /unknown Debian suite "sid"/);
  },
);
