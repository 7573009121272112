/**
 * The container service: Docker's container lifecycle on top of the runtime drivers. This file
 * is the service's face — its public operations, their guards, locks, state changes and
 * events — and hands the work to the parts beside it, each named for what it does (moby's
 * `daemon/*.go`, youki's `container_*.rs`):
 *
 *   context.ts    the shared state: dependencies, records, locks, setState, emit
 *   create.ts     the record of a new container, from the request and its image (pure)
 *   tasks.ts      a task's making: mounts, root file system, spec, the runtime's create; tasks created ahead
 *   pool.ts       the warm pool: sandboxes made before the request (poolfit.ts: which requests fit)
 *   endpoints.ts  network endpoints, published ports, network connect and disconnect
 *   monitor.ts    exits, restart policies and their back-off, log rotation (moby's monitor.go)
 *   start.ts      a start: ports, the task, the running state; a failed start recorded as Docker does
 *   wait.ts       docker wait's conditions
 *   kill.ts       stop and kill
 *   removal.ts    what a removal leaves to clean up
 *   restore.ts    the containers across a daemon's restart
 *   archive.ts    export, diff, commit, cp
 *   stats.ts, sampler.ts, top.ts, update.ts, stdin.ts, runtimes.ts   docker stats (one sampler for all its requests), top, update, the stdin pump and attach, the runtimes by name
 *   names.ts      random names, and the rules for names users give (create, rename)
 *   checkpoints.ts, migration.ts                     docker checkpoint create/ls/rm, start --checkpoint; export/import
 *
 * Every state change goes through one place (`setState`) that persists the record; operations
 * on one container are serialised by a per-container lock, so an exit that arrives during
 * `stop` or `rm` is handled in order.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { delay } from '../../async/index.ts';
import { directorySize } from '../../fs/index.ts';
import { conflict, notFound, notImplemented } from '../../errdefs/index.ts';
import type { ContainerStore } from './store.ts';
import { ContainerContext, type ContainerServiceDeps } from './context.ts';
import { checkName, freeRandomName, nameTaken, newName } from './names.ts';
import { guard } from './state.ts';
import { Starter } from './start.ts';
import { checkWaitCondition, waitFor, type WaitResult } from './wait.ts';
import type { ContainerDefaults, ContainerRecord } from './types.ts';
import type { ContainerCreateRequest as CreateRequest, Health, HostConfig, PathStat } from '../../api/types/index.ts';
import { attachStdin } from './stdin.ts';
import { applyUpdate, checkUpdateRequest, type UpdateRequest } from './update.ts';
import { checkCreateRequest, checkPlatform, newRecord } from './create.ts';
import { hostConfigWarnings } from './hostconfig.ts';
import { Endpoints, type EndpointSettings } from './endpoints.ts';
import { Tasks } from './tasks.ts';
import { WarmPool, type PoolStatus, type Sandbox } from './pool.ts';
import { Monitor } from './monitor.ts';
import { Archive, type CommitRequest } from './archive.ts';
import { Checkpoints } from './checkpoints.ts';
import { Migration } from './migration.ts';
import { containerSampler, containerStats } from './stats.ts';
import type { StatsSampler } from './sampler.ts';
import { Removal } from './removal.ts';
import { DaemonRestore } from './restore.ts';
import { Signals } from './kill.ts';
import { logsReadable } from './logopts.ts';
import type { Change } from '../../archive/index.ts';
import type { LogLine, ReadLogOptions } from '../../runtime/index.ts';
import { containerTop, type ProcessTable } from './top.ts';
import { imageNameOf, imageNamer, SummaryRows } from './views.ts';
import { linksToEndpoint, withoutLink } from './links.ts';
import type { Readable } from 'node:stream';
import { checkRemapped } from './userns.ts';
import { checkRootless } from './rootless.ts';
import { cgroupVersion } from '../../oci/index.ts';
import { rootOf } from '../../spec/index.ts';

/**
 * What a service built on containers checks or does around a user's start or removal: the pods
 * service starts a member's pod before the member (its namespaces must be there to join), and
 * refuses the removal of a pod's infra container alone. `beforeStart` runs under the container's
 * lock, for restart policies' starts too.
 */
export interface ContainerHooks {
  beforeStart?(c: ContainerRecord): Promise<void>;
  beforeRemove?(c: ContainerRecord, opts: { force: boolean }): void;
}

export class ContainerService {
  /** Set once, by the service that needs them (pods). */
  hooks: ContainerHooks = {};
  private readonly ctx: ContainerContext;
  private readonly endpoints: Endpoints;
  private readonly tasks: Tasks;
  private readonly monitor: Monitor;
  private readonly archive: Archive;
  /** `docker checkpoint create/ls/rm` (see checkpoints.ts). */
  readonly checkpoints: Checkpoints;
  /** A checkpointed container exported to, and imported from, one tar (see migration.ts). */
  readonly migration: Migration;
  private readonly removal: Removal;
  private readonly daemon: DaemonRestore;
  private readonly signals: Signals;
  private readonly starter: Starter;
  /** `--warm-pool N` (absent with 0). */
  private readonly pool: WarmPool | undefined;
  /** One reader of cgroup figures for all `docker stats` requests (see sampler.ts). */
  private readonly sampler: StatsSampler;

  constructor(deps: ContainerServiceDeps) {
    this.ctx = new ContainerContext(deps);
    this.endpoints = new Endpoints(this.ctx, {
      dropPrepared: (c) => this.tasks.dropPrepared(c),
      startFailed: (c, code) => this.starter.failed(c, code),
      yieldAddresses: async (id) => (await this.pool?.yieldNetwork(id)) ?? false,
      preparedPid: (id) => this.tasks.preparedPid(id),
    });
    this.tasks = new Tasks(this.ctx, this.endpoints);
    this.pool = deps.warmPool?.size
      ? new WarmPool(this.ctx, this.tasks, { size: deps.warmPool.size, zygote: deps.warmPool.zygote })
      : undefined;
    this.monitor = new Monitor(this.ctx, this.endpoints, {
      restart: (c) => this.starter.start(c, { byPolicy: true }),
      remove: (c) => void this.removal.forget(c),
    });
    this.starter = new Starter(
      this.ctx,
      { tasks: this.tasks, monitor: this.monitor, endpoints: this.endpoints },
      { beforeStart: (c) => this.hooks.beforeStart?.(c), remove: (id) => this.remove(id, { force: true }) },
    );
    this.signals = new Signals(this.ctx, this.monitor);
    this.removal = new Removal(this.ctx, { tasks: this.tasks, monitor: this.monitor, endpoints: this.endpoints });
    this.daemon = new DaemonRestore(
      this.ctx,
      { tasks: this.tasks, monitor: this.monitor, endpoints: this.endpoints, removal: this.removal },
      { stop: (id, opts) => this.stop(id, opts), restart: (c) => this.starter.start(c, { byPolicy: true }) },
    );
    this.checkpoints = new Checkpoints(this.ctx);
    this.sampler = containerSampler(this.ctx);
    this.migration = new Migration(this.ctx, this.tasks, this.checkpoints, {
      create: (req, name) => this.create(req, name),
    });
    this.archive = new Archive(this.ctx, this.tasks, {
      pause: (id) => this.pause(id),
      unpause: (id) => this.unpause(id),
    });
    for (const [name, rt] of deps.runtimes.entries()) rt.onExit((e) => void this.monitor.handleExit(e, name));
  }

  /** berthd's defaults for containers, which inspect shows merged in as dockerd does. */
  get defaults(): ContainerDefaults | undefined {
    return this.ctx.d.defaults;
  }

  /** The containers' records (other services read them; changes go through this service). */
  get store(): ContainerStore {
    return this.ctx.store;
  }

  /** `<data-root>/containers/<id>`. */
  dir(id: string): string {
    return this.ctx.dir(id);
  }

  logPath(id: string): string {
    return this.ctx.logPath(id);
  }

  // ---- create ----

  /** `POST /containers/create`; `platform` (`os[/arch[/variant]]`) must be the image's, as Docker requires. */
  async create(req: CreateRequest, name?: string, platform?: string): Promise<{ Id: string; Warnings: string[] }> {
    checkCreateRequest(req);
    checkRemapped(req.HostConfig ?? {}, this.ctx.d.idMap);
    if (this.ctx.d.rootless) checkRootless(req.HostConfig ?? {}, cgroupVersion());
    const imageRef = req.Image!;
    const hostConfig: HostConfig = req.HostConfig ?? {};
    const warnings = hostConfigWarnings(hostConfig);
    const runtimeName = this.ctx.d.runtimes.choose(hostConfig.Runtime);
    if (name !== undefined && name !== '') checkName(name);
    const image = this.ctx.d.images.require(imageRef);
    if (platform) checkPlatform(imageRef, platform, image.config);
    const sandbox = this.pool?.takeFor(req, hostConfig, image, runtimeName);
    const id = sandbox?.id ?? randomBytes(32).toString('hex');
    try {
      return { Id: await this.createWith(id, req, name, image, runtimeName, sandbox), Warnings: warnings };
    } catch (e) {
      // Nothing was written for it: the sandbox goes back to the pool, unused.
      if (sandbox && !this.store.find(id)) this.pool!.giveBack(sandbox);
      throw e;
    }
  }

  private async createWith(
    id: string,
    req: CreateRequest,
    name: string | undefined,
    image: ReturnType<ContainerContext['d']['images']['require']>,
    runtimeName: string,
    sandbox: Sandbox | undefined,
  ): Promise<string> {
    const hostConfig: HostConfig = req.HostConfig ?? {};
    const rec = newRecord(req, {
      id,
      name: name ? name.replace(/^\//, '') : freeRandomName((n) => !!this.store.nameOwner(n)),
      image,
      runtime: runtimeName,
      now: new Date(),
    });
    const owner = this.store.nameOwner(rec.Name);
    if (owner) throw nameTaken(rec.Name, owner);
    this.endpoints.check(rec);
    linksToEndpoint(rec, this.endpoints.userNetworkKey(rec));
    const unreserve = this.store.reserve(rec.Name, id);
    try {
      rec.MountPoints = await this.tasks.prepareMounts(req, hostConfig, image.config.config?.Volumes);
      // A warm sandbox's directory is there already (pool.ts made it): no round trip on create's answer.
      if (!sandbox) await fs.mkdir(this.dir(id), { recursive: true, mode: 0o710 });
      // Under a remap its root passes through here to its root file system and /etc files.
      if (this.ctx.d.idMap) await fs.chown(this.dir(id), 0, rootOf(this.ctx.d.idMap).gid);
      this.store.insert(rec);
    } finally {
      unreserve();
    }
    this.ctx.emit(rec, 'create');
    if (sandbox) {
      this.tasks.adopt(rec, sandbox);
    } else {
      this.tasks.premount(rec);
      this.tasks.precreate(rec);
    }
    return id;
  }

  // ---- start ----

  /** `POST /containers/{id}/start`; with `checkpoint`, the container's processes are restored from it. */
  async start(ref: string, opts: { checkpoint?: string; checkpointDir?: string } = {}): Promise<void> {
    const c = this.store.get(ref);
    const restoreFrom = opts.checkpoint
      ? await this.checkpoints.restorePoint(c, opts.checkpoint, opts.checkpointDir)
      : undefined;
    try {
      await this.ctx.locks.run(c.Id, () => this.starter.start(c, { restoreFrom }));
      this.pool?.noteStart(c);
    } finally {
      // Once this start has answered (or failed) and its container is gone or running a while: the pool makes up for what creates took.
      this.pool?.refillAfter(c);
    }
  }

  /**
   * A pod was made with `owner` as its infra: with a warm pool, a task for its next member is
   * made ahead from `template` (its member request), joined to the infra's namespaces (pool.ts's
   * `wantJoined`).
   */
  warmMembers(owner: string, template: CreateRequest): void {
    this.pool?.wantJoined(owner, template);
  }

  /** The pod of `owner` goes: no more member tasks made ahead for it. */
  async unwarmMembers(owner: string): Promise<void> {
    await this.pool?.unwantJoined(owner);
  }

  /** `--warm-pool`: its size, ready sandboxes and image; undefined when off. */
  poolStatus(): PoolStatus | undefined {
    return this.pool?.status();
  }

  /** `docker network connect`: a running container gets the interface now, others at start. */
  connectNetwork(ref: string, netRef: string, cfg: EndpointSettings): Promise<void> {
    return this.endpoints.connect(ref, netRef, cfg);
  }

  /** `docker network disconnect`. */
  disconnectNetwork(ref: string, netRef: string, force = false): Promise<void> {
    return this.endpoints.disconnect(ref, netRef, force);
  }

  /** After a live restore: listen again on the ports running containers published. */
  republishPorts(): Promise<void> {
    return this.endpoints.republish();
  }

  /** Resolves with the exit code of the next exit of `id`. */
  nextExit(id: string): Promise<number> {
    return this.ctx.nextExit(id);
  }

  /** `POST /containers/{id}/wait`: a bad condition or container throws at once, before any waiting. */
  wait(ref: string, condition: string, signal?: AbortSignal): Promise<WaitResult> {
    const c = this.store.get(ref);
    return waitFor(this.ctx, c, checkWaitCondition(condition), signal);
  }

  // ---- stop / kill / restart ----

  /** `byDaemon`: the daemon stops it (shutdown), which restart policies do not count as a user stop. */
  stop(ref: string, opts: { timeout?: number; signal?: string; byDaemon?: boolean } = {}): Promise<void> {
    return this.signals.stop(this.store.get(ref), opts);
  }

  kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    return this.signals.kill(this.store.get(ref), signal);
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const c = this.store.get(ref);
    if (c.State.Running) await this.stop(c.Id, opts);
    await this.start(c.Id);
    this.ctx.emit(c, 'restart');
  }

  pause(ref: string): Promise<void> {
    return this.freeze(ref, true);
  }

  unpause(ref: string): Promise<void> {
    return this.freeze(ref, false);
  }

  /** `docker pause` (`paused`) or `unpause`: the runtime freezes or thaws the task, then the record says so. */
  private async freeze(ref: string, paused: boolean): Promise<void> {
    const c = this.store.get(ref);
    await this.ctx.locks.run(c.Id, async () => {
      (paused ? guard.pause : guard.unpause)(c.Id, c.State);
      const rt = this.ctx.runtime(c);
      await (paused ? rt.pause(c.Id) : rt.resume(c.Id));
      this.ctx.setState(c, { ...c.State, Status: paused ? 'paused' : 'running', Paused: paused });
      this.ctx.emit(c, paused ? 'pause' : 'unpause');
    });
  }

  // ---- remove / rename / prune ----

  /** Whether a removal without force would be allowed by the hooks (prune leaves a pod's infra alone). */
  private removable(c: ContainerRecord): boolean {
    try {
      this.hooks.beforeRemove?.(c, { force: false });
      return true;
    } catch {
      return false;
    }
  }

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.store.get(ref);
    this.hooks.beforeRemove?.(c, { force: !!opts.force });
    guard.remove(c.Name, c.State, !!opts.force);
    if (c.State.Restarting) await this.ctx.locks.run(c.Id, async () => void this.monitor.cancelRestart(c));
    if (c.State.Running || c.State.Status === 'paused') {
      const exit = this.nextExit(c.Id);
      if (c.State.Paused)
        await this.ctx
          .runtime(c)
          .resume(c.Id)
          .catch(() => {});
      c.ManuallyStopped = true;
      await this.ctx
        .runtime(c)
        .kill(c.Id, 'SIGKILL', true)
        .catch(() => {});
      // As dockerd's delete (daemon.Kill): the kill is an event of its own before die and destroy.
      this.ctx.emit(c, 'kill', { signal: '9' });
      await Promise.race([exit, delay(10_000)]);
    }
    let volumesGone: Promise<void> | undefined;
    await this.ctx.locks.run(c.Id, async () => {
      if (this.store.find(c.Id)) volumesGone = this.removal.forget(c, !!opts.volumes);
    });
    await volumesGone;
  }

  rename(ref: string, wanted: string): void {
    const c = this.store.get(ref);
    const name = newName(c.Name, wanted, (n) => this.store.nameOwner(n));
    const old = c.Name;
    c.Name = name;
    this.store.save(c);
    this.ctx.emit(c, 'rename', { oldName: `/${old}` });
  }

  /** `docker rm --link /web/db`: the link goes from the parent's config; its next start has no trace of it. */
  removeLink(linkName: string): void {
    // As dockerd: the container the name names is looked up first, so a name that names none is
    // not found (404) before a plain name is refused as the container's own (500).
    if (!linkName.replace(/^\/+/, '').includes('/')) this.store.get(linkName);
    const parent = this.store.find(linkName.replace(/^\/+/, '').split('/')[0] ?? '');
    const links = withoutLink(linkName, parent);
    parent!.HostConfig.Links = links.length ? links : null;
    this.store.save(parent!);
  }

  async prune(
    filter: (c: ContainerRecord) => boolean = () => true,
  ): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of this.store.all()) {
      if (c.State.Running || c.State.Status === 'paused' || c.State.Status === 'restarting' || !filter(c)) continue;
      if (!this.removable(c)) continue;
      reclaimed += await directorySize(join(this.dir(c.Id), 'upper'));
      await this.remove(c.Id, { volumes: false });
      deleted.push(c.Id);
    }
    if (deleted.length) this.ctx.d.events.publish('container', 'prune', '', { reclaimed: String(reclaimed) });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // ---- processes ----

  async top(ref: string, psArgs = '-ef'): Promise<ProcessTable> {
    return containerTop(this.ctx, this.store.get(ref), psArgs);
  }

  // ---- daemon start / shutdown ----

  /** Reconciles records with reality after the daemon (re)starts (see restore.ts). */
  async restore(): Promise<void> {
    // The sweep in there removes the sandboxes a daemon killed with SIGKILL left (they have no record).
    await this.daemon.restore();
    this.pool?.refill();
  }

  /** On daemon shutdown without live restore, containers are stopped cleanly (see restore.ts); the warm pool goes. */
  async shutdown(): Promise<void> {
    await this.pool?.drain();
    await this.daemon.shutdown();
  }

  // ---- attach ----

  /** A client's input to the container's stdin, until it ends or detaches (stdin.ts). */
  async attachStdin(ref: string, input: Readable, detachKeys: Buffer): Promise<'detached' | 'ended'> {
    return attachStdin(this.ctx, this.store.get(ref), input, detachKeys);
  }

  /** Records a health check result (services/health); a change of status is an event. */
  setHealth(id: string, health: Health): void {
    const c = this.store.find(id);
    if (!c || !c.State.Running) return;
    const before = c.State.Health?.Status;
    this.ctx.setState(c, { ...c.State, Health: health });
    if (before !== health.Status && health.Status !== 'starting') this.ctx.emit(c, `health_status: ${health.Status}`);
  }

  /** Publishes a container event on behalf of a service built on this one (exec). */
  publishEvent(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.ctx.emit(c, action, extra);
  }

  /** Records a client leaving with the detach keys (Docker sends a `detach` event). */
  detached(c: ContainerRecord): void {
    this.ctx.emit(c, 'detach');
  }

  /** `POST /containers/{id}/resize`: the size of the container's terminal. */
  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.store.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    if (!c.Config.Tty) return;
    await this.ctx.runtime(c).resize(c.Id, height, width);
  }

  // ---- reads ----

  /** Records a client attaching (Docker sends an `attach` event). */
  attached(c: ContainerRecord): void {
    this.ctx.emit(c, 'attach');
  }

  /** What the container wrote, for attached clients (`attach`, `run`) and for `docker logs`. */
  logs(c: ContainerRecord, opts: ReadLogOptions): AsyncIterable<LogLine> {
    return this.ctx.runtime(c).readLogs(this.logPath(c.Id), opts);
  }

  /** `docker logs`: refused, as Docker refuses it, when the container's driver keeps nothing. */
  checkLogsReadable(c: ContainerRecord): void {
    if (!logsReadable(c.HostConfig)) throw notImplemented('configured logging driver does not support reading');
  }

  /** `docker export`: the container's file system as a tar, mounted while the stream lasts. */
  export(ref: string): Promise<Readable> {
    return this.archive.export(this.store.get(ref));
  }

  /** `docker diff`: what the container changed against its image, from its upper directory. */
  diff(ref: string): Promise<Change[]> {
    return this.archive.diff(this.store.get(ref));
  }

  /** `docker commit`: the container's changes as a new image (see archive.ts). */
  commit(ref: string, o: CommitRequest = {}): Promise<{ Id: string }> {
    return this.archive.commit(this.store.get(ref), o);
  }

  /** `docker cp`: what a path in the container is (`HEAD /containers/{id}/archive`). */
  statPath(ref: string, path: string): Promise<PathStat> {
    return this.archive.statPath(this.store.get(ref), path);
  }

  /** `docker cp` out of the container: the path as a tar, named by its last component. */
  getArchive(ref: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    return this.archive.getArchive(this.store.get(ref), path);
  }

  /** `docker cp` into the container: a tar extracted into the directory `path`. */
  putArchive(ref: string, path: string, tar: Readable, opts: { copyUIDGID?: boolean } = {}): Promise<void> {
    return this.archive.putArchive(this.store.get(ref), path, tar, opts);
  }

  /** `docker stats`: samples of the container's resource usage (see stats.ts). */
  async *stats(
    ref: string,
    opts: { stream: boolean; oneShot?: boolean; signal?: AbortSignal },
  ): AsyncGenerator<object> {
    yield* containerStats(this.sampler, this.store.get(ref), opts);
  }

  /**
   * A network is being removed: tasks created ahead on it let go of their endpoints, as
   * dockerd's created containers hold none (their start then fails: the network is gone),
   * and so do the warm pool's sandboxes on it.
   */
  async releaseNetwork(id: string): Promise<void> {
    const onIt = (c: ContainerRecord) => [c.Network, ...(c.ExtraNetworks ?? [])].some((ep) => ep?.networkId === id);
    for (const c of this.store.all()) {
      if (c.State.Status !== 'created') continue;
      // Under its lock: a task being created ahead right now is waited for, then taken down if
      // its endpoint is on the network.
      await this.ctx.locks.run(c.Id, async () => {
        if (onIt(c)) await this.tasks.dropPrepared(c);
      });
    }
    // The warm pool's sandboxes on it go too: they are no container's.
    await this.pool?.releaseNetwork(id);
  }

  /**
   * `docker update`: new cgroup limits and restart policy. The limits apply at once to a
   * running container (and are kept for its next start); a refused change changes nothing.
   */
  async update(ref: string, u: UpdateRequest): Promise<{ Warnings: string[] }> {
    checkUpdateRequest(u);
    const c = this.store.get(ref);
    return applyUpdate(this.ctx, c, u, (c) => this.tasks.dropPrepared(c));
  }

  /** `--size`: bytes the container wrote (its upper directory) and with its image's layers. */
  async sizes(ref: string): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const c = this.store.get(ref);
    const rw = await directorySize(join(this.dir(c.Id), 'upper'));
    const image = c.Image ? this.ctx.d.images.store.find(c.Image) : undefined;
    return { SizeRw: rw, SizeRootFs: rw + (image?.size ?? 0) };
  }

  list(): ContainerRecord[] {
    return this.store.all();
  }

  /** `docker ps` rows as JSON text, unchanged ones from their cache: `listJson`. */
  readonly rows = new SummaryRows();

  /** `GET /containers/json`'s body for `list`, in its order: the `summary` of each as a JSON array. */
  listJson(list: ContainerRecord[], now = Date.now()): string {
    return this.rows.json(list, this.imageNamer(), (c) => this.store.revisionOf(c.Id), now);
  }

  get(ref: string): ContainerRecord {
    return this.store.get(ref);
  }

  /** The image as `docker ps` shows it; `imageNamer` for a list, each name looked up once (views.ts). */
  imageName(c: ContainerRecord): string {
    return imageNameOf(c, (ref) => this.ctx.d.images.store.idOf(ref));
  }

  imageNamer(): (c: ContainerRecord) => string {
    return imageNamer((ref) => this.ctx.d.images.store.idOf(ref));
  }

  exists(ref: string): boolean {
    return !!this.store.find(ref);
  }

  notFound(ref: string): never {
    throw notFound(`No such container: ${ref}`);
  }
}
