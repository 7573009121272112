/**
 * Exec and attach over either transport: the standard streams the client asked for become
 * Node streams handed to the runtime's command, the terminal sizes it sends become `resize`
 * calls, and when the command ends its exit code goes on the error stream (channels.ts) before
 * the connection closes — the order client-go waits for: stdout and stderr end, then the
 * error stream is read to its end.
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import { messageOf } from '../errdefs/index.ts';
import {
  Channel,
  exitStatus,
  isBase64Protocol,
  ResizeDecoder,
  spdyHasResize,
  StreamType,
  supportsStreamClose,
  type TerminalSize,
} from './channels.ts';
import { endStream } from './drained.ts';
import type { SpdySession, SpdyStream } from './spdy.ts';
import type { WsConnection } from './websocket.ts';

/** Which standard streams the client attaches, and whether it is a terminal. */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** What the runtime's command gets: each stream the client asked for, and its terminal sizes. */
export interface AttachedStreams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty: boolean;
  /** Called with each terminal size the client sends (tty only). */
  onResize(fn: (size: TerminalSize) => void): void;
}

/** The command: its exit code (attach: undefined when the container's streams end). */
export type RemoteCommand = (io: AttachedStreams, signal: AbortSignal) => Promise<number | undefined>;

/** How long a SPDY client has to open the streams it announced (kubelet's 30 s). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

class Sizes {
  private fns: Array<(s: TerminalSize) => void> = [];
  private last?: TerminalSize;
  on(fn: (s: TerminalSize) => void): void {
    this.fns.push(fn);
    // A size that came before the command listened is not lost.
    if (this.last) fn(this.last);
  }
  emit(s: TerminalSize): void {
    this.last = s;
    for (const f of this.fns) f(s);
  }
}

/** Waits for the SPDY streams a client of this protocol opens for these options. */
function expectedSpdyStreams(protocol: string, o: StreamOptions): string[] {
  const want: string[] = [StreamType.ERROR];
  if (o.stdin) want.push(StreamType.STDIN);
  if (o.stdout) want.push(StreamType.STDOUT);
  // client-go's v2+ opens no stderr stream for a terminal; v1 always does.
  if (o.stderr && (!o.tty || protocol === 'channel.k8s.io')) want.push(StreamType.STDERR);
  if (o.tty && spdyHasResize(protocol)) want.push(StreamType.RESIZE);
  return want;
}

/**
 * Serves one exec or attach on a SPDY session: collects the client's streams (answering each),
 * runs the command, reports how it ended, and closes the session.
 */
export async function serveSpdyRemoteCommand(
  session: SpdySession,
  protocol: string,
  o: StreamOptions,
  run: RemoteCommand,
): Promise<void> {
  const want = expectedSpdyStreams(protocol, o);
  const got = new Map<string, SpdyStream>();
  const ac = new AbortController();
  session.once('close', () => ac.abort());
  const all = new Promise<void>((resolve) => {
    session.on('stream', (s) => {
      const type = s.header('streamtype') ?? '';
      void s.reply();
      if (!want.includes(type) || got.has(type)) {
        // A stream nobody reads would hold the client's writes: drain it.
        s.resume();
        return;
      }
      got.set(type, s);
      if (got.size === want.length) resolve();
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    all.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STREAM_CREATION_TIMEOUT_MS);
      ac.signal.addEventListener('abort', () => resolve(true));
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    session.close();
    return;
  }
  const sizes = new Sizes();
  const resize = got.get(StreamType.RESIZE);
  if (resize) {
    const dec = new ResizeDecoder();
    resize.on('data', (c: Buffer) => dec.push(c).forEach((s) => sizes.emit(s)));
  }
  const stdout = got.get(StreamType.STDOUT);
  const stderr = got.get(StreamType.STDERR);
  const io: AttachedStreams = {
    stdin: got.get(StreamType.STDIN),
    stdout,
    stderr: o.tty ? undefined : stderr,
    tty: o.tty,
    onResize: (fn) => sizes.on(fn),
  };
  let exitCode: number | undefined;
  let error: string | undefined;
  try {
    exitCode = await run(io, ac.signal);
  } catch (e) {
    error = messageOf(e);
  }
  // stdout and stderr end before the status is told: client-go reads the error stream last.
  await Promise.all([stdout, stderr].map((w) => (w ? endStream(w) : undefined)));
  await endStream(got.get(StreamType.ERROR)!, exitStatus(protocol, exitCode, error));
  session.close();
}

/** A writable whose every write is one message on a channel. */
function channelWriter(conn: WsConnection, channel: number, base64: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      send(conn, channel, chunk, base64).then(() => cb(), cb);
    },
  });
}

function send(conn: WsConnection, channel: number, data: Buffer, base64: boolean): Promise<void> {
  if (base64) return conn.send(Buffer.from(String.fromCharCode(48 + channel) + data.toString('base64')), false);
  return conn.send(Buffer.concat([Buffer.from([channel]), data]));
}

/** A message's channel and data, undoing the base64 variants' encoding. */
export function decodeChannelMessage(msg: Buffer, base64: boolean): { channel: number; data: Buffer } | undefined {
  if (msg.length === 0) return undefined;
  if (!base64) return { channel: msg[0]!, data: msg.subarray(1) };
  return { channel: msg[0]! - 48, data: Buffer.from(msg.subarray(1).toString(), 'base64') };
}

/**
 * Serves one exec or attach on a WebSocket: channel 0 is stdin, 1 and 2 stdout and stderr,
 * 3 the error channel, 4 the resize one; a v5 client ends stdin with [255, 0].
 */
export async function serveWsRemoteCommand(
  conn: WsConnection,
  protocol: string,
  o: StreamOptions,
  run: RemoteCommand,
): Promise<void> {
  const base64 = isBase64Protocol(protocol);
  const ac = new AbortController();
  const stdin = o.stdin ? new PassThrough() : undefined;
  const sizes = new Sizes();
  const resize = new ResizeDecoder();
  conn.on('message', (msg) => {
    const m = decodeChannelMessage(msg, base64);
    if (!m) return;
    if (m.channel === Channel.STDIN) stdin?.write(m.data);
    else if (m.channel === Channel.RESIZE && o.tty) resize.push(m.data).forEach((s) => sizes.emit(s));
    else if (m.channel === Channel.CLOSE && supportsStreamClose(protocol)) {
      if (m.data[0] === Channel.STDIN) stdin?.end();
    }
  });
  conn.once('close', () => {
    stdin?.end();
    ac.abort();
  });
  // kubelet's first message, empty, on the lowest channel it writes: "the streams are open".
  await send(
    conn,
    o.stdout ? Channel.STDOUT : o.stderr && !o.tty ? Channel.STDERR : Channel.ERROR,
    Buffer.alloc(0),
    base64,
  );
  const stdout = o.stdout ? channelWriter(conn, Channel.STDOUT, base64) : undefined;
  const stderr = o.stderr && !o.tty ? channelWriter(conn, Channel.STDERR, base64) : undefined;
  let exitCode: number | undefined;
  let error: string | undefined;
  try {
    exitCode = await run({ stdin, stdout, stderr, tty: o.tty, onResize: (fn) => sizes.on(fn) }, ac.signal);
  } catch (e) {
    error = messageOf(e);
  }
  // What the command wrote leaves before its status.
  await Promise.all([stdout, stderr].map((w) => (w ? endStream(w) : undefined)));
  const status = exitStatus(protocol, exitCode, error);
  if (status) await send(conn, Channel.ERROR, status, base64);
  conn.close(1000);
}
