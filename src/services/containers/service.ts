/**
 * The container service: Docker's container lifecycle on top of the runtime driver.
 *
 * Every state change goes through one place (`setState`) that persists the record and publishes
 * the event; operations on one container are serialised by a per-container lock, so an exit
 * that arrives during `stop` or `rm` is handled in order.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  conflict,
  forbidden,
  invalidArgument,
  notModified,
  notFound,
  internal,
  notImplemented,
} from '../../errdefs/index.ts';
import type { EventBus } from '../../events/index.ts';
import type { ImageService } from '../images/index.ts';
import { shortId, familiarString, parseReference, type ImageRunConfig } from '../../spec/index.ts';
import { ContainerStore } from './store.ts';
import { randomName, validName } from './names.ts';
import { exited, guard, initialState, restarting, running, ZERO_TIME } from './state.ts';
import type { ContainerDefaults, ContainerRecord } from './types.ts';
import type {
  ContainerConfig,
  ContainerCreateRequest as CreateRequest,
  ContainerState as State,
  Health,
  HostConfig,
  PathStat,
} from '../../api/types/index.ts';
import type { ContainerRuntime, ExitInfo, LogEntry, LogReadOptions } from './runtime.ts';
import { DetachScanner } from './attach.ts';
import { statPath, tarPath, extractTo, type HostMount } from './copy.ts';
import { resolveUser, type ResolvedUser } from '../../oci/index.ts';
import { Backoff, restartOnExit, restartOnDaemonStart } from './restart.ts';
import { logLimits, logsReadable } from './logopts.ts';
import {
  commandFor,
  buildSpec,
  resourcesFor,
  validateHostConfig,
  validateCreateTypes,
  validateUpdateTypes,
} from './spec.ts';
import type { Snapshotter } from '../../snapshots/index.ts';
import type { Host } from '../../host/index.ts';
import type { Endpoint, NetworkManager, UserNetworks } from '../../network/index.ts';
import { linkSettings } from './links.ts';
import { tarDirectory, diffOverlayUpper, changes as upperChanges, type Change } from '../../archive/index.ts';
import { runcWording, execFailureCode, LogRotator, type CgroupStats } from '../../runtime/index.ts';
import type { Readable } from 'node:stream';
import type { MetadataDb } from '../../metadata/index.ts';
import { planMounts, parseVolumesFrom, type VolumeService } from '../volumes/index.ts';
import { existsSync } from 'node:fs';

export interface ContainerServiceDeps {
  db: MetadataDb;
  images: ImageService;
  snapshots: Snapshotter;
  runtime: ContainerRuntime;
  host: Host;
  events: EventBus;
  /** `<data-root>/containers`. */
  root: string;
  liveRestore: boolean;
  log: { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void };
  /** Path of an init binary for `--init` (tini-static), if installed. */
  initPath?: string;
  /** The OCI runtime every container runs on (`--default-runtime`): HostConfig.Runtime names it. */
  runtimeName?: string;
  /** The default bridge; without it (or when disabled) containers get an unconnected namespace. */
  network?: NetworkManager;
  /** User-defined networks (`docker network create`). */
  userNetworks?: UserNetworks;
  /** Volumes and mounts (`-v`, `--mount`, `--tmpfs`, `--volumes-from`, image VOLUMEs). */
  volumes?: VolumeService;
  /** berthd's --default-ulimit and --no-new-privileges. */
  defaults?: ContainerDefaults;
}

/** Where a task's network comes from (see `networkFor`). */
type NetworkPlan = { endpoint?: Endpoint; netnsPath?: string; dnsServer?: string };

export class ContainerService {
  readonly store: ContainerStore;
  private readonly d: ContainerServiceDeps;
  /** Emits `exit:<id>` and `removed:<id>`. */
  private readonly changes = new EventEmitter();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Clean-ups of removed containers still under way (`shutdown` lets them finish). */
  private readonly reaping = new Set<Promise<void>>();
  /** Restarts a restart policy has scheduled, by container ID; and each container's back-off. */
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly backoffs = new Map<string, Backoff>();
  /** Users resolved in images' own /etc (see userFor), by top layer and user. */
  private readonly users = new Map<string, ResolvedUser>();
  /** Runtime containers created ahead of their start (see precreate). */
  private readonly prepared = new Map<string, { pid: number; maxFiles: number; timer: NodeJS.Timeout }>();
  /** Log rotation of running containers with `max-file` > 1. */
  private readonly rotators = new Map<string, LogRotator>();
  /** Set by `shutdown`: exits from here on are the daemon's doing, not the container's. */
  private shuttingDown = false;
  /** Root file system mounts begun at create, which start and removal wait for. */
  private readonly premounts = new Map<string, Promise<void>>();

  /** berthd's defaults for containers, which inspect shows merged in as dockerd does. */
  get defaults(): ContainerDefaults | undefined {
    return this.d.defaults;
  }

  constructor(deps: ContainerServiceDeps) {
    this.d = deps;
    this.store = new ContainerStore(deps.db);
    this.changes.setMaxListeners(0);
    deps.images.usage = (imageId) =>
      this.store
        .all()
        .filter((c) => c.Image === imageId)
        .map((c) => ({ id: c.Id, running: c.State.Running }));
    deps.images.layersInUse = () =>
      new Set(
        this.store
          .all()
          .map((c) => c.TopChain)
          .filter((x): x is string => !!x),
      );
    deps.runtime.onExit((e) => void this.handleExit(e));
    if (deps.volumes)
      deps.volumes.usage = (name) =>
        this.store
          .all()
          .filter((c) => c.MountPoints?.some((m) => m.Name === name))
          .map((c) => c.Id);
  }

  dir(id: string): string {
    return join(this.d.root, id);
  }

  logPath(id: string): string {
    return join(this.dir(id), 'container.log');
  }

  /** Runs `fn` with the container's lock held. */
  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(id, tail);
    try {
      return await next;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }

  private setState(c: ContainerRecord, state: State): void {
    c.State = state;
    this.store.save(c);
  }

  private emit(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    const image = c.Config.Image ?? c.Image;
    this.d.events.publish('container', action, c.Id, { image, name: c.Name, ...(c.Config.Labels ?? {}), ...extra });
  }

  // ---- create ----

  /** `POST /containers/create`; `platform` (`os[/arch[/variant]]`) must be the image's, as Docker requires. */
  async create(req: CreateRequest, name?: string, platform?: string): Promise<{ Id: string; Warnings: string[] }> {
    if (typeof req !== 'object' || req === null || Array.isArray(req))
      throw invalidArgument('invalid container config: expected a JSON object');
    const imageRef = req.Image;
    if (!imageRef || typeof imageRef !== 'string')
      throw invalidArgument('no image specified: config.Image is required');
    validateCreateTypes(req as unknown as Record<string, unknown>);
    const hostConfig: HostConfig = req.HostConfig ?? {};
    validateHostConfig(hostConfig);
    logLimits(hostConfig);
    const runtimeName = this.d.runtimeName ?? 'runc';
    if (hostConfig.Runtime && hostConfig.Runtime !== runtimeName)
      throw invalidArgument(`unknown or invalid runtime name: ${hostConfig.Runtime}`);
    if (name !== undefined && name !== '' && !validName(name)) {
      throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const image = this.d.images.require(imageRef);
    if (platform) checkPlatform(imageRef, platform, image.config);
    const { Path, Args } = commandFor(req, image.config.config ?? {});
    const id = randomBytes(32).toString('hex');
    const finalName = name ? name.replace(/^\//, '') : this.freeRandomName();
    const owner = this.store.nameOwner(finalName);
    if (owner) {
      throw conflict(
        `Conflict. The container name "/${finalName}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    const imgCfg = image.config.config ?? {};
    const env = mergeEnv(imgCfg.Env ?? [], req.Env ?? []);
    if (!env.some((e) => e.startsWith('PATH=')))
      env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const rec: ContainerRecord = {
      Id: id,
      Name: finalName,
      Created: new Date().toISOString(),
      Image: image.id,
      Path,
      Args,
      Config: {
        Hostname: req.Hostname || id.slice(0, 12),
        Domainname: req.Domainname ?? '',
        User: req.User || imgCfg.User || '',
        AttachStdin: !!req.AttachStdin,
        AttachStdout: !!req.AttachStdout,
        AttachStderr: !!req.AttachStderr,
        ExposedPorts: { ...(imgCfg.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) },
        Tty: !!req.Tty,
        OpenStdin: !!req.OpenStdin,
        StdinOnce: !!req.StdinOnce,
        Env: env,
        Cmd: cmdFor(req, imgCfg.Cmd ?? null),
        Image: imageRef,
        Volumes: req.Volumes ?? imgCfg.Volumes ?? null,
        WorkingDir: req.WorkingDir || imgCfg.WorkingDir || '',
        Entrypoint: entrypointSet(req)
          ? isEmptyEntrypoint(req.Entrypoint)
            ? null
            : req.Entrypoint
          : (imgCfg.Entrypoint ?? null),
        OnBuild: imgCfg.OnBuild ?? null,
        Labels: { ...(imgCfg.Labels ?? {}), ...(req.Labels ?? {}) },
        StopSignal: req.StopSignal || imgCfg.StopSignal || undefined,
        StopTimeout: req.StopTimeout ?? undefined,
        Healthcheck: req.Healthcheck ?? imgCfg.Healthcheck,
      },
      HostConfig: {
        NetworkMode: 'default',
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        // Shown as json-file, the driver clients know (the SDK reads logs only for it); on disk it is conmon's k8s-file.
        LogConfig: { Type: 'json-file', Config: {} },
        ...hostConfig,
        ...(hostConfig.LogConfig?.Type
          ? {}
          : { LogConfig: { Type: 'json-file', Config: hostConfig.LogConfig?.Config ?? {} } }),
        Runtime: runtimeName,
      },
      State: initialState(),
      RestartCount: 0,
      TopChain: image.topChain,
    };
    const endpoints = (req.NetworkingConfig as { EndpointsConfig?: ContainerRecord['EndpointsConfig'] } | undefined)
      ?.EndpointsConfig;
    if (endpoints && Object.keys(endpoints).length) rec.EndpointsConfig = endpoints;
    this.checkNetworkMode(rec);
    rec.MountPoints = await this.prepareMounts(req, hostConfig, imgCfg.Volumes);
    await fs.mkdir(this.dir(id), { recursive: true, mode: 0o710 });
    this.store.insert(rec);
    this.emit(rec, 'create');
    // `docker run` sends start a few milliseconds after create: mount the root file system in
    // between rather than on start's clock. A failure here is retried (and reported) by start.
    const dir = this.dir(id);
    // After the response is on its way: spawning mount blocks the event loop for a moment.
    const mounting = new Promise<void>((r) => setImmediate(r))
      .then(() => this.d.snapshots.mountRootfs(dir, rec.TopChain as never))
      .then(
        () => {},
        () => {},
      );
    this.premounts.set(id, mounting);
    void mounting.finally(() => this.premounts.delete(id));
    this.precreate(rec);
    return { Id: id, Warnings: [] };
  }

  /** The mount points of a new container, with the volumes they need made; undefined if none. */
  private async prepareMounts(
    req: CreateRequest,
    h: HostConfig,
    imageVolumes: Record<string, object> | null | undefined,
  ): Promise<ContainerRecord['MountPoints']> {
    const volumes = Object.keys({ ...(imageVolumes ?? {}), ...(req.Volumes ?? {}) });
    if (
      !h.Binds?.length &&
      !h.Mounts?.length &&
      !Object.keys(h.Tmpfs ?? {}).length &&
      !h.VolumesFrom?.length &&
      !volumes.length
    )
      return undefined;
    if (!this.d.volumes) throw invalidArgument('volumes and mounts are not available in this daemon');
    const volumesFrom = (h.VolumesFrom ?? []).map((spec) => {
      const { container, mode } = parseVolumesFrom(spec);
      // A 400, not a 404: the CLI would take a 404 for a missing image and try to pull it.
      const from = this.store.find(container);
      if (!from) throw invalidArgument(`No such container: ${container}`);
      return { mounts: from.MountPoints ?? [], mode };
    });
    const planned = planMounts({ binds: h.Binds, mounts: h.Mounts, tmpfs: h.Tmpfs, volumesFrom, volumes }, (p) =>
      existsSync(p),
    );
    return planned.length ? this.d.volumes.prepare(planned) : undefined;
  }

  private freeRandomName(): string {
    for (let i = 0; i < 10; i++) {
      const n = randomName(i);
      if (!this.store.nameOwner(n)) return n;
    }
    return `berth_${randomBytes(4).toString('hex')}`;
  }

  // ---- start ----

  async start(ref: string): Promise<void> {
    const c = this.store.get(ref);
    await this.locked(c.Id, () => this.startLocked(c));
  }

  private async startLocked(c: ContainerRecord, opts: { byPolicy?: boolean } = {}): Promise<void> {
    if (c.State.Running && !(opts.byPolicy && c.State.Restarting)) throw notModified('container already started');
    if (!opts.byPolicy) {
      // A user's start begins the policy's count and back-off afresh.
      c.RestartCount = 0;
      this.backoffs.delete(c.Id);
    }
    guard.start(c.Name, c.State);
    // As Docker: a bind source gone since create fails the start and leaves the state alone.
    if (c.MountPoints?.length) await this.d.volumes!.checkSources(c.MountPoints);
    const dir = this.dir(c.Id);
    // Published ports first: one that is taken fails the start with Docker's error and
    // leaves the container created.
    const network = await this.publishPorts(c);
    try {
      const t0 = performance.now();
      const prepared = this.takePrepared(c.Id);
      const task = prepared ?? (await this.createTask(c, network));
      this.rotateLogs(c, task.maxFiles);
      this.setState(c, running(c.State, task.pid, new Date()));
      c.ManuallyStopped = false;
      const t1 = performance.now();
      await this.d.runtime.start(c.Id);
      this.d.log.debug(
        `start ${shortId(c.Id)}: ${prepared ? 'created ahead' : `create ${(t1 - t0).toFixed(1)} ms`}, start ${(performance.now() - t1).toFixed(1)} ms`,
      );
    } catch (e) {
      const msg = runcWording((e as Error).message, c.Path);
      await this.d.runtime.delete(c.Id, true).catch(() => {});
      await this.d.snapshots.unmountRootfs(dir).catch(() => {});
      this.releaseNetwork(c);
      await this.d.volumes?.release(c.Id);
      // Docker records a failed start as exit 127 (command not found) or 126 (not executable) or 128.
      const code = execFailureCode(msg);
      this.setState(c, exited({ ...c.State, StartedAt: c.State.StartedAt }, code, new Date(), false, msg));
      this.changes.emit(`exit:${c.Id}`, code);
      if (c.HostConfig.AutoRemove) void this.removeAfterFailedStart(c.Id);
      throw internal(`failed to create task for container: ${friendlyStartError(msg)}`, e);
    }
    this.emit(c, 'start');
  }

  /**
   * Everything a start does before letting the process run: the root file system mounted,
   * the network endpoint, the spec, the runtime container created (its process waiting to
   * exec) and wired to its network.
   */
  private async createTask(c: ContainerRecord, network?: NetworkPlan): Promise<{ pid: number; maxFiles: number }> {
    const dir = this.dir(c.Id);
    // A previous run's leftovers (a crash between exit and cleanup) go first.
    if (await this.d.runtime.exists(c.Id)) await this.d.runtime.delete(c.Id, true).catch(() => {});
    await this.premounts.get(c.Id);
    if (!(await this.d.snapshots.isMounted(dir))) await this.d.snapshots.mountRootfs(dir, c.TopChain as never);
    const mounts = c.MountPoints?.length
      ? await this.d.volumes!.mountAll(c.Id, c.MountPoints, join(dir, 'rootfs'))
      : undefined;
    const net = network ?? this.networkFor(c);
    c.Network = net.endpoint;
    const links = c.HostConfig.Links?.length
      ? linkSettings(c.HostConfig.Links, (ref) => this.store.find(ref), c.Name)
      : undefined;
    const spec = await buildSpec(c, {
      dir,
      rootfs: join(dir, 'rootfs'),
      initPath: this.d.initPath,
      ipAddress: net.endpoint?.ipAddress,
      netnsPath: net.netnsPath,
      mounts,
      dnsServer: net.dnsServer,
      linkHosts: links?.hosts,
      linkEnv: links?.env,
      pidnsPath: this.joinedNamespace(c.HostConfig.PidMode, 'pid', 'PID'),
      ipcnsPath: this.joinedNamespace(c.HostConfig.IpcMode, 'ipc', 'IPC'),
      resolveUser: (spec, rootfs) => this.userFor(c, spec, rootfs),
      defaults: this.d.defaults,
    });
    const limits = logLimits(c.HostConfig);
    const { pid } = await this.d.runtime.create({
      id: c.Id,
      bundle: dir,
      spec,
      logPath: this.logPath(c.Id),
      terminal: !!c.Config.Tty,
      stdin: !!c.Config.OpenStdin,
      logSizeMax: limits.maxSize,
      // Docker closes a container's stdin when its attached client's input ends only for StdinOnce without a TTY.
      leaveStdinOpen: !!c.Config.Tty || !c.Config.StdinOnce,
    });
    if (net.endpoint) await this.attachEndpoint(net.endpoint, pid, 'eth0');
    await this.attachExtraNetworks(c, pid);
    this.changes.emit(`created:${c.Id}`);
    return { pid, maxFiles: limits.maxFiles };
  }

  /**
   * The user's ids, from the container's /etc/passwd and /etc/group. While the container has
   * nothing of its own under /etc (no `etc` in its upper layer: always so at its first start),
   * those are the image's, and the answer for the image and user is kept: reading two files
   * confined to the root takes some twenty file system calls, 2-10 ms of each start.
   */
  private async userFor(c: ContainerRecord, userSpec: string, rootfs: string): Promise<ResolvedUser> {
    const key = c.TopChain ? `${c.TopChain}\0${userSpec}` : undefined;
    // One stat, on the event loop: cheaper than a round trip through the thread pool.
    const pristine = key !== undefined && !existsSync(join(this.dir(c.Id), 'upper', 'etc'));
    const known = pristine ? this.users.get(key) : undefined;
    if (known) return known;
    const user = await resolveUser(userSpec, rootfs);
    if (pristine) {
      if (this.users.size >= USER_CACHE_SIZE) this.users.delete(this.users.keys().next().value!);
      this.users.set(key, user);
    }
    return user;
  }

  /**
   * `docker run` sends start a few round trips after create (attach, wait): the runtime
   * container is created in that gap, so that start only has to let its process run. One that
   * is not started within PREPARED_TTL_MS is taken down again, so a plain `docker create` holds
   * nothing for long. Containers that join another's namespaces are left to start, which is
   * when that other one must be running.
   */
  private precreate(c: ContainerRecord): void {
    const mode = c.HostConfig.NetworkMode || 'default';
    if (
      mode.startsWith('container:') ||
      /^container:/.test(c.HostConfig.PidMode ?? '') ||
      /^container:/.test(c.HostConfig.IpcMode ?? '')
    )
      return;
    void this.locked(c.Id, async () => {
      if (!this.store.find(c.Id) || c.State.Status !== 'created' || this.prepared.has(c.Id) || this.shuttingDown)
        return;
      try {
        const task = await this.createTask(c);
        const timer = setTimeout(
          () => void this.locked(c.Id, async () => this.dropPrepared(c)).catch(() => {}),
          PREPARED_TTL_MS,
        );
        timer.unref();
        this.prepared.set(c.Id, { ...task, timer });
      } catch {
        // start does it again, and reports what goes wrong
        await this.d.runtime.delete(c.Id, true).catch(() => {});
        this.releaseNetwork(c);
        await this.d.volumes?.release(c.Id);
      }
    }).catch(() => {});
  }

  private takePrepared(id: string): { pid: number; maxFiles: number } | undefined {
    const p = this.prepared.get(id);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.prepared.delete(id);
    return p;
  }

  /**
   * Takes down a task created ahead that was not started (call under the container's lock):
   * anything that changes what a start would create (an update) calls this first.
   */
  private async dropPrepared(c: ContainerRecord): Promise<void> {
    if (!this.takePrepared(c.Id)) return;
    await this.d.runtime.delete(c.Id, true).catch(() => {});
    this.releaseNetwork(c);
    await this.d.volumes?.release(c.Id);
  }

  private async removeAfterFailedStart(id: string): Promise<void> {
    // The start lock is still held by our caller: queue behind it.
    await Promise.resolve();
    await this.remove(id, { force: true }).catch(() => {});
  }

  // ---- exits ----

  private async handleExit(e: ExitInfo): Promise<void> {
    const c = this.store.find(e.id);
    if (!c) return;
    await this.locked(c.Id, async () => {
      if ((!c.State.Running && c.State.Status !== 'paused') || c.State.Restarting) return;
      this.rotators.get(c.Id)?.stop();
      this.rotators.delete(c.Id);
      const ranMs = e.exitedAt.getTime() - Date.parse(c.State.StartedAt);
      const again =
        !this.shuttingDown &&
        restartOnExit(c.HostConfig.RestartPolicy, {
          exitCode: e.exitCode,
          manuallyStopped: !!c.ManuallyStopped,
          restartCount: c.RestartCount,
        });
      this.setState(c, (again ? restarting : exited)(c.State, e.exitCode, e.exitedAt, !!e.oomKilled));
      if (e.oomKilled) this.emit(c, 'oom');
      this.emit(c, 'die', { exitCode: String(e.exitCode) });
      // Waiters learn of the exit now; the runtime's leftovers go while they read it. Anything
      // that would reuse them (start, rm) queues behind this lock.
      this.changes.emit(`exit:${c.Id}`, e.exitCode);
      if (c.HostConfig.AutoRemove) {
        this.forget(c);
        return;
      }
      await this.cleanupAfterExit(c);
      if (again) this.scheduleRestart(c, ranMs);
    });
  }
  private async cleanupAfterExit(c: ContainerRecord): Promise<void> {
    if (c.Network) {
      this.releaseNetwork(c);
      this.store.save(c);
    }
    // The rootfs mount lives in the host's namespace: it can go while runc deletes its state.
    await Promise.all([
      this.d.runtime
        .delete(c.Id, true)
        .catch((err) => this.d.log.warn(`delete task ${shortId(c.Id)}: ${(err as Error).message}`)),
      this.d.snapshots
        .unmountRootfs(this.dir(c.Id))
        .catch((err) => this.d.log.warn(`unmount ${shortId(c.Id)}: ${(err as Error).message}`)),
      this.d.volumes?.release(c.Id),
    ]);
  }

  /**
   * Where the container's network comes from: an endpoint on the default bridge (for the
   * `default`/`bridge` modes), another container's namespace (`container:<id>`), or nothing.
   */
  private networkFor(c: ContainerRecord): NetworkPlan {
    const mode = c.HostConfig.NetworkMode || 'default';
    if (mode.startsWith('container:')) {
      const other = this.store.get(mode.slice('container:'.length));
      if (!other.State.Running || !other.State.Pid)
        throw conflict(`cannot join network of a non running container: ${other.Id}`);
      return { netnsPath: `/proc/${other.State.Pid}/ns/net` };
    }
    if (c.PrimaryDetached) return {};
    if ((mode === 'default' || mode === 'bridge') && !c.Config.NetworkDisabled && this.d.network?.enabled) {
      const ep = this.d.network.allocate(c.Id);
      // --mac-address (the CLI sends it in the endpoint's settings, older ones in Config).
      const mac = this.endpointRequest(c, mode).mac;
      if (mac) ep.macAddress = mac;
      return { endpoint: ep };
    }
    if (!['default', 'bridge', 'host', 'none'].includes(mode) && this.d.userNetworks) {
      const ep = this.d.userNetworks.allocate(mode, c.Id, c.Name, this.endpointRequest(c, mode));
      return { endpoint: ep, dnsServer: ep.gateway };
    }
    return {};
  }

  /** After a live restore: listen again on the ports running containers published. */
  async republishPorts(): Promise<void> {
    for (const c of this.store.all()) {
      const ep = c.Network;
      if (!c.State.Running || !ep?.ports?.length || !this.d.network) continue;
      await this.d.network
        .publish(ep, c.Id, c.Name, {}, ep.ports)
        .catch((e) => this.d.log.warn(`publish ports of ${shortId(c.Id)}: ${(e as Error).message}`));
    }
  }

  /**
   * Publishes the container's ports on its endpoint: the prepared task's, or one allocated now,
   * which is returned for the task to use (the published ports are recorded on it, and that
   * is where `inspect` and `ps` read them).
   */
  private async publishPorts(c: ContainerRecord): Promise<NetworkPlan | undefined> {
    const h = c.HostConfig;
    if (!Object.keys(h.PortBindings ?? {}).length && !h.PublishAllPorts) return undefined;
    const plan = c.Network ? undefined : this.networkFor(c);
    const ep = c.Network ?? plan?.endpoint;
    if (!ep) return undefined;
    try {
      await this.d.network!.publish(ep, c.Id, c.Name, {
        bindings: h.PortBindings,
        exposed: c.Config.ExposedPorts,
        publishAll: h.PublishAllPorts,
      });
    } catch (e) {
      await this.dropPrepared(c);
      this.releaseNetwork(c);
      // Attached clients and waiters learn that nothing runs.
      this.changes.emit(`exit:${c.Id}`, 128);
      if (c.HostConfig.AutoRemove) void this.removeAfterFailedStart(c.Id);
      throw e;
    }
    return plan;
  }

  /** `--pid container:<id>`, `--ipc container:<id>`: the running container's namespace. */
  private joinedNamespace(mode: string | undefined, ns: 'pid' | 'ipc', what: string): string | undefined {
    if (!mode?.startsWith('container:')) return undefined;
    const other = this.store.get(mode.slice('container:'.length));
    if (!other.State.Running || !other.State.Pid)
      throw conflict(`cannot join ${what} of a non running container: ${other.Id}`);
    return `/proc/${other.State.Pid}/ns/${ns}`;
  }

  private releaseNetwork(c: ContainerRecord): void {
    this.d.network?.release(c.Id);
    this.d.userNetworks?.release(c.Id);
    c.Network = undefined;
    c.ExtraNetworks = undefined;
  }

  // ---- user networks ----

  /** A `--network` that names no network fails the create, as Docker's does. */
  private checkNetworkMode(c: ContainerRecord): void {
    const mode = c.HostConfig.NetworkMode || 'default';
    const builtIn = (k: string) => ['default', 'bridge', 'host', 'none'].includes(k);
    // Aliases and fixed addresses only on user networks (the CLI keys the default network's settings by the mode).
    for (const [k, cfg] of Object.entries(c.EndpointsConfig ?? {})) {
      if (!builtIn(k)) continue;
      if (cfg?.Aliases?.length && (k === 'bridge' || k === 'default'))
        throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
      if (cfg?.IPAMConfig?.IPv4Address)
        throw invalidArgument('user specified IP address is supported on user defined networks only');
    }
    if (builtIn(mode) || mode.startsWith('container:')) return;
    if (!this.d.userNetworks) throw notFound(`network ${mode} not found`);
    const n = this.d.userNetworks.get(mode);
    for (const k of Object.keys(c.EndpointsConfig ?? {})) {
      if (k !== mode && k !== n.Name && k !== n.Id && !builtIn(k)) this.d.userNetworks.get(k);
    }
  }

  /** Aliases, address and MAC asked for on network `ref` (by name or ID). */
  private endpointRequest(
    c: ContainerRecord,
    ref: string,
  ): { aliases: string[]; ip?: string; mac?: string; dns?: string[] } {
    const n = this.d.userNetworks?.find(ref);
    const cfg = c.EndpointsConfig?.[ref] ?? (n && (c.EndpointsConfig?.[n.Name] ?? c.EndpointsConfig?.[n.Id]));
    const mode = c.HostConfig.NetworkMode || 'default';
    const mac = cfg?.MacAddress || (ref === mode ? (c.Config as { MacAddress?: string }).MacAddress : undefined);
    return {
      aliases: [...(cfg?.Aliases ?? []), c.Id.slice(0, 12)],
      ip: cfg?.IPAMConfig?.IPv4Address || undefined,
      mac: mac || undefined,
      dns: c.HostConfig.Dns?.length ? c.HostConfig.Dns : undefined,
    };
  }

  private async attachEndpoint(ep: Endpoint, pid: number, ifname: string): Promise<void> {
    if (ep.bridge === this.d.network?.bridgeName) {
      await this.d.network.connect(ep, pid);
      if (this.d.userNetworks && !this.d.userNetworks.icc) await this.d.userNetworks.isolate(ep.hostVeth);
    } else await this.d.userNetworks!.attach(ep, pid, ifname);
  }

  /** Further user networks asked for at create (or connected while stopped): eth1, eth2... */
  private async attachExtraNetworks(c: ContainerRecord, pid: number): Promise<void> {
    const un = this.d.userNetworks;
    if (!un || !c.EndpointsConfig) return;
    const mode = c.HostConfig.NetworkMode || 'default';
    const primary = un.find(mode)?.Id;
    c.ExtraNetworks = [];
    for (const key of Object.keys(c.EndpointsConfig)) {
      if (['default', 'bridge', 'host', 'none', mode].includes(key)) continue;
      const n = un.find(key);
      if (!n || n.Id === primary || c.ExtraNetworks.some((e) => e.networkId === n.Id)) continue;
      const ep = un.allocate(n.Id, c.Id, c.Name, this.endpointRequest(c, key));
      await un.attach(ep, pid, `eth${c.ExtraNetworks.length + (c.Network ? 1 : 0)}`);
      c.ExtraNetworks.push(ep);
    }
  }

  /** `docker network connect`: a running container gets the interface now, others at start. */
  async connectNetwork(
    ref: string,
    netRef: string,
    cfg: ContainerRecord['EndpointsConfig'] extends Record<string, infer T> | undefined ? T : never,
  ): Promise<void> {
    const un = this.d.userNetworks;
    if (!un) throw notFound(`network ${netRef} not found`);
    const n = un.get(netRef);
    const c = this.store.get(ref);
    await this.locked(c.Id, async () => {
      const mode = c.HostConfig.NetworkMode || 'default';
      if (mode === 'host' || mode === 'none' || mode.startsWith('container:'))
        throw forbidden(
          `container sharing network namespace with another container or host cannot be connected to any other network`,
        );
      const primary = un.find(mode)?.Id === n.Id;
      const mine =
        (primary && !c.PrimaryDetached) ||
        c.ExtraNetworks?.some((e) => e.networkId === n.Id) ||
        Object.keys(c.EndpointsConfig ?? {}).some((k) => un.find(k)?.Id === n.Id);
      if (mine) throw forbidden(`endpoint with name ${c.Name} already exists in network ${n.Name}`);
      c.EndpointsConfig = { ...(c.EndpointsConfig ?? {}), [n.Name]: cfg ?? {} };
      if (primary) c.PrimaryDetached = false;
      // A task created ahead of the start was wired without this network: the start makes a new one.
      if (!c.State.Running) await this.dropPrepared(c);
      if (c.State.Running && c.State.Pid) {
        const ep = un.allocate(n.Id, c.Id, c.Name, this.endpointRequest(c, n.Name));
        const extra = c.ExtraNetworks ?? [];
        try {
          await un.attach(ep, c.State.Pid, `eth${extra.length + (c.Network ? 1 : 0)}`);
        } catch (e) {
          un.release(c.Id, n.Id);
          delete c.EndpointsConfig[n.Name];
          throw e;
        }
        c.ExtraNetworks = [...extra, ep];
      }
      this.store.save(c);
    });
    this.d.events.publish('network', 'connect', n.Id, { container: c.Id, name: n.Name, type: 'bridge' });
  }

  /** `docker network disconnect`. */
  async disconnectNetwork(ref: string, netRef: string, force = false): Promise<void> {
    const un = this.d.userNetworks;
    if (!un) throw notFound(`network ${netRef} not found`);
    const n = un.get(netRef);
    const c = this.store.find(ref);
    if (!c) {
      if (force) return;
      throw notFound(`No such container: ${ref}`);
    }
    await this.locked(c.Id, async () => {
      const mode = c.HostConfig.NetworkMode || 'default';
      const key = Object.keys(c.EndpointsConfig ?? {}).find((k) => un.find(k)?.Id === n.Id);
      const ep =
        c.ExtraNetworks?.find((e) => e.networkId === n.Id) ?? (c.Network?.networkId === n.Id ? c.Network : undefined);
      if (!key && !ep && un.find(mode)?.Id !== n.Id)
        throw forbidden(`container ${c.Id} is not connected to network ${n.Name}`);
      if (!c.State.Running) await this.dropPrepared(c);
      if (ep) await un.detach(ep);
      un.release(c.Id, n.Id);
      if (key) delete c.EndpointsConfig![key];
      c.ExtraNetworks = c.ExtraNetworks?.filter((e) => e.networkId !== n.Id);
      if (c.Network?.networkId === n.Id) c.Network = undefined;
      if (un.find(mode)?.Id === n.Id) c.PrimaryDetached = true;
      this.store.save(c);
    });
    this.d.events.publish('network', 'disconnect', n.Id, { container: c.Id, name: n.Name, type: 'bridge' });
  }

  /** After a live restore: the running containers' names answer in their networks' DNS again. */
  private restoreNetworks(c: ContainerRecord): void {
    const un = this.d.userNetworks;
    if (!un) return;
    for (const ep of [c.Network, ...(c.ExtraNetworks ?? [])]) {
      if (ep && ep.bridge !== this.d.network?.bridgeName) {
        const req = this.endpointRequest(c, ep.networkId);
        un.restore(ep, c.Id, c.Name, req.aliases, req.dns);
      }
    }
  }

  /** A policy restart after the container's back-off delay, unless a user acts first. */
  private scheduleRestart(c: ContainerRecord, ranMs: number): void {
    let backoff = this.backoffs.get(c.Id);
    if (!backoff) this.backoffs.set(c.Id, (backoff = new Backoff()));
    const ms = backoff.next(ranMs);
    this.d.log.debug(`restart ${shortId(c.Id)} in ${ms} ms (policy ${c.HostConfig.RestartPolicy?.Name})`);
    const timer = setTimeout(() => {
      this.restartTimers.delete(c.Id);
      void this.locked(c.Id, async () => {
        if (!this.store.find(c.Id) || !c.State.Restarting) return;
        c.RestartCount++;
        try {
          await this.startLocked(c, { byPolicy: true });
        } catch (err) {
          this.d.log.warn(`restart ${shortId(c.Id)}: ${(err as Error).message}`);
        }
      }).catch(() => {});
    }, ms);
    timer.unref();
    this.restartTimers.set(c.Id, timer);
  }

  /** Cancels a scheduled policy restart; the container is then simply exited. */
  private cancelRestart(c: ContainerRecord): boolean {
    const timer = this.restartTimers.get(c.Id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(c.Id);
    if (!c.State.Restarting) return false;
    this.setState(c, exited(c.State, c.State.ExitCode, new Date(Date.parse(c.State.FinishedAt)), c.State.OOMKilled));
    return true;
  }

  /** Keeps `max-file` old logs while the container runs (the runtime caps the current one). */
  private rotateLogs(c: ContainerRecord, maxFiles: number): void {
    if (maxFiles < 2 || this.rotators.has(c.Id)) return;
    const r = new LogRotator(this.logPath(c.Id), maxFiles);
    r.start();
    this.rotators.set(c.Id, r);
  }

  /** Resolves with the exit code of the next exit of `id`. */
  nextExit(id: string): Promise<number> {
    return new Promise((resolve) => this.changes.once(`exit:${id}`, resolve));
  }

  /** `POST /containers/{id}/wait`: a bad condition or container throws at once, before any waiting. */
  wait(
    ref: string,
    condition: string,
    signal?: AbortSignal,
  ): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const c = this.store.get(ref);
    const cond = condition || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw invalidArgument(`invalid condition: "${cond}"`);
    return this.waitFor(c, cond, signal);
  }

  private async waitFor(
    c: ContainerRecord,
    cond: string,
    signal?: AbortSignal,
  ): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const result = (code: number) => ({ StatusCode: code, Error: c.State.Error ? { Message: c.State.Error } : null });
    if (cond === 'not-running' && !c.State.Running && c.State.Status !== 'paused') return result(c.State.ExitCode);
    if (cond === 'removed') {
      return new Promise((resolve) => {
        const done = () => resolve(result(c.State.ExitCode));
        this.changes.once(`removed:${c.Id}`, done);
        signal?.addEventListener('abort', () => this.changes.off(`removed:${c.Id}`, done));
      });
    }
    const code = await new Promise<number>((resolve) => {
      const done = (n: number) => resolve(n);
      this.changes.once(`exit:${c.Id}`, done);
      signal?.addEventListener('abort', () => this.changes.off(`exit:${c.Id}`, done));
    });
    return result(code);
  }

  // ---- stop / kill / restart ----

  /** `byDaemon`: the daemon stops it (shutdown), which restart policies do not count as a user stop. */
  async stop(ref: string, opts: { timeout?: number; signal?: string; byDaemon?: boolean } = {}): Promise<void> {
    const c = this.store.get(ref);
    if (c.State.Restarting) {
      await this.locked(c.Id, async () => {
        c.ManuallyStopped = !opts.byDaemon;
        if (this.cancelRestart(c)) this.emit(c, 'stop');
      });
      return;
    }
    if (!c.State.Running) throw notModified('container already stopped');
    if (!opts.byDaemon) {
      c.ManuallyStopped = true;
      this.store.save(c);
    }
    const sig = opts.signal || c.Config.StopSignal || 'SIGTERM';
    const timeout = opts.timeout ?? c.Config.StopTimeout ?? 10;
    const exit = this.nextExit(c.Id);
    if (c.State.Paused) await this.d.runtime.resume(c.Id).catch(() => {});
    await this.d.runtime.kill(c.Id, sig).catch(() => {});
    this.emit(c, 'kill', { signal: signalNumber(sig) });
    const stopped =
      timeout < 0
        ? await exit.then(() => true)
        : await Promise.race([exit.then(() => true), delay(timeout * 1000).then(() => false)]);
    if (!stopped && c.State.Running) {
      await this.d.runtime.kill(c.Id, 'SIGKILL', true).catch(() => {});
      this.emit(c, 'kill', { signal: '9' });
      await Promise.race([exit, delay(10_000)]);
    }
    this.emit(c, 'stop');
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const c = this.store.get(ref);
    guard.kill(c.Id, c.State);
    const sig = normaliseSignal(signal);
    if (c.State.Restarting) {
      // Nothing runs to signal: as Docker does, the kill only calls the restart off.
      await this.locked(c.Id, async () => {
        c.ManuallyStopped = true;
        this.cancelRestart(c);
      });
      return;
    }
    if (sig === 'SIGKILL' || sig === 'SIGTERM' || sig === 'SIGINT') {
      c.ManuallyStopped = true;
      this.store.save(c);
    }
    await this.d.runtime.kill(c.Id, sig);
    this.emit(c, 'kill', { signal: signalNumber(sig) });
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const c = this.store.get(ref);
    if (c.State.Running) await this.stop(c.Id, opts);
    await this.start(c.Id);
    this.emit(c, 'restart');
  }

  async pause(ref: string): Promise<void> {
    const c = this.store.get(ref);
    await this.locked(c.Id, async () => {
      guard.pause(c.Id, c.State);
      await this.d.runtime.pause(c.Id);
      this.setState(c, { ...c.State, Status: 'paused', Paused: true });
      this.emit(c, 'pause');
    });
  }

  async unpause(ref: string): Promise<void> {
    const c = this.store.get(ref);
    await this.locked(c.Id, async () => {
      guard.unpause(c.Id, c.State);
      await this.d.runtime.resume(c.Id);
      this.setState(c, { ...c.State, Status: 'running', Paused: false });
      this.emit(c, 'unpause');
    });
  }

  // ---- remove / rename / prune ----

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.store.get(ref);
    guard.remove(c.Name, c.State, !!opts.force);
    if (c.State.Restarting) await this.locked(c.Id, async () => void this.cancelRestart(c));
    if (c.State.Running || c.State.Status === 'paused') {
      const exit = this.nextExit(c.Id);
      if (c.State.Paused) await this.d.runtime.resume(c.Id).catch(() => {});
      c.ManuallyStopped = true;
      await this.d.runtime.kill(c.Id, 'SIGKILL', true).catch(() => {});
      await Promise.race([exit, delay(10_000)]);
    }
    let volumesGone: Promise<void> | undefined;
    await this.locked(c.Id, async () => {
      if (this.store.find(c.Id)) volumesGone = this.forget(c, !!opts.volumes);
    });
    await volumesGone;
  }

  /**
   * Removes the record (the name is free and the container gone for every client from here)
   * and then, in the background, what it left on disk. A crash in between leaves a directory
   * without a record, which `restore` sweeps at the next start.
   */
  private forget(c: ContainerRecord, removeVolumes = false): Promise<void> | undefined {
    this.store.delete(c.Id);
    // `rm -v` and `--rm` take the container's anonymous volumes along; named ones stay.
    const vols = this.d.volumes;
    const volumesGone =
      c.MountPoints?.length && vols
        ? vols
            .release(c.Id)
            .then(() => (removeVolumes || c.HostConfig.AutoRemove ? vols.removeAnonymous(c.MountPoints) : undefined))
            .catch(() => {})
        : undefined;
    this.backoffs.delete(c.Id);
    if (this.takePrepared(c.Id)) this.releaseNetwork(c);
    this.rotators.get(c.Id)?.stop();
    this.rotators.delete(c.Id);
    this.emit(c, 'destroy');
    this.changes.emit(`removed:${c.Id}`);
    // A moment later: the spawns of the clean-up block the event loop, and the clients told
    // of the removal (an attach stream draining its last output, a wait) go first.
    const reap = delay(REAP_DELAY_MS)
      .then(() => this.reap(c.Id))
      .catch((err) => this.d.log.warn(`clean up removed container ${shortId(c.Id)}: ${(err as Error).message}`));
    this.reaping.add(reap);
    void reap.finally(() => this.reaping.delete(reap));
    return volumesGone;
  }

  /** Deletes a removed container's runtime state, root file system mount and directory. */
  private async reap(id: string): Promise<void> {
    const dir = this.dir(id);
    this.d.network?.release(id);
    this.d.userNetworks?.release(id);
    await this.premounts.get(id);
    const [known, mounted] = await Promise.all([this.d.runtime.exists(id), this.d.snapshots.isMounted(dir)]);
    await Promise.all([
      known ? this.d.runtime.delete(id, true) : undefined,
      mounted ? this.d.snapshots.unmountRootfs(dir) : undefined,
    ]);
    await fs.rm(dir, { recursive: true, force: true });
  }

  rename(ref: string, newName: string): void {
    const c = this.store.get(ref);
    const name = newName.replace(/^\//, '');
    if (!name) throw invalidArgument('Neither old nor new names may be empty');
    if (!validName(name))
      throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (name === c.Name) throw invalidArgument('Renaming a container with the same name as its current name');
    const owner = this.store.nameOwner(name);
    if (owner)
      throw conflict(
        `Error when allocating new name: Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    const old = c.Name;
    c.Name = name;
    this.store.save(c);
    this.emit(c, 'rename', { oldName: `/${old}` });
  }

  async prune(
    filter: (c: ContainerRecord) => boolean = () => true,
  ): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of this.store.all()) {
      if (c.State.Running || c.State.Status === 'paused' || c.State.Status === 'restarting' || !filter(c)) continue;
      reclaimed += await dirSize(join(this.dir(c.Id), 'upper'));
      await this.remove(c.Id, { volumes: false });
      deleted.push(c.Id);
    }
    if (deleted.length) this.d.events.publish('container', 'prune', '', { reclaimed: String(reclaimed) });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // ---- processes ----

  async top(ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
    const c = this.store.get(ref);
    guard.top(c.Id, c.State);
    const pids = new Set(await this.d.runtime.ps(c.Id));
    return this.d.runtime.topTable(psArgs, pids);
  }

  // ---- daemon start / shutdown ----

  /** Reconciles records with reality after the daemon (re)starts. */
  async restore(): Promise<void> {
    await this.sweepRemoved();
    for (const c of this.store.all()) {
      if (c.State.Status === 'removing') {
        // A removal interrupted by an older daemon (which kept the record until the end).
        this.forget(c);
        continue;
      }
      if (c.State.Status === 'created') {
        // A task created ahead of a start that never came, by the previous daemon.
        if (await this.d.runtime.exists(c.Id)) await this.d.runtime.delete(c.Id, true).catch(() => {});
        continue;
      }
      if (c.State.Restarting) {
        // The previous daemon went down while this one waited to restart: the policy decides below.
        this.setState(
          c,
          exited(c.State, c.State.ExitCode, new Date(Date.parse(c.State.FinishedAt)), c.State.OOMKilled),
        );
        continue;
      }
      if (!c.State.Running && c.State.Status !== 'paused') continue;
      const alive = await this.d.runtime.isAlive(c.Id);
      if (alive && this.d.liveRestore) this.rotateLogs(c, logLimits(c.HostConfig).maxFiles);
      if (alive && c.MountPoints?.length) this.d.volumes?.adopt(c.Id, c.MountPoints);
      if (alive && this.d.liveRestore) this.restoreNetworks(c);
      if (alive) {
        if (!this.d.liveRestore) {
          // Without live restore, containers from the previous daemon do not survive it.
          this.d.log.info(`stopping container ${shortId(c.Id)} left by the previous daemon`);
          await this.stop(c.Id, { timeout: 10, byDaemon: true }).catch(() => {});
        }
        continue;
      }
      const recorded = await this.d.runtime.readExit(c.Id);
      await this.handleExit({
        id: c.Id,
        exitCode: recorded?.exitCode ?? 255,
        exitedAt: recorded?.exitedAt ?? new Date(),
        oomKilled: recorded?.oomKilled,
      });
    }
    // Restart policies that apply to a daemon start (Docker: always, and unless-stopped and
    // on-failure for containers no user stopped), in the background: the API comes up meanwhile.
    for (const c of this.store.all()) {
      if (c.State.Running || c.State.Status === 'paused') continue;
      const facts = {
        exitCode: c.State.ExitCode,
        manuallyStopped: !!c.ManuallyStopped,
        restartCount: c.RestartCount,
        everStarted: c.State.StartedAt !== ZERO_TIME,
      };
      if (!restartOnDaemonStart(c.HostConfig.RestartPolicy, facts)) continue;
      this.d.log.info(`starting container ${shortId(c.Id)} (restart policy ${c.HostConfig.RestartPolicy?.Name})`);
      void this.locked(c.Id, () => this.startLocked(c, { byPolicy: true })).catch((err) =>
        this.d.log.warn(`restart ${shortId(c.Id)}: ${(err as Error).message}`),
      );
    }
  }

  /** Directories under the containers root whose record is gone: removals a crash interrupted. */
  private async sweepRemoved(): Promise<void> {
    const names = await fs.readdir(this.d.root).catch(() => [] as string[]);
    for (const name of names) {
      if (!/^[0-9a-f]{64}$/.test(name) || this.store.find(name)) continue;
      this.d.log.info(`cleaning up container ${shortId(name)}, removed before the daemon stopped`);
      await this.reap(name).catch((err) =>
        this.d.log.warn(`clean up removed container ${shortId(name)}: ${(err as Error).message}`),
      );
    }
  }

  /** On daemon shutdown without live restore, containers are stopped cleanly. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    // Pending policy restarts stay recorded as restarting; the next daemon start decides them.
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
    for (const r of this.rotators.values()) r.stop();
    for (const id of [...this.prepared.keys()]) {
      const c = this.store.find(id);
      if (c) await this.dropPrepared(c);
    }
    await Promise.all(this.reaping);
    // Created containers have their root file system mounted since create (for a quick start):
    // a daemon that stops leaves no mount behind for them; a start mounts it again.
    await Promise.all(
      this.store
        .all()
        .filter((c) => c.State.Status === 'created')
        .map(async (c) => {
          await this.premounts.get(c.Id);
          await this.d.snapshots.unmountRootfs(this.dir(c.Id)).catch(() => {});
        }),
    );
    if (this.d.liveRestore) return;
    await Promise.all(
      this.store
        .all()
        .filter((c) => c.State.Running && !c.State.Restarting)
        .map((c) => this.stop(c.Id, { byDaemon: true }).catch(() => {})),
    );
  }

  // ---- attach ----

  /**
   * Forwards a client's input to the container's stdin, from the moment its process exists until
   * the input ends, the container ends or — with a TTY — the client types the detach keys
   * (`detachKeys` in Docker's notation, checked by the caller with `parseDetachKeys`).
   * Resolves `detached` in that last case, else `ended`.
   */
  async attachStdin(ref: string, input: Readable, detachKeys: Buffer): Promise<'detached' | 'ended'> {
    const c = this.store.get(ref);
    input.pause();
    if (!c.Config.OpenStdin) {
      // Docker ignores input for a container created without -i.
      input.resume();
      return 'ended';
    }
    if (!c.State.Running) {
      const ready = await new Promise<boolean>((resolve) => {
        const created = () => {
          off();
          resolve(true);
        };
        const gone = () => {
          off();
          resolve(false);
        };
        const off = () => {
          this.changes.off(`created:${c.Id}`, created);
          this.changes.off(`exit:${c.Id}`, gone);
          this.changes.off(`removed:${c.Id}`, gone);
          input.off('close', gone);
        };
        this.changes.once(`created:${c.Id}`, created);
        this.changes.once(`exit:${c.Id}`, gone);
        this.changes.once(`removed:${c.Id}`, gone);
        input.once('close', gone);
      });
      if (!ready) return 'ended';
    }
    const session = this.d.runtime.openStdin(c.Id);
    const scanner = c.Config.Tty ? new DetachScanner(detachKeys) : undefined;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (how: 'detached' | 'ended') => {
        if (settled) return;
        settled = true;
        input.off('data', onData);
        input.off('end', onEnd);
        input.off('close', onClose);
        if (how === 'detached') session.close();
        resolve(how);
      };
      const onData = (chunk: Buffer) => {
        let data = chunk;
        if (scanner) {
          const r = scanner.push(chunk);
          data = r.pass;
          if (r.detached) {
            if (data.length) session.input.write(data);
            finish('detached');
            return;
          }
        }
        if (data.length && !session.input.write(data)) {
          input.pause();
          session.input.once('drain', () => input.resume());
        }
      };
      // End of input: the container's stdin closes (unless it stays open, see create).
      const onEnd = () => {
        session.input.end();
        finish('ended');
      };
      // The client went without an end of input (it dropped the connection): like a detach.
      const onClose = () => {
        session.close();
        finish('ended');
      };
      input.on('data', onData);
      input.once('end', onEnd);
      input.once('close', onClose);
      session.done.then(
        () => finish('ended'),
        (err) => {
          this.d.log.warn((err as Error).message);
          finish('ended');
        },
      );
      input.resume();
    });
  }

  /** Publishes a container event on behalf of a service built on this one (exec). */
  /** Records a health check result (services/health); a change of status is an event. */
  setHealth(id: string, health: Health): void {
    const c = this.store.find(id);
    if (!c || !c.State.Running) return;
    const before = c.State.Health?.Status;
    this.setState(c, { ...c.State, Health: health });
    if (before !== health.Status && health.Status !== 'starting') this.emit(c, `health_status: ${health.Status}`);
  }

  publishEvent(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.emit(c, action, extra);
  }

  /** Records a client leaving with the detach keys (Docker sends a `detach` event). */
  detached(c: ContainerRecord): void {
    this.emit(c, 'detach');
  }

  /** `POST /containers/{id}/resize`: the size of the container's terminal. */
  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.store.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    if (!c.Config.Tty) return;
    await this.d.runtime.resize(c.Id, height, width);
  }

  // ---- reads ----

  /** Records a client attaching (Docker sends an `attach` event). */
  attached(c: ContainerRecord): void {
    this.emit(c, 'attach');
  }

  /** What the container wrote, for attached clients (`attach`, `run`) and for `docker logs`. */
  logs(c: ContainerRecord, opts: LogReadOptions): AsyncIterable<LogEntry> {
    return this.d.runtime.readLogs(this.logPath(c.Id), opts);
  }

  /** `docker logs`: refused, as Docker refuses it, when the container's driver keeps nothing. */
  checkLogsReadable(c: ContainerRecord): void {
    if (!logsReadable(c.HostConfig)) throw notImplemented('configured logging driver does not support reading');
  }

  /** `docker export`: the container's file system as a tar, mounted while the stream lasts. */
  async export(ref: string): Promise<Readable> {
    const c = this.store.get(ref);
    const dir = this.dir(c.Id);
    const wasMounted = await this.d.snapshots.isMounted(dir);
    if (!wasMounted) await this.d.snapshots.mountRootfs(dir, c.TopChain as never);
    const tar = tarDirectory(join(dir, 'rootfs'), { host: this.d.host });
    tar.once('close', () => {
      if (!wasMounted && !c.State.Running) void this.d.snapshots.unmountRootfs(dir).catch(() => {});
    });
    return tar;
  }

  /** `docker diff`: what the container changed against its image, from its upper directory. */
  async diff(ref: string): Promise<Change[]> {
    const c = this.store.get(ref);
    return upperChanges(join(this.dir(c.Id), 'upper'), this.d.snapshots.lowerDirs(c.TopChain as never), this.d.host);
  }

  /**
   * `docker commit`: the container's changes as a new image on its own, with its run config
   * (fields of `config` override it, then `changes` apply). A running container is paused
   * while its upper directory is read, unless `pause` is false.
   */
  async commit(ref: string, o: CommitRequest = {}): Promise<{ Id: string }> {
    const c = this.store.get(ref);
    const pause = (o.pause ?? true) && c.State.Running && !c.State.Paused;
    if (pause) await this.pause(c.Id);
    try {
      const parent = c.Image ? (this.d.images.store.find(c.Image) ?? null) : null;
      const img = await this.d.images.commit({
        parent,
        layer: diffOverlayUpper(join(this.dir(c.Id), 'upper'), { host: this.d.host }),
        config: commitConfig(c.Config, o.config ?? {}),
        changes: o.changes,
        author: o.author,
        comment: o.comment,
        createdBy: [c.Path, ...c.Args].join(' '),
        containerId: c.Id,
        ref: o.ref,
      });
      this.emit(c, 'commit', { comment: o.comment ?? '', imageID: img.id, ...(o.ref ? { imageRef: o.ref } : {}) });
      return { Id: img.id };
    } finally {
      if (pause) await this.unpause(c.Id).catch(() => {});
    }
  }

  /** `docker cp`: what a path in the container is (`HEAD /containers/{id}/archive`). */
  async statPath(ref: string, path: string): Promise<PathStat> {
    const c = this.store.get(ref);
    const lease = await this.leaseRootfs(c);
    try {
      return (await statPath(lease.rootfs, path, c.Name, hostMounts(c))).stat;
    } finally {
      await lease.release();
    }
  }

  /** `docker cp` out of the container: the path as a tar, named by its last component. */
  async getArchive(ref: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    const c = this.store.get(ref);
    const lease = await this.leaseRootfs(c);
    try {
      const r = await statPath(lease.rootfs, path, c.Name, hostMounts(c));
      const tar = tarPath(r, this.d.host);
      tar.once('close', () => void lease.release());
      return { stat: r.stat, tar };
    } catch (e) {
      await lease.release();
      throw e;
    }
  }

  /** `docker cp` into the container: a tar extracted into the directory `path`. */
  async putArchive(ref: string, path: string, tar: Readable, opts: { copyUIDGID?: boolean } = {}): Promise<void> {
    const c = this.store.get(ref);
    if (c.HostConfig.ReadonlyRootfs) throw forbidden('container rootfs is marked read-only');
    const lease = await this.leaseRootfs(c);
    try {
      // Docker: the archive's owners, or with -a the container's user and its primary group.
      let owner: { uid: number; gid: number } | undefined;
      if (opts.copyUIDGID) {
        const u = c.Config.User ? await resolveUser(c.Config.User, lease.rootfs) : { uid: 0, gid: 0 };
        owner = { uid: u.uid, gid: u.gid };
      }
      await extractTo(lease.rootfs, path, tar, this.d.host, c.Name, owner, hostMounts(c));
    } finally {
      await lease.release();
    }
  }

  /**
   * The container's root file system for a copy: mounted for the copy if the container is
   * not running, and a running container frozen meanwhile, so that none of its processes can
   * swap a path for a symlink between our resolving and using it (CVE-2018-15664).
   */
  private async leaseRootfs(c: ContainerRecord): Promise<{ rootfs: string; release: () => Promise<void> }> {
    const dir = this.dir(c.Id);
    await this.premounts.get(c.Id);
    const wasMounted = await this.d.snapshots.isMounted(dir);
    if (!wasMounted) await this.d.snapshots.mountRootfs(dir, c.TopChain as never);
    const freeze = c.State.Running && !c.State.Paused && !c.State.Restarting;
    if (freeze) {
      try {
        await this.d.runtime.pause(c.Id);
      } catch (e) {
        if (!wasMounted) await this.d.snapshots.unmountRootfs(dir).catch(() => {});
        throw e;
      }
    }
    let released = false;
    return {
      rootfs: join(dir, 'rootfs'),
      release: async () => {
        if (released) return;
        released = true;
        if (freeze) await this.d.runtime.resume(c.Id).catch(() => {});
        if (!wasMounted && !c.State.Running) await this.d.snapshots.unmountRootfs(dir).catch(() => {});
      },
    };
  }

  /**
   * `docker stats`: a sample a second while `signal` allows (`stream`), or one. A single
   * sample waits for a second one so that its CPU figures have a previous sample to be
   * measured against (as dockerd's does), unless `oneShot`.
   */
  async *stats(
    ref: string,
    opts: { stream: boolean; oneShot?: boolean; signal?: AbortSignal },
  ): AsyncGenerator<object> {
    const c = this.store.get(ref);
    const empty = {
      read: ZERO_TIME,
      preread: ZERO_TIME,
      pids_stats: {},
      blkio_stats: {},
      num_procs: 0,
      storage_stats: {},
      cpu_stats: {
        cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
        throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
      },
      precpu_stats: {
        cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
        throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
      },
      memory_stats: {},
    };
    const ident = { name: `/${c.Name}`, id: c.Id };
    let prev: CgroupStats | undefined;
    const sample = async (): Promise<CgroupStats | undefined> => {
      if (!c.State.Running || c.State.Restarting || !this.store.find(c.Id)) return undefined;
      return this.d.runtime.stats(c.Id).catch(() => undefined);
    };
    const shape = (now: CgroupStats) => ({
      ...now,
      preread: prev?.read ?? ZERO_TIME,
      precpu_stats: prev?.cpu_stats ?? empty.precpu_stats,
      num_procs: 0,
      storage_stats: {},
      ...ident,
    });
    if (!opts.stream) {
      const first = await sample();
      if (!first) {
        yield { ...empty, ...ident };
        return;
      }
      if (opts.oneShot) {
        yield shape(first);
        return;
      }
      prev = first;
      await delay(1000);
      const second = await sample();
      yield second ? shape(second) : { ...empty, ...ident };
      return;
    }
    while (!opts.signal?.aborted) {
      const now = await sample();
      yield now ? shape(now) : { ...empty, ...ident };
      prev = now;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        opts.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
  }

  /**
   * `docker update`: new cgroup limits and restart policy. The limits apply at once to a
   * running container (and are kept for its next start); a refused change changes nothing.
   */
  async update(ref: string, u: UpdateRequest): Promise<{ Warnings: string[] }> {
    if (typeof u !== 'object' || u === null || Array.isArray(u))
      throw invalidArgument('invalid update config: expected a JSON object');
    validateUpdateTypes(u);
    const c = this.store.get(ref);
    return this.locked(c.Id, async () => {
      const next: HostConfig = { ...c.HostConfig };
      for (const k of UPDATABLE) {
        if (u[k] !== undefined && u[k] !== null) (next as Record<string, unknown>)[k] = u[k];
      }
      if (u.RestartPolicy && (u.RestartPolicy.Name || u.RestartPolicy.MaximumRetryCount)) {
        if (c.HostConfig.AutoRemove && u.RestartPolicy.Name && u.RestartPolicy.Name !== 'no') {
          throw invalidArgument('Restart policy cannot be updated because AutoRemove is enabled for the container');
        }
        next.RestartPolicy = {
          Name: u.RestartPolicy.Name || 'no',
          MaximumRetryCount: u.RestartPolicy.MaximumRetryCount ?? 0,
        };
      }
      if (u.Memory && !u.MemorySwap && (c.HostConfig.MemorySwap ?? 0) > 0 && u.Memory > c.HostConfig.MemorySwap!) {
        throw invalidArgument(
          'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time',
        );
      }
      validateHostConfig(next);
      // A task created ahead has the old limits: the start creates it anew.
      await this.dropPrepared(c);
      const resources = resourcesFor(next, {
        liftPids: u.PidsLimit !== undefined && u.PidsLimit !== null && u.PidsLimit <= 0,
      });
      if (c.State.Running && !c.State.Restarting) {
        await this.d.runtime.update(c.Id, resources).catch((e: Error) => {
          throw invalidArgument(`Cannot update container ${c.Id}: ${e.message}`, e);
        });
      }
      c.HostConfig = next;
      this.store.save(c);
      this.emit(c, 'update');
      return { Warnings: [] };
    });
  }

  /** `--size`: bytes the container wrote (its upper directory) and with its image's layers. */
  async sizes(ref: string): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const c = this.store.get(ref);
    const rw = await dirSize(join(this.dir(c.Id), 'upper'));
    const image = c.Image ? this.d.images.store.find(c.Image) : undefined;
    return { SizeRw: rw, SizeRootFs: rw + (image?.size ?? 0) };
  }

  list(): ContainerRecord[] {
    return this.store.all();
  }

  get(ref: string): ContainerRecord {
    return this.store.get(ref);
  }

  /**
   * The image as `docker ps` shows it: the name the container was created from while that name
   * still points at its image, else the image ID.
   */
  imageName(c: ContainerRecord): string {
    const ref = c.Config.Image ?? '';
    try {
      if (this.d.images.store.idOf(ref) === c.Image)
        return ref.startsWith('sha256:')
          ? ref
          : familiarString(parseReference(ref)).replace(/:latest$/, (m) => (ref.includes(':') ? m : ''));
    } catch {
      // fall through
    }
    return c.Image;
  }

  /** `imageName` for many containers at once (a list): each name and image looked up once. */
  imageNamer(): (c: ContainerRecord) => string {
    const seen = new Map<string, string>();
    return (c) => {
      const key = `${c.Config.Image ?? ''}\0${c.Image}`;
      let name = seen.get(key);
      if (name === undefined) seen.set(key, (name = this.imageName(c)));
      return name;
    };
  }

  exists(ref: string): boolean {
    return !!this.store.find(ref);
  }

  notFound(ref: string): never {
    throw notFound(`No such container: ${ref}`);
  }
}

/** `--entrypoint` given (even empty) replaces the image's ENTRYPOINT and drops its CMD. */
function entrypointSet(req: CreateRequest): boolean {
  return req.Entrypoint !== undefined && req.Entrypoint !== null;
}

function isEmptyEntrypoint(e: CreateRequest['Entrypoint']): boolean {
  return e === '' || (Array.isArray(e) && (e.length === 0 || (e.length === 1 && e[0] === '')));
}

function cmdFor(req: CreateRequest, imageCmd: string[] | null): string[] | string | null {
  const given = req.Cmd !== undefined && req.Cmd !== null && !(Array.isArray(req.Cmd) && req.Cmd.length === 0);
  if (given) return req.Cmd!;
  return entrypointSet(req) ? null : imageCmd;
}

function mergeEnv(base: readonly string[], over: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...over]) {
    const k = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
    out.set(k, e);
  }
  return [...out.values()];
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** `9`, `KILL`, `sigkill`, `SIGKILL` → `SIGKILL`; refuses unknown signals. */
export function normaliseSignal(s: string): string {
  const up = s.trim().toUpperCase();
  if (/^\d+$/.test(up)) {
    const n = Number(up);
    const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
    if (name) return name;
    if (n >= 34 && n <= 64) return String(n);
  } else {
    const name = up.startsWith('SIG') ? up : `SIG${up}`;
    if (name in SIGNALS) return name;
    if (/^SIGRTMIN(\+\d+)?$|^SIGRTMAX(-\d+)?$/.test(name)) return name;
  }
  throw invalidArgument(`Invalid signal: ${s}`);
}

export function signalNumber(s: string): string {
  const n = SIGNALS[normaliseSignal(s)];
  return n === undefined ? s : String(n);
}

/** The fields of `POST /containers/{id}/update` Berth applies. */
const UPDATABLE = [
  'Memory',
  'MemorySwap',
  'MemoryReservation',
  'NanoCpus',
  'CpuShares',
  'CpuPeriod',
  'CpuQuota',
  'CpusetCpus',
  'CpusetMems',
  'PidsLimit',
] as const;
export type UpdateRequest = Partial<Pick<HostConfig, (typeof UPDATABLE)[number] | 'RestartPolicy'>>;

/** The container's volume and bind mounts whose content the host can reach (not tmpfs). */
function hostMounts(c: ContainerRecord): HostMount[] {
  return (c.MountPoints ?? [])
    .filter((m) => m.Type !== 'tmpfs' && m.Source)
    .map((m) => ({ destination: m.Destination, source: m.Source, readOnly: !m.RW }));
}

/** How long after a removal its clean-up (runtime delete, unmount, rm -rf) begins. */
const REAP_DELAY_MS = 20;
const USER_CACHE_SIZE = 256;

/** How long a task created ahead waits for its start before it is taken down. */
const PREPARED_TTL_MS = 10_000;

export interface CommitRequest {
  /** `repo[:tag]` to tag the new image with. */
  ref?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  pause?: boolean;
  config?: ContainerConfig;
}

/** The image config a commit records: the container's, with the request's fields over it. */
function commitConfig(base: ContainerConfig, over: ContainerConfig): ImageRunConfig {
  const merged: ContainerConfig = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
      (merged as Record<string, unknown>)[k] = v;
  }
  const list = (v: string[] | string | null | undefined): string[] | null =>
    v == null ? null : typeof v === 'string' ? [v] : v;
  return {
    Hostname: merged.Hostname,
    Domainname: merged.Domainname,
    User: merged.User ?? '',
    AttachStdin: merged.AttachStdin,
    AttachStdout: merged.AttachStdout,
    AttachStderr: merged.AttachStderr,
    ...(merged.ExposedPorts ? { ExposedPorts: merged.ExposedPorts } : {}),
    Tty: merged.Tty,
    OpenStdin: merged.OpenStdin,
    StdinOnce: merged.StdinOnce,
    Env: merged.Env ?? [],
    Cmd: list(merged.Cmd),
    ...(merged.Healthcheck ? { Healthcheck: merged.Healthcheck } : {}),
    Image: merged.Image,
    Volumes: merged.Volumes ?? null,
    WorkingDir: merged.WorkingDir ?? '',
    Entrypoint: list(merged.Entrypoint),
    OnBuild: merged.OnBuild ?? null,
    Labels: merged.Labels ?? {},
    ...(merged.StopSignal ? { StopSignal: merged.StopSignal } : {}),
    ...(merged.Shell ? { Shell: merged.Shell } : {}),
  } as ImageRunConfig;
}

function friendlyStartError(msg: string): string {
  // The docker CLI takes its exit code (127, 126) from runc's wording of these.
  if (/^exec: "/.test(msg)) return `runc create failed: unable to start container process: ${msg}: unknown`;
  return msg;
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  try {
    for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) total += (await fs.lstat(join(e.parentPath, e.name))).size;
    }
  } catch {
    // no upper dir: nothing changed
  }
  return total;
}

/** Go's names for what Node and uname call otherwise. */
const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  i386: '386',
};

/**
 * A create with `--platform`: the image must be for it (Docker answers 404, and its CLI then
 * tries to pull the image for that platform).
 */
function checkPlatform(
  ref: string,
  platform: string,
  config: { os?: string; architecture?: string; variant?: string },
): void {
  const [os = '', arch, variant] = platform.toLowerCase().split('/');
  const want = { os, arch: arch ? (ARCH_ALIASES[arch] ?? arch) : undefined, variant };
  const actual = [
    config.os ?? 'linux',
    config.architecture ?? 'amd64',
    ...(config.variant ? [config.variant] : []),
  ].join('/');
  if (
    want.os !== (config.os ?? 'linux') ||
    (want.arch && want.arch !== (config.architecture ?? 'amd64')) ||
    (want.variant && want.variant !== config.variant)
  ) {
    throw notFound(
      `image with reference ${ref} was found but does not match the specified platform: wanted ${[want.os, want.arch, want.variant].filter(Boolean).join('/')}, actual: ${actual}`,
    );
  }
}
