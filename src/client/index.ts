/**
 * A typed Engine API client over a unix socket or TCP: version negotiation through `/_ping`,
 * Docker's error bodies turned into errors with their status, JSON-lines progress streams as
 * async iterators, raw streams (logs, attach) demultiplexed from Docker's 8-byte frames.
 */
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Readable } from 'node:stream';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface JsonMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { message: string };
}

export class EngineClient {
  readonly host: string;
  private base: RequestOptions;
  private prefix = '';

  constructor(host = process.env.DOCKER_HOST || DEFAULT_HOST) {
    this.host = host;
    const url = new URL(host.includes('://') ? host : `unix://${host}`);
    if (url.protocol === 'unix:') this.base = { socketPath: url.pathname };
    else if (url.protocol === 'tcp:' || url.protocol === 'http:') this.base = { host: url.hostname, port: Number(url.port || 2375) };
    else throw new Error(`unsupported host "${host}"`);
  }

  /** Agrees on an API version: the server's, when older than ours. */
  async negotiate(): Promise<string> {
    const res = await this.raw('GET', '/_ping');
    res.resume();
    const v = String(res.headers['api-version'] ?? '1.45');
    this.prefix = `/v${v}`;
    return v;
  }

  raw(method: string, path: string, opts: { body?: string | Buffer | Readable; headers?: Record<string, string> } = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request({ ...this.base, method, path: path.startsWith('/_ping') ? path : `${this.prefix}${path}`, headers: opts.headers }, resolve);
      req.on('error', (e) => reject(new Error(`Cannot connect to the Berth daemon at ${this.host}. Is berthd running? (${e.message})`)));
      const b = opts.body;
      if (b && typeof b === 'object' && 'pipe' in b) (b as Readable).pipe(req);
      else req.end(b);
    });
  }

  /** A request whose error statuses become ApiError with the daemon's message. */
  async call(method: string, path: string, opts: { json?: unknown; body?: string | Buffer | Readable; headers?: Record<string, string> } = {}): Promise<IncomingMessage> {
    const headers = { ...opts.headers };
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['Content-Type'] = 'application/json';
    }
    const res = await this.raw(method, path, { body, headers });
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readAll(res);
      let message = text.toString().trim();
      try {
        message = (JSON.parse(message) as { message?: string }).message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new ApiError(res.statusCode ?? 500, message);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body === undefined ? {} : { json: body });
    const text = (await readAll(res)).toString();
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  /** JSON-lines progress (pull, load, import, bootstrap); an error message throws. */
  async *messages(res: IncomingMessage): AsyncGenerator<JsonMessage> {
    let buf = '';
    for await (const chunk of res as AsyncIterable<Buffer>) {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const m = JSON.parse(line) as JsonMessage;
        if (m.error || m.errorDetail) throw new ApiError(500, m.errorDetail?.message ?? m.error!);
        yield m;
      }
    }
    if (buf.trim()) {
      const m = JSON.parse(buf) as JsonMessage;
      if (m.error || m.errorDetail) throw new ApiError(500, m.errorDetail?.message ?? m.error!);
      yield m;
    }
  }
}

export async function readAll(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * Splits Docker's multiplexed stream ([stream, 0, 0, 0, size BE32] + payload) into stdout and
 * stderr chunks. Frames may arrive cut anywhere.
 */
export async function demux(src: AsyncIterable<Buffer>, onFrame: (stream: number, data: Buffer) => void): Promise<void> {
  let buf = Buffer.alloc(0);
  for await (const c of src) {
    buf = buf.length ? Buffer.concat([buf, c]) : Buffer.from(c);
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      onFrame(buf[0]!, buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
  }
}
