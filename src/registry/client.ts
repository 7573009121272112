/**
 * A distribution-spec (OCI / Docker registry v2) client over node:http and node:https, for
 * pull and push.
 *
 * Lifecycle: one `RegistryClient` per registry endpoint and set of credentials, usually per
 * pull, push or login; it caches the bearer tokens it was handed, by scope, for its lifetime.
 *
 * Authentication follows the registry's 401 challenges: `Bearer realm=,service=,scope=` is
 * answered by a token fetched from the realm (with Basic credentials when the client has a
 * username and password, a refresh-token grant for an identity token, or the caller's registry
 * token as it is); `Basic` by the credentials themselves. A request whose body is a stream
 * cannot be sent twice, so callers make a small authenticated request first (the upload's
 * POST does that for its PUT).
 *
 * Invariants: nothing is held in memory but manifests and configs (capped); a blob stream
 * fails unless exactly the bytes its descriptor names arrive; a registry's redirect (to its
 * storage) is followed for GET and HEAD, without the registry's Authorization header when it
 * leaves the registry's host.
 *
 *   const c = new RegistryClient(endpointFor('127.0.0.1:5000', cfg), creds);
 *   const m = await c.getManifest('t/busybox', 'latest');
 *   const layer = await c.openBlob('t/busybox', desc); // a verified Readable
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { Readable, Transform } from 'node:stream';
import {
  BerthError,
  forbidden,
  internal,
  invalidArgument,
  notFound,
  unauthorized,
  unavailable,
} from '../errdefs/index.ts';
import { isDigest, MediaType, type Descriptor, type Digest } from '../spec/index.ts';
import type { Endpoint } from './endpoint.ts';
import { errorText, MAX_ERROR_BODY, parseChallenge, readCapped, repoScope, verified, type Challenge } from './wire.ts';
// Part of the client's surface, as they were when they lived here.
export { parseChallenge, repoScope, verified } from './wire.ts';
import { CIPHERS, MIN_VERSION } from '../tls/index.ts';

export interface Credentials {
  username?: string;
  password?: string;
  /** A refresh token an earlier login got from the registry's token service. */
  identityToken?: string;
  /** A bearer token to send as it is. */
  registryToken?: string;
}

/** A manifest, index or list as the registry sent it, with the digest of its exact bytes. */
export interface FetchedManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
}

/** What the client accepts as a manifest: Docker schema 2 and OCI, single and multi-platform. */
export const MANIFEST_ACCEPT = [
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.OciIndex,
];

/** Manifests and configs are read into memory: this is their cap. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Chunks of a resumable upload: what a dropped connection can cost at most. */
export const UPLOAD_CHUNK_BYTES = 32 * 1024 * 1024;
const MAX_REDIRECTS = 5;
/** A connection that sends nothing for this long is given up. */
const IDLE_TIMEOUT_MS = 60_000;

interface SendOptions {
  scopes: string[];
  headers?: OutgoingHttpHeaders;
  /** A body that can be sent again after a 401. */
  body?: Buffer;
  /** A body sent once: no retry after a 401. */
  stream?: Readable;
  /** Follow redirects (GET and HEAD). */
  follow?: boolean;
}

export class RegistryClient {
  readonly endpoint: Endpoint;
  private readonly creds: Credentials;
  private challenge?: Challenge;
  private readonly tokens = new Map<string, string>();
  /** Where requests go: the endpoint's base, or its plain-HTTP fallback once HTTPS failed to connect. */
  private current: string;
  /** The scheme is decided: an answer came back, or there is nothing to fall back to. */
  private settled: boolean;

  constructor(endpoint: Endpoint, creds: Credentials = {}) {
    this.endpoint = endpoint;
    this.creds = creds;
    this.current = endpoint.base;
    this.settled = !endpoint.fallback;
  }

  /** The registry's URL as it is being spoken to (`https://…`, or `http://…` after a fallback). */
  get base(): string {
    return this.current;
  }

  /** The endpoint's TLS for its own host; other hosts (a redirect to storage) get Node's defaults. */
  private tlsOptions(url: URL): HttpsRequestOptions {
    const t = this.endpoint.tls;
    if (url.protocol !== 'https:' || !t || url.host !== new URL(this.endpoint.base).host) return {};
    return {
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert ? { cert: t.cert, key: t.key } : {}),
      rejectUnauthorized: t.verify,
      minVersion: MIN_VERSION,
      ciphers: CIPHERS,
    };
  }

  /** The `host:port` being spoken to, to which the endpoint's credentials and settings are sent. */
  private get host(): string {
    return new URL(this.current).host;
  }

  /** The distribution API's root on this endpoint, `/v2` by the spec. */
  private get root(): string {
    return this.endpoint.apiRoot ?? '/v2';
  }

  // ------------------------------------------------------------------ transport

  private raw(
    url: URL,
    method: string,
    headers: OutgoingHttpHeaders,
    body?: Buffer | Readable,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const fn = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
      if (!fn) return reject(invalidArgument(`registry URL "${url.href}": unsupported protocol`));
      // The endpoint's own settings (hosts.toml) hold for its host only, not for a redirect elsewhere.
      const own = url.host === this.host ? this.endpoint : undefined;
      const req = fn(
        url,
        {
          method,
          headers: { 'User-Agent': 'berth', ...own?.headers, ...headers } as OutgoingHttpHeaders,
          ...this.tlsOptions(url),
        },
        (res) => {
          // A connection reset while a response is only being drained must not be an unhandled
          // 'error' event (that would end the daemon); readers attach their own handlers.
          res.on('error', () => {});
          resolve(res);
        },
      );
      const dial = own?.dialTimeoutMs;
      if (dial)
        req.once('socket', (sock) => {
          if (!sock.connecting) return;
          const t = setTimeout(
            () => req.destroy(unavailable(`${method} ${url.href}: no connection within ${dial} ms`)),
            dial,
          );
          sock.once('connect', () => clearTimeout(t));
          sock.once('close', () => clearTimeout(t));
        });
      req.setTimeout(IDLE_TIMEOUT_MS, () =>
        req.destroy(unavailable(`${method} ${url.href}: no answer for ${IDLE_TIMEOUT_MS / 1000}s`)),
      );
      req.on('error', (e) =>
        reject(e instanceof BerthError ? e : unavailable(`${method} ${url.href}: ${e.message}`, e)),
      );
      if (body instanceof Readable) {
        body.on('error', (e) => req.destroy(e));
        // A request that fails leaves no open file behind it.
        req.on('close', () => body.destroy());
        body.pipe(req);
      } else {
        req.end(body);
      }
    });
  }

  private authHeader(scopes: string[], host: string): string | undefined {
    if (host !== this.host) return undefined;
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      if (this.creds.username === undefined) return undefined;
      return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
    }
    const t = this.tokens.get(scopeKey(scopes));
    return t ? `Bearer ${t}` : undefined;
  }

  /** Answers a challenge: fetches the bearer token for `scopes`, or notes Basic. */
  private async authenticate(header: string | undefined, scopes: string[]): Promise<void> {
    const ch = parseChallenge(header);
    if (!ch) throw unauthorized('unauthorized: the registry asked for authentication it did not describe');
    this.challenge = ch;
    if (ch.scheme === 'basic') {
      if (this.creds.username === undefined) throw unauthorized('unauthorized: authentication required');
      return;
    }
    if (this.creds.registryToken) {
      this.tokens.set(scopeKey(scopes), this.creds.registryToken);
      return;
    }
    const realm = ch.params.realm;
    if (!realm) throw unauthorized('unauthorized: the registry gave no token realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch (e) {
      throw unauthorized(`unauthorized: bad token realm "${realm}"`, e);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw unauthorized(`unauthorized: bad token realm "${realm}"`);
    const all = scopes.length ? scopes : ch.params.scope ? [ch.params.scope] : [];
    let res: IncomingMessage;
    if (this.creds.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: this.creds.identityToken,
        client_id: 'berth',
        ...(ch.params.service ? { service: ch.params.service } : {}),
      });
      if (all.length) form.set('scope', all.join(' '));
      const body = Buffer.from(form.toString());
      res = await this.raw(
        url,
        'POST',
        { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': body.length },
        body,
      );
    } else {
      if (ch.params.service) url.searchParams.set('service', ch.params.service);
      for (const s of all) url.searchParams.append('scope', s);
      const headers: OutgoingHttpHeaders = {};
      if (this.creds.username !== undefined)
        headers.Authorization = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
      res = await this.raw(url, 'GET', headers);
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      const why = await errorText(res);
      throw unauthorized(why || 'unauthorized: incorrect username or password');
    }
    if (res.statusCode !== 200) {
      const why = await errorText(res);
      throw unavailable(`get token from ${url.origin}: status ${res.statusCode}${why ? `: ${why}` : ''}`);
    }
    let token: string | undefined;
    try {
      const j = JSON.parse((await readCapped(res, MAX_ERROR_BODY)).toString('utf8')) as {
        token?: unknown;
        access_token?: unknown;
      };
      token = typeof j.token === 'string' ? j.token : typeof j.access_token === 'string' ? j.access_token : undefined;
    } catch (e) {
      throw unavailable(`get token from ${url.origin}: the answer is not JSON`, e);
    }
    if (!token) throw unavailable(`get token from ${url.origin}: the answer has no token`);
    this.tokens.set(scopeKey(scopes), token);
  }

  /**
   * One request to the registry, answering one 401 challenge when the body can be re-sent,
   * following redirects when asked. The caller reads or discards the response.
   */
  private async send(method: string, pathOrUrl: string, o: SendOptions): Promise<IncomingMessage> {
    let url = new URL(pathOrUrl, this.current + '/');
    let answered = false;
    for (let hops = 0; ;) {
      const headers: OutgoingHttpHeaders = { ...o.headers };
      const auth = this.authHeader(o.scopes, url.host);
      if (auth) headers.Authorization = auth;
      let res: IncomingMessage;
      try {
        res = await this.raw(url, method, headers, o.stream ?? o.body);
      } catch (e) {
        // An insecure registry that does not speak TLS: plain HTTP from now on, as dockerd's
        // second endpoint. Only while no HTTPS answer has come (a request sent beside the one
        // that fell back follows it), and only for a body that can be sent again.
        const overBase = !!this.endpoint.fallback && url.origin === new URL(this.endpoint.base).origin;
        if (!overBase || o.stream || (this.settled && this.current !== this.endpoint.fallback)) throw e;
        this.current = this.endpoint.fallback!;
        this.settled = true;
        url = new URL(url.pathname + url.search, this.current + '/');
        continue;
      }
      this.settled = true;
      if (res.statusCode === 401 && !answered && !o.stream && url.host === this.host) {
        res.resume();
        answered = true;
        await this.authenticate(res.headers['www-authenticate'], o.scopes);
        continue;
      }
      if (o.follow && [301, 302, 303, 307, 308].includes(res.statusCode!) && res.headers.location) {
        res.resume();
        if (++hops > MAX_REDIRECTS) throw unavailable(`${method} ${url.pathname}: too many redirects`);
        url = new URL(res.headers.location, url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          throw unavailable(`${method}: redirect to an unsupported URL`);
        continue;
      }
      return res;
    }
  }

  /** Turns a failed answer into an error of the right category. */
  private async failure(res: IncomingMessage, what: string): Promise<BerthError> {
    const why = await errorText(res);
    const msg = `${what}${why ? `: ${why}` : `: status ${res.statusCode}`}`;
    switch (res.statusCode) {
      case 401:
        return unauthorized(msg);
      case 403:
        return forbidden(msg);
      case 404:
        return notFound(msg);
      case 400:
      case 405:
      case 413:
        return invalidArgument(msg);
      default:
        return (res.statusCode ?? 500) >= 500 ? unavailable(msg) : internal(msg);
    }
  }

  // ------------------------------------------------------------------ API

  /** `GET /v2/`: is this a registry, and do these credentials work? (docker login) */
  async checkLogin(): Promise<void> {
    const res = await this.send('GET', `${this.root}/`, { scopes: [] });
    res.resume();
    if (res.statusCode === 200) return;
    if (res.statusCode === 401) {
      const url = `${this.current}${this.root}/`;
      throw Object.assign(unauthorized(`login attempt to ${url} failed with status: 401 Unauthorized`), {
        atRegistry: true,
      });
    }
    throw unavailable(`login to ${this.endpoint.name}: ${this.root}/ answered ${res.statusCode}`);
  }

  /** A manifest, index or list by tag or digest; its digest is checked when asked by digest. */
  async getManifest(repo: string, ref: string): Promise<FetchedManifest> {
    const res = await this.send('GET', `${this.root}/${repo}/manifests/${ref}`, {
      scopes: [repoScope(repo, 'pull')],
      follow: true,
      headers: { Accept: MANIFEST_ACCEPT.join(', ') },
    });
    if (res.statusCode !== 200) throw await this.failure(res, `manifest ${repo}:${ref}`);
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    if (isDigest(ref) && ref !== digest)
      throw invalidArgument(`manifest ${repo}@${ref}: the registry sent content with digest ${digest}`);
    let mediaType = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    try {
      const j = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; config?: unknown };
      if (typeof j.mediaType === 'string') mediaType = j.mediaType;
      else if (!MANIFEST_ACCEPT.includes(mediaType as (typeof MANIFEST_ACCEPT)[number]))
        mediaType = Array.isArray(j.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
    } catch (e) {
      throw invalidArgument(`manifest ${repo}:${ref}: not JSON`, e);
    }
    return { digest, mediaType, bytes };
  }

  /** Every tag of a repository (`docker pull -a`), following the registry's pagination. */
  async listTags(repo: string, max = 10_000): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `${this.root}/${repo}/tags/list?n=1000`;
    for (let pages = 0; next && pages < 100; pages++) {
      const res = await this.send('GET', next, { scopes: [repoScope(repo, 'pull')], follow: true });
      if (res.statusCode !== 200) throw await this.failure(res, `tags of ${repo}`);
      const link = String(res.headers.link ?? '');
      let j: { tags?: unknown };
      try {
        j = JSON.parse((await readCapped(res, MAX_MANIFEST_BYTES)).toString('utf8')) as { tags?: unknown };
      } catch (e) {
        if (e instanceof BerthError) throw e;
        throw invalidArgument(`tags of ${repo}: not JSON`, e);
      }
      for (const t of Array.isArray(j.tags) ? j.tags : []) {
        if (typeof t === 'string' && /^[\w][\w.-]{0,127}$/.test(t)) tags.push(t);
        if (tags.length >= max) return tags;
      }
      // RFC 5988: `</v2/x/tags/list?last=a&n=1000>; rel="next"`
      next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1];
    }
    return tags;
  }

  /** A small blob (a config) in memory, verified. */
  async getBlob(repo: string, desc: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer> {
    if (desc.size > MAX_MANIFEST_BYTES)
      throw invalidArgument(`blob ${desc.digest}: ${desc.size} bytes is too large for a config`);
    return readCapped(await this.openBlob(repo, desc), MAX_MANIFEST_BYTES);
  }

  /** A blob as a stream that fails unless its bytes match `desc`. */
  async openBlob(repo: string, desc: Pick<Descriptor, 'digest' | 'size'>): Promise<Readable> {
    if (!isDigest(desc.digest)) throw invalidArgument(`blob "${String(desc.digest)}": not a sha256 digest`);
    if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw invalidArgument(`blob ${desc.digest}: bad size`);
    const res = await this.send('GET', `${this.root}/${repo}/blobs/${desc.digest}`, {
      scopes: [repoScope(repo, 'pull')],
      follow: true,
    });
    if (res.statusCode !== 200) throw await this.failure(res, `blob ${desc.digest}`);
    return verified(res, desc.digest, desc.size);
  }

  /** `HEAD` a blob: its size if the repository has it. */
  async statBlob(repo: string, digest: Digest, scopes = [repoScope(repo, 'pull,push')]): Promise<number | undefined> {
    const res = await this.send('HEAD', `${this.root}/${repo}/blobs/${digest}`, { scopes, follow: true });
    res.resume();
    if (res.statusCode === 200) return Number(res.headers['content-length'] ?? 0);
    if (res.statusCode === 404) return undefined;
    throw await this.failure(res, `blob ${digest}`);
  }

  /**
   * Cross-repository mount: true when `repo` now has the blob; false when the registry would
   * not mount it (the upload it started instead is left to expire).
   */
  async mountBlob(repo: string, digest: Digest, from: string): Promise<boolean> {
    const q = new URLSearchParams({ mount: digest, from });
    const res = await this.send('POST', `${this.root}/${repo}/blobs/uploads/?${q}`, {
      scopes: [repoScope(repo, 'pull,push'), repoScope(from, 'pull')],
      body: Buffer.alloc(0),
      headers: { 'Content-Length': 0 },
    });
    res.resume();
    if (res.statusCode === 201) return true;
    if (res.statusCode === 202) return false;
    if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) return false;
    throw await this.failure(res, `mount blob ${digest} from ${from}`);
  }

  /**
   * Uploads a blob: `POST` for a session (this answers any challenge), then one `PUT
   * ?digest=` with the streamed body (monolithic upload).
   */
  async pushBlob(repo: string, desc: Pick<Descriptor, 'digest' | 'size'>, body: Readable): Promise<void> {
    const scopes = [repoScope(repo, 'pull,push')];
    const start = await this.send('POST', `${this.root}/${repo}/blobs/uploads/`, {
      scopes,
      body: Buffer.alloc(0),
      headers: { 'Content-Length': 0 },
    });
    if (start.statusCode !== 202 && start.statusCode !== 201) {
      body.destroy();
      throw await this.failure(start, `start upload to ${repo}`);
    }
    start.resume();
    const location = start.headers.location;
    if (!location) {
      body.destroy();
      throw unavailable(`start upload to ${repo}: the registry gave no Location`);
    }
    const url = new URL(location, this.current + '/');
    url.searchParams.set('digest', desc.digest);
    const res = await this.send('PUT', url.href, {
      scopes,
      stream: body,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': desc.size },
    });
    if (res.statusCode !== 201 && res.statusCode !== 204) throw await this.failure(res, `upload blob ${desc.digest}`);
    res.resume();
  }

  /**
   * Uploads a blob whose bytes can be read again from any offset (a file): a session, then
   * chunks of `chunkBytes` as `PATCH` with `Content-Range`, then `PUT ?digest=`. A chunk whose
   * connection drops is not lost work beyond itself: the session's state is asked (`GET`, its
   * `Range`) and the upload resumes from the registry's offset, up to `retries` times in a row.
   */
  async pushBlobResumable(
    repo: string,
    desc: Pick<Descriptor, 'digest' | 'size'>,
    open: (start: number, end: number) => Readable,
    o: { chunkBytes?: number; retries?: number; onBytes?: (n: number) => void; signal?: AbortSignal } = {},
  ): Promise<void> {
    const scopes = [repoScope(repo, 'pull,push')];
    const chunk = o.chunkBytes ?? UPLOAD_CHUNK_BYTES;
    const start = await this.send('POST', `/v2/${repo}/blobs/uploads/`, {
      scopes,
      body: Buffer.alloc(0),
      headers: { 'Content-Length': 0 },
    });
    if (start.statusCode !== 202 && start.statusCode !== 201)
      throw await this.failure(start, `start upload to ${repo}`);
    start.resume();
    if (!start.headers.location) throw unavailable(`start upload to ${repo}: the registry gave no Location`);
    let location = new URL(start.headers.location, this.current + '/').href;
    let offset = 0;
    let failures = 0;
    while (offset < desc.size) {
      if (o.signal?.aborted) throw unavailable('upload cancelled');
      const end = Math.min(desc.size, offset + chunk) - 1;
      const body = open(offset, end);
      let sent = 0;
      const counted = body.pipe(
        new Transform({
          transform(c: Buffer, _e, cb) {
            sent += c.length;
            o.onBytes?.(c.length);
            cb(null, c);
          },
        }),
      );
      body.once('error', (e) => counted.destroy(e));
      const abort = () => counted.destroy(unavailable('upload cancelled'));
      o.signal?.addEventListener('abort', abort);
      try {
        const res = await this.send('PATCH', location, {
          scopes,
          stream: counted,
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Range': `${offset}-${end}`,
            'Content-Length': end - offset + 1,
          },
        });
        if (res.statusCode === 416) {
          // The registry's offset is not ours: ask it where it stands, below.
          res.resume();
          throw unavailable(`upload blob ${desc.digest}: the registry refused the range ${offset}-${end}`);
        }
        if (res.statusCode !== 202) throw await this.failure(res, `upload blob ${desc.digest}`);
        res.resume();
        if (res.headers.location) location = new URL(res.headers.location, this.current + '/').href;
        offset = end + 1;
        failures = 0;
      } catch (e) {
        if (o.signal?.aborted) throw e;
        if (e instanceof BerthError && e.category !== 'Unavailable') throw e;
        if (++failures > (o.retries ?? 3)) throw e;
        // Where does the session stand? The registry drops a chunk cut off, so this is the
        // end of the last whole one — once it has noticed the cut: a pause first, longer each time.
        await new Promise((r) => setTimeout(r, 200 * failures));
        const status = await this.send('GET', location, { scopes });
        status.resume();
        if (status.statusCode !== 204) throw await this.failure(status, `upload blob ${desc.digest}: resume`);
        const range = /^(?:bytes=)?0-(\d+)$/.exec(String(status.headers.range ?? ''));
        // `0-0` is what registries answer for an empty session (the spec's inclusive ranges cannot
        // say "nothing"); a whole chunk is never one byte, so it means 0 here.
        const resumed = range && range[1] !== '0' ? Number(range[1]) + 1 : 0;
        o.onBytes?.(resumed - offset - sent);
        offset = resumed;
        if (status.headers.location) location = new URL(status.headers.location, this.current + '/').href;
      } finally {
        o.signal?.removeEventListener('abort', abort);
      }
    }
    const url = new URL(location);
    url.searchParams.set('digest', desc.digest);
    const done = await this.send('PUT', url.href, { scopes, body: Buffer.alloc(0), headers: { 'Content-Length': 0 } });
    if (done.statusCode !== 201 && done.statusCode !== 204)
      throw await this.failure(done, `upload blob ${desc.digest}`);
    done.resume();
  }

  /**
   * Uploads a blob whose digest is not known beforehand, as dockerd does: a session, the bytes
   * streamed in one `PATCH` (chunked) while they are hashed, then `PUT ?digest=` to close it.
   * The caller can so compress a layer while it goes out instead of compressing it first.
   */
  async pushBlobStream(repo: string, body: Readable): Promise<{ digest: Digest; size: number }> {
    const scopes = [repoScope(repo, 'pull,push')];
    const start = await this.send('POST', `${this.root}/${repo}/blobs/uploads/`, {
      scopes,
      body: Buffer.alloc(0),
      headers: { 'Content-Length': 0 },
    });
    if (start.statusCode !== 202) {
      body.destroy();
      throw await this.failure(start, `start upload to ${repo}`);
    }
    start.resume();
    if (!start.headers.location) {
      body.destroy();
      throw unavailable(`start upload to ${repo}: the registry gave no Location`);
    }
    const hash = createHash('sha256');
    let size = 0;
    const hashed = body.pipe(
      new Transform({
        transform(c: Buffer, _e, cb) {
          hash.update(c);
          size += c.length;
          cb(null, c);
        },
      }),
    );
    body.once('error', (e) => hashed.destroy(e));
    const patch = await this.send('PATCH', new URL(start.headers.location, this.current + '/').href, {
      scopes,
      stream: hashed,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (patch.statusCode !== 202) throw await this.failure(patch, `upload to ${repo}`);
    patch.resume();
    // Had the registry stopped reading early, the digest below would not match what it has,
    // and it would refuse the PUT (DIGEST_INVALID).
    const digest = `sha256:${hash.digest('hex')}` as Digest;
    const url = new URL(patch.headers.location ?? start.headers.location, this.current + '/');
    url.searchParams.set('digest', digest);
    const done = await this.send('PUT', url.href, { scopes, body: Buffer.alloc(0), headers: { 'Content-Length': 0 } });
    if (done.statusCode !== 201 && done.statusCode !== 204) throw await this.failure(done, `upload blob ${digest}`);
    done.resume();
    return { digest, size };
  }

  /**
   * The OCI 1.1 referrers of a manifest (`GET /v2/<repo>/referrers/<digest>`), only those of
   * `artifactType` when given (filtered here too: a registry may ignore the filter); undefined
   * when the registry has no referrers API (a 404, as the spec has it answer).
   */
  async referrers(repo: string, digest: Digest, artifactType?: string): Promise<Descriptor[] | undefined> {
    const q = artifactType ? `?${new URLSearchParams({ artifactType })}` : '';
    const res = await this.send('GET', `/v2/${repo}/referrers/${digest}${q}`, {
      scopes: [repoScope(repo, 'pull')],
      follow: true,
      headers: { Accept: MediaType.OciIndex },
    });
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    if (res.statusCode !== 200) throw await this.failure(res, `referrers of ${repo}@${digest}`);
    let j: { manifests?: unknown };
    try {
      j = JSON.parse((await readCapped(res, MAX_MANIFEST_BYTES)).toString('utf8')) as { manifests?: unknown };
    } catch (e) {
      if (e instanceof BerthError) throw e;
      throw invalidArgument(`referrers of ${repo}@${digest}: not JSON`, e);
    }
    if (!Array.isArray(j.manifests)) return undefined;
    return (j.manifests as Array<Descriptor & { artifactType?: unknown }>).filter(
      (d) =>
        d &&
        typeof d.digest === 'string' &&
        isDigest(d.digest) &&
        Number.isSafeInteger(d.size) &&
        (artifactType === undefined || d.artifactType === artifactType),
    );
  }

  /** `PUT` a manifest under a tag or digest; returns the digest of its bytes. */
  async putManifest(repo: string, ref: string, mediaType: string, bytes: Buffer): Promise<Digest> {
    const res = await this.send('PUT', `${this.root}/${repo}/manifests/${ref}`, {
      scopes: [repoScope(repo, 'pull,push')],
      body: bytes,
      headers: { 'Content-Type': mediaType, 'Content-Length': bytes.length },
    });
    if (res.statusCode !== 201 && res.statusCode !== 200) throw await this.failure(res, `put manifest ${repo}:${ref}`);
    res.resume();
    return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
  }
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ');
}
