/**
 * Running a project against a daemon: the operations behind `berth compose up/down/...`.
 *
 * Lifecycle: a `ComposeEngine` is made per command for one loaded `Project` and one client,
 * and is used once. It finds the project's containers by their labels (never by name), so it
 * works on what any compose v2 (or an earlier Berth) made. Everything it does is reported
 * through `Reporter` as compose's progress events; it prints nothing itself. Builds go
 * through the `Builder` the caller gives (the CLI packs build contexts).
 */
import { isNotFound, type ContainerSummary, type EngineClient } from '../client/index.ts';
import { dependencyOrder, withDependencies } from './graph.ts';
import {
  L,
  configHash,
  containerName,
  createRequest,
  endpointFor,
  imageName,
  networkRequest,
  replicas,
  sortedNetworks,
  volumeRequest,
  type ReplicaOptions,
} from './convert.ts';
import type { Project, Service } from './model.ts';

export type Resource = 'Network' | 'Volume' | 'Container' | 'Image' | 'Service';

/** Progress: one line per resource and state change, as compose v2 prints them. */
export interface Reporter {
  /** `done` marks a final state (Created, Started, Removed ...); others are in progress. */
  event(kind: Resource, name: string, status: string, done: boolean): void;
  warn(message: string): void;
}

/** Builds a service's image and tags it `tag`. */
export interface Builder {
  build(project: Project, service: Service, tag: string, opts: { noCache?: boolean; pull?: boolean }): Promise<void>;
}

export interface UpOptions {
  readonly services?: readonly string[];
  readonly build?: 'always' | 'never' | 'auto';
  /** `--pull`: overrides every service's pull_policy. */
  readonly pull?: 'always' | 'missing' | 'never';
  readonly forceRecreate?: boolean;
  readonly noRecreate?: boolean;
  readonly removeOrphans?: boolean;
  readonly scale?: Readonly<Record<string, number>>;
  readonly noStart?: boolean;
  readonly noDeps?: boolean;
  readonly wait?: boolean;
  readonly timeout?: number;
}

export interface DownOptions {
  readonly volumes?: boolean;
  readonly rmi?: 'local' | 'all';
  readonly removeOrphans?: boolean;
  readonly timeout?: number;
}

export const num = (c: ContainerSummary): number => Number(c.Labels?.[L.number] ?? 0);
export const nameOf = (c: ContainerSummary): string => (c.Names[0] ?? c.Id).replace(/^\//, '');
export const serviceOf = (c: ContainerSummary): string => c.Labels?.[L.service] ?? '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ComposeEngine {
  readonly client: EngineClient;
  readonly project: Project;
  readonly reporter: Reporter;
  readonly builder?: Builder;

  constructor(client: EngineClient, project: Project, reporter: Reporter, builder?: Builder) {
    this.client = client;
    this.project = project;
    this.reporter = reporter;
    this.builder = builder;
  }

  /** The project's containers, services' first (by service, then number); `oneoff` selects `run` containers. */
  async containers(
    o: { all?: boolean; services?: readonly string[]; oneoff?: boolean | 'any' } = {},
  ): Promise<ContainerSummary[]> {
    const label = [`${L.project}=${this.project.name}`];
    if (o.oneoff !== 'any') label.push(`${L.oneoff}=${o.oneoff ? 'True' : 'False'}`);
    const list = await this.client.containerList({ all: o.all, filters: { label } });
    return list
      .filter((c) => !o.services?.length || o.services.includes(serviceOf(c)))
      .sort(
        (a, b) => serviceOf(a).localeCompare(serviceOf(b)) || num(a) - num(b) || nameOf(a).localeCompare(nameOf(b)),
      );
  }

  /** Services named on the command line must exist (enabled or not). */
  checkServices(names: readonly string[] = []): void {
    // a project known only by name has no list to check against
    if (!this.project.configFiles.length) return;
    for (const n of names) if (!this.project.services[n]) throw new Error(`no such service: ${n}`);
  }

  async ensureNetworks(services: readonly string[]): Promise<void> {
    const used = new Set(services.flatMap((s) => Object.keys(this.project.services[s]?.networks ?? {})));
    for (const [key, n] of Object.entries(this.project.networks)) {
      if (!used.has(key)) continue;
      let existing;
      try {
        existing = await this.client.networkInspect(n.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (n.external) {
        if (!existing) throw new Error(`network ${n.name} declared as external, but could not be found`);
        continue;
      }
      if (existing) {
        const owner = existing.Labels?.[L.project];
        if (owner !== undefined && owner !== this.project.name)
          this.reporter.warn(
            `a network with name ${n.name} exists but was not created for project "${this.project.name}".\nSet \`external: true\` to use an existing network`,
          );
        continue;
      }
      this.reporter.event('Network', n.name, 'Creating', false);
      await this.client.networkCreate(networkRequest(this.project, key, n));
      this.reporter.event('Network', n.name, 'Created', true);
    }
  }

  async ensureVolumes(services: readonly string[]): Promise<void> {
    const used = new Set(
      services.flatMap((s) =>
        (this.project.services[s]?.volumes ?? []).filter((v) => v.type === 'volume' && v.source).map((v) => v.source!),
      ),
    );
    for (const [key, v] of Object.entries(this.project.volumes)) {
      if (!used.has(key)) continue;
      let exists = true;
      try {
        await this.client.volumeInspect(v.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        exists = false;
      }
      if (v.external) {
        if (!exists) throw new Error(`external volume "${v.name}" not found`);
        continue;
      }
      if (exists) continue;
      this.reporter.event('Volume', `"${v.name}"`, 'Creating', false);
      await this.client.volumeCreate(volumeRequest(this.project, key, v));
      this.reporter.event('Volume', `"${v.name}"`, 'Created', true);
    }
  }

  /** The image ID of a service's image, or undefined if the daemon has none. */
  async imageId(s: Service): Promise<string | undefined> {
    try {
      return (await this.client.imageInspect(imageName(this.project, s))).Id;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Builds and pulls what `up`/`create` need: `build: always` rebuilds, `never` refuses to. */
  async ensureImages(
    services: readonly string[],
    build: 'always' | 'never' | 'auto' = 'auto',
    pull?: 'always' | 'missing' | 'never',
  ): Promise<void> {
    for (const name of services) {
      const s = this.project.services[name]!;
      const policy = pull ?? s.pull_policy ?? 'missing';
      const have = await this.imageId(s);
      if (s.build && build !== 'never' && (build === 'always' || policy === 'build' || !have)) {
        await this.build([name]);
        continue;
      }
      if (have && policy !== 'always') continue;
      if (s.build && !have)
        throw new Error(
          `service "${name}" has no image "${imageName(this.project, s)}": build it first (run without --no-build)`,
        );
      if (policy === 'never')
        throw new Error(
          `image "${imageName(this.project, s)}" of service "${name}" is not present and pull_policy is never`,
        );
      await this.pull([name]);
    }
  }

  async build(services: readonly string[], opts: { noCache?: boolean; pull?: boolean } = {}): Promise<void> {
    for (const name of services) {
      const s = this.project.services[name]!;
      if (!s.build) continue;
      if (!this.builder) throw new Error('building is not available here');
      const tag = imageName(this.project, s);
      this.reporter.event('Service', name, 'Building', false);
      await this.builder.build(this.project, s, tag, opts);
      this.reporter.event('Service', name, 'Built', true);
    }
  }

  async pull(services: readonly string[], o: { ignoreFailures?: boolean } = {}): Promise<void> {
    for (const name of services) {
      const s = this.project.services[name]!;
      if (!s.image || (s.build && !o.ignoreFailures && s.pull_policy === 'build')) continue;
      const { repo, tag } = splitImage(s.image);
      this.reporter.event('Image', s.image, 'Pulling', false);
      try {
        const stream = await this.client.imagePull(repo, { tag });
        for await (const m of stream) {
          if (m.error || m.errorDetail) throw new Error(m.errorDetail?.message ?? m.error);
        }
      } catch (e) {
        this.reporter.event('Image', s.image, 'Error', true);
        if (o.ignoreFailures) {
          this.reporter.warn(`${name}: ${(e as Error).message}`);
          continue;
        }
        throw e;
      }
      this.reporter.event('Image', s.image, 'Pulled', true);
    }
  }

  /** Containers of services no longer in the file (services disabled by profiles are not orphans). */
  async orphans(): Promise<ContainerSummary[]> {
    const known = new Set([...Object.keys(this.project.services), ...this.project.disabled]);
    return (await this.containers({ all: true })).filter((c) => !known.has(serviceOf(c)));
  }

  async up(o: UpOptions = {}): Promise<void> {
    this.checkServices(o.services);
    const targets = o.services?.length
      ? o.noDeps
        ? [...o.services]
        : withDependencies(this.project.services, o.services)
      : dependencyOrder(this.project.services);
    await this.ensureNetworks(targets);
    await this.ensureVolumes(targets);
    await this.ensureImages(targets, o.build, o.pull);
    const orphans = await this.orphans();
    if (orphans.length && o.removeOrphans) {
      for (const c of orphans) await this.removeContainer(c, { stop: true, timeout: o.timeout });
    } else if (orphans.length) {
      this.reporter.warn(
        `Found orphan containers ([${orphans.map(nameOf).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
      );
    }
    const recreated = new Set<string>();
    for (const name of targets) if (await this.converge(this.project.services[name]!, o)) recreated.add(name);
    if (o.noStart) return;
    await this.start(targets, { recreated });
    if (o.wait) await this.waitHealthy(targets);
  }

  /** Makes a service's containers match its config: scale, recreate the changed, create the missing. True if it recreated any. */
  private async converge(s: Service, o: UpOptions): Promise<boolean> {
    let recreated = false;
    const want = replicas(s, o.scale);
    const hash = configHash(s);
    const imageId = await this.imageId(s);
    const existing = await this.containers({ all: true, services: [s.name] });
    const keep = existing.slice(0, want);
    for (const c of existing.slice(want).reverse()) await this.removeContainer(c, { stop: true, timeout: o.timeout });
    const taken = new Set<number>();
    for (const c of keep) {
      const diverged =
        c.Labels?.[L.hash] !== hash ||
        (imageId !== undefined && c.Labels?.[L.image] !== undefined && c.Labels[L.image] !== imageId);
      if (o.forceRecreate || (diverged && !o.noRecreate)) {
        await this.recreate(s, c, imageId, o.timeout);
        recreated = true;
      }
      taken.add(num(c));
    }
    for (let n = 1; taken.size < want; n++) {
      if (taken.has(n)) continue;
      await this.createReplica(s, n, imageId);
      taken.add(n);
    }
    return recreated;
  }

  private async serviceContainerId(service: string): Promise<string | undefined> {
    return (await this.containers({ all: true, services: [service] }))[0]?.Id;
  }

  async createReplica(
    s: Service,
    n: number,
    imageId: string | undefined,
    extra: Partial<ReplicaOptions> & { name?: string } = {},
  ): Promise<string> {
    const name = extra.name ?? containerName(this.project, s, n);
    let modeTarget: string | undefined;
    if (s.network_mode?.startsWith('service:')) modeTarget = await this.serviceContainerId(s.network_mode.slice(8));
    const req = createRequest(this.project, s, { number: n, imageId, serviceContainer: () => modeTarget, ...extra });
    this.reporter.event('Container', name, 'Creating', false);
    const res = await this.client.containerCreate(req, { name, platform: s.platform });
    for (const w of res.Warnings ?? []) this.reporter.warn(w);
    // the other networks: connected after create, each with its aliases
    if (!s.network_mode) {
      for (const key of sortedNetworks(s).slice(1)) {
        const net = this.project.networks[key]!;
        await this.client.networkConnect(net.name, res.Id, endpointFor(this.project, s, key, { oneoff: extra.oneoff }));
      }
    }
    this.reporter.event('Container', name, 'Created', true);
    return res.Id;
  }

  /** compose v2's recreate: stop the old one, rename it aside, create the new one, remove the old. */
  private async recreate(
    s: Service,
    c: ContainerSummary,
    imageId: string | undefined,
    timeout?: number,
  ): Promise<void> {
    const name = nameOf(c);
    this.reporter.event('Container', name, 'Recreate', false);
    if (c.State === 'running' || c.State === 'paused' || c.State === 'restarting')
      await this.client.containerStop(c.Id, timeout !== undefined ? { timeout } : {});
    // anonymous volumes (not the project's named ones, not binds) move to the new container
    const info = await this.client.containerInspect(c.Id);
    const named = new Set(Object.values(this.project.volumes).map((v) => v.name));
    const anonymousVolumes: Record<string, string> = {};
    for (const m of info.Mounts ?? [])
      if (m.Type === 'volume' && m.Name && !named.has(m.Name) && /^[0-9a-f]{64}$/.test(m.Name))
        anonymousVolumes[m.Destination] = m.Name;
    await this.client.containerRename(c.Id, `${c.Id.slice(0, 12)}_${name}`);
    await this.createReplica(s, num(c), imageId, { name, anonymousVolumes });
    await this.client.containerRemove(c.Id, { force: true });
    this.reporter.event('Container', name, 'Recreated', true);
  }

  /** Starts services' containers in dependency order, waiting for each dependency's condition first. */
  async start(services: readonly string[], o: { recreated?: ReadonlySet<string> } = {}): Promise<void> {
    const order = dependencyOrder(this.project.services).filter((n) => services.includes(n));
    for (const name of order) {
      const s = this.project.services[name]!;
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        if (!this.project.services[dep]) continue;
        await this.waitCondition(dep, cond.condition);
      }
      // `depends_on: {x: {restart: true}}`: a running dependent restarts when x was recreated
      const restart =
        !o.recreated?.has(name) &&
        Object.entries(s.depends_on ?? {}).some(([d, c]) => c.restart && o.recreated?.has(d));
      for (const c of await this.containers({ all: true, services: [name] })) {
        if (c.State === 'running' && restart) {
          this.reporter.event('Container', nameOf(c), 'Restarting', false);
          await this.client.containerRestart(c.Id);
          this.reporter.event('Container', nameOf(c), 'Restarted', true);
          continue;
        }
        if (c.State === 'running') continue;
        this.reporter.event('Container', nameOf(c), 'Starting', false);
        if (c.State === 'paused') await this.client.containerUnpause(c.Id);
        else await this.client.containerStart(c.Id);
        this.reporter.event('Container', nameOf(c), 'Started', true);
      }
    }
  }

  /** Waits for `depends_on` conditions: healthy, or exited 0. */
  private async waitCondition(service: string, condition: string): Promise<void> {
    if (condition === 'service_started') return;
    for (const c of await this.containers({ all: true, services: [service] })) {
      const name = nameOf(c);
      this.reporter.event('Container', name, 'Waiting', false);
      for (;;) {
        const info = await this.client.containerInspect(c.Id);
        if (condition === 'service_healthy') {
          const h = (info.State as { Health?: { Status?: string } }).Health;
          if (!h) throw new Error(`dependency failed to start: container ${name} has no healthcheck configured`);
          if (h.Status === 'healthy') {
            this.reporter.event('Container', name, 'Healthy', true);
            break;
          }
          if (h.Status === 'unhealthy') throw new Error(`dependency failed to start: container ${name} is unhealthy`);
          if (!info.State.Running)
            throw new Error(`dependency failed to start: container ${name} exited (${info.State.ExitCode})`);
        } else if (!info.State.Running && info.State.Status !== 'created') {
          if (info.State.ExitCode !== 0)
            throw new Error(`service "${service}" didn't complete successfully: exit ${info.State.ExitCode}`);
          this.reporter.event('Container', name, 'Exited', true);
          break;
        }
        await sleep(250);
      }
    }
  }

  /** `up --wait`: every container running, and healthy where it has a health check. */
  async waitHealthy(services: readonly string[]): Promise<void> {
    // a one-shot service others wait on to complete may end, if it ends well
    const oneShot = new Set(
      Object.values(this.project.services).flatMap((s) =>
        Object.entries(s.depends_on ?? {})
          .filter(([, c]) => c.condition === 'service_completed_successfully')
          .map(([d]) => d),
      ),
    );
    for (const c of await this.containers({ all: true, services })) {
      const name = nameOf(c);
      this.reporter.event('Container', name, 'Waiting', false);
      for (;;) {
        const info = await this.client.containerInspect(c.Id);
        const h = (info.State as { Health?: { Status?: string } }).Health;
        if (
          !info.State.Running &&
          oneShot.has(serviceOf(c)) &&
          info.State.ExitCode === 0 &&
          info.State.Status === 'exited'
        ) {
          this.reporter.event('Container', name, 'Exited', true);
          break;
        }
        if (!info.State.Running) throw new Error(`container ${name} exited (${info.State.ExitCode})`);
        if (h?.Status === 'unhealthy') throw new Error(`container ${name} is unhealthy`);
        if (!h || h.Status === 'healthy') break;
        await sleep(250);
      }
      if (this.project.services[serviceOf(c)]?.healthcheck || (await this.client.containerInspect(c.Id)).State.Running)
        this.reporter.event('Container', name, 'Healthy', true);
    }
  }

  async stop(services?: readonly string[], timeout?: number): Promise<void> {
    const order = dependencyOrder(this.project.services).reverse();
    const list = await this.containers({ services });
    const byService = (n: string) => list.filter((c) => serviceOf(c) === n);
    const rest = list.filter((c) => !order.includes(serviceOf(c)));
    for (const group of [...order.map(byService), rest]) {
      for (const c of group) {
        this.reporter.event('Container', nameOf(c), 'Stopping', false);
        await this.client.containerStop(c.Id, timeout !== undefined ? { timeout } : {});
        this.reporter.event('Container', nameOf(c), 'Stopped', true);
      }
    }
  }

  async removeContainer(
    c: ContainerSummary,
    o: { stop?: boolean; timeout?: number; volumes?: boolean } = {},
  ): Promise<void> {
    const name = nameOf(c);
    if (o.stop && (c.State === 'running' || c.State === 'paused' || c.State === 'restarting')) {
      this.reporter.event('Container', name, 'Stopping', false);
      await this.client.containerStop(c.Id, o.timeout !== undefined ? { timeout: o.timeout } : {});
      this.reporter.event('Container', name, 'Stopped', true);
    }
    this.reporter.event('Container', name, 'Removing', false);
    // anonymous volumes handed over by a recreate were mounted by name, so the daemon's
    // `rm -v` no longer sees them as this container's own: remove them here
    const anonymous = o.volumes
      ? (c.Mounts ?? [])
          .filter((m) => m.Type === 'volume' && m.Name && /^[0-9a-f]{64}$/.test(m.Name))
          .map((m) => m.Name!)
      : [];
    try {
      await this.client.containerRemove(c.Id, { force: true, volumes: o.volumes });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    for (const v of anonymous) await this.client.volumeRemove(v).catch(() => {});
    this.reporter.event('Container', name, 'Removed', true);
  }

  async down(o: DownOptions = {}): Promise<void> {
    const order = dependencyOrder(this.project.services).reverse();
    const all = await this.containers({ all: true, oneoff: 'any' });
    const known = new Set([...Object.keys(this.project.services), ...this.project.disabled]);
    const byName = !this.project.configFiles.length;
    const orphans = all.filter((c) => !byName && !known.has(serviceOf(c)));
    const mine = all.filter((c) => byName || known.has(serviceOf(c)));
    const rank = (c: ContainerSummary) => {
      const i = order.indexOf(serviceOf(c));
      return i < 0 ? order.length : i;
    };
    mine.sort((a, b) => rank(a) - rank(b));
    for (const c of mine) await this.removeContainer(c, { stop: true, timeout: o.timeout, volumes: o.volumes });
    if (o.removeOrphans)
      for (const c of orphans) await this.removeContainer(c, { stop: true, timeout: o.timeout, volumes: o.volumes });
    else if (orphans.length)
      this.reporter.warn(
        `Found orphan containers ([${orphans.map(nameOf).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
      );

    // the file's networks, and any other network labelled with the project (a service removed
    // from the file, or `down -p name` without a file)
    const nets = Object.values(this.project.networks)
      .filter((n) => !n.external)
      .map((n) => n.name);
    for (const n of await this.client.networkList({ label: [`${L.project}=${this.project.name}`] }))
      if (!nets.includes(n.Name)) nets.push(n.Name);
    for (const name of nets) {
      const n = { name };
      let net;
      try {
        net = await this.client.networkInspect(n.name);
      } catch (e) {
        if (isNotFound(e)) continue;
        throw e;
      }
      if (net.Labels?.[L.project] !== undefined && net.Labels[L.project] !== this.project.name) continue;
      this.reporter.event('Network', n.name, 'Removing', false);
      await this.client.networkRemove(net.Id ?? n.name);
      this.reporter.event('Network', n.name, 'Removed', true);
    }
    if (o.volumes) {
      const vols = Object.values(this.project.volumes)
        .filter((v) => !v.external)
        .map((v) => v.name);
      for (const v of (await this.client.volumeList({ label: [`${L.project}=${this.project.name}`] })).Volumes ?? [])
        if (!vols.includes(v.Name)) vols.push(v.Name);
      for (const name of vols) {
        const v = { name };
        try {
          const info = await this.client.volumeInspect(v.name);
          if (info.Labels?.[L.project] !== undefined && info.Labels[L.project] !== this.project.name) continue;
        } catch (e) {
          if (isNotFound(e)) continue;
          throw e;
        }
        this.reporter.event('Volume', v.name, 'Removing', false);
        await this.client.volumeRemove(v.name);
        this.reporter.event('Volume', v.name, 'Removed', true);
      }
    }
    if (o.rmi) {
      const images = new Set<string>();
      for (const s of Object.values(this.project.services))
        if (o.rmi === 'all' || !s.image) images.add(imageName(this.project, s));
      for (const img of images) {
        try {
          await this.client.imageRemove(img);
          this.reporter.event('Image', img, 'Removed', true);
        } catch (e) {
          if (!isNotFound(e)) this.reporter.warn(`${img}: ${(e as Error).message}`);
        }
      }
    }
  }
}

/** `repo[:tag]` or `repo@digest` for POST /images/create. */
export function splitImage(image: string): { repo: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repo: image.slice(0, at), tag: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/')) return { repo: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repo: image, tag: 'latest' };
}
