/**
 * Docker's check of a bind mount's propagation: `shared`/`rshared` needs the mount holding the
 * source to be shared on the host, `slave`/`rslave` shared or slave; otherwise nothing would
 * propagate and Docker refuses the start rather than pretend.
 */
import { invalidArgument } from '../../errdefs/index.ts';
import type { MountPoint } from './mounts.ts';

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
export function checkPropagation(
  source: string,
  propagation: string,
  entries: readonly MountInfoEntry[],
  resolved = source,
): 'shared' | 'rslave' | undefined {
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
  if (!isShared && !isSlave)
    throw invalidArgument(`path ${source} is mounted on ${m.mountPoint} but it is not a shared or slave mount`);
  return 'rslave';
}

/**
 * Docker's rule for binds of the daemon root, of something in it or of a directory above it:
 * their propagation must be rslave or rshared, and is rslave when none was given (mounts made
 * under the root later, such as other containers' root file systems, then reach them).
 */
export function daemonRootRule(m: MountPoint, given: boolean | undefined, root: string): void {
  const within = (a: string, b: string) => b === '/' || a === b || a.startsWith(`${b}/`);
  if (!within(m.Source, root) && !within(root, m.Source)) return;
  if (!given && (m.DefaultSlave || !m.Propagation || m.Propagation === 'rprivate')) {
    m.Propagation = 'rslave';
    m.DefaultSlave = true;
  } else if (given && m.Propagation !== 'rslave' && m.Propagation !== 'rshared') {
    throw invalidArgument(
      `invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: ${JSON.stringify(root)}, bind mount source: ${JSON.stringify(m.Source)}, propagation: ${JSON.stringify(m.Propagation)}`,
    );
  }
}
