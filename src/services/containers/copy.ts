/**
 * `docker cp`: paths inside a container's root file system, as the archive endpoints see them
 * (moby's container.ResolvePath / StatPath). Every symlink is resolved inside the root, so no
 * path given by the client or planted by the container names a host file; the last component
 * is taken as it is (a symlink is copied as a symlink) unless the path ends in `/.` or `/`.
 */
import { promises as fs, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { forbidden, internal, notFound, invalidArgument } from '../../errdefs/index.ts';
import { resolveInRoot, tarDirectory, applyLayer } from '../../archive/index.ts';
import type { Host } from '../../host/index.ts';
import type { IdMap } from '../../spec/index.ts';
import type { PathStat } from '../../api/types/index.ts';

const GO_MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
};

export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m += GO_MODE.dir;
  else if (st.isSymbolicLink()) m += GO_MODE.symlink;
  else if (st.isFIFO()) m += GO_MODE.namedPipe;
  else if (st.isSocket()) m += GO_MODE.socket;
  else if (st.isCharacterDevice()) m += GO_MODE.device + GO_MODE.charDevice;
  else if (st.isBlockDevice()) m += GO_MODE.device;
  if (st.mode & 0o4000) m += GO_MODE.setuid;
  if (st.mode & 0o2000) m += GO_MODE.setgid;
  if (st.mode & 0o1000) m += GO_MODE.sticky;
  return m;
}

export interface Resolved {
  /** Absolute host path inside the root. */
  abs: string;
  st: Stats;
  stat: PathStat;
}

/** The path as the client asked for it, absolute; `followLast` when it ends in `/.` or `/`. */
function clean(path: string): { abs: string; followLast: boolean } {
  if (!path) throw invalidArgument('path cannot be empty');
  const abs = posix.join('/', path);
  return { abs, followLast: abs === '/' || path.endsWith('/') || path.endsWith('/.') || path === '.' };
}

/** A volume or bind mount of the container, as the host sees its source. */
export interface HostMount {
  destination: string;
  source: string;
  readOnly: boolean;
}

/**
 * Where a container path lives on the host: under the deepest volume or bind mount whose
 * destination contains it (the mounts are made in the container's own mount namespace, so the
 * root file system seen from the host does not show them), else in the root file system.
 */
function locate(
  rootfs: string,
  abs: string,
  mounts: readonly HostMount[],
): { root: string; rel: string; prefix: string; mount?: HostMount } {
  let best: HostMount | undefined;
  for (const m of mounts) {
    const d = posix.normalize(m.destination);
    if ((abs === d || abs.startsWith(`${d}/`)) && (!best || d.length > best.destination.length))
      best = { ...m, destination: d };
  }
  if (!best) return { root: rootfs, rel: abs, prefix: '' };
  return { root: best.source, rel: abs.slice(best.destination.length) || '/', prefix: best.destination, mount: best };
}

/** Resolves and stats `path` inside the container; NotFound in Docker's words when it is not there. */
export async function statPath(
  rootfs: string,
  path: string,
  container: string,
  mounts: readonly HostMount[] = [],
): Promise<Resolved> {
  const { abs, followLast } = clean(path);
  const { root, rel, prefix } = locate(rootfs, abs, mounts);
  let real: string | undefined;
  if (followLast || rel === '/') real = await resolveInRoot(root, rel);
  else {
    const parent = await resolveInRoot(root, posix.dirname(rel));
    real = parent === undefined ? undefined : posix.join(parent, posix.basename(rel));
  }
  const missing = () => notFound(`Could not find the file ${path} in container ${container}`);
  if (real === undefined) throw missing();
  const st = await fs.lstat(real).catch(() => undefined);
  if (!st) throw missing();
  // A path ending in a slash names a directory (moby's lstat of it fails with ENOTDIR): the
  // CLI's `docker cp file c:/a/file/` must not take the file for the directory to copy into.
  if (/\/\.?$/.test(path) && abs !== '/' && !(await isDirectoryInRoot(root, rel, st)))
    throw internal(`lstat ${path}: not a directory`);
  let linkTarget = '';
  if (st.isSymbolicLink()) {
    const to = await resolveInRoot(root, rel);
    if (to !== undefined) linkTarget = posix.join('/', prefix, posix.relative(root, to));
  }
  const name = abs === '/' ? '/' : path.endsWith('/.') ? '.' : posix.basename(abs);
  return {
    abs: real,
    st,
    stat: { name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget },
  };
}

/**
 * The resolved path as a tar whose entries are named after the path's last component; under a
 * remap (`idMap`) with the owners the container sees.
 */
export function tarPath(r: Resolved, host: Host, idMap?: IdMap): Readable {
  if (r.st.isDirectory()) return tarDirectory(r.abs, { host, idMap, prefix: r.stat.name === '/' ? '.' : r.stat.name });
  const parent = posix.dirname(r.abs);
  const base = posix.basename(r.abs);
  return tarDirectory(parent, { host, idMap, exclude: (rel) => rel !== base && !rel.startsWith(`${base}/`) });
}

/** Extracts a plain tar into `path`, which must be a directory inside the container. */
export async function extractTo(
  rootfs: string,
  path: string,
  tar: Readable,
  host: Host,
  container: string,
  owner?: { uid: number; gid: number },
  mounts: readonly HostMount[] = [],
  idMap?: IdMap,
): Promise<void> {
  const { abs } = clean(path);
  const { root, rel, mount } = locate(rootfs, abs, mounts);
  const real = await resolveInRoot(root, rel);
  const st = real === undefined ? undefined : await fs.stat(real).catch(() => undefined);
  if (!real || !st) throw notFound(`Could not find the file ${path} in container ${container}`);
  if (!st.isDirectory()) throw invalidArgument('extraction point is not a directory');
  if (mount?.readOnly) throw forbidden('mounted volume is marked read-only');
  // Under a remap the archive's owners (or `owner`) are the container's ids: written as the host's.
  await applyLayer(tar, real, { host, literal: true, owner, idMap });
}

/** Whether `rel` under `root` is a directory, through a last symbolic link (resolved in the root). */
async function isDirectoryInRoot(root: string, rel: string, st: Stats): Promise<boolean> {
  if (st.isDirectory()) return true;
  if (!st.isSymbolicLink()) return false;
  const to = await resolveInRoot(root, rel);
  return to !== undefined && !!(await fs.stat(to).catch(() => undefined))?.isDirectory();
}
