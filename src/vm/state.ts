/**
 * A berth-vm container's state directory, `<root>/<id>/`, laid out as runc lays out its own:
 * `state.json` with the fields of runc 1.x that readers use (`init_process_pid` — here the
 * shim —, `init_process_start`, `created`, `cgroup_paths`, the bundle label, the pid
 * namespace), and `exec.fifo` from create until start. So whatever reads runc's state without
 * spawning runc (Berth's driver does, on every start and state query) reads berth-vm's too.
 * What is berth-vm's own sits under `berth_vm`.
 *
 * Status, as runc derives it: stopped when the shim is gone (or its pid was reused), paused when
 * its freezer cgroup is frozen, created while exec.fifo exists, running otherwise.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { notFound } from '../errdefs/index.ts';

export type VmStatus = 'created' | 'running' | 'paused' | 'stopped';

export interface VmState {
  id: string;
  /** The shim: the container's process as the host sees it. */
  pid: number;
  /** Its start time in clock ticks since boot (field 22 of /proc/<pid>/stat), against pid reuse. */
  startTime: number;
  bundle: string;
  rootfs: string;
  created: string;
  cgroupPaths: Record<string, string>;
  /** `new` (the shim's own, handed to the guest at start) or the path of one it joined. */
  netns: string;
  /** The guest kernel's release, as the agent reported it. */
  release: string;
  accel: string;
  memoryMiB: number;
  cpus: number;
}

export const STATE_FILE = 'state.json';
export const EXEC_FIFO = 'exec.fifo';

export function validId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/.test(id);
}

export function stateDir(root: string, id: string): string {
  if (!validId(id)) throw notFound(`container "${id}" does not exist`);
  return join(root, id);
}

/** state.json's text: runc's field names, berth-vm's own under `berth_vm`. */
export function formatState(s: VmState): string {
  return JSON.stringify({
    id: s.id,
    init_process_pid: s.pid,
    init_process_start: s.startTime,
    created: s.created,
    cgroup_paths: s.cgroupPaths,
    config: {
      rootfs: s.rootfs,
      labels: [`bundle=${s.bundle}`],
      namespaces: [{ type: 'NEWPID' }],
    },
    berth_vm: {
      netns: s.netns,
      release: s.release,
      accel: s.accel,
      memory_mib: s.memoryMiB,
      cpus: s.cpus,
    },
  });
}

export function parseState(text: string): VmState {
  const raw = JSON.parse(text) as {
    id: string;
    init_process_pid: number;
    init_process_start: number;
    created: string;
    cgroup_paths?: Record<string, string>;
    config?: { rootfs?: string; labels?: string[] };
    berth_vm?: { netns?: string; release?: string; accel?: string; memory_mib?: number; cpus?: number };
  };
  const bundle = raw.config?.labels?.find((l) => l.startsWith('bundle='))?.slice(7) ?? '';
  return {
    id: raw.id,
    pid: raw.init_process_pid,
    startTime: raw.init_process_start,
    bundle,
    rootfs: raw.config?.rootfs ?? '',
    created: raw.created,
    cgroupPaths: raw.cgroup_paths ?? {},
    netns: raw.berth_vm?.netns ?? 'new',
    release: raw.berth_vm?.release ?? '',
    accel: raw.berth_vm?.accel ?? '',
    memoryMiB: raw.berth_vm?.memory_mib ?? 0,
    cpus: raw.berth_vm?.cpus ?? 0,
  };
}

/** The state of `id`; NotFound ("does not exist", runc's words) when there is none. */
export async function readState(root: string, id: string): Promise<VmState> {
  const text = await fs.readFile(join(stateDir(root, id), STATE_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) throw notFound(`container "${id}" does not exist`);
  return parseState(text);
}

/** Replaces state.json atomically, as runc does. */
export async function writeState(dir: string, s: VmState): Promise<void> {
  const tmp = join(dir, `.${STATE_FILE}.tmp`);
  await fs.writeFile(tmp, formatState(s), { mode: 0o600 });
  await fs.rename(tmp, join(dir, STATE_FILE));
}

/** Field 22 of /proc/<pid>/stat (start time) and field 3 (state); undefined if there is no such process. */
export async function procStart(pid: number): Promise<{ state: string; startTime: number } | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const data = await fs.readFile(`/proc/${pid}/stat`, 'latin1').catch(() => undefined);
  if (!data) return undefined;
  const fields = data.slice(data.lastIndexOf(')') + 2).split(' ');
  const startTime = Number(fields[19]);
  return fields[0] && Number.isFinite(startTime) ? { state: fields[0], startTime } : undefined;
}

/** Is the shim the one create started, and not a zombie? */
export async function shimAlive(s: Pick<VmState, 'pid' | 'startTime'>): Promise<boolean> {
  const st = await procStart(s.pid);
  return !!st && st.startTime === s.startTime && st.state !== 'Z' && st.state !== 'X';
}

async function frozen(paths: Record<string, string>): Promise<boolean> {
  if (paths.freezer) {
    const st = await fs.readFile(join(paths.freezer, 'freezer.state'), 'utf8').catch(() => '');
    return st.trim() === 'FROZEN' || st.trim() === 'FREEZING';
  }
  if (paths['']) return (await fs.readFile(join(paths[''], 'cgroup.freeze'), 'utf8').catch(() => '0')).trim() === '1';
  return false;
}

export async function statusOf(dir: string, s: VmState): Promise<VmStatus> {
  if (!(await shimAlive(s))) return 'stopped';
  if (await frozen(s.cgroupPaths)) return 'paused';
  const fifo = await fs.lstat(join(dir, EXEC_FIFO)).then(
    () => true,
    () => false,
  );
  return fifo ? 'created' : 'running';
}
