/**
 * COPY and ADD on the host side: source matching (Go filepath.Match globs) inside a root
 * (the build context or another stage's file system), a staging tree with the right owners
 * and modes, its content digest for the cache, and the unpack into the step's root.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import { invalidArgument, notFound } from '../../errdefs/index.ts';
import { applyLayer, looksLikeArchive, resolveInRoot, tarDirectory } from '../../archive/index.ts';
import { toHost, type IdMap } from '../../spec/index.ts';
import type { Host } from '../../host/index.ts';

export interface Source {
  /** path relative to the source root, as matched */
  rel: string;
  /** absolute path on the host (symlinks in the root resolved inside it) */
  abs: string;
  isDir: boolean;
  /** a downloaded file: ADD does not unpack it */
  remote?: boolean;
}

const GLOB_CHARS = /[*?[\\]/;

/** Go's filepath.Match for one path component. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw invalidArgument(`syntax error in pattern: ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '^' + cls.slice(1);
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.+^${}()|[\]\\*?/]/g, '\\$&');
}

/** Cleans a source path to a relative path inside the root ("/a/../b" → "b", "." → ""). */
export function cleanRel(p: string): string {
  const n = posix.normalize('/' + p);
  return n === '/' ? '' : n.slice(1).replace(/\/$/, '');
}

/** The sources a COPY/ADD source pattern names inside `root`, in a stable order. */
export async function matchSources(root: string, pattern: string, what: string): Promise<Source[]> {
  const rel = cleanRel(pattern);
  if (!GLOB_CHARS.test(rel)) {
    const abs = await resolveInRoot(root, rel);
    const st = abs ? await fs.stat(abs).catch(() => undefined) : undefined;
    if (!abs || !st) {
      throw notFound(
        `${what} failed: file not found in build context or excluded by .dockerignore: stat ${rel || '.'}: file does not exist`,
      );
    }
    return [{ rel, abs, isDir: st.isDirectory() }];
  }
  const parts = rel.split('/');
  let current: string[] = [''];
  for (const part of parts) {
    const next: string[] = [];
    const re = GLOB_CHARS.test(part) ? globToRegExp(part) : undefined;
    for (const dir of current) {
      if (!re) {
        next.push(dir ? `${dir}/${part}` : part);
        continue;
      }
      const abs = await resolveInRoot(root, dir);
      if (!abs) continue;
      const names = await fs.readdir(abs).catch(() => [] as string[]);
      for (const n of names.sort()) if (re.test(n)) next.push(dir ? `${dir}/${n}` : n);
    }
    current = next;
  }
  const out: Source[] = [];
  for (const r of current) {
    const abs = await resolveInRoot(root, r);
    const st = abs ? await fs.stat(abs).catch(() => undefined) : undefined;
    if (abs && st) out.push({ rel: r, abs, isDir: st.isDirectory() });
  }
  return out;
}

/** A digest of what the sources hold (names, modes, link targets, bytes): the cache key part. */
export async function contentDigest(sources: Source[]): Promise<string> {
  const h = createHash('sha256');
  const visit = async (abs: string, name: string): Promise<void> => {
    const st = await fs.lstat(abs);
    h.update(`${name}\0${st.mode}\0`);
    if (st.isSymbolicLink()) {
      h.update(await fs.readlink(abs));
    } else if (st.isDirectory()) {
      for (const n of (await fs.readdir(abs)).sort()) await visit(join(abs, n), `${name}/${n}`);
    } else if (st.isFile()) {
      for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
    }
    h.update('\0');
  };
  for (const s of sources) {
    // the top source is followed (it was resolved inside its root), its contents are not
    const st = await fs.stat(s.abs);
    if (st.isDirectory()) await visit(s.abs, s.rel);
    else {
      h.update(`${s.rel}\0${st.mode}\0`);
      for await (const chunk of createReadStream(s.abs)) h.update(chunk as Buffer);
      h.update('\0');
    }
  }
  return h.digest('hex');
}

/** Is this file a tar archive (plain or compressed) that ADD unpacks? */
export async function isLocalArchive(abs: string): Promise<boolean> {
  const fh = await fs.open(abs, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    return looksLikeArchive(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export interface CopyPlan {
  /** each source to copy (a file, or a directory whose contents are copied) */
  sources: Source[];
  /** heredoc files: name → content */
  inline: Array<{ name: string; content: string }>;
  /** absolute destination inside the image, as expanded (a trailing slash kept) */
  dest: string;
  uid: number;
  gid: number;
  chmod?: number;
  /** ADD: unpack local archives */
  extract: boolean;
  /** --chown was given */
  chowned?: boolean;
}

/**
 * Copies the plan into `rootfs` (a mounted, writable root): the destination is resolved inside
 * the root, missing directories are made (owned as the copy is), and the files go in through
 * a staging tree and a secure unpack.
 */
export async function copyInto(
  rootfs: string,
  staging: string,
  plan: CopyPlan,
  host: Host,
  what: string,
  idMap?: IdMap,
): Promise<void> {
  const count = plan.sources.length + plan.inline.length;
  const first = plan.sources[0];
  const onlyDir =
    count === 1 &&
    first !== undefined &&
    (first.isDir || (plan.extract && !first.remote && (await isLocalArchive(first.abs))));
  const destIsDirHint = plan.dest.endsWith('/') || count > 1 || onlyDir;
  const destRel = cleanRel(plan.dest);
  const existing = await resolveInRoot(rootfs, destRel);
  const existingStat = existing ? await fs.stat(existing).catch(() => undefined) : undefined;
  const destIsDir = destIsDirHint || !!existingStat?.isDirectory();
  if (count > 1 && !plan.dest.endsWith('/') && !existingStat?.isDirectory()) {
    throw invalidArgument(
      `When using ${what} with more than one source file, the destination must be a directory and end with a /`,
    );
  }
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { recursive: true });
  const extracts: string[] = [];
  let targetRel: string;
  if (destIsDir) targetRel = destRel;
  else targetRel = posix.dirname('/' + destRel).slice(1);
  const single = !destIsDir ? posix.basename('/' + destRel) : undefined;
  for (const s of plan.sources) {
    if (s.isDir) {
      await fs.cp(s.abs, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, force: true });
    } else if (plan.extract && !s.remote && (await isLocalArchive(s.abs))) {
      extracts.push(s.abs);
    } else {
      const name = single ?? posix.basename('/' + s.rel);
      await fs.cp(s.abs, join(staging, name), { preserveTimestamps: true, force: true, dereference: true });
    }
  }
  for (const f of plan.inline) {
    await fs.writeFile(join(staging, single ?? f.name), f.content, { mode: 0o644 });
  }
  await setOwnership(staging, plan.uid, plan.gid, plan.chmod);
  // the target directory: made inside the root when missing, owned as the copy is
  // Under a remap the plan's owners are the container's ids: the root holds the host's.
  const owner = idMap ? toHost(idMap, plan.uid, plan.gid) : { uid: plan.uid, gid: plan.gid };
  if (!owner) throw invalidArgument(`container ID ${plan.uid}:${plan.gid} cannot be mapped to a host ID`);
  const target = await mkdirInRoot(rootfs, targetRel, owner.uid, owner.gid);
  await applyLayer(tarDirectory(staging), target, { host, literal: true, idMap });
  for (const a of extracts) {
    // --chown owns what the archive holds too; without it the archive's owners stay
    await applyLayer(createReadStream(a), target, {
      host,
      literal: true,
      idMap,
      ...(plan.chowned ? { owner: { uid: plan.uid, gid: plan.gid } } : {}),
    });
  }
}

async function setOwnership(dir: string, uid: number, gid: number, chmod?: number): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const p = join(dir, name);
    const st = await fs.lstat(p);
    await fs.lchown(p, uid, gid);
    if (chmod !== undefined && !st.isSymbolicLink()) await fs.chmod(p, chmod);
    if (st.isDirectory()) await setOwnership(p, uid, gid, chmod);
  }
}

/** Makes `rel` inside `root` (each component resolved inside it); returns its host path. */
export async function mkdirInRoot(root: string, rel: string, uid = 0, gid = 0): Promise<string> {
  let cur = '';
  for (const part of rel.split('/').filter(Boolean)) {
    cur = cur ? `${cur}/${part}` : part;
    const abs = await resolveInRoot(root, cur);
    if (!abs) throw invalidArgument(`mkdir ${cur}: cannot resolve inside the image`);
    const st = await fs.lstat(abs).catch(() => undefined);
    if (!st) {
      await fs.mkdir(abs, { mode: 0o755 });
      await fs.chmod(abs, 0o755);
      if (uid || gid) await fs.lchown(abs, uid, gid);
    } else if (!st.isDirectory()) {
      throw invalidArgument(`mkdir /${cur}: not a directory`);
    }
  }
  const abs = await resolveInRoot(root, rel);
  if (!abs) throw invalidArgument(`mkdir ${rel}: cannot resolve inside the image`);
  return abs;
}

/** Parses --chmod (octal only, as the legacy builder accepts). */
export function parseChmod(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^[0-7]{3,4}$/.test(v)) throw invalidArgument(`invalid chmod parameter: ${v}. it should be octal string`);
  return parseInt(v, 8);
}

/** The most ADD downloads from one URL. */
export const ADD_URL_MAX_BYTES = 512 * 1024 * 1024;

/**
 * ADD <url>: the file downloaded into `dir` (mode 0600, its Last-Modified as mtime, as dockerd
 * does), refused past `maxBytes`. The name is the URL path's last component.
 */
export async function download(
  url: string,
  dir: string,
  maxBytes = ADD_URL_MAX_BYTES,
  signal?: AbortSignal,
): Promise<Source> {
  let res: Response;
  try {
    res = await fetch(url, {
      redirect: 'follow',
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(600_000)]) : AbortSignal.timeout(600_000),
    });
  } catch (e) {
    throw invalidArgument(`ADD failed: downloading ${url}: ${(e as Error).message}`);
  }
  if (!res.ok)
    throw invalidArgument(`ADD failed: downloading ${url}: status code ${res.status} ${res.statusText}`.trimEnd());
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes)
    throw invalidArgument(`ADD failed: ${url} is ${declared} bytes, more than the ${maxBytes} bytes allowed`);
  const name = decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '') || 'download';
  if (name.includes('/') || name === '..' || name === '.')
    throw invalidArgument(`ADD failed: cannot determine a file name from ${url}`);
  await fs.mkdir(dir, { recursive: true });
  const abs = join(dir, name);
  const fh = await fs.open(abs, 'w', 0o600);
  let total = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        total += chunk.length;
        if (total > maxBytes) throw invalidArgument(`ADD failed: ${url} is more than the ${maxBytes} bytes allowed`);
        await fh.write(chunk);
      }
    }
  } finally {
    await fh.close();
  }
  await fs.chmod(abs, 0o600);
  const lm = res.headers.get('last-modified');
  if (lm && !Number.isNaN(Date.parse(lm))) {
    const t = new Date(Date.parse(lm));
    await fs.utimes(abs, t, t);
  }
  return { rel: name, abs, isDir: false, remote: true };
}
