/**
 * What all of a daemon's crun containers share, made once when the driver starts: crun's
 * binary sealed read-only (its CVE-2019-5736 copy skipped), the empty read-only tmpfs their
 * masked directories are bound from (and one per `--userns-remap` owner), the read-only tree
 * bound at their /sys/fs/cgroup on cgroup v1, the cgroup parent's cpuset and name=systemd
 * directories, and the compiled seccomp filters; and what a create, an exec or an update adds
 * for them. crun.ts says how each mount is made and why; cgroup-share.ts which containers share
 * the cgroup directories, and the cleaned /proc/self/cgroup copy berth-crun shows crun;
 * seccomp-cache.ts the filters. runc gets none of it (it refuses binds under /proc, and copies
 * itself regardless), so the driver holds one of these only when its runtime is crun.
 *
 * Lifecycle: `open()` once (the driver's init), before any create; `close()` unbinds the shared
 * mounts — the containers' binds keep their superblocks, and a next daemon makes new ones or
 * finds these (`open` takes what a previous daemon left mounted). A mount that cannot be made
 * is left out: crun then does what it does by itself, and nothing else changes.
 *
 * @example
 *   const shared = new CrunShared(host, '/run/berth', '/opt/berth/build/berth-crun');
 *   await shared.open();
 *   const env = { ...shared.env, ...shared.forCreate(spec, false) }; // the monitor's environment
 *   await shared.close();
 */
import { join } from 'node:path';
import type { Host } from '../host/index.ts';
import { bindCgroupMounts, cgroupCopy, ensureOwnCpuset, sharedBeside, sharedCgroup } from './cgroup-share.ts';
import { OwnedMasks, sealCrun, shareCgroupTree, shareMask, type CgroupTree } from './crun.ts';
import { crunBinary } from './executables.ts';
import { SeccompCache } from './seccomp-cache.ts';

export class CrunShared {
  /** Compiled seccomp filters reused across containers (seccomp-cache.ts). */
  readonly seccomp: SeccompCache;
  /** The environment of every runtime process: it names the sealed crun to the wrapper (process.env until sealed). */
  env: NodeJS.ProcessEnv = process.env;
  /** The read-only empty directory masked directories are bound from, once mounted (crun.ts's shareMask). */
  mask?: string;
  private readonly host: Host;
  private readonly root: string;
  private readonly binary: string;
  private sealed = false;
  /** The same mask, owned by a user namespace's root (crun.ts's OwnedMasks). */
  private ownedMasks?: OwnedMasks;
  /** cgroup v1 only: the read-only tree bound at the containers' /sys/fs/cgroup (crun.ts's shareCgroupTree). */
  private cgroupTree?: CgroupTree;

  /**
   * `root`: the daemon's exec root, where the sealed binary (`crun`), the masks (`masked`,
   * `masked-<uid>-<gid>`), the cgroup tree (`cgroup`) and the filters (`seccomp`) go. `wrapper`:
   * the runtime program the driver runs (berth-crun, or crun itself), resolved.
   */
  constructor(host: Host, root: string, wrapper: string) {
    this.host = host;
    this.root = root;
    this.binary = crunBinary();
    this.seccomp = new SeccompCache(join(root, 'seccomp'), [wrapper, this.binary]);
  }

  /** Seals the binary, mounts the shared mask and cgroup tree (or takes a previous daemon's). */
  async open(): Promise<void> {
    const sealedAt = join(this.root, 'crun');
    this.sealed = await sealCrun(this.host, this.binary, sealedAt);
    // Named to the wrapper either way: unsealed, its own default is Debian's crun, not this one.
    this.env = { ...process.env, BERTH_CRUN: this.sealed ? sealedAt : this.binary };
    const mask = join(this.root, 'masked');
    if (await shareMask(this.host, mask)) [this.mask, this.ownedMasks] = [mask, new OwnedMasks(this.host, mask)];
    this.cgroupTree = await shareCgroupTree(this.host, join(this.root, 'cgroup'));
  }

  /** Unbinds the sealed binary and unmounts the shared mask(s) and cgroup tree. */
  async close(): Promise<void> {
    if (this.sealed) {
      this.sealed = false;
      await this.host.unmount(join(this.root, 'crun')).catch(() => {});
    }
    // The containers' binds of them keep their superblocks; new ones wait for the next daemon's.
    const shared = [this.mask, this.cgroupTree?.at];
    [this.mask, this.cgroupTree] = [undefined, undefined];
    for (const at of shared) if (at) await this.host.unmount(at).catch(() => {});
    await this.ownedMasks?.close();
  }

  /** The mask for a user namespace whose root is `owner` on the host, made on first use. */
  maskFor(owner: { uid: number; gid: number }): Promise<string | undefined> {
    return this.ownedMasks?.for(owner) ?? Promise.resolve(undefined);
  }

  /**
   * What a create adds to its monitor's environment for berth-crun, and to its spec: the
   * cleaned /proc/self/cgroup copy to show crun (without a spec — a caller's own bundle, the
   * runtime's tests — `userns` serves either kind, for one bind more); the cgroup parent's
   * cpuset and name=systemd to share when the container asks nothing of them (not on a
   * restore, whose checkpoint holds its own); its /sys/fs/cgroup as binds into the one shared
   * tree, not a tmpfs of its own — a restore's too, whose checkpoint holds them as external
   * mounts that CRIU must find again.
   */
  forCreate(spec: object | undefined, restoring: boolean): NodeJS.ProcessEnv {
    const parent = spec && !restoring ? sharedCgroup(spec) : undefined;
    if (this.cgroupTree && spec) bindCgroupMounts(spec, this.cgroupTree, parent);
    return {
      BERTH_CRUN_COPY: spec ? cgroupCopy(spec) : 'userns',
      ...(parent ? { BERTH_CRUN_SHARE: parent } : {}),
    };
  }

  /**
   * What an exec adds to its monitor's environment: its process joins the cgroup parent's
   * cpuset and name=systemd, as the container's init did when it shares them (`memoryDir`: the
   * container's memory cgroup, from its state); crun moves it on into the container's own
   * where it has one.
   */
  forExec(memoryDir: string | undefined): NodeJS.ProcessEnv {
    const parent = sharedBeside(memoryDir);
    return parent ? { BERTH_CRUN_SHARE: parent } : {};
  }

  /**
   * Before an update (`docker update`'s `resources`, runc's shape): a container that shares its
   * parent's cpuset gets a directory of its own there when the update sets CPUs or memory nodes,
   * as Docker's container always has one (cgroup-share.ts's ensureOwnCpuset). `paths`: its
   * directories by hierarchy, read only then.
   */
  async beforeUpdate(resources: object, paths: () => Promise<Record<string, string> | undefined>): Promise<void> {
    const cpu = (resources as { cpu?: { cpus?: string; mems?: string } }).cpu;
    if (cpu?.cpus || cpu?.mems) await ensureOwnCpuset(await paths());
  }
}
