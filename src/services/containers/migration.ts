/**
 * Moving a checkpointed container to another daemon (Podman's `container checkpoint --export`
 * and `container restore --import`, stop-and-copy): one tar holding the container's
 * configuration (`container.json`: name, Config, HostConfig, the checkpoint's name), the
 * checkpoint itself (`checkpoint/`) and the container's file system changes against its image
 * (`rootfs-diff.tar`, a layer made from its upper directory, whiteouts included). The
 * importing daemon needs the image; it creates the container afresh (a new ID; the old name
 * unless it is taken or another is given), applies the changes to its root, and keeps the
 * checkpoint as the container's own, ready for a start from it.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContainerCreateRequest } from '../../api/types/index.ts';
import { applyLayer, diffOverlayUpper, extractTar, tarDirectory } from '../../archive/index.ts';
import { invalidArgument } from '../../errdefs/index.ts';
import type { Checkpoints } from './checkpoints.ts';
import type { ContainerContext } from './context.ts';
import type { Tasks } from './tasks.ts';
import type { ContainerRecord } from './types.ts';

/** `container.json` of an exported checkpoint. */
interface ExportedContainer {
  Name: string;
  Checkpoint: string;
  Config: ContainerRecord['Config'];
  HostConfig: ContainerRecord['HostConfig'];
}

export interface MigrationHooks {
  create(req: ContainerCreateRequest, name?: string): Promise<{ Id: string }>;
}

export class Migration {
  private readonly ctx: ContainerContext;
  private readonly tasks: Tasks;
  private readonly checkpoints: Checkpoints;
  private readonly hooks: MigrationHooks;

  constructor(ctx: ContainerContext, tasks: Tasks, checkpoints: Checkpoints, hooks: MigrationHooks) {
    this.ctx = ctx;
    this.tasks = tasks;
    this.checkpoints = checkpoints;
    this.hooks = hooks;
  }

  /** Scratch space beside the containers' directories (the data root's tmp), on the same file system. */
  private async scratch(what: string): Promise<string> {
    const tmp = join(dirname(this.ctx.d.root), 'tmp');
    await fs.mkdir(tmp, { recursive: true });
    const dir = join(tmp, `${what}-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** The container with its checkpoint `name` and its file system changes, as one tar. */
  async export(ref: string, name: string): Promise<Readable> {
    const c = this.ctx.store.get(ref);
    const checkpoint = await this.checkpoints.restorePoint(c, name);
    const dir = await this.scratch('export');
    try {
      const meta: ExportedContainer = { Name: c.Name, Checkpoint: name, Config: c.Config, HostConfig: c.HostConfig };
      await fs.writeFile(join(dir, 'container.json'), JSON.stringify(meta));
      await fs.cp(checkpoint, join(dir, 'checkpoint'), { recursive: true });
      await pipeline(
        diffOverlayUpper(join(this.ctx.dir(c.Id), 'upper'), { host: this.ctx.d.host }),
        createWriteStream(join(dir, 'rootfs-diff.tar')),
      );
    } catch (e) {
      await fs.rm(dir, { recursive: true, force: true });
      throw e;
    }
    const tar = tarDirectory(dir);
    tar.once('close', () => void fs.rm(dir, { recursive: true, force: true }));
    return tar;
  }

  /**
   * A container made from an exported checkpoint (`name`: its name here, else the exported one
   * if free), with the checkpoint in place for a start from it.
   */
  async import(source: Readable, name?: string): Promise<{ Id: string; Checkpoint: string }> {
    const dir = await this.scratch('import');
    try {
      await extractTar(source, dir, { keepOwner: true });
      const meta = JSON.parse(
        await fs.readFile(join(dir, 'container.json'), 'utf8').catch(() => 'null'),
      ) as ExportedContainer | null;
      if (!meta?.Config?.Image || !meta.Checkpoint)
        throw invalidArgument('not an exported checkpoint: no container.json');
      const wanted = name ?? (this.ctx.store.nameOwner(meta.Name) ? undefined : meta.Name);
      const { Id } = await this.hooks.create({ ...meta.Config, HostConfig: meta.HostConfig }, wanted);
      const c = this.ctx.store.get(Id);
      const cdir = this.ctx.dir(Id);
      // The changes go onto the container's root as a layer onto a tree: whiteouts delete.
      await this.tasks.premounted(Id);
      if (!(await this.ctx.d.snapshots.isMounted(cdir)))
        await this.ctx.d.snapshots.mountRootfs(cdir, c.TopChain as never);
      await applyLayer(createReadStream(join(dir, 'rootfs-diff.tar')), join(cdir, 'rootfs'), { host: this.ctx.d.host });
      const target = this.checkpoints.dirOf(c, meta.Checkpoint);
      await fs.mkdir(dirname(target), { recursive: true });
      await fs.rename(join(dir, 'checkpoint'), target);
      return { Id, Checkpoint: meta.Checkpoint };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}
