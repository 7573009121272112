/**
 * Tar on the client's side of the Engine API: the archives `berth cp` sends and receives and
 * the build contexts `berth build` sends, written and read with the same tar codec as layers
 * (tar-stream: ustar, PAX and GNU long names, base-256 sizes).
 *
 * Why not `tarDirectory` and `applyLayer`: those work on trees Berth owns (an image root, a
 * container's upper directory) and keep everything in them. Here the tree is the user's own:
 * - packing does what the user asked: the source may be one file or one link, `-L` follows
 *   links, owners become 0:0 unless `-a` (docker's build context does the same), and
 *   .dockerignore applies with its `!` exceptions (an excluded directory is still walked when
 *   an exception may match below it). Devices, fifos and sockets stay out; a file seen through
 *   two hard links goes in twice.
 * - extracting writes into a directory of the user's, whose symlinks may point anywhere:
 *   following them as inside a root (applyLayer) would write where nobody asked. So a parent
 *   that is a symlink is refused, as is a name that climbs out with `..`; a directory is never
 *   replaced by a file; devices are skipped (the CLI is seldom root); owners are kept only with
 *   `-a` and only as root.
 *
 *     const { tar } = await client.containerGetArchive(id, '/etc');
 *     await extractTar(tar, '/tmp/out', { rename: (n) => n.replace(/^etc/, 'copy') });
 */
import {
  closeSync,
  constants,
  createReadStream,
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract, pack as tarPack, type Header, type Pack } from 'tar-stream';
import { invalidArgument } from '../errdefs/index.ts';
import { drained } from './pack.ts';

type EntryHeader = Partial<Header> & { name: string };

export interface PackPathOptions {
  /** Entry name for the root (`''`: entries relative to it, no root entry). */
  rootName: string;
  /** Follow symlinks (cp -L) instead of archiving them. */
  followLinks?: boolean;
  /** Keep files' uid/gid (cp -a); else 0. */
  keepOwner?: boolean;
  /** Called with a path relative to the root (posix, no leading ./) and whether it is a dir; false skips it. */
  include?: (rel: string, isDir: boolean) => boolean;
  /** Whether to descend into an excluded directory (its included children still go in). */
  descend?: (rel: string) => boolean;
  /** In-memory files added after the tree (a Dockerfile read from stdin, into the context). */
  append?: ReadonlyArray<{ name: string; data: Buffer }>;
}

/** A tar of `path` (a file, directory or link), streamed as it is read. */
export function packPath(path: string, o: PackPathOptions): Readable {
  const p = tarPack();
  const stat = (f: string) => (o.followLinks ? statSync(f) : lstatSync(f));
  const keep = !!o.keepOwner;
  async function one(abs: string, rel: string, name: string): Promise<void> {
    const st = stat(abs);
    const isDir = st.isDirectory();
    const included = rel === '' || !o.include || o.include(rel, isDir);
    if (!included && !(isDir && o.descend?.(rel))) return;
    if (included && name !== '') {
      if (!st.isFile() && !isDir && !st.isSymbolicLink()) return; // sockets, fifos, devices: skipped
      const h: EntryHeader = {
        name: isDir ? `${name}/` : name,
        type: isDir ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'file',
        mode: st.mode & 0o7777,
        mtime: st.mtime,
        uid: keep ? st.uid : 0,
        gid: keep ? st.gid : 0,
        linkname: st.isSymbolicLink() ? readlinkSync(abs) : '',
        size: st.isFile() ? st.size : 0,
      };
      if (st.isFile() && st.size > 0) await addFile(p, h, abs);
      else await add(p, h, st.isFile() ? Buffer.alloc(0) : undefined);
    }
    if (isDir) {
      for (const child of readdirSync(abs).sort()) {
        await one(join(abs, child), rel ? `${rel}/${child}` : child, name ? `${name}/${child}` : child);
      }
    }
  }
  void (async () => {
    await one(path, '', o.rootName);
    for (const f of o.append ?? []) {
      await add(p, { name: f.name, type: 'file', mode: 0o644, mtime: new Date(), size: f.data.length }, f.data);
    }
    p.finalize();
  })().catch((e: Error) => p.destroy(e));
  return Readable.from(p);
}

function add(p: Pack, h: EntryHeader, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (body) p.entry(h, body, done);
    else p.entry(h, done);
  });
}

/** A file's data as its header says: cut if it grew since it was listed, zero-padded if it shrank. */
async function addFile(p: Pack, h: EntryHeader, abs: string): Promise<void> {
  const size = h.size!;
  let sink!: ReturnType<Pack['entry']>;
  const finished = new Promise<void>((resolve, reject) => {
    sink = p.entry(h, (err) => (err ? reject(err) : resolve()));
  });
  let written = 0;
  const write = async (c: Buffer) => {
    written += c.length;
    if (!sink.write(c)) await drained(sink);
  };
  for await (const chunk of createReadStream(abs) as AsyncIterable<Buffer>) {
    await write(written + chunk.length > size ? chunk.subarray(0, size - written) : chunk);
    if (written >= size) break;
  }
  if (written < size) await write(Buffer.alloc(size - written));
  (sink as unknown as { end(): void }).end();
  await finished;
}

/** A whole tar holding one in-memory file (a Dockerfile read from stdin as the context). */
export async function singleFileTar(name: string, data: Buffer, mode = 0o644): Promise<Buffer> {
  const p = tarPack();
  const out = Readable.from(p).toArray();
  p.entry({ name, type: 'file', mode, mtime: new Date(), size: data.length }, data);
  p.finalize();
  return Buffer.concat(await out);
}

/** Normalises an entry name to a relative path with no `..`; undefined for the root itself. */
export function safeRelative(name: string): string | undefined {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw invalidArgument(`invalid tar entry "${name}": path escapes the destination`);
    parts.push(p);
  }
  return parts.length ? parts.join('/') : undefined;
}

/**
 * Extracts a tar into `dest`. `rename` may rewrite (or drop, returning null) each entry name.
 * Parent directories that are symlinks are refused, so links in the archive cannot redirect
 * later entries outside `dest`. Returns the number of bytes of file data written.
 */
export async function extractTar(
  src: AsyncIterable<Buffer>,
  dest: string,
  o: { rename?: (name: string) => string | null; keepOwner?: boolean } = {},
): Promise<number> {
  const source = Readable.from(src);
  // Old (v7) headers are accepted, as Go's reader does; checksums still catch garbage.
  const ex = tarExtract({ allowUnknownFormat: true } as object);
  let streamError: unknown;
  const flowing = pipeline(source, ex).catch((e) => {
    streamError = e;
  });
  const dirs: Array<{ path: string; h: Header }> = [];
  let bytes = 0;
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const target = placeEntry(dest, h, o.rename, dirs);
      let fd: number | undefined;
      if (target !== undefined) {
        fd = openSync(
          target,
          constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
          h.mode! & 0o7777,
        );
      }
      try {
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          if (fd === undefined) continue;
          writeSync(fd, chunk);
          bytes += chunk.length;
        }
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
      if (target !== undefined) finishFile(target, h, !!o.keepOwner);
    }
    await flowing;
    if (streamError !== undefined) throw streamError;
  } catch (e) {
    source.destroy();
    await flowing;
    throw e;
  }
  // directory modes and times last, deepest first, so writing into them worked
  for (const d of dirs.reverse()) {
    try {
      chmodSync(d.path, d.h.mode! & 0o7777);
      utimesSync(d.path, d.h.mtime!, d.h.mtime!);
    } catch {
      // best effort
    }
  }
  return bytes;
}

/**
 * Makes what an entry names (directory, link) or clears the place of a file; returns the path
 * a file's data goes to, or undefined when the entry has no data to write.
 */
function placeEntry(
  dest: string,
  h: Header,
  rename: ((name: string) => string | null) | undefined,
  dirs: Array<{ path: string; h: Header }>,
): string | undefined {
  const isDir = h.type === 'directory';
  const name = isDir ? h.name.replace(/\/+$/, '') : h.name;
  const renamed = rename ? rename(name) : name;
  if (renamed === null) return undefined;
  const rel = safeRelative(renamed);
  const path = rel === undefined ? dest : join(dest, rel);
  if (rel !== undefined) checkParents(dest, rel);
  if (isDir) {
    replace(path, true);
    mkdirSync(path, { recursive: true });
    // the destination itself keeps its own mode and times
    if (rel !== undefined) dirs.push({ path, h });
  } else if (h.type === 'file' || h.type === 'contiguous-file') {
    if (rel === undefined) throw invalidArgument('invalid tar entry: a file at the root');
    replace(path, false);
    return path;
  } else if (h.type === 'symlink') {
    if (rel === undefined) return undefined;
    replace(path, false);
    symlinkSync(h.linkname ?? '', path);
  } else if (h.type === 'link') {
    if (rel === undefined) return undefined;
    const linkname = h.linkname ?? '';
    const target = safeRelative(rename ? (rename(linkname) ?? linkname) : linkname);
    if (target === undefined) return undefined;
    replace(path, false);
    linkSync(join(dest, target), path);
  }
  return undefined;
}

/** Creates the missing parents of `rel` in `dest`; refuses a parent that is a symlink or not a directory. */
function checkParents(dest: string, rel: string): void {
  const parts = rel.split('/');
  let p = dest;
  for (let i = 0; i < parts.length - 1; i++) {
    p = join(p, parts[i]!);
    let st: Stats | undefined;
    try {
      st = lstatSync(p);
    } catch {
      mkdirSync(p, { recursive: true });
      continue;
    }
    if (st.isSymbolicLink())
      throw invalidArgument(`refusing to extract "${rel}": "${parts.slice(0, i + 1).join('/')}" is a symbolic link`);
    if (!st.isDirectory())
      throw invalidArgument(`refusing to extract "${rel}": "${parts.slice(0, i + 1).join('/')}" is not a directory`);
  }
}

/** Clears `p` for a new entry: a directory stays for a directory; a directory never gives way to a file. */
function replace(p: string, isDir: boolean): void {
  try {
    const st = lstatSync(p);
    if (isDir && st.isDirectory()) return;
    if (st.isDirectory()) {
      if (!isDir) throw invalidArgument(`cannot overwrite directory "${p}" with non-directory`);
    } else {
      unlinkSync(p);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function finishFile(path: string, h: Header, keepOwner: boolean): void {
  chmodSync(path, h.mode! & 0o7777);
  utimesSync(path, h.mtime!, h.mtime!);
  if (keepOwner && process.getuid?.() === 0) {
    try {
      chownSync(path, h.uid!, h.gid!);
    } catch {
      // best effort
    }
  }
}
