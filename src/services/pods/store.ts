/**
 * Pod records: an in-memory map for reads, written through to the metadata database (table
 * `pods`, migration 4) on every change, as the container store does.
 */
import { invalidArgument, notFound } from '../../errdefs/index.ts';
import type { MetadataDb } from '../../metadata/index.ts';
import type { PodRecord } from './types.ts';

export class PodStore {
  private readonly db: MetadataDb;
  private readonly byId = new Map<string, PodRecord>();

  constructor(db: MetadataDb) {
    this.db = db;
    for (const row of db.stmt('SELECT record FROM pods ORDER BY created').all() as { record: string }[]) {
      const r = JSON.parse(row.record) as PodRecord;
      this.byId.set(r.Id, r);
    }
  }

  all(): PodRecord[] {
    return [...this.byId.values()];
  }

  /** By full ID, name or unique ID prefix. */
  find(ref: string): PodRecord | undefined {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    for (const r of this.byId.values()) if (r.Name === ref) return r;
    if (!/^[a-f0-9]+$/.test(ref)) return undefined;
    let found: PodRecord | undefined;
    for (const r of this.byId.values()) {
      if (r.Id.startsWith(ref)) {
        if (found) throw invalidArgument(`more than one result for pod ID ${ref}`);
        found = r;
      }
    }
    return found;
  }

  /** Podman's words for a missing pod (its clients match on them). */
  get(ref: string): PodRecord {
    const r = this.find(ref);
    if (!r) throw notFound(`no pod with name or ID ${ref} found: no such pod`);
    return r;
  }

  insert(r: PodRecord): void {
    this.db
      .stmt('INSERT INTO pods (id, name, created, record) VALUES (?, ?, ?, ?)')
      .run(r.Id, r.Name, r.Created, JSON.stringify(r));
    this.byId.set(r.Id, r);
  }

  /** Rewrites a record (the CRI keeps a sandbox's CNI addresses in its annotations once known). */
  update(r: PodRecord): void {
    this.db.stmt('UPDATE pods SET record = ? WHERE id = ?').run(JSON.stringify(r), r.Id);
    this.byId.set(r.Id, r);
  }

  delete(id: string): void {
    this.db.stmt('DELETE FROM pods WHERE id = ?').run(id);
    this.byId.delete(id);
  }
}
