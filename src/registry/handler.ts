/**
 * The distribution spec's `/v2/` API over `RegistryStorage`, as a plain `(req, res)` function
 * (tests call it through a server on a loopback port): the routes (catalog, tags, referrers,
 * blobs, uploads, manifests), pagination, byte ranges, and the spec's error bodies. It does
 * no auth, logging or admission; `RegistryServer` (server.ts) adds those around it.
 *
 * Every response carries `Docker-Distribution-API-Version: registry/2.0`; every error is the
 * spec's `{"errors":[{code,message,detail}]}` (no body for HEAD).
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { MediaType, type Digest } from '../spec/index.ts';
import { RegistryError, registryError } from './errors.ts';
import {
  checkDigest,
  checkRepositoryName,
  isRepositoryName,
  parseManifestReference,
  type ManifestReference,
} from './names.ts';
import { MAX_MANIFEST_BYTES } from './manifests.ts';
import type { RegistryStorage } from './storage.ts';
import type { ChunkRange } from './uploads.ts';
import type { EventAction, EventReference, EventTarget } from './notifications.ts';

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';
/** The catalog's page size when the client gives none, and the most it may ask for. */
const CATALOG_PAGE = 1000;

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number> = {},
  body?: string | Buffer,
  head = false,
): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (body === undefined) {
    res.setHeader('Content-Length', 0);
    res.writeHead(status).end();
    return;
  }
  if (!res.hasHeader('Content-Length')) res.setHeader('Content-Length', Buffer.byteLength(body));
  res.writeHead(status);
  res.end(head ? undefined : body);
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  head = false,
): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value), head);
}

/** The error code each failed response carried, for its log line. */
/** The spec error code each failed response carried, for the request log. */
export const errorCodeOf = new WeakMap<ServerResponse, string>();

export function sendError(
  res: ServerResponse,
  err: RegistryError,
  head: boolean,
  headers: Record<string, string> = {},
): void {
  errorCodeOf.set(res, err.code);
  // A refused request whose body was not read (a blob PATCH out of order, a manifest too big)
  // closes its connection rather than have Node read gigabytes only to keep it alive.
  if (!res.req.complete) res.setHeader('Connection', 'close');
  sendJson(res, err.status, err.body(), headers, head);
}

/** Reads a body of at most `limit` bytes; SIZE_INVALID (413) beyond, without reading it all. */
async function readCapped(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const tooBig = () =>
    new RegistryError('SIZE_INVALID', `request body larger than ${limit} bytes`, { status: 413, detail: { limit } });
  if (Number.isFinite(declared) && declared > limit) throw tooBig();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooBig();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * `n` and `last` of a paginated list. A bad `n` is the spec's UNSUPPORTED ("an invalid set of
 * parameters"), 400: distribution's PAGINATION_NUMBER_INVALID is not a spec code.
 */
function pageOf(query: URLSearchParams, max?: number): { n: number | undefined; last: string | undefined } {
  const raw = query.get('n');
  let n: number | undefined;
  if (raw !== null && raw !== '') {
    if (!/^\d+$/.test(raw))
      throw new RegistryError('UNSUPPORTED', `invalid number of results requested: "${raw.slice(0, 50)}"`, {
        status: 400,
        detail: { n: raw.slice(0, 50) },
      });
    n = Number(raw);
  }
  if (max !== undefined) n = Math.min(n ?? max, max);
  const last = query.get('last') ?? undefined;
  return { n, last: last === '' ? undefined : last };
}

/** Entries after `last`, at most `n`, and the `Link` to the next page when there is more. */
function paginate(
  all: string[],
  page: { n: number | undefined; last: string | undefined },
  path: string,
): { items: string[]; link?: string } {
  // n=0 asks for nothing: an empty page, and no next one to point to.
  if (page.n === 0) return { items: [] };
  const after = page.last === undefined ? all : all.filter((x) => x > page.last!);
  if (page.n === undefined || after.length <= page.n) return { items: after };
  const items = after.slice(0, page.n);
  const next = new URLSearchParams({ n: String(page.n), last: items[items.length - 1] ?? page.last ?? '' });
  return { items, link: `<${path}?${next.toString()}>; rel="next"` };
}

function parseContentRange(value: string | undefined): ChunkRange | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(value.trim());
  if (!m) throw registryError('BLOB_UPLOAD_INVALID', `invalid Content-Range "${value.slice(0, 100)}"`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** The `Range` header of upload responses: the bytes held so far, `0-0` when none. */
function uploadRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

/** One `bytes=` range of a blob's `size` bytes; undefined means the whole blob. */
function parseByteRange(
  value: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  // Several ranges, or a unit we do not know: answer with the whole blob, as HTTP allows.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

interface Route {
  kind: 'base' | 'catalog' | 'tags' | 'manifest' | 'blob' | 'uploads' | 'upload' | 'referrers';
  name?: string;
  /** The last path segment: tag, digest or upload UUID. */
  ref?: string;
}

/**
 * Splits a `/v2/...` path. The name is taken raw and validated, so encoded slashes or dots
 * (`%2F`, `%2e`) make it invalid rather than a way out of the repository; the last segment is
 * percent-decoded (clients may encode a digest's colon) and validated by its handler.
 */
function route(path: string): Route | undefined {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  const patterns: [Route['kind'], RegExp][] = [
    ['tags', /^\/v2\/(.+)\/tags\/list$/],
    ['uploads', /^\/v2\/(.+)\/blobs\/uploads\/?$/],
    ['upload', /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/],
    ['blob', /^\/v2\/(.+)\/blobs\/([^/]+)$/],
    ['manifest', /^\/v2\/(.+)\/manifests\/([^/]+)$/],
    ['referrers', /^\/v2\/(.+)\/referrers\/([^/]+)$/],
  ];
  for (const [kind, re] of patterns) {
    const m = re.exec(path);
    if (!m) continue;
    let ref: string | undefined;
    if (m[2] !== undefined) {
      try {
        ref = decodeURIComponent(m[2]);
      } catch {
        ref = m[2];
      }
    }
    return { kind, name: m[1], ref };
  }
  return undefined;
}

function unsupported(method: string, what: string): RegistryError {
  return registryError('UNSUPPORTED', `${method} is not supported on ${what}`);
}

export interface HandlerOptions {
  /** `storage.delete.enabled`: DELETE of manifests and blobs (default true, Berth's behaviour before). */
  deleteEnabled?: boolean;
  /** `storage.maintenance.readonly.enabled`: only GET and HEAD, so a garbage collection can run. */
  readOnly?: boolean;
  /** `notifications.events.includereferences`: manifest events name what the manifest references. */
  includeReferences?: boolean;
  /**
   * Called after each push, pull (GET, not HEAD), mount and delete, with the event's target
   * (`url` a path); the server adds request, actor and source and queues the notification.
   */
  onEvent?: (req: IncomingMessage, action: EventAction, target: EventTarget) => void;
}

type Emit = (action: EventAction, target: EventTarget) => void;
const BLOB_TYPE = 'application/octet-stream';

/** The `(req, res)` function answering the distribution API from `storage`. */
export function createRegistryHandler(storage: RegistryStorage, options: HandlerOptions = {}): Handler {
  const deleteEnabled = options.deleteEnabled ?? true;
  return async (req, res) => {
    res.setHeader(API_VERSION_HEADER, 'registry/2.0');
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    // As distribution answers both: 405 UNSUPPORTED, before anything is read or written.
    if (options.readOnly && method !== 'GET' && method !== 'HEAD')
      throw registryError('UNSUPPORTED', 'registry is in read-only mode');
    if (!deleteEnabled && method === 'DELETE')
      throw registryError('UNSUPPORTED', 'deleting is disabled in this registry (storage.delete.enabled)');
    // The raw path, not a URL object's: WHATWG parsing would resolve `..` and `%2e%2e` before
    // validation could refuse them.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const url = {
      pathname: q < 0 ? raw : raw.slice(0, q),
      searchParams: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
    };
    const r = route(url.pathname);
    if (r === undefined) {
      throw new RegistryError('UNSUPPORTED', `no such endpoint "${url.pathname.slice(0, 200)}"`, { status: 404 });
    }
    if (r.kind === 'base') {
      if (method !== 'GET' && method !== 'HEAD') throw unsupported(method, '/v2/');
      sendJson(res, 200, {}, {}, head);
      return;
    }
    if (r.kind === 'catalog') {
      if (method !== 'GET') throw unsupported(method, 'the catalog');
      const page = pageOf(url.searchParams, CATALOG_PAGE);
      const { items, link } = paginate(await storage.listRepositories(), page, '/v2/_catalog');
      sendJson(res, 200, { repositories: items }, link ? { Link: link } : {});
      return;
    }
    const name = checkRepositoryName(r.name!);
    const ref = r.ref ?? '';
    const emit: Emit = (action, target) => options.onEvent?.(req, action, target);
    switch (r.kind) {
      case 'tags': {
        if (method !== 'GET') throw unsupported(method, 'the tag list');
        const page = pageOf(url.searchParams);
        const { items, link } = paginate(await storage.manifests.tags(name), page, `/v2/${name}/tags/list`);
        sendJson(res, 200, { name, tags: items }, link ? { Link: link } : {});
        return;
      }
      case 'blob':
        return blob(storage, req, res, method, name, ref, emit);
      case 'uploads':
        return startUpload(storage, req, res, method, name, url.searchParams, emit);
      case 'upload':
        return upload(storage, req, res, method, name, ref, url.searchParams, emit);
      case 'manifest':
        return manifest(storage, req, res, method, name, ref, emit, options.includeReferences === true);
      case 'referrers': {
        if (method !== 'GET') throw unsupported(method, 'referrers');
        const digest = checkDigest(ref);
        const artifactType = url.searchParams.get('artifactType') ?? undefined;
        const manifests = await storage.manifests.referrers(name, digest, artifactType);
        const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
        send(
          res,
          200,
          { 'Content-Type': MediaType.OciIndex, ...(artifactType ? { 'OCI-Filters-Applied': 'artifactType' } : {}) },
          JSON.stringify(index),
        );
        return;
      }
    }
  };
}

async function blob(
  storage: RegistryStorage,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  name: string,
  ref: string,
  emit: Emit,
): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') throw unsupported(method, 'a blob');
  const digest = checkDigest(ref);
  if (method === 'DELETE') {
    await storage.blobs.delete(name, digest);
    send(res, 202, { 'Docker-Content-Digest': digest });
    emit('delete', { digest, repository: name });
    return;
  }
  const size = await storage.blobs.stat(name, digest);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
  if (req.headers['if-none-match'] === `"${digest}"`) {
    send(res, 304, headers);
    return;
  }
  const range = method === 'GET' ? parseByteRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    // The spec gives no code for this; UNSUPPORTED is its "invalid set of parameters".
    const err = new RegistryError(
      'UNSUPPORTED',
      `range "${req.headers.range}" outside blob "${digest}" of ${size} bytes`,
      { status: 416 },
    );
    sendError(res, err, false, { 'Content-Range': `bytes */${size}` });
    return;
  }
  let status = 200;
  let start = 0;
  let end = size - 1;
  if (range !== undefined) {
    status = 206;
    ({ start, end } = range);
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  }
  headers['Content-Length'] = end - start + 1;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.writeHead(status);
  if (method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  await pipeline(createReadStream(storage.blobs.path(digest), { start, end }), res);
  if (start === 0) emit('pull', blobTarget(name, digest, size));
}

function blobTarget(name: string, digest: Digest, size: number): EventTarget {
  return { mediaType: BLOB_TYPE, size, digest, length: size, repository: name, url: `/v2/${name}/blobs/${digest}` };
}

function uploadHeaders(name: string, uuid: string, size: number): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${uuid}`,
    'Docker-Upload-UUID': uuid,
    Range: uploadRange(size),
  };
}

function blobCreated(res: ServerResponse, name: string, digest: Digest): void {
  send(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

async function startUpload(
  storage: RegistryStorage,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  name: string,
  query: URLSearchParams,
  emit: Emit,
): Promise<void> {
  if (method !== 'POST') throw unsupported(method, 'blob uploads');
  const mount = query.get('mount');
  if (mount !== null) {
    const digest = checkDigest(mount);
    const from = query.get('from');
    if (from !== null && isRepositoryName(from) && (await storage.blobs.mount(name, from, digest))) {
      req.resume();
      blobCreated(res, name, digest);
      const size = await storage.blobs.stat(name, digest).catch(() => undefined);
      emit('mount', { ...blobTarget(name, digest, size ?? 0), fromRepository: from });
      return;
    }
    // Not there to mount: an ordinary upload session, as the spec says, and the client uploads.
  } else if (query.get('digest') !== null) {
    const digest = checkDigest(query.get('digest'));
    const stored = await storage.uploads.put(name, digest, req);
    blobCreated(res, name, stored.digest);
    emit('push', blobTarget(name, stored.digest, stored.size));
    return;
  }
  req.resume();
  const { uuid, size } = await storage.uploads.start(name);
  send(res, 202, uploadHeaders(name, uuid, size));
}

async function upload(
  storage: RegistryStorage,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  name: string,
  uuid: string,
  query: URLSearchParams,
  emit: Emit,
): Promise<void> {
  switch (method) {
    case 'GET': {
      const { size } = await storage.uploads.status(name, uuid);
      send(res, 204, uploadHeaders(name, uuid, size));
      return;
    }
    case 'PATCH': {
      const range = parseContentRange(req.headers['content-range']);
      try {
        const { size } = await storage.uploads.append(name, uuid, req, range);
        send(res, 202, uploadHeaders(name, uuid, size));
      } catch (e) {
        if (e instanceof RegistryError && e.code === 'RANGE_INVALID') {
          // Tell the client where the upload stands so it can resume from there.
          const size = (e.detail as { size?: number } | undefined)?.size ?? 0;
          sendError(res, e, false, uploadHeaders(name, uuid, size));
          return;
        }
        throw e;
      }
      return;
    }
    case 'PUT': {
      const digest = checkDigest(query.get('digest'));
      const range = parseContentRange(req.headers['content-range']);
      const stored = await storage.uploads.complete(name, uuid, digest, req, range);
      blobCreated(res, name, stored.digest);
      emit('push', blobTarget(name, stored.digest, stored.size));
      return;
    }
    case 'DELETE':
      await storage.uploads.cancel(name, uuid);
      send(res, 204);
      return;
    default:
      throw unsupported(method, 'a blob upload');
  }
}

async function manifest(
  storage: RegistryStorage,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  name: string,
  ref: string,
  emit: Emit,
  withReferences: boolean,
): Promise<void> {
  const target = (digest: Digest, mediaType: string, body: Buffer, tag?: string): EventTarget => ({
    ...manifestTarget(name, digest, mediaType, body.length, tag),
    ...(withReferences ? { references: referencesOf(body) } : {}),
  });
  if (method === 'PUT') {
    const reference = parseManifestReference(ref);
    const body = await readCapped(req, MAX_MANIFEST_BYTES);
    const { digest, mediaType, subject } = await storage.manifests
      .put(name, reference, body, req.headers['content-type'])
      .catch((e: unknown) => {
        // What a manifest being put references and the repository lacks — an index's manifest
        // as much as an image's blob — is the spec's MANIFEST_BLOB_UNKNOWN.
        if (e instanceof RegistryError && e.code === 'MANIFEST_UNKNOWN')
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', e.message, { detail: e.detail, cause: e });
        throw e;
      });
    // OCI-Subject tells the client this registry keeps the referrers index itself.
    send(res, 201, {
      Location: `/v2/${name}/manifests/${digest}`,
      'Docker-Content-Digest': digest,
      ...(subject ? { 'OCI-Subject': subject } : {}),
    });
    emit('push', target(digest, mediaType, body, reference.tag));
    return;
  }
  if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') throw unsupported(method, 'a manifest');
  let reference: ManifestReference;
  try {
    reference = parseManifestReference(ref);
  } catch (e) {
    // A tag that cannot exist is simply not there.
    if (e instanceof RegistryError && e.code === 'MANIFEST_INVALID') {
      throw registryError('MANIFEST_UNKNOWN', `manifest "${ref.slice(0, 200)}" unknown to repository "${name}"`);
    }
    throw e;
  }
  if (method === 'DELETE') {
    if (reference.digest === undefined) {
      throw registryError('UNSUPPORTED', `delete manifest "${ref}": delete by digest, not by tag`);
    }
    await storage.manifests.delete(name, reference.digest);
    send(res, 202);
    emit('delete', { digest: reference.digest, repository: name });
    return;
  }
  // Whatever the client's Accept says, it gets the manifest as stored: the registry does not
  // convert between formats (distribution's schema2 → schema1 conversion is long obsolete).
  const m = await storage.manifests.get(name, reference);
  const headers = { 'Content-Type': m.mediaType, 'Docker-Content-Digest': m.digest, ETag: `"${m.digest}"` };
  if (req.headers['if-none-match'] === `"${m.digest}"`) {
    send(res, 304, headers);
    return;
  }
  send(res, 200, headers, m.body, method === 'HEAD');
  if (method === 'GET') emit('pull', target(m.digest, m.mediaType, m.body, reference.tag));
}

/**
 * What a manifest references, as distribution's events carry it: an index's manifests, an
 * image manifest's config then layers. The body was checked when it was stored.
 */
export function referencesOf(body: Buffer): EventReference[] {
  let m: { config?: unknown; layers?: unknown; manifests?: unknown };
  try {
    m = JSON.parse(body.toString('utf8')) as typeof m;
  } catch {
    return [];
  }
  const list = Array.isArray(m.manifests)
    ? m.manifests
    : [m.config, ...(Array.isArray(m.layers) ? m.layers : [])].filter((d) => d !== undefined);
  return list.flatMap((d) => {
    if (!d || typeof d !== 'object' || typeof (d as { digest?: unknown }).digest !== 'string') return [];
    const { mediaType, digest, size, urls, annotations, platform } = d as EventReference;
    return [
      {
        ...(mediaType !== undefined ? { mediaType } : {}),
        digest,
        ...(size !== undefined ? { size } : {}),
        ...(urls !== undefined ? { urls } : {}),
        ...(annotations !== undefined ? { annotations } : {}),
        ...(platform !== undefined ? { platform } : {}),
      },
    ];
  });
}

function manifestTarget(name: string, digest: Digest, mediaType: string, size: number, tag?: string): EventTarget {
  const t: EventTarget = {
    mediaType,
    size,
    digest,
    length: size,
    repository: name,
    url: `/v2/${name}/manifests/${digest}`,
  };
  if (tag !== undefined) t.tag = tag;
  return t;
}
