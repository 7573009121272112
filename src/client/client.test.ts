import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import {
  ApiError,
  clientTlsFiles,
  ConnectionError,
  EngineClient,
  StreamError,
  compareVersions,
  encodeFilters,
  encodeQuery,
  jsonValues,
  parseHost,
  progressMessages,
  resolveHost,
  encodeFrame,
  demux,
} from './index.ts';
import { containerCalls } from './containers.ts';
import { execCalls } from './exec.ts';
import { imageCalls } from './images.ts';
import { networkCalls } from './networks.ts';
import { systemCalls } from './system.ts';
import { volumeCalls } from './volumes.ts';

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

test('parseHost reads docker host strings', () => {
  assert.deepEqual(parseHost('unix:///run/berth/berth.sock'), { kind: 'unix', socketPath: '/run/berth/berth.sock' });
  assert.deepEqual(parseHost('/tmp/x.sock'), { kind: 'unix', socketPath: '/tmp/x.sock' });
  assert.deepEqual(parseHost('tcp://127.0.0.1:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375 });
  assert.deepEqual(parseHost('tcp://localhost'), { kind: 'tcp', host: 'localhost', port: 2375 });
  assert.deepEqual(parseHost('tcp://[::1]:2376'), { kind: 'tcp', host: '::1', port: 2376 });
  assert.throws(() => parseHost('ssh://x'), /unsupported/);
  assert.throws(() => parseHost('nonsense'), /unable to parse/);
});

test('resolveHost: -H, then DOCKER_HOST, then the Berth socket', () => {
  assert.equal(resolveHost('tcp://a:1', { DOCKER_HOST: 'tcp://b:2' }), 'tcp://a:1');
  assert.equal(resolveHost(undefined, { DOCKER_HOST: 'tcp://b:2' }), 'tcp://b:2');
  assert.equal(resolveHost(undefined, {}), 'unix:///run/berth/berth.sock');
});

test('every call of the resource files is a method of EngineClient, named once, flagged as a class method', () => {
  const groups = [systemCalls, containerCalls, execCalls, imageCalls, networkCalls, volumeCalls];
  const names = groups.flatMap((g) => Object.keys(g));
  assert.equal(new Set(names).size, names.length, 'a call is defined in two resource files');
  for (const name of names) {
    const d = Object.getOwnPropertyDescriptor(EngineClient.prototype, name);
    assert.equal(typeof d?.value, 'function', name);
    assert.deepEqual([d!.writable, d!.enumerable, d!.configurable], [true, false, true], name);
  }
  assert.ok(names.includes('containerList') && names.includes('imagePull') && names.includes('volumeRemove'));
});

test('queries and filters encode as docker does', () => {
  assert.equal(
    encodeQuery({ all: true, size: false, limit: 3, skip: undefined, names: ['a', 'b'] }),
    '?all=1&size=0&limit=3&names=a&names=b',
  );
  assert.equal(encodeQuery({}), '');
  assert.equal(encodeFilters({ dangling: ['true'], label: [] }), '{"dangling":["true"]}');
  assert.equal(encodeFilters({}), undefined);
  assert.equal(compareVersions('1.41', '1.47'), -1);
  assert.equal(compareVersions('1.47', '1.47'), 0);
  assert.equal(compareVersions('1.100', '1.47'), 1);
});

test('jsonValues decodes concatenated and split JSON values', async () => {
  const got: unknown[] = [];
  for await (const v of jsonValues(chunks('{"a":1}\r\n{"b":"x}', '{"}\n', '{"c":[1,', '2]}{"d":"\\"}"}'))) got.push(v);
  assert.deepEqual(got, [{ a: 1 }, { b: 'x}{' }, { c: [1, 2] }, { d: '"}' }]);
});

test('progressMessages stops at an error message with its code', async () => {
  const seen: string[] = [];
  const it = progressMessages(
    chunks(
      '{"stream":"Step 1/2\\n"}\n',
      '{"errorDetail":{"code":2,"message":"boom"},"error":"boom"}\n',
      '{"stream":"never"}',
    ),
  );
  await assert.rejects(
    (async () => {
      for await (const m of it) seen.push(m.stream!);
    })(),
    (e: unknown) => e instanceof StreamError && e.code === 2 && e.message === 'boom',
  );
  assert.deepEqual(seen, ['Step 1/2\n']);
});

interface Fake {
  server: Server;
  dir: string;
  host: string;
  requests: string[];
}

async function fakeDaemon(apiVersion: string | undefined): Promise<Fake> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-client-'));
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url === '/_ping') {
      if (apiVersion) res.setHeader('Api-Version', apiVersion);
      res.end('OK');
    } else if (req.url?.includes('/containers/nosuch/json')) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end('{"message":"No such container: nosuch"}');
    } else if (req.url?.includes('/containers/json')) {
      res.setHeader('Content-Type', 'application/json');
      res.end('[{"Id":"abc"}]');
    } else if (req.url?.includes('/plain')) {
      res.writeHead(500);
      res.end('plain failure\n');
    } else if (req.url?.includes('/held/wait')) {
      setTimeout(() => res.end('{"StatusCode":0}'), 300);
    } else if (req.url?.includes('/wait')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      setTimeout(() => res.end('{"StatusCode":3}\n'), 50);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.on('upgrade', (req, socket) => {
    requests.push(`UPGRADE ${req.method} ${req.url}`);
    socket.write(
      'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    socket.write(encodeFrame(1, 'hello\n'));
    socket.on('data', (d: Buffer) => socket.write(encodeFrame(2, `echo:${d}`)));
    socket.on('end', () => socket.end(encodeFrame(1, 'bye\n')));
  });
  const sock = join(dir, 'd.sock');
  server.listen(sock);
  await once(server, 'listening');
  return { server, dir, host: `unix://${sock}`, requests };
}

async function stop(f: Fake): Promise<void> {
  f.server.closeAllConnections();
  await new Promise<void>((r) => f.server.close(() => r()));
  rmSync(f.dir, { recursive: true, force: true });
}

test('negotiates down to the daemon version and prefixes paths', async () => {
  const f = await fakeDaemon('1.41');
  const c = new EngineClient(f.host);
  try {
    assert.deepEqual(await c.containerList({ all: true }), [{ Id: 'abc' }]);
    assert.equal(c.apiVersion, '1.41');
    assert.deepEqual(f.requests, ['GET /_ping', 'GET /v1.41/containers/json?all=1']);
  } finally {
    c.close();
    await stop(f);
  }
});

test('caps the version at the client maximum, 1.24 when the daemon names none', async () => {
  const f = await fakeDaemon('1.99');
  const c = new EngineClient(f.host);
  const g = await fakeDaemon(undefined);
  const d = new EngineClient(g.host);
  try {
    assert.equal(await c.negotiate(), '1.47');
    assert.equal(await d.negotiate(), '1.24');
  } finally {
    c.close();
    d.close();
    await stop(f);
    await stop(g);
  }
});

test('daemon errors carry the status and message', async () => {
  const f = await fakeDaemon('1.44');
  const c = new EngineClient(f.host);
  try {
    await assert.rejects(
      c.containerInspect('nosuch'),
      (e: unknown) => e instanceof ApiError && e.status === 404 && e.message === 'No such container: nosuch',
    );
    await assert.rejects(
      c.json('GET', '/plain'),
      (e: unknown) => e instanceof ApiError && e.status === 500 && e.message === 'plain failure',
    );
  } finally {
    c.close();
    await stop(f);
  }
});

test('an absent daemon is a ConnectionError', async () => {
  const c = new EngineClient('unix:///nonexistent/berth.sock');
  await assert.rejects(
    c.ping(),
    (e: unknown) =>
      e instanceof ConnectionError &&
      /Cannot connect to the Berth daemon at unix:\/\/\/nonexistent/.test((e as Error).message),
  );
});

test('wait resolves after the headers and delivers the status later', async () => {
  const f = await fakeDaemon('1.44');
  const c = new EngineClient(f.host);
  try {
    const h = await c.containerWait('x', 'next-exit');
    assert.ok(f.requests.includes('POST /v1.44/containers/x/wait?condition=next-exit'));
    assert.deepEqual(await h.result, { StatusCode: 3 });
  } finally {
    c.close();
    await stop(f);
  }
});

test('a daemon that holds the wait headers back does not stall the caller', async () => {
  const f = await fakeDaemon('1.44');
  const c = new EngineClient(f.host);
  try {
    const t0 = Date.now();
    const h = await c.containerWait('held', 'next-exit', 50);
    assert.ok(Date.now() - t0 < 250, 'returned before the daemon answered');
    assert.deepEqual(await h.result, { StatusCode: 0 });
  } finally {
    c.close();
    await stop(f);
  }
});

test('attach hijacks the connection: output, stdin, half-close', async () => {
  const f = await fakeDaemon('1.44');
  const c = new EngineClient(f.host);
  try {
    const conn = await c.containerAttach('x', { stdin: true });
    assert.ok(f.requests.includes('UPGRADE POST /v1.44/containers/x/attach?stream=1&stdin=1&stdout=1&stderr=1'));
    conn.input.write('hi');
    setTimeout(() => conn.closeWrite(), 50);
    const frames: string[] = [];
    for await (const fr of demux(conn.output as AsyncIterable<Buffer>)) frames.push(`${fr.stream}:${fr.data}`);
    assert.deepEqual(frames, ['1:hello\n', '2:echo:hi', '1:bye\n']);
  } finally {
    c.close();
    await stop(f);
  }
});

test("TLS files follow the docker CLI's flags and environment", () => {
  const none = () => false;
  const all = () => true;
  assert.equal(clientTlsFiles({}, {}, none), undefined);
  assert.deepEqual(clientTlsFiles({ tlsVerify: true }, {}, none, '/home/u'), {
    ca: '/home/u/.docker/ca.pem',
    cert: undefined,
    key: undefined,
    verify: true,
  });
  assert.deepEqual(clientTlsFiles({}, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/c' }, all), {
    ca: '/c/ca.pem',
    cert: '/c/cert.pem',
    key: '/c/key.pem',
    verify: true,
  });
  // --tls and DOCKER_TLS encrypt without verifying; --tlsverify=false too
  assert.equal(clientTlsFiles({ tls: true }, {}, none)?.verify, false);
  assert.equal(clientTlsFiles({}, { DOCKER_TLS: '1' }, none)?.verify, false);
  assert.equal(clientTlsFiles({ tlsVerify: false }, {}, none)?.verify, false);
  assert.equal(clientTlsFiles({ tlsCaCert: '/x/ca.pem' }, {}, none), undefined, 'a file alone does not switch TLS on');
  assert.equal(clientTlsFiles({ tlsCert: '/x/c.pem', tls: true }, {}, none)?.cert, '/x/c.pem');
});

test('with TLS and no host the docker default is tcp://localhost:2376; https:// hosts ask for TLS', () => {
  assert.equal(resolveHost(undefined, {}, true), 'tcp://localhost:2376');
  assert.equal(resolveHost(undefined, { DOCKER_HOST: 'tcp://b:2' }, true), 'tcp://b:2');
  assert.deepEqual(parseHost('https://127.0.0.1:2376'), { kind: 'tcp', host: '127.0.0.1', port: 2376, https: true });
  assert.deepEqual(parseHost('tcp://'), { kind: 'tcp', host: 'localhost', port: 2375 });
});
