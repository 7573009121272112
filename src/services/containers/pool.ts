/**
 * The warm pool (`berthd --warm-pool N`): sandboxes made before anyone asks for them, so that
 * `docker run` of the most started image finds its task made and only has to release it.
 *
 * A sandbox is a container in all but its record: an ID chosen ahead, its directory with the
 * /etc files for that ID, its overlay root with a fresh upper directory, its network (none,
 * or on the default bridge or a user network a veth wired into its namespace and an address
 * allocated for its ID, as a start would — on a user network without its DNS names, which
 * the container that takes it registers), and the runtime's
 * task created under its monitor (namespaces, cgroup, capabilities, seccomp) and started: its
 * process is berth-zygote (berth-zygote.c), waiting on a FIFO of its own — the command is not
 * known yet. A create that fits (poolfit.ts) takes one: its ID becomes the container's and the
 * record is written as for any create; tasks.ts then checks that the container's spec is the
 * sandbox's but for its process and writes the command for the zygote (else the sandbox's
 * task goes and a task is made as without the pool). Start tells the zygote to exec it.
 *
 * The pool holds sandboxes of one image, the most started among the last starts (see
 * `imageId`), on the networks of those starts, each with its share of the pool (poolfit.ts's
 * `poolShares`: starts alternating between `--network none` and a user network find a
 * sandbox on each). A user network removed (`docker network rm`, `prune`) takes its
 * sandboxes with it first (`releaseNetwork`), as the network has no container on it. Beside
 * them, for a pod just made, one sandbox at a time joined to its infra's namespaces, for its
 * next member (see `wantJoined`, pool-members.ts).
 *
 * Invariants: a sandbox is used once (the pool pre-makes, it never recycles: a container's
 * exit tears its task down as any other); the pool holds only sandboxes nobody has used; one
 * sandbox is made at a time (and one per pod for its members), after a start has answered and
 * its container is gone (or a moment later: see refillAfter), so refills never compete with a
 * burst of starts; a
 * sandbox made while another is ready is made at a lower priority (poolfit.ts's
 * sandboxNice) and put back at the daemon's at its hand-over (tasks.ts's adopt); a
 * sandbox has no record, so the sweep of directories without one at the next daemon start
 * removes what a daemon killed with SIGKILL left (its task, and the veth with its
 * namespace; the bridges' addresses of containers not running are freed before),
 * and `drain` takes the ready ones down at shutdown.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { removeTree } from '../../fs/index.ts';
import { shortId } from '../../spec/index.ts';
import { is } from '../../errdefs/index.ts';
import type { ContainerContext } from './context.ts';
import { newRecord } from './create.ts';
import { MemberSandboxes } from './pool-members.ts';
import {
  isUserNetwork,
  poolShares,
  requestFits,
  sandboxKey,
  sandboxNetworkOf,
  sandboxNice,
  SANDBOX_NICE,
  ZYGOTE_PATH,
  type SandboxNetwork,
} from './poolfit.ts';
import type { Endpoint } from '../../network/index.ts';
import type { NetworkPlan } from './endpoints.ts';
import type { Spec } from '../../oci/index.ts';
import type { ContainerCreateRequest as CreateRequest, HostConfig } from '../../api/types/index.ts';
import type { Tasks } from './tasks.ts';
import { startsZygote, zygoteReady } from './zygote.ts';
import type { ContainerRecord } from './types.ts';

/** A ready sandbox: its ID (the container's, once taken), its image and its task's init. */
export interface Sandbox {
  id: string;
  imageId: string;
  /** Its image's top layer, which image pruning keeps while the sandbox holds it mounted. */
  topChain: string | null;
  pid: number;
  /** Its spec but for the process (poolfit.ts's sandboxKey), which a container taking it must match. */
  spec: string;
  network: SandboxNetwork;
  /** On the default bridge or a user network: its endpoint (address, MAC, veth), the container's once taken. */
  endpoint?: Endpoint;
  /** Made at this niceness (poolfit.ts's sandboxNice): the hand-over puts its processes back at 0. */
  nice?: number;
  /** A pod member's sandbox: the container whose namespaces it joined (see wantJoined). */
  joined?: string;
  /** Its /etc files as made (spec.ts's etcWritten): the hand-over writes only those the container's differ in. */
  etc?: Map<string, string>;
  /** Its bundle's config.json as the driver wrote it (the spec it was given, with its additions): the hand-over writes it back unread. */
  bundleSpec?: Spec;
  /** Its zygote runs, waiting on its FIFO (zygote.ts's startsZygote); else it waits at the runtime's exec FIFO. */
  started?: boolean;
}

/** How many of the last starts choose the pool's image (the most started among them). */
const RECENT_STARTS = 32;
/** The image the pool holds until starts say otherwise. */
const FIRST_IMAGE = 'busybox';
/** After a failed making on a network, or a container needing its addresses, how long before the next try there. */
const RETRY_MS = 5_000;
/** After a start, how long the refill waits at most for the started container to be gone (see refillAfter). */
const REFILL_DELAY_MS = 100;
export interface PoolStatus {
  size: number;
  ready: number;
  /** The image ID the sandboxes are of ('' until one is known). */
  image: string;
}

export class WarmPool {
  readonly size: number;
  private readonly ctx: ContainerContext;
  private readonly tasks: Tasks;
  private readonly zygote: string;
  private readonly ready: Sandbox[] = [];
  /** The image IDs and networks of the last starts, oldest first. */
  private readonly recent: { imageId: string; network: SandboxNetwork | undefined }[] = [];
  private filling: Promise<void> | undefined;
  /** The last making's niceness and time (poolfit.ts's sandboxNice). */
  private lastMaking: { nice?: number; ms: number } | undefined;
  private stopped = false;
  /**
   * Networks no sandbox is made on until then: a making there failed (a network out of
   * addresses, say, which must not stop the refill of the others), or a container needed the
   * addresses the pool held there (see yieldNetwork).
   */
  private readonly notBefore = new Map<SandboxNetwork, number>();
  /** The refill once the first network waited out may be tried again. */
  private retry: NodeJS.Timeout | undefined;
  /** Sandboxes for the members of pods just made (pool-members.ts). */
  private readonly members: MemberSandboxes;

  constructor(ctx: ContainerContext, tasks: Tasks, opts: { size: number; zygote: string }) {
    this.userNetwork = this.userNetwork.bind(this);
    this.ctx = ctx;
    this.tasks = tasks;
    this.size = opts.size;
    this.zygote = opts.zygote;
    this.members = new MemberSandboxes(ctx, {
      imageId: () => this.imageId(),
      make: (imageId, joined) => this.make(imageId, 'none', 0, joined),
      destroy: (id) => this.destroy(id),
      stopped: () => this.stopped || this.ctx.shuttingDown,
    });
    // The sandboxes' layers are in use as containers' are, except that a removed image's
    // sandboxes go first, so that its layers go with it as they would without the pool.
    const inUse = ctx.d.images.layersInUse;
    ctx.d.images.layersInUse = () => {
      const layers = inUse();
      for (const s of this.all()) if (s.topChain) layers.add(s.topChain);
      return layers;
    };
    const release = ctx.d.images.releaseHolders;
    ctx.d.images.releaseHolders = async (imageId) => {
      await release(imageId);
      await this.release(imageId);
    };
    // An image made, pulled, loaded or removed may change what the pool should hold.
    ctx.d.events.subscribe((e) => {
      if (e.Type === 'image') this.refill();
    });
  }

  private get bridgeless(): boolean {
    return !this.ctx.d.network?.enabled;
  }

  status(): PoolStatus {
    return { size: this.size, ready: this.ready.length, image: this.imageId() ?? '' };
  }

  /** A start of `c`: the pool follows the most started image and networks. */
  noteStart(c: Pick<ContainerRecord, 'Image' | 'HostConfig' | 'Config'>): void {
    if (!this.size) return;
    this.recent.push({
      imageId: c.Image,
      network: sandboxNetworkOf(c.HostConfig, c.Config, this.bridgeless, this.userNetwork),
    });
    if (this.recent.length > RECENT_STARTS) this.recent.shift();
  }

  /** The ID of the user network `ref` names (name, ID or ID prefix), if there is one. */
  private userNetwork(ref: string): string | undefined {
    return this.ctx.d.userNetworks?.find(ref)?.Id;
  }

  /**
   * The image the pool should hold: the most started of the last starts, else busybox if there
   * is one. By ID alone (a query of the store's index): asked a few times a run, on the refill's
   * way, where reading the image (its tags, digests, config) for its ID was some 0.4 ms of CPU.
   */
  imageId(): string | undefined {
    const best = mostFrequent(this.recent.map((s) => s.imageId));
    if (best && this.ctx.d.images.store.idOf(best)) return best;
    return this.ctx.d.images.store.idOf(FIRST_IMAGE);
  }

  /** How many sandboxes the pool holds on each network (poolfit.ts's `poolShares`), of networks that still exist. */
  shares(): Map<SandboxNetwork, number> {
    const un = this.ctx.d.userNetworks;
    return poolShares(
      this.recent.map((s) => (s.network && isUserNetwork(s.network) && !un?.find(s.network) ? undefined : s.network)),
      this.size,
      this.bridgeless,
    );
  }

  /** A ready sandbox for a create request that fits (poolfit.ts), taken out of the pool: the caller owns it from here. */
  takeFor(
    req: CreateRequest,
    h: HostConfig,
    image: { id: string; config: { config?: { Volumes?: object | null } } },
    runtime: string,
  ): Sandbox | undefined {
    if (h.NetworkMode?.startsWith('container:'))
      return this.members.take(h.NetworkMode.slice(10), req, h, image, runtime);
    const imageId = this.imageId();
    const network = sandboxNetworkOf(h, req, this.bridgeless, this.userNetwork);
    if (!imageId || !network || this.ctx.d.idMap || this.ctx.d.rootless) return undefined;
    const fits = requestFits(
      req,
      h,
      { id: image.id, volumes: image.config.config?.Volumes },
      {
        imageId,
        runtime: this.ctx.d.runtimes.defaultName,
        chosenRuntime: runtime,
        network,
        bridgeless: this.bridgeless,
        userNetwork: this.userNetwork,
      },
    );
    return fits ? this.take(imageId, network) : undefined;
  }

  private take(imageId: string, network: SandboxNetwork): Sandbox | undefined {
    const i = this.ready.findIndex((s) => s.imageId === imageId && s.network === network);
    if (i < 0) return undefined;
    return this.ready.splice(i, 1)[0];
  }

  /** A sandbox taken but not used (the create failed before its record was written). */
  giveBack(s: Sandbox): void {
    if (this.stopped) void this.destroy(s.id);
    else if (!s.joined) this.ready.push(s);
    else this.members.giveBack(s as Sandbox & { joined: string });
  }

  // ---- a pod's member sandboxes (pool-members.ts) ----

  /** A pod was made with `owner` as its infra: a sandbox for its next member, from `template` (MemberSandboxes). */
  wantJoined(owner: string, template: CreateRequest): void {
    if (!this.size || this.stopped || this.ctx.d.idMap || this.ctx.d.rootless) return;
    this.members.want(owner, template);
  }

  /** The pod of `owner` is going: its member sandbox goes too, one being made included. */
  unwantJoined(owner: string): Promise<void> {
    return this.members.unwant(owner);
  }

  /** Every ready sandbox, the pods' members' too. */
  private all(): Sandbox[] {
    return [...this.ready, ...this.members.ready()];
  }

  /**
   * After a start of `c`: the refill, once `c` is gone — exited, or with `--rm` removed — or
   * `REFILL_DELAY_MS` on, whichever comes first. A short run's exit, removal and the answer
   * to its wait are then not slowed by the making of a sandbox (spawns that block the event
   * loop and take a core), which runs while the client exits and the next one starts instead.
   */
  refillAfter(c: Pick<ContainerRecord, 'Id' | 'HostConfig'>): void {
    if (!this.size || this.stopped) return;
    const changes = this.ctx.changes;
    const event = `${c.HostConfig.AutoRemove ? 'removed' : 'exit'}:${c.Id}`;
    const go = () => {
      clearTimeout(timer);
      changes.off(event, go);
      this.refill();
    };
    const timer = setTimeout(go, REFILL_DELAY_MS);
    timer.unref();
    changes.once(event, go);
  }

  /** Makes sandboxes, one at a time, until the pool is full (of its image); returns at once. */
  refill(): void {
    if (!this.size || this.stopped || this.filling) return;
    // After the caller's answer is on its way.
    this.filling = new Promise<void>((r) => setImmediate(r)).then(() => this.fill());
    void this.filling.finally(() => (this.filling = undefined));
  }

  private async fill(): Promise<void> {
    while (!this.stopped && !this.ctx.shuttingDown) {
      const imageId = this.imageId();
      const shares = this.shares();
      const held = (n: SandboxNetwork) => this.ready.filter((s) => s.network === n).length;
      // Sandboxes of an image no longer the most started (or removed), or on a network with
      // more than its share (or none: no longer started, or removed), make room; the oldest first.
      const stale = this.ready.findIndex(
        (s) => s.imageId !== imageId || held(s.network) > (shares.get(s.network) ?? 0),
      );
      if (stale >= 0) {
        await this.destroy(this.ready.splice(stale, 1)[0]!.id);
        continue;
      }
      if (!imageId) return;
      // The network furthest below its share (the first of the most started on a tie), of those not waited out.
      let network: SandboxNetwork | undefined;
      let want = 0;
      let waiting = Infinity;
      for (const [n, share] of shares) {
        const at = this.notBefore.get(n) ?? 0;
        if (share - held(n) > 0 && at > Date.now()) waiting = Math.min(waiting, at);
        else if (share - held(n) > want) [network, want] = [n, share - held(n)];
      }
      if (!network) {
        // Once a network waited out may be tried again, the pool tries (no start may come to refill it).
        if (waiting < Infinity && !this.retry) {
          this.retry = setTimeout(() => ((this.retry = undefined), this.refill()), waiting - Date.now());
          this.retry.unref();
        }
        return;
      }
      try {
        this.ready.push(await this.make(imageId, network, held(network)));
      } catch (e) {
        this.notBefore.set(network, Date.now() + RETRY_MS);
        // A user network out of addresses is no fault: containers have them all.
        const log = is(e, 'Conflict') ? this.ctx.d.log.debug : this.ctx.d.log.warn;
        log.call(this.ctx.d.log, `warm pool: making a sandbox of ${shortId(imageId)}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * One sandbox: the directory, the root with berth-zygote in it, the task created (see
   * tasks.ts) — on a user network with an endpoint reserved for its ID (no DNS names yet).
   * `ready`: how many the pool holds on that network (poolfit.ts's sandboxNice). `joined`: a
   * pod member's, from its template, in the namespaces of `owner`.
   */
  private async make(
    imageId: string,
    network: SandboxNetwork,
    ready: number,
    joined?: { owner: string; template: CreateRequest; nice?: boolean; ended: () => boolean },
  ): Promise<Sandbox> {
    const image = this.ctx.d.images.require(imageId);
    const id = randomBytes(32).toString('hex');
    const rec = sandboxRecord(id, image, this.ctx.d.runtimes.defaultName, network, joined?.template);
    const dir = this.ctx.dir(id);
    const lowered = !this.ctx.runtime(rec).foreground ? undefined : joined ? joined.nice : true;
    const nice = !lowered ? undefined : joined ? SANDBOX_NICE : sandboxNice(ready, this.lastMaking);
    const t0 = performance.now();
    try {
      // First, as the cheapest to fail: a network may have no address left.
      let plan: NetworkPlan | undefined;
      if (isUserNetwork(network)) {
        const endpoint = this.ctx.d.userNetworks!.reserve(network, id);
        plan = { endpoint, dnsServer: endpoint.gateway };
      }
      await fs.mkdir(dir, { recursive: true, mode: 0o710 });
      await this.ctx.d.snapshots.mountRootfs(dir, rec.TopChain as never);
      // Exclusive: a path the image has there (a symlink out of the root, say) is never followed.
      await fs.copyFile(this.zygote, join(dir, 'rootfs', ZYGOTE_PATH), fsConstants.COPYFILE_EXCL);
      await fs.chmod(join(dir, 'rootfs', ZYGOTE_PATH), 0o755);
      // A pod removed meanwhile: no task for it (most of a making's cost is the runtime's create).
      if (joined?.ended()) throw new Error('its pod is gone');
      let spec = '';
      let bundleSpec: Spec | undefined;
      const etc = new Map<string, string>();
      const task = await this.tasks.create(rec, plan, undefined, {
        onSpec: (s) => {
          spec = sandboxKey(s);
          bundleSpec = s;
        },
        nice,
        ahead: !!joined,
        etc,
      });
      // Started now: its zygote waits as the task's PID 1 for the hand-over (zygote.ts).
      const started = startsZygote(this.ctx.runtime(rec));
      if (started) await this.ctx.runtime(rec).start(id);
      if (started) await zygoteReady(dir, task.pid);
      if (this.stopped) throw new Error('the daemon is stopping');
      // That spec is what the driver wrote as the bundle's config.json: its additions (crun's
      // cgroup binds, the seccomp filter's annotation) are made in the object given to it,
      // before it writes it (runtime/create.ts). Kept rather than read back and parsed (25 kB).
      const ms = performance.now() - t0;
      if (joined)
        this.ctx.d.log.debug(`warm pool: a member sandbox for ${shortId(joined.owner)} in ${ms.toFixed(1)} ms`);
      else this.lastMaking = { nice, ms };
      return {
        id,
        imageId,
        topChain: rec.TopChain,
        pid: task.pid,
        spec,
        network,
        endpoint: rec.Network,
        nice,
        joined: joined?.owner,
        etc,
        bundleSpec,
        started,
      };
    } catch (e) {
      await this.destroy(id);
      throw e;
    }
  }

  /** Takes a sandbox down: its task (its veth goes with its namespace), its address, its root's mount, its directory. */
  private async destroy(id: string): Promise<void> {
    const dir = this.ctx.dir(id);
    const rt = this.ctx.d.runtimes.of({ HostConfig: {} });
    await rt.delete(id, true).catch(() => {});
    this.ctx.d.network?.release(id);
    this.ctx.d.userNetworks?.release(id);
    await this.ctx.d.snapshots.unmountRootfs(dir).catch(() => {});
    await removeTree(dir).catch(() => {});
  }

  /** A deleted image: its sandboxes go, including one being made when the image went. */
  private async release(imageId: string): Promise<void> {
    await this.filling?.catch(() => {});
    const gone: Sandbox[] = [];
    for (let i = this.ready.length - 1; i >= 0; i--)
      if (this.ready[i]!.imageId === imageId) gone.push(...this.ready.splice(i, 1));
    gone.push(...this.members.releaseImage(imageId));
    await Promise.all(gone.map((s) => this.destroy(s.id)));
  }

  /**
   * A user network is being removed: its sandboxes go (their veths with their namespaces,
   * their addresses), including one being made when the removal came, the starts on it no
   * longer count (a network made again under its name has another ID), and the pool refills
   * on the others.
   */
  async releaseNetwork(networkId: string): Promise<void> {
    for (const s of this.recent) if (s.network === networkId) s.network = undefined;
    await this.letGo(networkId);
    // Their places go to the other networks (after the removal: the refill waits a turn).
    this.refill();
  }

  /**
   * A container could not have an address on user network `networkId` — none left, or the
   * one it asked for (`--ip`) taken — and the pool may hold sandboxes there, which are no
   * container's: they go, and none is made there for `RETRY_MS`, so that the retry finds their
   * addresses free (never given while a sandbox's veth is still up, which would answer ARP
   * for it). True if any went: the caller tries again.
   */
  async yieldNetwork(networkId: string): Promise<boolean> {
    this.notBefore.set(networkId, Date.now() + RETRY_MS);
    return (await this.letGo(networkId)) > 0;
  }

  /** Takes down the ready sandboxes on a network (one being made waited for first); how many went. */
  private async letGo(networkId: string): Promise<number> {
    await this.filling?.catch(() => {});
    const gone: Sandbox[] = [];
    for (let i = this.ready.length - 1; i >= 0; i--)
      if (this.ready[i]!.network === networkId) gone.push(...this.ready.splice(i, 1));
    await Promise.all(gone.map((s) => this.destroy(s.id)));
    return gone.length;
  }

  /** The daemon stops: no more making, and the ready sandboxes go. */
  async drain(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.filling?.catch(() => {});
    const ready = this.ready.splice(0);
    await Promise.all([this.members.drain(), ...ready.map((s) => this.destroy(s.id))]);
  }
}

/** The most frequent of `values` (a tie goes to the one seen first). */
function mostFrequent<T>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  for (const [v, n] of counts) if (best === undefined || n > counts.get(best)!) best = v;
  return best;
}

/**
 * The record a sandbox's task is made from: the image's defaults, its network (a user network
 * by ID), berth-zygote as root in `/`; a pod member's from its template (the pod's namespaces,
 * host name, cgroup parent).
 */
function sandboxRecord(
  id: string,
  image: Parameters<typeof newRecord>[1]['image'],
  runtime: string,
  network: SandboxNetwork,
  template?: CreateRequest,
): ContainerRecord {
  const req: CreateRequest = template
    ? { ...template, Image: image.id, Cmd: undefined, Entrypoint: undefined }
    : { Image: image.id, HostConfig: { NetworkMode: network === 'bridge' ? 'default' : network } };
  const rec = newRecord(req, { id, name: `berth-warm-${id.slice(0, 12)}`, image, runtime, now: new Date() });
  rec.Path = ZYGOTE_PATH;
  rec.Args = [];
  rec.Config.User = '';
  rec.Config.WorkingDir = '';
  return rec;
}
