/**
 * Applies a layer tar to a directory without ever writing outside it.
 *
 * - Entry names are cleaned; one that climbs above the root is refused.
 * - Parent directories are resolved inside the root (a symlink is followed as if the root were
 *   `/`, never out of it) and created when missing; the last component is never followed: what
 *   is there is replaced (a directory over a directory is kept and takes the new metadata).
 * - Hardlinks must name an existing non-directory inside the root.
 * - Whiteouts (`.wh.<name>`, `.wh..wh..opq`) become overlay whiteouts (a 0/0 character device,
 *   the `trusted.overlay.opaque` xattr) when the directory is an overlay lower layer, or
 *   deletions when the layer is applied onto a flat tree. Either way they only affect what was
 *   there before this layer, as image-spec layer.md says.
 * - Owner, mode (setuid/setgid/sticky included), times and xattrs are applied as recorded.
 *   Directory times are set last, since writing their children changes them.
 *
 * The tree is assumed not to change under the unpacker while it runs (it is a fresh layer
 * directory, or a root nothing else writes to meanwhile). In a fresh (empty) root, small files
 * are created concurrently with reading the next entries: on a slow disk this makes unpacking
 * faster than GNU tar, which waits for each file in turn.
 */
import { createHash } from 'node:crypto';
import fs, { constants, promises as fsp } from 'node:fs';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract, type Header } from 'tar-stream';
import { BerthError, categoryOf, internal, invalidArgument } from '../errdefs/index.ts';
import type { SpecialFiles } from '../host/index.ts';
import { toHost, type Digest, type IdMap } from '../spec/index.ts';
import { decompressed, DEFAULT_MAX_LAYER_BYTES } from './compression.ts';
import {
  absOf,
  cleanEntryName,
  cleanLinkTarget,
  joinRel,
  OVERLAY_OPAQUE_XATTR,
  splitRel,
  WHITEOUT_META_PREFIX,
  WHITEOUT_OPAQUE,
  WHITEOUT_PREFIX,
} from './names.ts';
import { PaxReader, setfattrValue, xattrsOf, type PaxRecords } from './pax.ts';
import { RootDirs } from './resolve.ts';

export interface ApplyOptions {
  /** Makes device nodes and sets xattrs. */
  host: SpecialFiles;
  /** Cap on the uncompressed size: a decompression bomb stops here with InvalidArgument. */
  maxBytes?: number;
  /** The target is an overlay lower directory: keep whiteouts as overlay whiteouts. */
  overlayWhiteouts?: boolean;
  /**
   * A plain archive rather than a layer (`docker cp` into a container): `.wh.` names are
   * ordinary files, and nothing is deleted but what an entry replaces.
   */
  literal?: boolean;
  /** Every entry owned by this user and group instead of the archive's (`docker cp` without -a). */
  owner?: { uid: number; gid: number };
  /**
   * Write large files' data with blocking calls rather than through the thread pool: for a
   * thread of its own (offthread.ts), where a hand-over per piece costs more than the write.
   */
  blockingWrites?: boolean;
  /** The caller hashes the tar itself (it stores it as a blob): `diffId` is then not computed. */
  skipDigest?: boolean;
  /**
   * `--userns-remap`: the archive's owners are a container's ids; each is written as the host
   * id it maps to (after `owner`). An owner the map does not cover is refused, as dockerd does.
   */
  idMap?: IdMap;
}

export interface ApplyResult {
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  /** Size of the uncompressed tar in bytes. */
  size: number;
}

const WHAT = 'apply layer';
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Files up to this size are read whole, then written (in the background, in a fresh root). */
const BUFFERED_FILE = 1 << 20;
/** Bounds on background work: open files, and file data held in memory. */
const MAX_JOBS = 64;
const MAX_JOB_BYTES = 32 << 20;

/**
 * Reads a layer (plain, gzip or zstd tar) from `source` and applies it to `root`, an existing
 * directory. Returns the layer's diff ID and uncompressed size. Hostile or malformed archives
 * fail with InvalidArgument; what was applied before the failure stays (callers unpack into a
 * scratch directory and discard it).
 *
 *     const { diffId } = await applyLayer(fs.createReadStream(blob), dir, { host, overlayWhiteouts: true });
 */
export async function applyLayer(source: Readable, root: string, opts: ApplyOptions): Promise<ApplyResult> {
  // Before the source is touched: nothing may emit errors before the pipeline listens.
  const applier = new Applier(root, opts);
  try {
    await applier.start();
  } catch (e) {
    source.destroy();
    throw e;
  }
  const hash = createHash('sha256');
  let size = 0;
  const plain = decompressed(source, opts.maxBytes ?? DEFAULT_MAX_LAYER_BYTES, (chunk) => {
    if (!opts.skipDigest) hash.update(chunk);
    size += chunk.length;
  });
  // Old (v7) headers are accepted, as Go's reader does; checksums still catch garbage.
  const ex = tarExtract({ allowUnknownFormat: true } as object);
  const pax = new PaxReader(ex);
  let streamError: unknown;
  const flowing = pipeline(plain, ex).catch((e) => {
    streamError = e;
  });
  try {
    for await (const entry of ex) {
      const h = entry.header;
      await applier.entry(h, entry as unknown as Readable, pax.take(h));
    }
    await flowing;
    if (streamError !== undefined) throw streamError;
    await applier.finish();
  } catch (e) {
    plain.destroy();
    await flowing;
    // Nothing of ours may still be writing when the caller cleans up.
    await applier.settle();
    // An entry that failed because the stream under it broke (a decompression bomb, corrupt
    // data) reports the stream's error, which says what really went wrong.
    const broken =
      streamError !== undefined && (streamError as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE';
    const cause = broken && categoryOf(e) === 'Internal' ? streamError : e;
    throw asApplyError(cause);
  }
  return { diffId: opts.skipDigest ? ('' as Digest) : `sha256:${hash.digest('hex')}`, size };
}

function asApplyError(e: unknown): Error {
  if (e instanceof BerthError)
    return e.message.startsWith(`${WHAT}:`) ? e : new BerthError(e.category, `${WHAT}: ${e.message}`, { cause: e });
  // Errors of the disk or of the source carry a syscall; the rest came from parsing the archive.
  if ((e as NodeJS.ErrnoException)?.syscall) return internal(`${WHAT}: ${(e as Error).message}`, e);
  return invalidArgument(`${WHAT}: invalid tar archive: ${(e as Error)?.message ?? String(e)}`, e);
}

interface Meta {
  uid: number;
  gid: number;
  mode: number;
  /** Seconds since the epoch, fractional. */
  atime: number;
  mtime: number;
  xattrs: Array<[string, Buffer]>;
}

class Applier {
  private readonly root: string;
  private readonly host: SpecialFiles;
  private readonly overlay: boolean;
  private readonly dirs: RootDirs;
  /** Real paths (relative to the root) of this layer's entries: whiteouts never touch them. */
  private readonly added = new Set<string>();
  /** Flat mode: directories with something of this layer below them. */
  private readonly touched = new Set<string>();
  /** Directory -> times to set at the end, and the removal count when they were recorded. */
  private readonly dirTimes = new Map<string, { atime: number; mtime: number; removals: number }>();
  private removals = 0;
  /**
   * The root was empty when we started and nothing was removed since (a fresh layer
   * directory, the common case): then a path exists only if this unpacker made it, and new
   * files can be created in the background without looking first.
   */
  private fresh = false;
  /** Fresh mode: paths this unpacker made besides entries (overlay whiteouts). */
  private readonly made = new Set<string>();
  /** Files being created in the background, by path (see `later`). */
  private readonly jobs = new Map<string, Promise<void>>();
  private jobBytes = 0;
  private failure: unknown;
  private readonly literal: boolean;
  private readonly owner?: { uid: number; gid: number };
  private readonly idMap?: IdMap;
  private readonly blockingWrites: boolean;

  constructor(root: string, opts: ApplyOptions) {
    this.root = root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root;
    this.host = opts.host;
    this.overlay = opts.overlayWhiteouts === true;
    this.literal = opts.literal === true;
    this.owner = opts.owner;
    this.idMap = opts.idMap;
    this.blockingWrites = opts.blockingWrites === true;
    this.dirs = new RootDirs(this.root, (real) => this.jobs.get(real));
  }

  /** An entry's metadata, its owner shifted into the host's ids under a remap. */
  private meta(h: Header, pax: PaxRecords | undefined): Meta {
    const m = metaOf(h, pax);
    if (!this.idMap) return m;
    const ids = toHost(this.idMap, m.uid, m.gid);
    if (!ids)
      throw invalidArgument(`${WHAT}: entry "${h.name}": container ID ${m.uid}:${m.gid} cannot be mapped to a host ID`);
    return { ...m, ...ids };
  }

  async start(): Promise<void> {
    try {
      this.fresh = (await fsp.readdir(this.root)).length === 0;
    } catch (e) {
      throw internal(`${WHAT}: read the root "${this.root}": ${(e as Error).message}`, e);
    }
  }

  async entry(h: Header, body: Readable, pax: PaxRecords | undefined): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    try {
      await this.apply(h, body, pax);
    } catch (e) {
      if (e instanceof BerthError) {
        throw e.message.startsWith(`${WHAT}:`)
          ? e
          : new BerthError(e.category, `${WHAT}: entry "${h.name}": ${e.message}`, { cause: e });
      }
      throw internal(`${WHAT}: entry "${h.name}": ${(e as Error).message}`, e);
    } finally {
      // tar-stream moves on only once an entry's data is consumed.
      body.resume();
    }
  }

  private async apply(h: Header, body: Readable, pax: PaxRecords | undefined): Promise<void> {
    if (this.owner) {
      h = { ...h, uid: this.owner.uid, gid: this.owner.gid };
      pax?.delete('uid');
      pax?.delete('gid');
    }
    const rel = cleanEntryName(h.name, WHAT);
    if (rel === '') {
      // The root itself ("./"): Docker and containerd leave an existing root alone.
      if (h.type === 'directory') return;
      throw invalidArgument(`${WHAT}: entry "${h.name}" would replace the root`);
    }
    const [parentRel, base] = splitRel(rel);
    const top = rel.split('/', 1)[0]!;
    if (!this.literal) {
      if (top.startsWith(WHITEOUT_META_PREFIX) && rel !== WHITEOUT_OPAQUE) return;
      if (base === WHITEOUT_OPAQUE) return this.opaque(parentRel);
      if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(h, parentRel, base.slice(WHITEOUT_PREFIX.length));
    }

    const parent = await this.dirs.ensure(parentRel);
    const target = joinRel(parent, base);
    const abs = absOf(this.root, target);
    await this.jobs.get(target);
    switch (h.type) {
      case 'file':
      case 'contiguous-file':
        await this.file(h, target, abs, body, this.meta(h, pax));
        break;
      case 'directory':
        await this.directory(target, abs, this.meta(h, pax));
        break;
      case 'symlink':
        await this.symlink(h, target, abs, this.meta(h, pax));
        break;
      case 'link':
        await this.hardlink(h, target, abs);
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await this.special(h, target, abs, this.meta(h, pax));
        break;
      default:
        throw invalidArgument(`${WHAT}: entry "${h.name}": unsupported entry type ${JSON.stringify(h.type)}`);
    }
    this.markAdded(target);
  }

  private async file(h: Header, target: string, abs: string, body: Readable, m: Meta): Promise<void> {
    const size = h.size ?? 0;
    if (size > BUFFERED_FILE) {
      const fd = await this.create(target, () => openNew(abs));
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (this.blockingWrites) writeAllSync(fd, [chunk]);
          else await writeAll(fd, chunk);
        }
        finishFile(fd, m);
      } finally {
        fs.closeSync(fd);
      }
      return setXattrs(this.host, abs, m);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
    const write = (fd: number) => {
      try {
        writeAllSync(fd, chunks);
        finishFile(fd, m);
      } finally {
        fs.closeSync(fd);
      }
    };
    if (this.fresh && !this.added.has(target) && !this.made.has(target) && !this.dirs.has(target)) {
      // Nothing can be there: create it in the background while the next entries are read.
      // Only the open waits on the disk; the rest are quick calls on the new descriptor.
      return this.later(h, target, size, async () => {
        write(await openNew(abs));
        await setXattrs(this.host, abs, m);
      });
    }
    write(await this.create(target, () => openNew(abs)));
    await setXattrs(this.host, abs, m);
  }

  private async directory(target: string, abs: string, m: Meta): Promise<void> {
    try {
      await fsp.mkdir(abs, 0o755);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!fs.lstatSync(abs).isDirectory()) {
        await this.remove(target);
        await fsp.mkdir(abs, 0o755);
      }
    }
    this.dirs.addDir(target);
    fs.lchownSync(abs, m.uid, m.gid);
    fs.chmodSync(abs, m.mode);
    await setXattrs(this.host, abs, m);
    this.dirTimes.set(target, { atime: m.atime, mtime: m.mtime, removals: this.removals });
  }

  private async symlink(h: Header, target: string, abs: string, m: Meta): Promise<void> {
    const to = h.linkname ?? '';
    if (to === '' || to.includes('\0'))
      throw invalidArgument(`${WHAT}: symlink "${h.name}" has an invalid target ${JSON.stringify(to)}`);
    // Created as it is: a symlink is only ever resolved inside the container (or by
    // RootDirs, inside the root), never followed by the unpacker.
    await this.create(target, () => fsp.symlink(to, abs));
    fs.lchownSync(abs, m.uid, m.gid);
    fs.lutimesSync(abs, m.atime, m.mtime);
    await setXattrs(this.host, abs, m);
  }

  private async hardlink(h: Header, target: string, abs: string): Promise<void> {
    const linkRel = cleanLinkTarget(h.name, h.linkname ?? '', WHAT);
    const [lparentRel, lbase] = splitRel(linkRel);
    const notFound = () => invalidArgument(`${WHAT}: hardlink "${h.name}" to "${h.linkname}": target not found`);
    const lparent = await this.dirs.lookup(lparentRel);
    if (lparent === undefined) throw notFound();
    const sourceRel = joinRel(lparent, lbase);
    await this.jobs.get(sourceRel);
    const source = absOf(this.root, sourceRel);
    const st = await fsp.lstat(source).catch(() => undefined);
    if (!st) throw notFound();
    if (st.isDirectory())
      throw invalidArgument(`${WHAT}: hardlink "${h.name}" to "${h.linkname}": target is a directory`);
    if (source === abs) return;
    // link(2) does not follow a symlink source: linking to a symlink links the symlink itself.
    await this.create(target, () => fsp.link(source, abs));
  }

  private async special(h: Header, target: string, abs: string, m: Meta): Promise<void> {
    if (await exists(abs)) await this.remove(target);
    const kind = h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c';
    await this.host.mknod(abs, kind, h.devmajor ?? 0, h.devminor ?? 0, m.mode);
    fs.lchownSync(abs, m.uid, m.gid);
    fs.chmodSync(abs, m.mode);
    fs.lutimesSync(abs, m.atime, m.mtime);
    await setXattrs(this.host, abs, m);
  }

  private async whiteout(h: Header, parentRel: string, name: string): Promise<void> {
    if (name === '' || name === '.' || name === '..')
      throw invalidArgument(`${WHAT}: entry "${h.name}" is not a valid whiteout`);
    if (this.overlay) {
      const parent = await this.dirs.ensure(parentRel);
      const target = joinRel(parent, name);
      // A whiteout hides what the layers below have; this layer's own file stays.
      if (this.added.has(target)) return;
      await this.jobs.get(target);
      const abs = absOf(this.root, target);
      if (await exists(abs)) await this.remove(target);
      await this.host.mknod(abs, 'c', 0, 0, 0);
      this.made.add(target);
      return;
    }
    const parent = await this.dirs.lookup(parentRel);
    if (parent === undefined) return;
    const target = joinRel(parent, name);
    if (this.added.has(target)) return;
    if (this.touched.has(target)) {
      await this.clearLower(target);
      return;
    }
    if (await exists(absOf(this.root, target))) await this.remove(target);
  }

  private async opaque(parentRel: string): Promise<void> {
    const parent = await this.dirs.ensure(parentRel);
    if (this.overlay) await this.host.setxattr(absOf(this.root, parent), OVERLAY_OPAQUE_XATTR, 'y');
    else await this.clearLower(parent);
  }

  /** Flat mode: empties a directory of everything that did not come from this layer. */
  private async clearLower(dir: string): Promise<void> {
    await this.drain();
    const names = await fsp.readdir(absOf(this.root, dir));
    let removed = false;
    for (const name of names) {
      const child = joinRel(dir, name);
      if (this.touched.has(child)) {
        await this.clearLower(child);
      } else if (!this.added.has(child)) {
        await fsp.rm(absOf(this.root, child), { recursive: true, force: true });
        removed = true;
      } else if ((await fsp.lstat(absOf(this.root, child))).isDirectory()) {
        await this.clearLower(child);
      }
    }
    if (removed) this.removed();
  }

  /** Runs a create operation; when the name is taken, removes what is there and tries once more. */
  private async create<T>(target: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    await this.remove(target);
    return op();
  }

  /** Removes whatever is at `target` (never following a symlink) so an entry can take its place. */
  private async remove(target: string): Promise<void> {
    await this.drain();
    await fsp.rm(absOf(this.root, target), { recursive: true, force: true });
    this.removed();
  }

  private removed(): void {
    this.removals++;
    this.fresh = false;
    this.dirs.invalidate();
  }

  private markAdded(target: string): void {
    this.added.add(target);
    if (this.overlay) return;
    for (let p = splitRel(target)[0]; p !== '' && !this.touched.has(p); p = splitRel(p)[0]) this.touched.add(p);
  }

  /**
   * Creates a file in the background, a bounded number at a time, so that the disk's latency
   * is paid concurrently rather than once per file. Safe because every removal first waits for
   * all of them (`drain`), anything looked up on disk waits for a pending file at that path
   * (RootDirs' hook), and anything made at a path waits for a pending file there.
   */
  private async later(h: Header, target: string, bytes: number, work: () => Promise<void>): Promise<void> {
    while (this.jobs.size >= MAX_JOBS || (this.jobs.size > 0 && this.jobBytes + bytes > MAX_JOB_BYTES)) {
      await Promise.race(this.jobs.values());
    }
    this.jobBytes += bytes;
    const job: Promise<void> = work()
      .catch((e) => {
        this.failure ??=
          e instanceof BerthError ? e : internal(`${WHAT}: entry "${h.name}": ${(e as Error).message}`, e);
      })
      .finally(() => {
        this.jobBytes -= bytes;
        if (this.jobs.get(target) === job) this.jobs.delete(target);
      });
    this.jobs.set(target, job);
  }

  /** Waits for all background work, whatever becomes of it. */
  async settle(): Promise<void> {
    while (this.jobs.size) await Promise.all(this.jobs.values());
  }

  /** Waits for all background work; throws the first failure. */
  private async drain(): Promise<void> {
    await this.settle();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Sets the directory times recorded on the way, now that their contents are written. */
  async finish(): Promise<void> {
    await this.drain();
    let checked = false;
    for (const [dir, t] of this.dirTimes) {
      if (t.removals !== this.removals) {
        // Something was removed after this directory was made: make sure the path still is
        // that directory and has not become (or gone through) a symlink.
        if (!checked) this.dirs.invalidate();
        checked = true;
        if ((await this.dirs.lookup(dir)) !== dir) continue;
      }
      try {
        fs.lutimesSync(absOf(this.root, dir), t.atime, t.mtime);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
  }
}

function metaOf(h: Header, pax: PaxRecords | undefined): Meta {
  const num = (key: string): number | undefined => {
    const v = pax?.get(key);
    if (v === undefined) return undefined;
    const n = Number(v.toString('latin1'));
    return Number.isFinite(n) ? n : undefined;
  };
  const uid = num('uid') ?? h.uid ?? 0;
  const gid = num('gid') ?? h.gid ?? 0;
  if (
    !Number.isSafeInteger(uid) ||
    uid < 0 ||
    uid > 0xfffffffe ||
    !Number.isSafeInteger(gid) ||
    gid < 0 ||
    gid > 0xfffffffe
  ) {
    throw invalidArgument(`${WHAT}: entry "${h.name}" has an invalid owner ${uid}:${gid}`);
  }
  const mtime = num('mtime') ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  const atime = num('atime') ?? mtime;
  return { uid, gid, mode: (h.mode ?? 0) & 0o7777, atime, mtime, xattrs: xattrsOf(pax) };
}

/** Owner, mode and times of a new file, through its descriptor. */
function finishFile(fd: number, m: Meta): void {
  fs.fchownSync(fd, m.uid, m.gid);
  // After chown: chown clears the setuid and setgid bits (and security.capability, which
  // setXattrs sets later).
  fs.fchmodSync(fd, m.mode);
  fs.futimesSync(fd, m.atime, m.mtime);
}

async function setXattrs(host: SpecialFiles, abs: string, m: Meta): Promise<void> {
  for (const [name, value] of m.xattrs) {
    // Overlay metadata comes from the OCI whiteout markers only, never from an archive's
    // xattrs: a forged redirect or opaque flag would change what the layers below show.
    if (name.startsWith('trusted.overlay.')) continue;
    if (name === '' || name.includes('\0'))
      throw invalidArgument(`${WHAT}: invalid xattr name ${JSON.stringify(name)}`);
    await host.setxattr(abs, name, setfattrValue(value));
  }
}

const openFd = promisify(fs.open);
const writeFd = promisify(fs.write);

function openNew(abs: string): Promise<number> {
  return openFd(abs, CREATE_FILE, 0o600);
}

function writeAllSync(fd: number, chunks: Buffer[]): void {
  for (const chunk of chunks) {
    for (let off = 0; off < chunk.length;) off += fs.writeSync(fd, chunk, off, chunk.length - off);
  }
}

async function writeAll(fd: number, chunk: Buffer): Promise<void> {
  for (let off = 0; off < chunk.length;) off += (await writeFd(fd, chunk, off, chunk.length - off)).bytesWritten;
}

async function exists(abs: string): Promise<boolean> {
  try {
    await fsp.lstat(abs);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
