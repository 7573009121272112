import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { decompressed, parallelGzip } from './compression.ts';

/** Feeds `data` in uneven pieces, as a file read would. */
const source = (data: Buffer) =>
  Readable.from(
    (function* () {
      for (let at = 0; at < data.length;) {
        const n = 1 + ((at * 7919) % 300_000);
        yield data.subarray(at, at + n);
        at += n;
      }
    })(),
  );

test('parallel gzip: one valid gzip stream, in order, that every reader takes whole', async () => {
  const data = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(2 << 20, 'compressible text '), randomBytes(12345)]);
  const gz = await buffer(source(data).pipe(parallelGzip({ chunkBytes: 256 * 1024, concurrency: 3 })));
  assert.ok(gz.length < data.length, 'the compressible part was compressed');
  assert.deepEqual(gunzipSync(gz), data, 'zlib reads every member');
  assert.deepEqual(await buffer(decompressed(Readable.from([gz]))), data, 'and so does the layer reader');
});

test('parallel gzip: empty input is an empty gzip, a short one a single member', async () => {
  assert.deepEqual(gunzipSync(await buffer(Readable.from([]).pipe(parallelGzip()))), Buffer.alloc(0));
  const small = Buffer.from('hello');
  assert.deepEqual(gunzipSync(await buffer(Readable.from([small]).pipe(parallelGzip()))), small);
});

test('parallel gzip: an input error ends the output with it', async () => {
  const failing = new Transform({
    transform(_c, _e, cb) {
      cb(new Error('disk gone'));
    },
  });
  const out = failing.pipe(parallelGzip());
  failing.on('error', (e) => out.destroy(e));
  failing.write(Buffer.alloc(10));
  await assert.rejects(buffer(out), /disk gone/);
});
