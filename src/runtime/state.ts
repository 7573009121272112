/**
 * What runc knows about a container, read from its state directory (`<root>/<id>/state.json`,
 * which runc replaces atomically) and /proc, the way runc itself derives a status — without
 * spawning runc. A container's status is:
 *   stopped  its init process is gone, a zombie, or a different process now has its pid
 *            (the start time in /proc/<pid>/stat differs from the one runc recorded);
 *   paused   its freezer cgroup is frozen;
 *   created  `exec.fifo` still exists (init waits on it for `runc start`);
 *   running  otherwise.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * Every file here is read on the event loop: /proc and cgroup files are made by the kernel on
 * the spot, and the runtime's state directory lives under the exec root (a tmpfs, /run/berth):
 * no read waits for a disk, while an asynchronous one takes four trips through the thread pool.
 * A daemon restoring a thousand containers, or `docker stats` over them, made those trips
 * by the thousand, for seconds.
 */
const readText = async (path: string, encoding: BufferEncoding = 'utf8'): Promise<string> =>
  readFileSync(path, encoding);

export type ContainerStatus = 'created' | 'running' | 'paused' | 'stopped';

/** The parts of runc's state.json that stay fixed for a container's life. */
export interface RuncStateFile {
  id: string;
  pid: number;
  /** Start time of the init process, in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTime: number;
  bundle: string;
  created?: Date;
  /** Controller (`memory`, `freezer`, ... and `""` for the cgroup v2 unified hierarchy) → path. */
  cgroupPaths: Record<string, string>;
  /**
   * Does the container have a pid namespace of its own (killing init kills everything)?
   * Undefined until read, for crun's (`ownsPidNamespace`).
   */
  ownPidNamespace?: boolean;
}

interface RawState {
  id?: string;
  init_process_pid?: number;
  init_process_start?: number;
  created?: string;
  cgroup_paths?: Record<string, string>;
  config?: {
    labels?: string[];
    namespaces?: Array<{ type?: string; path?: string }>;
  };
}

/** Reads `<runcRoot>/<id>/state.json`; undefined when runc has no such container. Throws if the file is not what runc 1.x writes. */
export async function readStateFile(runcRoot: string, id: string): Promise<RuncStateFile | undefined> {
  const missing = (e: unknown) =>
    (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR';
  const dir = join(runcRoot, id);
  try {
    // A stat first: a missing file's thrown error costs more, and crun's directory never has one.
    if (existsSync(join(dir, 'state.json'))) return parseStateFile(await readText(join(dir, 'state.json'), 'utf8'));
    // Not runc's: crun keeps a `status` file and a copy of the spec in its state directory. The
    // spec (~10 kB, read for its pid namespace alone) waits until a kill needs it
    // (`ownsPidNamespace`): a live restore read a thousand of them, 10 MB of garbage.
    return parseCrunStatus(id, await readText(join(dir, 'status'), 'utf8'));
  } catch (e) {
    if (missing(e)) return undefined;
    throw e;
  }
}

/** The v1 controllers whose directories the driver reads (freezer state, memory OOM counts). */
const V1_CONTROLLERS = ['freezer', 'memory', 'pids', 'cpu', 'cpuacct', 'blkio', 'devices', 'cpuset'];

/**
 * crun's `status` file, as the fields runc's state has; whether the container has a pid
 * namespace of its own is in crun's copy of its spec, read when needed (`ownsPidNamespace`).
 */
export function parseCrunStatus(id: string, statusText: string, cgroupV2 = isCgroupV2()): RuncStateFile {
  const raw = JSON.parse(statusText) as {
    pid?: number;
    'process-start-time'?: number;
    'cgroup-path'?: string;
    bundle?: string;
    created?: string;
  };
  if (typeof raw.pid !== 'number' || typeof raw['process-start-time'] !== 'number')
    throw new Error('unrecognised crun status file');
  const cgroupPaths = cgroupPathsOf(raw['cgroup-path'] ?? '', cgroupV2);
  return {
    id,
    pid: raw.pid,
    startTime: raw['process-start-time'],
    bundle: raw.bundle ?? '',
    created: raw.created ? new Date(raw.created) : undefined,
    cgroupPaths,
  };
}

/** Whether a spec (its JSON text) gives the container a pid namespace of its own, not another's. */
export function specOwnsPidNamespace(configText: string): boolean {
  const pidNs = namespacesOf(configText).find((n) => n.type === 'pid');
  return !!pidNs && !pidNs.path;
}

/**
 * Whether the container has a pid namespace of its own (killing its init kills everything):
 * runc's state says; for crun's, its copy of the spec is read the first time and remembered.
 */
export async function ownsPidNamespace(runcRoot: string, s: RuncStateFile): Promise<boolean> {
  s.ownPidNamespace ??= specOwnsPidNamespace(
    await readText(join(runcRoot, s.id, 'config.json'), 'utf8').catch(() => '{}'),
  );
  return s.ownPidNamespace;
}

/**
 * The directories of a cgroup path relative to the root (a spec's `cgroupsPath`), by controller
 * as runc's state names them. The path is normalised once and each controller's directory is
 * that path behind the controller's: `join` of the three parts made each a string of its own
 * out of slices of the joined text, 3.6 kB a container for cgroup v1's eight, kept in the
 * runtime's cache for every container (0.9 kB so).
 */
export function cgroupPathsOf(cg: string, cgroupV2 = isCgroupV2()): Record<string, string> {
  const cgroupPaths: Record<string, string> = {};
  if (cg) {
    // Absolute, as join('/sys/fs/cgroup', c, cg) makes it (a trailing slash kept).
    const rel = posix.join('/', cg);
    if (cgroupV2) cgroupPaths[''] = `/sys/fs/cgroup${rel}`;
    else for (const c of V1_CONTROLLERS) cgroupPaths[c] = `/sys/fs/cgroup/${c}${rel}`;
  }
  return cgroupPaths;
}

/**
 * The spec's `linux.namespaces`: only that array is parsed when it can be cut out (its entries
 * are flat objects), not the whole spec with its seccomp profile — a live restore reads this
 * for every running container.
 */
function namespacesOf(configText: string): Array<{ type?: string; path?: string }> {
  const m = /"namespaces"\s*:\s*(\[[^\[\]]*\])/.exec(configText);
  if (m) {
    try {
      return JSON.parse(m[1]!) as Array<{ type?: string; path?: string }>;
    } catch {
      // not flat after all: the whole spec below
    }
  }
  const spec = JSON.parse(configText) as { linux?: { namespaces?: Array<{ type?: string; path?: string }> } };
  return spec.linux?.namespaces ?? [];
}

let v2: boolean | undefined;
function isCgroupV2(): boolean {
  v2 ??= existsSync('/sys/fs/cgroup/cgroup.controllers');
  return v2;
}

export function parseStateFile(text: string): RuncStateFile {
  const raw = JSON.parse(text) as RawState;
  if (
    typeof raw.init_process_pid !== 'number' ||
    typeof raw.init_process_start !== 'number' ||
    typeof raw.id !== 'string'
  ) {
    throw new Error('unrecognised runc state.json');
  }
  const bundleLabel = raw.config?.labels?.find((l) => l.startsWith('bundle='));
  const pidNs = raw.config?.namespaces?.find((n) => n.type === 'NEWPID');
  return {
    id: raw.id,
    pid: raw.init_process_pid,
    startTime: raw.init_process_start,
    bundle: bundleLabel ? bundleLabel.slice('bundle='.length) : '',
    created: raw.created ? new Date(raw.created) : undefined,
    cgroupPaths: raw.cgroup_paths ?? {},
    ownPidNamespace: !!pidNs && !pidNs.path,
  };
}

export interface ProcStat {
  state: string;
  startTime: number;
}

/** Fields 3 (state) and 22 (start time) of /proc/<pid>/stat; undefined if there is no such process. */
export async function procStat(pid: number): Promise<ProcStat | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let data: string;
  try {
    // As UTF-8, not latin1: only UTF-8 has Node's one-call read for a file of unknown size (the
    // kernel says 0); latin1 went through growing buffers and their concatenation, which a
    // restore of a thousand containers paid for in garbage collection. A command name that is
    // not UTF-8 cannot make a ')' and the fields read are after the last one.
    data = await readText(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStat(data);
}

export function parseProcStat(data: string): ProcStat | undefined {
  // The name (field 2) is in parentheses and may hold spaces and parentheses: skip to the last ')'.
  const close = data.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = data.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); field 22 is fields[19].
  const startTime = Number(fields[19]);
  if (!fields[0] || !Number.isFinite(startTime)) return undefined;
  return { state: fields[0], startTime };
}

/** Is the container's init process still the one runc started (not gone, not a zombie, pid not reused)? */
export async function initAlive(s: RuncStateFile): Promise<boolean> {
  const st = await procStat(s.pid);
  return !!st && st.startTime === s.startTime && st.state !== 'Z' && st.state !== 'X';
}

/** Is the container's freezer cgroup frozen (by itself, not by an ancestor)? */
export async function isFrozen(s: RuncStateFile): Promise<boolean> {
  const v1 = s.cgroupPaths.freezer;
  if (v1) {
    const state = await readText(join(v1, 'freezer.state'), 'utf8').catch(() => '');
    if (state.trim() !== 'FROZEN' && state.trim() !== 'FREEZING') return false;
    const self = await readText(join(v1, 'freezer.self_freezing'), 'utf8').catch(() => '1');
    return self.trim() !== '0';
  }
  const v2 = s.cgroupPaths[''];
  if (v2) return (await readText(join(v2, 'cgroup.freeze'), 'utf8').catch(() => '0')).trim() === '1';
  return false;
}

export async function statusOf(runcRoot: string, s: RuncStateFile): Promise<ContainerStatus> {
  if (!(await initAlive(s))) return 'stopped';
  if (await isFrozen(s)) return 'paused';
  return existsSync(join(runcRoot, s.id, 'exec.fifo')) ? 'created' : 'running';
}

/**
 * The processes in a container's cgroup and the cgroups beneath it (what `runc ps` and `crun
 * ps` print, and containerd's task list), read from `cgroup.procs` rather than by starting
 * the runtime: the pids hierarchy's on cgroup v1 (a directory the container does not share,
 * unlike cpuset and name=systemd), the unified one on v2. Undefined when the state names no
 * cgroup or it is gone.
 */
export async function cgroupPids(cgroupPaths: Record<string, string>): Promise<number[] | undefined> {
  const top = cgroupPaths.pids ?? cgroupPaths.memory ?? cgroupPaths[''];
  if (!top) return undefined;
  const pids: number[] = [];
  const walk = async (dir: string): Promise<boolean> => {
    const [procs, entries] = await Promise.all([
      fs.readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => undefined),
      fs.readdir(dir, { withFileTypes: true }).catch(() => []),
    ]);
    if (procs === undefined) return false;
    for (const line of procs.split('\n')) if (line) pids.push(Number(line));
    await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => walk(join(dir, e.name))));
    return true;
  };
  return (await walk(top)) ? pids : undefined;
}
