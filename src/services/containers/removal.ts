/**
 * What a removal leaves to do once the record is gone (moby's `delete.go`): the anonymous
 * volumes (`rm -v`, `--rm`), the runtime's state, the root file system's mount and the
 * container's directory — in the background, a moment after the clients told of the removal
 * have had their answer. A crash in between leaves a directory without a record, which the
 * next start sweeps (`sweep`).
 */
import { promises as fs } from 'node:fs';
import { delay } from '../../async/index.ts';
import { removeTree } from '../../fs/index.ts';
import { shortId } from '../../spec/index.ts';
import type { TaskLifecycle } from '../../runtime/index.ts';
import type { ContainerContext } from './context.ts';
import type { Endpoints } from './endpoints.ts';
import type { Monitor } from './monitor.ts';
import type { Tasks } from './tasks.ts';
import type { ContainerRecord } from './types.ts';

/** How long after a removal its clean-up (runtime delete, unmount, rm -rf) begins. */
const REAP_DELAY_MS = 20;

export class Removal {
  private readonly ctx: ContainerContext;
  private readonly tasks: Tasks;
  private readonly monitor: Monitor;
  private readonly endpoints: Endpoints;
  /** Clean-ups of removed containers still under way (`settled` lets them finish). */
  private readonly reaping = new Set<Promise<void>>();

  constructor(ctx: ContainerContext, parts: { tasks: Tasks; monitor: Monitor; endpoints: Endpoints }) {
    this.ctx = ctx;
    this.tasks = parts.tasks;
    this.monitor = parts.monitor;
    this.endpoints = parts.endpoints;
  }

  /**
   * Removes the record (the name is free and the container gone for every client from here)
   * and then, in the background, what it left on disk. A crash in between leaves a directory
   * without a record, which `restore` sweeps at the next start.
   */
  forget(c: ContainerRecord, removeVolumes = false): Promise<void> | undefined {
    this.ctx.store.delete(c.Id);
    // `rm -v` and `--rm` take the container's anonymous volumes along; named ones stay. As
    // dockerd's cleanup: its volumes' unmount and destroy events come before its own destroy.
    const vols = this.ctx.d.volumes;
    const volumesGone =
      c.MountPoints?.length && vols
        ? vols
            .release(c.Id)
            .then(() => (removeVolumes || c.HostConfig.AutoRemove ? vols.removeAnonymous(c.MountPoints) : undefined))
            .catch(() => {})
            .then(() => this.ctx.emit(c, 'destroy'))
        : undefined;
    this.monitor.forget(c.Id);
    if (this.tasks.takePrepared(c.Id)) this.endpoints.release(c);
    this.tasks.forgetPooled(c.Id);
    // Its endpoints go with it, now: the exit's own release may come later, and a network rm
    // right after `rm -f` (as dockerd allows) must not find it still a member.
    this.ctx.d.userNetworks?.release(c.Id);
    if (!volumesGone) this.ctx.emit(c, 'destroy');
    this.ctx.changes.emit(`removed:${c.Id}`);
    // A moment later: the spawns of the clean-up block the event loop, and the clients told
    // of the removal (an attach stream draining its last output, a wait) go first.
    const reap = delay(REAP_DELAY_MS)
      .then(() => this.reap(c.Id, [this.ctx.runtime(c)]))
      .catch((err) => this.ctx.d.log.warn(`clean up removed container ${shortId(c.Id)}: ${(err as Error).message}`));
    this.reaping.add(reap);
    void reap.finally(() => this.reaping.delete(reap));
    return volumesGone;
  }

  /**
   * Deletes a removed container's runtime state (in `runtimes`: the one it ran on, or every one
   * when that is not known any more), root file system mount and directory.
   */
  async reap(id: string, runtimes: readonly TaskLifecycle[]): Promise<void> {
    const dir = this.ctx.dir(id);
    this.ctx.d.network?.release(id);
    this.ctx.d.userNetworks?.release(id);
    await this.tasks.premounted(id);
    const [known, mounted] = await Promise.all([
      Promise.all(runtimes.map((rt) => rt.exists(id))),
      this.ctx.d.snapshots.isMounted(dir),
    ]);
    await Promise.all([
      ...runtimes.map((rt, i) => (known[i] ? rt.delete(id, true) : undefined)),
      mounted ? this.ctx.d.snapshots.unmountRootfs(dir) : undefined,
      this.endpoints.releaseNamespace(id),
    ]);
    await removeTree(dir);
  }

  /** Directories under the containers root whose record is gone: removals a crash interrupted. */
  async sweep(): Promise<void> {
    const names = await fs.readdir(this.ctx.d.root).catch(() => [] as string[]);
    for (const name of names) {
      if (!/^[0-9a-f]{64}$/.test(name) || this.ctx.store.find(name)) continue;
      this.ctx.d.log.info(`cleaning up container ${shortId(name)}, removed before the daemon stopped`);
      const runtimes = this.ctx.d.runtimes.entries().map(([, rt]) => rt);
      await this.reap(name, runtimes).catch((err) =>
        this.ctx.d.log.warn(`clean up removed container ${shortId(name)}: ${(err as Error).message}`),
      );
    }
  }

  /** Settles once every clean-up begun so far is done. */
  async settled(): Promise<void> {
    await Promise.all(this.reaping);
  }
}
