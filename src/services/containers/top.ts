/**
 * `docker top`: the host's `ps` with the caller's options, filtered to the container's
 * processes, as dockerd does it (so every `ps` option works, and the columns are `ps`'s own) —
 * except for runtimes whose processes are not the host's (gVisor, a VM), which list them
 * themselves.
 */
import { invalidArgument } from '../../errdefs/index.ts';
import type { Host } from '../../host/index.ts';
import type { ContainerContext } from './context.ts';
import { guard } from './state.ts';
import type { ContainerRecord } from './types.ts';

export interface ProcessTable {
  Titles: string[];
  Processes: string[][];
}

/** `GET /containers/{id}/top`: the processes of the running container `c`, `ps <psArgs>`'s columns. */
export async function containerTop(ctx: ContainerContext, c: ContainerRecord, psArgs: string): Promise<ProcessTable> {
  guard.top(c.Id, c.State);
  const rt = ctx.runtime(c);
  // gVisor's and a VM's processes are not the host's: the runtime lists them itself.
  if (rt.processes) {
    if (psArgs.trim() !== '-ef')
      throw invalidArgument(
        `top container "${c.Name.replace(/^\//, '')}": runtime ${ctx.d.runtimes.nameOf(c)} lists its processes itself: ps options are not supported`,
      );
    return rt.processes(c.Id);
  }
  // The runtime's list of pids and the host's `ps` at once: one spawn's time rather than two
  // in a row (`top` 84 ms against dockerd's 63 at load ~6, both spawns). A process forked
  // while they run may be missed either way, as it was one after the other. The runtime's
  // failure (the container just exited) wins over a bad `ps` option, as before.
  const [pids, ps] = await Promise.allSettled([rt.ps(c.Id), runPs(ctx.d.host, psArgs)]);
  if (pids.status === 'rejected') throw pids.reason;
  if (ps.status === 'rejected') throw ps.reason;
  return parsePs(ps.value, new Set(pids.value));
}

/** `ps <psArgs>`'s output; a bad option is the caller's error. */
async function runPs(host: Host, psArgs: string): Promise<string> {
  const args = psArgs.trim().split(/\s+/).filter(Boolean);
  const r = await host.run('ps', args, { allowFailure: true });
  // ps's first line says what is wrong; the rest is its usage text, which dockerd leaves out.
  if (r.code !== 0) throw invalidArgument(`ps: ${r.stderr.trim().split('\n', 1)[0]}`);
  return r.stdout;
}

/** Splits `ps` output into titles and rows, keeping rows whose PID is the container's. */
export function parsePs(out: string, pids: ReadonlySet<number>): ProcessTable {
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
