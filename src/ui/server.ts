/**
 * The dashboard's HTTP server: the page and its two assets, and the allow-listed `/api/`
 * endpoints (routes.ts), each answered by calls of the typed Engine API client.
 *
 * Lifecycle: `startDashboard()` listens and resolves once bound; `close()` ends every open
 * connection (and with them the daemon streams they were reading) and stops listening.
 *
 *   const d = await startDashboard({ client: new EngineClient(host), listen: { host: '127.0.0.1', port: 8088 } });
 *   console.log(d.url);   // http://127.0.0.1:8088/?token=...
 *   await d.close();
 *
 * Invariants: every answer but the token exchange needs the token (cookie or Bearer); every
 * request needs an allowed Host; `/api/` requests need an allowed Origin when one is sent;
 * a streamed answer's daemon request is aborted as soon as the browser's connection closes.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, ConnectionError, demux, type EngineClient } from '../client/index.ts';
import { humanSize } from '../spec/index.ts';
import { httpServer, type ServerTls } from '../tls/index.ts';
import { matchRoute, type Param, type Route } from './routes.ts';
import {
  hostAllowed,
  newToken,
  originAllowed,
  requestToken,
  sessionCookie,
  tokenMatches,
  urlHost,
  type Listen,
} from './security.ts';
import { ago, containerRow, eventView, imageRows, networkRow, overview, statsView, volumeRow } from './views.ts';

export interface DashboardOptions {
  client: EngineClient;
  listen: Listen;
  /** Serve HTTPS: the token and its cookie then never cross the network in clear text. */
  tls?: ServerTls;
  /** Fixed token (tests); default: 32 random bytes. */
  token?: string;
}

export interface Dashboard {
  /** The URL to open, token included. */
  readonly url: string;
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: Listen;
  close(): Promise<void>;
}

const STATIC_DIR = join(import.meta.dirname, 'static');
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** Sent with everything: nothing from elsewhere runs, nothing frames us, no token leaks in a Referer. */
const COMMON_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

interface Ctx {
  client: EngineClient;
  params: Partial<Record<Param, string>>;
  query: URLSearchParams;
  res: ServerResponse;
  /** Aborted when the browser's connection closes. */
  signal: AbortSignal;
}

type Handler = (c: Ctx) => Promise<unknown>;

const flag = (q: URLSearchParams, k: string) => ['1', 'true'].includes(q.get(k) ?? '');
const p = (c: Ctx, k: Param) => c.params[k]!;
const reclaimed = (r: { SpaceReclaimed?: number }) => ({ ...r, reclaimed: humanSize(r.SpaceReclaimed ?? 0, 4) });
/** A streamed answer writes its own response; handlers return this to say so. */
const STREAMED = Symbol('streamed');

export const HANDLERS: Record<string, Handler> = {
  async overview({ client }) {
    const [v, containers, images, volumes, networks, df] = await Promise.all([
      client.systemVersion(),
      client.containerList({ all: true }),
      client.imageList(),
      client.volumeList(),
      client.networkList(),
      client.systemDf(),
    ]);
    return overview(v, containers, images.length, (volumes.Volumes ?? []).length, networks.length, df);
  },
  'containers.list': async ({ client }) => {
    const now = Date.now();
    return (await client.containerList({ all: true })).map((c) => containerRow(c, now));
  },
  'containers.inspect': (c) => c.client.containerInspect(p(c, 'container')),
  'containers.start': (c) => c.client.containerStart(p(c, 'container')),
  'containers.stop': (c) => c.client.containerStop(p(c, 'container')),
  'containers.restart': (c) => c.client.containerRestart(p(c, 'container')),
  'containers.pause': (c) => c.client.containerPause(p(c, 'container')),
  'containers.unpause': (c) => c.client.containerUnpause(p(c, 'container')),
  'containers.kill': (c) => c.client.containerKill(p(c, 'container')),
  'containers.remove': (c) => c.client.containerRemove(p(c, 'container'), { force: flag(c.query, 'force') }),
  'containers.top': (c) => c.client.containerTop(p(c, 'container')),
  'containers.prune': async (c) => reclaimed(await c.client.containerPrune()),
  'containers.logs': streamLogs,
  'containers.stats': streamStats,
  'images.list': async ({ client }) => {
    const [images, containers] = await Promise.all([client.imageList(), client.containerList({ all: true })]);
    return imageRows(images, Date.now(), containers);
  },
  'images.inspect': (c) => c.client.imageInspect(p(c, 'image')),
  'images.history': async (c) => {
    const now = Date.now();
    return (await c.client.imageHistory(p(c, 'image'))).map((x) => ({
      ...x,
      size: humanSize(x.Size, 3),
      created: ago(x.Created, now),
    }));
  },
  'images.remove': (c) => c.client.imageRemove(p(c, 'image'), { force: flag(c.query, 'force') }),
  // dangling images only, as `docker image prune` without -a
  'images.prune': async (c) => reclaimed(await c.client.imagePrune({ dangling: ['true'] })),
  'volumes.list': async ({ client }) => {
    const now = Date.now();
    return ((await client.volumeList()).Volumes ?? [])
      .map((v) => volumeRow(v, now))
      .sort((a, b) => a.name.localeCompare(b.name));
  },
  'volumes.inspect': (c) => c.client.volumeInspect(p(c, 'volume')),
  'volumes.remove': (c) => c.client.volumeRemove(p(c, 'volume')),
  'volumes.prune': async (c) => reclaimed(await c.client.volumePrune()),
  'networks.list': async ({ client }) =>
    (await client.networkList()).map(networkRow).sort((a, b) => a.name.localeCompare(b.name)),
  'networks.inspect': (c) => c.client.networkInspect(p(c, 'network')),
  'networks.remove': (c) => c.client.networkRemove(p(c, 'network')),
  'networks.prune': (c) => c.client.networkPrune(),
  events: streamEvents,
};

/** `tail`: a count or `all`; anything else is the default, 200 lines. */
export function tailParam(v: string | null): string {
  return v === 'all' || (v !== null && /^\d{1,6}$/.test(v)) ? v : '200';
}

function startStream(res: ServerResponse, type: string): void {
  res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': type });
  res.flushHeaders();
}

/** The container's output as text (stdout and stderr interleaved as they came), live with follow=1. */
async function streamLogs(c: Ctx): Promise<typeof STREAMED> {
  const id = p(c, 'container');
  const info = await c.client.containerInspect(id);
  const upstream = await c.client.containerLogs(id, {
    follow: flag(c.query, 'follow'),
    tail: tailParam(c.query.get('tail')),
    timestamps: flag(c.query, 'timestamps'),
    signal: c.signal,
  });
  startStream(c.res, 'text/plain; charset=utf-8');
  if (info.Config?.Tty) {
    for await (const chunk of upstream) if (!c.res.write(chunk)) await drained(c);
  } else {
    for await (const f of demux(upstream)) if (!c.res.write(f.data)) await drained(c);
  }
  return STREAMED;
}

/** One `docker stats` line a second, as newline-delimited JSON. */
async function streamStats(c: Ctx): Promise<typeof STREAMED> {
  const samples = await c.client.containerStatsStream(p(c, 'container'), c.signal);
  startStream(c.res, 'application/x-ndjson');
  for await (const s of samples) if (!c.res.write(JSON.stringify(statsView(s)) + '\n')) await drained(c);
  return STREAMED;
}

/** The daemon's events from now on, as newline-delimited JSON. */
async function streamEvents(c: Ctx): Promise<typeof STREAMED> {
  const events = await c.client.events({ signal: c.signal });
  startStream(c.res, 'application/x-ndjson');
  // a first line at once, so the page knows the feed is live before anything happens
  c.res.write(JSON.stringify({ live: true }) + '\n');
  for await (const e of events) if (!c.res.write(JSON.stringify(eventView(e)) + '\n')) await drained(c);
  return STREAMED;
}

function drained(c: Ctx): Promise<void> {
  return new Promise((resolve) => {
    if (c.signal.aborted) return resolve();
    c.res.once('drain', resolve);
    c.signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...extra,
  });
  res.end(text);
}

const DENIED_PAGE = `<!doctype html><meta charset="utf-8"><title>Berth dashboard</title>
<p>This dashboard needs its access token. Open the URL that <code>berth dashboard</code> printed
(it ends in <code>?token=…</code>).</p>`;

function sendPage(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'text/html; charset=utf-8' });
  res.end(html);
}

/** How a failure reaches the page: the daemon's own message and status. */
export function errorAnswer(e: unknown): { status: number; message: string } {
  if (e instanceof ApiError) return { status: e.status >= 400 && e.status < 600 ? e.status : 500, message: e.message };
  if (e instanceof ConnectionError) return { status: 502, message: e.message };
  return { status: 500, message: e instanceof Error ? e.message : String(e) };
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const token = opts.token ?? newToken();
  const assets = Object.fromEntries(
    Object.entries(ASSETS).map(([k, a]) => [k, { ...a, body: readFileSync(join(STATIC_DIR, a.file)) }]),
  );
  let listen = opts.listen;
  const secure = !!opts.tls;
  const inFlight: InFlight = { requests: new Set(), streams: 0 };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const raw = req.url ?? '/';
    if (!hostAllowed(req.headers.host, listen, secure)) {
      return sendJson(res, 403, {
        message: `host "${req.headers.host ?? ''}" not allowed: open the dashboard at ${urlHost(listen)} or localhost`,
      });
    }
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));

    // the printed URL: trade its token for the session cookie and drop it from the address bar
    if (path === '/' && query.has('token') && (method === 'GET' || method === 'HEAD')) {
      if (!tokenMatches(query.get('token') ?? undefined, token)) return sendPage(res, 401, DENIED_PAGE);
      res.writeHead(303, { ...COMMON_HEADERS, Location: '/', 'Set-Cookie': sessionCookie(token, listen.port, secure) });
      return void res.end();
    }
    const authed = tokenMatches(requestToken(req.headers, listen.port), token);

    if (path.startsWith('/api/')) {
      if (!authed) return sendJson(res, 401, { message: 'missing or wrong dashboard token' });
      if (!originAllowed(req.headers as { origin?: string; 'sec-fetch-site'?: string }, listen, secure)) {
        return sendJson(res, 403, { message: 'cross-origin request refused' });
      }
      const m = matchRoute(method, path.slice(5));
      if (!m.ok) return sendJson(res, m.status, { message: m.message });
      return api(opts.client, m.route, m.params, query, req, res, inFlight);
    }
    const asset = assets[path];
    if (!asset || (method !== 'GET' && method !== 'HEAD')) return sendJson(res, 404, { message: 'not found' });
    if (!authed) return sendPage(res, 401, DENIED_PAGE);
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': asset.type, 'Content-Length': String(asset.body.length) });
    res.end(method === 'HEAD' ? undefined : asset.body);
  };

  const server: Server = httpServer({}, opts.tls, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: String(e) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr && typeof addr === 'object') listen = { host: opts.listen.host, port: addr.port };
  return {
    url: `${secure ? 'https' : 'http'}://${urlHost(listen)}/?token=${token}`,
    address: listen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // open streams (logs follow, events) would hold close() forever: end them and their daemon requests
        for (const ac of inFlight.requests) ac.abort();
        server.closeAllConnections();
      }),
  };
}

/**
 * Streams open at once, at most. Each holds one of the client's 16 daemon connections for as
 * long as it lasts; beyond this many, lists and actions would queue behind them and the
 * dashboard would seem to hang, so a further stream is refused instead.
 */
export const MAX_STREAMS = 12;

interface InFlight {
  /** Every daemon request in flight, so that close() can end them at once. */
  requests: Set<AbortController>;
  streams: number;
}

async function api(
  client: EngineClient,
  route: Route,
  params: Partial<Record<Param, string>>,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
  inFlight: InFlight,
): Promise<void> {
  if (route.stream && inFlight.streams >= MAX_STREAMS) {
    return sendJson(res, 429, {
      message: `too many live streams open (${MAX_STREAMS}): close other dashboard tabs or views`,
    });
  }
  const ac = new AbortController();
  inFlight.requests.add(ac);
  if (route.stream) inFlight.streams++;
  // 'close' on the response fires when the answer is done or the browser went away; either way the daemon request may go
  res.once('close', () => {
    inFlight.requests.delete(ac);
    if (route.stream) inFlight.streams--;
    ac.abort();
  });
  req.resume();
  try {
    const out = await HANDLERS[route.name]!({ client, params, query, res, signal: ac.signal });
    if (out === STREAMED) {
      res.end();
      return;
    }
    sendJson(res, 200, out ?? { ok: true });
  } catch (e) {
    if (ac.signal.aborted) return void res.destroy();
    const { status, message } = errorAnswer(e);
    if (res.headersSent) {
      // a stream that failed midway: say so in-band, the status is long gone
      res.end(route.name === 'containers.logs' ? `\n[error: ${message}]\n` : JSON.stringify({ error: message }) + '\n');
      return;
    }
    sendJson(res, status, { message });
  }
}
