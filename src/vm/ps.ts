/**
 * The guest's process list (the agent's PROCS answer, see vm-wire.h) as `ps -ef` prints it,
 * so `berth-vm ps` — and `docker top` of a VM container — reads as runc's does: a pure
 * function of the agent's text and the host's clock.
 */

const TITLES = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'];

/** A table of `ps -ef`'s columns, blank-aligned as procps does it, one line per process. */
export function guestProcessTable(text: string, now: Date): string {
  const [head = '', ...lines] = text.split('\n');
  const [uptime = 0, hz = 100] = head.trim().split(/\s+/).map(Number);
  const rows = lines
    .filter((l) => l.trim())
    .map((l) => {
      const m = /^(\d+) (\d+) (\d+) (-?\d+) (\d+) (\d+) (.*)$/.exec(l);
      if (!m) return undefined;
      const [, uid, pid, ppid, tty, cpu, start, cmd] = m;
      const cpuSeconds = Number(cpu) / hz;
      const age = Math.max(uptime - Number(start) / hz, 0);
      const started = new Date(now.getTime() - age * 1000);
      return [
        uid!,
        pid!,
        ppid!,
        String(age > 0 ? Math.floor((cpuSeconds / age) * 100) : 0),
        stime(started, now),
        ttyName(Number(tty)),
        cpuTime(cpuSeconds),
        cmd!,
      ];
    })
    .filter((r): r is string[] => !!r)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  const widths = TITLES.map((t, i) => Math.max(t.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join(' ')
      .trimEnd();
  return [line(TITLES), ...rows.map(line)].map((l) => `${l}\n`).join('');
}

/** ps's STIME: the time of day if it started today, else the month and day. */
function stime(t: Date, now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  if (t.toDateString() === now.toDateString()) return `${pad(t.getHours())}:${pad(t.getMinutes())}`;
  return `${t.toLocaleString('en-US', { month: 'short' })}${pad(t.getDate())}`;
}

/** ps's TTY: a pseudo-terminal (major 136) as pts/N, none as `?`. */
function ttyName(nr: number): string {
  if (!nr) return '?';
  const major = (nr >> 8) & 0xfff;
  const minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
  return major >= 136 && major <= 143 ? `pts/${(major - 136) * 256 + minor}` : `tty${minor}`;
}

/** ps's TIME: [DD-]HH:MM:SS of CPU. */
function cpuTime(seconds: number): string {
  const s = Math.floor(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(s / 86400);
  const hms = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return days ? `${days}-${hms}` : hms;
}
