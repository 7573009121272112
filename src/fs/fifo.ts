/**
 * A FIFO opened for writing one byte to whoever waits on it, without ever blocking the event
 * loop: with O_NONBLOCK the open fails at once with ENXIO when nobody reads (the waiter died)
 * instead of hanging until someone does; a link at the path is never followed (O_NOFOLLOW: the
 * path may be in a container's root, where an image could put a link to anywhere on the host);
 * and what opens must be a FIFO, never a file or a device. libuv adds O_CLOEXEC, so no process
 * spawned meanwhile inherits the descriptor.
 *
 * @example
 *   const fd = openFifoWriter(join(stateDir, 'exec.fifo'));
 *   if (typeof fd !== 'number') return fd.code === 'ENOENT' ? false : fail(fd);
 *   try { writeSync(fd, byte); } finally { closeSync(fd); }
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';

/** Why a FIFO could not be opened: the errno code (ENOENT: none there; ENXIO: nobody reads it), or "not a FIFO". */
export interface FifoRefusal {
  code: string;
  error: Error;
}

/** The FIFO at `path` open for writing (a descriptor), or why not. */
export function openFifoWriter(path: string): number | FifoRefusal {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (e) {
    return { code: (e as NodeJS.ErrnoException).code ?? (e as Error).message, error: e as Error };
  }
  if (fstatSync(fd).isFIFO()) return fd;
  closeSync(fd);
  return { code: 'not a FIFO', error: new Error('not a FIFO') };
}
