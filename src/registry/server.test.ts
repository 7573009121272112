import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf, schema2Manifest, startTestRegistry, type Reply, type TestRegistry } from './testing.ts';

const SCHEMA2 = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

async function registry(
  t: { after(fn: () => Promise<void>): void },
  options?: Parameters<typeof startTestRegistry>[0],
): Promise<TestRegistry> {
  const reg = await startTestRegistry(options);
  t.after(() => reg.close());
  return reg;
}

/** The distribution spec's error codes: the only ones a 4xx body may carry. */
const SPEC_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
];

function assertError(r: Reply, status: number, code: string): any {
  assert.equal(r.status, status, `status of ${r.body}`);
  if (status < 500) assert.ok(SPEC_CODES.includes(code), `${code} is not one of the spec's codes`);
  assert.equal(r.header('docker-distribution-api-version'), 'registry/2.0');
  if (r.body.length === 0) return undefined; // HEAD: the status says it all
  const body = r.json();
  assert.ok(Array.isArray(body.errors), `errors body: ${r.body}`);
  assert.equal(body.errors[0].code, code, `${r.body}`);
  assert.equal(typeof body.errors[0].message, 'string');
  return body.errors[0];
}

/** Pushes a config and a layer, and a schema2 manifest over them under `tag`. */
async function pushImage(
  reg: TestRegistry,
  name: string,
  tag: string,
  seed = 'x',
): Promise<{ digest: string; body: string }> {
  const config = `{"config":{},"seed":"${seed}"}`;
  const layer = `layer of ${seed}`;
  const body = schema2Manifest({ digest: await reg.pushBlob(name, config), size: config.length }, [
    { digest: await reg.pushBlob(name, layer), size: layer.length },
  ]);
  const r = await reg.call('PUT', `/v2/${name}/manifests/${tag}`, { headers: { 'Content-Type': SCHEMA2 }, body });
  assert.equal(r.status, 201, `${r.body}`);
  return { digest: r.header('docker-content-digest')!, body };
}

test('GET /v2/ answers {} with the API version header; unknown paths get an error body', async (t) => {
  const reg = await registry(t);
  const r = await reg.call('GET', '/v2/');
  assert.equal(r.status, 200);
  assert.equal(r.header('docker-distribution-api-version'), 'registry/2.0');
  assert.deepEqual(r.json(), {});
  assert.equal((await reg.call('GET', '/v2')).status, 200);
  assertError(await reg.call('GET', '/v3/'), 404, 'UNSUPPORTED');
  assertError(await reg.call('POST', '/v2/'), 405, 'UNSUPPORTED');
});

test('a monolithic upload makes a blob readable in its repository only', async (t) => {
  const reg = await registry(t);
  const data = 'hello blob';
  const digest = digestOf(data);
  const put = await reg.call('POST', `/v2/test/app/blobs/uploads/?digest=${digest}`, { body: data });
  assert.equal(put.status, 201);
  assert.equal(put.header('location'), `/v2/test/app/blobs/${digest}`);
  assert.equal(put.header('docker-content-digest'), digest);

  const head = await reg.call('HEAD', `/v2/test/app/blobs/${digest}`);
  assert.equal(head.status, 200);
  assert.equal(head.header('content-length'), String(data.length));
  assert.equal(head.header('docker-content-digest'), digest);
  assert.equal(head.header('content-type'), 'application/octet-stream');
  assert.equal(head.body.length, 0);

  const get = await reg.call('GET', `/v2/test/app/blobs/${digest}`);
  assert.equal(get.status, 200);
  assert.equal(get.body.toString(), data);

  // Another repository has not got it, as distribution: no reading blobs across repositories.
  const other = await reg.call('GET', `/v2/test/other/blobs/${digest}`);
  assert.equal(assertError(other, 404, 'BLOB_UNKNOWN').detail.digest, digest);
  const otherHead = await reg.call('HEAD', `/v2/test/other/blobs/${digest}`);
  assert.equal(otherHead.status, 404);
  assert.equal(otherHead.body.length, 0);
});

test('blob GET serves byte ranges', async (t) => {
  const reg = await registry(t);
  const digest = await reg.pushBlob('r', '0123456789');
  const part = await reg.call('GET', `/v2/r/blobs/${digest}`, { headers: { Range: 'bytes=2-5' } });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), '2345');
  assert.equal(part.header('content-range'), 'bytes 2-5/10');
  const open = await reg.call('GET', `/v2/r/blobs/${digest}`, { headers: { Range: 'bytes=7-' } });
  assert.equal(open.body.toString(), '789');
  const suffix = await reg.call('GET', `/v2/r/blobs/${digest}`, { headers: { Range: 'bytes=-3' } });
  assert.equal(suffix.body.toString(), '789');
  const outside = await reg.call('GET', `/v2/r/blobs/${digest}`, { headers: { Range: 'bytes=10-' } });
  assert.match(assertError(outside, 416, 'UNSUPPORTED').message, /range "bytes=10-" outside blob/);
  assert.equal(outside.header('content-range'), 'bytes */10');
  // Several ranges: the whole blob, as HTTP allows.
  const several = await reg.call('GET', `/v2/r/blobs/${digest}`, { headers: { Range: 'bytes=0-1,4-5' } });
  assert.equal(several.status, 200);
  assert.equal(several.body.toString(), '0123456789');
});

test('DELETE of a blob unlinks it from the repository', async (t) => {
  const reg = await registry(t);
  const digest = await reg.pushBlob('r', 'doomed');
  const del = await reg.call('DELETE', `/v2/r/blobs/${digest}`);
  assert.equal(del.status, 202);
  assertError(await reg.call('GET', `/v2/r/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  assertError(await reg.call('DELETE', `/v2/r/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
});

test('a chunked upload: session, PATCH with and without Content-Range, status, PUT with a last chunk', async (t) => {
  const reg = await registry(t);
  const start = await reg.call('POST', '/v2/test/chunked/blobs/uploads/');
  assert.equal(start.status, 202);
  const uuid = start.header('docker-upload-uuid')!;
  const location = start.header('location')!;
  assert.equal(location, `/v2/test/chunked/blobs/uploads/${uuid}`);
  assert.equal(start.header('range'), '0-0');

  const first = await reg.call('PATCH', location, {
    headers: { 'Content-Type': 'application/octet-stream' },
    body: 'hello',
  });
  assert.equal(first.status, 202);
  assert.equal(first.header('range'), '0-4');
  assert.equal(first.header('location'), location);

  const second = await reg.call('PATCH', location, { headers: { 'Content-Range': '5-10' }, body: ' world' });
  assert.equal(second.status, 202);
  assert.equal(second.header('range'), '0-10');

  // Out of order: refused with 416, and the client is told where the upload stands.
  const stale = await reg.call('PATCH', location, { headers: { 'Content-Range': '5-10' }, body: ' world' });
  assert.match(assertError(stale, 416, 'BLOB_UPLOAD_INVALID').message, /does not start at 11/);
  assert.equal(stale.header('range'), '0-10');
  // A Content-Range that does not match the body's length.
  assertError(
    await reg.call('PATCH', location, { headers: { 'Content-Range': '11-20' }, body: '!' }),
    400,
    'BLOB_UPLOAD_INVALID',
  );

  const status = await reg.call('GET', location);
  assert.equal(status.status, 204);
  assert.equal(status.header('range'), '0-10');
  assert.equal(status.header('docker-upload-uuid'), uuid);

  const digest = digestOf('hello world!');
  const done = await reg.call('PUT', `${location}?digest=${digest}`, { body: '!' });
  assert.equal(done.status, 201, `${done.body}`);
  assert.equal(done.header('location'), `/v2/test/chunked/blobs/${digest}`);
  assert.equal(done.header('docker-content-digest'), digest);
  assert.equal((await reg.call('GET', `/v2/test/chunked/blobs/${digest}`)).body.toString(), 'hello world!');
  // Finished sessions are gone.
  assertError(await reg.call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
  assert.deepEqual(await readdir(join(reg.root, 'uploads')), []);
});

test('a digest that does not match discards the upload', async (t) => {
  const reg = await registry(t);
  const start = await reg.call('POST', '/v2/r/blobs/uploads/');
  const location = start.header('location')!;
  await reg.call('PATCH', location, { body: 'abc' });
  const wrong = digestOf('abd');
  const err = assertError(await reg.call('PUT', `${location}?digest=${wrong}`), 400, 'DIGEST_INVALID');
  assert.equal(err.detail.expected, wrong);
  assertError(await reg.call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
  assertError(await reg.call('HEAD', `/v2/r/blobs/${digestOf('abc')}`), 404, 'BLOB_UNKNOWN');

  // Monolithic, likewise; and nothing is left in uploads or the blob store.
  assertError(await reg.call('POST', `/v2/r/blobs/uploads/?digest=${wrong}`, { body: 'abc' }), 400, 'DIGEST_INVALID');
  assert.deepEqual(await readdir(join(reg.root, 'uploads')), []);
  assert.deepEqual(await readdir(join(reg.root, 'blobs', 'sha256')), []);
});

test('PUT without a digest, or with a bad one, is DIGEST_INVALID; an algorithm other than sha256 and sha512 is named as unsupported', async (t) => {
  const reg = await registry(t);
  const location = (await reg.call('POST', '/v2/r/blobs/uploads/')).header('location')!;
  assertError(await reg.call('PUT', location), 400, 'DIGEST_INVALID');
  assertError(await reg.call('PUT', `${location}?digest=sha256:xyz`), 400, 'DIGEST_INVALID');
  assertError(await reg.call('PUT', `${location}?digest=sha512:${'a'.repeat(64)}`), 400, 'DIGEST_INVALID');
  assertError(await reg.call('HEAD', `/v2/r/blobs/sha384:${'a'.repeat(96)}`), 400, 'DIGEST_INVALID');
  const msg = assertError(await reg.call('GET', `/v2/r/blobs/blake3:${'a'.repeat(64)}`), 400, 'DIGEST_INVALID').message;
  assert.match(msg, /only sha256 and sha512/);
  // The session survives a refused PUT.
  assert.equal((await reg.call('GET', location)).status, 204);
});

test('DELETE cancels an upload; another repository cannot touch it', async (t) => {
  const reg = await registry(t);
  const start = await reg.call('POST', '/v2/a/blobs/uploads/');
  const uuid = start.header('docker-upload-uuid')!;
  assertError(await reg.call('PATCH', `/v2/b/blobs/uploads/${uuid}`, { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
  assertError(await reg.call('GET', '/v2/a/blobs/uploads/not-a-uuid'), 404, 'BLOB_UPLOAD_UNKNOWN');
  assert.equal((await reg.call('DELETE', `/v2/a/blobs/uploads/${uuid}`)).status, 204);
  assertError(await reg.call('GET', `/v2/a/blobs/uploads/${uuid}`), 404, 'BLOB_UPLOAD_UNKNOWN');
});

test('cross-repository mount links an existing blob, else starts an upload', async (t) => {
  const reg = await registry(t);
  const digest = await reg.pushBlob('src/repo', 'shared layer');
  const mounted = await reg.call('POST', `/v2/dst/repo/blobs/uploads/?mount=${digest}&from=src/repo`);
  assert.equal(mounted.status, 201);
  assert.equal(mounted.header('location'), `/v2/dst/repo/blobs/${digest}`);
  assert.equal(mounted.header('docker-content-digest'), digest);
  assert.equal((await reg.call('GET', `/v2/dst/repo/blobs/${digest}`)).body.toString(), 'shared layer');

  for (const query of [
    `mount=${digest}&from=nowhere`,
    `mount=${digestOf('other')}&from=src/repo`,
    `mount=${digest}&from=..%2Fsrc`,
    `mount=${digest}`,
  ]) {
    const fallback = await reg.call('POST', `/v2/third/blobs/uploads/?${query}`);
    assert.equal(fallback.status, 202, query);
    assert.match(fallback.header('location')!, /^\/v2\/third\/blobs\/uploads\/[0-9a-f-]{36}$/);
  }
  assertError(await reg.call('HEAD', `/v2/third/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  assertError(await reg.call('POST', '/v2/third/blobs/uploads/?mount=nonsense&from=src/repo'), 400, 'DIGEST_INVALID');
});

test('manifests: blobs must exist; exact bytes come back by tag and by digest', async (t) => {
  const reg = await registry(t);
  const config = '{"architecture":"amd64"}';
  const layer = 'layer bytes';
  const configDigest = digestOf(config);
  const body = schema2Manifest({ digest: configDigest, size: config.length }, [
    { digest: digestOf(layer), size: layer.length },
  ]);

  const missing = await reg.call('PUT', '/v2/img/manifests/v1', { headers: { 'Content-Type': SCHEMA2 }, body });
  assert.equal(assertError(missing, 400, 'MANIFEST_BLOB_UNKNOWN').detail.digest, configDigest);
  await reg.pushBlob('img', config);
  const stillMissing = await reg.call('PUT', '/v2/img/manifests/v1', { headers: { 'Content-Type': SCHEMA2 }, body });
  assert.equal(assertError(stillMissing, 400, 'MANIFEST_BLOB_UNKNOWN').detail.digest, digestOf(layer));
  await reg.pushBlob('img', layer);

  const put = await reg.call('PUT', '/v2/img/manifests/v1', { headers: { 'Content-Type': SCHEMA2 }, body });
  assert.equal(put.status, 201);
  const digest = digestOf(body);
  assert.equal(put.header('docker-content-digest'), digest);
  assert.equal(put.header('location'), `/v2/img/manifests/${digest}`);

  for (const ref of ['v1', digest]) {
    const get = await reg.call('GET', `/v2/img/manifests/${ref}`, { headers: { Accept: SCHEMA2 } });
    assert.equal(get.status, 200);
    assert.equal(get.body.toString(), body);
    assert.equal(get.header('content-type'), SCHEMA2);
    assert.equal(get.header('docker-content-digest'), digest);
    assert.equal(get.header('content-length'), String(Buffer.byteLength(body)));
    assert.equal(get.header('etag'), `"${digest}"`);
  }
  const head = await reg.call('HEAD', '/v2/img/manifests/v1');
  assert.equal(head.status, 200);
  assert.equal(head.header('docker-content-digest'), digest);
  assert.equal(head.header('content-length'), String(Buffer.byteLength(body)));
  assert.equal(head.body.length, 0);
  // An Accept that leaves the stored type out still gets what is stored.
  const other = await reg.call('GET', '/v2/img/manifests/v1', {
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
  });
  assert.equal(other.status, 200);
  assert.equal(other.header('content-type'), SCHEMA2);
  assert.equal(
    (await reg.call('GET', '/v2/img/manifests/v1', { headers: { 'If-None-Match': `"${digest}"` } })).status,
    304,
  );

  assertError(await reg.call('GET', '/v2/img/manifests/v2'), 404, 'MANIFEST_UNKNOWN');
  assertError(await reg.call('GET', `/v2/img/manifests/${digestOf('nope')}`), 404, 'MANIFEST_UNKNOWN');
  assertError(await reg.call('GET', '/v2/elsewhere/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
});

test('a manifest PUT by digest must match its body', async (t) => {
  const reg = await registry(t);
  const { body } = await pushImage(reg, 'img', 'v1');
  const digest = digestOf(body);
  const wrong = await reg.call('PUT', `/v2/img/manifests/${digestOf('other')}`, {
    headers: { 'Content-Type': SCHEMA2 },
    body,
  });
  assertError(wrong, 400, 'DIGEST_INVALID');
  const right = await reg.call('PUT', `/v2/img/manifests/${digest}`, { headers: { 'Content-Type': SCHEMA2 }, body });
  assert.equal(right.status, 201);
});

test('manifest validation: JSON, type, shape, size', async (t) => {
  const reg = await registry(t);
  const put = (body: string | Buffer, contentType = SCHEMA2, ref = 'v1') =>
    reg.call('PUT', `/v2/img/manifests/${ref}`, { headers: { 'Content-Type': contentType }, body });
  assertError(await put('{not json'), 400, 'MANIFEST_INVALID');
  assertError(await put('[]'), 400, 'MANIFEST_INVALID');
  assertError(await put('{"schemaVersion":1}'), 400, 'MANIFEST_INVALID');
  assertError(
    await put('{"schemaVersion":2,"config":{"mediaType":"x","size":1,"digest":"sha256:zz"},"layers":[]}'),
    400,
    'MANIFEST_INVALID',
  );
  assertError(
    await put('{"schemaVersion":2,"config":{"mediaType":"x","size":-1,"digest":"' + digestOf('a') + '"},"layers":[]}'),
    400,
    'MANIFEST_INVALID',
  );
  assertError(
    await put('{"schemaVersion":2}', 'application/vnd.docker.distribution.manifest.v1+prettyjws'),
    400,
    'MANIFEST_INVALID',
  );
  assertError(
    await put(`{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[]}`, SCHEMA2),
    400,
    'MANIFEST_INVALID',
  );
  assertError(
    await put('{"schemaVersion":2,"mediaType":"application/x-nope"}', 'application/json'),
    400,
    'MANIFEST_INVALID',
  );
  assertError(await put('{}', SCHEMA2, '..%2F..%2Fescape'), 400, 'MANIFEST_INVALID');
  const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
  const tooBig = await put(huge);
  assertError(tooBig, 413, 'SIZE_INVALID');
  // Refused unread: the connection is closed rather than the rest read to keep it alive.
  assert.equal(tooBig.header('connection'), 'close');
  // Nothing of it was stored.
  assertError(await reg.call('GET', '/v2/img/tags/list'), 404, 'NAME_UNKNOWN');
});

test('a generic Content-Type: the body says what it is, or its shape does', async (t) => {
  const reg = await registry(t);
  const config = '{}';
  const configDigest = await reg.pushBlob('img', config);
  const oci = JSON.stringify({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: 2 },
    layers: [],
  });
  const r1 = await reg.call('PUT', '/v2/img/manifests/plain', {
    headers: { 'Content-Type': 'application/octet-stream' },
    body: oci,
  });
  assert.equal(r1.status, 201);
  assert.equal((await reg.call('GET', '/v2/img/manifests/plain')).header('content-type'), OCI_MANIFEST);
  const declared = JSON.stringify({
    schemaVersion: 2,
    mediaType: SCHEMA2,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configDigest, size: 2 },
    layers: [],
  });
  const r2 = await reg.call('PUT', '/v2/img/manifests/declared', {
    headers: { 'Content-Type': 'application/json' },
    body: declared,
  });
  assert.equal(r2.status, 201);
  assert.equal((await reg.call('GET', '/v2/img/manifests/declared')).header('content-type'), SCHEMA2);
});

test('an index needs its manifests in the repository: MANIFEST_BLOB_UNKNOWN names the missing one', async (t) => {
  const reg = await registry(t);
  const { digest, body } = await pushImage(reg, 'multi', 'amd64');
  const index = (d: string) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: SCHEMA2,
          digest: d,
          size: Buffer.byteLength(body),
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    });
  const unknown = await reg.call('PUT', '/v2/multi/manifests/latest', {
    headers: { 'Content-Type': OCI_INDEX },
    body: index(digestOf('x')),
  });
  const missing = assertError(unknown, 400, 'MANIFEST_BLOB_UNKNOWN');
  assert.equal(missing.detail.digest, digestOf('x'));
  assert.match(missing.message, /references manifest/);
  assertError(await reg.call('GET', '/v2/multi/manifests/latest'), 404, 'MANIFEST_UNKNOWN');
  const ok = await reg.call('PUT', '/v2/multi/manifests/latest', {
    headers: { 'Content-Type': OCI_INDEX },
    body: index(digest),
  });
  assert.equal(ok.status, 201);
  assert.equal((await reg.call('GET', '/v2/multi/manifests/latest')).header('content-type'), OCI_INDEX);
  const list = 'application/vnd.docker.distribution.manifest.list.v2+json';
  const dockerList = JSON.stringify({
    schemaVersion: 2,
    mediaType: list,
    manifests: [
      { mediaType: SCHEMA2, digest, size: Buffer.byteLength(body), platform: { architecture: 'amd64', os: 'linux' } },
    ],
  });
  assert.equal(
    (await reg.call('PUT', '/v2/multi/manifests/list', { headers: { 'Content-Type': list }, body: dockerList })).status,
    201,
  );
});

test('DELETE of a manifest: by digest it goes with its tags; by tag it is unsupported', async (t) => {
  const reg = await registry(t);
  const { digest } = await pushImage(reg, 'img', 'one');
  await reg.call('PUT', '/v2/img/manifests/two', {
    headers: { 'Content-Type': SCHEMA2 },
    body: (await reg.call('GET', '/v2/img/manifests/one')).body,
  });
  const other = await pushImage(reg, 'img', 'keep', 'y');
  assertError(await reg.call('DELETE', '/v2/img/manifests/one'), 405, 'UNSUPPORTED');
  assert.equal((await reg.call('DELETE', `/v2/img/manifests/${digest}`)).status, 202);
  assertError(await reg.call('GET', '/v2/img/manifests/one'), 404, 'MANIFEST_UNKNOWN');
  assertError(await reg.call('GET', `/v2/img/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
  assert.deepEqual((await reg.call('GET', '/v2/img/tags/list')).json().tags, ['keep']);
  assert.equal((await reg.call('GET', `/v2/img/manifests/${other.digest}`)).status, 200);
  assertError(await reg.call('DELETE', `/v2/img/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
});

test('tags/list and the catalog paginate with n, last and Link', async (t) => {
  const reg = await registry(t);
  const { body } = await pushImage(reg, 'lib/app', 'a');
  for (const tag of ['c', 'b', 'e', 'd']) {
    assert.equal(
      (await reg.call('PUT', `/v2/lib/app/manifests/${tag}`, { headers: { 'Content-Type': SCHEMA2 }, body })).status,
      201,
    );
  }
  const all = await reg.call('GET', '/v2/lib/app/tags/list');
  assert.deepEqual(all.json(), { name: 'lib/app', tags: ['a', 'b', 'c', 'd', 'e'] });
  assert.equal(all.header('link'), undefined);
  const page1 = await reg.call('GET', '/v2/lib/app/tags/list?n=2');
  assert.deepEqual(page1.json().tags, ['a', 'b']);
  assert.equal(page1.header('link'), '</v2/lib/app/tags/list?n=2&last=b>; rel="next"');
  const page2 = await reg.call('GET', '/v2/lib/app/tags/list?n=2&last=b');
  assert.deepEqual(page2.json().tags, ['c', 'd']);
  const page3 = await reg.call('GET', '/v2/lib/app/tags/list?n=2&last=d');
  assert.deepEqual(page3.json().tags, ['e']);
  assert.equal(page3.header('link'), undefined);
  // n=0: an empty page and no Link to a next one (distribution-spec's conformance asks this).
  const none = await reg.call('GET', '/v2/lib/app/tags/list?n=0');
  assert.deepEqual(none.json(), { name: 'lib/app', tags: [] });
  assert.equal(none.header('link'), undefined);
  const noneAfter = await reg.call('GET', '/v2/lib/app/tags/list?n=0&last=b');
  assert.deepEqual(noneAfter.json().tags, []);
  assert.equal(noneAfter.header('link'), undefined);
  const bad = assertError(await reg.call('GET', '/v2/lib/app/tags/list?n=-1'), 400, 'UNSUPPORTED');
  assert.match(bad.message, /invalid number of results requested: "-1"/);
  assertError(await reg.call('GET', '/v2/lib/nothing/tags/list'), 404, 'NAME_UNKNOWN');

  await reg.pushBlob('zz/last', 'z');
  await reg.pushBlob('aa', 'a');
  const catalog = await reg.call('GET', '/v2/_catalog');
  assert.deepEqual(catalog.json(), { repositories: ['aa', 'lib/app', 'zz/last'] });
  const c1 = await reg.call('GET', '/v2/_catalog?n=1');
  assert.deepEqual(c1.json().repositories, ['aa']);
  assert.equal(c1.header('link'), '</v2/_catalog?n=1&last=aa>; rel="next"');
  const c0 = await reg.call('GET', '/v2/_catalog?n=0');
  assert.deepEqual(c0.json(), { repositories: [] });
  assert.equal(c0.header('link'), undefined);
  assert.deepEqual((await reg.call('GET', '/v2/_catalog?n=5&last=aa')).json().repositories, ['lib/app', 'zz/last']);
});

test('bad names and traversal attempts are refused, never followed', async (t) => {
  const reg = await registry(t);
  await reg.pushBlob('good', 'x');
  const digest = digestOf('x');
  for (const name of [
    'Upper',
    '..',
    'a/../good',
    'a/./good',
    '%2e%2e',
    'a%2Fgood',
    '-lead',
    'a//b',
    '_blobs',
    'good/_blobs',
    'a'.repeat(256),
  ]) {
    assertError(await reg.call('GET', `/v2/${name}/blobs/${digest}`), 400, 'NAME_INVALID');
    assertError(await reg.call('GET', `/v2/${name}/tags/list`), 400, 'NAME_INVALID');
    assertError(await reg.call('POST', `/v2/${name}/blobs/uploads/`), 400, 'NAME_INVALID');
  }
  assertError(await reg.call('GET', '/v2/good/blobs/..%2F..%2Fblobs'), 400, 'DIGEST_INVALID');
  assertError(await reg.call('GET', '/v2/good/blobs/uploads/..%2F..%2Fx'), 404, 'BLOB_UPLOAD_UNKNOWN');
  assertError(await reg.call('GET', '/v2/good/manifests/..'), 404, 'MANIFEST_UNKNOWN');
  assertError(await reg.call('GET', '/v2/good/manifests/%zz'), 404, 'MANIFEST_UNKNOWN');
  // A name of 255 characters is fine.
  const long = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
  assert.equal((await reg.call('POST', `/v2/${long}/blobs/uploads/`)).status, 202);
});

test('a chunk cut off mid-body leaves the upload as it was', async (t) => {
  const reg = await registry(t);
  const start = await reg.call('POST', '/v2/r/blobs/uploads/');
  const location = start.header('location')!;
  const uuid = start.header('docker-upload-uuid')!;
  await reg.call('PATCH', location, { body: 'kept' });
  await new Promise<void>((resolve, reject) => {
    const sock = connect(reg.port, '127.0.0.1', () => {
      sock.write(`PATCH ${location} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'y'.repeat(400)}`, () => {
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 100);
      });
    });
    sock.on('error', reject);
  });
  // The server notices and rolls the chunk back.
  let status: Reply | undefined;
  for (let i = 0; i < 50; i++) {
    status = await reg.call('GET', location);
    if ((await stat(join(reg.root, 'uploads', uuid, 'data'))).size === 4) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(status!.header('range'), '0-3');
  assert.equal((await stat(join(reg.root, 'uploads', uuid, 'data'))).size, 4);
  const done = await reg.call('PUT', `${location}?digest=${digestOf('kept!')}`, { body: '!' });
  assert.equal(done.status, 201, `${done.body}`);
  // And the server is still fine.
  assert.equal((await reg.call('GET', '/v2/')).status, 200);
});

test('concurrent pushes of one blob and one tag are safe', async (t) => {
  const reg = await registry(t);
  const data = Buffer.alloc(256 * 1024, 7);
  const digest = digestOf(data);
  const pushes = await Promise.all(
    Array.from({ length: 8 }, () => reg.call('POST', `/v2/r/blobs/uploads/?digest=${digest}`, { body: data })),
  );
  assert.deepEqual(
    pushes.map((p) => p.status),
    Array(8).fill(201),
  );
  assert.ok((await reg.call('GET', `/v2/r/blobs/${digest}`)).body.equals(data));

  const images = await Promise.all(['p', 'q', 'r', 's'].map((seed) => pushImage(reg, 'r', `seed-${seed}`, seed)));
  const puts = await Promise.all(
    images.map((img) =>
      reg.call('PUT', '/v2/r/manifests/race', { headers: { 'Content-Type': SCHEMA2 }, body: img.body }),
    ),
  );
  assert.deepEqual(
    puts.map((p) => p.status),
    [201, 201, 201, 201],
  );
  const winner = await reg.call('GET', '/v2/r/manifests/race');
  assert.equal(winner.status, 200);
  assert.ok(images.some((img) => img.digest === winner.header('docker-content-digest')));
  // Deleting while tagging never leaves a tag on a deleted manifest.
  const [first] = images;
  await Promise.all([
    reg.call('PUT', '/v2/r/manifests/again', { headers: { 'Content-Type': SCHEMA2 }, body: first!.body }),
    reg.call('DELETE', `/v2/r/manifests/${first!.digest}`),
  ]);
  const again = await reg.call('GET', '/v2/r/manifests/again');
  assert.ok(again.status === 200 || again.status === 404);
  if (again.status === 200) assert.equal((await reg.call('GET', `/v2/r/manifests/${first!.digest}`)).status, 200);
});

test('beyond the concurrency cap the registry answers TOOMANYREQUESTS', async (t) => {
  const reg = await registry(t, { server: { maxConcurrentRequests: 1 } });
  const location = (await reg.call('POST', '/v2/r/blobs/uploads/')).header('location')!;
  const sock = connect(reg.port, '127.0.0.1');
  t.after(() => sock.destroy());
  await new Promise<void>((resolve) => sock.on('connect', resolve));
  sock.write(`PATCH ${location} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`);
  await new Promise((r) => setTimeout(r, 100));
  const busy = await reg.call('GET', '/v2/');
  assertError(busy, 429, 'TOOMANYREQUESTS');
  assert.equal(busy.header('retry-after'), '1');
});

test('close cuts off a stalled upload after the grace period and rolls it back', async (t) => {
  const reg = await startTestRegistry();
  let closed = false;
  t.after(() => (closed ? undefined : reg.close()));
  const start = await reg.call('POST', '/v2/r/blobs/uploads/');
  const uuid = start.header('docker-upload-uuid')!;
  const sock = connect(reg.port, '127.0.0.1');
  sock.on('error', () => {});
  await new Promise<void>((resolve) => sock.on('connect', resolve));
  sock.write(`PATCH ${start.header('location')} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n${'z'.repeat(50)}`);
  await new Promise((r) => setTimeout(r, 100));
  const began = Date.now();
  await reg.server.close(200);
  closed = true;
  assert.ok(Date.now() - began < 5000);
  assert.equal((await stat(join(reg.root, 'uploads', uuid, 'data'))).size, 0);
  await reg.close().catch(() => {});
});

test('nasty input is answered, never fatal', async (t) => {
  const reg = await registry(t);
  const put = (body: string) => reg.call('PUT', '/v2/img/manifests/v1', { headers: { 'Content-Type': SCHEMA2 }, body });
  for (const body of [
    'null',
    '"manifest"',
    '42',
    `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    '{"schemaVersion":2,"config":null,"layers":[]}',
    '{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:' + 'a'.repeat(64) + '","size":1e400},"layers":[]}',
    '{"schemaVersion":2,"mediaType":"' +
      SCHEMA2 +
      '","config":{"mediaType":"a","digest":"sha256:' +
      'a'.repeat(64) +
      '","size":1},"layers":"no"}',
    '{"schemaVersion":2,"mediaType":"' + OCI_INDEX + '","manifests":[null]}',
    '\u0000\u0001',
  ]) {
    const r = await put(body);
    assert.equal(r.status, 400, `${body.slice(0, 60)}: ${r.body}`);
    assert.ok(['MANIFEST_INVALID'].includes(r.json().errors[0].code), `${r.body}`);
  }
  // Raw garbage on the socket, a header block too large, odd methods and paths.
  for (const raw of [
    'GARBAGE\r\n\r\n',
    `GET /v2/ HTTP/1.1\r\nX: ${'a'.repeat(70_000)}\r\n\r\n`,
    'BREW /v2/ HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /v2/%00/tags/list HTTP/1.1\r\nHost: x\r\n\r\n',
  ]) {
    await new Promise<void>((resolve) => {
      const sock = connect(reg.port, '127.0.0.1', () => sock.end(raw));
      sock.on('data', () => {});
      sock.on('error', () => resolve());
      sock.on('close', () => resolve());
      setTimeout(() => {
        sock.destroy();
        resolve();
      }, 1000);
    });
  }
  for (const [method, path] of [
    ['OPTIONS', '/v2/img/blobs/uploads/'],
    ['PATCH', '/v2/img/manifests/v1'],
    ['PUT', '/v2/img/blobs/' + digestOf('x')],
    ['GET', '/v2/_catalog?n=abc'],
    ['GET', '/v2/img/blobs/uploads/'],
  ] as const) {
    const r = await reg.call(method, path);
    assert.ok(r.status >= 400 && r.status < 500, `${method} ${path}: ${r.status}`);
  }
  assert.equal((await reg.call('GET', '/v2/')).status, 200);
});

test('the referrers API lists manifests whose subject is a manifest, filtered by artifact type', async (t) => {
  const reg = await registry(t);
  const image = await pushImage(reg, 'app', 'v1');
  const empty = await reg.pushBlob('app', '{}');
  const artifact = (type: string, note: string) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: type,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
      layers: [],
      subject: { mediaType: SCHEMA2, digest: image.digest, size: Buffer.byteLength(image.body) },
      annotations: { note },
    });
  const sbom = artifact('application/spdx+json', 'sbom');
  const sig = artifact('application/vnd.dev.cosign.artifact.sig.v1+json', 'sig');
  for (const body of [sbom, sig]) {
    const r = await reg.call('PUT', `/v2/app/manifests/${digestOf(body)}`, {
      headers: { 'Content-Type': OCI_MANIFEST },
      body,
    });
    assert.equal(r.status, 201, `${r.body}`);
    assert.equal(r.header('oci-subject'), image.digest);
  }
  const all = await reg.call('GET', `/v2/app/referrers/${image.digest}`);
  assert.equal(all.status, 200);
  assert.equal(all.header('content-type'), OCI_INDEX);
  const index = all.json();
  assert.equal(index.mediaType, OCI_INDEX);
  assert.deepEqual(index.manifests.map((m: any) => m.digest).sort(), [digestOf(sbom), digestOf(sig)].sort());
  assert.deepEqual(
    index.manifests.find((m: any) => m.digest === digestOf(sbom)),
    {
      mediaType: OCI_MANIFEST,
      digest: digestOf(sbom),
      size: sbom.length,
      artifactType: 'application/spdx+json',
      annotations: { note: 'sbom' },
    },
  );
  const filtered = await reg.call('GET', `/v2/app/referrers/${image.digest}?artifactType=application/spdx%2Bjson`);
  assert.equal(filtered.header('oci-filters-applied'), 'artifactType');
  assert.deepEqual(
    filtered.json().manifests.map((m: any) => m.digest),
    [digestOf(sbom)],
  );
  // Deleting a referrer takes it out of the list; an unknown subject has an empty list.
  assert.equal((await reg.call('DELETE', `/v2/app/manifests/${digestOf(sig)}`)).status, 202);
  assert.deepEqual(
    (await reg.call('GET', `/v2/app/referrers/${image.digest}`)).json().manifests.map((m: any) => m.digest),
    [digestOf(sbom)],
  );
  assert.deepEqual((await reg.call('GET', `/v2/app/referrers/${digestOf('none')}`)).json().manifests, []);
  assertError(await reg.call('GET', '/v2/app/referrers/latest'), 400, 'DIGEST_INVALID');
});

test('sha512 digests: blobs pushed whole or in chunks, a manifest by its sha512 digest, and mismatches refused', async (t) => {
  const reg = await registry(t);
  const sha512 = (data: string) => `sha512:${createHash('sha512').update(data).digest('hex')}`;
  const layer = 'a layer hashed with sha512';
  const whole = await reg.call('POST', `/v2/r/blobs/uploads/?digest=${sha512(layer)}`, { body: layer });
  assert.equal(whole.status, 201);
  assert.equal(whole.header('docker-content-digest'), sha512(layer));
  const got = await reg.call('GET', `/v2/r/blobs/${sha512(layer)}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.toString(), layer);
  assert.equal(got.header('docker-content-digest'), sha512(layer));

  const config = '{"config":{}}';
  const location = (await reg.call('POST', '/v2/r/blobs/uploads/')).header('location')!;
  const patch = await reg.call('PATCH', location, {
    body: config.slice(0, 5),
    headers: { 'Content-Range': '0-4', 'Content-Type': 'application/octet-stream' },
  });
  assert.equal(patch.status, 202);
  const wrong = await reg.call('PUT', `${patch.header('location')}?digest=${sha512('something else')}`, {
    body: config.slice(5),
  });
  assertError(wrong, 400, 'DIGEST_INVALID');
  const again = (await reg.call('POST', '/v2/r/blobs/uploads/')).header('location')!;
  const done = await reg.call('PUT', `${again}?digest=${sha512(config)}`, { body: config });
  assert.equal(done.status, 201);

  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha512(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha512(layer), size: layer.length }],
  });
  const put = await reg.call('PUT', `/v2/r/manifests/${sha512(manifest)}`, {
    body: manifest,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(put.status, 201, put.body.toString());
  assert.equal(put.header('docker-content-digest'), sha512(manifest));
  const back = await reg.call('GET', `/v2/r/manifests/${sha512(manifest)}`);
  assert.equal(back.body.toString(), manifest);
  const tampered = manifest.replace('tar"', 'tar" ');
  assertError(
    await reg.call('PUT', `/v2/r/manifests/${sha512(manifest)}`, {
      body: tampered,
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    }),
    400,
    'DIGEST_INVALID',
  );
  assert.deepEqual((await readdir(join(reg.root, 'blobs', 'sha512'))).length, 3);
});
