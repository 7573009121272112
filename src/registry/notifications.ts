/**
 * Webhook notifications in distribution's shape: each push, pull, mount and delete becomes an
 * event (`id`, `timestamp`, `action`, `target`, `request`, `actor`, `source`) POSTed to every
 * configured endpoint inside `{"events":[...]}` as
 * `application/vnd.docker.distribution.events.v2+json`.
 *
 * Unlike distribution's in-memory queue, each endpoint's queue is a directory of one file per
 * event (`<root>/notifications/<endpoint>/<time>-<seq>.json`, written by rename), so events not
 * yet delivered survive a restart or a kill -9 and go out in order when the process comes back.
 * A delivery is a success on any 2xx; otherwise the endpoint is retried after its backoff for
 * as long as it takes, and after `threshold` failures in a row it is logged as down.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { NotificationEndpoint } from './config.ts';
import { writeAtomic } from './layout.ts';

export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v2+json';
/** Events sent in one request at most. */
const BATCH = 32;

export type EventAction = 'push' | 'pull' | 'delete' | 'mount';

export interface EventTarget {
  mediaType?: string;
  size?: number;
  digest?: string;
  length?: number;
  repository: string;
  url?: string;
  tag?: string;
  /** For a mount: where the blob came from. */
  fromRepository?: string;
  /**
   * For a manifest pushed or pulled, with `notifications.events.includereferences`: what it
   * references (an image's config and layers, an index's manifests), as descriptors.
   */
  references?: EventReference[];
}

export interface EventReference {
  mediaType?: string;
  digest: string;
  size?: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: object;
}

export interface RegistryEvent {
  id: string;
  timestamp: string;
  action: EventAction;
  target: EventTarget;
  request: { id: string; addr: string; host: string; method: string; useragent: string };
  actor: { name?: string };
  source: { addr: string; instanceID: string };
}

export interface NotifierLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

/** Whether an endpoint wants an event (its `ignoredmediatypes` and `ignore` lists). */
export function wanted(e: NotificationEndpoint, event: Pick<RegistryEvent, 'action' | 'target'>): boolean {
  if (e.disabled) return false;
  const mt = event.target.mediaType;
  if (mt !== undefined && (e.ignoredMediaTypes.includes(mt) || e.ignore.mediaTypes.includes(mt))) return false;
  return !e.ignore.actions.includes(event.action);
}

class EndpointQueue {
  readonly dir: string;
  private readonly e: NotificationEndpoint;
  private readonly log: NotifierLogger;
  private seq = 0;
  private running = false;
  private again = false;
  private closed = false;
  private failures = 0;
  private wake?: () => void;
  /** Settles when the current sending loop ends. */
  private loop: Promise<void> = Promise.resolve();

  constructor(dir: string, e: NotificationEndpoint, log: NotifierLogger) {
    this.dir = dir;
    this.e = e;
    this.log = log;
  }

  /** Files are written one after another, so none is on disk before an earlier one. */
  private writes: Promise<void> = Promise.resolve();

  add(event: RegistryEvent): Promise<void> {
    const name = `${Date.now().toString().padStart(15, '0')}-${(this.seq++).toString().padStart(9, '0')}.json`;
    const written = this.writes.then(() => writeAtomic(join(this.dir, name), JSON.stringify(event)));
    this.writes = written.catch(() => {});
    return written.then(() => this.kick());
  }

  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.loop = this.drain().finally(() => {
      this.running = false;
    });
  }

  private async pending(): Promise<string[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => /^\d+-\d+\.json$/.test(n)).sort();
  }

  private async drain(): Promise<void> {
    for (;;) {
      this.again = false;
      const names = (await this.pending()).slice(0, BATCH);
      if (names.length === 0 || this.closed) {
        if (this.again && !this.closed) continue;
        return;
      }
      const events: unknown[] = [];
      for (const n of names) {
        const text = await fs.readFile(join(this.dir, n), 'utf8').catch(() => undefined);
        try {
          if (text !== undefined) events.push(JSON.parse(text));
        } catch {
          // a file no write of ours produces (writes are atomic): dropped below with the batch
        }
      }
      const error = events.length === 0 ? undefined : await this.post(events);
      if (error === undefined) {
        if (this.failures >= this.e.threshold) this.log.info(`notifications: endpoint ${this.e.name} is back`);
        this.failures = 0;
        for (const n of names) await fs.rm(join(this.dir, n), { force: true });
        continue;
      }
      this.failures++;
      if (this.failures === this.e.threshold)
        this.log.warn(
          `notifications: endpoint ${this.e.name} is down after ${this.failures} failures (${error}); events are kept and retried`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.e.backoffMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One delivery; undefined on success, else why it failed. */
  private post(events: unknown[]): Promise<string | undefined> {
    const body = Buffer.from(JSON.stringify({ events }));
    const url = new URL(this.e.url);
    const headers: Record<string, string | string[] | number> = {
      ...this.e.headers,
      'Content-Type': EVENTS_MEDIA_TYPE,
      'Content-Length': body.length,
    };
    return new Promise((resolve) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: 'POST', headers }, (res) => {
        res.resume();
        const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
        resolve(ok ? undefined : `status ${res.statusCode}`);
      });
      req.setTimeout(this.e.timeoutMs, () => req.destroy(new Error(`no answer in ${this.e.timeoutMs}ms`)));
      req.on('error', (e) => resolve(e.message));
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loop;
  }
}

/** The endpoints' queues of a registry. Lifecycle: `open`, `notify` any number of times, `close`. */
export class Notifier {
  private readonly queues: { e: NotificationEndpoint; q: EndpointQueue }[];
  private readonly log: NotifierLogger;
  readonly instanceID = randomUUID();

  private constructor(queues: { e: NotificationEndpoint; q: EndpointQueue }[], log: NotifierLogger) {
    this.queues = queues;
    this.log = log;
  }

  /** Opens each endpoint's queue under `dir` and starts sending what an earlier run left. */
  static async open(dir: string, endpoints: NotificationEndpoint[], log: NotifierLogger): Promise<Notifier> {
    const queues = [];
    for (const e of endpoints) {
      const q = new EndpointQueue(join(dir, e.name), e, log);
      await fs.mkdir(q.dir, { recursive: true });
      queues.push({ e, q });
    }
    const n = new Notifier(queues, log);
    for (const { e, q } of queues) if (!e.disabled) q.kick();
    return n;
  }

  /** Queues an event for every endpoint that wants it; a queue that cannot be written is logged. */
  async notify(event: RegistryEvent): Promise<void> {
    // Queued in the order of the calls (add names and orders its file at once), then awaited.
    const adds = this.queues
      .filter(({ e }) => wanted(e, event))
      .map(({ e, q }) =>
        q.add(event).catch((err) => this.log.warn(`notifications: queue for ${e.name}: ${(err as Error).message}`)),
      );
    await Promise.all(adds);
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map(({ q }) => q.close()));
  }
}
