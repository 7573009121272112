/**
 * The distribution suite: what every registry Berth talks to in its tests must answer the same
 * way, run against each implementation (containerd's `SnapshotterSuite` pattern). Today that is
 * the in-memory fake the client's and pull's tests use and `berth-registry` itself; a test of
 * the client against the fake proves something about the real server only while both pass.
 *
 * The suite covers the calls docker and Berth's client make on a push and a pull: the version
 * check, chunked and monolithic blob uploads, cross-repository mounts, blob and manifest reads
 * by tag and by digest, the tag list, the error bodies and codes clients branch on, and HTTP
 * Basic authentication. What only one implementation offers (ranges, deletes, the catalog,
 * manifest validation, faults on request) stays in that implementation's own tests.
 *
 *     distributionSuite('berth-registry', async (o) => { ...start one...; return { port, close } });
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Digest } from '../spec/index.ts';
import { call, digestOf, schema2Manifest, type CallOptions, type Reply } from './rawcall.ts';

export interface SuiteRegistryOptions {
  /** Require HTTP Basic credentials of this user on every `/v2/` request. */
  basicAuth?: { username: string; password: string };
}

/** A registry of the implementation under test, empty, on a loopback port. */
export interface SuiteRegistry {
  port: number;
  close(): Promise<void>;
}

const SCHEMA2 = 'application/vnd.docker.distribution.manifest.v2+json';

/** Registers the suite's tests under `name`; `start` makes a fresh registry for each test. */
export function distributionSuite(name: string, start: (o: SuiteRegistryOptions) => Promise<SuiteRegistry>): void {
  /** A fresh registry for one test, closed after it. */
  async function open(
    t: { after(fn: () => Promise<void>): void },
    o: SuiteRegistryOptions = {},
  ): Promise<(method: string, path: string, options?: CallOptions) => Promise<Reply>> {
    const reg = await start(o);
    t.after(() => reg.close());
    return (method, path, options) => call(reg.port, method, path, options);
  }

  describe(`distribution API: ${name}`, () => {
    test('GET /v2/ answers 200 with the API version header', async (t) => {
      const api = await open(t);
      const r = await api('GET', '/v2/');
      assert.equal(r.status, 200);
      assert.equal(r.header('docker-distribution-api-version'), 'registry/2.0');
      assert.deepEqual(r.json(), {});
    });

    test('a chunked upload (session, PATCH, PUT with the digest) makes a blob readable by HEAD and GET', async (t) => {
      const api = await open(t);
      const data = 'chunked blob';
      const digest = digestOf(data);
      const start = await api('POST', '/v2/suite/app/blobs/uploads/');
      assert.equal(start.status, 202);
      assert.ok(start.header('docker-upload-uuid'), 'an upload UUID');
      const patch = await api('PATCH', start.header('location')!, {
        headers: { 'Content-Type': 'application/octet-stream' },
        body: data,
      });
      assert.equal(patch.status, 202);
      assert.equal(patch.header('range'), `0-${data.length - 1}`);
      const put = await api('PUT', withDigest(patch.header('location')!, digest));
      assert.equal(put.status, 201, `${put.body}`);
      assert.equal(put.header('location'), `/v2/suite/app/blobs/${digest}`);
      assert.equal(put.header('docker-content-digest'), digest);

      const head = await api('HEAD', `/v2/suite/app/blobs/${digest}`);
      assert.equal(head.status, 200);
      assert.equal(head.header('content-length'), String(data.length));
      assert.equal(head.header('docker-content-digest'), digest);
      assert.equal(head.body.length, 0);
      const get = await api('GET', `/v2/suite/app/blobs/${digest}`);
      assert.equal(get.status, 200);
      assert.equal(get.body.toString(), data);
    });

    test('the last chunk may come with the PUT that closes the upload', async (t) => {
      const api = await open(t);
      const digest = digestOf('first+last');
      const start = await api('POST', '/v2/suite/blobs/uploads/');
      const patch = await api('PATCH', start.header('location')!, { body: 'first+' });
      const put = await api('PUT', withDigest(patch.header('location')!, digest), { body: 'last' });
      assert.equal(put.status, 201, `${put.body}`);
      assert.equal((await api('GET', `/v2/suite/blobs/${digest}`)).body.toString(), 'first+last');
    });

    test('a blob is readable only in the repository it was pushed to or mounted into', async (t) => {
      const api = await open(t);
      const digest = await pushBlob(api, 'suite/a', 'shared layer');
      assertError(await api('GET', `/v2/suite/b/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
      const missing = await api('HEAD', `/v2/suite/b/blobs/${digest}`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.length, 0);

      const mount = await api('POST', `/v2/suite/b/blobs/uploads/?mount=${digest}&from=suite/a`);
      assert.equal(mount.status, 201);
      assert.equal(mount.header('location'), `/v2/suite/b/blobs/${digest}`);
      assert.equal(mount.header('docker-content-digest'), digest);
      assert.equal((await api('GET', `/v2/suite/b/blobs/${digest}`)).body.toString(), 'shared layer');

      // A mount of what the source has not got starts an ordinary upload instead.
      const unknown = digestOf('nowhere');
      const fallback = await api('POST', `/v2/suite/c/blobs/uploads/?mount=${unknown}&from=suite/a`);
      assert.equal(fallback.status, 202);
      assert.ok(fallback.header('location'));
    });

    test('an upload whose bytes do not match the digest is DIGEST_INVALID and stores nothing', async (t) => {
      const api = await open(t);
      const claimed = digestOf('what was promised');
      const start = await api('POST', '/v2/suite/blobs/uploads/');
      const put = await api('PUT', withDigest(start.header('location')!, claimed), { body: 'something else' });
      assertError(put, 400, 'DIGEST_INVALID');
      assertError(await api('GET', `/v2/suite/blobs/${claimed}`), 404, 'BLOB_UNKNOWN');
    });

    test("an upload session belongs to its repository: another one's is BLOB_UPLOAD_UNKNOWN", async (t) => {
      const api = await open(t);
      const start = await api('POST', '/v2/suite/mine/blobs/uploads/');
      const uuid = start.header('docker-upload-uuid')!;
      const other = await api('PATCH', `/v2/suite/theirs/blobs/uploads/${uuid}`, { body: 'x' });
      assertError(other, 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    test('a manifest comes back byte for byte by tag and by digest, with its type and digest', async (t) => {
      const api = await open(t);
      const body = await pushImage(api, 'suite/img', 'v1');
      const digest = digestOf(body);
      for (const ref of ['v1', digest]) {
        const get = await api('GET', `/v2/suite/img/manifests/${ref}`, { headers: { Accept: SCHEMA2 } });
        assert.equal(get.status, 200, ref);
        assert.equal(get.body.toString(), body, ref);
        assert.equal(get.header('content-type'), SCHEMA2, ref);
        assert.equal(get.header('docker-content-digest'), digest, ref);
      }
      const head = await api('HEAD', `/v2/suite/img/manifests/v1`, { headers: { Accept: SCHEMA2 } });
      assert.equal(head.status, 200);
      assert.equal(head.header('content-length'), String(Buffer.byteLength(body)));
      assert.equal(head.header('docker-content-digest'), digest);
      assert.equal(head.body.length, 0);
    });

    test('an unknown manifest is a 404 with a code the client knows', async (t) => {
      const api = await open(t);
      await pushImage(api, 'suite/img', 'v1');
      assertError(await api('GET', '/v2/suite/img/manifests/missing'), 404, 'MANIFEST_UNKNOWN');
      const elsewhere = await api('GET', '/v2/suite/nothing-here/manifests/v1');
      assert.equal(elsewhere.status, 404);
      assert.ok(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN'].includes(elsewhere.json().errors[0].code), `${elsewhere.body}`);
    });

    test('tags/list names the repository and its tags in order', async (t) => {
      const api = await open(t);
      for (const tag of ['v2', 'latest', 'v1']) await pushImage(api, 'suite/tags', tag, tag);
      const r = await api('GET', '/v2/suite/tags/tags/list');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { name: 'suite/tags', tags: ['latest', 'v1', 'v2'] });
      assertError(await api('GET', '/v2/suite/none/tags/list'), 404, 'NAME_UNKNOWN');
    });

    test('with Basic auth every request needs the credentials: else 401 with a Basic challenge', async (t) => {
      const user = { username: 'suite', password: 's3cret' };
      const api = await open(t, { basicAuth: user });
      const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
      for (const authorization of [undefined, basic('suite', 'wrong')]) {
        const headers = authorization ? { Authorization: authorization } : undefined;
        const r = await api('GET', '/v2/', { headers });
        assertError(r, 401, 'UNAUTHORIZED');
        assert.match(r.header('www-authenticate') ?? '', /^Basic realm="[^"]*"$/);
        assert.equal((await api('GET', `/v2/suite/blobs/${digestOf('x')}`, { headers })).status, 401);
      }
      const ok = await api('GET', '/v2/', { headers: { Authorization: basic(user.username, user.password) } });
      assert.equal(ok.status, 200);
    });
  });
}

/** The upload location with `digest=` added to whatever query it already has. */
function withDigest(location: string, digest: Digest): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`;
}

type Api = (method: string, path: string, options?: CallOptions) => Promise<Reply>;

async function pushBlob(api: Api, name: string, data: string): Promise<Digest> {
  const digest = digestOf(data);
  const start = await api('POST', `/v2/${name}/blobs/uploads/`);
  const put = await api('PUT', withDigest(start.header('location')!, digest), { body: data });
  assert.equal(put.status, 201, `push blob: ${put.body}`);
  return digest;
}

/** Pushes a config, a layer and a schema2 manifest over them under `tag`; returns the manifest. */
async function pushImage(api: Api, name: string, tag: string, seed = 'x'): Promise<string> {
  const config = `{"config":{},"seed":"${seed}"}`;
  const layer = `layer of ${seed}`;
  const body = schema2Manifest({ digest: await pushBlob(api, name, config), size: config.length }, [
    { digest: await pushBlob(api, name, layer), size: layer.length },
  ]);
  const r = await api('PUT', `/v2/${name}/manifests/${tag}`, { headers: { 'Content-Type': SCHEMA2 }, body });
  assert.equal(r.status, 201, `push manifest: ${r.body}`);
  assert.equal(r.header('docker-content-digest'), digestOf(body));
  return body;
}

/** An error answer: the status, and for a GET the distribution error body with `code`. */
function assertError(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, `status of ${r.body}`);
  if (r.body.length === 0) return; // HEAD: the status says it all
  const body = r.json();
  assert.ok(Array.isArray(body.errors), `errors body: ${r.body}`);
  assert.equal(body.errors[0].code, code, `${r.body}`);
  assert.equal(typeof body.errors[0].message, 'string');
}
