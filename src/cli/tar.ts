/**
 * A small tar writer and reader for the CLI's own archives: build contexts and `cp` in both
 * directions. Writes ustar with PAX records for long names; reads ustar, PAX and GNU long
 * names. Extraction never writes outside its target directory.
 */
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  linkSync,
  unlinkSync,
  writeSync,
  chmodSync,
  chownSync,
  utimesSync,
  createReadStream,
  type Stats,
} from 'node:fs';
import { join, posix } from 'node:path';

export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'link' | 'other';
  mode: number;
  size: number;
  mtime: number; // seconds
  uid: number;
  gid: number;
  linkname: string;
}

// ------------------------------------------------------------------ writing

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  let total = len + String(len).length;
  if (String(total).length !== String(len).length) total = len + String(total).length;
  len = total;
  return `${len}${body}`;
}

function rawHeader(e: {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  prefix?: string;
}): Buffer {
  const b = Buffer.alloc(512);
  b.write(e.name, 0, 100, 'utf8');
  b.write(octal(e.mode & 0o7777, 8), 100, 'ascii');
  b.write(octal(e.uid, 8), 108, 'ascii');
  b.write(octal(e.gid, 8), 116, 'ascii');
  b.write(octal(e.size, 12), 124, 'ascii');
  b.write(octal(Math.max(0, Math.floor(e.mtime)), 12), 136, 'ascii');
  b.write('        ', 148, 'ascii');
  b.write(e.typeflag, 156, 'ascii');
  b.write(e.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  if (e.prefix) b.write(e.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return b;
}

/** The header block(s) for an entry: a PAX record first when the name or link is too long. */
export function tarHeader(e: TarEntry): Buffer {
  const typeflag = { file: '0', link: '1', symlink: '2', dir: '5', other: '0' }[e.type];
  let name = e.name;
  if (e.type === 'dir' && !name.endsWith('/')) name += '/';
  const blocks: Buffer[] = [];
  let prefix = '';
  let shortName = name;
  const pax: string[] = [];
  if (Buffer.byteLength(name) > 100) {
    // ustar prefix split at a slash, else a PAX path record
    const i = name.lastIndexOf('/', name.length - 2);
    if (i > 0 && Buffer.byteLength(name.slice(0, i)) <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100) {
      prefix = name.slice(0, i);
      shortName = name.slice(i + 1);
    } else {
      pax.push(paxRecord('path', name));
      shortName = name.slice(0, 99);
    }
  }
  let linkname = e.linkname;
  if (Buffer.byteLength(linkname) > 100) {
    pax.push(paxRecord('linkpath', linkname));
    linkname = linkname.slice(0, 99);
  }
  if (e.size > 0o77777777777) pax.push(paxRecord('size', String(e.size)));
  if (pax.length) {
    const data = Buffer.from(pax.join(''));
    blocks.push(
      rawHeader({
        name: 'PaxHeaders/' + posix.basename(shortName).slice(0, 80),
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: data.length,
        mtime: e.mtime,
        typeflag: 'x',
        linkname: '',
      }),
    );
    blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(
    rawHeader({
      name: shortName,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size: e.type === 'file' ? Math.min(e.size, 0o77777777777) : 0,
      mtime: e.mtime,
      typeflag,
      linkname,
      prefix,
    }),
  );
  return Buffer.concat(blocks);
}

export interface PackOptions {
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
}

function entryFor(st: Stats, name: string, link: string, keepOwner: boolean): TarEntry {
  const type: TarEntry['type'] = st.isDirectory()
    ? 'dir'
    : st.isSymbolicLink()
      ? 'symlink'
      : st.isFile()
        ? 'file'
        : 'other';
  return {
    name,
    type,
    mode: st.mode & 0o7777,
    size: type === 'file' ? st.size : 0,
    mtime: Math.floor(st.mtimeMs / 1000),
    uid: keepOwner ? st.uid : 0,
    gid: keepOwner ? st.gid : 0,
    linkname: link,
  };
}

/** Streams a tar of `path` (a file, directory or link) as Buffers. */
export async function* packPath(path: string, o: PackOptions): AsyncGenerator<Buffer> {
  const stat = (p: string) => (o.followLinks ? statSync(p) : lstatSync(p));
  const keep = !!o.keepOwner;
  async function* one(abs: string, rel: string, name: string): AsyncGenerator<Buffer> {
    const st = stat(abs);
    const isDir = st.isDirectory();
    const included = rel === '' || !o.include || o.include(rel, isDir);
    if (!included && !(isDir && o.descend?.(rel))) return;
    if (included && name !== '') {
      const link = st.isSymbolicLink() ? readlinkSync(abs) : '';
      if (!st.isFile() && !isDir && !st.isSymbolicLink()) return; // sockets, fifos, devices: skipped
      yield tarHeader(entryFor(st, name, link, keep));
      if (st.isFile() && st.size > 0) {
        let written = 0;
        for await (const chunk of createReadStream(abs) as AsyncIterable<Buffer>) {
          const c = written + chunk.length > st.size ? chunk.subarray(0, st.size - written) : chunk;
          written += c.length;
          yield c;
          if (written >= st.size) break;
        }
        if (written < st.size) yield Buffer.alloc(st.size - written);
        const padLen = (512 - (st.size % 512)) % 512;
        if (padLen) yield Buffer.alloc(padLen);
      }
    }
    if (isDir) {
      for (const child of readdirSync(abs).sort()) {
        const childRel = rel ? `${rel}/${child}` : child;
        const childName = name ? `${name}/${child}` : child;
        yield* one(join(abs, child), childRel, childName);
      }
    }
  }
  yield* one(path, '', o.rootName);
  yield Buffer.alloc(1024);
}

/** A tar holding one in-memory file (a Dockerfile read from stdin). */
export function singleFileTar(name: string, data: Buffer, mode = 0o644): Buffer {
  const h = tarHeader({
    name,
    type: 'file',
    mode,
    size: data.length,
    mtime: Math.floor(Date.now() / 1000),
    uid: 0,
    gid: 0,
    linkname: '',
  });
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

// ------------------------------------------------------------------ reading

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z >= 0 ? s.subarray(0, z) : s).toString('utf8');
}

function parseOctal(b: Buffer, off: number, len: number): number {
  const s = b.subarray(off, off + len);
  if (s[0]! & 0x80) {
    // base-256 (GNU) for big values
    let n = 0;
    for (let i = 1; i < s.length; i++) n = n * 256 + s[i]!;
    return n;
  }
  const t = cstr(b, off, len).trim();
  return t ? parseInt(t, 8) : 0;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const s = data.toString('utf8');
  while (i < s.length) {
    const sp = s.indexOf(' ', i);
    if (sp < 0) break;
    const len = Number(s.slice(i, sp));
    if (!len) break;
    const rec = Buffer.from(s)
      .subarray(Buffer.byteLength(s.slice(0, i)), Buffer.byteLength(s.slice(0, i)) + len)
      .toString('utf8');
    const kv = rec.slice(rec.indexOf(' ') + 1, -1);
    const eq = kv.indexOf('=');
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
    i += rec.length;
  }
  return out;
}

export interface TarVisitor {
  entry(e: TarEntry): void;
  data(chunk: Buffer): void;
  end(): void;
}

/** Parses a tar byte stream, calling the visitor for each entry, its data and its end. */
export async function readTar(src: AsyncIterable<Buffer>, v: TarVisitor): Promise<void> {
  let buf: Buffer = Buffer.alloc(0);
  let remaining = 0; // data bytes left of the current entry
  let pad = 0;
  let meta: 'x' | 'L' | 'K' | null = null;
  let metaBuf: Buffer[] = [];
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let ended = false;
  const finishMeta = () => {
    const data = Buffer.concat(metaBuf);
    if (meta === 'x') pax = { ...pax, ...parsePax(data) };
    else if (meta === 'L') longName = cstr(data, 0, data.length);
    else if (meta === 'K') longLink = cstr(data, 0, data.length);
    meta = null;
    metaBuf = [];
  };
  for await (const chunk of src) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (ended) break;
      if (remaining > 0) {
        if (!buf.length) break;
        const n = Math.min(remaining, buf.length);
        if (meta) metaBuf.push(buf.subarray(0, n));
        else v.data(buf.subarray(0, n));
        buf = buf.subarray(n);
        remaining -= n;
        if (remaining === 0) {
          if (meta) finishMeta();
          else v.end();
        }
        continue;
      }
      if (pad > 0) {
        const n = Math.min(pad, buf.length);
        buf = buf.subarray(n);
        pad -= n;
        if (pad > 0) break;
        continue;
      }
      if (buf.length < 512) break;
      const h = buf.subarray(0, 512);
      buf = buf.subarray(512);
      if (h.every((x) => x === 0)) {
        ended = true;
        break;
      }
      const typeflag = String.fromCharCode(h[156] || 48);
      const size =
        pax.size !== undefined && !['x', 'g', 'L', 'K'].includes(typeflag) ? Number(pax.size) : parseOctal(h, 124, 12);
      pad = (512 - (size % 512)) % 512;
      if (typeflag === 'x' || typeflag === 'L' || typeflag === 'K' || typeflag === 'g') {
        // global PAX headers ('g') are read like per-entry ones
        meta = typeflag === 'g' ? 'x' : typeflag;
        remaining = size;
        if (remaining === 0) finishMeta();
        continue;
      }
      const magic = cstr(h, 257, 6);
      const prefix = magic.startsWith('ustar') ? cstr(h, 345, 155) : '';
      let name = longName ?? pax.path ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
      const linkname = longLink ?? pax.linkpath ?? cstr(h, 157, 100);
      const type: TarEntry['type'] =
        typeflag === '5'
          ? 'dir'
          : typeflag === '2'
            ? 'symlink'
            : typeflag === '1'
              ? 'link'
              : typeflag === '0' || typeflag === '7'
                ? 'file'
                : 'other';
      if (type === 'dir') name = name.replace(/\/+$/, '');
      v.entry({
        name,
        type,
        mode: parseOctal(h, 100, 8),
        size: type === 'file' ? size : 0,
        mtime: pax.mtime ? Number(pax.mtime) : parseOctal(h, 136, 12),
        uid: parseOctal(h, 108, 8),
        gid: parseOctal(h, 116, 8),
        linkname,
      });
      pax = {};
      longName = undefined;
      longLink = undefined;
      remaining = size;
      if (remaining === 0) v.end();
    }
  }
}

/** Normalises an entry name to a relative path with no `..`; undefined for the root itself. */
export function safeRelative(name: string): string | undefined {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw new Error(`invalid tar entry "${name}": path escapes the destination`);
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
  let fd: number | undefined;
  let current: { path: string; e: TarEntry } | undefined;
  let bytes = 0;
  const dirs: Array<{ path: string; e: TarEntry }> = [];
  const checkParents = (rel: string) => {
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
        throw new Error(`refusing to extract "${rel}": "${parts.slice(0, i + 1).join('/')}" is a symbolic link`);
      if (!st.isDirectory())
        throw new Error(`refusing to extract "${rel}": "${parts.slice(0, i + 1).join('/')}" is not a directory`);
    }
  };
  const replace = (p: string, isDir: boolean) => {
    try {
      const st = lstatSync(p);
      if (isDir && st.isDirectory()) return;
      if (st.isDirectory()) {
        if (!isDir) throw new Error(`cannot overwrite directory "${p}" with non-directory`);
      } else {
        unlinkSync(p);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  };
  await readTar(src, {
    entry(e) {
      const renamed = o.rename ? o.rename(e.name) : e.name;
      current = undefined;
      if (renamed === null) return;
      const rel = safeRelative(renamed);
      const path = rel === undefined ? dest : join(dest, rel);
      if (rel !== undefined) checkParents(rel);
      if (e.type === 'dir') {
        replace(path, true);
        mkdirSync(path, { recursive: true });
        // the destination itself keeps its own mode and times
        if (rel !== undefined) dirs.push({ path, e });
      } else if (e.type === 'file') {
        if (rel === undefined) throw new Error('invalid tar entry: a file at the root');
        replace(path, false);
        fd = openSync(
          path,
          constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
          e.mode & 0o7777,
        );
        current = { path, e };
      } else if (e.type === 'symlink') {
        if (rel === undefined) return;
        replace(path, false);
        symlinkSync(e.linkname, path);
      } else if (e.type === 'link') {
        if (rel === undefined) return;
        const target = safeRelative(o.rename ? (o.rename(e.linkname) ?? e.linkname) : e.linkname);
        if (target === undefined) return;
        replace(path, false);
        linkSync(join(dest, target), path);
      }
    },
    data(chunk) {
      if (fd !== undefined) {
        writeSync(fd, chunk);
        bytes += chunk.length;
      }
    },
    end() {
      if (fd !== undefined) {
        closeSync(fd);
        fd = undefined;
        if (current) {
          chmodSync(current.path, current.e.mode & 0o7777);
          utimesSync(current.path, current.e.mtime, current.e.mtime);
          if (o.keepOwner && process.getuid?.() === 0) {
            try {
              chownSync(current.path, current.e.uid, current.e.gid);
            } catch {
              // best effort
            }
          }
        }
      }
    },
  });
  if (fd !== undefined) closeSync(fd);
  // directory modes and times last, deepest first, so writing into them worked
  for (const d of dirs.reverse()) {
    try {
      chmodSync(d.path, d.e.mode & 0o7777);
      utimesSync(d.path, d.e.mtime, d.e.mtime);
    } catch {
      // best effort
    }
  }
  return bytes;
}
