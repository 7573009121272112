/**
 * Adapts the runc + conmon driver (`runtime/`) to what the container service needs, and adds
 * `docker top`'s process table (host `ps`, filtered to the container's pids, as dockerd does).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/index.ts';
import { RuncRuntime } from '../runtime/index.ts';
import type { ContainerRuntime, ExitInfo, LogReadOptions } from '../services/containers/index.ts';
import type { ExecRuntime } from '../services/exec/index.ts';
import { invalidArgument } from '../errdefs/index.ts';

/**
 * `--default-runtime`: `runc`, or `crun` (run through the berth-crun wrapper, which lets it work
 * on hybrid cgroup hosts), or a path to a runc-compatible runtime.
 */
export function runtimePath(name: string): string {
  if (name === 'crun') return CRUN_WRAPPER;
  return name;
}

const CRUN_WRAPPER = join(import.meta.dirname, '..', '..', 'build', 'berth-crun');

/** The runtime when none was asked for: crun (and its wrapper) if installed, else runc. */
export function defaultRuntimeName(): string {
  return existsSync(CRUN_WRAPPER) && existsSync(process.env.BERTH_CRUN || '/usr/bin/crun') ? 'crun' : 'runc';
}

export async function createRuntime(
  host: Host,
  execRoot: string,
  runtimeName = 'runc',
): Promise<ContainerRuntime & ExecRuntime> {
  const rt = new RuncRuntime({ host, root: execRoot, runtimePath: runtimePath(runtimeName) });
  await rt.init?.();
  const listeners: Array<(e: ExitInfo) => void> = [];
  rt.exits.on('exit', (e: ExitInfo) => {
    for (const l of listeners) l(e);
  });
  return {
    create: (c) => rt.create(c),
    start: (id) => rt.start(id),
    openStdin: (id) => rt.openStdin(id),
    exec: (o) => rt.exec(o),
    openExecStdin: (sessionId) => rt.openStdin(sessionId),
    resizeIn: (dir, h, w, what, notRunning) => rt.resizeIn(dir, h, w, what, notRunning),
    resize: (id, h, w) => rt.resize(id, h, w),
    exists: (id) => rt.exists(id),
    kill: (id, signal, all) => rt.kill(id, signal, all),
    delete: (id, force) => rt.delete(id, force),
    pause: (id) => rt.pause(id),
    resume: (id) => rt.resume(id),
    ps: (id) => rt.ps(id),
    isAlive: (id) => rt.isAlive(id),
    readExit: (id) => rt.readExit(id),
    onExit: (fn) => listeners.push(fn),
    readLogs: (path: string, opts: LogReadOptions) => rt.readLogs(path, opts),
    stats: (id) => rt.stats(id),
    update: (id, resources) => rt.update(id, resources),
    close: () => rt.close(),
    topTable: async (psArgs, pids) => {
      const args = psArgs.trim().split(/\s+/).filter(Boolean);
      const r = await host.run('ps', args, { allowFailure: true });
      if (r.code !== 0) throw invalidArgument(`ps: ${r.stderr.trim()}`);
      return parsePs(r.stdout, pids);
    },
  };
}

/** Splits `ps` output into titles and rows, keeping rows whose PID is the container's. */
export function parsePs(out: string, pids: ReadonlySet<number>): { Titles: string[]; Processes: string[][] } {
  const lines = out.split('\n').filter((l) => l.trim());
  const Titles = lines[0]!.trim().split(/\s+/);
  const pidCol = Titles.indexOf('PID');
  if (pidCol < 0) throw invalidArgument(`Couldn't find PID field in ps output`);
  const Processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    // The last column (the command) may contain spaces: glue the rest back together.
    const row = [...fields.slice(0, Titles.length - 1), fields.slice(Titles.length - 1).join(' ')];
    if (pids.has(Number(row[pidCol]))) Processes.push(row);
  }
  return { Titles, Processes };
}
