/**
 * The medians of bench/fifo-exec.sh's traces (ftrace's text, one file a run, `<daemon>-<n>.trace`):
 * for each run, the process that execs /bin/true, its last one-byte read before that exec (the
 * byte that let it run), berthd's last one-byte write before the read (node's main thread; that
 * daemon's, when `<daemon>.pid` beside the traces gives its pid), and the exec of berth-zygote
 * after the read if there was one. Milliseconds.
 *
 *   bin/node bench/fifo-exec.ts <dir>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: fifo-exec.ts <dir>');
type Event = { comm: string; pid: number; t: number; name: string; rest: string };
const line = /^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): ([a-z_]+)[:(]? ?(.*)$/;

function parse(file: string, daemonPid: number | undefined): Record<string, number> | undefined {
  const ev: Event[] = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const m = line.exec(l);
    if (m) ev.push({ comm: m[1]!, pid: Number(m[2]), t: Number(m[3]) * 1000, name: m[4]!, rest: m[5]! });
  }
  // The machine is shared: another daemon's container may run /bin/true meanwhile. Ours is the
  // one whose byte came from this daemon's main thread (its thread ID is the daemon's pid).
  for (const exec of ev.filter((e) => e.name === 'sched_process_exec' && e.rest.includes('filename=/bin/true'))) {
    const read = ev.filter((e) => e.pid === exec.pid && e.name === 'sys_read' && e.t < exec.t).at(-1);
    if (!read) continue;
    const write = ev
      .filter(
        (e) =>
          e.comm === 'MainThread' && e.name === 'sys_write' && e.t <= read.t && (!daemonPid || e.pid === daemonPid),
      )
      .at(-1);
    if (!write) continue;
    const zygote = ev.find(
      (e) => e.pid === exec.pid && e.name === 'sched_process_exec' && e.rest.includes('berth-zygote') && e.t > read.t,
    );
    const exit = ev.find((e) => e.pid === exec.pid && e.name === 'sched_process_exit');
    return {
      'byte written → read': read.t - write.t,
      'read → zygote exec': zygote ? zygote.t - read.t : NaN,
      'read → command exec': exec.t - read.t,
      'byte written → command exec': exec.t - write.t,
      'command exec → exit': exit ? exit.t - exec.t : NaN,
    };
  }
  return undefined;
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
/** The daemon's pid, from `<daemon>.pid` beside the traces, if there. */
function pidOf(daemon: string): number | undefined {
  try {
    return Number(readFileSync(join(dir!, `${daemon}.pid`), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}
const files = readdirSync(dir).filter((f) => f.endsWith('.trace'));
for (const daemon of [...new Set(files.map((f) => f.replace(/-\d+\.trace$/, '')))]) {
  const rows = files
    .filter((f) => f.startsWith(`${daemon}-`))
    .map((f) => parse(join(dir, f), pidOf(daemon)))
    .filter((r) => r !== undefined);
  if (!rows.length) continue;
  console.log(`${daemon}: ${rows.length} runs, medians`);
  for (const k of Object.keys(rows[0]!)) {
    const m = median(rows.map((r) => r[k]!));
    if (!Number.isNaN(m)) console.log(`  ${k.padEnd(28)} ${m.toFixed(2).padStart(6)} ms`);
  }
}
