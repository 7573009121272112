/**
 * What `crun delete` does for a container that has stopped, without spawning crun: each crun
 * run is mostly its own start-up (~23 ms of CPU, and berth-crun's mount namespace on top), and
 * the delete of the container a `docker run --rm` just removed lands on the next run's start.
 * For a stopped container whose spec has no hooks (Berth's never have), crun 1.8's delete
 * (libcrun_container_delete) only removes its cgroup directories — in each hierarchy that
 * /proc/self/cgroup lists, cgroup v1's `name=systemd` among them, or the one v2 directory — and
 * then its state directory. This does the same, and declines (the caller runs `crun delete`)
 * on anything it is not sure of: a status file it cannot read, a systemd-managed cgroup, an
 * init that is still alive, a cgroup directory that will not go (EBUSY: a task remains, or a
 * child cgroup), where crun would kill what is left and retry.
 */
import { existsSync, readFileSync, promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import { removeTree } from '../fs/index.ts';
import { initAlive, parseCrunStatus } from './state.ts';

export interface ReapOptions {
  /** crun's state root (the driver's `runcRoot`): the container's directory is `<root>/<id>`. */
  root: string;
  id: string;
  /** Where the cgroup hierarchies are mounted (default /sys/fs/cgroup; tests: a scratch directory). */
  cgroupRoot?: string;
  /** The cgroup v1 hierarchies by directory name under `cgroupRoot` (default: /proc/self/cgroup's). */
  hierarchies?: readonly string[];
}

/**
 * Removes a stopped crun container's cgroups and state as `crun delete` would; true when done,
 * false when the caller should run `crun delete` (nothing is lost by trying first: crun takes
 * a cgroup directory already gone as removed).
 */
export async function reapStoppedCrun(o: ReapOptions): Promise<boolean> {
  const dir = join(o.root, o.id);
  let raw: { 'cgroup-path'?: string; 'systemd-cgroup'?: boolean; scope?: string | null };
  let text: string;
  try {
    // On the exec root's tmpfs: read on the event loop, as state.ts reads it.
    text = readFileSync(join(dir, 'status'), 'utf8');
    raw = JSON.parse(text) as typeof raw;
    if (raw['systemd-cgroup'] || raw.scope) return false;
    if (await initAlive(parseCrunStatus(o.id, text))) return false;
  } catch {
    return false;
  }
  const cgroupRoot = o.cgroupRoot ?? '/sys/fs/cgroup';
  const path = raw['cgroup-path'] ?? '';
  if (path) {
    const rel = posix.join('/', path);
    if (rel === '/') return false;
    const v2 = existsSync(join(cgroupRoot, 'cgroup.controllers'));
    const dirs = v2 ? [cgroupRoot + rel] : (o.hierarchies ?? v1Hierarchies()).map((h) => `${cgroupRoot}/${h}${rel}`);
    const results = await Promise.allSettled(
      dirs.map((d) =>
        fs.rmdir(d).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        }),
      ),
    );
    if (results.some((r) => r.status === 'rejected')) return false;
  }
  await removeTree(dir);
  return true;
}

let hierarchies: string[] | undefined;

/**
 * The v1 hierarchies crun removes a container's cgroup from: each line of /proc/self/cgroup
 * (`n:controllers:path`) by its directory — `name=systemd` is `systemd` — but not v2's unified
 * one (`0::`), which berth-crun hides from crun on a hybrid host and plain crun 1.8 refuses.
 */
export function v1Hierarchies(procSelfCgroup?: string): string[] {
  if (procSelfCgroup === undefined && hierarchies) return hierarchies;
  const text = procSelfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8');
  const found = text
    .split('\n')
    .map((l) => l.split(':')[1] ?? '')
    .filter((c) => c !== '')
    .map((c) => c.replace(/^name=/, ''));
  if (procSelfCgroup === undefined) hierarchies = found;
  return found;
}
