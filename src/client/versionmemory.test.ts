import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { EngineClient, socketVersionMemory, versionMemoryFile, type ApiVersionMemory } from './index.ts';

/** A daemon of API `version` that refuses newer versions as dockerd and berthd do; it logs its requests. */
async function daemon(dir: string, version: string) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    if (req.url === '/_ping') {
      res.setHeader('Api-Version', version);
      res.end('OK');
      return;
    }
    const v = /^\/v(\d+\.\d+)\//.exec(req.url ?? '')?.[1];
    if (v && Number(v.split('.')[1]) > Number(version.split('.')[1])) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ message: `client version ${v} is too new. Maximum supported API version is ${version}` }),
      );
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.end('[]');
  });
  const sock = join(dir, 'd.sock');
  server.listen(sock);
  await once(server, 'listening');
  const stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { sock, requests, stop };
}

/** A memory in a plain variable, and what was asked of it. */
function fakeMemory(version: string | undefined): ApiVersionMemory & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    recall: () => (calls.push('recall'), version),
    remember: (v) => (calls.push(`remember ${v}`), (version = v)),
    forget: () => (calls.push('forget'), (version = undefined)),
  };
}

test('a remembered version is used without a ping; a new daemon is pinged once and remembered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-'));
  const d = await daemon(dir, '1.45');
  try {
    const m = fakeMemory('1.45');
    const c = new EngineClient({ host: `unix://${d.sock}`, versionMemory: m });
    await c.containerList();
    await c.containerList();
    c.close();
    assert.deepEqual(d.requests, ['GET /v1.45/containers/json', 'GET /v1.45/containers/json']);
    assert.equal(c.apiVersion, '1.45');

    d.requests.length = 0;
    const none = fakeMemory(undefined);
    const c2 = new EngineClient({ host: `unix://${d.sock}`, versionMemory: none });
    await c2.containerList();
    c2.close();
    assert.deepEqual(d.requests, ['GET /_ping', 'GET /v1.45/containers/json']);
    assert.deepEqual(none.calls, ['recall', 'remember 1.45']);
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a remembered version the daemon refuses is forgotten, agreed again by a ping, and the request sent again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-'));
  const d = await daemon(dir, '1.41');
  try {
    const m = fakeMemory('1.47');
    const c = new EngineClient({ host: `unix://${d.sock}`, versionMemory: m });
    assert.deepEqual(await c.containerList(), []);
    c.close();
    assert.deepEqual(d.requests, ['GET /v1.47/containers/json', 'GET /_ping', 'GET /v1.41/containers/json']);
    assert.deepEqual(m.calls, ['recall', 'forget', 'remember 1.41']);
    assert.equal(c.apiVersion, '1.41');
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a request whose body is a stream (read once) is not sent on a remembered version: the client pings first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-'));
  const d = await daemon(dir, '1.41');
  try {
    const m = fakeMemory('1.47');
    const c = new EngineClient({ host: `unix://${d.sock}`, versionMemory: m });
    await c.empty('POST', '/images/load', { body: Readable.from([Buffer.from('tar')]) });
    c.close();
    assert.deepEqual(d.requests, ['GET /_ping', 'POST /v1.41/images/load']);
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pinned version (DOCKER_API_VERSION) neither recalls nor remembers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-'));
  const d = await daemon(dir, '1.45');
  try {
    const m = fakeMemory('1.44');
    const c = new EngineClient({ host: `unix://${d.sock}`, version: '1.43', versionMemory: m });
    await c.containerList();
    c.close();
    assert.deepEqual(d.requests, ['GET /v1.43/containers/json']);
    assert.deepEqual(m.calls, []);
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a socket's memory is of that socket: a daemon started again on the same path is not recalled", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-'));
  const file = join(dir, 'cache', 'berth', 'api-versions.json');
  try {
    const first = await daemon(dir, '1.45');
    socketVersionMemory(first.sock, file).remember('1.45');
    assert.equal(socketVersionMemory(first.sock, file).recall(), '1.45');
    assert.equal(socketVersionMemory(join(dir, 'other.sock'), file).recall(), undefined);
    await first.stop();
    const second = await daemon(dir, '1.41'); // the same path, a new socket
    try {
      assert.equal(socketVersionMemory(second.sock, file).recall(), undefined);
      socketVersionMemory(second.sock, file).remember('1.41');
      assert.equal(socketVersionMemory(second.sock, file).recall(), '1.41');
      socketVersionMemory(second.sock, file).forget();
      assert.equal(socketVersionMemory(second.sock, file).recall(), undefined);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a memory file that is garbage, or a folder that cannot be written, is no memory and no error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-'));
  try {
    const d = await daemon(dir, '1.45');
    try {
      const file = join(dir, 'api-versions.json');
      writeFileSync(file, '{not json');
      const m = socketVersionMemory(d.sock, file);
      assert.equal(m.recall(), undefined);
      m.remember('1.45');
      assert.equal(m.recall(), '1.45');
      assert.match(readFileSync(file, 'utf8'), /"version":"1\.45"/);

      const ro = join(dir, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      const r = socketVersionMemory(d.sock, join(ro, 'sub', 'api-versions.json'));
      r.remember('1.45'); // root may write anyway; an ordinary user may not: neither throws
      r.forget();
    } finally {
      await d.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the memory lives under $XDG_CACHE_HOME, else ~/.cache', () => {
  assert.equal(versionMemoryFile({ XDG_CACHE_HOME: '/x' }, '/home/u'), '/x/berth/api-versions.json');
  assert.equal(versionMemoryFile({}, '/home/u'), '/home/u/.cache/berth/api-versions.json');
});
