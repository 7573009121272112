/**
 * A task's stdio besides its log, through its conmon: the attach socket, which carries a
 * client's input to the process's stdin, and the control FIFO, which sets its terminal's size.
 * Both work for a container (files in its bundle) and for an exec session (in its directory).
 */
import { promises as fs, constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, internal, invalidArgument, notFound } from '../errdefs/index.ts';
import type { Host } from '../host/index.ts';
import type { StdinSession } from './roles.ts';

/**
 * conmon's attach socket (SOCK_SEQPACKET; Node cannot open it itself): a client's packets go
 * to the container's stdin, and conmon sends each chunk of output as a packet whose first byte
 * is 2 (stdout) or 3 (stderr). The path goes through the short `<root>/sockets/<id>` link.
 */
export function attachSocketPath(socketDir: string, id: string): string {
  return join(socketDir, id, 'attach');
}

/**
 * Opens a stream to the container's stdin (the container must have been created with
 * `stdin`): bytes written to `input` reach the process; ending `input` closes its stdin unless
 * it was created with `leaveStdinOpen`; `close()` disconnects without that end-of-file.
 * `done` settles when the connection is gone (the container ended, or `close`).
 */
export function openAttach(host: Host, attachPath: string, socketPath: string, id: string): StdinSession {
  const child = host.spawn(attachPath, ['-n', socketPath], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const err: Buffer[] = [];
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  child.stdin!.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? notFound(`attach to container "${id}": ${attachPath} is missing: run npm run setup`, e)
          : e,
      ),
    );
    child.once('close', (code) => {
      if (code === 0 || code === null) resolve();
      else
        reject(
          internal(`attach to container "${id}": ${Buffer.concat(err).toString('utf8').trim() || `exit ${code}`}`),
        );
    });
  });
  return { input: child.stdin!, done, close: () => void child.kill('SIGKILL') };
}

/** A terminal size must be two 16-bit counts (struct winsize). */
export function checkConsoleSize(height: number, width: number, what = 'resize'): void {
  if (
    !Number.isInteger(height) ||
    !Number.isInteger(width) ||
    height < 0 ||
    width < 0 ||
    height > 65535 ||
    width > 65535
  ) {
    throw invalidArgument(`${what}: invalid size ${height}x${width}`);
  }
}

/**
 * Sets the terminal size of what conmon watches over in `dir` (a container's bundle or an
 * exec session's directory); `what` and `notRunning` word the errors.
 */
export async function resizeConsole(
  dir: string,
  height: number,
  width: number,
  what = 'resize',
  notRunning = 'not running',
): Promise<void> {
  checkConsoleSize(height, width, what);
  let fh: FileHandle;
  try {
    // conmon holds the FIFO open for reading while it lives: without it, ENXIO rather than a hang.
    fh = await fs.open(join(dir, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT') throw conflict(`${what}: ${notRunning}`, e);
    throw internal(`${what}: ${(e as Error).message}`, e);
  }
  try {
    await fh.write(`1 ${height} ${width}\n`);
  } finally {
    await fh.close();
  }
}
