/**
 * crun's binary, sealed. crun guards against a container overwriting its binary through
 * /proc/self/exe (CVE-2019-5736) by copying itself to a read-only place and executing itself
 * again, at every run: a second exec with ten shared libraries to load, ~2 ms of each create and
 * delete. A binary that is on a read-only mount already is safe, and crun runs it as it is. So
 * crun's binary is bound read-only into the exec root once, and the berth-crun wrapper runs
 * that (the driver names it in `BERTH_CRUN`).
 */
import { promises as fs } from 'node:fs';
import type { Host } from '../host/index.ts';

/**
 * Binds `binary` read-only at `at` (a file in the exec root), unless a previous daemon left the
 * bind there. False (crun then protects itself as usual) when the bind cannot be made.
 */
export async function sealCrun(host: Host, binary: string, at: string): Promise<boolean> {
  try {
    if (!(await isMountPoint(at))) {
      await fs.writeFile(at, '', { flag: 'a', mode: 0o500 });
      await host.mount('none', binary, at, ['bind', 'ro']);
    }
    return true;
  } catch {
    return false;
  }
}

/** Is `path` a mount point (also of a file bound onto it)? Read from mountinfo: once per daemon start. */
async function isMountPoint(path: string): Promise<boolean> {
  const real = await fs.realpath(path).catch(() => undefined);
  if (!real) return false;
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  // The fifth field, with spaces and other bytes escaped as \ooo.
  return info
    .split('\n')
    .some(
      (line) =>
        line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) === real,
    );
}
