/**
 * Docker's volume behaviour over the local driver: create (idempotent per name), list with
 * filters, inspect, remove (refused while any container references the volume, running or
 * not, even with force), prune, and the volume events.
 *
 * Who uses a volume is the container service's knowledge: it sets `usage` at construction
 * (the same pattern as the image service's `usage`), so this service needs no containers.
 */
import { promises as fs } from 'node:fs';
import { dirname, relative } from 'node:path';
import { conflict, invalidArgument, notFound } from '../../errdefs/index.ts';
import { checkShape, type Shape } from '../../spec/index.ts';
import type { EventBus } from '../../events/index.ts';
import type { Volume, VolumeCreateRequest, VolumePruneReport } from '../../api/types/index.ts';
import type { Runner } from '../../host/index.ts';
import type { Mount as OciMount } from '../../oci/index.ts';
import { resolveInRoot } from '../../archive/index.ts';
import { LocalDriver, anonymousVolumeName, ANONYMOUS_LABEL, type VolumeRecord } from '../../volumes/index.ts';
import type { MountPoint, PlannedMount } from './mounts.ts';
import { checkPropagation, daemonRootRule, parseMountinfo, type MountInfoEntry } from './propagation.ts';

export interface VolumeListFilters {
  name?: string[];
  label?: string[];
  dangling?: boolean;
  driver?: string[];
}

/** A volume create request, as Docker's Go type declares it. */
const VOLUME_CONFIG: Shape = {
  fields: { Name: 'string', Driver: 'string', DriverOpts: { map: 'string' }, Labels: { map: 'string' } },
};

export class VolumeService {
  readonly driver: LocalDriver;
  private readonly events: EventBus;
  /** IDs of the containers that reference a volume (set by the container service). */
  usage: (name: string) => string[] = () => [];

  private readonly host?: Runner;
  /** Volumes each running container has mounted (released when it stops). */
  private readonly active = new Map<string, MountPoint[]>();

  constructor(driver: LocalDriver, events: EventBus, host?: Runner) {
    this.driver = driver;
    this.events = events;
    this.host = host;
  }

  view(v: VolumeRecord): Volume {
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

  async create(req: VolumeCreateRequest = {}): Promise<Volume> {
    if (typeof req !== 'object' || req === null || Array.isArray(req))
      throw invalidArgument('invalid volume config: expected a JSON object');
    checkShape(req, VOLUME_CONFIG, 'volume config');
    const anonymous = !req.Name;
    const name = req.Name || anonymousVolumeName();
    checkDriver(req.Driver, name);
    const labels = { ...(req.Labels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
    const v = await this.driver.create(name, req.DriverOpts ?? {}, labels);
    // dockerd reports every create, also of a volume that already existed.
    this.events.publish('volume', 'create', name, { driver: 'local' });
    return this.view(v);
  }

  /** Creates a volume for a container's mount (a named one only if it does not exist yet). */
  async ensure(
    name: string | undefined,
    opts: { labels?: Record<string, string>; driverOpts?: Record<string, string>; driver?: string } = {},
  ): Promise<VolumeRecord> {
    // As dockerd: the driver is looked up first, also for a volume that exists.
    checkDriver(opts.driver, name || anonymousVolumeName());
    if (name && this.driver.find(name)) {
      // As dockerd, which creates (and reports) each volume a container names.
      this.events.publish('volume', 'create', name, { driver: 'local' });
      return this.driver.get(name);
    }
    const view = await this.create({ Name: name, Labels: opts.labels, DriverOpts: opts.driverOpts });
    return this.driver.get(view.Name);
  }

  inspect(name: string): Volume {
    return this.view(this.driver.get(name));
  }

  find(name: string): VolumeRecord | undefined {
    return this.driver.find(name);
  }

  list(f: VolumeListFilters = {}): Volume[] {
    return this.driver
      .list()
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
  async prune(opts: { all?: boolean; labels?: string[] } = {}): Promise<VolumePruneReport> {
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

  // ---- containers' mounts ----

  /** Makes the volumes a new container's mounts need (named ones only if missing). */
  async prepare(planned: readonly PlannedMount[]): Promise<MountPoint[]> {
    const made: string[] = [];
    try {
      const out: MountPoint[] = [];
      for (const p of planned) {
        const { VolumeLabels, VolumeDriverOpts, PropagationGiven, ...m } = p;
        if (m.Type === 'bind') daemonRootRule(m, PropagationGiven, dirname(this.driver.root));
        if (m.Type === 'volume') {
          const existed = !!(m.Name && this.driver.find(m.Name));
          const v = await this.ensure(m.Name, {
            labels: VolumeLabels,
            driverOpts: VolumeDriverOpts,
            driver: m.Driver,
          });
          if (!existed) made.push(v.Name);
          m.Name = v.Name;
          m.Source = this.driver.path(v.Name);
        }
        out.push(m);
      }
      return out;
    } catch (e) {
      for (const name of made) if (!this.usage(name).length) await this.remove(name).catch(() => {});
      throw e;
    }
  }

  /**
   * Mounts what a container's mount points need for a start and returns its OCI mounts:
   * volumes mounted by their driver (and filled from the image when empty), `-v` bind sources
   * made when missing, destinations resolved inside the root file system.
   */
  async mountAll(containerId: string, mps: readonly MountPoint[], rootfs: string): Promise<OciMount[]> {
    const used: MountPoint[] = [];
    const out: OciMount[] = [];
    let mountinfo: MountInfoEntry[] | undefined;
    try {
      for (const m of mps) {
        const dest = await inRoot(rootfs, m.Destination);
        if (m.Type === 'tmpfs') {
          out.push({
            destination: dest.container,
            type: 'tmpfs',
            source: 'tmpfs',
            options: [...(m.TmpfsOptions ?? []), ...(m.RW ? [] : ['ro'])],
          });
          continue;
        }
        let source = m.Source;
        if (m.Type === 'volume') {
          source = await this.driver.mount(m.Name!, containerId);
          used.push(m);
          // Only while no running container has the volume: one could plant a symlink in it
          // for the copy to follow out of the volume.
          if (!m.NoCopy && this.host && !this.inUseByOthers(m.Name!, containerId) && (await isEmptyDir(source))) {
            // dockerd's copy-up refuses an image file where the volume goes, in its words (the
            // runtime's "not a directory" would come later and blame the mount).
            const st = await fs.stat(dest.host).catch(() => undefined);
            if (st && !st.isDirectory()) throw invalidArgument(`source ${dest.host} is not directory`);
            if (!(await isEmptyDir(dest.host))) await this.host.run('cp', ['-a', '--', `${dest.host}/.`, `${source}/`]);
          }
          this.events.publish('volume', 'mount', m.Name!, {
            container: containerId,
            destination: m.Destination,
            driver: 'local',
            propagation: m.Propagation,
            'read/write': String(m.RW),
          });
        } else if (!(await exists(source))) {
          if (!m.CreateSource)
            throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
          await fs.mkdir(source, { recursive: true, mode: 0o755 });
        }
        let propagation = m.Propagation || 'rprivate';
        if (m.Type === 'bind' && !propagation.endsWith('private')) {
          mountinfo ??= parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8'));
          try {
            checkPropagation(source, propagation, mountinfo, await fs.realpath(source));
          } catch (e) {
            // Docker's fallback for the slave propagation it chose itself: a private bind.
            if (!m.DefaultSlave) throw e;
            propagation = 'rprivate';
          }
        }
        // crun ORs a recursive propagation option's MS_REC into the bind itself, which then
        // carries the source's submounts: a non-recursive bind (it has none of its own) takes
        // the non-recursive form of its propagation.
        const prop = m.NonRecursive ? propagation.replace(/^r/, '') : propagation;
        out.push({
          destination: dest.container,
          type: 'bind',
          source,
          options: [
            m.NonRecursive ? 'bind' : 'rbind',
            prop,
            ...(m.RW ? [] : ['ro']),
            ...recursiveReadOnly(m, (await fs.stat(source)).isDirectory()),
          ],
        });
      }
    } catch (e) {
      await this.unmountVolumes(containerId, used);
      throw e;
    }
    if (used.length) this.active.set(containerId, used);
    return out;
  }

  /** Refuses a start whose `--mount` bind sources are gone (volumes and `-v` binds are made). */
  async checkSources(mps: readonly MountPoint[]): Promise<void> {
    for (const m of mps) {
      if (m.Type === 'bind' && !m.CreateSource && !(await exists(m.Source))) {
        throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
      }
    }
  }

  private inUseByOthers(name: string, containerId: string): boolean {
    for (const [id, used] of this.active) if (id !== containerId && used.some((m) => m.Name === name)) return true;
    return false;
  }

  /** After a container stops: its volumes are released (idempotent). */
  async release(containerId: string): Promise<void> {
    const used = this.active.get(containerId);
    if (!used) return;
    this.active.delete(containerId);
    await this.unmountVolumes(containerId, used);
  }

  /** A container found running at daemon start keeps its volumes. */
  adopt(containerId: string, mps: readonly MountPoint[]): void {
    const used = mps.filter((m) => m.Type === 'volume' && this.driver.find(m.Name!));
    for (const m of used) this.driver.adopt(m.Name!, containerId);
    if (used.length) this.active.set(containerId, used);
  }

  /** Called once containers are restored: releases mounts that no container holds any more. */
  async unmountUnused(): Promise<void> {
    await this.driver.unmountUnused();
  }

  private async unmountVolumes(containerId: string, used: readonly MountPoint[]): Promise<void> {
    for (const m of used) {
      await this.driver.unmount(m.Name!, containerId).catch(() => {});
      this.events.publish('volume', 'unmount', m.Name!, { container: containerId, driver: 'local' });
    }
  }

  /** `docker rm -v`: a removed container's anonymous volumes that nobody else uses go. */
  async removeAnonymous(mps: readonly MountPoint[] | undefined): Promise<void> {
    for (const m of mps ?? []) {
      if (m.Type !== 'volume' || !m.Anonymous || !m.Name) continue;
      if (this.usage(m.Name).length) continue;
      await this.remove(m.Name).catch(() => {});
    }
  }

  /** Volumes with their sizes and reference counts, for `docker system df`. */
  async usageData(): Promise<Volume[]> {
    return Promise.all(
      this.driver.list().map(async (v) => ({
        ...this.view(v),
        UsageData: { Size: await this.driver.size(v.Name), RefCount: this.usage(v.Name).length },
      })),
    );
  }
}

/**
 * Docker (API 1.44 and later) makes a read-only bind read-only all the way down: its submounts
 * too (the runtime's `rro`), unless asked to leave them (`bind-recursive=writable`) or the
 * bind is not recursive at all. Only a directory can have submounts: a file gets plain `ro`,
 * and must (crun 1.8 opens an `rro` target as a directory and fails on a file).
 */
function recursiveReadOnly(m: MountPoint, sourceIsDir: boolean): string[] {
  return sourceIsDir && m.Type === 'bind' && !m.RW && !m.NonRecursive && !m.ReadOnlyNonRecursive ? ['rro'] : [];
}

/** The mount point's destination resolved inside `rootfs` (symlinks followed, never out of it). */
async function inRoot(rootfs: string, dest: string): Promise<{ host: string; container: string }> {
  const host = await resolveInRoot(rootfs, dest.replace(/^\/+/, ''));
  if (host === undefined)
    throw invalidArgument(`invalid mount config: mount destination ${dest}: a component on the way is not a directory`);
  return { host, container: `/${relative(rootfs, host)}` };
}

async function exists(path: string): Promise<boolean> {
  return fs.lstat(path).then(
    () => true,
    () => false,
  );
}

async function isEmptyDir(path: string): Promise<boolean> {
  return (await fs.readdir(path).catch(() => [])).length === 0;
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

/**
 * Only the local driver is there: any other is dockerd's "plugin not found", a 404 (the name is
 * the volume's, a generated one for an anonymous volume, as dockerd words it).
 */
function checkDriver(driver: string | undefined, name: string): void {
  if (!driver || driver === 'local') return;
  throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
}
