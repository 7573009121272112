/**
 * Talking to a warm sandbox's berth-zygote (berth-zygote.c), which the sandbox's making
 * started and which waits on its FIFO in the sandbox's root: 'c' at the hand-over (its command
 * is written), 'g' at the container's start (exec it). The container's start is then one
 * write, where it was the runtime's init released at its exec FIFO and two execs.
 *
 * Each byte is four system calls on the event loop, none of which can block, as runtime/start.ts's
 * release of crun's FIFO: a non-blocking open for writing (ENXIO when nobody reads: the zygote
 * is gone), a check that it is a FIFO (never a file or device of the image's), one byte, close.
 * The open never follows a link: an image's own path there could point anywhere on the host.
 */
import { closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition, internal } from '../../errdefs/index.ts';
import { ZYGOTE_GO } from './poolfit.ts';
import { openFifoWriter } from '../../fs/index.ts';

/** What berth-zygote waits for: its command is written ('c'), the container starts ('g'). */
export type ZygoteByte = 'c' | 'g';

/**
 * Writes `byte` to the zygote of the container `id` (its directory `dir`). False when there is
 * no FIFO (a sandbox its making did not start: see `startsZygote`); throws when nobody waits on it.
 */
export function tellZygote(dir: string, id: string, byte: ZygoteByte): boolean {
  const what = byte === 'g' ? 'start' : 'hand over';
  const fd = openFifo(dir);
  if (fd === 'ENOENT') return false;
  if (typeof fd === 'string')
    throw failedPrecondition(
      `${what} container "${id}": ${fd === 'ENXIO' ? 'container process is already dead' : `its zygote's FIFO: ${fd}`}`,
    );
  try {
    writeSync(fd, byte === 'g' ? GO : CMD);
  } catch (e) {
    throw internal(`${what} container "${id}": write the zygote's FIFO: ${(e as Error).message}`, e);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Whether a sandbox's making starts its zygote (which then waits on its FIFO): only where the
 * host reaches into the task's root as its process sees it, so that the FIFO the zygote makes
 * there is one berthd can open — runc's and crun's tasks, not gVisor's or a micro-VM's
 * (TaskLifecycle.privateRoot). Those keep the zygote at the runtime's exec FIFO until the start.
 */
export function startsZygote(runtime: { privateRoot?: boolean }): boolean {
  return !runtime.privateRoot;
}

/**
 * Settles once the zygote of a sandbox just started waits on its FIFO (its exec, a few ms,
 * more at the pool's lower priority on a busy machine); rejects if its process `pid` ends
 * first or `timeoutMs` passes. A ready sandbox's hand-over and start then never wait for it.
 */
export async function zygoteReady(dir: string, pid: number, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
    const fd = openFifo(dir);
    if (typeof fd === 'number') return closeSync(fd);
    if (fd !== 'ENOENT' && fd !== 'ENXIO') throw new Error(`its zygote's FIFO: ${fd}`);
    if (!alive(pid)) throw new Error('its zygote ended before it was ready');
    if (Date.now() > until) throw new Error('its zygote was not ready in time');
    await new Promise((r) => setTimeout(r, wait));
  }
}

const CMD = Buffer.from('c');
const GO = Buffer.from('g');

/** The zygote's FIFO open for writing, or why not (an errno code, or "not a FIFO"). */
function openFifo(dir: string): number | string {
  const fd = openFifoWriter(join(dir, 'rootfs', ZYGOTE_GO));
  return typeof fd === 'number' ? fd : fd.code;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
