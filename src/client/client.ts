/**
 * EngineClient: a typed Docker Engine API client over a unix socket or TCP.
 *
 * Lifecycle: construct from a host string (nothing connects yet); the first versioned request
 * pings the daemon and agrees on an API version (the daemon's `Api-Version`, capped at ours);
 * every later request goes to `/v<version>/...`. `close()` drops idle keep-alive connections.
 *
 *   const c = new EngineClient('unix:///run/berth/berth.sock');
 *   const list = await c.containerList({ all: true });
 *
 * Invariants: a daemon refusal (status >= 400) always surfaces as `ApiError` with the status
 * and the daemon's `message`; an unreachable daemon as `ConnectionError`. Streaming calls return
 * the response (or an async iterator over it) as soon as the headers arrive.
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
import { jsonValues, progressMessages } from './jsonstream.ts';
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

export interface WaitHandle {
  /** Resolves with the exit status once the condition is met. */
  readonly result: Promise<T.WaitResponse>;
  cancel(): void;
}

/** An event as `EngineClient.events` yields it: `timeNano` as its decimal digits, all 19 of them. */
export type StreamedEvent = Omit<T.EventMessage, 'timeNano'> & { timeNano: string };

export interface PingResult {
  apiVersion?: string;
  osType?: string;
  builderVersion?: string;
  experimental: boolean;
}

/** `{"a": ["1"]}` as Docker's `filters` query parameter; undefined when empty. */
export function encodeFilters(f: T.Filters | undefined): string | undefined {
  if (!f) return undefined;
  const entries = Object.entries(f).filter(([, v]) => v.length);
  if (!entries.length) return undefined;
  return JSON.stringify(Object.fromEntries(entries));
}

export function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else if (typeof v === 'boolean') p.set(k, v ? '1' : '0');
    else p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Compares dotted versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** base64url of the JSON auth config, as X-Registry-Auth wants it. */
export function encodeAuth(auth: T.AuthConfig | undefined): string {
  return Buffer.from(JSON.stringify(auth ?? {})).toString('base64url');
}

const enc = encodeURIComponent;

export class EngineClient {
  readonly host: string;
  readonly endpoint: Endpoint;
  private readonly agent: Agent;
  /** The TLS options of every connection, or undefined for plain HTTP. */
  private readonly tls: ClientTls['options'] | undefined;
  private readonly userAgent: string;
  private version: string | undefined;
  private negotiation: Promise<string> | undefined;

  constructor(opts: ClientOptions | string = {}) {
    const o = typeof opts === 'string' ? { host: opts } : opts;
    this.host = resolveHost(o.host);
    this.endpoint = parseHost(this.host);
    this.version = o.version?.replace(/^v/, '');
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

  // ---------------------------------------------------------------- transport

  private base(): RequestOptions {
    const e = this.endpoint;
    return e.kind === 'unix' ? { socketPath: e.socketPath } : { host: e.host, port: e.port };
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
        this.version = compareVersions(server, CLIENT_API_VERSION) < 0 ? server : CLIENT_API_VERSION;
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

  private async path(path: string, opts: RequestOpts): Promise<string> {
    if (opts.unversioned) return path + encodeQuery(opts.query);
    const v = await this.negotiate();
    return `/v${v}${path}${encodeQuery(opts.query)}`;
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
    return this.path(path, opts).then(
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
  async request(method: string, path: string, opts: RequestOpts = {}): Promise<IncomingMessage> {
    const res = await this.send(method, path, opts);
    const status = res.statusCode ?? 500;
    if (status >= 400) {
      const text = (await readAll(res)).toString('utf8');
      throw new ApiError(status, errorMessage(status, text, res.statusMessage));
    }
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

  // ---------------------------------------------------------------- system

  systemVersion(): Promise<T.SystemVersion> {
    return this.json('GET', '/version');
  }

  systemInfo(): Promise<T.SystemInfo> {
    return this.json('GET', '/info');
  }

  systemDf(): Promise<T.DiskUsage> {
    return this.json('GET', '/system/df');
  }

  /** Logs in to a registry through the daemon: `{Status, IdentityToken}`. */
  auth(config: T.AuthConfig): Promise<T.AuthResponse> {
    return this.json('POST', '/auth', { json: config });
  }

  /**
   * Engine events; ends when `until` passes or the signal aborts. `timeNano` comes as a decimal
   * string so that no digit is lost.
   */
  async events(
    opts: { since?: string; until?: string; filters?: T.Filters; signal?: AbortSignal } = {},
  ): Promise<AsyncGenerator<StreamedEvent>> {
    const res = await this.request('GET', '/events', {
      query: { since: opts.since, until: opts.until, filters: encodeFilters(opts.filters) },
      signal: opts.signal,
    });
    return jsonValues<StreamedEvent>(res, (text) => text.replace(/"timeNano"\s*:\s*(\d+)/, '"timeNano":"$1"'));
  }

  // ---------------------------------------------------------------- containers

  containerList(
    opts: { all?: boolean; limit?: number; size?: boolean; filters?: T.Filters } = {},
  ): Promise<T.ContainerSummary[]> {
    return this.json('GET', '/containers/json', {
      query: {
        all: opts.all || undefined,
        limit: opts.limit,
        size: opts.size || undefined,
        filters: encodeFilters(opts.filters),
      },
    });
  }

  containerCreate(
    body: T.ContainerCreateRequest,
    opts: { name?: string; platform?: string } = {},
  ): Promise<T.ContainerCreateResponse> {
    return this.json('POST', '/containers/create', { query: { name: opts.name, platform: opts.platform }, json: body });
  }

  containerInspect(id: string, opts: { size?: boolean } = {}): Promise<T.ContainerInspect> {
    return this.json('GET', `/containers/${enc(id)}/json`, { query: { size: opts.size || undefined } });
  }

  containerInspectRaw(id: string, opts: { size?: boolean } = {}): Promise<{ value: T.ContainerInspect; raw: string }> {
    return this.jsonRaw('GET', `/containers/${enc(id)}/json`, { query: { size: opts.size || undefined } });
  }

  async containerStart(id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/start`, { query: { detachKeys: opts.detachKeys } });
  }

  async containerStop(id: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/stop`, { query: { t: opts.timeout, signal: opts.signal } });
  }

  async containerRestart(id: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/restart`, { query: { t: opts.timeout, signal: opts.signal } });
  }

  async containerKill(id: string, signal?: string): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/kill`, { query: { signal } });
  }

  async containerPause(id: string): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/pause`);
  }

  async containerUnpause(id: string): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/unpause`);
  }

  /**
   * Registers a wait (`not-running`, `next-exit` or `removed`). The promise resolves once the
   * daemon has answered the headers, i.e. the wait is in place (dockerd and berthd flush them at
   * once): start the container after it. A daemon that holds its headers back is given
   * `registerMs` before the caller goes on; its answer still arrives through `result`.
   */
  async containerWait(
    id: string,
    condition?: 'not-running' | 'next-exit' | 'removed',
    registerMs = 2000,
  ): Promise<WaitHandle> {
    const ac = new AbortController();
    const response = this.request('POST', `/containers/${enc(id)}/wait`, { query: { condition }, signal: ac.signal });
    const result = response.then(async (res) => {
      const text = (await readAll(res)).toString('utf8').trim();
      if (!text) throw new ApiError(500, `wait for container ${id}: the daemon closed the connection without a status`);
      const r = JSON.parse(text) as T.WaitResponse & { message?: string };
      if (r.StatusCode === undefined && r.message) throw new ApiError(500, r.message);
      return r;
    });
    result.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const held = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, registerMs);
      timer.unref();
    });
    try {
      await Promise.race([response, held]);
    } finally {
      clearTimeout(timer);
    }
    return { result, cancel: () => ac.abort() };
  }

  async containerRemove(id: string, opts: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<void> {
    await this.empty('DELETE', `/containers/${enc(id)}`, {
      query: { force: opts.force || undefined, v: opts.volumes || undefined, link: opts.link || undefined },
    });
  }

  async containerRename(id: string, name: string): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/rename`, { query: { name } });
  }

  containerTop(id: string, psArgs?: string): Promise<T.ContainerTop> {
    return this.json('GET', `/containers/${enc(id)}/top`, { query: { ps_args: psArgs } });
  }

  /** Log bytes: multiplexed (see `demux`) unless the container has a TTY. */
  containerLogs(
    id: string,
    opts: {
      stdout?: boolean;
      stderr?: boolean;
      follow?: boolean;
      timestamps?: boolean;
      tail?: string;
      since?: string;
      until?: string;
      details?: boolean;
      signal?: AbortSignal;
    } = {},
  ): Promise<IncomingMessage> {
    return this.request('GET', `/containers/${enc(id)}/logs`, {
      query: {
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        follow: opts.follow || undefined,
        timestamps: opts.timestamps || undefined,
        tail: opts.tail,
        since: opts.since,
        until: opts.until,
        details: opts.details || undefined,
      },
      signal: opts.signal,
    });
  }

  containerAttach(
    id: string,
    opts: { stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string } = {},
  ): Promise<HijackedStream> {
    return this.hijack('POST', `/containers/${enc(id)}/attach`, {
      query: {
        stream: true,
        stdin: opts.stdin || undefined,
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        logs: opts.logs || undefined,
        detachKeys: opts.detachKeys,
      },
    });
  }

  async containerResize(id: string, height: number, width: number): Promise<void> {
    await this.empty('POST', `/containers/${enc(id)}/resize`, { query: { h: height, w: width } });
  }

  containerUpdate(id: string, body: Record<string, unknown>): Promise<{ Warnings: string[] | null }> {
    return this.json('POST', `/containers/${encodeURIComponent(id)}/update`, { json: body });
  }

  containerChanges(id: string): Promise<T.FilesystemChange[] | null> {
    return this.json('GET', `/containers/${enc(id)}/changes`);
  }

  /** The container's filesystem as a tar stream. */
  containerExport(id: string): Promise<IncomingMessage> {
    return this.request('GET', `/containers/${enc(id)}/export`);
  }

  containerStats(id: string, opts: { oneShot?: boolean } = {}): Promise<T.StatsResponse> {
    return this.json('GET', `/containers/${enc(id)}/stats`, {
      query: { stream: false, 'one-shot': opts.oneShot || undefined },
    });
  }

  /** Streaming stats, one sample a second. */
  async containerStatsStream(id: string, signal?: AbortSignal): Promise<AsyncGenerator<T.StatsResponse>> {
    const res = await this.request('GET', `/containers/${enc(id)}/stats`, { query: { stream: true }, signal });
    return jsonValues<T.StatsResponse>(res);
  }

  containerPrune(filters?: T.Filters): Promise<T.ContainerPruneReport> {
    return this.json('POST', '/containers/prune', { query: { filters: encodeFilters(filters) } });
  }

  /** Stat of a path inside a container (HEAD archive); undefined fields when absent. */
  async containerStatPath(id: string, path: string): Promise<T.PathStat> {
    const res = await this.request('HEAD', `/containers/${enc(id)}/archive`, { query: { path } });
    await drain(res);
    return decodePathStat(res.headers['x-docker-container-path-stat']);
  }

  /** A tar of `path` inside the container, and the stat of `path`. */
  async containerGetArchive(id: string, path: string): Promise<{ tar: IncomingMessage; stat: T.PathStat }> {
    const tar = await this.request('GET', `/containers/${enc(id)}/archive`, { query: { path } });
    return { tar, stat: decodePathStat(tar.headers['x-docker-container-path-stat']) };
  }

  /** Extracts a tar into the directory `path` inside the container. */
  async containerPutArchive(
    id: string,
    path: string,
    tar: Body,
    opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {},
  ): Promise<void> {
    await this.empty('PUT', `/containers/${enc(id)}/archive`, {
      query: {
        path,
        noOverwriteDirNonDir: opts.noOverwriteDirNonDir || undefined,
        copyUIDGID: opts.copyUIDGID || undefined,
      },
      body: tar,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }

  containerCommit(
    container: string,
    opts: {
      repo?: string;
      tag?: string;
      comment?: string;
      author?: string;
      pause?: boolean;
      changes?: string[];
      config?: T.ContainerConfig;
    } = {},
  ): Promise<T.IdResponse> {
    return this.json('POST', '/commit', {
      query: {
        container,
        repo: opts.repo,
        tag: opts.tag,
        comment: opts.comment,
        author: opts.author,
        pause: opts.pause ?? true,
        changes: opts.changes,
      },
      json: opts.config ?? {},
    });
  }

  // ---------------------------------------------------------------- exec

  execCreate(container: string, config: T.ExecConfig): Promise<T.IdResponse> {
    return this.json('POST', `/containers/${enc(container)}/exec`, { json: config });
  }

  async execStartDetached(execId: string, tty = false): Promise<void> {
    const body: T.ExecStartConfig = { Detach: true, Tty: tty };
    await this.empty('POST', `/exec/${enc(execId)}/start`, { json: body });
  }

  execStart(execId: string, opts: { tty?: boolean; consoleSize?: [number, number] } = {}): Promise<HijackedStream> {
    const body: T.ExecStartConfig = { Detach: false, Tty: !!opts.tty, ConsoleSize: opts.consoleSize };
    return this.hijack('POST', `/exec/${enc(execId)}/start`, { json: body });
  }

  execInspect(execId: string): Promise<T.ExecInspect> {
    return this.json('GET', `/exec/${enc(execId)}/json`);
  }

  async execResize(execId: string, height: number, width: number): Promise<void> {
    await this.empty('POST', `/exec/${enc(execId)}/resize`, { query: { h: height, w: width } });
  }

  // ---------------------------------------------------------------- images

  imageList(opts: { all?: boolean; filters?: T.Filters; digests?: boolean } = {}): Promise<T.ImageSummary[]> {
    return this.json('GET', '/images/json', {
      query: { all: opts.all || undefined, filters: encodeFilters(opts.filters), digests: opts.digests || undefined },
    });
  }

  imageInspect(name: string): Promise<T.ImageInspect> {
    return this.json('GET', `/images/${encName(name)}/json`);
  }

  imageInspectRaw(name: string): Promise<{ value: T.ImageInspect; raw: string }> {
    return this.jsonRaw('GET', `/images/${encName(name)}/json`);
  }

  imageHistory(name: string): Promise<T.HistoryItem[]> {
    return this.json('GET', `/images/${encName(name)}/history`);
  }

  async imageTag(source: string, repo: string, tag?: string): Promise<void> {
    await this.empty('POST', `/images/${encName(source)}/tag`, { query: { repo, tag } });
  }

  imageRemove(name: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<T.ImageDeleteItem[]> {
    return this.json('DELETE', `/images/${encName(name)}`, {
      query: { force: opts.force || undefined, noprune: opts.noprune || undefined },
    });
  }

  imagePrune(filters?: T.Filters): Promise<T.ImagePruneReport> {
    return this.json('POST', '/images/prune', { query: { filters: encodeFilters(filters) } });
  }

  /** Pull progress; `tag` may be a tag or a digest, empty for all tags. */
  imagePull(
    fromImage: string,
    opts: { tag?: string; platform?: string; auth?: T.AuthConfig } = {},
  ): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', '/images/create', {
      query: { fromImage, tag: opts.tag, platform: opts.platform },
      headers: { 'X-Registry-Auth': encodeAuth(opts.auth) },
    });
  }

  imagePush(name: string, opts: { tag?: string; auth?: T.AuthConfig } = {}): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', `/images/${encName(name)}/push`, {
      query: { tag: opts.tag },
      headers: { 'X-Registry-Auth': encodeAuth(opts.auth) },
    });
  }

  /** Imports a rootfs tarball (streamed from `source`) as an image. */
  imageImport(
    source: Body,
    opts: {
      repo?: string;
      tag?: string;
      message?: string;
      changes?: string[];
      platform?: string;
      fromSrc?: string;
    } = {},
  ): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', '/images/create', {
      query: {
        fromSrc: opts.fromSrc ?? '-',
        repo: opts.repo,
        tag: opts.tag,
        message: opts.message,
        changes: opts.changes,
        platform: opts.platform,
      },
      body: opts.fromSrc && opts.fromSrc !== '-' ? undefined : source,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }

  /** Loads a `docker save` tarball streamed from `source`. */
  imageLoad(source: Body, opts: { quiet?: boolean } = {}): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', '/images/load', {
      query: { quiet: opts.quiet ?? false },
      body: source,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }

  /** A `docker save` tarball of the named images. */
  imageSave(names: string[]): Promise<IncomingMessage> {
    return this.request('GET', '/images/get', { query: { names } });
  }

  /** The legacy builder (`POST /build`) over a context tar stream. */
  imageBuild(context: Body, opts: BuildOptions = {}): Promise<AsyncGenerator<T.JsonMessage>> {
    const headers: Record<string, string> = { 'Content-Type': 'application/x-tar' };
    if (opts.registryConfig)
      headers['X-Registry-Config'] = Buffer.from(JSON.stringify(opts.registryConfig)).toString('base64url');
    return this.progress('POST', '/build', {
      query: {
        t: opts.tags,
        dockerfile: opts.dockerfile,
        q: opts.quiet || undefined,
        nocache: opts.noCache || undefined,
        rm: opts.remove ?? true,
        forcerm: opts.forceRemove || undefined,
        pull: opts.pull || undefined,
        target: opts.target,
        platform: opts.platform,
        networkmode: opts.networkMode,
        buildargs: opts.buildArgs ? JSON.stringify(opts.buildArgs) : undefined,
        labels: opts.labels ? JSON.stringify(opts.labels) : undefined,
        cachefrom: opts.cacheFrom?.length ? JSON.stringify(opts.cacheFrom) : undefined,
        extrahosts: opts.extraHosts?.length ? opts.extraHosts.join(',') : undefined,
        shmsize: opts.shmSize,
        memory: opts.memory,
        remote: opts.remote,
        version: '1',
      },
      body: context,
      headers,
    });
  }

  /** Berth's offline base images: `busybox`, `debian:bookworm` (progress like a pull). */
  imageBootstrap(image: string): Promise<AsyncGenerator<T.JsonMessage>> {
    return this.progress('POST', '/berth/v1/images/bootstrap', { query: { image }, unversioned: true });
  }

  // ---------------------------------------------------------------- networks

  networkList(filters?: T.Filters): Promise<T.Network[]> {
    return this.json('GET', '/networks', { query: { filters: encodeFilters(filters) } });
  }

  networkInspect(id: string, opts: { verbose?: boolean; scope?: string } = {}): Promise<T.Network> {
    return this.json('GET', `/networks/${enc(id)}`, {
      query: { verbose: opts.verbose || undefined, scope: opts.scope },
    });
  }

  networkInspectRaw(id: string, opts: { verbose?: boolean } = {}): Promise<{ value: T.Network; raw: string }> {
    return this.jsonRaw('GET', `/networks/${enc(id)}`, { query: { verbose: opts.verbose || undefined } });
  }

  networkCreate(body: T.NetworkCreateRequest): Promise<T.NetworkCreateResponse> {
    return this.json('POST', '/networks/create', { json: body });
  }

  async networkRemove(id: string): Promise<void> {
    await this.empty('DELETE', `/networks/${enc(id)}`);
  }

  async networkConnect(network: string, container: string, endpoint?: T.EndpointSettings): Promise<void> {
    const body: T.NetworkConnectRequest = { Container: container, EndpointConfig: endpoint };
    await this.empty('POST', `/networks/${enc(network)}/connect`, { json: body });
  }

  async networkDisconnect(network: string, container: string, force = false): Promise<void> {
    const body: T.NetworkDisconnectRequest = { Container: container, Force: force };
    await this.empty('POST', `/networks/${enc(network)}/disconnect`, { json: body });
  }

  networkPrune(filters?: T.Filters): Promise<T.NetworkPruneReport> {
    return this.json('POST', '/networks/prune', { query: { filters: encodeFilters(filters) } });
  }

  // ---------------------------------------------------------------- volumes

  volumeList(filters?: T.Filters): Promise<T.VolumeListResponse> {
    return this.json('GET', '/volumes', { query: { filters: encodeFilters(filters) } });
  }

  volumeInspect(name: string): Promise<T.Volume> {
    return this.json('GET', `/volumes/${enc(name)}`);
  }

  volumeInspectRaw(name: string): Promise<{ value: T.Volume; raw: string }> {
    return this.jsonRaw('GET', `/volumes/${enc(name)}`);
  }

  volumeCreate(body: T.VolumeCreateRequest): Promise<T.Volume> {
    return this.json('POST', '/volumes/create', { json: body });
  }

  async volumeRemove(name: string, force = false): Promise<void> {
    await this.empty('DELETE', `/volumes/${enc(name)}`, { query: { force: force || undefined } });
  }

  volumePrune(filters?: T.Filters): Promise<T.VolumePruneReport> {
    return this.json('POST', '/volumes/prune', { query: { filters: encodeFilters(filters) } });
  }

  /** `POST /build/prune`: the build cache (`all`: not only what no image keeps). */
  buildPrune(opts: { all?: boolean; filters?: T.Filters } = {}): Promise<T.BuildCachePruneReport> {
    return this.json('POST', '/build/prune', {
      query: { all: opts.all || undefined, filters: encodeFilters(opts.filters) },
    });
  }
}

export interface BuildOptions {
  tags?: string[];
  dockerfile?: string;
  quiet?: boolean;
  noCache?: boolean;
  remove?: boolean;
  forceRemove?: boolean;
  pull?: boolean;
  target?: string;
  platform?: string;
  networkMode?: string;
  buildArgs?: Record<string, string | null>;
  labels?: Record<string, string>;
  cacheFrom?: string[];
  extraHosts?: string[];
  shmSize?: number;
  memory?: number;
  remote?: string;
  registryConfig?: Record<string, T.AuthConfig>;
}

/** Image names keep their slashes in the path (`/images/localhost:5000/app/json`). */
function encName(name: string): string {
  return name.split('/').map(enc).join('/');
}

function decodePathStat(h: string | string[] | undefined): T.PathStat {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return { name: '', size: 0, mode: 0, mtime: '', linkTarget: '' };
  return JSON.parse(Buffer.from(v, 'base64').toString('utf8')) as T.PathStat;
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

export async function readAll(s: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

async function drain(res: IncomingMessage): Promise<void> {
  for await (const _ of res) void _;
}
