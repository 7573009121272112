import test from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { PassThrough } from 'node:stream';
import { ApiError, encodeFrame, type EngineClient } from '../client/index.ts';
import { HANDLERS, MAX_STREAMS, startDashboard, tailParam, type Dashboard } from './server.ts';
import { ROUTES } from './routes.ts';

const TOKEN = 'test-token-0123456789';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(d: Dashboard, method: string, path: string, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.address.port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
const auth = (d: Dashboard) => ({ Cookie: `berth_dashboard_${d.address.port}=${TOKEN}` });

/** A client double: records calls; logs stream until aborted. */
function fakeClient() {
  const calls: string[] = [];
  let logSignal: AbortSignal | undefined;
  let logStream: PassThrough | undefined;
  const client = {
    containerList: async () => [
      {
        Id: 'f'.repeat(64),
        Names: ['/web'],
        Image: 'busybox',
        ImageID: '',
        Command: 'sh',
        Created: 1,
        Ports: null,
        Labels: null,
        State: 'running',
        Status: 'Up 1 second',
      },
    ],
    containerStop: async (id: string) => void calls.push(`stop ${id}`),
    containerRemove: async (id: string, o: { force?: boolean }) => {
      calls.push(`rm ${id} ${!!o.force}`);
      throw new ApiError(
        409,
        `cannot remove container "/${id}": container is running: stop the container before removing or force remove`,
      );
    },
    containerInspect: async () => ({ Config: { Tty: false } }),
    containerLogs: async (_id: string, o: { signal?: AbortSignal }) => {
      logSignal = o.signal;
      logStream = new PassThrough();
      o.signal?.addEventListener('abort', () => logStream!.destroy());
      logStream.write(encodeFrame(1, 'hello\n'));
      return logStream;
    },
  };
  return { client: client as unknown as EngineClient, calls, logSignal: () => logSignal, logStream: () => logStream };
}

test('every allow-listed route has a handler, and every handler a route', () => {
  assert.deepEqual(new Set(ROUTES.map((r) => r.name)), new Set(Object.keys(HANDLERS)));
  assert.equal(tailParam('10'), '10');
  assert.equal(tailParam('all'), 'all');
  assert.equal(tailParam('1; rm'), '200');
  assert.equal(tailParam(null), '200');
});

test('the token URL is traded for the cookie; nothing else answers without it', async (t) => {
  const f = fakeClient();
  const d = await startDashboard({ client: f.client, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
  t.after(() => d.close());
  assert.equal(d.url, `http://127.0.0.1:${d.address.port}/?token=${TOKEN}`);

  const page = await call(d, 'GET', '/');
  assert.equal(page.status, 401);
  const wrong = await call(d, 'GET', '/?token=nope');
  assert.equal(wrong.status, 401);
  const trade = await call(d, 'GET', `/?token=${TOKEN}`);
  assert.equal(trade.status, 303);
  assert.equal(trade.headers.location, '/');
  assert.match(
    String(trade.headers['set-cookie']),
    new RegExp(`berth_dashboard_${d.address.port}=test-token-0123456789; HttpOnly; SameSite=Strict`),
  );

  const ok = await call(d, 'GET', '/', auth(d));
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['content-type']), /text\/html/);
  assert.match(ok.body, /data-app="berth-dashboard"/);
  assert.match(String(ok.headers['content-security-policy']), /script-src 'self'/);
  assert.equal((await call(d, 'GET', '/app.js', auth(d))).status, 200);
  assert.equal((await call(d, 'GET', '/app.js')).status, 401);

  assert.equal((await call(d, 'GET', '/api/containers')).status, 401);
  assert.equal(
    (await call(d, 'GET', '/api/containers', { Cookie: `berth_dashboard_${d.address.port}=wrong` })).status,
    401,
  );
  const list = await call(d, 'GET', '/api/containers', { Authorization: `Bearer ${TOKEN}` });
  assert.equal(list.status, 200);
  assert.equal(JSON.parse(list.body)[0].name, 'web');
});

test('Host, Origin and the allow-list are enforced before the daemon is called', async (t) => {
  const f = fakeClient();
  const d = await startDashboard({ client: f.client, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
  t.after(() => d.close());
  const port = d.address.port;
  assert.equal((await call(d, 'GET', '/api/containers', { ...auth(d), Host: `evil.example:${port}` })).status, 403);
  assert.equal((await call(d, 'GET', `/?token=${TOKEN}`, { Host: `evil.example:${port}` })).status, 403);
  assert.equal((await call(d, 'GET', '/api/containers', { ...auth(d), Host: `localhost:${port}` })).status, 200);
  assert.equal(
    (await call(d, 'POST', '/api/containers/web/stop', { ...auth(d), Origin: 'http://evil.example' })).status,
    403,
  );
  assert.equal((await call(d, 'POST', '/api/containers/..%2F..%2Fimages%2Fx/stop', auth(d))).status, 400);
  assert.equal((await call(d, 'POST', '/api/containers/create', auth(d))).status, 405);
  assert.equal((await call(d, 'POST', '/api/containers/web/exec', auth(d))).status, 404);
  assert.deepEqual(f.calls, []);
  const stop = await call(d, 'POST', '/api/containers/web/stop', { ...auth(d), Origin: `http://127.0.0.1:${port}` });
  assert.equal(stop.status, 200);
  assert.deepEqual(f.calls, ['stop web']);
});

test("the daemon's refusal reaches the page with its status and message", async (t) => {
  const f = fakeClient();
  const d = await startDashboard({ client: f.client, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
  t.after(() => d.close());
  const r = await call(d, 'DELETE', '/api/containers/web', auth(d));
  assert.equal(r.status, 409);
  assert.match(JSON.parse(r.body).message, /container is running/);
  await call(d, 'DELETE', '/api/containers/web?force=1', auth(d));
  assert.deepEqual(f.calls, ['rm web false', 'rm web true']);
});

test('a followed log stream aborts its daemon request when the browser goes away', async (t) => {
  const f = fakeClient();
  const d = await startDashboard({ client: f.client, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
  t.after(() => d.close());
  const first = await new Promise<string>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: d.address.port, path: '/api/containers/web/logs?follow=1&tail=0', headers: auth(d) },
      (res) => {
        res.once('data', (c: Buffer) => {
          resolve(c.toString());
          req.destroy();
        });
      },
    );
    req.on('error', () => {});
    req.end();
    setTimeout(() => reject(new Error('no log data')), 5000).unref();
  });
  assert.equal(first, 'hello\n');
  for (let i = 0; i < 100 && !f.logSignal()?.aborted; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(f.logSignal()?.aborted, true);
  assert.equal(f.logStream()?.destroyed, true);
});

test('close() ends open streams instead of waiting for them', async () => {
  const f = fakeClient();
  const d = await startDashboard({ client: f.client, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
  const ended = new Promise<void>((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: d.address.port, path: '/api/containers/web/logs?follow=1', headers: auth(d) },
      (res) => {
        res.on('data', () => {});
        res.on('close', () => resolve());
      },
    );
    req.on('error', () => resolve());
    req.end();
  });
  for (let i = 0; i < 100 && !f.logSignal(); i++) await new Promise((r) => setTimeout(r, 20));
  await d.close();
  await ended;
  assert.equal(f.logSignal()?.aborted, true);
});

test('streams beyond MAX_STREAMS are refused, so lists and actions keep a daemon connection', async (t) => {
  const f = fakeClient();
  const d = await startDashboard({ client: f.client, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
  t.after(() => d.close());
  const open: (() => void)[] = [];
  for (let i = 0; i < MAX_STREAMS; i++) {
    await new Promise<void>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: d.address.port,
          path: '/api/containers/web/logs?follow=1',
          headers: auth(d),
          agent: false,
        },
        (res) => {
          res.once('data', () => resolve());
        },
      );
      req.on('error', () => {});
      req.end();
      open.push(() => req.destroy());
    });
  }
  const refused = await call(d, 'GET', '/api/containers/web/logs?follow=1', auth(d));
  assert.equal(refused.status, 429);
  assert.equal((await call(d, 'GET', '/api/containers', auth(d))).status, 200);
  open.pop()!();
  let again = refused;
  for (let i = 0; i < 50 && again.status === 429; i++) {
    await new Promise((r) => setTimeout(r, 20));
    again = await new Promise<Res>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: d.address.port,
          path: '/api/containers/web/logs?follow=1',
          headers: auth(d),
          agent: false,
        },
        (res) => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
          req.destroy();
        },
      );
      req.on('error', () => {});
      req.end();
    });
  }
  assert.equal(again.status, 200);
  for (const c of open) c();
});

test('with TLS the dashboard serves HTTPS only: https URL, a Secure cookie, and nothing for plain HTTP', async () => {
  const { mkdtempSync, rmSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const https = await import('node:https');
  const { loadServerTls } = await import('../tls/index.ts');
  const { makePki } = await import('../tls/testing.ts');
  const dir = mkdtempSync(join(tmpdir(), 'berth-dash-tls-'));
  const pki = makePki(join(dir, 'pki'));
  const d = await startDashboard({
    client: fakeClient().client,
    listen: { host: '127.0.0.1', port: 0 },
    token: TOKEN,
    tls: loadServerTls({ cert: pki.serverCert, key: pki.serverKey }),
  });
  try {
    assert.match(d.url, /^https:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const res = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: d.address.port, path: `/?token=${TOKEN}`, ca: readFileSync(pki.ca) },
        (r) => {
          r.resume();
          resolve({ status: r.statusCode ?? 0, cookie: String(r.headers['set-cookie']) });
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 303);
    assert.match(res.cookie, /HttpOnly; SameSite=Strict; Path=\/; Secure/);
    await assert.rejects(call(d, 'GET', '/'), 'plain HTTP gets no answer');
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
