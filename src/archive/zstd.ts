/**
 * zstd decompression of whole streams, frame by frame.
 *
 * A zstd stream is a sequence of frames (RFC 8878 §3.1): what `pzstd` and `zstd -T0 --rsyncable`
 * write, what concatenated files are, and any of them may start with or contain skippable
 * frames (pzstd puts one before each frame). Node's zstd decoder decodes the first frame and
 * silently drops everything after it (nodejs#64741), and refuses a stream that starts with a
 * skippable frame. So this module walks the frame structure itself — headers and block headers
 * only, never the compressed data — feeds each frame to a fresh Node decoder, skips skippable
 * frames, and accounts for every input byte: the stream must end exactly where a frame ends,
 * and a frame whose header declares its content size must decode to exactly that many bytes.
 * Nothing is dropped or cut off without an error.
 *
 *     const plain = Readable.from(file).pipe(zstdDecompress());
 */
import { Duplex, Readable } from 'node:stream';
import { createZstdDecompress } from 'node:zlib';
import { invalidArgument } from '../errdefs/index.ts';

const FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames: 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** A block never holds more than 128 KiB (RFC 8878 §3.1.1.2.4). */
const MAX_BLOCK = 128 * 1024;

/** Does a stream starting with these bytes look like zstd (a frame or a skippable frame)? */
export function isZstdMagic(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const magic = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  return magic === FRAME_MAGIC || (magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC;
}

/** A piece of a frame's bytes, as found in one input chunk. */
interface Segment {
  /** The frame's number (1, 2, ...). */
  frame: number;
  data: Buffer;
  /** The last piece of its frame. */
  end: boolean;
  /** On the last piece: the content size the frame's header declares, if it does. */
  declared?: bigint;
}

type State = 'magic' | 'skipLength' | 'skip' | 'descriptor' | 'header' | 'blockHeader' | 'block' | 'checksum';

/**
 * Finds the frames of a zstd stream from their headers and block headers (RFC 8878 §3.1.1),
 * chunk by chunk, without copying: each chunk comes back as the pieces of it that belong to
 * frames (skippable frames left out). Headers may be split across chunks anywhere.
 */
export class FrameScanner {
  private state: State = 'magic';
  /** Header bytes gathered so far, and how many the current state needs. */
  private head: number[] = [];
  private want = 4;
  /** Bytes left of a skippable frame or of a block's content. */
  private left = 0;
  private lastBlock = false;
  private checksum = false;
  private fcsBytes = 0;
  /** The content size the current frame's header declares, if it does. */
  private declared: bigint | undefined;
  frames = 0;
  /** Bytes of input seen. */
  offset = 0;

  feed(chunk: Buffer): Segment[] {
    const out: Segment[] = [];
    let i = 0;
    /** Where the current frame's data in this chunk starts (-1: not in a frame). */
    let from = this.inFrame() ? 0 : -1;
    const endFrame = () => {
      out.push({ frame: this.frames, data: chunk.subarray(from, i), end: true, declared: this.declared });
      from = -1;
      this.state = 'magic';
      this.want = 4;
    };
    while (i < chunk.length) {
      if (this.state === 'skip' || this.state === 'block') {
        const n = Math.min(this.left, chunk.length - i);
        i += n;
        this.left -= n;
        if (this.left > 0) break;
        if (this.state === 'skip') {
          this.state = 'magic';
          this.want = 4;
        } else this.afterBlock(endFrame);
        continue;
      }
      this.head.push(chunk[i++]!);
      if (this.head.length < this.want) continue;
      const h = Buffer.from(this.head);
      this.head = [];
      switch (this.state) {
        case 'magic': {
          const magic = h.readUInt32LE(0);
          if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
            this.state = 'skipLength';
            this.want = 4;
            break;
          }
          if (magic !== FRAME_MAGIC)
            throw invalidArgument(
              `invalid zstd data: no frame starts at byte ${this.offset + i - 4} (magic 0x${magic.toString(16).padStart(8, '0')})`,
            );
          this.frames++;
          this.declared = undefined;
          // The magic number may have begun in an earlier chunk: it goes to the decoder on its own.
          out.push({ frame: this.frames, data: h, end: false });
          from = i;
          this.state = 'descriptor';
          this.want = 1;
          break;
        }
        case 'skipLength':
          this.left = h.readUInt32LE(0);
          this.state = 'skip';
          if (this.left === 0) {
            this.state = 'magic';
            this.want = 4;
          }
          break;
        case 'descriptor': {
          const layout = frameHeaderLayout(h[0]!);
          this.checksum = layout.checksum;
          this.fcsBytes = layout.fcsBytes;
          this.state = 'header';
          this.want = layout.rest;
          if (this.want === 0) {
            this.state = 'blockHeader';
            this.want = 3;
          }
          break;
        }
        case 'header':
          if (this.fcsBytes) this.declared = contentSize(h.subarray(h.length - this.fcsBytes));
          this.state = 'blockHeader';
          this.want = 3;
          break;
        case 'blockHeader': {
          const v = h[0]! | (h[1]! << 8) | (h[2]! << 16);
          const type = (v >> 1) & 3;
          const size = v >>> 3;
          if (type === 3) throw invalidArgument(`invalid zstd data: frame ${this.frames}: reserved block type`);
          if (size > MAX_BLOCK)
            throw invalidArgument(`invalid zstd data: frame ${this.frames}: a block of ${size} bytes`);
          this.lastBlock = (v & 1) === 1;
          // An RLE block is one byte, repeated `size` times.
          this.left = type === 1 ? 1 : size;
          this.state = 'block';
          if (this.left === 0) this.afterBlock(endFrame);
          break;
        }
        case 'checksum':
          endFrame();
          break;
      }
    }
    if (from >= 0 && i > from) out.push({ frame: this.frames, data: chunk.subarray(from, i), end: false });
    this.offset += chunk.length;
    return out;
  }

  /** Throws unless the input ended where a frame (or skippable frame) ends. */
  finish(): void {
    if (this.state !== 'magic' || this.head.length)
      throw invalidArgument(
        `invalid zstd data: the stream ends inside ${this.inFrame() ? `frame ${this.frames}` : 'a frame header'} (at byte ${this.offset})`,
      );
    if (this.frames === 0) throw invalidArgument('invalid zstd data: no frame in the stream');
  }

  private inFrame(): boolean {
    return this.state !== 'magic' && this.state !== 'skipLength' && this.state !== 'skip';
  }

  private afterBlock(endFrame: () => void): void {
    if (!this.lastBlock) {
      this.state = 'blockHeader';
      this.want = 3;
    } else if (this.checksum) {
      this.state = 'checksum';
      this.want = 4;
    } else endFrame();
  }
}

/** The size of a frame header after its descriptor byte, and its declared content size. */
export function frameHeaderLayout(descriptor: number): { rest: number; fcsBytes: number; checksum: boolean } {
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  if ((descriptor >> 3) & 1) throw invalidArgument('invalid zstd data: reserved bit set in a frame header');
  const checksum = ((descriptor >> 2) & 1) === 1;
  const didBytes = [0, 1, 2, 4][descriptor & 3]!;
  const fcsBytes = fcsFlag === 0 ? singleSegment : [0, 2, 4, 8][fcsFlag]!;
  return { rest: (singleSegment ? 0 : 1) + didBytes + fcsBytes, fcsBytes, checksum };
}

function contentSize(field: Buffer): bigint {
  if (field.length === 1) return BigInt(field[0]!);
  if (field.length === 2) return BigInt(field.readUInt16LE(0) + 256);
  if (field.length === 4) return BigInt(field.readUInt32LE(0));
  return field.readBigUInt64LE(0);
}

/**
 * A Duplex that takes a zstd stream of any number of frames and gives its content.
 * Corrupt or truncated input fails it with InvalidArgument.
 */
export function zstdDecompress(o: { chunkSize?: number } = {}): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<Buffer | string>) {
    const scanner = new FrameScanner();
    const it = source[Symbol.asyncIterator]();
    let queue: Segment[] = [];
    const next = async (): Promise<Segment | undefined> => {
      while (queue.length === 0) {
        const r = await it.next();
        if (r.done) return undefined;
        queue = scanner.feed(typeof r.value === 'string' ? Buffer.from(r.value) : r.value);
      }
      return queue.shift();
    };
    try {
      for (let first = await next(); first; first = await next()) {
        yield* decodeFrame(first, next, o.chunkSize);
      }
      scanner.finish();
    } finally {
      await it.return?.();
    }
  });
}

/** One frame's pieces, from `first` until the one marked `end`, through a decoder of its own. */
async function* decodeFrame(
  first: Segment,
  next: () => Promise<Segment | undefined>,
  chunkSize?: number,
): AsyncGenerator<Buffer> {
  const decoder = createZstdDecompress(chunkSize ? { chunkSize } : {});
  // Its errors reach the loop below through the iterator; a late one must not go unheard.
  decoder.on('error', () => {});
  let declared: bigint | undefined;
  // Feeding runs beside the reading below; a failure in it ends the decoder's output with it.
  const feeding = (async () => {
    for (let seg: Segment | undefined = first; ;) {
      if (seg.data.length && !decoder.write(seg.data)) await waitDrain(decoder);
      if (seg.end) {
        declared = seg.declared;
        break;
      }
      seg = await next();
      // The stream ended inside the frame: the scanner says where when it finishes.
      if (!seg) break;
    }
    decoder.end();
  })().catch((e: unknown) => {
    decoder.destroy(e as Error);
  });
  let produced = 0n;
  let whole = false;
  try {
    for await (const chunk of decoder as Readable) {
      produced += BigInt((chunk as Buffer).length);
      yield chunk as Buffer;
    }
    whole = true;
  } finally {
    // A consumer that stopped early, or a decoder that failed: the feeding stops at its next write.
    if (!whole) decoder.destroy();
  }
  await feeding;
  if (declared !== undefined && produced !== declared)
    throw invalidArgument(
      `invalid zstd data: frame ${first.frame} decoded to ${produced} bytes, its header says ${declared}`,
    );
}
function waitDrain(s: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      s.off('drain', done).off('close', done).off('error', fail);
      resolve();
    };
    const fail = (e: unknown) => {
      s.off('drain', done).off('close', done).off('error', fail);
      reject(e);
    };
    s.on('drain', done).on('close', done).on('error', fail);
  });
}
