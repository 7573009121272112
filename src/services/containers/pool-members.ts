/**
 * The warm pool's sandboxes for a pod's members (pool.ts's `wantJoined`): while a pod is new,
 * one sandbox at a time joined to its infra's namespaces, for its next `run --pod`.
 *
 * A pod was made (`owner` its infra, whose task is being created ahead): its members are
 * likely to follow, each a `run --pod` whose CLI takes a few hundred milliseconds to start —
 * time in which a member's task can be made. One sandbox at a time is kept ready for the
 * pod: made from `template` (the pod's member request, `memberRequest` of services/pods,
 * with the pool's image and berth-zygote), joined to the infra's namespaces as soon as its
 * task exists, started or not (Endpoints.plan's `ahead`). A member create that fits
 * (poolfit.ts's `joinedFits`, then the spec) takes it as any sandbox, and the next is made;
 * the start checks the namespaces are still the infra's (Tasks.joinedStill). The want ends
 * `JOINED_TTL_MS` after the pod's creation or its last take, or when the pod goes (`unwant`);
 * at most `JOINED_OWNERS` pods have one, so that many pods made at once (the CRI's are not
 * asked for) cost no more than a few tasks.
 */
import { shortId } from '../../spec/index.ts';
import type { ContainerContext } from './context.ts';
import { joinedFits } from './poolfit.ts';
import type { Sandbox } from './pool.ts';
import type { ContainerCreateRequest as CreateRequest, HostConfig } from '../../api/types/index.ts';

/** A pod's member sandbox is kept this long after the pod was made or its last one taken. */
const JOINED_TTL_MS = 10_000;
/** At most this many pods have a member sandbox at a time. */
const JOINED_OWNERS = 4;

/** Sandboxes wanted for the members of a pod to come: what they are made from, the ready one, its making. */
interface JoinedWant {
  template: CreateRequest;
  timer?: NodeJS.Timeout;
  ready?: Sandbox;
  making?: Promise<void>;
  /** The making waits for the infra's task still. */
  early?: boolean;
  /** A member took one: the next is for a member that may never come (see make). */
  taken?: boolean;
}

/** What the pool lends the members' sandboxes: its image, its making and taking down, whether it stopped. */
export interface MemberPool {
  imageId(): string | undefined;
  make(
    imageId: string,
    joined: { owner: string; template: CreateRequest; nice?: boolean; ended: () => boolean },
  ): Promise<Sandbox>;
  destroy(id: string): Promise<void>;
  stopped(): boolean;
}

export class MemberSandboxes {
  private readonly wants = new Map<string, JoinedWant>();
  private readonly ctx: ContainerContext;
  private readonly pool: MemberPool;

  constructor(ctx: ContainerContext, pool: MemberPool) {
    this.ctx = ctx;
    this.pool = pool;
  }

  /** A pod was made with `owner` as its infra: a sandbox for its next member, from `template`. */
  want(owner: string, template: CreateRequest): void {
    let w = this.wants.get(owner);
    if (!w) {
      if (this.wants.size >= JOINED_OWNERS) return;
      w = { template };
      this.wants.set(owner, w);
    }
    this.renew(owner, w);
    this.make(owner, w);
  }

  /**
   * The pod of `owner` is going: its member sandbox goes too. Returns once it is gone — one
   * being made included, which its making takes down when it sees the want ended (before the
   * runtime's create if it is not there yet), so that a `pod rm` leaves nothing running behind.
   */
  async unwant(owner: string): Promise<void> {
    const w = this.wants.get(owner);
    if (!w) return;
    this.wants.delete(owner);
    clearTimeout(w.timer);
    const ready = w.ready;
    w.ready = undefined;
    await Promise.all([ready && this.pool.destroy(ready.id), w.making]);
  }

  /** The member sandbox of `owner`'s pod for a create that fits, taken: the caller owns it from here. */
  take(
    owner: string,
    req: CreateRequest,
    h: HostConfig,
    image: { id: string; config: { config?: { Volumes?: object | null } } },
    runtime: string,
  ): Sandbox | undefined {
    const w = this.wants.get(owner);
    const s = w?.ready;
    // A member before the infra's task is even made (kube play makes them all at once, then
    // starts the pod): this client outruns the making, which would only compete with its starts.
    if (w?.early) void this.unwant(owner);
    if (!w || !s) return undefined;
    const fits = joinedFits(
      req,
      h,
      { id: image.id, volumes: image.config.config?.Volumes },
      { imageId: s.imageId, runtime: this.ctx.d.runtimes.defaultName, chosenRuntime: runtime, owner },
    );
    if (!fits) return undefined;
    w.ready = undefined;
    w.taken = true;
    this.renew(owner, w);
    this.make(owner, w);
    return s;
  }

  /** A member sandbox taken but not used: back as its pod's ready one, else taken down. */
  giveBack(s: Sandbox & { joined: string }): void {
    const w = this.wants.get(s.joined);
    if (w && !w.ready) w.ready = s;
    else void this.pool.destroy(s.id);
  }

  /** The ready member sandboxes. */
  ready(): Sandbox[] {
    return [...this.wants.values()].flatMap((w) => (w.ready ? [w.ready] : []));
  }

  /** The ready member sandboxes of a deleted image, no longer ready: the caller takes them down. */
  releaseImage(imageId: string): Sandbox[] {
    const gone: Sandbox[] = [];
    for (const w of this.wants.values())
      if (w.ready?.imageId === imageId) {
        gone.push(w.ready);
        w.ready = undefined;
      }
    return gone;
  }

  /** The daemon stops: the makings end and every member sandbox goes. */
  async drain(): Promise<void> {
    await Promise.all([...this.wants.values()].map((w) => w.making));
    await Promise.all([...this.wants.keys()].map((owner) => this.unwant(owner)));
  }

  private renew(owner: string, w: JoinedWant): void {
    clearTimeout(w.timer);
    w.timer = setTimeout(() => void this.unwant(owner), JOINED_TTL_MS);
    w.timer.unref();
  }

  /**
   * Makes the pod's next member sandbox, after the caller's answer and once the infra's task
   * exists. The first is made at the daemon's priority; one after a take, for a member that may
   * never come, at SANDBOX_NICE (as the pool's refills while one is ready), so that on a busy
   * machine it yields to the starts and clients it would otherwise slow.
   */
  private make(owner: string, w: JoinedWant): void {
    if (w.ready || w.making) return;
    w.making = new Promise<void>((r) => setImmediate(r))
      .then(async () => {
        const imageId = this.pool.imageId();
        // The infra's task is created ahead under its lock: its end is when its namespaces exist.
        w.early = true;
        await this.ctx.locks.run(owner, async () => {});
        w.early = false;
        if (!imageId || this.wants.get(owner) !== w || this.pool.stopped()) return;
        const s = await this.pool.make(imageId, {
          owner,
          template: w.template,
          nice: w.taken,
          ended: () => this.wants.get(owner) !== w,
        });
        if (this.wants.get(owner) === w && !w.ready && !this.pool.stopped()) w.ready = s;
        else await this.pool.destroy(s.id);
      })
      .catch((e: Error) => this.ctx.d.log.debug(`warm pool: a member sandbox for ${shortId(owner)}: ${e.message}`))
      .finally(() => (w.making = undefined));
  }
}
