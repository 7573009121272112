/**
 * IP address management, persisted in its own SQLite database under the data root, so an
 * address is never handed out twice: not while its owner holds it, and not across restarts
 * or crashes (each allocation is one committed transaction before anyone uses the address).
 * Addresses are handed out round-robin from after the last one given, as Docker's swarm
 * allocator does (libnetwork's "serial" option), so a freed address is not reused at once: a
 * peer's ARP entry, a conntrack flow or a cached name of the old container never reaches the
 * new one. dockerd 20.10's local networks take the lowest free address instead (its bitmask's
 * first available: a container run after another's exit gets the same .2); kept deliberately.
 *
 * One pool per network and family: a subnet (IPv4 or IPv6), the gateway, an optional range
 * that automatic addresses come from (`--ip-range`; a requested address may be anywhere in
 * the subnet) and reserved addresses (`--aux-address`), which are never handed out.
 * Addresses are stored as 32 hex digits, so IPv6 fits and the text sorts as the numbers do.
 *
 * Schema 2 (`ipam_pools`, `ipam_allocations`); the IPv4-only tables of schema 1 (`pools`,
 * `allocations`) are converted once, in one transaction, when a database is opened.
 */
import { DatabaseSync } from 'node:sqlite';
import { conflict, notFound, invalidArgument } from '../errdefs/index.ts';
import { transaction } from '../metadata/index.ts';
import { contains, formatAddr, lastAddr, parseAddr, prefixSize, type Family, type Prefix } from './ip.ts';

export interface Allocation {
  pool: string;
  owner: string;
  ip: string;
}

export interface PoolSpec {
  subnet: Prefix;
  /** Never handed out (the bridge holds it). */
  gateway?: bigint;
  /** Automatic addresses come from here only. */
  range?: Prefix;
  /** Never handed out, never requestable (auxiliary addresses). */
  reserved?: readonly bigint[];
}

interface PoolRow {
  family: number;
  base: string;
  bits: number;
  gateway: string | null;
  range_base: string | null;
  range_bits: number | null;
  reserved: string;
  last: string;
}

const hex = (v: bigint): string => v.toString(16).padStart(32, '0');
const unhex = (s: string): bigint => BigInt(`0x${s}`);

export class Ipam {
  private readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    // synchronous = NORMAL: in WAL mode a commit is in the log before it returns, so it survives
    // the daemon's crash (a SIGKILL) — what "never twice" needs; only a crash of the machine can
    // take the last ones back, and that takes the containers holding them too (a restart frees
    // the addresses of containers not running). FULL waited for the disk at every commit on the
    // event loop: a warm run on a user network commits twice (the refill's address, the exit's
    // release, the latter on wait's path), 3.7-4.3 ms a pair (p90 11-16) on this disk at load 8.
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS ipam_pools (name TEXT PRIMARY KEY, family INTEGER NOT NULL, base TEXT NOT NULL,
        bits INTEGER NOT NULL, gateway TEXT, range_base TEXT, range_bits INTEGER, reserved TEXT NOT NULL, last TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS ipam_allocations (pool TEXT NOT NULL, ip TEXT NOT NULL, owner TEXT NOT NULL,
        PRIMARY KEY (pool, ip), UNIQUE (pool, owner));
      CREATE INDEX IF NOT EXISTS ipam_allocations_by_owner ON ipam_allocations (owner);`);
    this.migrate();
  }

  /** Schema 1 (IPv4 as integers) into schema 2, once. */
  private migrate(): void {
    const old = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'pools'").get();
    if (!old) return;
    this.tx(() => {
      const pools = this.db.prepare('SELECT name, base, prefix, gateway, last FROM pools').all() as Array<{
        name: string;
        base: number;
        prefix: number;
        gateway: number;
        last: number;
      }>;
      for (const p of pools)
        this.db
          .prepare(
            "INSERT OR IGNORE INTO ipam_pools (name, family, base, bits, gateway, reserved, last) VALUES (?, 4, ?, ?, ?, '[]', ?)",
          )
          .run(p.name, hex(BigInt(p.base)), p.prefix, hex(BigInt(p.gateway)), hex(BigInt(p.last)));
      const allocs = this.db.prepare('SELECT pool, ip, owner FROM allocations').all() as Array<{
        pool: string;
        ip: number;
        owner: string;
      }>;
      for (const a of allocs)
        this.db
          .prepare('INSERT OR IGNORE INTO ipam_allocations (pool, ip, owner) VALUES (?, ?, ?)')
          .run(a.pool, hex(BigInt(a.ip)), a.owner);
      this.db.exec('DROP TABLE allocations; DROP TABLE pools;');
    });
  }

  /** Defines (or redefines, keeping the allocations inside its subnet) the pool `name`. */
  setPool(name: string, spec: PoolSpec): void {
    const { subnet } = spec;
    this.tx(() => {
      for (const a of this.db.prepare('SELECT ip FROM ipam_allocations WHERE pool = ?').all(name) as Array<{
        ip: string;
      }>) {
        if (!contains(subnet, subnet.family, unhex(a.ip)))
          this.db.prepare('DELETE FROM ipam_allocations WHERE pool = ? AND ip = ?').run(name, a.ip);
      }
      const from = spec.range?.base ?? subnet.base;
      this.db
        .prepare(
          `INSERT INTO ipam_pools (name, family, base, bits, gateway, range_base, range_bits, reserved, last)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET family = excluded.family, base = excluded.base, bits = excluded.bits,
             gateway = excluded.gateway, range_base = excluded.range_base, range_bits = excluded.range_bits,
             reserved = excluded.reserved`,
        )
        .run(
          name,
          subnet.family,
          hex(subnet.base),
          subnet.bits,
          spec.gateway === undefined ? null : hex(spec.gateway),
          spec.range ? hex(spec.range.base) : null,
          spec.range ? spec.range.bits : null,
          JSON.stringify((spec.reserved ?? []).map(hex)),
          // Round-robin starts at the first address of the range (or subnet).
          hex(from === 0n ? 0n : from - 1n),
        );
    });
  }

  pool(name: string): { subnet: Prefix; gateway?: string } | undefined {
    const p = this.row(name);
    if (!p) return undefined;
    const family = p.family as Family;
    return {
      subnet: { family, base: unhex(p.base), bits: p.bits },
      gateway: p.gateway === null ? undefined : formatAddr(family, unhex(p.gateway)),
    };
  }

  deletePool(name: string): void {
    this.tx(() => {
      this.db.prepare('DELETE FROM ipam_allocations WHERE pool = ?').run(name);
      this.db.prepare('DELETE FROM ipam_pools WHERE name = ?').run(name);
    });
  }

  /**
   * The owner's address in the pool: the one it already holds, else `wanted` (anywhere in the
   * subnet), else the next free one of the range after the last handed out.
   */
  allocate(name: string, owner: string, wanted?: string): string {
    return this.tx(() => {
      const p = this.row(name);
      if (!p) throw notFound(`network ${name} not found`);
      const family = p.family as Family;
      const want = wanted ? parseAddr(wanted) : undefined;
      const held = this.db.prepare('SELECT ip FROM ipam_allocations WHERE pool = ? AND owner = ?').get(name, owner) as
        { ip: string } | undefined;
      if (held && (!want || unhex(held.ip) === want.value)) return formatAddr(family, unhex(held.ip));
      if (held) this.db.prepare('DELETE FROM ipam_allocations WHERE pool = ? AND owner = ?').run(name, owner);
      const subnet: Prefix = { family, base: unhex(p.base), bits: p.bits };
      const size = prefixSize(subnet);
      const gateway = p.gateway === null ? undefined : unhex(p.gateway);
      const reserved = new Set((JSON.parse(p.reserved) as string[]).map(unhex));
      const taken = this.db.prepare('SELECT 1 FROM ipam_allocations WHERE pool = ? AND ip = ?');
      const usable = (ip: bigint) =>
        ip !== gateway &&
        !reserved.has(ip) &&
        // The subnet's own address, and IPv4's broadcast address, are nobody's.
        (size <= 2n || (ip !== subnet.base && (family === 6 || ip !== lastAddr(subnet))));
      let ip: bigint | undefined;
      if (want) {
        if (want.family !== family || !contains(subnet, family, want.value))
          throw invalidArgument(`Invalid address ${wanted}: It does not belong to any of this network's subnets`);
        // The gateway, a reserved address, the subnet's own: dockerd's words for all of them.
        if (!usable(want.value) || taken.get(name, hex(want.value))) throw conflict('Address already in use');
        ip = want.value;
      } else {
        const lo = p.range_base === null ? subnet.base : unhex(p.range_base);
        const hi = p.range_bits === null ? lastAddr(subnet) : lastAddr({ family, base: lo, bits: p.range_bits });
        const span = hi - lo + 1n;
        const count = (
          this.db.prepare('SELECT COUNT(*) AS n FROM ipam_allocations WHERE pool = ?').get(name) as {
            n: number;
          }
        ).n;
        // Every address that is not usable is taken, reserved, the gateway, or the subnet's first
        // or last: past that many candidates, one is free — unless the range is that small.
        const tries = span < BigInt(count + reserved.size + 4) ? span : BigInt(count + reserved.size + 4);
        const last = unhex(p.last);
        let at = last >= lo && last <= hi ? last - lo : span - 1n;
        for (let i = 0n; i < tries; i++) {
          at = (at + 1n) % span;
          const cand = lo + at;
          if (usable(cand) && !taken.get(name, hex(cand))) {
            ip = cand;
            break;
          }
        }
        if (ip === undefined) throw unavailableAddress(family, name);
        this.db.prepare('UPDATE ipam_pools SET last = ? WHERE name = ?').run(hex(ip), name);
      }
      this.db.prepare('INSERT INTO ipam_allocations (pool, ip, owner) VALUES (?, ?, ?)').run(name, hex(ip), owner);
      return formatAddr(family, ip);
    });
  }

  /** The owner's address in the pool, if it holds one. */
  lookup(name: string, owner: string): string | undefined {
    const p = this.row(name);
    const r = this.db.prepare('SELECT ip FROM ipam_allocations WHERE pool = ? AND owner = ?').get(name, owner) as
      { ip: string } | undefined;
    return r && p && formatAddr(p.family as Family, unhex(r.ip));
  }

  release(name: string, owner: string): void {
    this.db.prepare('DELETE FROM ipam_allocations WHERE pool = ? AND owner = ?').run(name, owner);
  }

  /** The pools the owner holds an address in (an index lookup: releases happen at every exit). */
  poolsOf(owner: string): string[] {
    return (
      this.db.prepare('SELECT pool FROM ipam_allocations WHERE owner = ?').all(owner) as Array<{ pool: string }>
    ).map((r) => r.pool);
  }

  /** Every allocation (for reconciling against the containers that exist). */
  all(): Allocation[] {
    const families = new Map(
      (this.db.prepare('SELECT name, family FROM ipam_pools').all() as Array<{ name: string; family: number }>).map(
        (r) => [r.name, r.family as Family],
      ),
    );
    return (
      this.db.prepare('SELECT pool, owner, ip FROM ipam_allocations').all() as Array<{
        pool: string;
        owner: string;
        ip: string;
      }>
    ).map((r) => ({ pool: r.pool, owner: r.owner, ip: formatAddr(families.get(r.pool) ?? 4, unhex(r.ip)) }));
  }

  close(): void {
    this.db.close();
  }

  private row(name: string): PoolRow | undefined {
    return this.db
      .prepare(
        'SELECT family, base, bits, gateway, range_base, range_bits, reserved, last FROM ipam_pools WHERE name = ?',
      )
      .get(name) as PoolRow | undefined;
  }

  private tx<T>(fn: () => T): T {
    return transaction(this.db, fn);
  }
}

function unavailableAddress(family: Family, pool: string): Error {
  return conflict(`no available IPv${family} addresses on this network's address pools: ${pool}`);
}
