/**
 * EngineClient: a typed Docker Engine API client over a unix socket or TCP.
 *
 * Lifecycle: construct from a host string (nothing connects yet); the first versioned request
 * pings the daemon and agrees on an API version (the daemon's `Api-Version`, capped at ours);
 * every later request goes to `/v<version>/...`. `close()` drops idle keep-alive connections.
 * With a `versionMemory` (the CLI's, versionmemory.ts) the version the daemon named before is
 * used without a ping, for a request that can be sent again: a daemon's refusal of it ("client
 * version ... is too new") forgets it, pings, and sends the request once more.
 *
 *   const c = new EngineClient('unix:///run/berth/berth.sock');
 *   const list = await c.containerList({ all: true });
 *
 * Invariants: a daemon refusal (status >= 400) always surfaces as `ApiError` with the status
 * and the daemon's `message`; an unreachable daemon as `ConnectionError`. Streaming calls return
 * the response (or an async iterator over it) as soon as the headers arrive.
 *
 * This file is the transport (negotiation, requests, hijacking). The calls, one per endpoint,
 * live in a file per resource (containers.ts, exec.ts, images.ts, networks.ts, volumes.ts,
 * system.ts), as moby's Go client spreads the methods of its one Client over files: each
 * exports an object of methods whose `this` is the client, and the end of this file puts
 * them all on the class and in its type, from the one object `calls`.
 */
import {
  Agent,
  request as httpRequest,
  type IncomingMessage,
  type ClientRequest,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { CIPHERS, MIN_VERSION, type ClientTls } from '../tls/index.ts';
import { Readable, Writable } from 'node:stream';
import { ApiError, ConnectionError, errorMessage } from './errors.ts';
import { parseHost, resolveHost, type Endpoint } from './host.ts';
import { progressMessages } from './jsonstream.ts';
import { compareVersions, drain, encodeQuery, readAll } from './wire.ts';
import { containerCalls } from './containers.ts';
import { execCalls } from './exec.ts';
import { imageCalls } from './images.ts';
import { networkCalls } from './networks.ts';
import { systemCalls } from './system.ts';
import { volumeCalls } from './volumes.ts';
import { podCalls } from './pods.ts';
import type { ApiVersionMemory } from './versionmemory.ts';
import type * as T from '../api/types/index.ts';

/** The newest API version this client speaks; older daemons get their own version. */
export const CLIENT_API_VERSION = '1.47';
/** What a daemon that sends no Api-Version header is assumed to speak (Docker's rule). */
export const FALLBACK_API_VERSION = '1.24';

export interface ClientOptions {
  /** `unix:///path`, `tcp://host:port`; default: DOCKER_HOST, else Berth's socket. */
  host?: string;
  /** Pin the API version (no negotiation), as DOCKER_API_VERSION does. */
  version?: string;
  userAgent?: string;
  /** TLS for a TCP daemon (client/tls.ts says which files); ignored for a unix socket, as docker ignores it. */
  tls?: ClientTls;
  /** The daemon's version remembered from an earlier process (versionmemory.ts), to skip the ping. */
  versionMemory?: ApiVersionMemory;
}

export type QueryValue = string | number | boolean | undefined | null | readonly string[];
export type Query = Record<string, QueryValue>;
export type Body = string | Buffer | Readable | AsyncIterable<Buffer | string> | null | undefined;

export interface RequestOpts {
  query?: Query;
  body?: Body;
  json?: unknown;
  headers?: Record<string, string>;
  /** Send to the unversioned path (`/_ping`, Berth's own `/berth/v1/...`). */
  unversioned?: boolean;
  signal?: AbortSignal;
}

/** A hijacked connection (attach, exec start): raw output to read, stdin to write. */
export interface HijackedStream {
  /** Output bytes: multiplexed frames unless the container or exec has a TTY. */
  readonly output: Readable;
  /** Write stdin here. */
  readonly input: Writable;
  /** EOF on stdin while the output keeps flowing. */
  closeWrite(): void;
  /** Drop the connection. */
  close(): void;
}

export interface PingResult {
  apiVersion?: string;
  osType?: string;
  builderVersion?: string;
  experimental: boolean;
}

/** Passed through to Node's agent, which the request options' type does not say (see base()). */
const NO_SERVERNAME: object = { servername: '' };
export class EngineClient {
  readonly host: string;
  readonly endpoint: Endpoint;
  private readonly agent: Agent;
  /** The TLS options of every connection, or undefined for plain HTTP. */
  private readonly tls: ClientTls['options'] | undefined;
  private readonly userAgent: string;
  private version: string | undefined;
  private negotiation: Promise<string> | undefined;
  private readonly memory: ApiVersionMemory | undefined;
  /** `version` came from the memory and no answer has confirmed it yet. */
  private recalled = false;

  constructor(opts: ClientOptions | string = {}) {
    const o = typeof opts === 'string' ? { host: opts } : opts;
    this.host = resolveHost(o.host);
    this.endpoint = parseHost(this.host);
    this.version = o.version?.replace(/^v/, '');
    this.memory = this.version ? undefined : o.versionMemory;
    this.userAgent = o.userAgent ?? 'Berth-Client/0.1.0 (linux)';
    const e = this.endpoint;
    this.tls =
      e.kind !== 'tcp'
        ? undefined
        : (o.tls?.options ??
          (e.https ? { rejectUnauthorized: true, minVersion: MIN_VERSION, ciphers: CIPHERS } : undefined));
    this.agent = this.tls
      ? new HttpsAgent({ keepAlive: true, maxSockets: 16, ...this.tls })
      : new Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** Whether requests go over TLS. */
  get secure(): boolean {
    return !!this.tls;
  }

  /** The API version in use (after negotiation or pinning). */
  get apiVersion(): string | undefined {
    return this.version;
  }

  close(): void {
    this.agent.destroy();
  }

  private base(): RequestOptions {
    const e = this.endpoint;
    // An empty servername: Node's agent otherwise works one out from the host with net.isIP, whose
    // first call compiles the IPv6 pattern — 30 ms on an idle machine, every command paid it.
    // Only TLS uses it (SNI), and there the agent still works it out.
    return e.kind === 'unix'
      ? { socketPath: e.socketPath, ...NO_SERVERNAME }
      : { host: e.host, port: e.port, ...(this.tls ? {} : NO_SERVERNAME) };
  }

  private connectionError(e: NodeJS.ErrnoException): Error {
    const e2 = this.tlsError(e);
    if (e2) return e2;
    if (e.code === 'EACCES') {
      return new ConnectionError(this.host, e);
    }
    if (
      e.code === 'ECONNREFUSED' ||
      e.code === 'ENOENT' ||
      e.code === 'ECONNRESET' ||
      e.code === 'EHOSTUNREACH' ||
      e.code === 'ETIMEDOUT' ||
      e.code === 'ENOTFOUND'
    ) {
      return new ConnectionError(this.host, e);
    }
    return e;
  }

  /**
   * A failed TLS connection said as docker says it: the daemon's certificate not trusted, ours
   * refused (berthd closes the connection right after the handshake, which arrives as a reset),
   * or a plain-HTTP client talking to a TLS daemon.
   */
  private tlsError(e: NodeJS.ErrnoException): Error | undefined {
    const e0 = this.endpoint;
    if (e0.kind !== 'tcp') return undefined;
    const where = `${this.tls ? 'https' : 'http'}://${e0.host.includes(':') ? `[${e0.host}]` : e0.host}:${e0.port}`;
    const reason = (/SSL routines:[^:]*:([^:]+):/.exec(e.message)?.[1] ?? e.message).trim();
    const reset = e.code === 'ECONNRESET' || e.code === 'EPIPE';
    if (!this.tls)
      return reset
        ? new ConnectionError(
            this.host,
            e,
            `error during connect: ${where}: ${reason}.\n* Are you trying to connect to a TLS-enabled daemon without TLS?`,
          )
        : undefined;
    const code = String(e.code ?? '');
    if (reset || /alert/.test(reason))
      return new ConnectionError(
        this.host,
        e,
        `error during connect: ${where}: the server probably has client authentication (--tlsverify) enabled; check your TLS client certification settings: ${reason}`,
      );
    if (/^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_)/.test(code))
      return new ConnectionError(this.host, e, `error during connect: ${where}: tls: ${reason}`);
    return undefined;
  }

  /** Agrees on an API version once: min(daemon's Api-Version, ours). */
  negotiate(): Promise<string> {
    if (this.version) return Promise.resolve(this.version);
    this.negotiation ??= this.ping().then(
      (p) => {
        const server = p.apiVersion || FALLBACK_API_VERSION;
        this.memory?.remember(server);
        this.version = capped(server);
        return this.version;
      },
      (e: unknown) => {
        this.negotiation = undefined;
        throw e;
      },
    );
    return this.negotiation;
  }

  async ping(): Promise<PingResult> {
    const res = await this.send('GET', '/_ping', { unversioned: true });
    await drain(res);
    const h = res.headers;
    return {
      apiVersion: h['api-version'] as string | undefined,
      osType: h['ostype'] as string | undefined,
      builderVersion: h['builder-version'] as string | undefined,
      experimental: h['docker-experimental'] === 'true',
    };
  }

  private async path(path: string, opts: RequestOpts, mayRecall = false): Promise<string> {
    if (opts.unversioned) return path + encodeQuery(opts.query);
    if (!this.version && mayRecall && this.memory) {
      const remembered = this.memory.recall();
      if (remembered) {
        this.version = capped(remembered);
        this.recalled = true;
      }
    }
    const v = await this.negotiate();
    return `/v${v}${path}${encodeQuery(opts.query)}`;
  }

  /**
   * A refusal of a remembered version: the memory is forgotten and the version agreed again by
   * a ping. Docker's words for it ("client version 1.47 is too new. Maximum supported API
   * version is 1.45"; "... is too old ...") are what berthd and dockerd say.
   */
  private async recallRefused(status: number, message: string): Promise<boolean> {
    if (!this.memory || status !== 400 || !/^client version \S+ is too (new|old)\b/.test(message)) return false;
    // A request sent beside this one may have been refused first and agreed the version again
    if (this.recalled) {
      this.recalled = false;
      this.version = undefined;
      this.memory.forget();
    }
    await this.negotiate();
    return true;
  }

  private prepare(opts: RequestOpts): { headers: Record<string, string>; body: Body } {
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...opts.headers };
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['Content-Type'] ??= 'application/json';
    }
    if (typeof body === 'string' || Buffer.isBuffer(body)) headers['Content-Length'] = String(Buffer.byteLength(body));
    return { headers, body };
  }

  private send(method: string, path: string, opts: RequestOpts): Promise<IncomingMessage> {
    return this.path(path, opts, canSendAgain(opts)).then(
      (full) =>
        new Promise<IncomingMessage>((resolve, reject) => {
          const { headers, body } = this.prepare(opts);
          const req = (this.tls ? httpsRequest : httpRequest)(
            { ...this.base(), agent: this.agent, method, path: full, headers, signal: opts.signal },
            resolve,
          );
          req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectionError(e)));
          writeBody(req, body, reject);
        }),
    );
  }

  /** A request; a status >= 400 becomes an ApiError carrying the daemon's message. */
  async request(method: string, path: string, opts: RequestOpts = {}, again = false): Promise<IncomingMessage> {
    const res = await this.send(method, path, opts);
    const status = res.statusCode ?? 500;
    if (status >= 400) {
      const text = (await readAll(res)).toString('utf8');
      const message = errorMessage(status, text, res.statusMessage);
      if (!again && canSendAgain(opts) && (await this.recallRefused(status, message)))
        return this.request(method, path, opts, true);
      throw new ApiError(status, message);
    }
    if (this.recalled) this.recalled = false; // the daemon took it: no longer in doubt
    return res;
  }

  /** A request whose response body is JSON (or empty: undefined). */
  async json<R>(method: string, path: string, opts: RequestOpts = {}): Promise<R> {
    const { value } = await this.jsonRaw<R>(method, path, opts);
    return value;
  }

  /** The parsed JSON and the bytes as the daemon sent them (docker inspect prints those). */
  async jsonRaw<R>(method: string, path: string, opts: RequestOpts = {}): Promise<{ value: R; raw: string }> {
    const res = await this.request(method, path, opts);
    const raw = (await readAll(res)).toString('utf8');
    return { value: (raw.trim() ? JSON.parse(raw) : undefined) as R, raw: raw.trim() };
  }

  /** A request whose answer is empty (204/200/304); the body is read and dropped. */
  async empty(method: string, path: string, opts: RequestOpts = {}): Promise<IncomingMessage> {
    const res = await this.request(method, path, opts);
    await drain(res);
    return res;
  }

  /**
   * Hijacks the connection (`Connection: Upgrade`, `Upgrade: tcp` → 101): after the answer the
   * socket carries the container's raw streams both ways. A daemon that answers 200 instead
   * gives an output-only stream.
   */
  async hijack(method: string, path: string, opts: RequestOpts = {}): Promise<HijackedStream> {
    const full = await this.path(path, opts);
    const { headers, body } = this.prepare(opts);
    headers['Connection'] = 'Upgrade';
    headers['Upgrade'] = 'tcp';
    return new Promise<HijackedStream>((resolve, reject) => {
      const req = this.tls
        ? httpsRequest({ ...this.base(), ...this.tls, agent: false, method, path: full, headers })
        : httpRequest({ ...this.base(), agent: false, method, path: full, headers });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        socket.setNoDelay?.(true);
        resolve({
          output: socket,
          input: socket,
          closeWrite: () => socket.end(),
          close: () => socket.destroy(),
        });
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 500;
        if (status >= 400) {
          readAll(res).then(
            (b) => reject(new ApiError(status, errorMessage(status, b.toString('utf8'), res.statusMessage))),
            reject,
          );
          return;
        }
        const sink = new Writable({ write: (_c, _e, cb) => cb() });
        resolve({ output: res, input: sink, closeWrite: () => sink.end(), close: () => res.destroy() });
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectionError(e)));
      writeBody(req, body, reject);
    });
  }

  /** A JSON progress stream; an error message inside it throws ApiError (code: its exit code). */
  async progress(method: string, path: string, opts: RequestOpts = {}): Promise<AsyncGenerator<T.JsonMessage>> {
    const res = await this.request(method, path, opts);
    return progressMessages(res);
  }
}

/** min(the daemon's version, ours). */
function capped(daemonVersion: string): string {
  return compareVersions(daemonVersion, CLIENT_API_VERSION) < 0 ? daemonVersion : CLIENT_API_VERSION;
}

/** Whether a request's body can be sent a second time (not a stream, read once). */
function canSendAgain(opts: RequestOpts): boolean {
  return opts.body === undefined || opts.body === null || typeof opts.body === 'string' || Buffer.isBuffer(opts.body);
}

function writeBody(req: ClientRequest, body: Body, reject: (e: unknown) => void): void {
  if (body === undefined || body === null) {
    req.end();
  } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
    req.end(body);
  } else {
    const src = body instanceof Readable ? body : Readable.from(body);
    src.on('error', (e) => {
      req.destroy(e);
      reject(e);
    });
    src.pipe(req);
  }
}

const calls = {
  ...systemCalls,
  ...containerCalls,
  ...execCalls,
  ...imageCalls,
  ...networkCalls,
  ...volumeCalls,
  ...podCalls,
};

// The calls are the client's own methods: in its type (declaration merging, without the `this`
// their files declare, so that a Pick of the client or a fake calls them as before) and on its
// prototype, with a class method's property flags (writable, not enumerable).
export interface EngineClient extends Calls {}
type Calls = { [K in keyof typeof calls]: OmitThisParameter<(typeof calls)[K]> };
for (const [name, value] of Object.entries(calls)) {
  Object.defineProperty(EngineClient.prototype, name, { value, writable: true, enumerable: false, configurable: true });
}
