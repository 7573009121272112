/**
 * A container's task — what the runtime runs for it — and everything made for it before its
 * process may run: its mounts planned (and volumes made) at create, the root file system
 * mounted, its volumes, its network endpoint, the OCI
 * spec, the runtime's create, the interfaces wired. Also the tasks created ahead: `docker run`
 * sends start a few round trips after create, and a task created in that gap leaves the start
 * only the release of its process to do.
 */
import { existsSync, statSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { forbidden, invalidArgument, is } from '../../errdefs/index.ts';
import { removeFile } from '../../fs/index.ts';
import { resolveUser, type ResolvedUser, type Mount, type Spec } from '../../oci/index.ts';
import { resolveInRoot } from '../../archive/index.ts';
import {
  asSandboxed,
  isUserNetwork,
  sandboxKey,
  searchPath,
  zygoteCommand,
  ZYGOTE_CMD,
  ZYGOTE_FILES,
} from './poolfit.ts';
import { tellZygote } from './zygote.ts';
import { planMounts, parseVolumesFrom } from '../volumes/index.ts';
import type { ContainerContext } from './context.ts';
import type { Endpoints, NetworkPlan } from './endpoints.ts';
import type { Sandbox } from './pool.ts';
import { linkSettings } from './links.ts';
import { logLimits } from './logopts.ts';
import { buildSpec } from './spec.ts';
import { containerIdMap } from './userns.ts';
import { rootOf, type IdMap } from '../../spec/index.ts';
import type { ContainerRecord } from './types.ts';
import type { ContainerCreateRequest as CreateRequest, HostConfig } from '../../api/types/index.ts';

/**
 * How a task created ahead of its start came out: its pid, how many log files to keep, and
 * whether its monitor keeps them itself (berth-monitor; under conmon the service's LogRotator does).
 */
export interface CreatedTask {
  pid: number;
  maxFiles: number;
  logsRotated?: boolean;
}

const USER_CACHE_SIZE = 256;

/** How long a task created ahead waits for its start before it is taken down. */
const PREPARED_TTL_MS = 10_000;

export class Tasks {
  private readonly ctx: ContainerContext;
  private readonly endpoints: Endpoints;
  /** Users resolved in images' own /etc (see userFor), by top layer and user. */
  private readonly users = new Map<string, ResolvedUser>();
  /** Runtime containers created ahead of their start (see precreate). */
  private readonly prepared = new Map<string, CreatedTask & { timer: NodeJS.Timeout }>();
  /** The tasks created ahead that are a warm pool's sandboxes (see adopt). */
  private readonly pooled = new Set<string>();
  /** Commands found in sandboxes' roots, by image top layer, command and PATH (see sandboxCommand). */
  private readonly commands = new Set<string>();
  /** Root file system mounts begun at create, which start and removal wait for. */
  private readonly premounts = new Map<string, Promise<void>>();

  constructor(ctx: ContainerContext, endpoints: Endpoints) {
    this.ctx = ctx;
    this.endpoints = endpoints;
  }

  /** The mount points of a new container, with the volumes they need made; undefined if none. */
  async prepareMounts(
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
    if (!this.ctx.d.volumes) throw invalidArgument('volumes and mounts are not available in this daemon');
    const volumesFrom = (h.VolumesFrom ?? []).map((spec) => {
      const { container, mode } = parseVolumesFrom(spec);
      // A 400, not a 404: the CLI would take a 404 for a missing image and try to pull it.
      const from = this.ctx.store.find(container);
      if (!from) throw invalidArgument(`No such container: ${container}`);
      return { mounts: from.MountPoints ?? [], mode };
    });
    const planned = planMounts(
      { binds: h.Binds, mounts: h.Mounts, tmpfs: h.Tmpfs, volumesFrom, volumes, volumeDriver: h.VolumeDriver },
      (p) => existsSync(p),
    );
    return planned.length ? this.ctx.d.volumes.prepare(planned) : undefined;
  }

  /**
   * `docker run` sends start a few milliseconds after create: the root file system is mounted
   * in between rather than on start's clock, once the create's response is on its way (spawning
   * mount blocks the event loop for a moment). A failure here is retried (and reported) by start.
   */
  premount(c: ContainerRecord): void {
    const dir = this.ctx.dir(c.Id);
    const mounting = new Promise<void>((r) => setImmediate(r))
      .then(() => this.ctx.d.snapshots.mountRootfs(dir, c.TopChain as never))
      .then(
        () => {},
        () => {},
      );
    this.premounts.set(c.Id, mounting);
    void mounting.finally(() => this.premounts.delete(c.Id));
  }

  /** Settles once the mount `premount` began for `id` (if any) is done. */
  async premounted(id: string): Promise<void> {
    await this.premounts.get(id);
  }

  /** The containers with a task created ahead of their start. */
  preparedIds(): string[] {
    return [...this.prepared.keys()];
  }

  /**
   * Everything a start does before letting the process run: the root file system mounted,
   * the network endpoint, the spec, the runtime container created (its process waiting to
   * exec) and wired to its network. With `restoreFrom` (a checkpoint's directory) the task is
   * restored from it instead, and runs already.
   */
  async create(
    c: ContainerRecord,
    network?: NetworkPlan,
    restoreFrom?: string,
    /**
     * A warm sandbox's making (pool.ts): it learns the spec before the runtime's driver
     * annotates it, and may have the task made at a lower priority (see CreateOptions.nice).
     */
    sandbox?: { onSpec: (spec: Spec) => void; nice?: number; ahead?: boolean; etc?: Map<string, string> },
  ): Promise<CreatedTask> {
    const dir = this.ctx.dir(c.Id);
    // A sandbox's making (pool.ts) has just made its directory under a new ID and mounted its
    // root: it has no leftovers, and the two stats that would tell are on the refill's way.
    if (!sandbox) {
      // A previous run's leftovers (a crash between exit and cleanup) go first.
      if (await this.ctx.runtime(c).exists(c.Id))
        await this.ctx
          .runtime(c)
          .delete(c.Id, true)
          .catch(() => {});
      await this.premounted(c.Id);
      if (!(await this.ctx.d.snapshots.isMounted(dir)))
        await this.ctx.d.snapshots.mountRootfs(dir, c.TopChain as never);
    }
    // A container that had a warm sandbox (its zygote gone with its first run, or never run) gets its task as any other.
    if (this.pooled.delete(c.Id)) await removePoolFiles(join(dir, 'rootfs'));
    const mounts = c.MountPoints?.length
      ? await this.ctx.d.volumes!.mountAll(c.Id, c.MountPoints, join(dir, 'rootfs'))
      : undefined;
    const net = network ?? (await addressRefused(this.endpoints.planWithRoom(c, sandbox?.ahead)));
    c.Network = net.endpoint;
    const rt = this.ctx.runtime(c);
    // A runtime that takes its interfaces at create gets a namespace wired ahead (see Endpoints.prewire).
    const prewired =
      net.endpoint && !net.netnsPath && rt.networkAtCreate ? await this.endpoints.prewire(c, net.endpoint) : undefined;
    const spec = await this.specFor(c, net, { prewired, mounts, ahead: sandbox?.ahead, etc: sandbox?.etc });
    sandbox?.onSpec(spec);
    if (this.ctx.d.idMap) await giveEtcFiles(dir, this.ctx.d.idMap);
    const limits = logLimits(c.HostConfig);
    const { pid, logsRotated } = await this.ctx.runtime(c).create({
      id: c.Id,
      bundle: dir,
      spec,
      logPath: this.ctx.logPath(c.Id),
      terminal: !!c.Config.Tty,
      stdin: !!c.Config.OpenStdin,
      logSizeMax: limits.maxSize,
      logMaxFiles: limits.maxFiles,
      // Docker closes a container's stdin when its attached client's input ends only for StdinOnce without a TTY.
      leaveStdinOpen: !!c.Config.Tty || !c.Config.StdinOnce,
      restoreFrom,
      nice: sandbox?.nice,
    });
    if (!prewired) {
      if (net.endpoint) await this.endpoints.attach(net.endpoint, pid, 'eth0');
      await addressRefused(this.endpoints.attachExtras(c, pid));
    }
    this.ctx.changes.emit(`created:${c.Id}`);
    return { pid, maxFiles: limits.maxFiles, logsRotated };
  }

  /**
   * The OCI spec of `c`'s task (its /etc files written beside it). `ahead`: namespaces of
   * another container may be those of its task created ahead (Endpoints.plan). `etc`: what a
   * warm sandbox's making wrote as those files (SpecContext's etcWritten).
   */
  private async specFor(
    c: ContainerRecord,
    net: NetworkPlan,
    {
      prewired,
      mounts,
      ahead = false,
      etc,
    }: { prewired?: string; mounts?: Mount[]; ahead?: boolean; etc?: Map<string, string> } = {},
  ): Promise<Spec> {
    const dir = this.ctx.dir(c.Id);
    const idMap = containerIdMap(c.HostConfig, this.ctx.d.idMap);
    // Remapped: the masks' shared directory owned by the container's root on the host.
    const root = idMap && rootOf(idMap);
    const runtime = this.ctx.runtime(c);
    const links = c.HostConfig.Links?.length
      ? linkSettings(c.HostConfig.Links, (ref) => this.ctx.store.find(ref), c.Name)
      : undefined;
    return buildSpec(c, {
      dir,
      rootfs: join(dir, 'rootfs'),
      initPath: this.ctx.d.initPath,
      ipAddress: net.endpoint?.ipAddress,
      ipv6Address: net.endpoint?.ipv6Address,
      netnsPath: prewired ?? net.netnsPath,
      etcDir: net.etcDir,
      mounts,
      dnsServer: net.dnsServer,
      linkHosts: links?.hosts,
      hostGateway: this.ctx.d.network?.enabled ? this.ctx.d.network.info()?.gateway : undefined,
      linkEnv: links?.env,
      pidnsPath: this.endpoints.joinedNamespace(c.HostConfig.PidMode, 'pid', 'PID', ahead),
      ipcnsPath: this.endpoints.joinedNamespace(c.HostConfig.IpcMode, 'ipc', 'IPC', ahead),
      utsnsPath: this.endpoints.joinedNamespace(c.HostConfig.UTSMode, 'uts', 'UTS', ahead),
      resolveUser: (spec, rootfs) => this.userFor(c, spec, rootfs),
      defaults: this.ctx.d.defaults,
      idMap,
      rootless: this.ctx.d.rootless,
      sharedMask: root ? await runtime.sharedMaskFor?.(root) : runtime.sharedMask,
      etcWritten: etc,
    });
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
    const pristine = key !== undefined && !existsSync(join(this.ctx.dir(c.Id), 'upper', 'etc'));
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
   * is not started within `precreateTtlMs` (10 s) is taken down again, so a plain `docker create` holds
   * nothing for long. Containers that join another's namespaces are left to start, which is
   * when that other one must be running.
   */
  precreate(c: ContainerRecord): void {
    const mode = c.HostConfig.NetworkMode || 'default';
    if (
      mode.startsWith('container:') ||
      /^container:/.test(c.HostConfig.PidMode ?? '') ||
      /^container:/.test(c.HostConfig.IpcMode ?? '') ||
      /^container:/.test(c.HostConfig.UTSMode ?? '')
    )
      return;
    void this.ctx.locks
      .run(c.Id, async () => {
        if (
          !this.ctx.store.find(c.Id) ||
          c.State.Status !== 'created' ||
          this.prepared.has(c.Id) ||
          this.ctx.shuttingDown
        )
          return;
        try {
          const task = await this.create(c);
          const timer = setTimeout(
            () => void this.ctx.locks.run(c.Id, async () => this.dropPrepared(c)).catch(() => {}),
            this.ctx.d.precreateTtlMs ?? PREPARED_TTL_MS,
          );
          timer.unref();
          this.prepared.set(c.Id, { ...task, timer });
        } catch {
          // start does it again, and reports what goes wrong
          await this.discard(c);
        }
      })
      .catch(() => {});
  }

  /**
   * A container created with a warm pool's sandbox (pool.ts): its task is the sandbox's, if
   * the container's spec is the sandbox's but for its process and its command is there to
   * run; berth-zygote, running since the sandbox's making, is then told the command, and start
   * tells it to exec (see `start`). Otherwise the sandbox's task goes and one is made as
   * without the pool. A sandbox on the default bridge or a user network brings its endpoint
   * (the address was allocated for its ID, the container's now); on a user network the
   * container's names (its name, aliases, the short ID) are registered for DNS here, before
   * its start, as a task made for it registers them when its endpoint is allocated. The /etc
   * files are written again where the container's differ from the sandbox's (its --dns,
   * --add-host).
   */
  adopt(
    c: ContainerRecord,
    sandbox: Pick<
      Sandbox,
      'pid' | 'spec' | 'network' | 'endpoint' | 'nice' | 'joined' | 'etc' | 'topChain' | 'bundleSpec' | 'started'
    >,
  ): void {
    this.pooled.add(c.Id);
    const ttl = () =>
      setTimeout(
        () => void this.ctx.locks.run(c.Id, async () => this.dropPrepared(c)).catch(() => {}),
        this.ctx.d.precreateTtlMs ?? PREPARED_TTL_MS,
      ).unref();
    void this.ctx.locks
      .run(c.Id, async () => {
        // The lock is taken now, so that start queues behind the hand-over; the work begins once
        // create's answer is on its way — with the sandbox's /etc files and command known, the spec
        // and its key (a few ms of JavaScript) would otherwise run before it, with no I/O to yield at.
        await new Promise<void>((r) => setImmediate(r));
        if (!this.ctx.store.find(c.Id) || c.State.Status !== 'created' || this.ctx.shuttingDown) {
          // Removed (or the daemon stopping) before this ran: the removal's reaping takes the task.
          this.pooled.delete(c.Id);
          return;
        }
        const dir = this.ctx.dir(c.Id);
        try {
          const user = isUserNetwork(sandbox.network) ? sandbox.endpoint : undefined;
          // A pod member's sandbox joined the infra's namespaces, perhaps before the infra started.
          const wanted = sandbox.joined
            ? await this.specFor(c, this.endpoints.plan(c, true), { ahead: true, etc: sandbox.etc })
            : await this.specFor(c, { endpoint: sandbox.endpoint, dnsServer: user?.gateway }, { etc: sandbox.etc });
          if (sandboxKey(asSandboxed(wanted)) !== sandbox.spec) throw new Error("its spec is not the sandbox's");
          if (!(await this.sandboxCommand(sandbox.topChain, join(dir, 'rootfs'), wanted.process)))
            throw new Error('its command is not in the image');
          // Three independent steps, at once (each a few thread-pool round trips on the start's
          // path: the start waits for this under the container's lock); all settle before an error
          // is acted on, so that none lands after the task is discarded.
          const bundle = join(dir, 'config.json');
          const done = await Promise.allSettled([
            // Made at a lower priority (pool.ts): the container's processes run at the daemon's, as any other's.
            sandbox.nice ? this.ctx.runtime(c).foreground!(c.Id) : undefined,
            fs
              .writeFile(
                join(dir, 'rootfs', ZYGOTE_CMD),
                zygoteCommand(wanted.process, this.ctx.d.runtimes.defaultName === 'runc' ? '/' : ''),
                // Exclusive: a path the image has there (a symlink out of the root, say) is never followed.
                { mode: 0o600, flag: 'wx' },
              )
              // The zygote reads it and does all it can before the start (berth-zygote.c) — told at
              // once, not after the other two: the start's request often waits for this hand-over,
              // and then found the zygote not yet woken for its command in 7 of 15 traced runs.
              // Should another step fail, the task is discarded with the zygote still waiting.
              .then(() => {
                if (sandbox.started && !tellZygote(dir, c.Id, 'c')) throw new Error('its zygote has no FIFO');
              }),
            // The bundle says what runs from here on (exec takes the container's environment, user and
            // directory from it), as a task made for the container would; the driver's additions stay.
            (async () => {
              const written = sandbox.bundleSpec ?? (JSON.parse(await fs.readFile(bundle, 'utf8')) as Spec);
              await fs.writeFile(`${bundle}.new`, JSON.stringify({ ...written, process: wanted.process }));
              await fs.rename(`${bundle}.new`, bundle);
            })(),
          ]);
          for (const r of done) if (r.status === 'rejected') throw r.reason;
          if (sandbox.endpoint) {
            c.Network = sandbox.endpoint;
            c.NextIf = 1;
            // As attachExtras leaves it for a container on one network alone.
            if (c.EndpointsConfig) c.ExtraNetworks = [];
          }
          if (user)
            this.ctx.d.userNetworks!.join(user, c.Id, c.Name, this.endpoints.request(c, c.HostConfig.NetworkMode!));
          this.prepared.set(c.Id, { pid: sandbox.pid, maxFiles: logLimits(c.HostConfig).maxFiles, timer: ttl() });
          this.ctx.d.log.debug(`create ${c.Id.slice(0, 12)}: a warm sandbox`);
        } catch (e) {
          this.ctx.d.log.debug(`create ${c.Id.slice(0, 12)}: not from the warm pool: ${(e as Error).message}`);
          await this.discard(c);
          this.precreate(c);
        }
      })
      .catch(() => {});
  }

  /**
   * Whether a sandbox's root has the command (commandFound). A sandbox's root is its image's
   * (its top layer `topChain`) but for berth-zygote — nothing has run in it — so a command found
   * in one is found in every sandbox of that image: the answer is kept, and the next hand-over
   * skips the some twenty lookups through the thread pool on the start's path.
   */
  private async sandboxCommand(
    topChain: string | null,
    rootfs: string,
    p: Pick<Spec['process'], 'args' | 'env'>,
  ): Promise<boolean> {
    const cmd = p.args[0] ?? '';
    const key = topChain ? `${topChain}\0${cmd}\0${cmd.includes('/') ? '' : searchPath(p.env).join(':')}` : undefined;
    if (key && this.commands.has(key)) return true;
    const found = await commandFound(rootfs, cmd, p.env);
    if (found && key) {
      if (this.commands.size >= USER_CACHE_SIZE) this.commands.delete(this.commands.values().next().value!);
      this.commands.add(key);
    }
    return found;
  }

  /**
   * A container that took a warm sandbox and has not run yet gives it up (its task goes, and
   * the zygote and its command leave the root; start then makes a task as without the pool):
   * `docker diff`, `export`, `commit` and `cp` must not see what the pool put there.
   */
  async unpool(c: ContainerRecord): Promise<void> {
    if (!this.pooled.has(c.Id) || c.State.Status !== 'created') return;
    await this.ctx.locks.run(c.Id, async () => {
      if (!this.pooled.has(c.Id) || c.State.Status !== 'created') return;
      await this.dropPrepared(c);
      if (this.pooled.has(c.Id)) await this.discard(c);
    });
  }

  /** The container is gone: nothing more to know of its sandbox. */
  forgetPooled(id: string): void {
    this.pooled.delete(id);
  }

  preparedPid(id: string): number | undefined {
    return this.prepared.get(id)?.pid;
  }

  /**
   * Whether the task created ahead for `c` (a member of a pod, made before its infra ran: see
   * Endpoints.plan's `ahead`) is in the namespaces that `c` joins now — the same network, IPC,
   * UTS and PID namespaces (by inode) as the other container's running init. Called at start,
   * once that other one runs; if not (its task was remade meanwhile), the task is taken down
   * and the start makes one.
   */
  async joinedStill(c: ContainerRecord): Promise<void> {
    const mine = this.prepared.get(c.Id);
    const h = c.HostConfig;
    const joins: [string | undefined, string][] = [
      [h.NetworkMode, 'net'],
      [h.IpcMode, 'ipc'],
      [h.UTSMode, 'uts'],
      [h.PidMode, 'pid'],
    ];
    if (!mine || !joins.some(([m]) => m?.startsWith('container:'))) return;
    const same = joins.every(([mode, ns]) => {
      if (!mode?.startsWith('container:')) return true;
      const other = this.ctx.store.find(mode.slice('container:'.length));
      const pid = other?.State.Running ? other.State.Pid : undefined;
      return !!pid && nsInode(pid, ns) !== undefined && nsInode(pid, ns) === nsInode(mine.pid, ns);
    });
    if (!same) {
      this.ctx.d.log.debug(`start ${c.Id.slice(0, 12)}: its task created ahead joined namespaces since gone`);
      await this.dropPrepared(c);
    }
  }

  /**
   * Lets `c`'s created task run: a warm sandbox's zygote, which its hand-over told the command,
   * is told to exec it (one write: zygote.ts); any other task, and a sandbox whose zygote waits
   * at the runtime's exec FIFO (no FIFO of its own: see zygote.ts's startsZygote), is released
   * by the runtime. Its `pooled` mark outlives the hand-over until the container's next task is
   * made (create).
   */
  async start(c: ContainerRecord): Promise<void> {
    if (this.pooled.has(c.Id) && tellZygote(this.ctx.dir(c.Id), c.Id, 'g')) return;
    await this.ctx.runtime(c).start(c.Id);
  }

  /**
   * A created container whose task a previous daemon made ahead, which may have been a warm
   * sandbox (a daemon killed with SIGKILL forgot which): what the pool put in its root goes,
   * as a hand-over given up would remove it, so that its next task finds none of it. Through
   * the root's mount when it is still mounted, else in its upper directory, where it lies.
   */
  async forgetTaskAhead(c: ContainerRecord): Promise<void> {
    const dir = this.ctx.dir(c.Id);
    await removePoolFiles(join(dir, (await this.ctx.d.snapshots.isMounted(dir)) ? 'rootfs' : 'upper'));
  }

  takePrepared(id: string): CreatedTask | undefined {
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
  async dropPrepared(c: ContainerRecord): Promise<void> {
    if (this.takePrepared(c.Id)) await this.discard(c);
  }

  /** Takes down a task that will not run: the runtime's state, the network, the volumes' mounts. */
  private async discard(c: ContainerRecord): Promise<void> {
    await this.ctx
      .runtime(c)
      .delete(c.Id, true)
      .catch(() => {});
    // A sandbox's zygote and command leave the root: the next task is made as without the pool.
    if (this.pooled.delete(c.Id)) await removePoolFiles(join(this.ctx.dir(c.Id), 'rootfs'));
    this.endpoints.release(c);
    await this.ctx.d.volumes?.release(c.Id);
  }
}

/** What the pool put in a sandbox's root (`root`), gone; what is not there is no error. */
async function removePoolFiles(root: string): Promise<void> {
  await Promise.all(ZYGOTE_FILES.map((f) => removeFile(join(root, f)))).catch(() => {});
}

/** The inode of a process's namespace (`net`, `ipc`...): one stat on the event loop; undefined if the process is gone. */
function nsInode(pid: number, ns: string): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/${ns}`).ino;
  } catch {
    return undefined;
  }
}

/**
 * Under a remap, the /etc files Berth writes for a container belong to the container's root,
 * who may edit them as root may without a remap (dockerd chowns them the same way).
 */
async function giveEtcFiles(dir: string, map: IdMap): Promise<void> {
  const root = rootOf(map);
  for (const f of ['hosts', 'hostname', 'resolv.conf'])
    await fs.chown(join(dir, f), root.uid, root.gid).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
}

/**
 * Whether `cmd` names an executable file in the root (through the environment's PATH when it
 * has no slash), as the runtime's create would find it: a sandbox's zygote finds it only after
 * start has answered, too late for Docker's start error.
 */
async function commandFound(rootfs: string, cmd: string, env: readonly string[] | undefined): Promise<boolean> {
  if (!cmd) return false;
  const candidates = cmd.includes('/') ? [cmd] : searchPath(env).map((d) => `${d}/${cmd}`);
  // All of PATH at once: this is on the start's path, and a command in /bin (busybox's, say) is
  // the last of Docker's six directories — some twenty lookups one after another.
  const found = await Promise.all(
    candidates.map(async (rel) => {
      if (!rel.startsWith('/')) return false;
      const path = await resolveInRoot(rootfs, rel.slice(1)).catch(() => undefined);
      const st = path ? await fs.stat(path).catch(() => undefined) : undefined;
      return !!st?.isFile() && !!(st.mode & 0o111);
    }),
  );
  return found.includes(true);
}

/**
 * An address the start could not have (the one asked for is taken, none is left) is libnetwork's
 * refusal, before any runtime ran: dockerd answers it bare and as Forbidden ("Address already in
 * use"), not as the runtime's "failed to create task" (start.ts answers Forbidden bare).
 */
async function addressRefused<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw is(e, 'Conflict') ? forbidden((e as Error).message, e) : e;
  }
}
