import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotificationEndpoint } from './config.ts';
import { Notifier, type RegistryEvent } from './notifications.ts';
import { digestOf, schema2Manifest, startTestRegistry } from './testing.ts';

interface Receiver {
  url: string;
  got: { path: string; headers: IncomingHttpHeaders; events: RegistryEvent[] }[];
  /** The status it answers with (500 plays an endpoint that is down). */
  status: number;
  close(): Promise<void>;
}

async function receiver(t: { after(fn: () => Promise<void>): void }): Promise<Receiver> {
  const r: Receiver = { url: '', got: [], status: 200, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (r.status === 200)
        r.got.push({
          path: req.url ?? '',
          headers: req.headers,
          events: JSON.parse(Buffer.concat(chunks).toString()).events,
        });
      res.writeHead(r.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  t.after(() => r.close());
  return r;
}

function endpoint(url: string, more: Partial<NotificationEndpoint> = {}): NotificationEndpoint {
  return {
    name: 'listener',
    url,
    headers: { Authorization: ['Bearer token'] },
    timeoutMs: 1000,
    threshold: 3,
    backoffMs: 50,
    disabled: false,
    ignoredMediaTypes: [],
    ignore: { mediaTypes: [], actions: [] },
    ...more,
  };
}

const quiet = { info() {}, warn() {} };

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('pushes, pulls, mounts and deletes are POSTed to the endpoint in distribution event shape', async (t) => {
  const recv = await receiver(t);
  const dir = await mkdtemp(join(tmpdir(), 'berth-notify-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const notifier = await Notifier.open(dir, [endpoint(recv.url)], quiet);
  t.after(() => notifier.close());
  const reg = await startTestRegistry({ server: { notifier } });
  t.after(() => reg.close());

  const layer = await reg.pushBlob('app', 'a layer');
  const config = await reg.pushBlob('app', '{}');
  const body = schema2Manifest({ digest: config, size: 2 }, [{ digest: layer, size: 7 }]);
  const put = await reg.call('PUT', '/v2/app/manifests/v1', {
    body,
    headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json', 'User-Agent': 'test/1' },
  });
  assert.equal(put.status, 201);
  assert.equal((await reg.call('GET', '/v2/app/manifests/v1')).status, 200);
  assert.equal((await reg.call('HEAD', '/v2/app/manifests/v1')).status, 200, 'a HEAD is no pull');
  assert.equal((await reg.call('POST', `/v2/copy/blobs/uploads/?mount=${layer}&from=app`)).status, 201);
  assert.equal((await reg.call('DELETE', `/v2/app/manifests/${digestOf(body)}`)).status, 202);

  await until(() => recv.got.flatMap((g) => g.events).length >= 6);
  const events = recv.got.flatMap((g) => g.events);
  assert.deepEqual(
    events.map((e) => `${e.action} ${e.target.repository} ${e.target.digest}`),
    [
      `push app ${layer}`,
      `push app ${config}`,
      `push app ${digestOf(body)}`,
      `pull app ${digestOf(body)}`,
      `mount copy ${layer}`,
      `delete app ${digestOf(body)}`,
    ],
  );
  for (const g of recv.got) {
    assert.equal(g.headers['content-type'], 'application/vnd.docker.distribution.events.v2+json');
    assert.equal(g.headers.authorization, 'Bearer token', 'the endpoint headers are sent');
  }
  const push = events[2]!;
  assert.deepEqual(push.target, {
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    size: body.length,
    digest: digestOf(body),
    length: body.length,
    repository: 'app',
    url: `http://127.0.0.1:${reg.port}/v2/app/manifests/${digestOf(body)}`,
    tag: 'v1',
  });
  assert.equal(push.request.method, 'PUT');
  assert.equal(push.request.useragent, 'test/1');
  assert.match(push.request.addr, /^127\.0\.0\.1:\d+$/);
  assert.equal(push.source.instanceID, notifier.instanceID);
  assert.match(push.timestamp, /^\d{4}-\d\d-\d\dT/);
  assert.equal(events[4]!.target.fromRepository, 'app');
  assert.equal(events[0]!.target.mediaType, 'application/octet-stream');
  // The receiver has the events before the notifier has its answer, and the queue's files go
  // after that answer: waited for, not read at once (under load one was still there).
  await until(() => readdirSync(join(dir, 'listener')).length === 0).catch(() => {});
  assert.deepEqual(await readdir(join(dir, 'listener')), [], 'delivered events leave the queue');
});

test('an endpoint that is down gets every event, in order, once it is back, even after a restart', async (t) => {
  const recv = await receiver(t);
  recv.status = 500;
  const dir = await mkdtemp(join(tmpdir(), 'berth-notify-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const warnings: string[] = [];
  const log = { info() {}, warn: (m: string) => warnings.push(m) };
  const ignoring = endpoint(`${recv.url}?nopulls`, { name: 'nopulls', ignore: { mediaTypes: [], actions: ['pull'] } });
  const first = await Notifier.open(dir, [endpoint(recv.url), ignoring], log);
  const event = (n: number, action: RegistryEvent['action'] = 'push'): RegistryEvent => ({
    id: `e${n}`,
    timestamp: new Date().toISOString(),
    action,
    target: { repository: 'app', digest: `sha256:${String(n).repeat(64).slice(0, 64)}` },
    request: { id: 'r', addr: '', host: '', method: 'PUT', useragent: '' },
    actor: {},
    source: { addr: 'here', instanceID: first.instanceID },
  });
  for (let i = 0; i < 5; i++) await first.notify(event(i, i === 4 ? 'pull' : 'push'));
  await until(() => warnings.some((w) => w.includes('endpoint listener')));
  assert.ok(
    warnings.some((w) => /endpoint listener is down after 3 failures \(status 500\)/.test(w)),
    warnings.join('\n'),
  );
  await first.close();
  assert.equal((await readdir(join(dir, 'listener'))).length, 5, 'kept on disk');
  assert.equal((await readdir(join(dir, 'nopulls'))).length, 4, 'ignored actions are not queued');

  recv.status = 200;
  const second = await Notifier.open(dir, [endpoint(recv.url), ignoring], log);
  t.after(() => second.close());
  await until(() => recv.got.flatMap((g) => g.events).length >= 9);
  await new Promise((r) => setTimeout(r, 200));
  const ids = (path: string) => recv.got.filter((g) => g.path === path).flatMap((g) => g.events.map((e) => e.id));
  assert.deepEqual(ids('/events'), ['e0', 'e1', 'e2', 'e3', 'e4'], 'each event once, in order');
  assert.deepEqual(ids('/events?nopulls'), ['e0', 'e1', 'e2', 'e3']);
  await until(() => readdirSync(join(dir, 'listener')).length === 0).catch(() => {});
  assert.deepEqual(await readdir(join(dir, 'listener')), []);
});

test('with includereferences a manifest push and pull name what the manifest references; a blob event does not', async (t) => {
  const recv = await receiver(t);
  const dir = await mkdtemp(join(tmpdir(), 'berth-notify-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const notifier = await Notifier.open(dir, [endpoint(recv.url)], quiet);
  t.after(() => notifier.close());
  const reg = await startTestRegistry({ server: { notifier, handler: { includeReferences: true } } });
  t.after(() => reg.close());

  const layer = await reg.pushBlob('app', 'a layer');
  const config = await reg.pushBlob('app', '{}');
  const body = schema2Manifest({ digest: config, size: 2 }, [{ digest: layer, size: 7 }]);
  const type = 'application/vnd.docker.distribution.manifest.v2+json';
  assert.equal(
    (await reg.call('PUT', '/v2/app/manifests/v1', { body, headers: { 'Content-Type': type } })).status,
    201,
  );
  assert.equal((await reg.call('GET', '/v2/app/manifests/v1')).status, 200);

  await until(() => recv.got.flatMap((g) => g.events).length >= 4);
  const events = recv.got.flatMap((g) => g.events);
  const manifest = JSON.parse(body.toString());
  const refs = [manifest.config, ...manifest.layers].map((d: { mediaType: string; digest: string; size: number }) => ({
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
  }));
  assert.deepEqual(events[2]!.target.references, refs, 'the push names the config and the layer');
  assert.deepEqual(events[3]!.target.references, refs, 'and so does the pull');
  assert.equal(events[0]!.target.references, undefined, 'a blob references nothing');
});
