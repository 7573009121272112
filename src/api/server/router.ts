/**
 * A small router for the Engine API: `/vX.Y/...` and unversioned paths, `{name}` parameters,
 * one error middleware that turns typed errors into Docker's `{"message": ...}` bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { httpStatus, invalidArgument, messageOf, categoryOf } from '../../errdefs/index.ts';

export interface Request {
  readonly raw: IncomingMessage;
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  /** The API version the client asked for (`1.44`), or the server's default. */
  readonly version: string;
  /** Parses the body as JSON; an empty body is `{}`. */
  json<T = unknown>(): Promise<T>;
}

export interface Response {
  readonly raw: ServerResponse;
  json(status: number, body: unknown): void;
  text(status: number, body: string, contentType?: string): void;
  empty(status: number): void;
  /** Starts a streamed JSON-lines answer (pull, build, load, events). */
  stream(status?: number, contentType?: string): StreamWriter;
  /**
   * Takes the connection over for attach/exec: 101 UPGRADED when the client asked for an
   * upgrade, else 200 with the raw-stream content type. Returns the socket.
   */
  hijack(contentType?: string): Duplex;
}

export interface StreamWriter {
  write(obj: unknown): void;
  end(): void;
  readonly closed: boolean;
  onClose(fn: () => void): void;
}

export type Handler = (req: Request, res: Response) => Promise<void> | void;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export const API_VERSION = '1.45';
export const MIN_API_VERSION = '1.24';

export class Router {
  private readonly routes: Route[] = [];
  private readonly log: (msg: string) => void;
  private readonly trace?: (msg: string) => void;

  /** `log` gets server errors; `trace`, if given, one line per request (dockerd's debug "Calling ..."). */
  constructor(log: (msg: string) => void = () => {}, trace?: (msg: string) => void) {
    this.log = log;
    this.trace = trace;
  }

  add(method: string, pattern: string, handler: Handler): void {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
  }
  get(p: string, h: Handler): void {
    this.add('GET', p, h);
  }
  post(p: string, h: Handler): void {
    this.add('POST', p, h);
  }
  put(p: string, h: Handler): void {
    this.add('PUT', p, h);
  }
  delete(p: string, h: Handler): void {
    this.add('DELETE', p, h);
  }
  head(p: string, h: Handler): void {
    this.add('HEAD', p, h);
  }

  private match(
    method: string,
    segs: string[],
  ): { route: Route; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const params = matchParts(r.parts, segs);
      if (!params) continue;
      pathMatched = true;
      if (r.method === method) return { route: r, params };
    }
    return pathMatched ? 'method' : undefined;
  }

  /** Handles one request (regular or upgrade). `socket` is set for upgrade requests. */
  async handle(raw: IncomingMessage, out: ServerResponse | undefined, socket?: Duplex, head?: Buffer): Promise<void> {
    const url = new URL(raw.url ?? '/', 'http://berth');
    let segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let version = API_VERSION;
    const vm = segs[0]?.match(/^v(\d+\.\d+)$/);
    if (vm) {
      version = vm[1]!;
      segs = segs.slice(1);
    } else if (segs[1] === 'libpod' && /^v\d+(\.\d+){0,2}$/.test(segs[0] ?? '')) {
      // Podman's clients put their own version first (/v4.3.1/libpod/...): Libpod's, not the Engine API's.
      segs = segs.slice(1);
    }
    // On an upgrade request (attach, exec start) Node leaves the body on the socket, ahead of
    // the client's stream: take exactly Content-Length bytes of it as the request body.
    let upgradeBody: Buffer | undefined;
    const length = Number(raw.headers['content-length'] ?? 0);
    if (socket && length > 0 && length <= MAX_JSON_BODY) {
      try {
        ({ body: upgradeBody, rest: head } = await readExactly(socket, head ?? Buffer.alloc(0), length));
      } catch {
        socket.destroy();
        return;
      }
    }
    const res = makeResponse(raw, out, socket, head);
    this.trace?.(`Calling ${raw.method} ${url.pathname}${url.search}`);
    const t0 = this.trace ? performance.now() : 0;
    const m = this.match(raw.method ?? 'GET', segs);
    try {
      if (vm && compareVersions(version, MIN_API_VERSION) < 0) {
        throw invalidArgument(
          `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
        );
      }
      if (vm && compareVersions(version, API_VERSION) > 0) {
        throw invalidArgument(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      }
      if (m === undefined) {
        res.json(404, { message: 'page not found' });
        return;
      }
      if (m === 'method') {
        res.json(405, { message: 'method not allowed' });
        return;
      }
      let bodyPromise: Promise<unknown> | undefined;
      const req: Request = {
        raw,
        method: raw.method ?? 'GET',
        path: '/' + segs.join('/'),
        params: m.params,
        query: url.searchParams,
        version,
        json: <T>() =>
          (bodyPromise ??= upgradeBody
            ? Promise.resolve().then(() => parseJson(upgradeBody))
            : readJson(raw)) as Promise<T>,
      };
      await m.route.handler(req, res);
      // The handler's own time (a streamed or hijacked answer's, until it is handed over): where a daemon's part of a command goes.
      this.trace?.(`Handled ${raw.method} ${url.pathname} in ${(performance.now() - t0).toFixed(1)} ms`);
    } catch (err) {
      const status = httpStatus(err);
      if (status === 304) {
        res.empty(304);
        return;
      }
      if (status >= 500) this.log(`${raw.method} ${url.pathname}: ${(err as Error)?.stack ?? err}`);
      res.fail(status, messageOf(err), categoryOf(err));
    }
  }
}

function matchParts(pattern: string[], segs: string[]): Record<string, string> | undefined {
  // A trailing `{name*}` swallows the rest (image names contain slashes).
  const last = pattern[pattern.length - 1];
  const greedy = last?.startsWith('{') && last.endsWith('*}');
  if (greedy ? segs.length < pattern.length : segs.length !== pattern.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (greedy && i === pattern.length - 1) {
      // Greedy names end before a known suffix segment, e.g. /images/{name*}/json.
      params[p.slice(1, -2)] = segs.slice(i).join('/');
      return params;
    }
    if (p.startsWith('{')) params[p.slice(1, -1)] = segs[i]!;
    else if (p !== segs[i]) return undefined;
  }
  return params;
}

export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am! - bm! || an! - bn!;
}

const MAX_JSON_BODY = 16 * 1024 * 1024;

async function readJson(raw: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of raw as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_JSON_BODY) throw invalidArgument('request body is too large');
    chunks.push(c);
  }
  return parseJson(Buffer.concat(chunks));
}

/** Reads `n` bytes from what was already read (`head`) and then the socket; returns the rest. */
function readExactly(socket: Duplex, head: Buffer, n: number): Promise<{ body: Buffer; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = head;
    const check = () => {
      if (buf.length < n) return false;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      resolve({ body: buf.subarray(0, n), rest: buf.subarray(n) });
      return true;
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      check();
    };
    const onEnd = () => reject(invalidArgument('request body ended early'));
    if (check()) return;
    socket.on('data', onData);
    socket.once('end', onEnd);
  });
}

function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`invalid JSON: ${(e as Error).message}`, e);
  }
}

interface InternalResponse extends Response {
  fail(status: number, message: string, category: string): void;
}

function makeResponse(
  raw: IncomingMessage,
  out: ServerResponse | undefined,
  socket?: Duplex,
  head?: Buffer,
): InternalResponse {
  let hijacked: Duplex | undefined;
  let streaming: StreamWriter | undefined;
  const writeHead = (status: number, headers: Record<string, string>, body?: string | Buffer) => {
    if (out) {
      out.writeHead(status, headers);
      out.end(body);
    } else if (socket) {
      const reason = STATUS_TEXT[status] ?? 'Status';
      const len = body === undefined ? 0 : Buffer.byteLength(body);
      const lines = [
        `HTTP/1.1 ${status} ${reason}`,
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        `Content-Length: ${len}`,
        '',
        '',
      ];
      socket.end(Buffer.concat([Buffer.from(lines.join('\r\n')), Buffer.from(body ?? '')]));
    }
  };
  const res: InternalResponse = {
    raw: out as ServerResponse,
    json(status, body) {
      writeHead(status, { 'Content-Type': 'application/json' }, JSON.stringify(body) + '\n');
    },
    text(status, body, contentType = 'text/plain; charset=utf-8') {
      writeHead(status, { 'Content-Type': contentType }, body);
    },
    empty(status) {
      writeHead(status, {});
    },
    fail(status, message, _category) {
      if (hijacked) {
        // Already streaming raw: best effort, say it on the stream and close.
        hijacked.end();
        return;
      }
      if (streaming) {
        if (!streaming.closed) {
          streaming.write({ errorDetail: { message }, error: message });
          streaming.end();
        }
        return;
      }
      if (out?.headersSent) {
        out.end();
        return;
      }
      writeHead(status, { 'Content-Type': 'application/json' }, JSON.stringify({ message }) + '\n');
    },
    stream(status = 200, contentType = 'application/json') {
      if (!out) throw new Error('stream on an upgrade request');
      out.writeHead(status, { 'Content-Type': contentType });
      out.flushHeaders();
      let closed = false;
      const closers: Array<() => void> = [];
      const onClose = () => {
        if (closed) return;
        closed = true;
        for (const f of closers) f();
      };
      out.on('close', onClose);
      streaming = {
        write(obj) {
          if (!closed) out.write(JSON.stringify(obj) + '\r\n');
        },
        end() {
          if (!closed) out.end();
          onClose();
        },
        get closed() {
          return closed;
        },
        onClose(fn) {
          if (closed) fn();
          else closers.push(fn);
        },
      };
      return streaming;
    },
    hijack(contentType = 'application/vnd.docker.raw-stream') {
      if (socket) {
        socket.write(
          `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
        );
        if (head && head.length) socket.unshift(head);
        hijacked = socket;
        return socket;
      }
      if (!out) throw new Error('no connection to hijack');
      out.writeHead(200, { 'Content-Type': contentType });
      out.flushHeaders();
      // Without an upgrade the stream rides in the HTTP response body (chunked).
      const body = new Duplex({
        read() {},
        write(chunk, _enc, cb) {
          if (out.writableEnded) cb();
          else out.write(chunk, () => cb());
        },
        final(cb) {
          out.end();
          cb();
        },
      });
      raw.on('data', (c) => body.push(c));
      raw.on('end', () => body.push(null));
      out.on('close', () => body.destroy());
      hijacked = body;
      return body;
    },
  };
  return res;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};
