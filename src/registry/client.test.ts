/** The registry client against small in-test registries on 127.0.0.1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { MediaType, type Digest } from '../spec/index.ts';
import { RegistryClient, parseChallenge } from './client.ts';
import { endpointFor, isInsecure, checkRegistryConfig } from './endpoint.ts';
import { choosePlatform, isIndex, parseImageManifest, schema2Manifest } from './manifest.ts';
import { startFakeRegistry } from './testing.ts';
import { makePki } from '../tls/testing.ts';
import { trustedRoots } from '../tls/index.ts';

const cfg = { insecure: [], mirrors: [] };
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

test('endpoints: loopback and --insecure-registry are tried over unchecked HTTPS then HTTP, others over checked HTTPS', () => {
  const loop = endpointFor('127.0.0.1:5000', cfg);
  assert.deepEqual(
    [loop.base, loop.fallback, loop.tls?.verify],
    ['https://127.0.0.1:5000', 'http://127.0.0.1:5000', false],
  );
  assert.equal(endpointFor('localhost:5000', cfg).fallback, 'http://localhost:5000');
  assert.equal(endpointFor('[::1]:5000', cfg).fallback, 'http://[::1]:5000');
  const remote = endpointFor('reg.example:5000', cfg);
  assert.deepEqual([remote.base, remote.fallback, remote.tls?.verify], ['https://reg.example:5000', undefined, true]);
  assert.ok(remote.tls?.ca?.length, "the system's roots");
  assert.ok(isInsecure('10.1.2.3:5000', { insecure: ['10.0.0.0/8'], mirrors: [] }));
  assert.ok(!isInsecure('11.1.2.3:5000', { insecure: ['10.0.0.0/8'], mirrors: [] }));
  assert.ok(isInsecure('reg.example:5000', { insecure: ['reg.example:5000'], mirrors: [] }));
  assert.throws(() => endpointFor('docker.io', cfg), /Docker Hub is offline here/);
  assert.equal(endpointFor('docker.io', { insecure: [], mirrors: ['http://127.0.0.1:9/'] }).base, 'http://127.0.0.1:9');
  assert.throws(
    () => endpointFor('docker.io', { insecure: [], mirrors: ['http://127.0.0.1:9/'] }, 'push'),
    /mirrors only serve pulls/,
  );
  assert.throws(() => checkRegistryConfig({ insecure: ['10.0.0.0/99'], mirrors: [] }));
  assert.throws(() => checkRegistryConfig({ insecure: [], mirrors: ['ftp://x'] }));
});

test("a registry's own CA in certs.d is checked even on loopback, and its client certificate sent", () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-certsd-'));
  try {
    const pki = makePki(join(dir, 'pki'));
    mkdirSync(join(dir, 'certs.d', '127.0.0.1:5443'), { recursive: true });
    copyFileSync(pki.ca, join(dir, 'certs.d', '127.0.0.1:5443', 'ca.crt'));
    copyFileSync(pki.clientCert, join(dir, 'certs.d', '127.0.0.1:5443', 'client.cert'));
    copyFileSync(pki.clientKey, join(dir, 'certs.d', '127.0.0.1:5443', 'client.key'));
    const c = { insecure: [], mirrors: [], certsDirs: [join(dir, 'certs.d')] };
    const ep = endpointFor('127.0.0.1:5443', c);
    assert.deepEqual([ep.base, ep.fallback, ep.tls?.verify], ['https://127.0.0.1:5443', undefined, true]);
    assert.ok(ep.tls?.cert && ep.tls.key);
    assert.equal(endpointFor('127.0.0.1:5000', c).tls?.verify, false, 'other hosts are not concerned');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('challenges parse', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://a/token",service="reg",scope="repository:x:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://a/token', service: 'reg', scope: 'repository:x:pull' },
  });
  assert.equal(parseChallenge('Basic realm="x"')?.scheme, 'basic');
  assert.equal(parseChallenge('Negotiate'), undefined);
});

test('bearer auth: token fetched with Basic credentials, cached per scope; manifest and blob verified', async () => {
  const reg = await startFakeRegistry({ auth: { scheme: 'bearer', username: 'u', password: 'p' } });
  try {
    const layer = Buffer.from('layer bytes');
    const d = reg.addBlob('t/a', layer);
    const man = schema2Manifest({ mediaType: MediaType.DockerConfig, digest: d, size: layer.length }, [
      { mediaType: MediaType.DockerLayerGzip, digest: d, size: layer.length },
    ]);
    const md = reg.addManifest('t/a', 'v1', MediaType.DockerManifest, man);
    const c = new RegistryClient(endpointFor(reg.host, cfg), { username: 'u', password: 'p' });
    const got = await c.getManifest('t/a', 'v1');
    assert.equal(got.digest, md);
    assert.equal(got.mediaType, MediaType.DockerManifest);
    assert.equal(parseImageManifest(got).layers.length, 1);
    assert.equal(await text(await c.openBlob('t/a', { digest: d, size: layer.length })), 'layer bytes');
    // One token fetch for the pull scope, reused for the blob.
    assert.equal(reg.log.filter((l) => l.startsWith('GET /token')).length, 1);
    await c.checkLogin();
    const bad = new RegistryClient(endpointFor(reg.host, cfg), { username: 'u', password: 'wrong' });
    await assert.rejects(bad.checkLogin(), (e: Error & { category?: string }) => e.category === 'Unauthorized');
    const anon = new RegistryClient(endpointFor(reg.host, cfg));
    await assert.rejects(anon.getManifest('t/a', 'v1'), /unauthorized/);
  } finally {
    await reg.close();
  }
});

test('basic auth', async () => {
  const reg = await startFakeRegistry({ auth: { scheme: 'basic', username: 'u', password: 'p' } });
  try {
    await new RegistryClient(endpointFor(reg.host, cfg), { username: 'u', password: 'p' }).checkLogin();
    await assert.rejects(
      new RegistryClient(endpointFor(reg.host, cfg), { username: 'u', password: 'x' }).checkLogin(),
      /failed with status: 401 Unauthorized/,
    );
  } finally {
    await reg.close();
  }
});

test('blob reads follow redirects; a wrong digest or a dropped connection fails the stream', async () => {
  const reg = await startFakeRegistry({ redirectBlobs: true });
  try {
    const c = new RegistryClient(endpointFor(reg.host, cfg));
    const data = Buffer.alloc(200_000, 7);
    const d = reg.addBlob('r', data);
    assert.equal((await text(await c.openBlob('r', { digest: d, size: data.length }))).length, data.length);
    assert.ok(reg.log.includes(`GET /storage/${d}`));
    // Wrong size announced: rejected.
    await assert.rejects(text(await c.openBlob('r', { digest: d, size: data.length - 1 })), /more than the expected/);
  } finally {
    await reg.close();
  }
  const reg2 = await startFakeRegistry();
  try {
    const c = new RegistryClient(endpointFor(reg2.host, cfg));
    const data = Buffer.alloc(300_000, 9);
    const d = reg2.addBlob('r', data);
    reg2.corrupt.add(d);
    await assert.rejects(text(await c.openBlob('r', { digest: d, size: data.length })), /digest mismatch/);
    reg2.corrupt.clear();
    reg2.drop.add(d);
    await assert.rejects(text(await c.openBlob('r', { digest: d, size: data.length })));
    await assert.rejects(
      c.getManifest('r', 'nope'),
      (e: Error & { category?: string }) => e.category === 'NotFound' && /name unknown/.test(e.message),
    );
  } finally {
    await reg2.close();
  }
});

test('manifest by digest is verified; oversized manifests refused', async () => {
  const reg = await startFakeRegistry();
  try {
    const c = new RegistryClient(endpointFor(reg.host, cfg));
    const bytes = Buffer.from('{"schemaVersion":2,"config":{},"layers":[]}');
    const other = sha('something else');
    reg.manifests.set('r', new Map([[other, { mediaType: MediaType.OciManifest, bytes }]]));
    await assert.rejects(c.getManifest('r', other), /sent content with digest/);
    reg.addManifest('r', 'big', MediaType.OciManifest, Buffer.alloc(5 * 1024 * 1024, 32));
    await assert.rejects(c.getManifest('r', 'big'), /larger than/);
  } finally {
    await reg.close();
  }
});

test('index: the host platform entry is chosen', () => {
  const entry = (arch: string, n: string) => ({
    mediaType: MediaType.OciManifest,
    digest: sha(n),
    size: 10,
    platform: { os: 'linux', architecture: arch },
  });
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [entry('arm64', 'a'), entry('amd64', 'b')],
    }),
  );
  const m = { digest: sha(bytes), mediaType: MediaType.OciIndex, bytes };
  assert.ok(isIndex(m));
  assert.equal(choosePlatform(m, { os: 'linux', architecture: 'amd64' }).digest, sha('b'));
  assert.throws(() => choosePlatform(m, { os: 'linux', architecture: 's390x' }), /no matching manifest/);
});

test('push: upload, HEAD, mount, manifest PUT', async () => {
  const reg = await startFakeRegistry({ auth: { scheme: 'bearer', username: 'u', password: 'p' } });
  try {
    const c = new RegistryClient(endpointFor(reg.host, cfg), { username: 'u', password: 'p' });
    const data = Buffer.from('a blob to push');
    const d = sha(data);
    assert.equal(await c.statBlob('t/one', d), undefined);
    await c.pushBlob('t/one', { digest: d, size: data.length }, Readable.from([data]));
    assert.equal(await c.statBlob('t/one', d), data.length);
    assert.equal(await c.mountBlob('t/two', d, 't/one'), true);
    assert.equal(await c.mountBlob('t/three', sha('x'), 't/one'), false);
    const md = await c.putManifest('t/one', 'v1', MediaType.DockerManifest, Buffer.from('{}'));
    assert.equal(md, sha('{}'));
    assert.ok(reg.manifests.get('t/one')?.has('v1'));
  } finally {
    await reg.close();
  }
});

test('garbage answers are errors, never crashes: not HTTP, closed connections, non-JSON manifests', async () => {
  const { createServer } = await import('node:net');
  for (const reply of ['this is not http\r\n\r\n', '', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nnot j']) {
    const srv = createServer((s) => {
      s.on('error', () => {});
      s.end(reply);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(srv.address() as { port: number }).port}`;
    try {
      const c = new RegistryClient(endpointFor(host, cfg));
      await assert.rejects(c.getManifest('r', 'v1'));
      await assert.rejects(c.checkLogin());
    } finally {
      srv.close();
    }
  }
  const reg = await startFakeRegistry();
  try {
    reg.addManifest(
      'r',
      'v1',
      MediaType.DockerManifest,
      Buffer.from('{"schemaVersion":2,"config":{"digest":"nope"},"layers":[]}'),
    );
    const c = new RegistryClient(endpointFor(reg.host, cfg));
    await assert.rejects(
      c.getManifest('r', 'v1').then((m) => parseImageManifest(m)),
      /not a sha256 digest/,
    );
  } finally {
    await reg.close();
  }
});

test("an endpoint's TLS is what its certificate is checked against; its headers and API root go to its host", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  try {
    const pki = makePki(dir);
    const seen: Array<[string | undefined, string | undefined]> = [];
    const server = createServer(
      { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
      (req, res) => {
        seen.push([req.url, req.headers['x-mirror-token'] as string | undefined]);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const system = { ca: trustedRoots(), verify: true };
      await assert.rejects(
        new RegistryClient({ name: 'r', base, mirror: false, tls: system }).checkLogin(),
        /certificate/,
      );
      await new RegistryClient({
        name: 'r',
        base,
        mirror: true,
        tls: { ca: [...trustedRoots(), readFileSync(pki.ca, 'utf8')], verify: true },
        apiRoot: '/cache/v2',
        headers: { 'x-mirror-token': 't' },
      }).checkLogin();
      await new RegistryClient({ name: 'r', base, mirror: true, tls: { verify: false } }).checkLogin();
      assert.deepEqual(seen, [
        ['/cache/v2/', 't'],
        ['/v2/', undefined],
      ]);
    } finally {
      server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
