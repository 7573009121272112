/**
 * berth-registry as a process: its flags, a docker-style push and pull over HTTP (curl for
 * the catalog, tag list and manifest HEAD), a clean SIGTERM that lets a request finish, and
 * kill -9 in the middle of pushes leaving a store that checks out (no tag on a missing
 * manifest, no manifest on a missing blob, every blob its digest). Needs no dockerd or root;
 * bench/registry-interop.sh is the same story with the real docker engine. The distribution
 * suite (src/registry/conformance.ts) runs against the process too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { distributionSuite } from '../src/registry/testing.ts';
import { delay } from '../src/async/index.ts';
import { REPO, startRegistry as startBerthRegistry } from './harness.ts';

const BIN = join(REPO, 'bin/berth-registry');
const SCHEMA2 = 'application/vnd.docker.distribution.manifest.v2+json';

/** Every registry here logs each request (one test reads those lines). */
const startRegistry = (root: string) => startBerthRegistry(root, ['--log-level', 'debug']);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(
  port: number,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string | number> = {},
): Promise<Reply> {
  return new Promise((res, rej) => {
    const h = { ...headers };
    if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
    const req = request({ host: '127.0.0.1', port, method, path, headers: h, agent: false }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end(body);
  });
}

const digestOf = (data: string | Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A blob the way docker pushes one: a session, one PATCH, a PUT with the digest. */
async function pushBlob(port: number, name: string, data: string | Buffer): Promise<string> {
  const digest = digestOf(data);
  const start = await call(port, 'POST', `/v2/${name}/blobs/uploads/`);
  assert.equal(start.status, 202);
  const location = String(start.headers.location);
  const patch = await call(port, 'PATCH', location, data, { 'Content-Type': 'application/octet-stream' });
  assert.equal(patch.status, 202);
  assert.equal(patch.headers.range, `0-${Buffer.byteLength(data) - 1}`);
  const put = await call(port, 'PUT', `${location}?digest=${digest}`);
  assert.equal(put.status, 201, `${put.body}`);
  return digest;
}

function curl(...args: string[]): string {
  const r = spawnSync('curl', ['-fsS', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/**
 * Checks the store's invariants by reading the files directly: every blob's bytes match its
 * name; every tag holds a digest with a revision link; every revision's manifest exists and
 * what it references is in the repository; every blob link has its blob.
 */
function fsck(root: string): string[] {
  const problems: string[] = [];
  const blobs = join(root, 'blobs', 'sha256');
  const hasBlob = (hex: string) => existsSync(join(blobs, hex));
  for (const hex of existsSync(blobs) ? readdirSync(blobs) : []) {
    const actual = createHash('sha256')
      .update(readFileSync(join(blobs, hex)))
      .digest('hex');
    if (actual !== hex) problems.push(`blob ${hex} holds ${actual}`);
  }
  const walk = (dir: string, name: string) => {
    const entries = readdirSync(dir);
    if (entries.includes('_blobs') || entries.includes('_manifests')) {
      const linked = new Set(existsSync(join(dir, '_blobs')) ? readdirSync(join(dir, '_blobs')) : []);
      for (const hex of linked) if (!hasBlob(hex)) problems.push(`${name}: blob link ${hex} without its blob`);
      const revDir = join(dir, '_manifests', 'revisions');
      const revisions = new Set(existsSync(revDir) ? readdirSync(revDir).filter((n) => !n.startsWith('.')) : []);
      for (const hex of revisions) {
        if (!hasBlob(hex)) {
          problems.push(`${name}: revision ${hex} without its manifest`);
          continue;
        }
        const m = JSON.parse(readFileSync(join(blobs, hex), 'utf8'));
        for (const d of [m.config, ...(m.layers ?? [])].filter(Boolean)) {
          if (!linked.has(d.digest.slice(7)))
            problems.push(`${name}: manifest ${hex} references unlinked blob ${d.digest}`);
        }
        for (const d of m.manifests ?? []) {
          if (!revisions.has(d.digest.slice(7)))
            problems.push(`${name}: index ${hex} references unknown manifest ${d.digest}`);
        }
      }
      const tagDir = join(dir, '_manifests', 'tags');
      for (const tag of existsSync(tagDir) ? readdirSync(tagDir).filter((n) => !n.startsWith('.')) : []) {
        const target = readFileSync(join(tagDir, tag), 'utf8').trim();
        if (!/^sha256:[a-f0-9]{64}$/.test(target)) problems.push(`${name}: tag ${tag} holds "${target}"`);
        else if (!revisions.has(target.slice(7)))
          problems.push(`${name}: tag ${tag} points at missing manifest ${target}`);
      }
    }
    for (const e of entries) {
      if (!e.startsWith('_') && statSync(join(dir, e)).isDirectory()) walk(join(dir, e), name ? `${name}/${e}` : e);
    }
  };
  if (existsSync(join(root, 'repositories'))) walk(join(root, 'repositories'), '');
  return problems;
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-registry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('berth-registry --help, and a bad flag exits 125', () => {
  const help = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--listen string/);
  const bad = spawnSync(BIN, ['--nope'], { encoding: 'utf8' });
  assert.equal(bad.status, 125);
  assert.match(bad.stderr, /unknown flag: --nope/);
  assert.equal(spawnSync(BIN, ['--listen', 'nowhere'], { encoding: 'utf8' }).status, 125);
});

test('push and pull the way docker does; curl sees the catalog, tags and manifest', async (t) => {
  const reg = await startRegistry(join(tempDir(t), 'root'));
  t.after(() => void reg.proc.kill('SIGKILL'));
  const port = reg.port;
  assert.equal((await call(port, 'GET', '/v2/')).headers['docker-distribution-api-version'], 'registry/2.0');
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  const layer = Buffer.alloc(3 * 1024 * 1024, 'L');
  const configDigest = await pushBlob(port, 'test/busybox', config);
  const layerDigest = await pushBlob(port, 'test/busybox', layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: SCHEMA2,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configDigest, size: config.length },
    layers: [
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layerDigest, size: layer.length },
    ],
  });
  const put = await call(port, 'PUT', '/v2/test/busybox/manifests/1', manifest, { 'Content-Type': SCHEMA2 });
  assert.equal(put.status, 201);
  // A second tag over the same layer: docker HEADs the layer and says "Layer already exists".
  assert.equal((await call(port, 'HEAD', `/v2/test/busybox/blobs/${layerDigest}`)).status, 200);
  assert.equal(
    (await call(port, 'PUT', '/v2/test/busybox/manifests/2', manifest, { 'Content-Type': SCHEMA2 })).status,
    201,
  );
  // Another repository: docker tries to mount from the first ("Mounted from test/busybox").
  const mount = await call(port, 'POST', `/v2/other/busybox/blobs/uploads/?mount=${layerDigest}&from=test/busybox`);
  assert.equal(mount.status, 201);

  const got = await call(port, 'GET', '/v2/test/busybox/manifests/1', undefined, { Accept: SCHEMA2 });
  assert.equal(got.body.toString(), manifest);
  const blob = await call(port, 'GET', `/v2/test/busybox/blobs/${layerDigest}`);
  assert.ok(blob.body.equals(layer));

  assert.deepEqual(JSON.parse(curl(`http://127.0.0.1:${port}/v2/_catalog`)), {
    repositories: ['other/busybox', 'test/busybox'],
  });
  assert.deepEqual(JSON.parse(curl(`http://127.0.0.1:${port}/v2/test/busybox/tags/list`)), {
    name: 'test/busybox',
    tags: ['1', '2'],
  });
  const head = curl('-I', '-H', `Accept: ${SCHEMA2}`, `http://127.0.0.1:${port}/v2/test/busybox/manifests/1`);
  assert.match(head, /^HTTP\/1.1 200/);
  assert.match(head, new RegExp(`Docker-Content-Digest: ${digestOf(manifest)}`, 'i'));
  assert.match(head, new RegExp(`Content-Type: ${SCHEMA2.replace(/[.+]/g, '\\$&')}`, 'i'));
  // One debug line per request, in berthd's format.
  assert.match(reg.log(), /time="[^"]+" level=debug msg="PUT \/v2\/test\/busybox\/manifests\/1 201 [\d.]+ms"/);
});

test("curl sees the spec's answers: n=0 is an empty page without Link, an index over a missing manifest is MANIFEST_BLOB_UNKNOWN, 4xx codes are the spec's", async (t) => {
  const reg = await startRegistry(join(tempDir(t), 'root'));
  t.after(() => void reg.proc.kill('SIGKILL'));
  const base = `http://127.0.0.1:${reg.port}`;
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  const layer = 'one layer';
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: SCHEMA2,
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      digest: await pushBlob(reg.port, 'app', config),
      size: config.length,
    },
    layers: [
      {
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        digest: await pushBlob(reg.port, 'app', layer),
        size: layer.length,
      },
    ],
  });
  for (const tag of ['a', 'b'])
    curl('-X', 'PUT', '-H', `Content-Type: ${SCHEMA2}`, '--data-binary', manifest, `${base}/v2/app/manifests/${tag}`);

  // -i: the headers too, to see that no Link points to a next page.
  const none = spawnSync('curl', ['-sS', '-i', `${base}/v2/app/tags/list?n=0`], { encoding: 'utf8' }).stdout;
  assert.match(none, /^HTTP\/1.1 200/);
  assert.doesNotMatch(none, /^link:/im);
  assert.deepEqual(JSON.parse(none.slice(none.indexOf('\r\n\r\n') + 4)), { name: 'app', tags: [] });
  const one = spawnSync('curl', ['-sS', '-i', `${base}/v2/app/tags/list?n=1`], { encoding: 'utf8' }).stdout;
  assert.match(one, /^link: <\/v2\/app\/tags\/list\?n=1&last=a>; rel="next"/im);

  const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
  const missing = digestOf('no such manifest');
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ mediaType: SCHEMA2, digest: missing, size: 10, platform: { architecture: 'amd64', os: 'linux' } }],
  });
  const refused = spawnSync(
    'curl',
    [
      '-sS',
      '-w',
      '\n%{http_code}',
      '-X',
      'PUT',
      '-H',
      `Content-Type: ${OCI_INDEX}`,
      '--data-binary',
      index,
      `${base}/v2/app/manifests/multi`,
    ],
    { encoding: 'utf8' },
  ).stdout.split('\n');
  assert.equal(refused[1], '400');
  const err = JSON.parse(refused[0]!).errors[0];
  assert.equal(err.code, 'MANIFEST_BLOB_UNKNOWN');
  assert.equal(err.detail.digest, missing);

  // Errors distribution names with codes of its own carry the spec's codes.
  const codeOf = (...args: string[]) =>
    JSON.parse(spawnSync('curl', ['-sS', ...args], { encoding: 'utf8' }).stdout).errors[0].code;
  assert.equal(codeOf(`${base}/v2/app/tags/list?n=x`), 'UNSUPPORTED');
  const blob = digestOf(layer);
  assert.equal(codeOf('-H', 'Range: bytes=100-', `${base}/v2/app/blobs/${blob}`), 'UNSUPPORTED');
  const start = await call(reg.port, 'POST', '/v2/app/blobs/uploads/');
  const location = `${base}${start.headers.location}`;
  assert.equal(
    codeOf('-X', 'PATCH', '-H', 'Content-Range: 5-6', '--data-binary', 'xy', location),
    'BLOB_UPLOAD_INVALID',
  );
});

test('SIGTERM lets a request in flight finish, then the registry exits 0', async (t) => {
  const reg = await startRegistry(join(tempDir(t), 'root'));
  t.after(() => void reg.proc.kill('SIGKILL'));
  const start = await call(reg.port, 'POST', '/v2/r/blobs/uploads/');
  const location = String(start.headers.location);
  const reply = new Promise<Reply>((res, rej) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: reg.port,
        method: 'PATCH',
        path: location,
        headers: { 'Content-Length': 6 },
        agent: false,
      },
      (r) => {
        r.resume();
        r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.alloc(0) }));
      },
    );
    req.on('error', rej);
    req.write('abc');
    setTimeout(() => {
      reg.proc.kill('SIGTERM');
      setTimeout(() => req.end('def'), 300);
    }, 100);
  });
  const r = await reply;
  assert.equal(r.status, 202);
  assert.equal(r.headers.range, '0-5');
  const { code } = await reg.exited;
  assert.equal(code, 0);
  assert.match(reg.log(), /received SIGTERM, shutting down/);
});

test('kill -9 in the middle of pushes leaves a consistent store that serves again', async (t) => {
  const root = join(tempDir(t), 'root');
  let pushedBeforeKill = 0;
  for (const killAfterMs of [150, 400, 700]) {
    const reg = await startRegistry(root);
    const port = reg.port;
    let stop = false;
    let manifestsPut = 0;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const name = `kill/r${w}`;
        const config = `{"w":${w},"i":${i},"k":${killAfterMs}}`;
        const layer = Buffer.alloc(64 * 1024 + i, w + i);
        const c = await pushBlob(port, name, config);
        const l = await pushBlob(port, name, layer);
        const m = JSON.stringify({
          schemaVersion: 2,
          mediaType: SCHEMA2,
          config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: c, size: config.length },
          layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: l, size: layer.length }],
        });
        await call(port, 'PUT', `/v2/${name}/manifests/t${i % 3}`, m, { 'Content-Type': SCHEMA2 });
        manifestsPut++;
        if (i % 4 === 3) await call(port, 'DELETE', `/v2/${name}/manifests/${digestOf(m)}`);
      }
    };
    // A big upload streaming while the others push.
    const big = (async () => {
      const start = await call(port, 'POST', '/v2/kill/big/blobs/uploads/');
      await call(port, 'PATCH', String(start.headers.location), Buffer.alloc(32 * 1024 * 1024, 1));
    })().catch(() => {});
    const workers = [0, 1, 2].map((w) => worker(w).catch(() => {}));
    // The kill's moment counts from when pushes are under way, not from the start: on a loaded
    // machine the first requests alone can take longer than killAfterMs.
    for (const until = Date.now() + 60_000; manifestsPut < 3 && Date.now() < until;) await delay(10);
    await new Promise((r) => setTimeout(r, killAfterMs));
    reg.proc.kill('SIGKILL');
    stop = true;
    await reg.exited;
    await Promise.all([...workers, big]);

    assert.deepEqual(fsck(root), [], `after kill -9 at ${killAfterMs} ms`);
    pushedBeforeKill += existsSync(join(root, 'blobs', 'sha256'))
      ? readdirSync(join(root, 'blobs', 'sha256')).length
      : 0;
    const again = await startRegistry(root);
    try {
      assert.deepEqual(fsck(root), []);
      const digest = await pushBlob(again.port, 'kill/after', `after ${killAfterMs}`);
      assert.equal((await call(again.port, 'GET', `/v2/kill/after/blobs/${digest}`)).status, 200);
      const catalog = JSON.parse((await call(again.port, 'GET', '/v2/_catalog')).body.toString());
      assert.ok(catalog.repositories.includes('kill/after'));
      for (const repo of catalog.repositories as string[]) {
        const tags = await call(again.port, 'GET', `/v2/${repo}/tags/list`);
        assert.equal(tags.status, 200);
        for (const tag of JSON.parse(tags.body.toString()).tags as string[]) {
          assert.equal((await call(again.port, 'HEAD', `/v2/${repo}/manifests/${tag}`)).status, 200, `${repo}:${tag}`);
        }
      }
    } finally {
      again.proc.kill('SIGTERM');
      assert.equal((await again.exited).code, 0);
    }
  }
  // The kills did land in the middle of work, not before any.
  assert.ok(pushedBeforeKill > 10, `only ${pushedBeforeKill} blobs were pushed`);
});

distributionSuite('berth-registry process', async (o) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-suite-'));
  const args: string[] = [];
  if (o.basicAuth) {
    const hash = bcrypt.hashSync(o.basicAuth.password, 4).replace(/^\$2[ab]\$/, '$2y$');
    writeFileSync(join(dir, 'htpasswd'), `${o.basicAuth.username}:${hash}\n`);
    args.push('--htpasswd', join(dir, 'htpasswd'));
  }
  const reg = await startBerthRegistry(join(dir, 'root'), args);
  return {
    port: reg.port,
    async close() {
      reg.proc.kill('SIGTERM');
      await reg.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
