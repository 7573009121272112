/**
 * `berth-vm`, the micro-VM runtime (src/vm), as a runtime driver: runc's command line, so the
 * runc/monitor driver runs it as it is; only the processes differ. On the host a VM container
 * is its shim, qemu and virtiofsd; its own processes are in the guest, and `berth-vm ps`
 * (the agent's list) names them for `docker top`.
 *
 * @example
 *   const rt = new BerthVmRuntime({ host, root: '/run/berth/runtimes/berth-vm', runtimePath: 'bin/berth-vm' });
 *   await rt.processes(id); // { Titles: ['UID', 'PID', ...], Processes: [['0', '1', '0', ...]] }
 */
import { RuncRuntime } from './runc.ts';
import { runcFailure } from './failures.ts';
import { parsePsTable } from './pstable.ts';
import type { ProcessList } from './roles.ts';

export class BerthVmRuntime extends RuncRuntime {
  /** The guest sees the root through its share: a FIFO made inside is not one the host can open. */
  readonly privateRoot = true;

  /** The guest's processes, in `ps -ef`'s columns, as the agent in the VM lists them. */
  async processes(id: string): Promise<ProcessList> {
    await this.init();
    const r = await this.runRuntime(this.runcArgs('ps', '--format', 'table', id));
    if (r.code !== 0) throw runcFailure('list processes of', id, r.stderr);
    return parsePsTable(r.stdout, 'berth-vm ps');
  }
}
