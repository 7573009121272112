/**
 * A runtime's own process table (`runsc ps`, `berth-vm ps`) as `docker top` answers it: the
 * runtime's processes are not the host's, so the host's `ps` cannot list them (see
 * `TaskInfo.processes`).
 */
import { internal } from '../errdefs/index.ts';
import type { ProcessList } from './roles.ts';

/** `ps -ef`'s columns, in its order: what `docker top` shows by default. */
const PS_EF = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'];

/**
 * A blank-separated table with a title line and the command as its last column (runsc's is
 * `UID PID PPID C TTY STIME TIME CMD`), as `ps -ef`'s columns, so it reads as runc's does.
 */
export function parsePsTable(out: string, what: string): ProcessList {
  const lines = out.split('\n').filter((l) => l.trim());
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const Titles = PS_EF.filter((t) => titles.includes(t));
  if (!Titles.includes('PID')) throw internal(`${what}: no PID column in ${JSON.stringify(lines[0] ?? '')}`);
  const Processes = lines.slice(1).map((line) => {
    const f = line.trim().split(/\s+/);
    const cells = [...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')];
    return Titles.map((t) => cells[titles.indexOf(t)] ?? '');
  });
  return { Titles, Processes };
}
