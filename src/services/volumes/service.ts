/**
 * Docker's volume behaviour over the local driver: create (idempotent per name), list with
 * filters, inspect, remove (refused while any container references the volume, running or
 * not, even with force), prune, and the volume events.
 *
 * Who uses a volume is the container service's knowledge: it sets `usage` at construction
 * (the same pattern as the image service's `usage`), so this service needs no containers.
 */
import { conflict, invalidArgument } from '../../errdefs/index.ts';
import type { EventBus } from '../../events/index.ts';
import { LocalDriver, anonymousVolumeName, ANONYMOUS_LABEL, type VolumeRecord } from '../../volumes/index.ts';

export interface VolumeView {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number };
}

export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeListFilters {
  name?: string[];
  label?: string[];
  dangling?: boolean;
  driver?: string[];
}

export class VolumeService {
  readonly driver: LocalDriver;
  private readonly events: EventBus;
  /** IDs of the containers that reference a volume (set by the container service). */
  usage: (name: string) => string[] = () => [];

  constructor(driver: LocalDriver, events: EventBus) {
    this.driver = driver;
    this.events = events;
  }

  view(v: VolumeRecord): VolumeView {
    return {
      CreatedAt: v.CreatedAt,
      Driver: v.Driver,
      Labels: Object.keys(v.Labels).length ? v.Labels : null,
      Mountpoint: this.driver.path(v.Name),
      Name: v.Name,
      Options: Object.keys(v.Options).length ? v.Options : null,
      Scope: 'local',
    };
  }

  async create(req: CreateVolumeRequest = {}): Promise<VolumeView> {
    if (typeof req !== 'object' || req === null || Array.isArray(req)) throw invalidArgument('invalid volume config: expected a JSON object');
    const driver = req.Driver || 'local';
    if (driver !== 'local') throw invalidArgument(`create ${req.Name ?? ''}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    for (const [f, v] of [['DriverOpts', req.DriverOpts], ['Labels', req.Labels]] as const) {
      if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string'))) {
        throw invalidArgument(`invalid volume config: ${f} must be an object of strings`);
      }
    }
    const anonymous = !req.Name;
    const name = req.Name || anonymousVolumeName();
    const had = this.driver.find(name);
    const labels = { ...(req.Labels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
    const v = await this.driver.create(name, req.DriverOpts ?? {}, labels);
    if (!had) this.events.publish('volume', 'create', name, { driver: 'local' });
    return this.view(v);
  }

  /** Creates a volume for a container's mount (a named one only if it does not exist yet). */
  async ensure(name: string | undefined, opts: { labels?: Record<string, string>; driverOpts?: Record<string, string> } = {}): Promise<VolumeRecord> {
    if (name && this.driver.find(name)) return this.driver.get(name);
    const view = await this.create({ Name: name, Labels: opts.labels, DriverOpts: opts.driverOpts });
    return this.driver.get(view.Name);
  }

  inspect(name: string): VolumeView {
    return this.view(this.driver.get(name));
  }

  find(name: string): VolumeRecord | undefined {
    return this.driver.find(name);
  }

  list(f: VolumeListFilters = {}): VolumeView[] {
    return this.driver.list()
      .filter((v) => !f.name?.length || f.name.some((n) => v.Name.includes(n)))
      .filter((v) => !f.driver?.length || f.driver.includes(v.Driver))
      .filter((v) => matchLabels(v.Labels, f.label))
      .filter((v) => f.dangling === undefined || (this.usage(v.Name).length === 0) === f.dangling)
      .map((v) => this.view(v));
  }

  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    const v = this.driver.find(name);
    if (!v) {
      if (opts.force) return;
      this.driver.get(name);
    }
    const users = this.usage(name);
    if (users.length) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    await this.driver.remove(name);
    this.events.publish('volume', 'destroy', name, { driver: 'local' });
  }

  /** Removes unused volumes: anonymous ones only, unless `all`. */
  async prune(opts: { all?: boolean; labels?: string[] } = {}): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of this.driver.list()) {
      if (!opts.all && !(ANONYMOUS_LABEL in v.Labels)) continue;
      if (!matchLabels(v.Labels, opts.labels)) continue;
      if (this.usage(v.Name).length) continue;
      const size = await this.driver.size(v.Name);
      try {
        await this.remove(v.Name);
      } catch {
        continue;
      }
      reclaimed += size;
      deleted.push(v.Name);
    }
    if (deleted.length) this.events.publish('volume', 'prune', '', { reclaimed: String(reclaimed) });
    return { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /** Volumes with their sizes and reference counts, for `docker system df`. */
  async usageData(): Promise<VolumeView[]> {
    return Promise.all(this.driver.list().map(async (v) => ({
      ...this.view(v),
      UsageData: { Size: await this.driver.size(v.Name), RefCount: this.usage(v.Name).length },
    })));
  }
}

/** Docker's label filter: `key` (present), `key=value`, `key!=value`, and `!key` (absent). */
function matchLabels(labels: Record<string, string>, filters: string[] | undefined): boolean {
  if (!filters?.length) return true;
  return filters.every((l) => {
    if (l.startsWith('!')) return !(l.slice(1) in labels);
    const ne = l.indexOf('!=');
    if (ne > 0) return labels[l.slice(0, ne)] !== l.slice(ne + 2);
    const eq = l.indexOf('=');
    if (eq < 0) return l in labels;
    return labels[l.slice(0, eq)] === l.slice(eq + 1);
  });
}
