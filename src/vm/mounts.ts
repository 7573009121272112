/**
 * The parts of a VM's creation that read the container's root file system on the host: where
 * each bind goes inside it (resolved as a chrooted process would, so a symlink planted in the
 * image cannot send a volume elsewhere on the host), and whether the command exists — runc
 * refuses a missing executable at create, before anything runs, and so does berth-vm, before a
 * VM boots for nothing.
 */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { resolveInRoot } from '../archive/index.ts';
import { invalidArgument, notFound } from '../errdefs/index.ts';
import type { VmProcess, VmSpec } from './config.ts';
import { mountsInGuest, type HostBind } from './plan.ts';

/** The spec's binds, their targets resolved inside `rootfs` and made (a file for a file, else a directory). */
export async function prepareBinds(spec: VmSpec, rootfs: string): Promise<HostBind[]> {
  const out: HostBind[] = [];
  for (const m of spec.mounts) {
    if (mountsInGuest(m)) continue;
    const target = await resolveInRoot(rootfs, m.destination.replace(/^\/+/, ''));
    if (target === undefined)
      throw invalidArgument(`mount ${m.destination}: a component on the way is not a directory`);
    const st = await fs.stat(m.source).catch(() => undefined);
    if (!st) throw notFound(`mount ${m.destination}: source ${m.source}: no such file or directory`);
    const there = await fs.lstat(target).catch(() => undefined);
    if (!there) {
      await fs.mkdir(st.isDirectory() ? target : dirname(target), { recursive: true });
      if (!st.isDirectory()) await fs.writeFile(target, '', { flag: 'a' });
    }
    out.push({
      source: m.source,
      target,
      readonly: m.options.includes('ro'),
      recursive: m.options.includes('rbind'),
    });
  }
  return out;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Why the process could not be executed, in runc's words (`exec: "x": executable file not
 * found in $PATH`), or undefined when it can be. Paths resolve inside `rootfs`.
 */
export async function execProblem(p: VmProcess, rootfs: string): Promise<string | undefined> {
  const arg0 = p.args[0]!;
  const isExec = async (rel: string) => {
    const real = await resolveInRoot(rootfs, rel.replace(/^\/+/, '')).catch(() => undefined);
    const st = real ? await fs.stat(real).catch(() => undefined) : undefined;
    return st;
  };
  if (arg0.includes('/')) {
    const abs = arg0.startsWith('/') ? arg0 : join(p.cwd, arg0);
    const st = await isExec(abs);
    if (!st) return `exec: "${arg0}": stat ${arg0}: no such file or directory`;
    if (st.isDirectory()) return `exec: "${arg0}": is a directory`;
    if (!(st.mode & 0o111)) return `exec: "${arg0}": permission denied`;
    return undefined;
  }
  const path = p.env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  for (const dir of path.split(':')) {
    const st = await isExec(join(dir || p.cwd, arg0));
    if (st && st.isFile() && st.mode & 0o111) return undefined;
  }
  return `exec: "${arg0}": executable file not found in $PATH`;
}
