import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { constants, zstdCompressSync } from 'node:zlib';
import { decompressed, detectCompression } from './compression.ts';
import { zstdDecompress } from './zstd.ts';

/** Feeds `data` in uneven pieces, some of them splitting headers, as a socket would. */
const pieces = (data: Buffer) =>
  Readable.from(
    (function* () {
      for (let at = 0, i = 0; at < data.length; i++) {
        const n = [1, 2, 3, 5, 7000, 65536, 131072][i % 7]!;
        yield data.subarray(at, at + n);
        at += n;
      }
    })(),
  );

const zstd = (b: Buffer, checksum = true) =>
  zstdCompressSync(b, { params: { [constants.ZSTD_c_checksumFlag]: checksum ? 1 : 0 } });

/** A skippable frame as pzstd writes one before each frame (its payload: the frame's size). */
function skippable(payload: Buffer, nibble = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50 + nibble, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

const decode = (data: Buffer) => buffer(pieces(data).pipe(zstdDecompress()));

test('zstd: every frame of a multi-frame stream is decoded, in order', async () => {
  const parts = [randomBytes(300_000), Buffer.alloc(2 << 20, 'text '), Buffer.from('tail\n')];
  const stream = Buffer.concat(parts.map((p, i) => zstd(p, i !== 1)));
  assert.deepEqual(await decode(stream), Buffer.concat(parts));
  // The layer reader too: this is what pull, load and import read layers with.
  assert.deepEqual(await buffer(decompressed(pieces(stream))), Buffer.concat(parts));
});

test('zstd: skippable frames (first, between, last) are skipped, as pzstd writes them', async () => {
  const a = randomBytes(100_000);
  const b = Buffer.alloc(500_000, 'b');
  const fa = zstd(a);
  const fb = zstd(b);
  const size = (f: Buffer) => Buffer.from(Uint32Array.of(f.length).buffer);
  const stream = Buffer.concat([skippable(size(fa)), fa, skippable(size(fb), 0xf), fb, skippable(Buffer.alloc(0), 3)]);
  assert.equal(detectCompression(stream), 'zstd', 'a stream starting with a skippable frame is zstd');
  assert.deepEqual(await decode(stream), Buffer.concat([a, b]));
  assert.deepEqual(await buffer(decompressed(pieces(stream))), Buffer.concat([a, b]));
});

test('zstd: a stream cut off anywhere, or followed by garbage, fails: nothing is dropped unnoticed', async () => {
  const frames = [zstd(randomBytes(50_000)), zstd(Buffer.alloc(80_000, 'x')), zstd(randomBytes(10))];
  const whole = Buffer.concat(frames);
  const first = frames[0]!.length;
  for (const cut of [first - 1, first + 2, first + 7, whole.length - 3]) {
    await assert.rejects(decode(whole.subarray(0, cut)), /invalid zstd data|unexpected end/, `cut at ${cut}`);
  }
  await assert.rejects(decode(Buffer.concat([whole, Buffer.from('garbage!')])), /no frame starts at byte/);
  await assert.rejects(decode(Buffer.concat([whole, Buffer.from([0x28, 0xb5])])), /ends inside a frame header/);
  await assert.rejects(
    buffer(decompressed(pieces(whole.subarray(0, first + 5)))),
    (e: Error & { category?: string }) => e.category === 'InvalidArgument',
  );
});

test('zstd: corrupt data in a later frame fails the stream', async () => {
  const second = zstd(randomBytes(100_000), true);
  second[second.length - 2]! ^= 0xff; // its checksum
  await assert.rejects(decode(Buffer.concat([zstd(Buffer.from('ok')), second])));
});

test('zstd: a consumer that stops reading early leaves nothing hanging', async () => {
  const stream = Buffer.concat([zstd(randomBytes(1 << 20)), zstd(randomBytes(1 << 20))]);
  const out = pieces(stream).pipe(zstdDecompress({ chunkSize: 64 * 1024 }));
  for await (const _ of out) break;
  assert.ok(out.destroyed);
});

test('zstd: empty frames and empty content decode to nothing', async () => {
  assert.deepEqual(await decode(Buffer.concat([zstd(Buffer.alloc(0)), zstd(Buffer.alloc(0))])), Buffer.alloc(0));
  await assert.rejects(decode(skippable(Buffer.from('only'))), /no frame in the stream/);
});
