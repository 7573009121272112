/**
 * A container's start (moby's `start.go`): its published ports, the task (created ahead at
 * create, or now), the running state and the `start` event; a start that fails is recorded as
 * Docker records it (exit 127/126/128 with the runtime's words) and leaves nothing running.
 */
import { internal, is, notModified } from '../../errdefs/index.ts';
import { execFailureCode, runcWording } from '../../runtime/index.ts';
import { shortId } from '../../spec/index.ts';
import type { ContainerContext } from './context.ts';
import type { Endpoints } from './endpoints.ts';
import type { Monitor } from './monitor.ts';
import { failedStart, guard, runtimeCreateError, running } from './state.ts';
import type { Tasks } from './tasks.ts';
import type { ContainerRecord } from './types.ts';

export interface StartOptions {
  /** A restart policy's start (the monitor's, or restore's). */
  byPolicy?: boolean;
  /** A checkpoint's directory: the processes are restored from it. */
  restoreFrom?: string;
}

export class Starter {
  private readonly ctx: ContainerContext;
  private readonly parts: { tasks: Tasks; monitor: Monitor; endpoints: Endpoints };
  private readonly calls: {
    beforeStart: (c: ContainerRecord) => Promise<void> | undefined;
    remove: (id: string) => Promise<void>;
  };

  constructor(
    ctx: ContainerContext,
    parts: { tasks: Tasks; monitor: Monitor; endpoints: Endpoints },
    calls: {
      beforeStart: (c: ContainerRecord) => Promise<void> | undefined;
      remove: (id: string) => Promise<void>;
    },
  ) {
    this.ctx = ctx;
    this.parts = parts;
    this.calls = calls;
  }

  /** Runs under the container's lock (the caller's). */
  async start(c: ContainerRecord, opts: StartOptions = {}): Promise<void> {
    const { tasks, endpoints, monitor } = this.parts;
    if (c.State.Running && !(opts.byPolicy && c.State.Restarting)) throw notModified('container already started');
    // A restart policy's start too: a pod member restored after a daemon restart needs its infra up.
    await this.calls.beforeStart(c);
    if (!opts.byPolicy) {
      // A user's start begins the policy's count and back-off afresh.
      c.RestartCount = 0;
      monitor.resetBackoff(c.Id);
    }
    guard.start(c.Name, c.State);
    // As Docker: a bind source gone since create fails the start and leaves the state alone.
    if (c.MountPoints?.length) await this.ctx.d.volumes!.checkSources(c.MountPoints);
    const dir = this.ctx.dir(c.Id);
    // Published ports first: one that is taken fails the start with Docker's error and
    // leaves the container created.
    const network = await endpoints.publish(c);
    const before = c.State;
    try {
      const t0 = performance.now();
      // A restore makes its own task: one created ahead would start afresh.
      if (opts.restoreFrom) await tasks.dropPrepared(c);
      // A pod member's task made ahead joined its infra's namespaces, which must still be the infra's.
      else await tasks.joinedStill(c);
      const prepared = tasks.takePrepared(c.Id);
      const task = prepared ?? (await tasks.create(c, network, opts.restoreFrom));
      if (!task.logsRotated) monitor.rotateLogs(c, task.maxFiles);
      this.ctx.setState(c, running(c.State, task.pid, new Date()));
      c.ManuallyStopped = false;
      const t1 = performance.now();
      // A restored task runs already.
      if (!opts.restoreFrom) await tasks.start(c);
      this.ctx.d.log.debug(
        `start ${shortId(c.Id)}: ${prepared ? 'created ahead' : `create ${(t1 - t0).toFixed(1)} ms`}, start ${(performance.now() - t1).toFixed(1)} ms`,
      );
    } catch (e) {
      const msg = runcWording((e as Error).message, c.Path);
      await this.ctx
        .runtime(c)
        .delete(c.Id, true)
        .catch(() => {});
      await this.ctx.d.snapshots.unmountRootfs(dir).catch(() => {});
      endpoints.release(c);
      await this.ctx.d.volumes?.release(c.Id);
      // What is gone since create (a network removed meanwhile) is dockerd's 404, and what the
      // spec refused (a device that is not there) dockerd's bare words: neither reached a runtime.
      // An address the network refused (tasks.ts's addressRefused) is libnetwork's, bare too.
      const bare = is(e, 'NotFound') || is(e, 'InvalidArgument') || is(e, 'Forbidden');
      const error = bare ? msg : runtimeCreateError(msg);
      // Docker records a failed start as exit 127 (command not found) or 126 (not executable) or 128.
      const code = execFailureCode(msg);
      this.ctx.setState(c, failedStart(before, code, error));
      this.failed(c, code);
      if (bare) throw e;
      throw internal(error, e);
    }
    endpoints.networkEvents(c, 'connect');
    this.ctx.emit(c, 'start');
  }

  /** A start failed before anything ran: attached clients learn it, `--rm` removes. */
  failed(c: ContainerRecord, code: number): void {
    this.ctx.changes.emit(`exit:${c.Id}`, code, { startFailed: true });
    if (c.HostConfig.AutoRemove) void this.removeAfterFailure(c.Id);
  }

  private async removeAfterFailure(id: string): Promise<void> {
    // The start lock is still held by our caller: queue behind it.
    await Promise.resolve();
    await this.calls.remove(id).catch(() => {});
  }
}
