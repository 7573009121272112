/**
 * What happens when a container's process ends (moby's `monitor.go`): the exit recorded with
 * its code, OOM kill and time, the `die` event, waiters told, the task's leftovers cleaned up,
 * `--rm` honoured, and the restart policy applied — a restart after the container's back-off
 * delay (restart.ts), which a user's stop or kill calls off. Also the rotation of the logs of
 * running containers, which ends with them.
 */
import { LogRotator, type Exit } from '../../runtime/index.ts';
import { shortId } from '../../spec/index.ts';
import type { ContainerContext } from './context.ts';
import type { Endpoints } from './endpoints.ts';
import { Backoff, restartOnExit } from './restart.ts';
import { exited, restarting } from './state.ts';
import type { ContainerRecord } from './types.ts';

/** What the monitor needs of the rest of the service. */
export interface MonitorHooks {
  /** Starts `c` again for its restart policy (called with its lock held). */
  restart(c: ContainerRecord): Promise<void>;
  /** Removes `c` after its exit (`--rm`; called with its lock held). */
  remove(c: ContainerRecord): void;
}

export class Monitor {
  private readonly ctx: ContainerContext;
  private readonly endpoints: Endpoints;
  private readonly hooks: MonitorHooks;
  /** Restarts a restart policy has scheduled, by container ID; and each container's back-off. */
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly backoffs = new Map<string, Backoff>();
  /** Log rotation of running containers with `max-file` > 1. */
  private readonly rotators = new Map<string, LogRotator>();

  constructor(ctx: ContainerContext, endpoints: Endpoints, hooks: MonitorHooks) {
    this.ctx = ctx;
    this.endpoints = endpoints;
    this.hooks = hooks;
  }

  async handleExit(news: Exit, runtime: string): Promise<void> {
    const c = this.ctx.store.find(news.id);
    // An exit is the news of the runtime the container runs on, not of another one.
    if (!c || this.ctx.d.runtimes.nameOf(c) !== runtime) return;
    await this.ctx.locks.run(c.Id, async () => {
      if ((!c.State.Running && c.State.Status !== 'paused') || c.State.Restarting) return;
      // A late exit of a task a forced delete took down (a task created ahead and dropped, a
      // warm sandbox given up) can arrive after the start that made a new one: the live task's
      // run goes on; and once that one has ended too, its own recorded exit is the one to
      // believe (the delete took the old one's away), or none yet: its own news is coming.
      if (await this.ctx.runtime(c).isAlive(c.Id)) return;
      const recorded = await this.ctx.runtime(c).readExit(c.Id);
      if (!recorded) return;
      const e: Exit = { ...news, ...recorded };
      this.rotators.get(c.Id)?.stop();
      this.rotators.delete(c.Id);
      const ranMs = e.exitedAt.getTime() - Date.parse(c.State.StartedAt);
      const again =
        !this.ctx.shuttingDown &&
        restartOnExit(c.HostConfig.RestartPolicy, {
          exitCode: e.exitCode,
          manuallyStopped: !!c.ManuallyStopped,
          restartCount: c.RestartCount,
        });
      const state = (again ? restarting : exited)(c.State, e.exitCode, e.exitedAt, !!e.oomKilled);
      // `--rm`: the record is deleted below, in this same turn (hooks.remove), so it is not
      // written first — an UPDATE of its JSON and a commit, then the DELETE's, on every warm
      // run's exit. A daemon killed in between finds it running with its task gone, as any
      // container that exited while it was down, and removes it (restore).
      if (c.HostConfig.AutoRemove) c.State = state;
      else this.ctx.setState(c, state);
      if (e.oomKilled) this.ctx.emit(c, 'oom');
      this.ctx.emit(c, 'die', { exitCode: String(e.exitCode) });
      this.endpoints.networkEvents(c, 'disconnect');
      // Waiters learn of the exit now; the runtime's leftovers go while they read it. Anything
      // that would reuse them (start, rm) queues behind this lock.
      this.ctx.changes.emit(`exit:${c.Id}`, e.exitCode);
      if (c.HostConfig.AutoRemove) {
        this.hooks.remove(c);
        return;
      }
      await this.cleanupAfterExit(c);
      if (again) this.scheduleRestart(c, ranMs);
    });
  }

  private async cleanupAfterExit(c: ContainerRecord): Promise<void> {
    if (c.Network) {
      this.endpoints.release(c);
      this.ctx.store.save(c);
    }
    // The rootfs mount lives in the host's namespace: it can go while runc deletes its state.
    await Promise.all([
      this.ctx
        .runtime(c)
        .delete(c.Id, true)
        .catch((err) => this.ctx.d.log.warn(`delete task ${shortId(c.Id)}: ${(err as Error).message}`)),
      this.ctx.d.snapshots
        .unmountRootfs(this.ctx.dir(c.Id))
        .catch((err) => this.ctx.d.log.warn(`unmount ${shortId(c.Id)}: ${(err as Error).message}`)),
      this.ctx.d.volumes?.release(c.Id),
    ]);
  }

  /** A policy restart after the container's back-off delay, unless a user acts first. */
  private scheduleRestart(c: ContainerRecord, ranMs: number): void {
    let backoff = this.backoffs.get(c.Id);
    if (!backoff) this.backoffs.set(c.Id, (backoff = new Backoff()));
    const ms = backoff.next(ranMs);
    this.ctx.d.log.debug(`restart ${shortId(c.Id)} in ${ms} ms (policy ${c.HostConfig.RestartPolicy?.Name})`);
    const timer = setTimeout(() => {
      this.restartTimers.delete(c.Id);
      void this.ctx.locks
        .run(c.Id, async () => {
          if (!this.ctx.store.find(c.Id) || !c.State.Restarting) return;
          c.RestartCount++;
          try {
            await this.hooks.restart(c);
          } catch (err) {
            this.ctx.d.log.warn(`restart ${shortId(c.Id)}: ${(err as Error).message}`);
          }
        })
        .catch(() => {});
    }, ms);
    timer.unref();
    this.restartTimers.set(c.Id, timer);
  }

  /** Cancels a scheduled policy restart; the container is then simply exited. */
  cancelRestart(c: ContainerRecord): boolean {
    const timer = this.restartTimers.get(c.Id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(c.Id);
    if (!c.State.Restarting) return false;
    this.ctx.setState(
      c,
      exited(c.State, c.State.ExitCode, new Date(Date.parse(c.State.FinishedAt)), c.State.OOMKilled),
    );
    return true;
  }

  /** Keeps `max-file` old logs while the container runs (the runtime caps the current one). */
  rotateLogs(c: ContainerRecord, maxFiles: number): void {
    if (maxFiles < 2 || this.rotators.has(c.Id)) return;
    const r = new LogRotator(this.ctx.logPath(c.Id), maxFiles);
    r.start();
    this.rotators.set(c.Id, r);
  }

  /** A user started the container: the policy's back-off begins afresh. */
  resetBackoff(id: string): void {
    this.backoffs.delete(id);
  }

  /** The container is gone: its back-off and log rotation with it. */
  forget(id: string): void {
    this.backoffs.delete(id);
    this.rotators.get(id)?.stop();
    this.rotators.delete(id);
  }

  /** The daemon stops: no more restarts (they stay recorded as restarting) and no more rotation. */
  stop(): void {
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
    for (const r of this.rotators.values()) r.stop();
  }
}
