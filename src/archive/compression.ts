/**
 * Decompression of layer and archive streams, recognised by magic number, with a cap on the
 * uncompressed size so that a small compressed blob cannot fill the disk (a zstd frame of a
 * few hundred bytes can expand to many megabytes).
 */
import { Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { constants as zlibConstants, createGunzip, createZstdCompress, gzip } from 'node:zlib';
import { BerthError, invalidArgument, notImplemented } from '../errdefs/index.ts';
import { isZstdMagic, zstdDecompress } from './zstd.ts';

/** Output chunk of the gzip and zstd stages. */
const DECOMPRESS_CHUNK = 512 * 1024;

/** Default cap on one layer's uncompressed size: stops decompression bombs. */
export const DEFAULT_MAX_LAYER_BYTES = 64 * 1024 ** 3;

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

/** The compression of a stream from its first bytes (6 are enough). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  // A zstd frame, or a skippable frame (pzstd starts every file with one).
  if (isZstdMagic(head)) return 'zstd';
  if (
    head.length >= 6 &&
    head[0] === 0xfd &&
    head[1] === 0x37 &&
    head[2] === 0x7a &&
    head[3] === 0x58 &&
    head[4] === 0x5a &&
    head[5] === 0x00
  )
    return 'xz';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  return 'none';
}

/**
 * Does this prefix (the first 262 bytes or fewer) start a tar archive, plain or compressed?
 * What `ADD` unpacks and what `docker build -` takes as a context rather than a Dockerfile.
 */
export function looksLikeArchive(head: Uint8Array): boolean {
  if (detectCompression(head) !== 'none') return true;
  return head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar';
}

const SNIFF_BYTES = 6;

/**
 * The uncompressed bytes of `source`: gzip and zstd are decompressed, anything else passes
 * through as it is. Output beyond `maxBytes` fails the stream with InvalidArgument; corrupt
 * compressed data fails it with InvalidArgument too. `onData` sees every uncompressed chunk
 * (for hashing) before the consumer does. Destroying the result destroys `source`.
 */
export function decompressed(
  source: Readable,
  maxBytes = DEFAULT_MAX_LAYER_BYTES,
  onData?: (chunk: Buffer) => void,
): Readable {
  let total = 0;
  let started = false;
  const out = new Transform({
    highWaterMark: 1 << 20,
    // Starts on the first read: an error (an xz source, say) must not be emitted before the
    // consumer has had a chance to listen for it.
    read(n) {
      if (!started) {
        started = true;
        start();
      }
      Transform.prototype._read.call(this, n);
    },
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total > maxBytes) {
        cb(invalidArgument(`uncompressed size exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      onData?.(chunk);
      cb(null, chunk);
    },
  });
  const start = () =>
    void (async () => {
      const { head, stream } = await sniff(source, SNIFF_BYTES);
      const kind = detectCompression(head);
      if (kind === 'xz' || kind === 'bzip2')
        throw notImplemented(`${kind} compressed archives are not supported: use gzip or zstd`);
      if (kind === 'none') {
        stream.on('error', (e) => out.destroy(e));
        out.on('close', () => stream.destroy());
        stream.pipe(out);
        return;
      }
      // Large output chunks: per-chunk overhead, not inflate, dominated a layer of 16–64 KiB chunks
      // (a 64 MiB layer: 440 ms → 170 ms with 1 MiB).
      const stage =
        kind === 'gzip'
          ? createGunzip({ chunkSize: DECOMPRESS_CHUNK })
          : zstdDecompress({ chunkSize: DECOMPRESS_CHUNK });
      let stageError: unknown;
      stage.once('error', (e) => (stageError = e));
      // The consumer going away stops the decompressor and the source with it.
      out.once('close', () => {
        if (!out.writableFinished) stage.destroy();
      });
      stage.pipe(out);
      try {
        // The stage's output too: a decoder may fail after it took all its input.
        await Promise.all([pipeline(stream, stage), finished(stage, { writable: false })]);
      } catch (e) {
        if (e === stageError && !(e instanceof BerthError))
          throw invalidArgument(`invalid ${kind} data: ${(e as Error).message}`, e);
        throw e;
      }
    })().catch((e) => out.destroy(e));
  // A consumer that goes away before reading leaves nothing open.
  out.once('close', () => {
    if (!started) source.destroy();
  });
  return out;
}

/**
 * Reads at least `n` bytes (or all there is) from `source` without losing them: the result's
 * `stream` yields the same bytes `source` would have.
 */
export async function sniff(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const c = source.read() as Buffer | string | null;
    if (c !== null) {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      chunks.push(b);
      len += b.length;
      continue;
    }
    if (source.readableEnded || source.destroyed) break;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        source.off('readable', done).off('end', done).off('close', done).off('error', fail);
        resolve();
      };
      const fail = (e: unknown) => {
        source.off('readable', done).off('end', done).off('close', done).off('error', fail);
        reject(e);
      };
      source.on('readable', done).on('end', done).on('close', done).on('error', fail);
    });
  }
  if (source.errored) throw source.errored;
  const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  if (source.readableEnded || source.destroyed)
    return { head, stream: Readable.from(head.length ? [head] : [], { objectMode: false }) };
  if (head.length) source.unshift(head);
  return { head, stream: source };
}

// Made on first use: promisify reads zlib's gzip, which would load zlib in every process that
// imports this module — the CLI's, for every command, most of which compress nothing.
let gzipAsync: ((b: Buffer, o: { level: number }) => Promise<Buffer>) | undefined;

/**
 * gzip on every core: the input is cut into pieces of `chunkBytes`, each compressed on its own
 * (zlib runs in Node's thread pool) into a gzip member of its own, and the members come out in
 * order. A file of concatenated members is one valid gzip stream (RFC 1952; Go's, Node's and
 * zlib's readers take it whole), and on the two cores here it compresses a layer about twice as
 * fast as one deflate stream; the cost is some 20 bytes and a reset dictionary per piece.
 */
export function parallelGzip(o: { chunkBytes?: number; concurrency?: number; level?: number } = {}): Transform {
  const chunkBytes = o.chunkBytes ?? 1 << 20;
  const concurrency = Math.max(1, o.concurrency ?? availableParallelism());
  const level = o.level ?? zlibConstants.Z_DEFAULT_COMPRESSION;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Compressions in flight, oldest first: output is pushed strictly in this order. */
  const inFlight: Array<Promise<Buffer>> = [];
  let t: Transform;
  const compress = (piece: Buffer) => {
    gzipAsync ??= promisify(gzip) as (b: Buffer, o: { level: number }) => Promise<Buffer>;
    const member = gzipAsync(piece, { level });
    // Awaited in order later; a failure meanwhile must not count as unhandled.
    member.catch(() => {});
    inFlight.push(member);
  };
  const cut = () => {
    while (pendingBytes >= chunkBytes) {
      const all = Buffer.concat(pending);
      compress(all.subarray(0, chunkBytes));
      pending = [all.subarray(chunkBytes)];
      pendingBytes = all.length - chunkBytes;
    }
  };
  /** Emits finished members in order until fewer than `keep` are in flight. */
  const drain = async (keep: number) => {
    while (inFlight.length > keep) t.push(await inFlight.shift()!);
  };
  t = new Transform({
    transform(c: Buffer, _e, cb) {
      pending.push(c);
      pendingBytes += c.length;
      cut();
      drain(concurrency - 1).then(() => cb(), cb);
    },
    flush(cb) {
      if (pendingBytes > 0 || inFlight.length === 0) compress(Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
      drain(0).then(() => cb(), cb);
    },
  });
  return t;
}

/** What a layer can be compressed with for a registry (`push --compression`, `save --compression`). */
export type LayerCompression = 'gzip' | 'zstd';

/** zstd's level when none is asked for (containerd's and BuildKit's default). */
export const ZSTD_DEFAULT_LEVEL = 3;

/**
 * A compressor for layers: gzip on every core (`parallelGzip`), or zstd as one frame (Node's
 * zstd is fast enough on one core, and one frame is what every reader, Node's included, takes).
 */
export function compressor(kind: LayerCompression, level?: number): Transform {
  if (kind === 'gzip') return parallelGzip(level === undefined ? {} : { level });
  return createZstdCompress({
    chunkSize: DECOMPRESS_CHUNK,
    params: {
      [zlibConstants.ZSTD_c_compressionLevel]: level ?? ZSTD_DEFAULT_LEVEL,
      [zlibConstants.ZSTD_c_checksumFlag]: 1,
    },
  });
}

/** `gzip`, `gzip:9`, `zstd`, `zstd:19` (what `push --compression` and `save --compression` take). */
export function parseLayerCompression(s: string): { kind: LayerCompression; level?: number } {
  const m = /^(gzip|zstd)(?::(-?\d+))?$/.exec(s.trim());
  if (!m) throw invalidArgument(`invalid compression "${s}": use gzip or zstd, with an optional level (zstd:19)`);
  const kind = m[1] as LayerCompression;
  if (m[2] === undefined) return { kind };
  const level = Number(m[2]);
  const [lo, hi] = kind === 'gzip' ? [1, 9] : [1, 22];
  if (level < lo || level > hi) throw invalidArgument(`invalid compression "${s}": a ${kind} level is ${lo} to ${hi}`);
  return { kind, level };
}
