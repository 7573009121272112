/**
 * A container's resource usage read from its cgroups (v1 controllers or the v2 unified
 * hierarchy) and its network namespace, in the shape of the Engine API's stats object
 * (moby api/types/stats.go), which `docker stats` turns into percentages. Plain file reads:
 * no process is spawned, so a stats stream every second costs next to nothing.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { StatsResponse } from '../api/types/index.ts';

/** What the cgroups and the network namespace tell: the Engine API's stats sample, less its frame. */
export type CgroupStats = Pick<
  StatsResponse,
  'read' | 'pids_stats' | 'blkio_stats' | 'cpu_stats' | 'memory_stats' | 'networks'
>;

/**
 * What a sample needs: `cpuOnly`, the CPU figures alone; `systemCpuUsage`, the host's CPU time
 * when the caller read it once for many containers (one /proc/stat for a thousand samples).
 */
export interface StatsOptions {
  cpuOnly?: boolean;
  systemCpuUsage?: number;
}

/**
 * Read on the event loop: cgroup and /proc files are made by the kernel on the spot, a read
 * takes microseconds and never waits for a disk, while an asynchronous one is four round trips
 * through the thread pool — which `docker stats` over 1000 containers (some 30000 files) filled
 * for seconds. And synchronous all through a sample: a promise and a microtask a file for work
 * that never waits were a third of a sample's CPU beside the reads themselves.
 */
const read = (p: string | undefined): string | undefined => {
  if (p === undefined) return undefined;
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};
/** The file `name` in the directory `dir` (undefined without one: the controller is missing). */
const at = (dir: string | undefined, name: string) => (dir ? `${dir}/${name}` : undefined);
const num = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const t = s.trim();
  if (t === 'max') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
};

/** "key value" lines (cpu.stat, memory.stat) as numbers by key. */
function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const line of text.split('\n')) {
    const i = line.indexOf(' ');
    if (i <= 0) continue;
    // Number() takes the surrounding blanks and refuses anything else ("" aside: skipped).
    const v = line.slice(i + 1);
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) out[line.slice(0, i)] = n;
  }
  return out;
}

/** USER_HZ: /proc/stat and cpuacct.stat count in these ticks on Linux. */
const CLOCK_TICKS = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS;

/** The host's CPU time since boot in nanoseconds, as Docker's system_cpu_usage is. */
export async function systemCpuUsage(): Promise<number> {
  return systemCpuUsageNow();
}

function systemCpuUsageNow(): number {
  const text = read('/proc/stat');
  const line = text?.split('\n', 1)[0] ?? '';
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const ticks = line
    .split(/\s+/)
    .slice(1, 9)
    .reduce((n, f) => n + (Number(f) || 0), 0);
  return ticks * NS_PER_TICK;
}

/** Per-interface counters of the network namespace `pid` is in, loopback left out. */
export async function networkStats(pid: number): Promise<CgroupStats['networks']> {
  return networkStatsNow(pid);
}

function networkStatsNow(pid: number): CgroupStats['networks'] {
  const text = pid > 0 ? read(`/proc/${pid}/net/dev`) : undefined;
  if (!text) return undefined;
  const out: NonNullable<CgroupStats['networks']> = {};
  let any = false;
  for (const line of text.split('\n').slice(2)) {
    const m = line.match(/^\s*([^:\s]+):\s*(.*)$/);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    any = true;
    out[m[1]!] = {
      rx_bytes: f[0]!,
      rx_packets: f[1]!,
      rx_errors: f[2]!,
      rx_dropped: f[3]!,
      tx_bytes: f[8]!,
      tx_packets: f[9]!,
      tx_errors: f[10]!,
      tx_dropped: f[11]!,
    };
  }
  // No interface but loopback (--network none): no networks at all, as dockerd sends.
  return any ? out : undefined;
}

/**
 * Reads the stats of the cgroup at `paths` (controller → directory, `""` for v2). Missing
 * files give zeros, as Docker shows for a container without that controller. `cpuOnly`: the
 * CPU figures alone, the rest empty — a third of the files, and not memory.stat, the costliest.
 */
export async function readCgroupStats(
  paths: Record<string, string>,
  pid: number,
  opts: StatsOptions = {},
): Promise<CgroupStats> {
  // runc lists the (empty) unified hierarchy of a hybrid host beside the v1 controllers: v1 wins.
  const v2 = paths.memory || paths.cpuacct || paths.cpu ? undefined : paths[''];
  const system = opts.systemCpuUsage ?? systemCpuUsageNow();
  const networks = opts.cpuOnly ? undefined : networkStatsNow(pid);
  const rest = opts.cpuOnly ? readCpu(paths, v2) : v2 ? readV2(v2) : readV1(paths);
  return {
    read: new Date().toISOString(),
    ...rest,
    cpu_stats: { ...rest.cpu_stats, system_cpu_usage: system },
    ...(networks ? { networks } : {}),
  };
}

type Partial = Omit<CgroupStats, 'read' | 'networks'>;

/** The CPU figures only (v1's cpuacct and cpu files, or v2's cpu.stat), the rest empty. */
function readCpu(p: Record<string, string>, v2: string | undefined): Partial {
  const { cpu_stats } = v2 ? readV2(v2, true) : readV1(p, true);
  return { pids_stats: {}, blkio_stats: {}, cpu_stats, memory_stats: {} };
}

function readV1(p: Record<string, string>, cpuOnly = false): Partial {
  const cpuacct = p.cpuacct ?? p.cpu;
  const other = (dir: string | undefined, name: string) => (cpuOnly ? undefined : read(at(dir, name)));
  // cpuacct.usage is the sum of cpuacct.usage_percpu (the kernel adds up the same counters):
  // read only where the per-CPU file is missing, one file less a sample.
  const percpu = read(at(cpuacct, 'cpuacct.usage_percpu'));
  const usage = percpu === undefined ? read(at(cpuacct, 'cpuacct.usage')) : undefined;
  const cpuStat = read(at(cpuacct, 'cpuacct.stat'));
  const throttle = read(at(p.cpu ?? cpuacct, 'cpu.stat'));
  const memUsage = other(p.memory, 'memory.usage_in_bytes');
  const memMax = other(p.memory, 'memory.max_usage_in_bytes');
  const memLimit = other(p.memory, 'memory.limit_in_bytes');
  const memFail = other(p.memory, 'memory.failcnt');
  const memStat = other(p.memory, 'memory.stat');
  const pidsCur = other(p.pids, 'pids.current');
  const pidsMax = other(p.pids, 'pids.max');
  const blkio = other(p.blkio, 'blkio.throttle.io_service_bytes_recursive');
  const serviced = other(p.blkio, 'blkio.throttle.io_serviced_recursive');
  const ticks = keyValues(cpuStat);
  const thr = keyValues(throttle);
  const percpuList = (percpu ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    pids_stats: { current: num(pidsCur), limit: num(pidsMax) },
    // dockerd's on v1: all eight lists, [] when empty — clients index them without a check. The
    // queue, time, merge and sector figures come from files only the CFQ/BFQ schedulers have.
    blkio_stats: {
      io_service_bytes_recursive: parseBlkio(blkio) ?? [],
      io_serviced_recursive: parseBlkio(serviced) ?? [],
      io_queue_recursive: [],
      io_service_time_recursive: [],
      io_wait_time_recursive: [],
      io_merged_recursive: [],
      io_time_recursive: [],
      sectors_recursive: [],
    },
    cpu_stats: {
      cpu_usage: {
        total_usage: percpu === undefined ? (num(usage) ?? 0) : percpuList.reduce((a, b) => a + b, 0),
        ...(percpuList.length ? { percpu_usage: percpuList } : {}),
        usage_in_kernelmode: (ticks.system ?? 0) * NS_PER_TICK,
        usage_in_usermode: (ticks.user ?? 0) * NS_PER_TICK,
      },
      system_cpu_usage: 0,
      // The host's online CPUs, as dockerd's collector sets for every container (the CLI's CPU %
      // is the cgroup's share of the host's CPU time times this): not the CPUs this container
      // happened to run on, which halved the figure of one pinned to a CPU of two.
      online_cpus: os.availableParallelism(),
      throttling_data: {
        periods: thr.nr_periods ?? 0,
        throttled_periods: thr.nr_throttled ?? 0,
        throttled_time: thr.throttled_time ?? 0,
      },
    },
    memory_stats:
      memUsage === undefined
        ? {}
        : {
            usage: num(memUsage),
            max_usage: num(memMax),
            limit: Math.min(num(memLimit) ?? Infinity, os.totalmem()),
            // dockerd leaves a zero failcnt out (omitempty).
            ...(num(memFail) ? { failcnt: num(memFail) } : {}),
            stats: keyValues(memStat),
          },
  };
}

function readV2(dir: string, cpuOnly = false): Partial {
  const other = (name: string) => (cpuOnly ? undefined : read(at(dir, name)));
  const cpuStat = read(at(dir, 'cpu.stat'));
  const memCur = other('memory.current');
  const memMax = other('memory.max');
  const memStat = other('memory.stat');
  const pidsCur = other('pids.current');
  const pidsMax = other('pids.max');
  const io = other('io.stat');
  const cpu = keyValues(cpuStat);
  const entries: Array<{ major: number; minor: number; op: string; value: number }> = [];
  for (const line of (io ?? '').split('\n')) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    const [major, minor] = (dev ?? '').split(':').map(Number);
    if (major === undefined || minor === undefined || Number.isNaN(major)) continue;
    const f = Object.fromEntries(kv.map((x) => x.split('=')).map(([k, v]) => [k, Number(v)]));
    entries.push(
      { major, minor, op: 'read', value: f.rbytes ?? 0 },
      { major, minor, op: 'write', value: f.wbytes ?? 0 },
    );
  }
  return {
    pids_stats: { current: num(pidsCur), limit: num(pidsMax) },
    blkio_stats: { io_service_bytes_recursive: entries.length ? entries : null },
    cpu_stats: {
      cpu_usage: {
        total_usage: (cpu.usage_usec ?? 0) * 1000,
        usage_in_kernelmode: (cpu.system_usec ?? 0) * 1000,
        usage_in_usermode: (cpu.user_usec ?? 0) * 1000,
      },
      system_cpu_usage: 0,
      online_cpus: os.availableParallelism(),
      throttling_data: {
        periods: cpu.nr_periods ?? 0,
        throttled_periods: cpu.nr_throttled ?? 0,
        throttled_time: (cpu.throttled_usec ?? 0) * 1000,
      },
    },
    memory_stats:
      memCur === undefined
        ? {}
        : { usage: num(memCur), limit: Math.min(num(memMax) ?? Infinity, os.totalmem()), stats: keyValues(memStat) },
  };
}

/** blkio's "8:0 Read 4096" lines (the Total lines left out, as Docker does). */
export function parseBlkio(text: string | undefined): CgroupStats['blkio_stats']['io_service_bytes_recursive'] {
  const out: Array<{ major: number; minor: number; op: string; value: number }> = [];
  for (const line of (text ?? '').split('\n')) {
    const m = line.trim().match(/^(\d+):(\d+)\s+(\w+)\s+(\d+)$/);
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out.length ? out : null;
}
