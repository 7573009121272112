/**
 * The registry's storage: blobs, repositories, manifests, tags and upload sessions on disk.
 *
 * Layout under the root:
 *
 *   blobs/sha256/<hex>                          every blob and manifest, once (ContentStore)
 *   ingest/                                     ContentStore's scratch, emptied at open
 *   repositories/<name>/_blobs/<hex>            link: the repository has this blob
 *   repositories/<name>/_manifests/revisions/<hex>   link: it has this manifest; holds its media type
 *   repositories/<name>/_manifests/tags/<tag>   the digest the tag points at
 *   repositories/<name>/_manifests/referrers/<subject hex>/<hex>   link: a manifest whose
 *                                               `subject` is that manifest (referrers API)
 *   uploads/<uuid>/repository                   the repository an upload session belongs to
 *   uploads/<uuid>/data                         the bytes received so far
 *
 * Names, tags and digests are validated (names.ts) before they become path components, and
 * none of them can be `.`, `..`, or collide with `_blobs`, `_manifests` or `.tmp-*` files.
 *
 * Invariants, kept across a kill -9 at any instant by the order of writes (every file that
 * has content is written to a temporary name and renamed):
 * - a blob file, once present, is complete and matches its digest;
 * - a repository's blob link is written after the blob, a revision link after the manifest
 *   blob and the blobs/manifests it references are linked, a tag after its revision link;
 * - deleting a manifest removes the tags pointing at it before its revision link.
 * Blob files are never removed here, so no link can outlive its blob. Manifest writes and
 * deletions of one repository are serialised, so a concurrent delete cannot remove what a put
 * has just checked.
 */
import { createHash, randomBytes, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ContentStore } from '../content/index.ts';
import { descriptorProblem, MediaType, type Descriptor, type Digest } from '../spec/index.ts';
import { RegistryError, registryError } from './errors.ts';
import { isRepositoryName, isTag, type ManifestReference } from './names.ts';

/** Manifests are small; anything bigger is refused before it is read in full. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.OciIndex,
];

const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

const UUID_RE = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

export interface StorageOptions {
  /** An upload untouched this long is removed by `expireUploads` (default 24 hours). */
  uploadTtlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface UploadStatus {
  uuid: string;
  /** Bytes received so far. */
  size: number;
}

export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  body: Buffer;
}

/** An inclusive byte range a client says a chunk covers (Content-Range). */
export interface ChunkRange {
  start: number;
  end: number;
}

interface UploadSession {
  uuid: string;
  repository: string;
  dir: string;
  size: number;
  /** sha256 of the bytes so far; copied before each chunk so a failed chunk leaves it intact. */
  hash: Hash;
}

/** One promise chain per key: tasks of one key run one at a time, in order. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes `data` to `path` through a temporary file in the same directory and a rename. */
async function writeAtomic(path: string, data: string): Promise<void> {
  const dir = join(path, '..');
  await fs.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
  try {
    await fs.writeFile(tmp, data, { flag: 'wx' });
    await fs.rename(tmp, path);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function hexOfDigest(d: Digest): string {
  return d.slice('sha256:'.length);
}

export class RegistryStorage {
  readonly root: string;
  readonly content: ContentStore;
  private readonly repositories: string;
  private readonly uploads: string;
  private readonly uploadTtlMs: number;
  private readonly now: () => number;
  private readonly repoLock = new KeyedLock();
  private readonly uploadLock = new KeyedLock();
  /** Sessions seen since start; others are loaded from disk on first use. */
  private readonly sessions = new Map<string, UploadSession>();
  /** Uploads with a request in progress: never expired underneath it. */
  private readonly busyUploads = new Set<string>();

  private constructor(root: string, content: ContentStore, options: StorageOptions) {
    this.root = root;
    this.content = content;
    this.repositories = join(root, 'repositories');
    this.uploads = join(root, 'uploads');
    this.uploadTtlMs = options.uploadTtlMs ?? 24 * 3600 * 1000;
    this.now = options.now ?? Date.now;
  }

  static async open(root: string, options: StorageOptions = {}): Promise<RegistryStorage> {
    const content = await ContentStore.open(root);
    const storage = new RegistryStorage(root, content, options);
    await fs.mkdir(storage.repositories, { recursive: true });
    await fs.mkdir(storage.uploads, { recursive: true });
    await storage.expireUploads();
    return storage;
  }

  private repoDir(name: string): string {
    // Validated names have no `.`/`..`/empty components: joining them cannot leave the root.
    if (!isRepositoryName(name)) throw registryError('NAME_INVALID', `invalid repository name "${name}"`);
    return join(this.repositories, ...name.split('/'));
  }

  private blobLink(name: string, digest: Digest): string {
    return join(this.repoDir(name), '_blobs', hexOfDigest(digest));
  }

  private revisionLink(name: string, digest: Digest): string {
    return join(this.repoDir(name), '_manifests', 'revisions', hexOfDigest(digest));
  }

  private referrerLink(name: string, subject: Digest, referrer: Digest): string {
    return join(this.repoDir(name), '_manifests', 'referrers', hexOfDigest(subject), hexOfDigest(referrer));
  }

  private tagFile(name: string, tag: string): string {
    if (!isTag(tag)) throw registryError('MANIFEST_INVALID', `invalid tag "${tag}"`);
    return join(this.repoDir(name), '_manifests', 'tags', tag);
  }

  async repositoryExists(name: string): Promise<boolean> {
    return exists(this.repoDir(name));
  }

  // ---- blobs

  /** Size of a blob the repository has; BLOB_UNKNOWN otherwise. */
  async statBlob(name: string, digest: Digest): Promise<number> {
    if (!(await exists(this.blobLink(name, digest)))) {
      throw registryError('BLOB_UNKNOWN', `blob "${digest}" unknown to repository "${name}"`, { digest });
    }
    try {
      return (await this.content.info(digest)).size;
    } catch (e) {
      throw new RegistryError('BLOB_UNKNOWN', `blob "${digest}" unknown to repository "${name}"`, {
        detail: { digest },
        cause: e,
      });
    }
  }

  /** Path of a blob's bytes (after `statBlob` said the repository has it). */
  blobPath(digest: Digest): string {
    return this.content.path(digest);
  }

  /** Unlinks a blob from one repository; its bytes stay for other repositories. */
  async deleteBlob(name: string, digest: Digest): Promise<void> {
    await this.repoLock.run(name, async () => {
      await this.statBlob(name, digest);
      await fs.rm(this.blobLink(name, digest), { force: true });
    });
  }

  /** Links a blob `from` has into `name`; false when `from` does not have it. */
  async mountBlob(name: string, from: string, digest: Digest): Promise<boolean> {
    if (!isRepositoryName(from)) return false;
    try {
      await this.statBlob(from, digest);
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'BLOB_UNKNOWN') return false;
      throw e;
    }
    await this.linkBlob(name, digest);
    return true;
  }

  private async linkBlob(name: string, digest: Digest): Promise<void> {
    const link = this.blobLink(name, digest);
    await fs.mkdir(join(link, '..'), { recursive: true });
    // An empty file: its existence is the whole message, so creating it is already atomic.
    await fs.writeFile(link, '');
  }

  // ---- uploads

  async startUpload(name: string): Promise<UploadStatus> {
    this.repoDir(name);
    const uuid = randomUUID();
    const dir = join(this.uploads, uuid);
    await fs.mkdir(dir);
    await fs.writeFile(join(dir, 'data'), '');
    // Written last: a directory without it is an interrupted start, removed by expireUploads.
    await writeAtomic(join(dir, 'repository'), name);
    this.sessions.set(uuid, { uuid, repository: name, dir, size: 0, hash: createHash('sha256') });
    return { uuid, size: 0 };
  }

  private unknownUpload(uuid: string): RegistryError {
    return registryError('BLOB_UPLOAD_UNKNOWN', `blob upload "${uuid.slice(0, 100)}" unknown`, {
      uuid: uuid.slice(0, 100),
    });
  }

  /** The session, from memory or (after a restart) from disk, re-hashing what it holds. */
  private async session(name: string, uuid: string): Promise<UploadSession> {
    if (!UUID_RE.test(uuid)) throw this.unknownUpload(uuid);
    let s = this.sessions.get(uuid);
    if (s === undefined) {
      const dir = join(this.uploads, uuid);
      const repository = await readText(join(dir, 'repository'));
      if (repository === undefined) throw this.unknownUpload(uuid);
      const hash = createHash('sha256');
      let size = 0;
      try {
        for await (const chunk of createReadStream(join(dir, 'data'))) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw this.unknownUpload(uuid);
        throw e;
      }
      s = this.sessions.get(uuid) ?? { uuid, repository, dir, size, hash };
      this.sessions.set(uuid, s);
    }
    if (s.repository !== name) throw this.unknownUpload(uuid);
    return s;
  }

  /** Runs `task` on the session alone, marked busy so expiry leaves it be. */
  private async withSession<T>(name: string, uuid: string, task: (s: UploadSession) => Promise<T>): Promise<T> {
    return this.uploadLock.run(uuid, async () => {
      this.busyUploads.add(uuid);
      try {
        return await task(await this.session(name, uuid));
      } finally {
        this.busyUploads.delete(uuid);
      }
    });
  }

  async uploadStatus(name: string, uuid: string): Promise<UploadStatus> {
    return this.withSession(name, uuid, async (s) => ({ uuid, size: s.size }));
  }

  /**
   * Appends a chunk. With `range`, it must start where the upload ends (RANGE_INVALID, 416,
   * otherwise) and be exactly that long. A chunk that fails part-way (the client went away,
   * the disk filled) is cut off again: the upload is as it was before the request.
   */
  async appendUpload(name: string, uuid: string, source: Readable, range?: ChunkRange): Promise<UploadStatus> {
    return this.withSession(name, uuid, async (s) => {
      await this.appendTo(s, source, range);
      return { uuid, size: s.size };
    });
  }

  private async appendTo(s: UploadSession, source: Readable, range?: ChunkRange): Promise<void> {
    if (range !== undefined && (range.start !== s.size || range.end < range.start)) {
      source.resume();
      throw new RegistryError(
        'RANGE_INVALID',
        `blob upload "${s.uuid}": chunk ${range.start}-${range.end} does not start at ${s.size}`,
        {
          detail: { size: s.size },
        },
      );
    }
    const before = s.size;
    const hash = s.hash.copy();
    let written = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        written += chunk.length;
        cb(null, chunk);
      },
    });
    const data = join(s.dir, 'data');
    const out = createWriteStream(data, { flags: 'r+', start: before });
    // A pipeline torn down by a client going away may still have a write in flight; the
    // stream closes its file only after that write, so waiting for 'close' orders the
    // truncation below after it.
    const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
    try {
      try {
        await pipeline(source, meter, out);
      } finally {
        await closed;
      }
      if (range !== undefined && written !== range.end - range.start + 1) {
        throw registryError(
          'BLOB_UPLOAD_INVALID',
          `blob upload "${s.uuid}": chunk ${range.start}-${range.end} had ${written} bytes`,
        );
      }
    } catch (e) {
      await fs.truncate(data, before).catch(() => {});
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw this.unknownUpload(s.uuid);
      throw e;
    }
    s.size = before + written;
    s.hash = hash;
  }

  /**
   * Finishes an upload: appends the last chunk if any, checks the digest (DIGEST_INVALID, and
   * the upload is discarded, when it differs), moves the bytes into the blob store and links
   * the blob into the repository.
   */
  async completeUpload(
    name: string,
    uuid: string,
    digest: Digest,
    lastChunk?: Readable,
    range?: ChunkRange,
  ): Promise<{ digest: Digest; size: number }> {
    return this.withSession(name, uuid, async (s) => {
      if (lastChunk !== undefined) await this.appendTo(s, lastChunk, range);
      const actual = `sha256:${s.hash.copy().digest('hex')}` as Digest;
      if (actual !== digest) {
        await this.dropSession(s);
        throw registryError(
          'DIGEST_INVALID',
          `blob upload "${uuid}": digest mismatch: the client said "${digest}", the content is "${actual}"`,
          {
            expected: digest,
            actual,
          },
        );
      }
      // The file holds exactly the hashed bytes; a tail a failed chunk could not take back
      // (its truncation failed) must not become part of the blob.
      const held = (await fs.stat(join(s.dir, 'data'))).size;
      if (held < s.size)
        throw registryError('UNKNOWN', `blob upload "${uuid}": ${held} bytes on disk, ${s.size} received`);
      if (held > s.size) await fs.truncate(join(s.dir, 'data'), s.size);
      await this.content.adopt(join(s.dir, 'data'), { digest, size: s.size });
      await this.linkBlob(name, digest);
      await this.dropSession(s);
      return { digest, size: s.size };
    });
  }

  async cancelUpload(name: string, uuid: string): Promise<void> {
    await this.withSession(name, uuid, (s) => this.dropSession(s));
  }

  /** A whole blob in one request: an upload started, filled and completed at once. */
  async putBlob(name: string, digest: Digest, source: Readable): Promise<{ digest: Digest; size: number }> {
    const { uuid } = await this.startUpload(name);
    try {
      return await this.completeUpload(name, uuid, digest, source);
    } finally {
      if (this.sessions.has(uuid)) await this.cancelUpload(name, uuid).catch(() => {});
    }
  }

  private async dropSession(s: UploadSession): Promise<void> {
    this.sessions.delete(s.uuid);
    await fs.rm(s.dir, { recursive: true, force: true });
  }

  /**
   * Removes uploads nobody has touched for the TTL, and leftovers of interrupted starts.
   * Runs at open and periodically; an upload with a request in progress is never removed.
   */
  async expireUploads(): Promise<string[]> {
    const removed: string[] = [];
    const cutoff = this.now() - this.uploadTtlMs;
    const isStale = async (entry: string, dir: string): Promise<boolean> => {
      let lastActive: number;
      try {
        const data = await fs.stat(join(dir, 'data')).catch(() => undefined);
        lastActive = data?.mtimeMs ?? (await fs.stat(dir)).mtimeMs;
      } catch {
        return false;
      }
      const valid = UUID_RE.test(entry) && (await exists(join(dir, 'repository')));
      // A start interrupted mid-way is only garbage once it is clearly not still going on.
      return lastActive < cutoff || (!valid && lastActive < this.now() - 60_000);
    };
    for (const entry of await fs.readdir(this.uploads)) {
      if (this.busyUploads.has(entry)) continue;
      const dir = join(this.uploads, entry);
      if (!(await isStale(entry, dir))) continue;
      // Again under the upload's lock: a request that touched it meanwhile has made it fresh,
      // and one arriving now waits and then finds it gone, instead of writing into a
      // directory being removed.
      const gone = await this.uploadLock.run(entry, async () => {
        if (this.busyUploads.has(entry) || !(await isStale(entry, dir))) return false;
        this.sessions.delete(entry);
        await fs.rm(dir, { recursive: true, force: true });
        return true;
      });
      if (gone) removed.push(entry);
    }
    return removed;
  }

  // ---- manifests and tags

  /**
   * Stores a manifest under a tag or digest after checking it: its media type (from the
   * Content-Type, or its own `mediaType` field when the Content-Type is generic), its shape,
   * and that everything it references is in the repository. The exact bytes are kept.
   */
  async putManifest(
    name: string,
    reference: ManifestReference,
    body: Buffer,
    contentType: string | undefined,
  ): Promise<{ digest: Digest; mediaType: string; subject?: Digest }> {
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}` as Digest;
    if (reference.digest !== undefined && reference.digest !== digest) {
      throw registryError(
        'DIGEST_INVALID',
        `manifest digest mismatch: the reference is "${reference.digest}", the content is "${digest}"`,
        {
          expected: reference.digest,
          actual: digest,
        },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new RegistryError('MANIFEST_INVALID', `manifest is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw registryError('MANIFEST_INVALID', 'manifest is not a JSON object');
    }
    const manifest = parsed as Record<string, unknown>;
    const mediaType = manifestMediaType(manifest, contentType);
    const refs = referencesOf(manifest, mediaType);
    // The subject need not be in the repository (an artifact may arrive before its image).
    const subject = manifest.subject === undefined ? undefined : descriptor(manifest.subject, 'subject').digest;
    return this.repoLock.run(name, async () => {
      for (const ref of refs.blobs) {
        let size: number;
        try {
          size = await this.statBlob(name, ref.digest);
        } catch (e) {
          if (e instanceof RegistryError && e.code === 'BLOB_UNKNOWN') {
            throw registryError(
              'MANIFEST_BLOB_UNKNOWN',
              `manifest references blob "${ref.digest}" unknown to repository "${name}"`,
              { digest: ref.digest },
            );
          }
          throw e;
        }
        if (size !== ref.size) {
          throw registryError(
            'MANIFEST_INVALID',
            `manifest gives blob "${ref.digest}" size ${ref.size}, it has ${size}`,
            { digest: ref.digest },
          );
        }
      }
      for (const ref of refs.manifests) {
        if (!(await exists(this.revisionLink(name, ref.digest)))) {
          throw new RegistryError(
            'MANIFEST_UNKNOWN',
            `index references manifest "${ref.digest}" unknown to repository "${name}"`,
            {
              detail: { digest: ref.digest },
              status: 400,
            },
          );
        }
      }
      await this.content.ingest(Readable.from([body]), { digest, size: body.length });
      await writeAtomic(this.revisionLink(name, digest), mediaType);
      if (subject !== undefined) await writeAtomic(this.referrerLink(name, subject, digest), '');
      if (reference.tag !== undefined) await writeAtomic(this.tagFile(name, reference.tag), digest);
      return subject === undefined ? { digest, mediaType } : { digest, mediaType, subject };
    });
  }

  private unknownManifest(name: string, ref: string): RegistryError {
    return registryError('MANIFEST_UNKNOWN', `manifest "${ref}" unknown to repository "${name}"`, {
      name,
      reference: ref,
    });
  }

  /** The digest a tag or digest reference resolves to in the repository. */
  async resolveManifest(name: string, reference: ManifestReference): Promise<{ digest: Digest; mediaType: string }> {
    let digest: Digest;
    if (reference.tag !== undefined) {
      const text = await readText(this.tagFile(name, reference.tag));
      if (text === undefined) throw this.unknownManifest(name, reference.tag);
      const target = text.trim();
      if (!isDigestText(target)) throw this.unknownManifest(name, reference.tag);
      digest = target;
    } else {
      digest = reference.digest;
    }
    const mediaType = await readText(this.revisionLink(name, digest));
    if (mediaType === undefined || !(await this.content.has(digest))) {
      throw this.unknownManifest(name, reference.tag ?? digest);
    }
    return { digest, mediaType };
  }

  async getManifest(name: string, reference: ManifestReference): Promise<StoredManifest> {
    const { digest, mediaType } = await this.resolveManifest(name, reference);
    try {
      return { digest, mediaType, body: await this.content.read(digest) };
    } catch (e) {
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest "${digest}" unknown to repository "${name}"`, { cause: e });
    }
  }

  /** Removes a manifest from a repository and every tag that points at it. */
  async deleteManifest(name: string, digest: Digest): Promise<void> {
    await this.repoLock.run(name, async () => {
      const link = this.revisionLink(name, digest);
      if (!(await exists(link))) throw this.unknownManifest(name, digest);
      const tagsDir = join(this.repoDir(name), '_manifests', 'tags');
      for (const tag of await this.listTags(name).catch(() => [])) {
        const path = join(tagsDir, tag);
        if ((await readText(path))?.trim() === digest) await fs.rm(path, { force: true });
      }
      const subject = await this.content
        .read(digest)
        .then((b) => (JSON.parse(b.toString('utf8')) as { subject?: { digest?: unknown } }).subject?.digest)
        .catch(() => undefined);
      if (typeof subject === 'string' && isDigestText(subject))
        await fs.rm(this.referrerLink(name, subject, digest), { force: true });
      await fs.rm(link, { force: true });
    });
  }

  /**
   * The manifests of the repository whose `subject` is `digest`, as the descriptors of an OCI
   * index (the referrers API), optionally only those of one artifact type.
   */
  async listReferrers(name: string, digest: Digest, artifactType?: string): Promise<Record<string, unknown>[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(join(this.repoDir(name), '_manifests', 'referrers', hexOfDigest(digest)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: Record<string, unknown>[] = [];
    for (const hex of entries.sort()) {
      const referrer = `sha256:${hex}`;
      if (!isDigestText(referrer)) continue;
      let m: StoredManifest;
      try {
        m = await this.getManifest(name, { digest: referrer });
      } catch {
        continue; // deleted meanwhile, or a link a crash left behind
      }
      const manifest = JSON.parse(m.body.toString('utf8')) as Record<string, any>;
      const type = typeof manifest.artifactType === 'string' ? manifest.artifactType : manifest.config?.mediaType;
      if (artifactType !== undefined && type !== artifactType) continue;
      const d: Record<string, unknown> = { mediaType: m.mediaType, digest: m.digest, size: m.body.length };
      if (typeof type === 'string') d.artifactType = type;
      if (manifest.annotations !== undefined) d.annotations = manifest.annotations;
      out.push(d);
    }
    return out;
  }

  /** Tags of a repository in lexical order; NAME_UNKNOWN when there is no such repository. */
  async listTags(name: string): Promise<string[]> {
    if (!(await this.repositoryExists(name))) {
      throw registryError('NAME_UNKNOWN', `repository "${name}" not known to the registry`, { name });
    }
    let entries: string[];
    try {
      entries = await fs.readdir(join(this.repoDir(name), '_manifests', 'tags'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries.filter(isTag).sort(compareLexical);
  }

  /** Every repository with content, in lexical order. */
  async listRepositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (prefix !== '' && entries.some((e) => e.isDirectory() && (e.name === '_blobs' || e.name === '_manifests'))) {
        found.push(prefix);
      }
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith('_') || e.name.startsWith('.')) continue;
        const candidate = prefix === '' ? e.name : `${prefix}/${e.name}`;
        if (isRepositoryName(candidate)) await walk(join(dir, e.name), candidate);
      }
    };
    await walk(this.repositories, '');
    return found.sort(compareLexical);
  }
}

function isDigestText(s: string): s is Digest {
  return /^sha256:[a-f0-9]{64}$/.test(s);
}

function compareLexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function mediaTypeOfContentType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  return base === '' ? undefined : base;
}

/** Which kind of manifest this is, refusing what the registry does not store. */
export function manifestMediaType(manifest: Record<string, unknown>, contentType: string | undefined): string {
  const declared = mediaTypeOfContentType(contentType);
  const own = typeof manifest.mediaType === 'string' ? manifest.mediaType : undefined;
  if (declared !== undefined && SCHEMA1_TYPES.has(declared)) {
    throw registryError(
      'MANIFEST_INVALID',
      `manifest type "${declared}" (schema 1) is not supported: push schema 2 or OCI`,
    );
  }
  if (declared !== undefined && MANIFEST_MEDIA_TYPES.includes(declared)) {
    if (own !== undefined && own !== declared) {
      throw registryError('MANIFEST_INVALID', `manifest says it is "${own}" but was sent as "${declared}"`);
    }
    return declared;
  }
  if (own !== undefined) {
    if (MANIFEST_MEDIA_TYPES.includes(own)) return own;
    throw registryError('MANIFEST_INVALID', `manifest type "${own}" is not supported`);
  }
  // Neither says: an OCI manifest or index may leave out its mediaType (image-spec).
  if (manifest.schemaVersion === 2 && 'config' in manifest && 'layers' in manifest) return MediaType.OciManifest;
  if (manifest.schemaVersion === 2 && 'manifests' in manifest) return MediaType.OciIndex;
  throw registryError('MANIFEST_INVALID', `manifest type${declared ? ` "${declared}"` : ''} is not supported`);
}

interface Reference {
  digest: Digest;
  size: number;
}

function descriptor(value: unknown, where: string): Reference & { urls: boolean } {
  const problem = descriptorProblem(value);
  if (problem !== undefined) throw registryError('MANIFEST_INVALID', `manifest ${where}: ${problem}`);
  const d = value as Descriptor & { urls?: unknown };
  return { digest: d.digest, size: d.size, urls: Array.isArray(d.urls) && d.urls.length > 0 };
}

/** The blobs (config, layers) or manifests (index entries) a manifest needs in its repository. */
export function referencesOf(
  manifest: Record<string, unknown>,
  mediaType: string,
): { blobs: Reference[]; manifests: Reference[] } {
  if (manifest.schemaVersion !== 2) throw registryError('MANIFEST_INVALID', 'manifest schemaVersion must be 2');
  if (mediaType === MediaType.DockerManifestList || mediaType === MediaType.OciIndex) {
    if (!Array.isArray(manifest.manifests)) throw registryError('MANIFEST_INVALID', 'index has no manifests list');
    return { blobs: [], manifests: manifest.manifests.map((m, i) => descriptor(m, `manifests[${i}]`)) };
  }
  const blobs: Reference[] = [descriptor(manifest.config, 'config')];
  if (!Array.isArray(manifest.layers)) throw registryError('MANIFEST_INVALID', 'manifest has no layers list');
  manifest.layers.forEach((l, i) => {
    const d = descriptor(l, `layers[${i}]`);
    // Foreign (non-distributable) layers live at their URLs, not in the registry.
    if (!d.urls) blobs.push(d);
  });
  return { blobs, manifests: [] };
}
