/**
 * A SPDY/3.1 session on the server side of an upgraded connection: the peer opens streams
 * (SYN_STREAM with headers such as `streamtype: stdout`), Berth answers each (SYN_REPLY) and
 * then both sides send DATA frames until each half ends with FIN. This is the part of
 * moby/spdystream kubelet's streaming server relies on: streams opened by the client only,
 * PING echoed, GOAWAY and RST_STREAM honoured.
 *
 * Header blocks are compressed with one zlib stream per direction for the whole connection
 * (SPDY_DICTIONARY, a sync flush after each block), so frames are written strictly in order
 * through one queue. Flow control: spdystream neither sends WINDOW_UPDATE nor honours it, so
 * Berth does not stop sending at the 64 KiB window either; a WINDOW_UPDATE received is ignored.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import zlib from 'node:zlib';
import { invalidArgument } from '../errdefs/index.ts';
import {
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  FrameParser,
  RstStatus,
  type Headers,
  type SpdyFrame,
} from './spdy-frames.ts';
import { SPDY_DICTIONARY } from './spdy-dictionary.ts';
import { drained } from './drained.ts';

/** DATA frames Berth sends carry at most this much, as spdystream's writer splits. */
const MAX_DATA = 64 * 1024;

/** Runs one header block through a connection's zlib stream, with a sync flush after it. */
export function runZ(z: zlib.Inflate | zlib.Deflate, chunk: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const onData = (d: Buffer) => out.push(d);
    const onError = (e: Error) => {
      z.off('data', onData);
      reject(invalidArgument(`spdy: header block: ${e.message}`, e));
    };
    z.on('data', onData);
    z.once('error', onError);
    z.write(chunk);
    z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData);
      z.off('error', onError);
      resolve(Buffer.concat(out));
    });
  });
}

/** One stream opened by the peer: readable is what the peer sends, writable goes back to it. */
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: Headers;
  private readonly session: SpdySession;
  private replied = false;
  /** The peer sent FIN (or the stream was reset): nothing more will be read. */
  remoteClosed = false;

  constructor(session: SpdySession, id: number, headers: Headers) {
    super({ allowHalfOpen: true });
    this.session = session;
    this.id = id;
    this.headers = headers;
  }

  /** The first value of a header, by its lower-case name. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** SYN_REPLY: the client waits for it before using the stream. */
  async reply(headers: Headers = {}): Promise<void> {
    if (this.replied) return;
    this.replied = true;
    await this.session.sendReply(this.id, headers);
  }

  /** RST_STREAM: the stream ends at once, in both directions. */
  reset(status: number = RstStatus.CANCEL): void {
    this.session.sendReset(this.id, status);
    this.remoteEnded();
    this.destroy();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.session.sendData(this.id, Buffer.alloc(0), true).then(() => cb(), cb);
  }

  /** @internal DATA from the peer. */
  received(data: Buffer, fin: boolean): void {
    if (this.remoteClosed) return;
    if (data.length) this.push(data);
    if (fin) this.remoteEnded();
  }

  /** @internal The peer's half is over. */
  remoteEnded(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.push(null);
  }
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
  close: [];
  error: [Error];
}

/**
 * The session: `stream` for each stream the peer opens, `close` when the connection ends.
 * `close()` says GOAWAY and ends the connection once everything queued is written.
 */
export class SpdySession extends EventEmitter<SpdySessionEvents> {
  private readonly socket: Duplex;
  private readonly parser = new FrameParser();
  private readonly inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY_DICTIONARY });
  private readonly streams = new Map<number, SpdyStream>();
  /** Frames leave in order: compressing a header block is asynchronous. */
  private writes: Promise<void> = Promise.resolve();
  /** Frames are handled in order too: decompressing one is asynchronous. */
  private reads: Promise<void> = Promise.resolve();
  private lastPeerStream = 0;
  private closed = false;

  constructor(socket: Duplex, head?: Buffer) {
    super();
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('end', () => this.shutdown());
    socket.on('close', () => this.shutdown());
    socket.on('error', () => this.shutdown());
    if (head?.length) this.onBytes(head);
  }

  private onBytes(chunk: Buffer): void {
    let frames: SpdyFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    for (const f of frames) this.reads = this.reads.then(() => this.handle(f)).catch((e: Error) => this.fail(e));
  }

  private async handle(f: SpdyFrame): Promise<void> {
    if (this.closed) return;
    switch (f.type) {
      case 'syn_stream': {
        const headers = decodeHeaderBlock(await runZ(this.inflate, f.headerBlock));
        // Stream ids of the client are odd and increase; anything else is refused.
        if (f.streamId % 2 !== 1 || f.streamId <= this.lastPeerStream) {
          this.sendReset(f.streamId, RstStatus.PROTOCOL_ERROR);
          return;
        }
        this.lastPeerStream = f.streamId;
        const s = new SpdyStream(this, f.streamId, headers);
        this.streams.set(f.streamId, s);
        s.once('close', () => this.streams.delete(f.streamId));
        if (f.fin || f.unidirectional) s.remoteEnded();
        this.emit('stream', s);
        return;
      }
      case 'data': {
        const s = this.streams.get(f.streamId);
        if (s) s.received(f.data, f.fin);
        else this.sendReset(f.streamId, RstStatus.INVALID_STREAM);
        return;
      }
      case 'headers': {
        // Trailing headers: only their FIN matters to Berth, but the block must still be read
        // to keep the zlib stream in step.
        await runZ(this.inflate, f.headerBlock);
        if (f.fin) this.streams.get(f.streamId)?.remoteEnded();
        return;
      }
      case 'syn_reply':
        await runZ(this.inflate, f.headerBlock);
        return;
      case 'rst_stream': {
        const s = this.streams.get(f.streamId);
        if (!s) return;
        s.remoteEnded();
        s.destroy();
        return;
      }
      case 'ping':
        // Pings from the client have odd ids; each is echoed back unchanged.
        if (f.id % 2 === 1) this.queue(async () => encodeFrame(f));
        return;
      case 'goaway':
        this.close();
        return;
      case 'settings':
      case 'window_update':
      case 'unknown':
        return;
    }
  }

  private queue(frame: () => Promise<Buffer>): Promise<void> {
    const next = this.writes.then(async () => {
      if (this.socket.destroyed || !this.socket.writable) return;
      const bytes = await frame();
      if (!this.socket.write(bytes)) await drained(this.socket);
    });
    this.writes = next.catch(() => {});
    return next;
  }

  /** @internal */
  sendReply(streamId: number, headers: Headers): Promise<void> {
    return this.queue(async () =>
      encodeFrame({
        type: 'syn_reply',
        streamId,
        fin: false,
        headerBlock: await runZ(this.deflate, encodeHeaderBlock(headers)),
      }),
    );
  }

  /** @internal */
  async sendData(streamId: number, data: Buffer, fin: boolean): Promise<void> {
    for (let at = 0; at < data.length || (fin && at === 0); at += MAX_DATA) {
      const part = data.subarray(at, at + MAX_DATA);
      const last = at + MAX_DATA >= data.length;
      await this.queue(async () => encodeFrame({ type: 'data', streamId, fin: fin && last, data: part }));
      if (!data.length) break;
    }
  }

  /** @internal */
  sendReset(streamId: number, status: number): void {
    void this.queue(async () => encodeFrame({ type: 'rst_stream', streamId, status }));
  }

  /** GOAWAY, then the connection ends once everything queued before it is written. */
  close(): void {
    if (this.closed) return;
    void this.queue(async () => encodeFrame({ type: 'goaway', lastGoodStreamId: this.lastPeerStream, status: 0 }));
    void this.writes.then(() => {
      this.socket.end();
      this.shutdown();
    });
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.emit('error', e);
    this.socket.destroy();
    this.shutdown();
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) {
      s.remoteEnded();
      s.destroy();
    }
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.emit('close');
  }
}
