/**
 * Starting a created container without spawning the runtime: `runc start` and `crun start`
 * only release the container's init, which waits on the `exec.fifo` in the runtime's state
 * directory — runc's init to write a byte into it, crun's to read one from it. Doing that here
 * saves a process on the hot path of every start. Each returns false when there is no FIFO
 * (never created, or started already): the caller then runs the runtime's own `start`, which
 * says why.
 */
import { promises as fs, openSync, writeSync, closeSync, unlinkSync, constants } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { conflict, failedPrecondition, internal } from '../errdefs/index.ts';
import { openFifoWriter, pathExists } from '../fs/index.ts';

/**
 * What `crun start` does: crun's init waits to read from `exec.fifo` (the other way round
 * from runc); one byte written lets it exec the command. False when there is no FIFO.
 *
 * Four system calls on the event loop, none of which can block: the open is non-blocking (with
 * nobody reading — the init died — it fails with ENXIO instead of hanging), one byte fits in
 * any pipe, and the FIFO is on the runtime's state directory (a tmpfs, or the exec root's file
 * system). Through the thread pool they were some six round trips on every start's path
 * (open, write, close, and `rm`'s stat and unlink), 0.4–5 ms at load 4.
 */
export function releaseCrunFifo(stateDir: string, id: string): boolean {
  const fifo = join(stateDir, 'exec.fifo');
  const fd = openFifoWriter(fifo);
  if (typeof fd !== 'number') {
    if (fd.code === 'ENOENT') return false;
    if (fd.code === 'ENXIO')
      throw failedPrecondition(`start container "${id}": container process is already dead`, fd.error);
    throw internal(`start container "${id}": open exec fifo: ${fd.error.message}`, fd.error);
  }
  try {
    writeSync(fd, ZERO);
  } catch (e) {
    throw internal(`start container "${id}": write exec fifo: ${(e as Error).message}`, e);
  } finally {
    closeSync(fd);
  }
  try {
    unlinkSync(fifo);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return true;
}

const ZERO = Buffer.from('0');

/**
 * What `runc start` does: runc's init waits to open `exec.fifo` for writing and write one
 * byte; reading that byte lets it exec the container's command, and removing the FIFO marks
 * the container running. Opening the FIFO read-write never blocks and never sees an early
 * end of file. False when there is no FIFO (not created, or started already): `runc start`
 * then says why.
 */
export async function releaseRuncFifo(
  stateDir: string,
  id: string,
  initGone: () => Promise<boolean>,
): Promise<boolean> {
  const fifo = join(stateDir, 'exec.fifo');
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw internal(`start container "${id}": open exec fifo: ${(e as Error).message}`, e);
  }
  const pipe = new Socket({ fd, readable: true, writable: false });
  try {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearInterval(check);
        if (err) reject(err);
        else resolve();
      };
      // Like runc: if nothing comes for a while, make sure somebody can still write.
      const check = setInterval(() => {
        void (async () => {
          if (await initGone()) done(failedPrecondition(`start container "${id}": container process is already dead`));
          else if (!(await pathExists(fifo))) done(conflict(`start container "${id}": container is already running`));
        })();
      }, 100);
      pipe.once('data', () => done());
      pipe.once('error', (e) => done(internal(`start container "${id}": read exec fifo: ${e.message}`, e)));
    });
    await fs.rm(fifo, { force: true });
  } finally {
    pipe.destroy();
  }
  return true;
}
