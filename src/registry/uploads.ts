/**
 * Upload sessions (`uploads/<uuid>/{repository,data}`): a blob arrives in one request or in
 * chunks, is hashed as it arrives (a chunk cut off is truncated away again, so an upload is
 * always as it was before a failed request), survives a restart (the next process re-hashes
 * what the file holds), and is adopted into the blob store by rename once its digest checks
 * out. Sessions untouched for the TTL, and starts a crash interrupted, are expired.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContentStore } from '../content/index.ts';
import type { Digest } from '../spec/index.ts';
import type { RepositoryBlobs } from './blobs.ts';
import { RegistryError, registryError } from './errors.ts';
import { KeyedLock } from '../async/index.ts';
import { readText, writeAtomic, type RepositoryLayout } from './layout.ts';
import { pathExists } from '../fs/index.ts';

const UUID_RE = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

export interface UploadStatus {
  uuid: string;
  /** Bytes received so far. */
  size: number;
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

export interface UploadOptions {
  /** `<root>/uploads` */
  dir: string;
  /** An upload untouched this long is removed by `expire`. */
  ttlMs: number;
  now: () => number;
}

export class Uploads {
  private readonly dir: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly layout: RepositoryLayout;
  private readonly content: ContentStore;
  private readonly blobs: RepositoryBlobs;
  private readonly lock = new KeyedLock();
  /** Sessions seen since start; others are loaded from disk on first use. */
  private readonly sessions = new Map<string, UploadSession>();
  /** Uploads with a request in progress: never expired underneath it. */
  private readonly busy = new Set<string>();

  constructor(o: UploadOptions, layout: RepositoryLayout, content: ContentStore, blobs: RepositoryBlobs) {
    this.dir = o.dir;
    this.ttlMs = o.ttlMs;
    this.now = o.now;
    this.layout = layout;
    this.content = content;
    this.blobs = blobs;
  }

  async start(name: string): Promise<UploadStatus> {
    this.layout.repoDir(name);
    const uuid = randomUUID();
    const dir = join(this.dir, uuid);
    await fs.mkdir(dir);
    await fs.writeFile(join(dir, 'data'), '');
    // Written last: a directory without it is an interrupted start, removed by expire.
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
      const dir = join(this.dir, uuid);
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
    return this.lock.run(uuid, async () => {
      this.busy.add(uuid);
      try {
        return await task(await this.session(name, uuid));
      } finally {
        this.busy.delete(uuid);
      }
    });
  }

  async status(name: string, uuid: string): Promise<UploadStatus> {
    return this.withSession(name, uuid, async (s) => ({ uuid, size: s.size }));
  }

  /**
   * Appends a chunk. With `range`, it must start where the upload ends (RANGE_INVALID, 416,
   * otherwise) and be exactly that long. A chunk that fails part-way (the client went away,
   * the disk filled) is cut off again: the upload is as it was before the request.
   */
  async append(name: string, uuid: string, source: Readable, range?: ChunkRange): Promise<UploadStatus> {
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
  async complete(
    name: string,
    uuid: string,
    digest: Digest,
    lastChunk?: Readable,
    range?: ChunkRange,
  ): Promise<{ digest: Digest; size: number }> {
    return this.withSession(name, uuid, async (s) => {
      if (lastChunk !== undefined) await this.appendTo(s, lastChunk, range);
      // The file holds exactly the hashed bytes; a tail a failed chunk could not take back
      // (its truncation failed) must not become part of the blob.
      const held = (await fs.stat(join(s.dir, 'data'))).size;
      if (held < s.size)
        throw registryError('UNKNOWN', `blob upload "${uuid}": ${held} bytes on disk, ${s.size} received`);
      if (held > s.size) await fs.truncate(join(s.dir, 'data'), s.size);
      // sha256 is hashed as the bytes arrive; a sha512 digest (rare) is checked by one more read.
      const actual = digest.startsWith('sha512:')
        ? await hashFile(join(s.dir, 'data'), 'sha512')
        : (`sha256:${s.hash.copy().digest('hex')}` as Digest);
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
      await this.content.adopt(join(s.dir, 'data'), { digest, size: s.size });
      await this.blobs.link(name, digest);
      await this.dropSession(s);
      return { digest, size: s.size };
    });
  }

  async cancel(name: string, uuid: string): Promise<void> {
    await this.withSession(name, uuid, (s) => this.dropSession(s));
  }

  /** A whole blob in one request: an upload started, filled and completed at once. */
  async put(name: string, digest: Digest, source: Readable): Promise<{ digest: Digest; size: number }> {
    const { uuid } = await this.start(name);
    try {
      return await this.complete(name, uuid, digest, source);
    } finally {
      if (this.sessions.has(uuid)) await this.cancel(name, uuid).catch(() => {});
    }
  }

  private async dropSession(s: UploadSession): Promise<void> {
    this.sessions.delete(s.uuid);
    await fs.rm(s.dir, { recursive: true, force: true });
  }

  /**
   * Removes uploads nobody has touched for the TTL, and leftovers of interrupted starts.
   * Runs at open and periodically; an upload with a request in progress is never removed.
   * A dry run only names them (`uploadpurging.dryrun`).
   */
  async expire(dryRun = false): Promise<string[]> {
    const removed: string[] = [];
    const cutoff = this.now() - this.ttlMs;
    const isStale = async (entry: string, dir: string): Promise<boolean> => {
      let lastActive: number;
      try {
        const data = await fs.stat(join(dir, 'data')).catch(() => undefined);
        lastActive = data?.mtimeMs ?? (await fs.stat(dir)).mtimeMs;
      } catch {
        return false;
      }
      const valid = UUID_RE.test(entry) && (await pathExists(join(dir, 'repository')));
      // A start interrupted mid-way is only garbage once it is clearly not still going on.
      return lastActive < cutoff || (!valid && lastActive < this.now() - 60_000);
    };
    for (const entry of await fs.readdir(this.dir)) {
      if (this.busy.has(entry)) continue;
      const dir = join(this.dir, entry);
      if (!(await isStale(entry, dir))) continue;
      if (dryRun) {
        removed.push(entry);
        continue;
      }
      // Again under the upload's lock: a request that touched it meanwhile has made it fresh,
      // and one arriving now waits and then finds it gone, instead of writing into a
      // directory being removed.
      const gone = await this.lock.run(entry, async () => {
        if (this.busy.has(entry) || !(await isStale(entry, dir))) return false;
        this.sessions.delete(entry);
        await fs.rm(dir, { recursive: true, force: true });
        return true;
      });
      if (gone) removed.push(entry);
    }
    return removed;
  }
}

async function hashFile(path: string, algorithm: 'sha512'): Promise<Digest> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest('hex')}`;
}
