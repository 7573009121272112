/**
 * Layers compressed once and kept: a content blob of a layer's gzip (or zstd) form, found by
 * diff ID and compression, so a push uploads it instead of compressing the layer again.
 *
 * A pulled layer keeps the compressed blob it came as (`keep`), and no uncompressed tar: `tar`
 * gives a layer's tar either way, from the tar blob or decompressed from a kept form.
 *
 * Lifecycle: a layer made here (build, commit, import, load) is queued for gzip in the
 * background (`schedule`), one at a time and only after a second without new work, so a build
 * does not compete with its own compression step by step; a push that needs a form not made
 * yet makes it while it uploads (`compressing`) and keeps it. Concurrent requests for one form
 * share the work. `prune` drops forms whose layer is gone (the image store calls it after
 * removals and at start-up).
 *
 * Invariants: a row names a blob the content store has (the blob is stored first, the row
 * written after); a form found by `find` whose blob went missing is forgotten, never served.
 *
 *   const form = layers.find(diffId, 'gzip') ?? (await layers.ensure(diffId, 'gzip'));
 *   client.pushBlob(repo, form, layers.content.stream(form.digest));
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compressor, decompressed, type LayerCompression } from '../archive/index.ts';
import { internal, notFound } from '../errdefs/index.ts';
import type { ContentStore } from '../content/index.ts';
import type { MetadataDb } from '../metadata/index.ts';
import type { Snapshotter } from '../snapshots/index.ts';
import type { Digest } from '../spec/index.ts';

export interface CompressedLayer {
  diffId: Digest;
  compression: LayerCompression;
  /** The level it was made with; undefined when it came from elsewhere. */
  level?: number;
  digest: Digest;
  size: number;
  /** Bytes of the uncompressed tar, when known (always for a pulled layer's form). */
  tarSize?: number;
}

/** A layer's uncompressed tar: its size, and a stream of it from the start. */
export interface LayerTar {
  size: number;
  open(): Readable;
}

/** Layers smaller than this are compressed when pushed: queueing them costs more than it saves. */
const BACKGROUND_MIN_BYTES = 256 * 1024;
const QUIET_MS = 1000;

export class CompressedLayers {
  readonly content: ContentStore;
  private readonly db: MetadataDb;
  private readonly snapshots: Snapshotter;
  private readonly tmp: string;
  private readonly inFlight = new Map<string, Promise<CompressedLayer>>();
  private readonly queue: Digest[] = [];
  private timer: NodeJS.Timeout | undefined;
  private working = false;
  private closed = false;
  /** Whether `schedule` compresses at all (the daemon turns it on; tests mostly do not). */
  background = false;
  /** Background failures, for the daemon's log. */
  onError: (diffId: Digest, e: unknown) => void = () => {};

  constructor(db: MetadataDb, content: ContentStore, snapshots: Snapshotter, tmp: string) {
    this.db = db;
    this.content = content;
    this.snapshots = snapshots;
    this.tmp = tmp;
  }

  /** The kept form, if any; with a level, only one made with that level. */
  find(diffId: Digest, compression: LayerCompression, level?: number): CompressedLayer | undefined {
    const r = this.db
      .stmt('SELECT digest, size, level, tar_size FROM compressed_layers WHERE diff_id = ? AND compression = ?')
      .get(diffId, compression) as
      { digest: string; size: number; level: number | null; tar_size: number | null } | undefined;
    if (!r) return undefined;
    if (level !== undefined && r.level !== level) return undefined;
    if (!existsSync(this.content.path(r.digest as Digest))) {
      this.forget(diffId, compression);
      return undefined;
    }
    return {
      diffId,
      compression,
      ...(r.level !== null ? { level: r.level } : {}),
      digest: r.digest as Digest,
      size: r.size,
      ...(r.tar_size !== null ? { tarSize: r.tar_size } : {}),
    };
  }

  private forget(diffId: Digest, compression: LayerCompression): void {
    this.db.stmt('DELETE FROM compressed_layers WHERE diff_id = ? AND compression = ?').run(diffId, compression);
  }

  private record(c: CompressedLayer): void {
    this.db
      .stmt(
        'INSERT INTO compressed_layers (diff_id, compression, level, digest, size, tar_size) VALUES (?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT(diff_id, compression) DO UPDATE SET level = excluded.level, digest = excluded.digest, ' +
          'size = excluded.size, tar_size = COALESCE(excluded.tar_size, tar_size)',
      )
      .run(c.diffId, c.compression, c.level ?? null, c.digest, c.size, c.tarSize ?? null);
  }

  /**
   * Keeps a pulled layer's compressed blob as it came — verified against the manifest, and
   * its layer unpacked and checked against the diff ID — in place of an uncompressed tar:
   * `file` is moved into the content store (not flushed: `ContentStore.adoptWithoutSync` says
   * why) and recorded. The layer must be in the snapshotter already (`prune` drops
   * forms of missing layers).
   */
  async keep(file: string, form: CompressedLayer & { tarSize: number }): Promise<void> {
    await this.content.adoptWithoutSync(file, form);
    this.record(form);
  }

  /**
   * A layer's uncompressed tar, as `save` writes it and a compression reads it: the content
   * blob when one is kept (layers made here), else decompressed from a kept form that knows
   * its tar's size (a pulled layer), checked against the diff ID as it is read.
   */
  async tar(diffId: Digest): Promise<LayerTar> {
    const blob = await this.content.info(diffId).catch(() => undefined);
    if (blob) return { size: blob.size, open: () => this.content.stream(diffId) };
    for (const kind of ['gzip', 'zstd'] as const) {
      const form = this.find(diffId, kind);
      if (form?.tarSize === undefined) continue;
      const size = form.tarSize;
      return { size, open: () => checkedTar(this.content.stream(form.digest), diffId, size) };
    }
    throw notFound(`layer "${diffId}": neither its tar nor a compressed form of it is kept`);
  }

  /** A form in flight for this key (background or another push), to wait for instead of redoing. */
  pending(diffId: Digest, compression: LayerCompression): Promise<CompressedLayer> | undefined {
    return this.inFlight.get(`${diffId} ${compression}`);
  }

  /** The kept form, or one made now (and kept); concurrent callers share one compression. */
  async ensure(diffId: Digest, compression: LayerCompression, level?: number): Promise<CompressedLayer> {
    const have = this.find(diffId, compression, level);
    if (have) return have;
    const p = this.pending(diffId, compression);
    if (p) {
      const made = await p;
      if (level === undefined || made.level === level) return made;
    }
    const c = this.compressing(diffId, compression, level);
    c.stream.resume();
    return c.done;
  }

  /**
   * Compresses a layer as a stream to read (an upload) and keeps what passed through: `done`
   * settles once the form is stored and recorded. Destroying `stream` abandons the form.
   */
  compressing(
    diffId: Digest,
    compression: LayerCompression,
    level?: number,
    onRead?: (n: number) => void,
  ): { stream: Readable; done: Promise<CompressedLayer> } {
    const key = `${diffId} ${compression}`;
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    const file = join(this.tmp, `compress-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const tee = new Transform({
      highWaterMark: 1 << 20,
      transform(c: Buffer, _e, cb) {
        hash.update(c);
        size += c.length;
        // The reader (an upload) sets the pace; the file is written beside it.
        if (!out.write(c)) out.once('drain', () => cb(null, c));
        else cb(null, c);
      },
      flush(cb) {
        out.end();
        cb();
      },
    });
    let tarSize = 0;
    const done = (async () => {
      try {
        const tar = await this.tar(diffId);
        tarSize = tar.size;
        await fs.mkdir(this.tmp, { recursive: true });
        const abandon = new Promise<never>((_, reject) =>
          out.once('close', () => {
            if (!out.writableFinished) reject(new Error('compression abandoned by its reader'));
          }),
        );
        abandon.catch(() => {});
        await Promise.race([
          pipeline(
            tar.open(),
            new Transform({
              highWaterMark: 1 << 20,
              transform(c: Buffer, _e, cb) {
                onRead?.(c.length);
                cb(null, c);
              },
            }),
            compressor(compression, level),
            tee,
            createWriteStream(file, { flags: 'wx' }),
          ),
          abandon,
        ]);
        const made: CompressedLayer = {
          diffId,
          compression,
          ...(level !== undefined ? { level } : {}),
          digest: `sha256:${hash.digest('hex')}` as Digest,
          size,
          tarSize,
        };
        await this.content.adopt(file, { digest: made.digest, size });
        this.record(made);
        return made;
      } catch (e) {
        out.destroy(e as Error);
        throw e;
      } finally {
        await fs.rm(file, { force: true });
        this.inFlight.delete(key);
      }
    })();
    done.catch(() => {});
    if (!this.inFlight.has(key)) this.inFlight.set(key, done);
    return { stream: out, done };
  }

  /** Queues layers for gzip in the background (when `background` is on). */
  schedule(diffIds: readonly Digest[]): void {
    if (!this.background || this.closed) return;
    for (const d of diffIds) if (!this.queue.includes(d)) this.queue.push(d);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.work(), QUIET_MS);
    this.timer.unref();
  }

  private async work(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      while (!this.closed) {
        const d = this.queue.shift();
        if (!d) break;
        if (this.find(d, 'gzip') || this.pending(d, 'gzip')) continue;
        try {
          const info = await this.tar(d);
          if (info.size < BACKGROUND_MIN_BYTES || !this.snapshots.isDiffIdUsed(d)) continue;
          await this.ensure(d, 'gzip');
        } catch (e) {
          this.onError(d, e);
        }
      }
    } finally {
      this.working = false;
    }
  }

  /** Drops the forms of layers no layer uses any more; returns how many. */
  async prune(): Promise<number> {
    const rows = this.db.stmt('SELECT diff_id, compression, digest FROM compressed_layers').all() as {
      diff_id: string;
      compression: LayerCompression;
      digest: string;
    }[];
    let n = 0;
    for (const r of rows) {
      if (this.snapshots.isDiffIdUsed(r.diff_id)) continue;
      if (this.inFlight.has(`${r.diff_id} ${r.compression}`)) continue;
      this.forget(r.diff_id as Digest, r.compression);
      await this.content.delete(r.digest as Digest);
      n++;
    }
    return n;
  }

  /** Digests of every kept form: blobs a content sweep must leave alone. */
  digests(): Set<string> {
    return new Set(
      (this.db.stmt('SELECT digest FROM compressed_layers').all() as { digest: string }[]).map((r) => r.digest),
    );
  }

  /** Stops background work (daemon shutdown); what is in flight finishes. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

/** The decompressed form, failing at its end unless it is `size` bytes hashing to `diffId`. */
function checkedTar(compressed: Readable, diffId: Digest, size: number): Readable {
  const hash = createHash('sha256');
  let n = 0;
  const check = new Transform({
    highWaterMark: 1 << 20,
    transform(c: Buffer, _e, cb) {
      hash.update(c);
      n += c.length;
      cb(null, c);
    },
    flush(cb) {
      const got = `sha256:${hash.digest('hex')}`;
      if (got === diffId && n === size) return cb();
      cb(internal(`layer "${diffId}": its kept compressed form gives ${n} bytes hashing to ${got}`));
    },
  });
  const plain = decompressed(compressed);
  plain.on('error', (e) => check.destroy(e));
  check.on('close', () => plain.destroy());
  plain.pipe(check);
  return check;
}
