/**
 * Applies a layer tar to a directory without ever writing outside it.
 *
 * Entry names are cleaned and refused when they climb above the root; parent directories are
 * resolved inside the root (a symlink is followed as if the root were `/`, never out of it);
 * the final component is never followed; hardlinks must point inside the root. OCI whiteouts
 * become overlay whiteouts (a 0/0 character device, the `trusted.overlay.opaque` xattr) when the
 * directory is an overlay lower layer, or deletions when the layer is applied onto a flat tree.
 */
import { createHash } from 'node:crypto';
import { constants, createWriteStream, promises as fs } from 'node:fs';
import { posix, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract, type Header } from 'tar-stream';
import { invalidArgument } from '../errdefs/index.ts';
import type { SpecialFiles } from '../host/index.ts';
import type { Digest } from '../spec/index.ts';
import { decompressed, DEFAULT_MAX_LAYER_BYTES } from './compression.ts';
import { resolveInRoot } from './resolve.ts';

export interface ApplyOptions {
  host: SpecialFiles;
  /** Cap on the uncompressed size: a decompression bomb stops here with an error. */
  maxBytes?: number;
  /** The target is an overlay lower directory: keep whiteouts as overlay whiteouts. */
  overlayWhiteouts?: boolean;
}

export interface ApplyResult {
  diffId: Digest;
  size: number;
}

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';

/** Cleans an entry name to a path relative to the root (`""` is the root), or refuses it. */
export function cleanEntryName(name: string): string {
  const lexical = posix.normalize(name.replace(/^\/+/, '') || '.');
  if (lexical === '..' || lexical.startsWith('../')) throw invalidArgument(`apply layer: entry "${name}" escapes the root`);
  return lexical === '.' || lexical === './' ? '' : lexical.replace(/\/$/, '');
}

export async function applyLayer(source: Readable, root: string, opts: ApplyOptions): Promise<ApplyResult> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const ex = tarExtract();
  const dirTimes: Array<[string, Date]> = [];
  const inodes = new Map<string, string>();
  const work = (async () => {
    for await (const entry of ex) {
      await applyEntry(root, entry.header, entry as unknown as Readable, opts, dirTimes, inodes);
      entry.resume();
    }
  })();
  await Promise.all([pipeline(decompressed(source, opts.maxBytes ?? DEFAULT_MAX_LAYER_BYTES), meter, ex), work]);
  // Directory times last: writing their children changed them.
  for (const [p, t] of dirTimes.reverse()) await fs.utimes(p, t, t).catch(() => {});
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

async function applyEntry(root: string, h: Header, body: Readable, opts: ApplyOptions, dirTimes: Array<[string, Date]>, inodes: Map<string, string>): Promise<void> {
  const rel = cleanEntryName(h.name);
  if (rel === '') {
    // The root itself ("./"): take its mode and owner, never replace it.
    if (h.type === 'directory') await applyMeta(root, h, true);
    return;
  }
  const base = posix.basename(rel);
  const parentRel = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
  const parent = await resolveInRoot(root, parentRel);
  if (parent === undefined) throw invalidArgument(`apply layer: entry "${h.name}": parent is not a directory`);
  await fs.mkdir(parent, { recursive: true });
  const target = join(parent, base);

  if (base === WH_OPAQUE) {
    if (opts.overlayWhiteouts) await opts.host.setxattr(parent, 'trusted.overlay.opaque', 'y');
    else for (const child of await fs.readdir(parent)) await fs.rm(join(parent, child), { recursive: true, force: true });
    return;
  }
  if (base.startsWith(WH_PREFIX)) {
    const victim = join(parent, base.slice(WH_PREFIX.length));
    await fs.rm(victim, { recursive: true, force: true });
    if (opts.overlayWhiteouts) await opts.host.mknod(victim, 'c', 0, 0, 0);
    return;
  }

  const existing = await fs.lstat(target).catch(() => undefined);
  if (existing && !(existing.isDirectory() && h.type === 'directory')) await fs.rm(target, { recursive: true, force: true });

  switch (h.type) {
    case 'directory':
      if (!existing?.isDirectory()) await fs.mkdir(target);
      await applyMeta(target, h, true);
      dirTimes.push([target, h.mtime ?? new Date(0)]);
      return;
    case 'file':
    case 'contiguous-file': {
      const out = createWriteStream(target, { flags: (constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW) as unknown as string, mode: 0o600 } as unknown as Parameters<typeof createWriteStream>[1]);
      await pipeline(body, out);
      await applyMeta(target, h, false);
      return;
    }
    case 'symlink':
      await fs.symlink(h.linkname ?? '', target);
      await fs.lchown(target, h.uid ?? 0, h.gid ?? 0);
      if (h.mtime) await fs.lutimes(target, h.mtime, h.mtime).catch(() => {});
      return;
    case 'link': {
      const linkRel = cleanLinkTarget(h.linkname ?? '', h.name);
      const lparent = await resolveInRoot(root, posix.dirname(linkRel) === '.' ? '' : posix.dirname(linkRel));
      const source = lparent === undefined ? undefined : join(lparent, posix.basename(linkRel));
      if (!source) throw invalidArgument(`apply layer: hardlink "${h.name}" to "${h.linkname}": target not found`);
      const st = await fs.lstat(source).catch(() => undefined);
      if (!st) throw invalidArgument(`apply layer: hardlink "${h.name}" to "${h.linkname}": target not found`);
      if (st.isDirectory()) throw invalidArgument(`apply layer: hardlink "${h.name}" to a directory`);
      await fs.link(source, target);
      void inodes;
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo':
      await opts.host.mknod(target, h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c', h.devmajor ?? 0, h.devminor ?? 0, h.mode ?? 0o644);
      await applyMeta(target, h, false);
      return;
    default:
      // Sockets and unknown types carry nothing a container needs.
      return;
  }
}

function cleanLinkTarget(linkname: string, name: string): string {
  const cleaned = posix.normalize('/' + linkname).slice(1);
  const lexical = posix.normalize(linkname.replace(/^\/+/, ''));
  if (lexical === '..' || lexical.startsWith('../') || cleaned === '') {
    throw invalidArgument(`apply layer: hardlink "${name}" to "${linkname}" escapes the root`);
  }
  return cleaned;
}

async function applyMeta(path: string, h: Header, isDir: boolean): Promise<void> {
  await fs.lchown(path, h.uid ?? 0, h.gid ?? 0);
  // chmod after chown: chown clears setuid/setgid bits.
  await fs.chmod(path, (h.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777);
  if (!isDir && h.mtime) await fs.utimes(path, h.mtime, h.mtime).catch(() => {});
  const pax = (h.pax ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(pax)) {
    if (k.startsWith('SCHILY.xattr.')) {
      // xattrs are applied best effort, as Docker does for unprivileged namespaces.
      void v;
    }
  }
}
