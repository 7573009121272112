/**
 * Signalling a container without spawning its runtime: `kill` is on the hot path of every stop,
 * and most of the time runc would only look up the init's pid in its state file and call
 * kill(2) — which the driver can do itself from the state file it has read. Where that is not
 * enough (a frozen container, which runc thaws for SIGKILL; `--all` in a shared pid namespace,
 * where the rest must be found in the cgroup), the caller runs the runtime's `kill`.
 */
import { internal, notFound } from '../errdefs/index.ts';
import { initAlive, isFrozen, ownsPidNamespace, type RuncStateFile } from './state.ts';

const SIGKILL = 9;

/**
 * Sends signal `num` to the container of state `s` (held in `runcRoot`) the way runc would,
 * when that needs no runtime: one process, or all of them when killing the init of a pid
 * namespace of its own (the kernel then kills the rest). True when sent; false when the
 * runtime must do it. Throws NotFound when the process is gone.
 */
export async function signalWithoutRuntime(
  runcRoot: string,
  id: string,
  s: RuncStateFile,
  num: number,
  all: boolean,
): Promise<boolean> {
  if (all && !(num === SIGKILL && (await ownsPidNamespace(runcRoot, s)))) return false;
  if (!(await initAlive(s))) throw notFound(`kill container "${id}": container is not running`);
  if (await isFrozen(s)) return false;
  try {
    process.kill(s.pid, num);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH')
      throw notFound(`kill container "${id}": container is not running`, e);
    throw internal(`kill container "${id}": ${(e as Error).message}`, e);
  }
}
