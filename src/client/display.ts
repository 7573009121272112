/**
 * How Docker's clients present Engine API values: the PORTS column of `docker ps` and the
 * figures of `docker stats`. Every client of Berth (the CLI, the dashboard) shows the same text.
 */
import { bytesSize, humanSize } from '../spec/index.ts';
import type { Port, StatsResponse } from '../api/types/index.ts';

/** formatter.DisplayablePorts: groups consecutive ports, host mappings last. */
export function displayablePorts(ports: Port[] | null | undefined): string {
  const list = [...(ports ?? [])].sort((a, b) =>
    a.PrivatePort !== b.PrivatePort
      ? a.PrivatePort - b.PrivatePort
      : (a.IP ?? '') !== (b.IP ?? '')
        ? (a.IP ?? '') < (b.IP ?? '')
          ? -1
          : 1
        : (a.PublicPort ?? 0) !== (b.PublicPort ?? 0)
          ? (a.PublicPort ?? 0) - (b.PublicPort ?? 0)
          : a.Type < b.Type
            ? -1
            : a.Type > b.Type
              ? 1
              : 0,
  );
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, first: number, last: number) => {
    const parts = key.split('/');
    let ip = '';
    let type = parts[0]!;
    if (parts.length > 1) {
      ip = parts[0]!;
      type = parts[1]!;
    }
    let g = String(first);
    if (first !== last) g = `${g}-${last}`;
    if (ip) g = `${ip}:${g}->${g}`;
    return `${g}/${type}`;
  };
  for (const p of list) {
    const cur = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== cur) {
        const host = p.IP.includes(':') ? `[${p.IP}]` : p.IP;
        hostMappings.push(`${host}:${p.PublicPort ?? 0}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: cur, last: cur });
      order.push(key);
      continue;
    }
    if (cur === g.last + 1) {
      g.last = cur;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: cur, last: cur });
  }
  for (const k of order) {
    const g = groups.get(k)!;
    result.push(formGroup(k, g.first, g.last));
  }
  return [...result, ...hostMappings].join(', ');
}

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

/** The text of a `docker stats` line's figures (CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O, PIDS). */
export function statsText(r: StatsRow): {
  cpu: string;
  mem: string;
  memPct: string;
  net: string;
  block: string;
  pids: string;
} {
  return {
    cpu: `${r.cpu.toFixed(2)}%`,
    mem: `${bytesSize(r.mem)} / ${bytesSize(r.limit)}`,
    memPct: `${r.memPct.toFixed(2)}%`,
    net: `${humanSize(r.netRx, 3)} / ${humanSize(r.netTx, 3)}`,
    block: `${humanSize(r.blkRead, 3)} / ${humanSize(r.blkWrite, 3)}`,
    pids: String(r.pids),
  };
}
