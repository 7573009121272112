/**
 * WebSocket (RFC 6455) on the server side, as much as Kubernetes' channel protocols use:
 * the opening handshake with a sub-protocol chosen from the client's list, binary and text
 * messages (fragmented or not), ping/pong and the closing handshake. Client frames must be
 * masked; Berth's are not (section 5.1). No extensions (no permessage-deflate): the handshake
 * accepts none, so the client sends none.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../errdefs/index.ts';
import { drained } from './drained.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const Opcode = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** A message larger than this is refused: channel messages are small (stdin chunks, resizes). */
export const MAX_MESSAGE = 16 * 1024 * 1024;

/** `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`. */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** The sub-protocols a client offers, in its order of preference. */
export function offeredProtocols(header: string | string[] | undefined): string[] {
  const all = Array.isArray(header) ? header.join(',') : (header ?? '');
  return all
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

export interface WsFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** A server's frame: never masked. */
export function encodeWsFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  let head: Buffer;
  if (n < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, n]);
  } else if (n < 65536) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Cuts the client's bytes into frames, unmasked; an unmasked client frame is an error. */
export class WsFrameParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): WsFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: WsFrame[] = [];
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      const fin = (b[0]! & 0x80) !== 0;
      if (b[0]! & 0x70) throw invalidArgument('websocket: reserved bits set without an extension');
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      if (!masked) throw invalidArgument('websocket: a client frame without a mask');
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE)) throw invalidArgument(`websocket: a frame of ${big} bytes`);
        len = Number(big);
        at = 10;
      }
      if (len > MAX_MESSAGE) throw invalidArgument(`websocket: a frame of ${len} bytes`);
      if (b.length < at + 4 + len) break;
      const mask = b.subarray(at, at + 4);
      const payload = Buffer.from(b.subarray(at + 4, at + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      this.buf = b.subarray(at + 4 + len);
      out.push({ fin, opcode, payload });
    }
    return out;
  }
}

export interface WsConnectionEvents {
  message: [Buffer, boolean];
  close: [];
  error: [Error];
}

/**
 * An open connection: `message` (payload, isBinary) for each whole message, `close` once. `send`
 * writes one message; `close` starts the closing handshake and ends the connection.
 */
export class WsConnection extends EventEmitter<WsConnectionEvents> {
  private readonly socket: Duplex;
  private readonly parser = new WsFrameParser();
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private closing = false;
  private ended = false;

  constructor(socket: Duplex, head?: Buffer) {
    super();
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.onBytes(c));
    socket.on('close', () => this.finish());
    socket.on('error', () => this.finish());
    if (head?.length) this.onBytes(head);
  }

  private onBytes(chunk: Buffer): void {
    let frames: WsFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (e) {
      this.emit('error', e as Error);
      this.close(1002);
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(f: WsFrame): void {
    switch (f.opcode) {
      case Opcode.PING:
        this.write(encodeWsFrame(Opcode.PONG, f.payload));
        return;
      case Opcode.PONG:
        return;
      case Opcode.CLOSE:
        // Echo the close (section 5.5.1) and end.
        if (!this.closing) this.write(encodeWsFrame(Opcode.CLOSE, f.payload.subarray(0, 2)));
        this.closing = true;
        this.socket.end();
        this.finish();
        return;
      case Opcode.TEXT:
      case Opcode.BINARY:
        this.fragments = [f.payload];
        this.fragmentOpcode = f.opcode;
        break;
      case Opcode.CONT:
        this.fragments.push(f.payload);
        break;
      default:
        this.emit('error', invalidArgument(`websocket: unknown opcode ${f.opcode}`));
        this.close(1002);
        return;
    }
    if (!f.fin) return;
    const msg = Buffer.concat(this.fragments);
    this.fragments = [];
    if (!this.ended) this.emit('message', msg, this.fragmentOpcode === Opcode.BINARY);
  }

  private write(bytes: Buffer): Promise<void> {
    if (this.socket.destroyed || !this.socket.writable) return Promise.resolve();
    if (this.socket.write(bytes)) return Promise.resolve();
    return drained(this.socket);
  }

  send(payload: Buffer, binary = true): Promise<void> {
    if (this.closing) return Promise.resolve();
    return this.write(encodeWsFrame(binary ? Opcode.BINARY : Opcode.TEXT, payload));
  }

  /** The closing handshake from Berth's side: a close frame, then the connection ends. */
  close(code = 1000, reason = ''): void {
    if (this.closing) return;
    this.closing = true;
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    void this.write(encodeWsFrame(Opcode.CLOSE, body)).then(() => {
      this.socket.end();
      // A client that never answers the close frame is cut off.
      setTimeout(() => this.socket.destroy(), 5000).unref();
    });
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('close');
  }
}
