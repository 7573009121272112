/**
 * `docker cp`: paths inside a container's root file system, as the archive endpoints see them
 * (moby's container.ResolvePath / StatPath). Every symlink is resolved inside the root, so no
 * path given by the client or planted by the container names a host file; the last component
 * is taken as it is (a symlink is copied as a symlink) unless the path ends in `/.` or `/`.
 */
import { promises as fs, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { notFound, invalidArgument } from '../../errdefs/index.ts';
import { resolveInRoot, tarDirectory, applyLayer } from '../../archive/index.ts';
import type { Host } from '../../host/index.ts';

/** What the X-Docker-Container-Path-Stat header carries (base64 of this JSON). */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits, which the docker CLI decodes. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

const GO_MODE = { dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, namedPipe: 2 ** 25, socket: 2 ** 24, setuid: 2 ** 23, setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20 };

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

/** Resolves and stats `path` inside `root`; NotFound in Docker's words when it is not there. */
export async function statPath(root: string, path: string, container: string): Promise<Resolved> {
  const { abs, followLast } = clean(path);
  let real: string | undefined;
  if (followLast) real = await resolveInRoot(root, abs);
  else {
    const parent = await resolveInRoot(root, posix.dirname(abs));
    real = parent === undefined ? undefined : posix.join(parent, posix.basename(abs));
  }
  const missing = () => notFound(`Could not find the file ${path} in container ${container}`);
  if (real === undefined) throw missing();
  const st = await fs.lstat(real).catch(() => undefined);
  if (!st) throw missing();
  let linkTarget = '';
  if (st.isSymbolicLink()) {
    const to = await resolveInRoot(root, abs);
    if (to !== undefined) linkTarget = posix.join('/', posix.relative(root, to));
  }
  const name = abs === '/' ? '/' : path.endsWith('/.') ? '.' : posix.basename(abs);
  return { abs: real, st, stat: { name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget } };
}

/** The resolved path as a tar whose entries are named after the path's last component. */
export function tarPath(r: Resolved, host: Host): Readable {
  if (r.st.isDirectory()) return tarDirectory(r.abs, { host, prefix: r.stat.name === '/' ? '.' : r.stat.name });
  const parent = posix.dirname(r.abs);
  const base = posix.basename(r.abs);
  return tarDirectory(parent, { host, exclude: (rel) => rel !== base && !rel.startsWith(`${base}/`) });
}

/** Extracts a plain tar into `path`, which must be a directory inside the root. */
export async function extractTo(root: string, path: string, tar: Readable, host: Host, container: string, owner?: { uid: number; gid: number }): Promise<void> {
  const { abs } = clean(path);
  const real = await resolveInRoot(root, abs);
  const st = real === undefined ? undefined : await fs.stat(real).catch(() => undefined);
  if (!real || !st) throw notFound(`Could not find the file ${path} in container ${container}`);
  if (!st.isDirectory()) throw invalidArgument('extraction point is not a directory');
  await applyLayer(tar, real, { host, literal: true, owner });
}
