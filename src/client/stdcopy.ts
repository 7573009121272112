/**
 * Docker's multiplexed stream ("stdcopy"): without a TTY, attach, logs and exec output come as
 * frames of an 8-byte header `[stream, 0, 0, 0, size as uint32 big-endian]` and `size` bytes of
 * payload. Stream 0 is stdin, 1 stdout, 2 stderr, 3 a daemon error that ends the stream.
 * With a TTY the stream is raw bytes and must not go through here.
 */
import { ApiError } from './errors.ts';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

export interface Frame {
  stream: 0 | 1 | 2;
  data: Buffer;
}

/** Writes a frame (what a daemon sends; tests and fakes use it). */
export function encodeFrame(stream: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/**
 * Splits a multiplexed byte stream into frames; frames may arrive cut at any byte. A stream-3
 * frame raises its text as an error; a stream that ends inside a frame yields what it has.
 */
export async function* demux(src: AsyncIterable<Buffer | string>): AsyncGenerator<Frame> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of src) {
    const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    let off = 0;
    while (buf.length - off >= 8) {
      const stream = buf[off]!;
      const size = buf.readUInt32BE(off + 4);
      if (buf.length - off < 8 + size) break;
      const data = buf.subarray(off + 8, off + 8 + size);
      off += 8 + size;
      if (stream === SYSTEMERR) throw new ApiError(500, data.toString());
      if (stream > SYSTEMERR) throw new Error(`unrecognized input header: ${stream}`);
      yield { stream: stream as 0 | 1 | 2, data };
    }
    buf = off ? buf.subarray(off) : buf;
  }
}

export interface Sink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', fn: () => void): unknown;
}

/**
 * Copies a multiplexed stream to stdout and stderr sinks, honouring their back-pressure.
 * Returns the bytes written to each.
 */
export async function demuxTo(
  src: AsyncIterable<Buffer | string>,
  stdout: Sink | null,
  stderr: Sink | null,
): Promise<{ stdout: number; stderr: number }> {
  const n = { stdout: 0, stderr: 0 };
  for await (const f of demux(src)) {
    const sink = f.stream === STDERR ? stderr : stdout;
    if (f.stream === STDERR) n.stderr += f.data.length;
    else n.stdout += f.data.length;
    if (sink && !sink.write(f.data)) await new Promise<void>((r) => sink.once('drain', r));
  }
  return n;
}
