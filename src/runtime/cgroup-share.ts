/**
 * The cgroup v1 hierarchies a crun container shares with the others under its cgroup parent:
 * cpuset and name=systemd. Each directory of its own there costs the kernel a struct cgroup
 * (4 kB here), its pressure state, its kernfs files and per-CPU statistics — ~17 kB a container
 * for the two, measured — and a container needs neither unless it asks: cpuset only for
 * --cpuset-cpus/--cpuset-mems, name=systemd (no controller) never under the cgroupfs driver.
 * berth-crun (BERTH_CRUN_SHARE=<parent>) puts the container's processes in `<parent>` in those
 * two and hides them from crun, which makes its other directories as before and binds
 * `<parent>` read-only at the container's /sys/fs/cgroup/cpuset and /systemd: the same CPUs and
 * memory nodes its own directory would have had, a tasks file showing the pids of its own pid
 * namespace. A container's /proc/self/cgroup says `<parent>` on those two lines.
 *
 * Who shares: a spec with a cgroup path under a parent, a read-only cgroup mount (privileged
 * containers mount theirs read-write, and could write the shared directory's files), no cgroup
 * namespace of its own, no cpuset asked for. A later `update --cpuset-cpus` makes the
 * container's own cpuset first (`ensureOwnCpuset`), as Docker's container always has one.
 *
 * @example
 *   const parent = sharedCgroupParent(spec); // '/berth', or undefined: crun makes them all
 *   if (parent) env.BERTH_CRUN_SHARE = parent;
 */
import { existsSync, promises as fs } from 'node:fs';
import { posix } from 'node:path';

/** The parts of an OCI spec read here. */
interface SpecForShare {
  mounts?: Array<{ destination?: string; type?: string; options?: string[] }>;
  linux?: {
    cgroupsPath?: string;
    namespaces?: Array<{ type?: string }>;
    resources?: { cpu?: { cpus?: string; mems?: string } };
  };
}

/** The cgroup parent a container created from `spec` may share cpuset and name=systemd in, or undefined. */
export function sharedCgroupParent(spec: object): string | undefined {
  const s = spec as SpecForShare;
  const path = s.linux?.cgroupsPath;
  // An absolute cgroupfs path (not systemd's `slice:prefix:name`) below a parent other than the root.
  if (!path || !path.startsWith('/') || path.includes(':')) return undefined;
  const parent = posix.dirname(posix.normalize(path));
  if (parent === '/' || parent.includes('/..')) return undefined;
  const cpu = s.linux?.resources?.cpu;
  if (cpu?.cpus || cpu?.mems) return undefined;
  if (s.linux?.namespaces?.some((n) => n.type === 'cgroup')) return undefined;
  const mount = s.mounts?.find((m) => m.destination === '/sys/fs/cgroup');
  if (!mount || mount.type !== 'cgroup' || !mount.options?.includes('ro')) return undefined;
  return parent;
}

/**
 * The cgroup parent of a container's directory in a v1 hierarchy (`/sys/fs/cgroup/memory/berth/<id>`
 * → `/berth`), or undefined (no directory, cgroup v2, a container at the root).
 */
export function parentInHierarchy(dir: string | undefined): string | undefined {
  const m = dir && /^\/sys\/fs\/cgroup\/[^/]+(\/.+)\/[^/]+$/.exec(dir);
  return m && m[1] !== '/' ? m[1] : undefined;
}

/**
 * Gives a running container that shares its cpuset a directory of its own there, its
 * processes moved in (`update --cpuset-cpus` then writes it). `cpuset` is the directory its
 * own would be (crun's state's path), `procsOf` one of its other directories holding all its
 * processes (memory, pids or freezer). Nothing to do when the directory exists. The new
 * directory starts with its parent's CPUs and memory nodes (a v1 cpuset starts empty, and
 * nothing can join an empty one); processes that fork meanwhile are caught by reading the
 * list again until nothing is left behind.
 */
export async function ensureOwnCpuset(cpuset: string, procsOf: string): Promise<void> {
  if (existsSync(cpuset)) return;
  await fs.mkdir(cpuset).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    if ((await fs.readFile(posix.join(cpuset, f), 'utf8')).trim() === '')
      await fs.writeFile(
        posix.join(cpuset, f),
        (await fs.readFile(posix.join(posix.dirname(cpuset), f), 'utf8')).trim(),
      );
  }
  const procs = async (dir: string) =>
    new Set((await fs.readFile(posix.join(dir, 'cgroup.procs'), 'utf8')).split('\n').filter((l) => l !== ''));
  for (let round = 0; round < 20; round++) {
    const here = await procs(cpuset);
    const left = [...(await procs(procsOf))].filter((p) => !here.has(p));
    if (left.length === 0) return;
    for (const p of left) {
      await fs.writeFile(posix.join(cpuset, 'cgroup.procs'), p).catch((e: NodeJS.ErrnoException) => {
        // Gone meanwhile.
        if (e.code !== 'ESRCH') throw e;
      });
    }
  }
  throw new Error(`move the processes of ${procsOf} into ${cpuset}: they keep forking`);
}
