/**
 * SPDY/3.1's frames, as bytes and back (draft-mbelshe-httpbis-spdy-00 and the 3.1 addenda):
 * the framing layer kubelet's and crictl's exec, attach and port-forward clients speak once the
 * HTTP connection is upgraded (client-go's SPDY round tripper over moby/spdystream). Pure: the
 * header blocks stay as the compressed bytes they travel as; spdy.ts runs them through the
 * connection's zlib streams, and decodeHeaderBlock/encodeHeaderBlock give their plain form.
 *
 * A control frame: 1 bit set, 15 bits version (3), 16 bits type, 8 bits flags, 24 bits length.
 * A data frame: 1 bit clear, 31 bits stream id, 8 bits flags, 24 bits length.
 */
import { invalidArgument } from '../errdefs/index.ts';

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** RST_STREAM's status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
} as const;

/** A frame longer than this (24 bits allow 16 MiB) is refused: no client here sends one. */
export const MAX_FRAME_LENGTH = (1 << 24) - 1;

export type Headers = Record<string, string[]>;

export type SpdyFrame =
  | { type: 'data'; streamId: number; fin: boolean; data: Buffer }
  | {
      type: 'syn_stream';
      streamId: number;
      associatedId: number;
      priority: number;
      fin: boolean;
      unidirectional: boolean;
      headerBlock: Buffer;
    }
  | { type: 'syn_reply'; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; clear: boolean; entries: Array<{ flags: number; id: number; value: number }> }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

const STREAM_ID_MASK = 0x7fffffff;

function controlHeader(type: number, flags: number, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt32BE(((flags & 0xff) << 24) | length, 4);
  return b;
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

/** The bytes of one frame. */
export function encodeFrame(f: SpdyFrame): Buffer {
  switch (f.type) {
    case 'data': {
      if (f.data.length > MAX_FRAME_LENGTH) throw invalidArgument(`spdy: data frame of ${f.data.length} bytes`);
      const h = Buffer.alloc(8);
      h.writeUInt32BE(f.streamId & STREAM_ID_MASK, 0);
      h.writeUInt32BE(((f.fin ? FLAG_FIN : 0) << 24) | f.data.length, 4);
      return Buffer.concat([h, f.data]);
    }
    case 'syn_stream': {
      const body = Buffer.concat([
        u32(f.streamId & STREAM_ID_MASK, f.associatedId & STREAM_ID_MASK),
        Buffer.from([(f.priority & 0x7) << 5, 0]),
        f.headerBlock,
      ]);
      const flags = (f.fin ? FLAG_FIN : 0) | (f.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
      return Buffer.concat([controlHeader(FrameType.SYN_STREAM, flags, body.length), body]);
    }
    case 'syn_reply':
    case 'headers': {
      const body = Buffer.concat([u32(f.streamId & STREAM_ID_MASK), f.headerBlock]);
      const type = f.type === 'syn_reply' ? FrameType.SYN_REPLY : FrameType.HEADERS;
      return Buffer.concat([controlHeader(type, f.fin ? FLAG_FIN : 0, body.length), body]);
    }
    case 'rst_stream':
      return Buffer.concat([controlHeader(FrameType.RST_STREAM, 0, 8), u32(f.streamId & STREAM_ID_MASK, f.status)]);
    case 'settings': {
      const body = Buffer.concat([
        u32(f.entries.length),
        ...f.entries.map((e) => u32(((e.flags & 0xff) << 24) | (e.id & 0xffffff), e.value)),
      ]);
      return Buffer.concat([controlHeader(FrameType.SETTINGS, f.clear ? 1 : 0, body.length), body]);
    }
    case 'ping':
      return Buffer.concat([controlHeader(FrameType.PING, 0, 4), u32(f.id)]);
    case 'goaway':
      return Buffer.concat([controlHeader(FrameType.GOAWAY, 0, 8), u32(f.lastGoodStreamId & STREAM_ID_MASK, f.status)]);
    case 'window_update':
      return Buffer.concat([controlHeader(FrameType.WINDOW_UPDATE, 0, 8), u32(f.streamId & STREAM_ID_MASK, f.delta)]);
    case 'unknown':
      return Buffer.concat([controlHeader(f.frameType, f.flags, f.payload.length), f.payload]);
  }
}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n) throw invalidArgument(`spdy: ${what} frame of ${payload.length} bytes, ${n} needed`);
}

function decodeControl(type: number, flags: number, p: Buffer): SpdyFrame {
  const fin = (flags & FLAG_FIN) !== 0;
  switch (type) {
    case FrameType.SYN_STREAM:
      need(p, 10, 'SYN_STREAM');
      return {
        type: 'syn_stream',
        streamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        associatedId: p.readUInt32BE(4) & STREAM_ID_MASK,
        priority: p[8]! >> 5,
        fin,
        unidirectional: (flags & FLAG_UNIDIRECTIONAL) !== 0,
        headerBlock: p.subarray(10),
      };
    case FrameType.SYN_REPLY:
    case FrameType.HEADERS:
      need(p, 4, type === FrameType.SYN_REPLY ? 'SYN_REPLY' : 'HEADERS');
      return {
        type: type === FrameType.SYN_REPLY ? 'syn_reply' : 'headers',
        streamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        fin,
        headerBlock: p.subarray(4),
      };
    case FrameType.RST_STREAM:
      need(p, 8, 'RST_STREAM');
      return { type: 'rst_stream', streamId: p.readUInt32BE(0) & STREAM_ID_MASK, status: p.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      need(p, 4, 'SETTINGS');
      const n = p.readUInt32BE(0);
      need(p, 4 + 8 * n, 'SETTINGS');
      const entries = [];
      for (let i = 0; i < n; i++) {
        const head = p.readUInt32BE(4 + 8 * i);
        entries.push({ flags: head >>> 24, id: head & 0xffffff, value: p.readUInt32BE(8 + 8 * i) });
      }
      return { type: 'settings', clear: (flags & 1) !== 0, entries };
    }
    case FrameType.PING:
      need(p, 4, 'PING');
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FrameType.GOAWAY:
      need(p, 4, 'GOAWAY');
      // SPDY/2's GOAWAY had no status; a short one is read as status 0 (OK).
      return {
        type: 'goaway',
        lastGoodStreamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        status: p.length >= 8 ? p.readUInt32BE(4) : 0,
      };
    case FrameType.WINDOW_UPDATE:
      need(p, 8, 'WINDOW_UPDATE');
      return {
        type: 'window_update',
        streamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        delta: p.readUInt32BE(4) & STREAM_ID_MASK,
      };
    default:
      return { type: 'unknown', frameType: type, flags, payload: p };
  }
}

/**
 * Cuts a byte stream into frames: bytes go in as they arrive, whole frames come out in order.
 * A control frame of another SPDY version is refused, as spdystream does.
 */
export class FrameParser {
  // Chunks are joined once a whole frame is there, not at every arrival: a big DATA frame
  // coming in many small reads is copied once.
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): SpdyFrame[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: SpdyFrame[] = [];
    while (this.size >= 8) {
      if (this.chunks[0]!.length < 8) this.chunks = [Buffer.concat(this.chunks)];
      const head = this.chunks[0]!;
      const word = head.readUInt32BE(0);
      const flagsLen = head.readUInt32BE(4);
      const flags = flagsLen >>> 24;
      const length = flagsLen & 0xffffff;
      if (this.size < 8 + length) break;
      if (head.length < 8 + length) this.chunks = [Buffer.concat(this.chunks)];
      const all = this.chunks[0]!;
      const payload = all.subarray(8, 8 + length);
      const rest = all.subarray(8 + length);
      this.chunks = rest.length ? [rest, ...this.chunks.slice(1)] : this.chunks.slice(1);
      this.size -= 8 + length;
      if (word & 0x80000000) {
        const version = (word >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw invalidArgument(`spdy: control frame of version ${version}, not 3`);
        out.push(decodeControl(word & 0xffff, flags, payload));
      } else {
        out.push({ type: 'data', streamId: word & STREAM_ID_MASK, fin: (flags & FLAG_FIN) !== 0, data: payload });
      }
    }
    return out;
  }
}

/**
 * A header block's plain bytes: a 32-bit count of pairs, then each name and value after its
 * 32-bit length. Names are lower case; several values of one name are joined by NUL.
 */
export function encodeHeaderBlock(headers: Headers): Buffer {
  const names = Object.keys(headers);
  const parts: Buffer[] = [u32(names.length)];
  for (const name of names) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(headers[name]!.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(b: Buffer): Headers {
  let at = 0;
  const take = (): Buffer => {
    if (b.length < at + 4) throw invalidArgument('spdy: header block cut short');
    const n = b.readUInt32BE(at);
    if (b.length < at + 4 + n) throw invalidArgument('spdy: header block cut short');
    const s = b.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    return s;
  };
  if (b.length < 4) throw invalidArgument('spdy: header block cut short');
  const count = b.readUInt32BE(0);
  at = 4;
  const out: Headers = {};
  for (let i = 0; i < count; i++) {
    const name = take().toString('utf8');
    const value = take().toString('utf8');
    if (!name) throw invalidArgument('spdy: header with an empty name');
    if (name !== name.toLowerCase()) throw invalidArgument(`spdy: header name "${name}" is not lower case`);
    (out[name] ??= []).push(...value.split('\0'));
  }
  return out;
}
