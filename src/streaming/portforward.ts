/**
 * Port forwarding over either transport, as kubelet's streaming server does it: each forwarded
 * connection is a byte stream to one port of the pod, which the runtime connects (inside the
 * pod's network namespace); what fails is told on that connection's error stream.
 *
 * - SPDY (`portforward.k8s.io`): for every local connection the client opens an error stream
 *   and a data stream, both with `port` and `requestID` headers; the pair is forwarded once both
 *   are there. Clients older than requestID are paired by stream id (data = error + 2).
 * - WebSocket: the ports are fixed by the URL (`?port=80&port=443`, else the CRI request's);
 *   port i has channel 2i for data and 2i+1 for errors, and each channel's first message is
 *   the port, little endian. One connection per port; the WebSocket ends with them.
 */
import { Duplex } from 'node:stream';
import { messageOf } from '../errdefs/index.ts';
import { isBase64Protocol, portPrefix, StreamType } from './channels.ts';
import { decodeChannelMessage } from './remotecommand.ts';
import { endStream } from './drained.ts';
import type { SpdySession, SpdyStream } from './spdy.ts';
import type { WsConnection } from './websocket.ts';

/** Connects `stream` to `port` in the pod, until either side ends. */
export type Forward = (port: number, stream: Duplex, signal: AbortSignal) => Promise<void>;

/** How long the second stream of a pair may take (kubelet's stream creation timeout). */
export const PAIR_TIMEOUT_MS = 30_000;

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

export function forwardErrorMessage(port: number, sandbox: string, e: unknown): string {
  return `error forwarding port ${port} to pod ${sandbox}: ${messageOf(e)}`;
}

export function serveSpdyPortForward(session: SpdySession, sandbox: string, forward: Forward): void {
  const pairs = new Map<string, Pair>();
  const ac = new AbortController();
  session.once('close', () => {
    ac.abort();
    for (const p of pairs.values()) clearTimeout(p.timer);
  });
  session.on('stream', (s) => {
    void s.reply();
    const type = s.header('streamtype');
    const id = s.header('requestid') ?? String(type === StreamType.DATA ? s.id - 2 : s.id);
    if (type !== StreamType.DATA && type !== StreamType.ERROR) {
      s.reset();
      return;
    }
    let p = pairs.get(id);
    if (!p) {
      p = {
        timer: setTimeout(() => {
          // Half a pair: the client gave up on it.
          pairs.delete(id);
          p?.data?.reset();
          p?.error?.reset();
        }, PAIR_TIMEOUT_MS),
      };
      pairs.set(id, p);
    }
    if (type === StreamType.DATA) p.data = s;
    else {
      p.error = s;
      // Nothing is read from the error stream; its client side closes at once.
      s.resume();
    }
    if (!p.data || !p.error) return;
    clearTimeout(p.timer);
    pairs.delete(id);
    const { data, error } = p;
    const port = Number(data.header('port'));
    void (async () => {
      try {
        if (!Number.isInteger(port) || port < 1 || port > 65535)
          throw new Error(`invalid port header "${data.header('port') ?? ''}"`);
        await forward(port, data, ac.signal);
      } catch (e) {
        error.write(forwardErrorMessage(port, sandbox, e));
      }
      await endStream(data);
      await endStream(error);
    })();
  });
}

/** The WebSocket's ports: from its URL's `port` parameters, else the ones the CRI request named. */
export function wsPorts(query: URLSearchParams, requested: readonly number[]): number[] {
  const given = query.getAll('port');
  if (given.length === 0) return [...requested];
  return given.map((p) => Number(p));
}

export async function serveWsPortForward(
  conn: WsConnection,
  protocol: string,
  sandbox: string,
  ports: readonly number[],
  forward: Forward,
): Promise<void> {
  const base64 = isBase64Protocol(protocol);
  const ac = new AbortController();
  const send = (channel: number, data: Buffer) =>
    base64
      ? conn.send(Buffer.from(String.fromCharCode(48 + channel) + data.toString('base64')), false)
      : conn.send(Buffer.concat([Buffer.from([channel]), data]));
  const streams = ports.map(
    (_port, i) =>
      new Duplex({
        read() {},
        write(chunk: Buffer, _enc, cb) {
          send(2 * i, chunk).then(() => cb(), cb);
        },
        final(cb) {
          cb();
        },
      }),
  );
  conn.on('message', (msg) => {
    const m = decodeChannelMessage(msg, base64);
    if (!m || m.channel % 2 !== 0) return;
    streams[m.channel / 2]?.push(m.data);
  });
  conn.once('close', () => {
    ac.abort();
    for (const s of streams) s.push(null);
  });
  for (let i = 0; i < ports.length; i++) {
    await send(2 * i, portPrefix(ports[i]!));
    await send(2 * i + 1, portPrefix(ports[i]!));
  }
  await Promise.all(
    ports.map(async (port, i) => {
      try {
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port "${port}"`);
        await forward(port, streams[i]!, ac.signal);
      } catch (e) {
        await send(2 * i + 1, Buffer.from(forwardErrorMessage(port, sandbox, e)));
      }
    }),
  );
  conn.close(1000);
}
