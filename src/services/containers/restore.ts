/**
 * The containers across a daemon's restart. At start (`restore`): every record reconciled with
 * what the runtime holds — still running (kept with live restore, stopped without), exited
 * while the daemon was down (the exit read back from the runtime), a removal or a policy
 * restart the previous daemon left half done — and then the restart policies that apply to a
 * daemon start. At shutdown: nothing left mounted or created ahead, and without live restore
 * every running container stopped cleanly.
 */
import { monitorKeepsLogs } from '../../runtime/index.ts';
import { shortId } from '../../spec/index.ts';
import type { ContainerContext } from './context.ts';
import type { Endpoints } from './endpoints.ts';
import { logLimits } from './logopts.ts';
import type { Monitor } from './monitor.ts';
import type { Removal } from './removal.ts';
import { restartOnDaemonStart } from './restart.ts';
import { exited, ZERO_TIME } from './state.ts';
import type { Tasks } from './tasks.ts';
import type { ContainerRecord } from './types.ts';

/** What restore and shutdown need of the service's public operations. */
export interface RestoreHooks {
  stop(id: string, opts: { timeout?: number; byDaemon: boolean }): Promise<void>;
  /** Starts `c` for its restart policy (called with its lock held). */
  restart(c: ContainerRecord): Promise<void>;
}

export class DaemonRestore {
  private readonly ctx: ContainerContext;
  private readonly tasks: Tasks;
  private readonly monitor: Monitor;
  private readonly endpoints: Endpoints;
  private readonly removal: Removal;
  private readonly hooks: RestoreHooks;

  constructor(
    ctx: ContainerContext,
    parts: { tasks: Tasks; monitor: Monitor; endpoints: Endpoints; removal: Removal },
    hooks: RestoreHooks,
  ) {
    this.ctx = ctx;
    this.tasks = parts.tasks;
    this.monitor = parts.monitor;
    this.endpoints = parts.endpoints;
    this.removal = parts.removal;
    this.hooks = hooks;
  }

  /** Reconciles records with reality after the daemon (re)starts. */
  async restore(): Promise<void> {
    await this.removal.sweep();
    // Which tasks still run, asked of the runtime for all of them at once: one after another,
    // a thousand state files and /proc reads held the API back for seconds.
    const running = this.ctx.store.all().filter((c) => c.State.Running || c.State.Status === 'paused');
    const aliveNow = new Map(
      await Promise.all(running.map(async (c) => [c.Id, await this.ctx.runtime(c).isAlive(c.Id)] as const)),
    );
    for (const c of this.ctx.store.all()) {
      if (c.State.Status === 'removing') {
        // A removal interrupted by an older daemon (which kept the record until the end).
        this.removal.forget(c);
        continue;
      }
      if (c.State.Status === 'created') {
        // A task created ahead of a start that never came, by the previous daemon.
        if (await this.ctx.runtime(c).exists(c.Id)) {
          await this.ctx
            .runtime(c)
            .delete(c.Id, true)
            .catch(() => {});
          await this.tasks.forgetTaskAhead(c);
        }
        continue;
      }
      if (c.State.Restarting) {
        // The previous daemon went down while this one waited to restart: the policy decides below.
        this.ctx.setState(
          c,
          exited(c.State, c.State.ExitCode, new Date(Date.parse(c.State.FinishedAt)), c.State.OOMKilled),
        );
        continue;
      }
      if (!c.State.Running && c.State.Status !== 'paused') continue;
      const alive = aliveNow.get(c.Id) ?? (await this.ctx.runtime(c).isAlive(c.Id));
      const keep = this.keeps(c);
      // A monitor that rotates the files itself (berth-monitor's --log-max-files) is left to it.
      const maxFiles = logLimits(c.HostConfig).maxFiles;
      if (alive && keep && maxFiles > 1 && !(await monitorKeepsLogs(this.ctx.dir(c.Id))))
        this.monitor.rotateLogs(c, maxFiles);
      if (alive && c.MountPoints?.length) this.ctx.d.volumes?.adopt(c.Id, c.MountPoints);
      if (alive && keep) this.endpoints.restore(c);
      if (alive) {
        if (!keep) {
          // Without live restore, containers from the previous daemon do not survive it.
          this.ctx.d.log.info(`stopping container ${shortId(c.Id)} left by the previous daemon`);
          await this.hooks.stop(c.Id, { timeout: 10, byDaemon: true }).catch(() => {});
        }
        continue;
      }
      const recorded = await this.ctx.runtime(c).readExit(c.Id);
      await this.monitor.handleExit(
        {
          id: c.Id,
          exitCode: recorded?.exitCode ?? 255,
          exitedAt: recorded?.exitedAt ?? new Date(),
          oomKilled: recorded?.oomKilled,
        },
        this.ctx.d.runtimes.nameOf(c),
      );
    }
    // Restart policies that apply to a daemon start (Docker: always, and unless-stopped and
    // on-failure for containers no user stopped), in the background: the API comes up meanwhile.
    for (const c of this.ctx.store.all()) {
      if (c.State.Running || c.State.Status === 'paused') continue;
      const facts = {
        exitCode: c.State.ExitCode,
        manuallyStopped: !!c.ManuallyStopped,
        restartCount: c.RestartCount,
        everStarted: c.State.StartedAt !== ZERO_TIME,
      };
      if (!restartOnDaemonStart(c.HostConfig.RestartPolicy, facts)) continue;
      this.ctx.d.log.info(`starting container ${shortId(c.Id)} (restart policy ${c.HostConfig.RestartPolicy?.Name})`);
      void this.ctx.locks
        .run(c.Id, () => this.hooks.restart(c))
        .catch((err) => this.ctx.d.log.warn(`restart ${shortId(c.Id)}: ${(err as Error).message}`));
    }
  }

  /** Whether `c` keeps running while the daemon is down: live restore, or one the daemon says outlives it. */
  keeps(c: ContainerRecord): boolean {
    return this.ctx.d.liveRestore || !!this.ctx.d.keepRunning?.(c);
  }

  /** On daemon shutdown without live restore, containers are stopped cleanly (but those `keeps` keeps). */
  async shutdown(): Promise<void> {
    this.ctx.shuttingDown = true;
    // Pending policy restarts stay recorded as restarting; the next daemon start decides them.
    this.monitor.stop();
    // Tasks created ahead go, under their containers' locks: a precreate in flight (it holds
    // the lock, and was not in `prepared` yet when the list was read) is waited for, then its
    // task goes too. Read from `prepared` alone, such a task outlived the shutdown, and the unit
    // tests' service wrote into its container's directory while the test removed it (ENOTEMPTY).
    const ahead = new Set([
      ...this.tasks.preparedIds(),
      ...this.ctx.store
        .all()
        .filter((c) => c.State.Status === 'created')
        .map((c) => c.Id),
    ]);
    await Promise.all(
      [...ahead].map(async (id) => {
        const c = this.ctx.store.find(id);
        if (c) await this.ctx.locks.run(id, () => this.tasks.dropPrepared(c)).catch(() => {});
      }),
    );
    await this.removal.settled();
    // Created containers have their root file system mounted since create (for a quick start):
    // a daemon that stops leaves no mount behind for them; a start mounts it again.
    await Promise.all(
      this.ctx.store
        .all()
        .filter((c) => c.State.Status === 'created')
        .map(async (c) => {
          await this.tasks.premounted(c.Id);
          await this.ctx.d.snapshots.unmountRootfs(this.ctx.dir(c.Id)).catch(() => {});
        }),
    );
    if (this.ctx.d.liveRestore) return;
    const stopping = this.ctx.store.all().filter((c) => c.State.Running && !c.State.Restarting && !this.keeps(c));
    await Promise.all(
      stopping.map(async (c) => {
        await this.hooks.stop(c.Id, { byDaemon: true }).catch(() => {});
        // A stop returns once the exit is recorded; the task's clean-up (the runtime's delete,
        // which takes its cgroup and state away, the unmount) goes on under the container's
        // lock after that, and a daemon that exited first left them behind for good.
        await this.ctx.locks.run(c.Id, async () => {}).catch(() => {});
      }),
    );
  }
}
