/**
 * What ran on the CPUs while a docker CLI started: reads `perf script` output of the scheduler's
 * events (sched_switch, sched_wakeup, sched_process_fork/exec/exit, sys_enter_connect) recorded
 * system-wide over a series of `docker run`s (bench/backtoback.sh), and for each CLI the driver
 * started prints its start (exec → its first connect, the Engine API's socket), how much of it
 * the CLI ran, how long its threads waited runnable for a core, and what else ran on the two
 * cores meanwhile: berthd (node), each of its helpers by name (the launcher, the runtime, the
 * monitors, mount), the containers, other processes (the other engineers'), idle.
 *
 *   bin/node bench/timeline.ts <perf-script.txt> <labels.txt> <seeds.txt> [fake engine's pid]
 *
 * labels.txt: the driver's pid, then one label per docker CLI it started, in order
 * ("berth back-to-back, first", ...). seeds.txt: the berthds' pids on its first line, then one
 * a line the pids that are Berth's before the recording began (its launcher, the pooled
 * sandboxes' monitors and processes); everything they fork is Berth's too.
 */
import { readFileSync } from 'node:fs';

const [scriptPath, labelsPath, seedsPath, fakeArg] = process.argv.slice(2);
const fake = Number(fakeArg ?? -1);
if (!scriptPath || !labelsPath || !seedsPath)
  throw new Error('usage: timeline.ts <perf-script.txt> <labels.txt> <seeds.txt>');
const [driverLine, ...labels] = readFileSync(labelsPath, 'utf8').trim().split('\n');
const driver = Number(driverLine);
const berthd = new Set<number>();
const [berthdLine, ...seedLines] = readFileSync(seedsPath, 'utf8').trim().split('\n');
for (const p of berthdLine!.trim().split(/\s+/)) berthd.add(Number(p));
// Every process of Berth's trees (the seeds, then what they fork).
const berth = new Set<number>([...berthd, ...seedLines.map(Number).filter((n) => n > 0)]);

interface Cli {
  pid: number;
  label: string;
  exec: number;
  connect?: number;
  exit?: number;
}
const clis: Cli[] = [];
const cliByPid = new Map<number, Cli>();
const tgidOf = new Map<number, number>();
const commOf = new Map<number, string>(); // by tgid, the program's name after exec
const driverKids = new Set<number>();
/** Each thread's name as the events show it, first seen: for the processes no exec was seen of. */
const shownComm = new Map<number, string>();

// Per CPU: who runs since when; per tid: since when it waits runnable.
const running = new Map<number, { tid: number; since: number }>();
const runnableSince = new Map<number, number>();
type Slice = { tid: number; cpu: number; from: number; to: number };
const slices: Slice[] = [];
type Wait = { tid: number; from: number; to: number };
const waits: Wait[] = [];

const line = /^\s*(\S.*?)\s+(\d+)\/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$/;
for (const l of readFileSync(scriptPath, 'utf8').split('\n')) {
  const m = line.exec(l);
  if (!m) continue;
  const [, comm, pidS, tidS, cpuS, tS, event, rest] = m;
  const pid = Number(pidS);
  const tid = Number(tidS);
  const cpu = Number(cpuS);
  const t = Number(tS) * 1000;
  if (tid) tgidOf.set(tid, pid);
  if (tid && !shownComm.has(tid)) shownComm.set(tid, comm!);
  const f = (k: string) => new RegExp(`(?:^| )${k}=(\\S*)`).exec(rest!)?.[1];
  switch (event) {
    case 'sched:sched_switch': {
      const prev = Number(f('prev_pid'));
      const next = Number(f('next_pid'));
      const was = running.get(cpu);
      if (was && was.tid === prev) slices.push({ tid: prev, cpu, from: was.since, to: t });
      if (f('prev_state')?.startsWith('R') && prev) runnableSince.set(prev, t);
      running.set(cpu, { tid: next, since: t });
      const w = runnableSince.get(next);
      if (w !== undefined) {
        waits.push({ tid: next, from: w, to: t });
        runnableSince.delete(next);
      }
      break;
    }
    case 'sched:sched_wakeup':
    case 'sched:sched_wakeup_new': {
      const woken = Number(f('pid'));
      if (!runnableSince.has(woken)) runnableSince.set(woken, t);
      break;
    }
    case 'sched:sched_process_fork': {
      const child = Number(f('child_pid'));
      // A thread's fork keeps the tgid (learnt from its own events); a process's is its own.
      if (berth.has(pid)) berth.add(child);
      if (pid === driver) driverKids.add(child);
      // A child before its exec runs its parent's program (a thread's entry is never looked up).
      if (!commOf.has(child)) commOf.set(child, commOf.get(pid) ?? f('comm') ?? '');
      break;
    }
    case 'sched:sched_process_exec': {
      const name = /filename=(\S+)/.exec(rest!)?.[1] ?? '';
      commOf.set(pid, name.split('/').pop()!);
      if (driverKids.has(pid) && name.endsWith('/docker')) {
        const c: Cli = { pid, label: labels[clis.length] ?? '?', exec: t };
        clis.push(c);
        cliByPid.set(pid, c);
      }
      break;
    }
    case 'syscalls:sys_enter_connect': {
      const c = cliByPid.get(pid);
      if (c && c.connect === undefined) c.connect = t;
      break;
    }
    case 'sched:sched_process_exit': {
      const c = cliByPid.get(pid);
      if (c && tid === pid) c.exit = t;
      break;
    }
  }
}

/** What a thread is counted as. */
function category(tid: number): string {
  if (tid === 0) return 'idle';
  const pid = tgidOf.get(tid) ?? tid;
  if (cliByPid.has(pid)) return 'cli';
  if (pid === fake) return 'fake engine';
  const shown = commOf.get(pid) ?? shownComm.get(pid) ?? '';
  if (pid === driver || /^perf/.test(shown)) return 'perf, driver';
  // The kernel's own threads: deferred work (a network namespace's clean-up, RCU callbacks, writeback).
  if (
    /^(kworker|ksoftirqd|rcu|migration|kcompactd|kswapd|kdamond|khugepaged|jbd2|irq\/|cpuhp|watchdog|kauditd|writeback|kthreadd)/.test(
      shown,
    )
  )
    return 'kernel';
  if (berthd.has(pid)) return 'berthd';
  if (berth.has(pid) || berth.has(tid)) {
    const name = commOf.get(pid) ?? shownComm.get(pid);
    if (!name) return 'berth:other';
    if (/^(berth-(launcher|crun|monitor|zygote)|crun|runc|mount|umount|ip|nft)$/.test(name)) return `berth:${name}`;
    return 'berth:container';
  }
  return 'other';
}

function overlap(a: number, b: number, from: number, to: number): number {
  return Math.max(0, Math.min(b, to) - Math.max(a, from));
}

/** CPU time (ms) by category in [from, to), and the CLI's threads' runnable waiting. */
function window(from: number, to: number, cli?: number): { cpu: Map<string, number>; cliWait: number } {
  const cpu = new Map<string, number>();
  for (const s of slices) {
    const o = overlap(s.from, s.to, from, to);
    if (o > 0) {
      const c = s.tid !== 0 && cli !== undefined && (tgidOf.get(s.tid) ?? s.tid) === cli ? 'this cli' : category(s.tid);
      cpu.set(c, (cpu.get(c) ?? 0) + o);
    }
  }
  let cliWait = 0;
  for (const w of waits)
    if (cli !== undefined && (tgidOf.get(w.tid) ?? w.tid) === cli) cliWait += overlap(w.from, w.to, from, to);
  return { cpu, cliWait };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const byLabel = new Map<string, { start: number; wait: number; cpu: Map<string, number>; total: number }[]>();
for (const [i, c] of clis.entries()) {
  if (c.connect === undefined || c.exit === undefined) continue;
  const w = window(c.exec, c.connect, c.pid);
  const row = { start: c.connect - c.exec, wait: w.cliWait, cpu: w.cpu, total: c.exit - c.exec };
  if (!byLabel.has(c.label)) byLabel.set(c.label, []);
  byLabel.get(c.label)!.push(row);
  // The previous CLI's end to this one's start: what the daemon still did after its answer.
  const prev = clis[i - 1];
  if (process.env.TIMELINE_VERBOSE && prev?.exit !== undefined) {
    const after = window(prev.exit, c.connect);
    console.log(
      `${c.label}: gap ${(c.exec - prev.exit).toFixed(1)} ms, start ${row.start.toFixed(1)}; ` +
        [...after.cpu].map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', '),
    );
  }
}
const cats = [
  'this cli',
  'berthd',
  'berth:berth-launcher',
  'berth:berth-crun',
  'berth:crun',
  'berth:berth-monitor',
  'berth:mount',
  'berth:umount',
  'berth:container',
  'berth:other',
  'cli',
  'fake engine',
  'perf, driver',
  'kernel',
  'other',
  'idle',
];
for (const rows of byLabel.values())
  for (const r of rows) for (const k of r.cpu.keys()) if (!cats.includes(k)) cats.push(k);
console.log(
  `each label's runs (ms): the CLI's start (exec → first connect) and the whole run, medians; its threads' runnable wait in the start, median; the CPU time in the start by whom, means (2 cores: they sum to 2 × the mean start)`,
);
for (const [label, rows] of byLabel) {
  const parts = cats
    .map((k) => [k, rows.reduce((a, r) => a + (r.cpu.get(k) ?? 0), 0) / rows.length] as const)
    .filter(([, v]) => v >= 0.05)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`);
  console.log(
    `  ${label} (${rows.length}): start ${median(rows.map((r) => r.start)).toFixed(1)}, whole run ${median(rows.map((r) => r.total)).toFixed(1)}, waiting for a core ${median(rows.map((r) => r.wait)).toFixed(1)}; ${parts.join(', ')}`,
  );
}

// A back-to-back pair's second run is followed by 0.4 s of rest: all it cost, and what of that
// came after its CLI had exited (the removal's clean-up, the refill), by whom.
const tails = new Map<string, { whole: Map<string, number>[]; after: Map<string, number>[] }>();
for (const [i, c] of clis.entries()) {
  const next = clis[i + 1];
  if (!c.label.endsWith('second') || c.exit === undefined || !next) continue;
  const key = c.label.replace(/ back-to-back, second$/, '');
  if (!tails.has(key)) tails.set(key, { whole: [], after: [] });
  tails.get(key)!.whole.push(window(c.exec, next.exec, c.pid).cpu);
  tails.get(key)!.after.push(window(c.exit, next.exec).cpu);
}
const mean = (ms: Map<string, number>[], k: string) => ms.reduce((a, m) => a + (m.get(k) ?? 0), 0) / ms.length;
const ours = (k: string) => k === 'berthd' || k.startsWith('berth:');
console.log(
  `a run followed by 0.4 s of rest: the CPU (ms, means) of Berth's processes from its CLI's exec on, and after its CLI's exit`,
);
for (const [key, t] of tails) {
  for (const [what, ms] of [
    ['whole', t.whole],
    ['after the CLI exited', t.after],
  ] as const) {
    const parts = cats.filter(ours).map((k) => [k, mean(ms, k)] as const);
    const sum = parts.reduce((a, [, v]) => a + v, 0);
    console.log(
      `  ${key}, ${what}: ${sum.toFixed(1)}; ${parts
        .filter(([, v]) => v >= 0.05)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}; kernel threads ${mean(ms, 'kernel').toFixed(1)}`,
    );
  }
}
