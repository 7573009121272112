/**
 * How Docker's clients present Engine API values: the PORTS column of `docker ps` and the
 * figures of `docker stats`. Every client of Berth (the CLI, the dashboard) shows the same text.
 */
import { bytesSize, humanSize } from '../spec/index.ts';
import type { Port, StatsRow } from '../api/types/index.ts';

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
