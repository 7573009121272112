/**
 * berthd's pid file (`--pidfile`): one daemon per data root. A pid file naming a berthd that
 * still runs stops the start, as dockerd's does; one left by a daemon that died (its pid gone, a
 * zombie, or reused by another program) is taken over.
 *
 * @example
 *   await claimPidfile('/run/berthd.pid'); // throws Unavailable while another berthd runs
 */
import { promises as fs, readFileSync } from 'node:fs';
import { unavailable } from '../errdefs/index.ts';

/** Writes this process's pid to `path`, unless it names a berthd that still runs. */
export async function claimPidfile(path: string): Promise<void> {
  try {
    const pid = Number((await fs.readFile(path, 'utf8')).trim());
    if (pid && pid !== process.pid && berthdRunning(pid)) {
      throw unavailable(`pid file found, ensure berthd is not running or delete ${path}`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await fs.writeFile(path, `${process.pid}`);
}

/**
 * Whether the pid in a pidfile is a berthd that still runs. A killed daemon's pid can linger
 * as a zombie until its parent reaps it, and can later be reused by another program: neither
 * holds the data root.
 */
function berthdRunning(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // The state follows the command name in parentheses (which may itself hold spaces).
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /berthd|daemon\/main\.ts/.test(cmdline);
  } catch {
    return false;
  }
}
