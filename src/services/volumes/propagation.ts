/**
 * Docker's check of a bind mount's propagation: `shared`/`rshared` needs the mount holding the
 * source to be shared on the host, `slave`/`rslave` shared or slave; otherwise nothing would
 * propagate and Docker refuses the start rather than pretend.
 */
import { invalidArgument } from '../../errdefs/index.ts';

export interface MountInfoEntry {
  mountPoint: string;
  /** The optional fields: `shared:N`, `master:N`, `propagate_from:N`, `unbindable`. */
  optional: string[];
}

/** Lines of /proc/self/mountinfo, mount points unescaped (`\040` is a space). */
export function parseMountinfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 7) continue;
    const sep = f.indexOf('-', 6);
    out.push({
      mountPoint: f[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))),
      optional: f.slice(6, sep < 0 ? undefined : sep),
    });
  }
  return out;
}

/** The mount a host path lives on: the last-mounted entry with the longest matching mount point. */
export function sourceMount(path: string, entries: readonly MountInfoEntry[]): MountInfoEntry | undefined {
  let best: MountInfoEntry | undefined;
  for (const e of entries) {
    const mp = e.mountPoint;
    const under = mp === '/' || path === mp || path.startsWith(`${mp}/`);
    if (under && (!best || mp.length >= best.mountPoint.length)) best = e;
  }
  return best;
}

/**
 * Checks one bind's propagation against the host's mount of its (symlink-resolved) source and
 * says what the container's root must propagate for it: 'shared', 'rslave', or undefined.
 */
export function checkPropagation(source: string, propagation: string, entries: readonly MountInfoEntry[], resolved = source): 'shared' | 'rslave' | undefined {
  const shared = propagation === 'shared' || propagation === 'rshared';
  const slave = propagation === 'slave' || propagation === 'rslave';
  if (!shared && !slave) return undefined;
  const m = sourceMount(resolved, entries);
  if (!m) throw invalidArgument(`could not find source mount of ${source}`);
  const isShared = m.optional.some((o) => o.startsWith('shared:'));
  const isSlave = m.optional.some((o) => o.startsWith('master:'));
  if (shared) {
    if (!isShared) throw invalidArgument(`path ${source} is mounted on ${m.mountPoint} but it is not a shared mount`);
    return 'shared';
  }
  if (!isShared && !isSlave) throw invalidArgument(`path ${source} is mounted on ${m.mountPoint} but it is not a shared or slave mount`);
  return 'rslave';
}
