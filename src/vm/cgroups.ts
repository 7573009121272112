/**
 * A VM's host cgroups: the shim joins the container's cgroup (the spec's `cgroupsPath`), so
 * qemu and virtiofsd are in it too. They are for accounting and freezing — `docker stats`
 * reads what the VM costs the host, `pause` freezes the whole VM — not for limits: the
 * container's limits are the VM's size (see plan.ts), enforced by the guest.
 *
 * Lifecycle: `makeCgroups` at create, `freeze` for pause/resume, `removeCgroups` at delete,
 * once the shim and its children are gone. Paths are keyed as runc's state.json keys them:
 * by v1 controller, or `""` for the v2 unified hierarchy.
 */
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { internal } from '../errdefs/index.ts';

const CGROUP_ROOT = '/sys/fs/cgroup';
const V1 = ['cpu', 'cpuacct', 'memory', 'pids', 'freezer', 'blkio'];

/** Where a cgroups path lives under each hierarchy of this host. */
export function cgroupPaths(cgroupsPath: string, root = CGROUP_ROOT): Record<string, string> {
  const rel = cgroupsPath.replace(/^\/+/, '');
  if (!rel || rel.split('/').includes('..')) throw internal(`invalid cgroups path ${JSON.stringify(cgroupsPath)}`);
  if (existsSync(join(root, 'cgroup.controllers'))) return { '': join(root, rel) };
  const out: Record<string, string> = {};
  for (const c of V1) if (existsSync(join(root, c))) out[c] = join(root, c, rel);
  return out;
}

/** Makes the directories; returns the distinct ones to join (v1 controllers may share a hierarchy). */
export async function makeCgroups(paths: Record<string, string>): Promise<string[]> {
  const seen = new Map<string, string>();
  for (const p of Object.values(paths)) {
    await fs.mkdir(p, { recursive: true });
    const real = await fs.realpath(p);
    if (!seen.has(real)) seen.set(real, p);
  }
  return [...seen.values()];
}

/** Removes the directories once empty (the kernel refuses while a process is in one). */
export async function removeCgroups(paths: Record<string, string>): Promise<void> {
  for (const p of new Set(Object.values(paths))) {
    for (let i = 0; i < 50; i++) {
      try {
        await fs.rmdir(p);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || i === 49) throw internal(`remove cgroup ${p}: ${(e as Error).message}`, e);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** Freezes (or thaws) every process of the cgroup, and waits until the kernel says it is done. */
export async function freeze(paths: Record<string, string>, on: boolean): Promise<void> {
  const v1 = paths.freezer;
  const v2 = paths[''];
  if (!v1 && !v2) throw internal('no freezer cgroup');
  for (let i = 0; i < 200; i++) {
    if (v1) {
      await fs.writeFile(join(v1, 'freezer.state'), on ? 'FROZEN' : 'THAWED');
      const st = (await fs.readFile(join(v1, 'freezer.state'), 'utf8')).trim();
      if (st === (on ? 'FROZEN' : 'THAWED')) return;
    } else {
      await fs.writeFile(join(v2!, 'cgroup.freeze'), on ? '1' : '0');
      const events = await fs.readFile(join(v2!, 'cgroup.events'), 'utf8');
      if (events.includes(`frozen ${on ? 1 : 0}`)) return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw internal(`the cgroup did not ${on ? 'freeze' : 'thaw'} in 2 seconds`);
}

/** The host pids in the cgroup (the shim, virtiofsd, qemu). */
export async function pidsOf(paths: Record<string, string>): Promise<number[]> {
  const dir = paths.pids ?? paths.memory ?? paths[''] ?? Object.values(paths)[0];
  if (!dir) return [];
  const text = await fs.readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b);
}
