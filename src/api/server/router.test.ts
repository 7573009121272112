import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router, listen, close, API_VERSION } from './index.ts';
import { notFound, conflict } from '../../errdefs/index.ts';

function call(
  sock: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('routes serve versioned and unversioned paths, with parameters and typed errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-router-'));
  const r = new Router();
  r.get('/things/{id}/json', (req, res) => {
    if (req.params.id === 'missing') throw notFound('No such thing: missing');
    if (req.params.id === 'busy') throw conflict('thing "busy" is in use');
    res.json(200, { id: req.params.id, version: req.version });
  });
  r.post('/things', async (req, res) => res.json(201, await req.json()));
  r.get('/images/{name*}', (req, res) => res.json(200, { name: req.params.name }));
  const l = await listen(r, `unix://${join(dir, 's.sock')}`);
  t.after(async () => {
    await close(l);
    await rm(dir, { recursive: true, force: true });
  });
  const sock = join(dir, 's.sock');
  assert.equal((await stat(sock)).mode & 0o777, 0o660, 'the socket is closed to others');
  assert.deepEqual(JSON.parse((await call(sock, 'GET', '/v1.44/things/a/json')).body), { id: 'a', version: '1.44' });
  assert.deepEqual(JSON.parse((await call(sock, 'GET', '/things/b/json')).body), { id: 'b', version: API_VERSION });
  const missing = await call(sock, 'GET', '/things/missing/json');
  assert.equal(missing.status, 404);
  assert.deepEqual(JSON.parse(missing.body), { message: 'No such thing: missing' });
  assert.equal((await call(sock, 'GET', '/things/busy/json')).status, 409);
  const bad = await call(sock, 'POST', '/things', '{"a":', { 'Content-Type': 'application/json' });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).message, /^invalid JSON/);
  assert.equal((await call(sock, 'POST', '/things', '{"a":1}')).status, 201);
  assert.equal((await call(sock, 'GET', '/nope')).status, 404);
  assert.equal((await call(sock, 'DELETE', '/things')).status, 405);
  assert.deepEqual(JSON.parse((await call(sock, 'GET', '/images/localhost:5000/team/app:v1')).body), {
    name: 'localhost:5000/team/app:v1',
  });
  const tooOld = await call(sock, 'GET', '/v1.12/things/a/json');
  assert.equal(tooOld.status, 400);
  assert.match(JSON.parse(tooOld.body).message, /client version 1.12 is too old/);
});

test('upgrade requests are answered 101 and hijacked', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-router-'));
  const r = new Router();
  r.post('/echo', (_req, res) => {
    const sock = res.hijack();
    sock.on('data', (c: Buffer) => sock.end(Buffer.concat([Buffer.from('echo:'), c])));
  });
  const l = await listen(r, `unix://${join(dir, 's.sock')}`);
  t.after(async () => {
    await close(l);
    await rm(dir, { recursive: true, force: true });
  });
  const { connect } = await import('node:net');
  const s = connect(join(dir, 's.sock'));
  const got: Buffer[] = [];
  s.on('data', (c: Buffer) => got.push(c));
  s.write('POST /v1.44/echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
  await new Promise((res) => setTimeout(res, 100));
  s.write('hello');
  await new Promise((res) => s.on('end', res));
  const text = Buffer.concat(got).toString();
  assert.match(text, /^HTTP\/1.1 101 UPGRADED\r\n/);
  assert.match(text, /Content-Type: application\/vnd.docker.raw-stream/);
  assert.match(text, /\r\n\r\necho:hello$/);
});

test('closing a listener ends hijacked connections whose client stopped writing but never closed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-router-'));
  const r = new Router();
  let hijacked = false;
  r.post('/containers/{id}/attach', (_req, res) => {
    res.hijack();
    hijacked = true; // and never ends it, as an attach to a container that keeps running
  });
  const l = await listen(r, `unix://${join(dir, 's.sock')}`);
  const { connect } = await import('node:net');
  const s = connect(join(dir, 's.sock'));
  s.on('error', () => {});
  s.write('POST /containers/x/attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  while (!hijacked) await new Promise((res) => setTimeout(res, 10));
  s.end(); // half-close, as the docker CLI does when its stdin ends
  const closed = await Promise.race([
    close(l).then(() => true),
    new Promise<boolean>((res) => setTimeout(() => res(false), 5000).unref()),
  ]);
  assert.equal(closed, true, 'close() returned');
  s.destroy();
  await rm(dir, { recursive: true, force: true });
});
