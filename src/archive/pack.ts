/**
 * Directory trees as tar streams: `tarDirectory` for `docker export` and for making a layer
 * from a directory, `diffOverlayUpper` for turning an overlay upperdir into an OCI layer
 * (`docker commit`, the builder).
 *
 * Entries are sorted (the same tree gives the same bytes and digest), named relative to the
 * root without `./`, directories with a trailing slash; a file seen again through another
 * link becomes a hardlink entry; devices and fifos are kept; sockets are left out.
 *
 * The tree may be live (a running container's rootfs): files are opened without following
 * symlinks and checked to still be the file that was listed and to lie inside the root, so a
 * process swapping a file for a symlink cannot make the export read a host file. Entries that
 * vanish or change type while being read are left out.
 */
import fsSync, { readlinkSync, promises as fs, constants, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pack as tarPack, type Pack, type Header } from 'tar-stream';
import { BerthError, internal } from '../errdefs/index.ts';
import type { Runner } from '../host/index.ts';
import { toContainer, type IdMap } from '../spec/index.ts';
import {
  CAPABILITY_XATTR,
  isInside,
  joinRel,
  OVERLAY_OPAQUE_XATTR,
  splitRel,
  WHITEOUT_OPAQUE,
  WHITEOUT_PREFIX,
} from './names.ts';
import { xattrRecords } from './pax.ts';
import { walkTree } from './walk.ts';
import { readTreeXattrs, type TreeXattrs } from './xattrs.ts';

type EntryHeader = Partial<Header> & { name: string };

export interface PackOptions {
  /** With a host, `security.capability` xattrs are kept (read with one getfattr run). */
  host?: Runner;
  /** Leave out paths (relative, no leading slash) for which this returns true, with their contents. */
  exclude?: (rel: string) => boolean;
  /** Fixed mtime for every entry (reproducible layers). */
  mtime?: Date;
  /**
   * Names entries `<prefix>/<rel>` and starts with the root itself as `<prefix>/` (a directory
   * copied out of a container by its own name, as `docker cp` wants it).
   */
  prefix?: string;
  /** `--userns-remap`: files are owned by host ids; entries carry the container's ids they map to. */
  idMap?: IdMap;
}

/**
 * The tree under `root` as a tar stream. Errors (including a root that cannot be read)
 * surface as the stream's error; destroying the stream stops the walk.
 *
 *     await pipeline(tarDirectory(rootfs, { host }), res);
 */
export function tarDirectory(root: string, opts: PackOptions = {}): Readable {
  return packTree(root, {
    overlay: false,
    exclude: opts.exclude,
    mtime: opts.mtime,
    prefix: opts.prefix,
    idMap: opts.idMap,
    xattrs: opts.host ? () => readTreeXattrs(opts.host!, root, [CAPABILITY_XATTR], false) : undefined,
  });
}

export interface OverlayDiffOptions {
  /** Reads the opaque flags (and file capabilities) of the upperdir with one getfattr run. */
  host: Runner;
  /** Fixed mtime for every entry (reproducible layers). */
  mtime?: Date;
  /** `--userns-remap`: the upper's files are owned by host ids; the layer carries the container's. */
  idMap?: IdMap;
}

/**
 * The changes recorded in an overlay upperdir as an OCI layer tar: files as they are, overlay
 * whiteouts (0/0 character devices) as empty `.wh.<name>` files, opaque directories
 * (`trusted.overlay.opaque=y`) followed by a `.wh..wh..opq` entry, as Docker's overlay2 driver
 * writes them. Pause the container (or unmount) first for a consistent layer.
 */
export function diffOverlayUpper(upper: string, opts: OverlayDiffOptions): Readable {
  return packTree(upper, {
    overlay: true,
    mtime: opts.mtime,
    idMap: opts.idMap,
    xattrs: () => readTreeXattrs(opts.host, upper, [OVERLAY_OPAQUE_XATTR, CAPABILITY_XATTR], true),
  });
}

interface PackMode {
  overlay: boolean;
  exclude?: (rel: string) => boolean;
  mtime?: Date;
  prefix?: string;
  idMap?: IdMap;
  xattrs?: () => Promise<TreeXattrs>;
}

const SMALL_FILE = 1 << 20;
const TINY_FILE = 64 << 10;
/** No symlink followed, no blocking on a fifo or device swapped in. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** What opening a listed file gives when it was removed or replaced meanwhile. */
const VANISHED = new Set(['ENOENT', 'ELOOP', 'ENOTDIR', 'ENXIO']);
const EMPTY = Buffer.alloc(0);
const CHUNK = 1 << 20;

function packTree(root: string, mode: PackMode): Readable {
  const p = tarPack({ highWaterMark: 4 << 20 });
  let started = false;
  let ended = false;
  let wanted: (() => void) | undefined;
  const out = new Readable({
    highWaterMark: 1 << 20,
    // The walk starts on the first read, so that its errors reach a consumer that listens.
    read() {
      if (!started) {
        started = true;
        void new Packer(root, p, out, mode, () =>
          out.readableLength < out.readableHighWaterMark ? undefined : new Promise<void>((r) => (wanted = r)),
        )
          .run()
          .then(
            () => p.finalize(),
            (e) => {
              ended = true;
              out.destroy(e instanceof BerthError ? e : internal(`pack "${root}": ${(e as Error)?.message ?? e}`, e));
              p.destroy();
            },
          );
      }
      p.resume();
      const w = wanted;
      wanted = undefined;
      w?.();
    },
    destroy(err, cb) {
      if (!ended) p.destroy();
      const w = wanted;
      wanted = undefined;
      w?.();
      cb(err);
    },
  });
  p.on('data', (c: unknown) => {
    if (!out.push(c as Buffer)) p.pause();
  });
  p.on('end', () => {
    ended = true;
    out.push(null);
  });
  p.on('error', (e: Error) => out.destroy(e));
  return out;
}

type Writer = () => Promise<void>;

interface Planned {
  /** The entries' writers, once whatever they need (a small file's data) is read. */
  ready: Promise<Writer[]>;
  /** Bytes held in memory until written. */
  bytes: number;
}

/** Read ahead: how many entries and how many bytes of small files may wait to be written. */
const AHEAD = 64;
const AHEAD_BYTES = 16 << 20;

class Packer {
  private readonly root: string;
  private readonly p: Pack;
  private readonly out: Readable;
  private readonly mode: PackMode;
  /** Resolves when the reader wants more, or undefined when it already does. */
  private readonly demand: () => Promise<void> | undefined;
  private readonly links = new Map<string, string>();
  private readonly queue: Planned[] = [];
  private queuedBytes = 0;
  private realRoot = '';
  private xattrs: TreeXattrs = new Map();

  constructor(root: string, p: Pack, out: Readable, mode: PackMode, demand: () => Promise<void> | undefined) {
    this.root = root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root;
    this.p = p;
    this.out = out;
    this.mode = mode;
    this.demand = demand;
  }

  async run(): Promise<void> {
    this.realRoot = await fs.realpath(this.root);
    if (this.mode.xattrs) this.xattrs = await this.mode.xattrs();
    if (this.mode.overlay && this.opaque('')) {
      const st = await fs.lstat(this.root);
      await this.add({ ...this.base(WHITEOUT_OPAQUE, st), type: 'file', mode: st.mode & 0o777 });
    }
    if (this.mode.prefix !== undefined) {
      const st = await fs.lstat(this.root);
      await this.add({ ...this.base('', st), type: 'directory' }, '');
    }
    try {
      await walkTree(this.root, (e) => this.entry(e.rel, e.abs, e.st), this.mode.exclude);
      while (this.queue.length) await this.flushOne();
    } finally {
      // On failure, let the reads already started finish (they close their files).
      await Promise.allSettled(this.queue.map((q) => q.ready));
    }
  }

  /**
   * Plans an entry in walk order (which decides hardlinks), lets small files be read
   * concurrently with the next ones, and writes entries in order as they become ready.
   */
  private async entry(rel: string, abs: string, st: Stats): Promise<boolean> {
    if (this.out.destroyed) throw internal(`pack "${this.root}": the reader went away`);
    const planned = this.plan(rel, abs, st);
    planned.ready.catch(() => {});
    this.queue.push(planned);
    this.queuedBytes += planned.bytes;
    while (this.queue.length > AHEAD || (this.queue.length > 1 && this.queuedBytes > AHEAD_BYTES))
      await this.flushOne();
    return st.isDirectory();
  }

  private async flushOne(): Promise<void> {
    const next = this.queue.shift()!;
    this.queuedBytes -= next.bytes;
    for (const write of await next.ready) {
      if (this.out.destroyed) throw internal(`pack "${this.root}": the reader went away`);
      const waiting = this.demand();
      if (waiting) await waiting;
      await write();
    }
  }

  private plan(rel: string, abs: string, st: Stats): Planned {
    const now = (...writers: Writer[]): Planned => ({ ready: Promise.resolve(writers), bytes: 0 });
    if (st.isDirectory()) {
      const writers: Writer[] = [() => this.add({ ...this.base(`${rel}/`, st), type: 'directory' }, rel)];
      if (this.mode.overlay && this.opaque(rel)) {
        writers.push(() =>
          this.add({ ...this.base(`${rel}/${WHITEOUT_OPAQUE}`, st), type: 'file', mode: st.mode & 0o777 }),
        );
      }
      return now(...writers);
    }
    if (this.mode.overlay && st.isCharacterDevice() && st.rdev === 0) {
      // Overlay whiteouts are often hardlinks of one shared inode: never treat them as links.
      const [parent, base] = splitRel(rel);
      return now(() =>
        this.add({ ...this.base(joinRel(parent, WHITEOUT_PREFIX + base), st), type: 'file', mode: 0o600 }),
      );
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first !== undefined)
        return now(() => this.add({ ...this.base(rel, st), type: 'link', linkname: this.base(first, st).name }));
      this.links.set(key, rel);
    }
    if (st.isFile()) {
      if (st.size > SMALL_FILE) return now(() => this.bigFile(rel, abs, st));
      const ready = this.readSmall(abs, st).then((data): Writer[] =>
        data === undefined
          ? []
          : [
              () => {
                const h: EntryHeader = { ...this.base(rel, st), type: 'file', size: data.length };
                this.withXattrs(h, rel);
                return new Promise<void>((resolve, reject) =>
                  this.p.entry(h, data, (err) => (err ? reject(err) : resolve())),
                );
              },
            ],
      );
      return { ready, bytes: st.size };
    }
    if (st.isSymbolicLink()) {
      const ready = fs.readlink(abs).then(
        (to): Writer[] => [() => this.add({ ...this.base(rel, st), type: 'symlink', linkname: to }, rel)],
        (): Writer[] => [],
      );
      return { ready, bytes: 0 };
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      const [devmajor, devminor] = majorMinor(st.rdev);
      return now(() =>
        this.add(
          {
            ...this.base(rel, st),
            type: st.isCharacterDevice() ? 'character-device' : 'block-device',
            devmajor,
            devminor,
          },
          rel,
        ),
      );
    }
    if (st.isFIFO()) return now(() => this.add({ ...this.base(rel, st), type: 'fifo' }, rel));
    return now();
  }

  private opaque(rel: string): boolean {
    return this.xattrs.get(rel)?.get(OVERLAY_OPAQUE_XATTR)?.toString('latin1') === 'y';
  }

  private base(rel: string, st: Stats): EntryHeader {
    const prefix = this.mode.prefix;
    const name = prefix === undefined ? rel : rel === '' ? `${prefix}/` : `${prefix}/${rel}`;
    const { uid, gid } = this.mode.idMap ? toContainer(this.mode.idMap, st.uid, st.gid) : st;
    const h: EntryHeader = {
      name,
      mode: st.mode & 0o7777,
      uid,
      gid,
      mtime: this.mode.mtime ?? st.mtime,
      size: 0,
    };
    // ustar holds ids up to 0o7777777; above that PAX records carry them (as Go's tar does).
    if (uid > 0o7777777 || gid > 0o7777777) h.pax = { uid: String(uid), gid: String(gid) };
    return h;
  }

  /** Adds a data-less entry (an empty file for whiteouts), with the xattrs of `rel` when it has any. */
  private add(h: EntryHeader, rel?: string): Promise<void> {
    this.withXattrs(h, rel);
    return new Promise((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      // tar-stream waits for the data of a file entry, even an empty one.
      if (h.type === 'file') this.p.entry(h, EMPTY, done);
      else this.p.entry(h, done);
    });
  }

  private withXattrs(h: EntryHeader, rel: string | undefined): void {
    const attrs = rel === undefined ? undefined : this.xattrs.get(rel);
    if (!attrs) return;
    const keep = new Map([...attrs].filter(([name]) => !name.startsWith('trusted.overlay.')));
    if (keep.size) h.pax = { ...(h.pax as Record<string, string> | undefined), ...xattrRecords(keep) };
  }

  /**
   * A small file's data, exactly `st.size` bytes (cut or zero-padded if it changed since it
   * was listed), or undefined when it is no longer that file.
   */
  private async readSmall(abs: string, st: Stats): Promise<Buffer | undefined> {
    if (st.size <= TINY_FILE) return this.readTiny(abs, st);
    const fh = await this.open(abs, st);
    if (!fh) return undefined;
    try {
      const buf = Buffer.alloc(st.size);
      await readFully(fh, buf, 0);
      return buf;
    } finally {
      await fh.close();
    }
  }

  /**
   * Most files of a root file system are a few kilobytes: for those, four quick syscalls on
   * the main thread cost a fraction of four thread-pool round trips, and block it no longer
   * than one small read.
   */
  private readTiny(abs: string, st: Stats): Buffer | undefined {
    let fd: number;
    try {
      fd = fsSync.openSync(abs, READ_FLAGS);
    } catch (e) {
      if (VANISHED.has((e as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw e;
    }
    try {
      if (!this.isListed(fd, fsSync.fstatSync(fd), st)) return undefined;
      const buf = Buffer.alloc(st.size);
      for (let off = 0; off < buf.length;) {
        const n = fsSync.readSync(fd, buf, off, buf.length - off, off);
        if (n === 0) break;
        off += n;
      }
      return buf;
    } finally {
      fsSync.closeSync(fd);
    }
  }

  /** Whether an open descriptor is still the regular file that was listed, inside the root. */
  private isListed(fd: number, now: Stats, listed: Stats): boolean {
    if (!now.isFile() || now.ino !== listed.ino || now.dev !== listed.dev) return false;
    let real: string;
    try {
      real = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return false;
    }
    return isInside(this.realRoot, real);
  }

  private async bigFile(rel: string, abs: string, st: Stats): Promise<void> {
    const fh = await this.open(abs, st);
    if (!fh) return;
    try {
      const h: EntryHeader = { ...this.base(rel, st), type: 'file', size: st.size };
      this.withXattrs(h, rel);
      let sink!: ReturnType<Pack['entry']>;
      const finished = new Promise<void>((resolve, reject) => {
        sink = this.p.entry(h, (err) => (err ? reject(err) : resolve()));
      });
      // The size in the header is what goes out: a file that grew is cut, one that shrank
      // is padded with zeros, so the archive stays well formed.
      for (let pos = 0; pos < st.size;) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, st.size - pos));
        const n = await readFully(fh, buf, pos);
        buf.fill(0, n);
        pos += buf.length;
        if (!sink.write(buf)) await drained(sink);
      }
      (sink as unknown as { end(): void }).end();
      await finished;
    } finally {
      await fh.close();
    }
  }

  /** Opens a listed file for reading, or undefined when it is no longer that file inside the root. */
  private async open(abs: string, st: Stats): Promise<FileHandle | undefined> {
    let fh: FileHandle;
    try {
      fh = await fs.open(abs, READ_FLAGS);
    } catch (e) {
      if (VANISHED.has((e as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw e;
    }
    let ok = false;
    try {
      ok = this.isListed(fh.fd, await fh.stat(), st);
    } finally {
      if (!ok) await fh.close();
    }
    return ok ? fh : undefined;
  }
}

/** Reads into `buf` from `pos` until it is full or the file ends; returns the bytes read. */
async function readFully(fh: FileHandle, buf: Buffer, pos: number): Promise<number> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, pos + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off;
}

interface Drainable {
  once(event: 'drain' | 'close', fn: () => void): unknown;
  off(event: 'drain' | 'close', fn: () => void): unknown;
}

/** Resolves when `s` drains, or closes (a destroyed stream never drains). */
export function drained(s: Drainable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.once('drain', done);
    s.once('close', done);
  });
}

/** glibc's gnu_dev_major / gnu_dev_minor. */
export function majorMinor(rdev: number): [number, number] {
  const d = BigInt(rdev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n);
  const minor = (d & 0xffn) | ((d >> 12n) & 0xffffff00n);
  return [Number(major), Number(minor)];
}
