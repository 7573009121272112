/**
 * The figures of a `docker stats` line from one stats sample (CPU % against the previous
 * sample, memory without the inactive file cache, network and block I/O sums, PIDs): what the
 * CLI, the dashboard and Libpod's pod stats show, computed one way.
 */
import type { StatsResponse } from './container.ts';

export interface StatsRow {
  id: string;
  name: string;
  cpu: number;
  mem: number;
  limit: number;
  memPct: number;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

/** docker's calculateCPUPercentUnix and memory/IO sums (cgroup v1 and v2 memory stats). */
export function statsRow(id: string, s: StatsResponse): StatsRow {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const online = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 0;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  const ms = s.memory_stats ?? {};
  let mem = ms.usage ?? 0;
  const st = ms.stats ?? {};
  const inactive = st.total_inactive_file !== undefined ? st.total_inactive_file : st.inactive_file;
  if (inactive !== undefined && inactive < mem) mem -= inactive;
  const limit = ms.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  let r = 0;
  let w = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (e.op.toLowerCase() === 'read') r += e.value;
    if (e.op.toLowerCase() === 'write') w += e.value;
  }
  return {
    id,
    name: (s.name ?? '').replace(/^\//, ''),
    cpu,
    mem,
    limit,
    memPct: limit ? (mem / limit) * 100 : 0,
    netRx: rx,
    netTx: tx,
    blkRead: r,
    blkWrite: w,
    pids: s.pids_stats?.current ?? 0,
  };
}
