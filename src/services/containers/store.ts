/**
 * Container records: an in-memory map for fast reads (`ps` never touches the disk), written
 * through to the metadata database on every change.
 */
import { notFound, invalidArgument } from '../../errdefs/index.ts';
import type { MetadataDb } from '../../metadata/index.ts';
import type { ContainerRecord } from './types.ts';

/** The length of a short ID (`docker ps`'s column, the CLI's requests). */
const SHORT = 12;

export class ContainerStore {
  private readonly db: MetadataDb;
  private readonly byId = new Map<string, ContainerRecord>();
  private readonly byName = new Map<string, string>();
  /**
   * IDs by their first 12 characters, the short ID every client shows and sends back:
   * `docker stats` over a thousand containers asks for each by it, and a scan of all the IDs a
   * request made the burst's lookups grow with the square of the containers.
   */
  private readonly byShort = new Map<string, string[]>();
  /** The name each record was last saved under: callers rename a record in place before saving it. */
  private readonly savedName = new Map<string, string>();
  /**
   * Names taken by creates still under way (volumes being made, the directory): a create
   * awaits between its name's check and its insert, and two at once must not both pass.
   */
  private readonly reserved = new Map<string, string>();
  /**
   * Each record's revision, a counter taken at its last insert or save: what a cache of a view
   * of the record (a `docker ps` row) checks to know the record did not change since.
   */
  private readonly revisions = new Map<string, number>();
  private revision = 0;

  constructor(db: MetadataDb) {
    this.db = db;
    for (const row of db.stmt('SELECT record FROM containers').all() as { record: string }[]) {
      const r = JSON.parse(row.record) as ContainerRecord;
      this.byId.set(r.Id, r);
      this.byName.set(r.Name, r.Id);
      this.savedName.set(r.Id, r.Name);
      this.addShort(r.Id);
    }
  }

  /** The record's revision (see `revisions`); changes with every insert and save of it. */
  revisionOf(id: string): number {
    return this.revisions.get(id) ?? 0;
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** By full ID, name (with or without the leading slash) or unique ID prefix. */
  find(ref: string): ContainerRecord | undefined {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.byName.get(ref.replace(/^\//, ''));
    if (byName) return this.byId.get(byName);
    if (!/^[a-f0-9]+$/.test(ref)) return undefined;
    const ids = ref.length >= SHORT ? (this.byShort.get(ref.slice(0, SHORT)) ?? []) : this.byId.keys();
    let found: ContainerRecord | undefined;
    for (const id of ids) {
      if (id.startsWith(ref)) {
        if (found) throw invalidArgument(`multiple IDs found with provided prefix: ${ref}`);
        found = this.byId.get(id);
      }
    }
    return found;
  }

  private addShort(id: string): void {
    const k = id.slice(0, SHORT);
    const ids = this.byShort.get(k);
    if (!ids) this.byShort.set(k, [id]);
    else if (!ids.includes(id)) ids.push(id);
  }

  private dropShort(id: string): void {
    const k = id.slice(0, SHORT);
    const ids = this.byShort.get(k)?.filter((x) => x !== id);
    if (ids?.length) this.byShort.set(k, ids);
    else this.byShort.delete(k);
  }

  get(ref: string): ContainerRecord {
    const r = this.find(ref);
    if (!r) throw notFound(`No such container: ${ref}`);
    return r;
  }

  nameOwner(name: string): string | undefined {
    return this.byName.get(name) ?? this.reserved.get(name);
  }

  /**
   * Holds `name` for the container `id` until its insert (or until the function returned is
   * called: the create failed). The caller has checked that nobody owns the name.
   */
  reserve(name: string, id: string): () => void {
    this.reserved.set(name, id);
    return () => {
      if (this.reserved.get(name) === id) this.reserved.delete(name);
    };
  }

  insert(r: ContainerRecord): void {
    this.db
      .stmt('INSERT INTO containers (id, name, image_id, created, record) VALUES (?, ?, ?, ?, ?)')
      .run(r.Id, r.Name, r.Image, r.Created, JSON.stringify(r));
    if (this.reserved.get(r.Name) === r.Id) this.reserved.delete(r.Name);
    this.byId.set(r.Id, r);
    this.byName.set(r.Name, r.Id);
    this.savedName.set(r.Id, r.Name);
    this.addShort(r.Id);
    this.revisions.set(r.Id, ++this.revision);
  }

  save(r: ContainerRecord): void {
    this.db.stmt('UPDATE containers SET name = ?, record = ? WHERE id = ?').run(r.Name, JSON.stringify(r), r.Id);
    const previous = this.savedName.get(r.Id);
    if (previous !== undefined && previous !== r.Name && this.byName.get(previous) === r.Id)
      this.byName.delete(previous);
    this.byId.set(r.Id, r);
    this.byName.set(r.Name, r.Id);
    this.savedName.set(r.Id, r.Name);
    this.revisions.set(r.Id, ++this.revision);
  }

  delete(id: string): void {
    const r = this.byId.get(id);
    this.db.stmt('DELETE FROM containers WHERE id = ?').run(id);
    this.byId.delete(id);
    if (r) this.dropShort(id);
    this.savedName.delete(id);
    this.revisions.delete(id);
    if (r && this.byName.get(r.Name) === id) this.byName.delete(r.Name);
  }
}
