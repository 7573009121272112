/**
 * Content-addressed blob store: `<root>/blobs/sha256/<hex>` (and `blobs/sha512/<hex>` for the
 * registry's sha512 digests).
 *
 * Writes go through `<root>/ingest/`: the bytes are streamed to a temporary file while their
 * digest and size are computed, verified against what the caller expected, fsynced, then
 * renamed into place. A crash leaves at most a stray ingest file, which `open` removes; a blob
 * that is present is always complete and correct (but for `adoptWithoutSync`'s, after a power
 * failure).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs, type ReadStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { invalidArgument, notFound } from '../errdefs/index.ts';
import { algorithmOf, hexOf, type Digest } from '../spec/index.ts';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** Read side of the store. */
export interface BlobReader {
  has(digest: Digest): Promise<boolean>;
  info(digest: Digest): Promise<BlobInfo>;
  read(digest: Digest): Promise<Buffer>;
  stream(digest: Digest): ReadStream;
  path(digest: Digest): string;
}

/** Write side of the store. */
export interface BlobWriter {
  /** Streams `source` in; verifies `expected` digest/size when given. Returns what was stored. */
  ingest(source: Readable, expected?: Partial<BlobInfo>): Promise<BlobInfo>;
  put(data: Buffer | string): Promise<BlobInfo>;
  delete(digest: Digest): Promise<void>;
}

export class ContentStore implements BlobReader, BlobWriter {
  readonly root: string;
  private readonly blobs: string;
  private readonly ingestDir: string;

  private constructor(root: string) {
    this.root = root;
    this.blobs = join(root, 'blobs', 'sha256');
    this.ingestDir = join(root, 'ingest');
  }

  static async open(root: string): Promise<ContentStore> {
    const s = new ContentStore(root);
    await fs.mkdir(s.blobs, { recursive: true });
    // Leftovers of interrupted writes are never referenced: drop them.
    await fs.rm(s.ingestDir, { recursive: true, force: true });
    await fs.mkdir(s.ingestDir, { recursive: true });
    return s;
  }

  path(digest: Digest): string {
    return algorithmOf(digest) === 'sha512'
      ? join(this.blobs, '..', 'sha512', hexOf(digest))
      : join(this.blobs, hexOf(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await fs.access(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async info(digest: Digest): Promise<BlobInfo> {
    try {
      const st = await fs.stat(this.path(digest));
      return { digest, size: st.size };
    } catch (e) {
      throw notFound(`blob "${digest}": not found`, e);
    }
  }

  async read(digest: Digest): Promise<Buffer> {
    try {
      return await fs.readFile(this.path(digest));
    } catch (e) {
      throw notFound(`blob "${digest}": not found`, e);
    }
  }

  stream(digest: Digest): ReadStream {
    return createReadStream(this.path(digest));
  }

  async ingest(source: Readable, expected: Partial<BlobInfo> = {}): Promise<BlobInfo> {
    const tmp = join(this.ingestDir, randomBytes(12).toString('hex'));
    // sha256 unless the caller expects a sha512 digest (a registry push may name one).
    const algorithm = expected.digest === undefined ? 'sha256' : algorithmOf(expected.digest);
    const hash = createHash(algorithm);
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        if (expected.size !== undefined && size > expected.size) {
          cb(invalidArgument(`ingest blob: more than the expected ${expected.size} bytes`));
          return;
        }
        cb(null, chunk);
      },
    });
    try {
      const out = createWriteStream(tmp, { flags: 'wx' });
      await pipeline(source, meter, out);
      const digest = `${algorithm}:${hash.digest('hex')}` as Digest;
      if (expected.digest !== undefined && expected.digest !== digest) {
        throw invalidArgument(`ingest blob: digest mismatch: expected "${expected.digest}", got "${digest}"`);
      }
      if (expected.size !== undefined && expected.size !== size) {
        throw invalidArgument(`ingest blob "${digest}": size mismatch: expected ${expected.size}, got ${size}`);
      }
      const fh = await fs.open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (algorithm === 'sha512') await fs.mkdir(join(this.path(digest), '..'), { recursive: true });
      await fs.rename(tmp, this.path(digest));
      return { digest, size };
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /**
   * Moves a file its caller has already hashed into the store as `verified.digest`, so a
   * writer that hashed while streaming (a registry upload, possibly across several requests)
   * need not copy gigabytes through `ingest` again. The file must be on the store's file
   * system and must not be written any more. Its size is checked against `verified.size`; the
   * digest is the caller's word, which keeps the store's promise only if the caller hashed
   * exactly these bytes. On success the file is gone from its old path.
   */
  async adopt(file: string, verified: BlobInfo): Promise<void> {
    const fh = await fs.open(file, 'r');
    try {
      const st = await fh.stat();
      if (st.size !== verified.size) {
        throw invalidArgument(
          `adopt blob "${verified.digest}": size mismatch: expected ${verified.size}, got ${st.size}`,
        );
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    // Renaming over an existing blob replaces identical bytes with identical bytes, atomically:
    // concurrent adopters of one digest are safe.
    if (algorithmOf(verified.digest) === 'sha512')
      await fs.mkdir(join(this.path(verified.digest), '..'), { recursive: true });
    await fs.rename(file, this.path(verified.digest));
  }

  /**
   * `adopt` without the flush to disk: the kernel writes the blob back in its own time (within
   * half a minute), as it does the layers' unpacked files. For a pulled layer's compressed
   * blob, which only a later push or save reads back: an fsync of it, even in the background,
   * held up the next pull for seconds here (ext4 commits its journal behind it). A daemon
   * killed at any point loses nothing (the page cache has the bytes); a power failure in that
   * half minute may leave the blob short, which its reader finds by the digest (the registry's
   * on push, the diff ID on save), as dockerd leaves its layer data unflushed too.
   */
  async adoptWithoutSync(file: string, verified: BlobInfo): Promise<void> {
    const st = await fs.stat(file);
    if (st.size !== verified.size)
      throw invalidArgument(
        `adopt blob "${verified.digest}": size mismatch: expected ${verified.size}, got ${st.size}`,
      );
    if (algorithmOf(verified.digest) === 'sha512')
      await fs.mkdir(join(this.path(verified.digest), '..'), { recursive: true });
    await fs.rename(file, this.path(verified.digest));
  }

  async put(data: Buffer | string): Promise<BlobInfo> {
    const { Readable } = await import('node:stream');
    return this.ingest(Readable.from([typeof data === 'string' ? Buffer.from(data) : data]));
  }

  async delete(digest: Digest): Promise<void> {
    await fs.rm(this.path(digest), { force: true });
  }

  /** All stored digests (for garbage collection). */
  async list(): Promise<Digest[]> {
    const names = await fs.readdir(this.blobs);
    const wide = await fs.readdir(join(this.blobs, '..', 'sha512')).catch(() => [] as string[]);
    return [
      ...names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}` as Digest),
      ...wide.filter((n) => /^[a-f0-9]{128}$/.test(n)).map((n) => `sha512:${n}` as Digest),
    ];
  }
}
