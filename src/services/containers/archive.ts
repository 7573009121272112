/**
 * What the service does with a container's files (moby's `archive.go`, `export.go`,
 * `commit.go`): `docker export` (the root file system as a tar), `docker diff` (its changes, from
 * the overlay's upper directory), `docker commit` (those changes as a new image) and `docker
 * cp` (a path's stat, a path out as a tar, a tar in), the last always resolved inside the root
 * file system as a chrooted process would, with a running container frozen meanwhile.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { diffOverlayUpper, tarDirectory, changes as upperChanges, type Change } from '../../archive/index.ts';
import { forbidden } from '../../errdefs/index.ts';
import { resolveUser } from '../../oci/index.ts';
import { familiarString, parseReference, type ImageRunConfig } from '../../spec/index.ts';
import type { ContainerContext } from './context.ts';
import { extractTo, statPath, tarPath, type HostMount } from './copy.ts';
import type { Tasks } from './tasks.ts';
import type { ContainerRecord } from './types.ts';
import type { ContainerConfig, PathStat } from '../../api/types/index.ts';

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

/** What archive work needs of the rest of the service: a commit pauses as `docker pause` does. */
export interface ArchiveHooks {
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
}

export class Archive {
  private readonly ctx: ContainerContext;
  private readonly tasks: Tasks;
  private readonly hooks: ArchiveHooks;

  constructor(ctx: ContainerContext, tasks: Tasks, hooks: ArchiveHooks) {
    this.ctx = ctx;
    this.tasks = tasks;
    this.hooks = hooks;
  }

  /** `docker export`: the container's file system as a tar, mounted while the stream lasts. */
  async export(c: ContainerRecord): Promise<Readable> {
    await this.tasks.unpool(c);
    const dir = this.ctx.dir(c.Id);
    const wasMounted = await this.ctx.d.snapshots.isMounted(dir);
    if (!wasMounted) await this.ctx.d.snapshots.mountRootfs(dir, c.TopChain as never);
    const tar = tarDirectory(join(dir, 'rootfs'), { host: this.ctx.d.host, idMap: this.ctx.d.idMap });
    tar.once('close', () => {
      if (!wasMounted && !c.State.Running) void this.ctx.d.snapshots.unmountRootfs(dir).catch(() => {});
    });
    return tar;
  }

  /** `docker diff`: what the container changed against its image, from its upper directory. */
  async diff(c: ContainerRecord): Promise<Change[]> {
    await this.tasks.unpool(c);
    return upperChanges(
      join(this.ctx.dir(c.Id), 'upper'),
      this.ctx.d.snapshots.lowerDirs(c.TopChain as never),
      this.ctx.d.host,
    );
  }

  /**
   * `docker commit`: the container's changes as a new image on its own, with its run config
   * (fields of `config` override it, then `changes` apply). A running container is paused
   * while its upper directory is read, unless `pause` is false. A pause that fails (the
   * container was exiting: `touch /x` then commit at once, as scripts do) is not an error: as
   * dockerd, the commit goes on unpaused, since a process that is gone changes nothing more.
   */
  async commit(c: ContainerRecord, o: CommitRequest = {}): Promise<{ Id: string }> {
    await this.tasks.unpool(c);
    const pause =
      (o.pause ?? true) &&
      c.State.Running &&
      !c.State.Paused &&
      (await this.hooks.pause(c.Id).then(
        () => true,
        () => false,
      ));
    try {
      const parent = c.Image ? (this.ctx.d.images.store.find(c.Image) ?? null) : null;
      const img = await this.ctx.d.images.commit({
        parent,
        layer: diffOverlayUpper(join(this.ctx.dir(c.Id), 'upper'), { host: this.ctx.d.host, idMap: this.ctx.d.idMap }),
        config: commitConfig(c.Config, o.config ?? {}),
        changes: o.changes,
        author: o.author,
        comment: o.comment,
        createdBy: [c.Path, ...c.Args].join(' '),
        containerId: c.Id,
        ref: o.ref,
      });
      // The CLI sends the repository fully qualified (`docker.io/t/x`); the event names it as
      // `docker images` does, as dockerd's does.
      const imageRef = o.ref ? familiarString(parseReference(o.ref)) : undefined;
      this.ctx.emit(c, 'commit', { comment: o.comment ?? '', imageID: img.id, ...(imageRef ? { imageRef } : {}) });
      return { Id: img.id };
    } finally {
      if (pause) await this.hooks.unpause(c.Id).catch(() => {});
    }
  }

  /** `docker cp`: what a path in the container is (`HEAD /containers/{id}/archive`). */
  async statPath(c: ContainerRecord, path: string): Promise<PathStat> {
    const lease = await this.leaseRootfs(c);
    try {
      return (await statPath(lease.rootfs, path, c.Name, hostMounts(c))).stat;
    } finally {
      await lease.release();
    }
  }

  /** `docker cp` out of the container: the path as a tar, named by its last component. */
  async getArchive(c: ContainerRecord, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    const lease = await this.leaseRootfs(c);
    try {
      const r = await statPath(lease.rootfs, path, c.Name, hostMounts(c));
      const tar = tarPath(r, this.ctx.d.host, this.ctx.d.idMap);
      tar.once('close', () => void lease.release());
      return { stat: r.stat, tar };
    } catch (e) {
      await lease.release();
      throw e;
    }
  }

  /** `docker cp` into the container: a tar extracted into the directory `path`. */
  async putArchive(
    c: ContainerRecord,
    path: string,
    tar: Readable,
    opts: { copyUIDGID?: boolean } = {},
  ): Promise<void> {
    if (c.HostConfig.ReadonlyRootfs) throw forbidden('container rootfs is marked read-only');
    const lease = await this.leaseRootfs(c);
    try {
      // Docker: the archive's owners, or with -a the container's user and its primary group;
      // -a into a container without a user keeps the archive's owners too (dockerd 20.10).
      let owner: { uid: number; gid: number } | undefined;
      if (opts.copyUIDGID && c.Config.User) {
        const u = await resolveUser(c.Config.User, lease.rootfs);
        owner = { uid: u.uid, gid: u.gid };
      }
      await extractTo(lease.rootfs, path, tar, this.ctx.d.host, c.Name, owner, hostMounts(c), this.ctx.d.idMap);
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
    const dir = this.ctx.dir(c.Id);
    await this.tasks.unpool(c);
    await this.tasks.premounted(c.Id);
    const wasMounted = await this.ctx.d.snapshots.isMounted(dir);
    if (!wasMounted) await this.ctx.d.snapshots.mountRootfs(dir, c.TopChain as never);
    const freeze = c.State.Running && !c.State.Paused && !c.State.Restarting;
    if (freeze) {
      try {
        await this.ctx.runtime(c).pause(c.Id);
      } catch (e) {
        if (!wasMounted) await this.ctx.d.snapshots.unmountRootfs(dir).catch(() => {});
        throw e;
      }
    }
    let released = false;
    return {
      rootfs: join(dir, 'rootfs'),
      release: async () => {
        if (released) return;
        released = true;
        if (freeze)
          await this.ctx
            .runtime(c)
            .resume(c.Id)
            .catch(() => {});
        if (!wasMounted && !c.State.Running) await this.ctx.d.snapshots.unmountRootfs(dir).catch(() => {});
      },
    };
  }
}

/** The container's volume and bind mounts whose content the host can reach (not tmpfs). */
function hostMounts(c: ContainerRecord): HostMount[] {
  return (c.MountPoints ?? [])
    .filter((m) => m.Type !== 'tmpfs' && m.Source)
    .map((m) => ({ destination: m.Destination, source: m.Source, readOnly: !m.RW }));
}
