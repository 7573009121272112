import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { invalidArgument } from '../errdefs/index.ts';

/** Default cap on one layer's uncompressed size: stops decompression bombs. */
export const DEFAULT_MAX_LAYER_BYTES = 64 * 1024 ** 3;

/**
 * The uncompressed bytes of `source`: gzip and zstd are recognised by their magic numbers,
 * anything else passes through. More than `maxBytes` of output fails the stream.
 */
export function decompressed(source: Readable, maxBytes = DEFAULT_MAX_LAYER_BYTES): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let total = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _e, cb) {
      total += chunk.length;
      if (total > maxBytes) cb(invalidArgument(`uncompressed size exceeds the limit of ${maxBytes} bytes`));
      else cb(null, chunk);
    },
  });
  (async () => {
    const iter = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first: Buffer[] = [];
    let n = 0;
    while (n < 4) {
      const r = await iter.next();
      if (r.done) break;
      first.push(r.value);
      n += r.value.length;
    }
    const head = Buffer.concat(first);
    const rest = Readable.from((async function* () {
      if (head.length) yield head;
      for (;;) {
        const r = await iter.next();
        if (r.done) return;
        yield r.value;
      }
    })());
    const stage = head[0] === 0x1f && head[1] === 0x8b ? createGunzip()
      : head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528 ? createZstdDecompress()
      : new PassThrough();
    await pipeline(rest, stage, limit, out);
  })().catch((e) => out.destroy(e));
  return out;
}
