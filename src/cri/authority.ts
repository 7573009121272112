/**
 * Why this exists: kubelet and crictl up to Kubernetes 1.30 dial the CRI socket by its bare
 * path, and their grpc-go then sends that path (`/run/berth/cri.sock`) as the HTTP/2
 * `:authority` of every call. nghttp2, under Node's http2 and so under grpc-js, refuses an
 * authority with a `/` in it and resets the stream (PROTOCOL_ERROR) before grpc-js sees it;
 * Node offers no switch to relax that check (containerd and CRI-O, in Go, never look).
 * Kubernetes fixed its side in 1.31 (`localhost`, kubernetes#123463); Berth must serve 1.26.
 *
 * So each connection on the CRI socket passes through `AuthorityRewriter`, a Duplex that reads
 * the client's HTTP/2 frames and hands grpc-js the same connection with each request's header
 * block re-encoded: an `:authority` outside the characters nghttp2 accepts becomes `localhost`.
 * Everything else passes unchanged: the server's frames, and the client's other frames byte for
 * byte. Header blocks are decoded with the client's HPACK state (hpack.js) and written back as
 * literals that never touch the server's dynamic table, so the two HPACK contexts stay in step.
 *
 *   net.createServer((sock) => injector.injectConnection(new AuthorityRewriter(sock)))
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import hpack from 'hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
/** Every HTTP/2 peer accepts frames this large (SETTINGS_MAX_FRAME_SIZE's floor). */
const MAX_FRAME = 16_384;
/** The HPACK table size Node's http2 advertises (SETTINGS_HEADER_TABLE_SIZE's default). */
const TABLE_SIZE = 4096;
/** RFC 3986 authority characters, as nghttp2 checks them. */
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~%!$&'()*+,;=:@[\]]*$/;
/** A header block bigger than this is refused: no CRI request comes near it. */
const MAX_BLOCK = 1 << 20;

export interface HeaderField {
  name: string;
  value: string;
}

/** HPACK's integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(first: number, prefixBits: number, n: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (n < max) {
    out.push(first | n);
    return;
  }
  out.push(first | max);
  n -= max;
  while (n >= 128) {
    out.push((n % 128) + 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/** Fields as "literal without indexing, new name", plain strings: no dynamic table, no Huffman. */
export function encodeLiterals(fields: readonly HeaderField[]): Buffer {
  const out: number[] = [];
  for (const f of fields) {
    const name = Buffer.from(f.name, 'latin1');
    const value = Buffer.from(f.value, 'latin1');
    out.push(0x00);
    hpackInt(0, 7, name.length, out);
    for (const b of name) out.push(b);
    hpackInt(0, 7, value.length, out);
    for (const b of value) out.push(b);
  }
  return Buffer.from(out);
}

/** The client's header fields with an authority nghttp2 would refuse replaced. */
export function fixAuthority(fields: readonly HeaderField[]): HeaderField[] {
  return fields.map((f) =>
    f.name === ':authority' && !VALID_AUTHORITY.test(f.value) ? { ...f, value: 'localhost' } : f,
  );
}

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return h;
}

/** A header block as HEADERS (+ CONTINUATION) frames no bigger than every peer accepts. */
export function headerFrames(stream: number, flags: number, priority: Buffer | undefined, block: Buffer): Buffer {
  const parts: Buffer[] = [];
  const head = priority ? Buffer.concat([priority, block.subarray(0, MAX_FRAME - 5)]) : block.subarray(0, MAX_FRAME);
  let rest = block.subarray(head.length - (priority ? 5 : 0));
  const first = (flags & END_STREAM) | (priority ? PRIORITY : 0) | (rest.length ? 0 : END_HEADERS);
  parts.push(frameHeader(head.length, HEADERS, first, stream), head);
  while (rest.length) {
    const chunk = rest.subarray(0, MAX_FRAME);
    rest = rest.subarray(chunk.length);
    parts.push(frameHeader(chunk.length, CONTINUATION, rest.length ? 0 : END_HEADERS, stream), chunk);
  }
  return Buffer.concat(parts);
}

/** The client's HPACK decoder state, one per connection. */
class BlockDecoder {
  private readonly d = hpack.decompressor.create({ table: { maxSize: TABLE_SIZE } });
  private failure?: Error;

  constructor() {
    this.d.on('error', (e: Error) => (this.failure = e));
  }

  decode(block: Buffer): HeaderField[] {
    this.d.write(block);
    this.d.execute();
    if (this.failure) throw this.failure;
    const fields: HeaderField[] = [];
    for (let f = this.d.read(); f !== null; f = this.d.read()) fields.push({ name: f.name, value: f.value });
    return fields;
  }
}

/** Passes a CRI client's connection to grpc-js with `:authority` fixed (see the top of the file). */
export class AuthorityRewriter extends Duplex {
  private readonly socket: Socket;
  private readonly decoder = new BlockDecoder();
  private pending: Buffer = Buffer.alloc(0);
  private sawPreface = false;
  /** Raw bytes from here on: the stream is not HTTP/2 as expected, let http2 answer it. */
  private passthrough = false;
  /** A header block waiting for its CONTINUATION frames. */
  private open?: { stream: number; flags: number; priority?: Buffer; parts: Buffer[]; size: number };

  constructor(socket: Socket) {
    super();
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      let out: Buffer;
      try {
        out = this.rewrite(chunk);
      } catch (e) {
        this.destroy(e as Error);
        return;
      }
      if (out.length && !this.push(out)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (e) => this.destroy(e));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  /** Bytes in from the client, bytes out to grpc-js. */
  private rewrite(chunk: Buffer): Buffer {
    if (this.passthrough) return chunk;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    if (!this.sawPreface) {
      if (this.pending.length < PREFACE.length) {
        if (!PREFACE.subarray(0, this.pending.length).equals(this.pending)) return this.giveUp();
        return Buffer.alloc(0);
      }
      if (!this.pending.subarray(0, PREFACE.length).equals(PREFACE)) return this.giveUp();
      out.push(PREFACE);
      this.pending = this.pending.subarray(PREFACE.length);
      this.sawPreface = true;
    }
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) break;
      const frame = this.pending.subarray(0, 9 + length);
      this.pending = this.pending.subarray(9 + length);
      out.push(this.frame(frame));
    }
    return Buffer.concat(out);
  }

  private giveUp(): Buffer {
    this.passthrough = true;
    const all = this.pending;
    this.pending = Buffer.alloc(0);
    return all;
  }

  /** One whole frame: HEADERS and CONTINUATION are gathered and rewritten, others pass. */
  private frame(frame: Buffer): Buffer {
    const type = frame[3]!;
    const flags = frame[4]!;
    const stream = frame.readUInt32BE(5) & 0x7fffffff;
    let payload = frame.subarray(9);
    if (type === HEADERS) {
      if (flags & PADDED) {
        const pad = payload[0]!;
        if (pad >= payload.length) throw new Error('http2: HEADERS padding longer than the frame');
        payload = payload.subarray(1, payload.length - pad);
      }
      let priority: Buffer | undefined;
      if (flags & PRIORITY) {
        priority = Buffer.from(payload.subarray(0, 5));
        payload = payload.subarray(5);
      }
      this.open = { stream, flags, priority, parts: [Buffer.from(payload)], size: payload.length };
    } else if (type === CONTINUATION && this.open && this.open.stream === stream) {
      this.open.parts.push(Buffer.from(payload));
      this.open.size += payload.length;
    } else {
      return frame;
    }
    if (this.open.size > MAX_BLOCK) throw new Error('http2: header block too large');
    if (!(flags & END_HEADERS)) return Buffer.alloc(0);
    const { flags: first, priority, parts } = this.open;
    this.open = undefined;
    const fields = fixAuthority(this.decoder.decode(Buffer.concat(parts)));
    return headerFrames(stream, first, priority, encodeLiterals(fields));
  }
}
