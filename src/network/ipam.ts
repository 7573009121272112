/**
 * IP address management, persisted in its own SQLite database under the data root, so an
 * address is never handed out twice: not while its owner holds it, and not across restarts
 * or crashes (each allocation is one committed transaction before anyone uses the address).
 * Addresses are handed out round-robin from after the last one given, as Docker does, so a
 * freed address is not reused at once.
 */
import { DatabaseSync } from 'node:sqlite';
import { conflict, notFound, invalidArgument } from '../errdefs/index.ts';
import { transaction } from '../metadata/index.ts';
import { contains, intToIp, ipToInt, size, type Subnet } from './cidr.ts';

export interface Allocation {
  pool: string;
  owner: string;
  ip: string;
}

export class Ipam {
  private readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS pools (name TEXT PRIMARY KEY, base INTEGER NOT NULL, prefix INTEGER NOT NULL, gateway INTEGER NOT NULL, last INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS allocations (pool TEXT NOT NULL, ip INTEGER NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (pool, ip), UNIQUE (pool, owner));`);
  }

  /** Defines (or redefines, keeping allocations inside it) the pool `name`. */
  setPool(name: string, subnet: Subnet, gateway: number): void {
    this.tx(() => {
      const old = this.db.prepare('SELECT base, prefix FROM pools WHERE name = ?').get(name) as
        { base: number; prefix: number } | undefined;
      if (old && (old.base !== subnet.base || old.prefix !== subnet.prefix)) {
        for (const a of this.db.prepare('SELECT ip FROM allocations WHERE pool = ?').all(name) as Array<{
          ip: number;
        }>) {
          if (!contains(subnet, a.ip))
            this.db.prepare('DELETE FROM allocations WHERE pool = ? AND ip = ?').run(name, a.ip);
        }
      }
      this.db
        .prepare(
          'INSERT INTO pools (name, base, prefix, gateway, last) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET base = excluded.base, prefix = excluded.prefix, gateway = excluded.gateway',
        )
        .run(name, subnet.base, subnet.prefix, gateway, gateway);
    });
  }

  pool(name: string): { subnet: Subnet; gateway: string } | undefined {
    const p = this.db.prepare('SELECT base, prefix, gateway FROM pools WHERE name = ?').get(name) as
      { base: number; prefix: number; gateway: number } | undefined;
    return p && { subnet: { base: p.base, prefix: p.prefix }, gateway: intToIp(p.gateway) };
  }

  deletePool(name: string): void {
    this.tx(() => {
      this.db.prepare('DELETE FROM allocations WHERE pool = ?').run(name);
      this.db.prepare('DELETE FROM pools WHERE name = ?').run(name);
    });
  }

  /**
   * The owner's address in the pool: the one it already holds, else `wanted`, else the next
   * free one after the last handed out.
   */
  allocate(name: string, owner: string, wanted?: string): string {
    return this.tx(() => {
      const held = this.db.prepare('SELECT ip FROM allocations WHERE pool = ? AND owner = ?').get(name, owner) as
        { ip: number } | undefined;
      if (held && (!wanted || ipToInt(wanted) === held.ip)) return intToIp(held.ip);
      if (held) this.db.prepare('DELETE FROM allocations WHERE pool = ? AND owner = ?').run(name, owner);
      const p = this.db.prepare('SELECT base, prefix, gateway, last FROM pools WHERE name = ?').get(name) as
        { base: number; prefix: number; gateway: number; last: number } | undefined;
      if (!p) throw notFound(`network ${name} not found`);
      const n = size(p);
      const taken = this.db.prepare('SELECT 1 FROM allocations WHERE pool = ? AND ip = ?');
      const usable = (ip: number) => ip !== p.gateway && (n <= 2 || (ip !== p.base && ip !== p.base + n - 1));
      let ip: number | undefined;
      if (wanted) {
        const w = ipToInt(wanted);
        if (!contains(p, w) || !usable(w))
          throw invalidArgument(`invalid address ${wanted}: it does not belong to any of this network's subnets`);
        if (taken.get(name, w)) throw conflict(`Address already in use`);
        ip = w;
      } else {
        const start = contains(p, p.last) ? p.last - p.base : 0;
        for (let i = 1; i <= n; i++) {
          const cand = p.base + ((start + i) % n);
          if (usable(cand) && !taken.get(name, cand)) {
            ip = cand;
            break;
          }
        }
        if (ip === undefined) throw unavailableAddress(name);
        this.db.prepare('UPDATE pools SET last = ? WHERE name = ?').run(ip, name);
      }
      this.db.prepare('INSERT INTO allocations (pool, ip, owner) VALUES (?, ?, ?)').run(name, ip, owner);
      return intToIp(ip);
    });
  }

  /** The owner's address in the pool, if it holds one. */
  lookup(name: string, owner: string): string | undefined {
    const r = this.db.prepare('SELECT ip FROM allocations WHERE pool = ? AND owner = ?').get(name, owner) as
      { ip: number } | undefined;
    return r && intToIp(r.ip);
  }

  release(name: string, owner: string): void {
    this.db.prepare('DELETE FROM allocations WHERE pool = ? AND owner = ?').run(name, owner);
  }

  /** Every allocation (for reconciling against the containers that exist). */
  all(): Allocation[] {
    return (
      this.db.prepare('SELECT pool, owner, ip FROM allocations').all() as Array<{
        pool: string;
        owner: string;
        ip: number;
      }>
    ).map((r) => ({ pool: r.pool, owner: r.owner, ip: intToIp(r.ip) }));
  }

  close(): void {
    this.db.close();
  }

  private tx<T>(fn: () => T): T {
    return transaction(this.db, fn);
  }
}

function unavailableAddress(pool: string): Error {
  return conflict(`no available IPv4 addresses on this network's address pools: ${pool}`);
}
