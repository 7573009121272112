/**
 * A distribution-spec (OCI / Docker registry v2) client over node:http and node:https, for
 * pull and push.
 *
 * Lifecycle: one `RegistryClient` per registry endpoint and set of credentials, usually per
 * pull, push or login. How it speaks to the endpoint (TLS, the plain-HTTP fallback, redirects,
 * 401 challenges and bearer tokens by scope) is its base class's, RegistrySession in session.ts.
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
import { Readable, Transform } from 'node:stream';
import { BerthError, invalidArgument, unauthorized, unavailable } from '../errdefs/index.ts';
import { isDigest, MediaType, type Descriptor, type Digest } from '../spec/index.ts';
import { readCapped, repoScope, verified } from './wire.ts';
import { RegistrySession } from './session.ts';
// Part of the client's surface, as they were when they lived here.
export { parseChallenge, repoScope, verified } from './wire.ts';
export type { Credentials } from './session.ts';

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

/** One registry endpoint's distribution API: manifests, tags, blobs, uploads, referrers (transport and auth: RegistrySession). */
export class RegistryClient extends RegistrySession {
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

  /**
   * `docker search`: the registry's v1 search API (Docker Hub's, Harbor's; distribution's
   * registry:2 has none, and answers 404). The body as sent: `{ results: [...] }`.
   */
  async search(term: string, limit: number): Promise<unknown> {
    const res = await this.send('GET', `/v1/search?q=${encodeURIComponent(term)}&n=${limit}`, { scopes: [] });
    if (res.statusCode !== 200) {
      res.resume();
      // dockerd's words for a registry that answers but not with results.
      throw unavailable(`Unexpected status code ${res.statusCode}`);
    }
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw unavailable(`search ${this.endpoint.name}: the answer is not JSON`, e);
    }
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
