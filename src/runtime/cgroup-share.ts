/**
 * The cgroup v1 hierarchies a crun container shares with the others under its cgroup parent:
 * cpuset and name=systemd. Each directory of its own there costs the kernel a struct cgroup
 * (4 kB here), its pressure state, its kernfs files and per-CPU statistics — ~17 kB a container
 * for the two, measured — and a container needs neither unless it asks: cpuset only for
 * --cpuset-cpus/--cpuset-mems, name=systemd (no controller) never under the cgroupfs driver.
 * berth-crun (BERTH_CRUN_SHARE=<dir>) puts the container's processes in one directory beside
 * the containers' own, `<parent>/berth-shared`, in those two and hides them from crun, which
 * makes its other directories as before; the container's /sys/fs/cgroup/cpuset and /systemd are
 * that directory, read-only: the same CPUs and memory nodes its own would have had, a tasks file
 * showing only the pids of its own pid namespace, no subdirectories (the parent's would show the
 * ids of the containers that have a cpuset of their own). A container's /proc/self/cgroup says
 * `<parent>/berth-shared` on those two lines.
 *
 * Who shares: a spec with a cgroup path under a parent, a read-only cgroup mount (privileged
 * containers mount theirs read-write, and could write the shared directory's files), no cgroup
 * namespace of its own, no cpuset asked for. A container in a user namespace shares too: on
 * cgroup v1 crun gives it no ownership of its directories (it chowns them on v2 only), so the
 * shared ones, read-only and root's, are what its own would have been. A later `update
 * --cpuset-cpus` makes the container's own cpuset first (`ensureOwnCpuset`), as Docker's
 * container always has one.
 *
 * @example
 *   const shared = sharedCgroup(spec); // '/berth/berth-shared', or undefined: crun makes them all
 *   if (shared) env.BERTH_CRUN_SHARE = shared;
 */
import { existsSync, promises as fs } from 'node:fs';
import { posix } from 'node:path';

/** The parts of an OCI spec read here. */
interface SpecForShare {
  mounts?: Array<{ destination?: string; type?: string; source?: string; options?: string[] }>;
  linux?: {
    cgroupsPath?: string;
    namespaces?: Array<{ type?: string }>;
    resources?: { cpu?: { cpus?: string; mems?: string } };
  };
}

/** The directory a container created from `spec` may share in cpuset and name=systemd, or undefined. */
export function sharedCgroup(spec: object): string | undefined {
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
  return `${parent}/${SHARED}`;
}

/** The name of the shared directory under a cgroup parent: no container id looks like it. */
const SHARED = 'berth-shared';

/**
 * How berth-crun shows crun, creating a container from `spec`, its copy of /proc/self/cgroup
 * (BERTH_CRUN_COPY: without the hybrid host's v2 line, whose directory crun would otherwise
 * leave on the host's tmpfs, and the shared hierarchies'): `userns` for a container in a user
 * namespace, whose new proc mount the kernel refuses unless a view of proc that covers nothing
 * is left beside the copy's bind (berth-crun.c), else `1`.
 */
export function cgroupCopy(spec: object): '1' | 'userns' {
  return (spec as SpecForShare).linux?.namespaces?.some((n) => n.type === 'user') ? 'userns' : '1';
}

/**
 * The spec's cgroup mount (crun's: a tmpfs of its own, the container's directory of each v1
 * hierarchy bound into it) as binds: the shared read-only tree (crun.ts's `shareCgroupTree`)
 * at /sys/fs/cgroup, then each of its hierarchies (directory names under /sys/fs/cgroup) from the container's directory — or `shared` (`sharedCgroup`'s) for cpuset
 * and name=systemd when it shares them — read-only, as crun would bind them. crun makes the
 * directories before the container's init mounts anything. Only for what `sharedCgroup`
 * would accept but a cpuset (a read-only cgroup mount, no cgroup namespace, a cgroupfs path);
 * false (the spec untouched) otherwise.
 */
export function bindCgroupMounts(
  spec: object,
  tree: { at: string; hierarchies: readonly string[] },
  shared: string | undefined,
): boolean {
  const s = spec as SpecForShare;
  const path = s.linux?.cgroupsPath;
  if (!path || !path.startsWith('/') || path.includes(':') || !s.mounts) return false;
  if (s.linux?.namespaces?.some((n) => n.type === 'cgroup')) return false;
  const i = s.mounts.findIndex((m) => m.destination === '/sys/fs/cgroup');
  const m = s.mounts[i];
  if (!m || m.type !== 'cgroup' || !m.options?.includes('ro')) return false;
  const options = ['bind', 'ro', 'nosuid', 'noexec', 'nodev'];
  const own = posix.normalize(path);
  s.mounts.splice(
    i,
    1,
    { destination: '/sys/fs/cgroup', type: 'bind', source: tree.at, options },
    ...tree.hierarchies.map((h) => ({
      destination: `/sys/fs/cgroup/${h}`,
      type: 'bind',
      source: `/sys/fs/cgroup/${h}${shared && (h === 'cpuset' || h === 'systemd') ? shared : own}`,
      options,
    })),
  );
  return true;
}

/**
 * The shared directory beside a container's own in a v1 hierarchy (`/sys/fs/cgroup/memory/berth/<id>`
 * → `/berth/berth-shared`), or undefined (no directory, cgroup v2, a container at the root).
 */
export function sharedBeside(dir: string | undefined): string | undefined {
  const m = dir && /^\/sys\/fs\/cgroup\/[^/]+(\/.+)\/[^/]+$/.exec(dir);
  return m ? `${m[1]}/${SHARED}` : undefined;
}

/**
 * Gives a running container that shares its cpuset a directory of its own there, its
 * processes moved in (`update --cpuset-cpus` then writes it). `paths` are its directories by
 * hierarchy (crun's state's path); nothing to do on cgroup v2 or when the directory exists.
 * The new directory starts with its parent's CPUs and memory nodes (a v1 cpuset starts empty,
 * and nothing can join an empty one); the processes are those of one of its other directories
 * (memory, pids or freezer hold them all), and those that fork meanwhile are caught by reading
 * the list again until nothing is left behind.
 */
export async function ensureOwnCpuset(paths: Record<string, string> | undefined): Promise<void> {
  const cpuset = paths?.cpuset;
  const procsOf = paths && (paths.memory ?? paths.pids ?? paths.freezer);
  if (!cpuset || !procsOf || existsSync(cpuset)) return;
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
