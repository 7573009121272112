/**
 * crun's binary, sealed. crun guards against a container overwriting its binary through
 * /proc/self/exe (CVE-2019-5736) by copying itself to a read-only place and executing itself
 * again, at every run: a second exec with ten shared libraries to load, ~2 ms of each create and
 * delete. A binary that is on a read-only mount already is safe, and crun runs it as it is. So
 * crun's binary is bound read-only into the exec root once, and the berth-crun wrapper runs
 * that (the driver names it in `BERTH_CRUN`).
 */
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/index.ts';
import { v1Hierarchies } from './reap.ts';

/**
 * Binds `binary` read-only at `at` (a file in the exec root), unless a previous daemon left the
 * bind there. False (crun then protects itself as usual) when the bind cannot be made.
 */
export async function sealCrun(host: Host, binary: string, at: string): Promise<boolean> {
  try {
    if (!(await isMountPoint(at))) {
      await fs.writeFile(at, '', { flag: 'a', mode: 0o500 });
      await host.mount('none', binary, at, ['bind', 'ro']);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * One empty, read-only tmpfs for all of crun's containers, whose masked directories (/proc/acpi,
 * /sys/firmware, each CPU's thermal_throttle ...) are bound from it instead of each getting a
 * tmpfs of its own from crun: a bind adds a mount but no superblock, and each superblock costs
 * kernel memory (the superblock, its root inode and dentry, list_lru heads) and a shrinker id,
 * which widens the shrinker table of every memory cgroup on the host for as long as it runs.
 * What the container sees is what crun's mask gives: an empty `drwxrwxrwt root root`
 * directory on a read-only tmpfs. nr_inodes=1 (the root alone) and 4 kB: even a container
 * given CAP_SYS_ADMIN that remounts it read-write can put nothing in it for the others to see.
 * Mounted at `at` (a directory in the exec root) unless a previous daemon left it there; false
 * (crun masks as usual) when it cannot be made.
 */
export async function shareMask(host: Host, at: string, owner?: { uid: number; gid: number }): Promise<boolean> {
  try {
    if (!(await isMountPoint(at))) {
      await fs.mkdir(at, { recursive: true, mode: 0o755 });
      await host.mount('tmpfs', 'tmpfs', at, [
        'ro',
        'nosuid',
        'nodev',
        'noexec',
        'size=4k',
        'nr_inodes=1',
        'mode=1777',
        ...(owner ? [`uid=${owner.uid}`, `gid=${owner.gid}`] : []),
      ]);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The shared mask for containers in a user namespace (`--userns-remap`): root's would show them
 * an empty directory of `nobody`'s where crun's own mask, a tmpfs made inside their namespace, is
 * their root's — so one more read-only tmpfs, owned on the host by the namespace's root
 * (`uid=`/`gid=`), for all containers of that mapping: two superblocks fewer each. The kernel
 * lets crun bind it from inside the container's user namespace (a bind of a mount without
 * submounts is never "too revealing"), and its superblock stays the initial namespace's: the
 * container's root can neither remount it read-write nor put anything in it. Mounted at
 * `<base>-<uid>-<gid>` on first use, kept until `close`.
 */
export class OwnedMasks {
  private readonly made = new Map<string, Promise<string | undefined>>();
  private readonly host: Host;
  private readonly base: string;

  constructor(host: Host, base: string) {
    this.host = host;
    this.base = base;
  }

  /** The mask owned by `owner` (a user namespace's root on the host), or undefined when it cannot be made. */
  for(owner: { uid: number; gid: number }): Promise<string | undefined> {
    const at = `${this.base}-${owner.uid}-${owner.gid}`;
    let made = this.made.get(at);
    if (!made) this.made.set(at, (made = shareMask(this.host, at, owner).then((ok) => (ok ? at : undefined))));
    return made;
  }

  /** Unmounts them (the containers' binds keep their superblocks). */
  async close(): Promise<void> {
    const made = [...this.made];
    this.made.clear();
    for (const [at, p] of made) if (await p) await this.host.unmount(at).catch(() => {});
  }
}

/**
 * One read-only tmpfs holding an empty directory per cgroup v1 hierarchy (and the links crun
 * makes for co-mounted ones, `cpu` → `cpu,cpuacct`), bound at every crun container's
 * /sys/fs/cgroup instead of the 1 MB tmpfs crun mounts there for each: the hierarchies' binds
 * then go onto its directories (cgroup-share.ts's `bindCgroupMounts`). A superblock fewer a
 * container — ~17 kB of kernel objects (the superblock, twelve inodes and dentries) and a
 * shrinker id, which widens every memory cgroup's shrinker table for as long as the host runs.
 * What the container sees is what Docker's runc gives it: a read-only tmpfs with its own
 * directory bound read-only in each hierarchy. Mounted at `at` unless a previous daemon left it
 * there; undefined on cgroup v2, or when it cannot be made (crun then mounts its own).
 */
export async function shareCgroupTree(host: Host, at: string): Promise<CgroupTree | undefined> {
  // cgroup v1 only; the hierarchies crun binds: those of /proc/self/cgroup mounted under /sys/fs/cgroup.
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return undefined;
  const hierarchies = v1Hierarchies().filter((h) => existsSync(join('/sys/fs/cgroup', h)));
  if (hierarchies.length === 0) return undefined;
  try {
    if (!(await isMountPoint(at))) {
      await fs.mkdir(at, { recursive: true, mode: 0o755 });
      await host.mount('tmpfs', 'tmpfs', at, ['nosuid', 'nodev', 'noexec', 'size=4k', 'nr_inodes=64', 'mode=755']);
      for (const h of hierarchies) {
        await fs.mkdir(join(at, h), { mode: 0o755 });
        if (h.includes(',')) for (const part of h.split(',')) await fs.symlink(h, join(at, part));
      }
      await host.mount('tmpfs', 'tmpfs', at, ['remount', 'ro', 'nosuid', 'nodev', 'noexec']);
    }
    // A previous daemon's, on a host whose hierarchies have not changed since.
    return hierarchies.every((h) => existsSync(join(at, h))) ? { at, hierarchies } : undefined;
  } catch {
    return undefined;
  }
}

/** The shared cgroup tree: where it is mounted, and the hierarchies (directory names under /sys/fs/cgroup) it has a directory for. */
export interface CgroupTree {
  at: string;
  hierarchies: readonly string[];
}

/** Is `path` a mount point (also of a file bound onto it)? Read from mountinfo: once per daemon start. */
async function isMountPoint(path: string): Promise<boolean> {
  const real = await fs.realpath(path).catch(() => undefined);
  if (!real) return false;
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  // The fifth field, with spaces and other bytes escaped as \ooo.
  return info
    .split('\n')
    .some(
      (line) =>
        line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) === real,
    );
}
