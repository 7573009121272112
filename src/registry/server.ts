/**
 * The registry on a TCP address, over HTTP or (with `tls`) HTTPS: the `/v2/` handler
 * (handler.ts) with listening, request logging, a cap on concurrent requests and a shutdown
 * that lets requests finish for a while and then cuts them off — an upload cut off is rolled
 * back by the storage, so nothing half-written becomes visible.
 *
 * With `htpasswd` set, `RegistryServer` checks HTTP Basic credentials before any handler runs
 * (htpasswd.ts), so every route is covered; `createRegistryHandler` alone does no auth.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryError, registryError } from './errors.ts';
import {
  API_VERSION_HEADER,
  createRegistryHandler,
  errorCodeOf,
  sendError,
  type Handler,
  type HandlerOptions,
} from './handler.ts';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseBasic, type Htpasswd } from './htpasswd.ts';
import type { EventAction, EventTarget, Notifier } from './notifications.ts';
import { httpServer, type ServerTls } from '../tls/index.ts';
import type { RegistryStorage } from './storage.ts';

/** What the registry logs through; berthd's Logger fits. */
export interface RegistryLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Each request's ID, shared by the events it causes. */
const requestIds = new WeakMap<IncomingMessage, string>();

export const silentLogger: RegistryLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface RegistryServerOptions {
  log?: RegistryLogger;
  /** Requests served at once; beyond it the registry answers TOOMANYREQUESTS (429). */
  maxConcurrentRequests?: number;
  /** How often abandoned uploads are looked for (default hourly). */
  expireIntervalMs?: number;
  /** `storage.maintenance.uploadpurging.enabled` (default true). */
  purgeUploads?: boolean;
  /** `uploadpurging.dryrun`: log the uploads that would be removed, remove none. */
  purgeDryRun?: boolean;
  /** `storage.delete.enabled` and `storage.maintenance.readonly.enabled` (handler.ts). */
  handler?: HandlerOptions;
  /**
   * When set, every request needs HTTP Basic credentials from this file (registry:2's
   * `auth: htpasswd`); without or with wrong ones the answer is 401 UNAUTHORIZED with a
   * `WWW-Authenticate: Basic realm=...` challenge, which docker's client answers.
   */
  htpasswd?: Htpasswd;
  /** The challenge's realm (default "berth-registry"). */
  realm?: string;
  /** Serve HTTPS (registry:2's `http.tls`), asking clients for a certificate when it has a client CA. */
  tls?: ServerTls;
  /** Where push, pull, mount and delete events go (`notifications:`); the server does not close it. */
  notifier?: Notifier;
}

/**
 * The registry on a TCP address. Lifecycle: `listen` once, `close` once; `close` stops
 * accepting, lets requests in flight finish within the grace period, then cuts off the rest
 * and waits for their handlers to have rolled back.
 */
export class RegistryServer {
  readonly storage: RegistryStorage;
  private readonly log: RegistryLogger;
  private readonly handler: Handler;
  private readonly server: Server;
  private readonly maxConcurrent: number;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly expireTimer: NodeJS.Timeout;
  private readonly htpasswd?: Htpasswd;
  private readonly challenge: string;
  private readonly tls: boolean;
  private source = hostname();

  constructor(storage: RegistryStorage, options: RegistryServerOptions = {}) {
    this.storage = storage;
    this.log = options.log ?? silentLogger;
    this.maxConcurrent = options.maxConcurrentRequests ?? 512;
    const notifier = options.notifier;
    this.handler = createRegistryHandler(storage, {
      ...options.handler,
      onEvent: notifier
        ? (req, action, target) => void notifier.notify(this.event(req, action, target, notifier.instanceID))
        : undefined,
    });
    this.tls = options.tls !== undefined;
    this.htpasswd = options.htpasswd;
    this.challenge = `Basic realm="${(options.realm ?? 'berth-registry').replace(/["\\]/g, '')}"`;
    this.server = httpServer(
      {
        // A layer upload can take longer than Node's default 5 minutes per request; a stalled
        // connection is caught by the idle timeout below instead.
        requestTimeout: 0,
        headersTimeout: 60_000,
      },
      options.tls,
      (req, res) => this.serve(req, res),
      (m) => this.log.info(m),
    );
    this.server.setTimeout(10 * 60_000);
    this.expireTimer = setInterval(() => {
      if (options.purgeUploads === false) return;
      storage.uploads
        .expire(options.purgeDryRun)
        .then(
          (gone) =>
            gone.length &&
            this.log.info(
              options.purgeDryRun
                ? `upload purging (dry run) would remove: ${gone.join(', ')}`
                : `removed ${gone.length} abandoned upload(s)`,
            ),
        )
        .catch((e) => this.log.warn(`expire uploads: ${(e as Error).message}`));
    }, options.expireIntervalMs ?? 3600_000);
    this.expireTimer.unref();
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    requestIds.set(req, randomUUID());
    res.on('close', () => {
      const ms = (performance.now() - started).toFixed(1);
      const outcome = res.writableFinished
        ? `${res.statusCode}${errorCodeOf.has(res) ? ` ${errorCodeOf.get(res)}` : ''}`
        : 'aborted';
      this.log.debug(`${req.method} ${req.url} ${outcome} ${ms}ms`);
    });
    if (this.inFlight.size >= this.maxConcurrent) {
      res.setHeader(API_VERSION_HEADER, 'registry/2.0');
      req.resume();
      sendError(
        res,
        registryError('TOOMANYREQUESTS', 'too many requests in progress, retry later'),
        req.method === 'HEAD',
        { 'Retry-After': '1' },
      );
      return;
    }
    const task = this.authorized(req, res)
      .then((ok) => (ok ? this.handler(req, res) : undefined))
      .catch((e: unknown) => this.fail(req, res, e));
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  /** A notification in distribution's shape for what the handler did. */
  private event(req: IncomingMessage, action: EventAction, target: EventTarget, instanceID: string) {
    const host = req.headers.host ?? this.source;
    const user = parseBasic(req.headers.authorization)?.user;
    return {
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      action,
      target: { ...target, ...(target.url ? { url: `${this.tls ? 'https' : 'http'}://${host}${target.url}` } : {}) },
      request: {
        id: requestIds.get(req) ?? randomUUID(),
        addr: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`,
        host,
        method: req.method ?? '',
        useragent: String(req.headers['user-agent'] ?? ''),
      },
      // Only a user the htpasswd check let through is named: without auth nobody is.
      actor: this.htpasswd && user !== undefined ? { name: user } : {},
      source: { addr: this.source, instanceID },
    };
  }

  /** Answers 401 and resolves false unless the request carries a user of the htpasswd file. */
  private async authorized(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (!this.htpasswd || (await this.htpasswd.verify(req.headers.authorization))) return true;
    // Logged without the header: it holds the password, merely base64-encoded.
    if (req.headers.authorization) this.log.info(`${req.method} ${req.url}: authentication failed`);
    res.setHeader(API_VERSION_HEADER, 'registry/2.0');
    req.resume();
    sendError(res, registryError('UNAUTHORIZED', 'authentication required'), req.method === 'HEAD', {
      'WWW-Authenticate': this.challenge,
    });
    return false;
  }

  private fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    const head = req.method === 'HEAD';
    if (req.destroyed && !req.complete) {
      this.log.warn(`${req.method} ${req.url}: the client went away: ${(e as Error)?.message ?? e}`);
      res.destroy();
      return;
    }
    if (res.headersSent) {
      this.log.warn(`${req.method} ${req.url}: response cut off: ${(e as Error)?.message ?? e}`);
      res.destroy();
      return;
    }
    if (e instanceof RegistryError) {
      if (e.status >= 500) this.log.error(`${req.method} ${req.url}: ${e.message}`);
      sendError(res, e, head);
      return;
    }
    this.log.error(`${req.method} ${req.url}: ${(e as Error)?.stack ?? e}`);
    sendError(res, registryError('UNKNOWN', `internal error: ${(e as Error)?.message ?? e}`), head);
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.source = `${hostname()}:${addr.port}`;
    return addr;
  }

  async close(graceMs = 10_000): Promise<void> {
    clearInterval(this.expireTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const drained = Promise.allSettled([...this.inFlight]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.warn(`cutting off ${this.inFlight.size} request(s) still in progress`);
      this.server.closeAllConnections();
      await Promise.allSettled([...this.inFlight]);
    }
    this.server.closeAllConnections();
    await closed;
  }
}
