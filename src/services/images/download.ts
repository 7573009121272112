/**
 * Layer downloads for pull: one per blob however many pulls want it, and readable while they
 * are being written, so a layer is unpacked as it arrives instead of after it has arrived.
 *
 * Lifecycle: `acquire` starts the download of a blob into a scratch file (or joins the one in
 * flight) and returns a handle; `reader()` follows the file from its first byte to the
 * download's end (waiting at the end of what is written so far); `done` settles when the whole
 * blob is there and verified; `release()` gives the handle back, and the file is removed when
 * the last handle is released.
 *
 * Invariants: a reader never ends before the download has ended; a download that fails
 * (size, digest, connection) fails every reader, so nothing unpacked from it is kept — the
 * pull that unpacks also checks the diff ID of what it unpacked.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { coalescing } from './streams.ts';

export interface Download {
  /** Settles when the blob is complete and verified. */
  readonly done: Promise<void>;
  /** The scratch file (to link elsewhere once `done`; removed when the last handle goes). */
  readonly file: string;
  /** A stream of the blob from its first byte, following the download. */
  reader(): Readable;
  /** Why the download failed, once it has; undefined while it runs or when it succeeded. */
  failure(): unknown;
  /** Gives the handle back; the last one removes the file (settles when it is gone). */
  release(): Promise<void>;
}

interface Entry {
  file: string;
  users: number;
  written: number;
  finished: boolean;
  error?: unknown;
  events: EventEmitter;
  /** Settles once the file exists (a reader opens it only then). */
  created: Promise<void>;
  done: Promise<void>;
  /** Stops the download when every user has gone. */
  cancel: () => void;
}

/**
 * The downloads of one image store. `fetch` opens the verified blob stream (the registry
 * client's `openBlob`); `onBytes` reports the bytes as they are written, to the first
 * acquirer only (the one that drew its progress).
 */
export class Downloads {
  private readonly active = new Map<string, Entry>();

  /** Is a download of `key` in flight (or done and still held)? */
  has(key: string): boolean {
    return this.active.has(key);
  }

  acquire(key: string, dir: string, fetch: () => Promise<Readable>, onBytes: (n: number) => void): Download {
    let e = this.active.get(key);
    if (!e) e = this.start(key, dir, fetch, onBytes);
    e.users++;
    const entry = e;
    let released = false;
    return {
      done: entry.done,
      file: entry.file,
      reader: () => followFile(entry),
      failure: () => entry.error,
      release: async () => {
        if (released) return;
        released = true;
        if (--entry.users > 0) return;
        if (this.active.get(key) === entry) this.active.delete(key);
        if (!entry.finished) entry.cancel();
        await entry.done.catch(() => {});
        await fs.rm(entry.file, { force: true }).catch(() => {});
      },
    };
  }

  private start(key: string, dir: string, fetch: () => Promise<Readable>, onBytes: (n: number) => void): Entry {
    const events = new EventEmitter();
    events.setMaxListeners(0);
    let source: Readable | undefined;
    let cancelled = false;
    const entry: Entry = {
      file: join(dir, `pull-${randomBytes(8).toString('hex')}`),
      users: 0,
      written: 0,
      finished: false,
      events,
      created: Promise.resolve(),
      done: Promise.resolve(),
      cancel: () => {
        cancelled = true;
        source?.destroy(new Error('download cancelled: no pull wants it any more'));
      },
    };
    let created!: () => void;
    let notCreated!: (e: unknown) => void;
    entry.created = new Promise<void>((res, rej) => ((created = res), (notCreated = rej)));
    entry.created.catch(() => {});
    entry.done = (async () => {
      let fh: FileHandle | undefined;
      try {
        try {
          await fs.mkdir(dir, { recursive: true });
          fh = await fs.open(entry.file, 'wx');
          created();
        } catch (err) {
          notCreated(err);
          throw err;
        }
        source = await fetch();
        if (cancelled) source.destroy(new Error('download cancelled: no pull wants it any more'));
        const handle = fh;
        await pipeline(
          source,
          // Whole mebibytes to the file: one thread-pool write each, not one per socket read.
          coalescing(),
          new Transform({
            highWaterMark: 1 << 20,
            transform(c: Buffer, _e, cb) {
              onBytes(c.length);
              cb(null, c);
            },
          }),
          new Writable({
            highWaterMark: 1 << 20,
            write(c: Buffer, _e, cb) {
              handle.write(c).then(() => {
                entry.written += c.length;
                events.emit('progress');
                cb();
              }, cb);
            },
          }),
        );
      } catch (err) {
        entry.error = err;
        throw err;
      } finally {
        await fh?.close().catch(() => {});
        entry.finished = true;
        if (this.active.get(key) === entry && entry.error !== undefined) this.active.delete(key);
        events.emit('progress');
      }
    })();
    entry.done.catch(() => {});
    this.active.set(key, entry);
    return entry;
  }
}

/** Reads the entry's file from the start, waiting for more until the download has ended. */
function followFile(e: Entry): Readable {
  let fh: FileHandle | undefined;
  let pos = 0;
  const waitForMore = () =>
    new Promise<void>((resolve) => {
      if (e.finished || e.written > pos) return resolve();
      e.events.once('progress', () => resolve());
    });
  return new Readable({
    highWaterMark: 1 << 20,
    read(size) {
      void (async () => {
        try {
          if (!fh) {
            await e.created;
            fh = await fs.open(e.file, 'r');
          }
          for (;;) {
            if (e.written > pos) {
              const want = Math.min(Math.max(size, 1 << 20), e.written - pos);
              const buf = Buffer.allocUnsafe(want);
              const { bytesRead } = await fh.read(buf, 0, want, pos);
              if (bytesRead > 0) {
                pos += bytesRead;
                this.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
                return;
              }
            }
            if (e.finished) {
              if (e.error !== undefined) throw e.error;
              if (e.written <= pos) {
                this.push(null);
                return;
              }
              continue;
            }
            await waitForMore();
          }
        } catch (err) {
          this.destroy(err as Error);
        }
      })();
    },
    destroy(err, cb) {
      const h = fh;
      fh = undefined;
      if (h)
        h.close().then(
          () => cb(err),
          () => cb(err),
        );
      else cb(err);
    },
  });
}
