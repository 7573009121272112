/**
 * Checkpoints of running containers (`docker checkpoint create/ls/rm`, `docker start
 * --checkpoint`, the Engine API's `/containers/{id}/checkpoints`): the runtime saves the
 * container's processes into a directory of the container's own,
 * `<data-root>/containers/<id>/checkpoints/<name>` (or `<CheckpointDir>/<name>` when the client
 * names a directory, as dockerd allows), and a start restores them from there. What can be
 * checkpointed is the runtime's to say (`Checkpointing.checkpointSupport`): gVisor always,
 * runc and crun where the host's CRIU works; a refusal carries the reason.
 *
 * The container's file system changes stay in its own upper layer between the checkpoint and
 * the restore.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointCreateRequest, CheckpointSummary } from '../../api/types/index.ts';
import { conflict, invalidArgument, notFound, notImplemented } from '../../errdefs/index.ts';
import type { ContainerContext } from './context.ts';
import type { ContainerRecord } from './types.ts';
import { pathExists } from '../../fs/index.ts';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class Checkpoints {
  private readonly ctx: ContainerContext;

  constructor(ctx: ContainerContext) {
    this.ctx = ctx;
  }

  /** Where checkpoint `name` of `c` is (or would be); a bad name is refused as dockerd refuses it. */
  dirOf(c: ContainerRecord, name: string, checkpointDir?: string): string {
    if (!NAME.test(name))
      throw invalidArgument(`invalid checkpoint ID (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    return join(checkpointDir || join(this.ctx.dir(c.Id), 'checkpoints'), name);
  }

  /** `POST /containers/{id}/checkpoints`. */
  async create(ref: string, o: CheckpointCreateRequest): Promise<void> {
    const c = this.ctx.store.get(ref);
    // In an object: a promise returned as such would be awaited under the lock its exit needs.
    const { exited } = await this.ctx.locks.run(c.Id, async () => {
      if (!c.State.Running || c.State.Paused) throw conflict(`container ${c.Id} is not running`);
      const rt = this.ctx.runtime(c);
      const support = await rt.checkpointSupport();
      if (!support.supported)
        throw notImplemented(
          `cannot checkpoint container ${c.Id} (runtime ${this.ctx.d.runtimes.nameOf(c)}): ${support.reason}`,
        );
      const dir = this.dirOf(c, o.CheckpointID ?? '', o.CheckpointDir);
      if (await pathExists(dir))
        throw conflict(`checkpoint with name ${o.CheckpointID} already exists for container ${c.Id}`);
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const exit = o.Exit ?? true;
      // Stopped by the user's checkpoint, not by itself: no restart policy brings it back.
      if (exit) c.ManuallyStopped = true;
      const exited = exit ? this.ctx.nextExit(c.Id) : undefined;
      try {
        await rt.checkpoint(c.Id, dir, !exit);
      } catch (e) {
        if (exit) c.ManuallyStopped = false;
        await fs.rm(dir, { recursive: true, force: true });
        throw e;
      }
      this.ctx.store.save(c);
      this.ctx.emit(c, 'checkpoint');
      return { exited };
    });
    // As a SIGKILL does: the answer comes once the container has stopped, so what the client
    // asks next (inspect, start --checkpoint) sees it stopped. Its exit is handled under the lock.
    if (exited && c.State.Running) await Promise.race([exited, delay(10_000)]);
  }

  /** `GET /containers/{id}/checkpoints`: the names, sorted. */
  async list(ref: string, checkpointDir?: string): Promise<CheckpointSummary[]> {
    const c = this.ctx.store.get(ref);
    const root = checkpointDir || join(this.ctx.dir(c.Id), 'checkpoints');
    const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory() && NAME.test(e.name))
      .map((e) => ({ Name: e.name }))
      .sort((a, b) => a.Name.localeCompare(b.Name));
  }

  /** `DELETE /containers/{id}/checkpoints/{name}`. */
  async remove(ref: string, name: string, checkpointDir?: string): Promise<void> {
    const c = this.ctx.store.get(ref);
    const dir = this.dirOf(c, name, checkpointDir);
    if (!(await pathExists(dir))) throw notFound(`checkpoint ${name} does not exist for container ${c.Id}`);
    await fs.rm(dir, { recursive: true, force: true });
  }

  /** For `start --checkpoint`: the checkpoint's directory, which must exist. */
  async restorePoint(c: ContainerRecord, name: string, checkpointDir?: string): Promise<string> {
    const dir = this.dirOf(c, name, checkpointDir);
    if (!(await pathExists(dir))) throw notFound(`checkpoint ${name} does not exist for container ${c.Id}`);
    return dir;
  }
}
