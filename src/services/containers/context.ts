/**
 * What the files of the container service share: its dependencies, the records, the
 * per-container locks, the one way a state changes (`setState`: persisted, then visible) and
 * the one way an event goes out (`emit`). `service.ts` makes one of these and hands it to the
 * parts that do the work — task creation (tasks.ts), exits and restarts (monitor.ts), network
 * endpoints (endpoints.ts), archives (archive.ts), stats (stats.ts) — so that none of them
 * keeps a state of a container apart from the record.
 *
 * `changes` tells waiters within the daemon what happened to a container: `created:<id>` (its
 * task exists: stdin can be attached), `exit:<id>` (with the exit code, after the record says
 * so; and `{ startFailed: true }` when a start failed before anything ran), `removed:<id>`.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { KeyedLock } from '../../async/index.ts';
import type { EventBus } from '../../events/index.ts';
import type { Host } from '../../host/index.ts';
import type { ImageStore } from '../../images/index.ts';
import type { MetadataDb } from '../../metadata/index.ts';
import type { NetworkManager, UserNetworks } from '../../network/index.ts';
import type { ContainerRuntime } from '../../runtime/index.ts';
import type { Snapshotter } from '../../snapshots/index.ts';
import type { IdMap } from '../../spec/index.ts';
import type { ImageService } from '../images/index.ts';
import type { VolumeService } from '../volumes/index.ts';
import type { ContainerState as State } from '../../api/types/index.ts';
import { logPathOption } from './logopts.ts';
import { ContainerStore } from './store.ts';
import type { Runtimes } from './runtimes.ts';
import type { ContainerDefaults, ContainerRecord } from './types.ts';

/** What the container service uses of the image service: images by name, commits, and the hooks it sets. */
export type ContainerImages = Pick<ImageService, 'require' | 'commit' | 'usage' | 'layersInUse' | 'releaseHolders'> & {
  store: Pick<ImageStore, 'find' | 'idOf'>;
};

/** What the container service uses of the snapshotter: containers' root file systems. */
export type ContainerRootfs = Pick<Snapshotter, 'mountRootfs' | 'unmountRootfs' | 'isMounted' | 'lowerDirs'>;

export interface ContainerServiceDeps {
  db: MetadataDb;
  images: ContainerImages;
  snapshots: ContainerRootfs;
  /** The runtimes containers run on, by name; `HostConfig.Runtime` chooses (see runtimes.ts). */
  runtimes: Runtimes<ContainerRuntime>;
  host: Host;
  events: EventBus;
  /** `<data-root>/containers`. */
  root: string;
  liveRestore: boolean;
  /**
   * Containers that outlive a daemon restart even without live restore: the CRI's, which
   * kubelet owns (containerd keeps its tasks running across its restarts the same way).
   */
  keepRunning?: (c: ContainerRecord) => boolean;
  log: { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void };
  /** Path of an init binary for `--init` (tini-static), if installed. */
  initPath?: string;
  /** The default bridge; without it (or when disabled) containers get an unconnected namespace. */
  network?: NetworkManager;
  /** User-defined networks (`docker network create`). */
  userNetworks?: UserNetworks;
  /** Volumes and mounts (`-v`, `--mount`, `--tmpfs`, `--volumes-from`, image VOLUMEs). */
  volumes?: VolumeService;
  /** berthd's --default-ulimit and --no-new-privileges. */
  defaults?: ContainerDefaults;
  /** How long a task created ahead of its start waits for it before it is taken down (default 10 s). */
  precreateTtlMs?: number;
  /** `berthd --userns-remap`: containers (but `--userns=host` ones) run in a user namespace with these ids. */
  idMap?: IdMap;
  /** Rootless berthd (in a user namespace of an ordinary user's): no cgroups, no limits. */
  rootless?: boolean;
  /** `berthd --warm-pool N`: N sandboxes made ahead (pool.ts), their process the berth-zygote at `zygote`. */
  warmPool?: { size: number; zygote: string };
}

export class ContainerContext {
  readonly d: ContainerServiceDeps;
  readonly store: ContainerStore;
  /** Operations on one container, one at a time: an exit that arrives during a stop or rm waits its turn. */
  readonly locks = new KeyedLock();
  readonly changes = new EventEmitter().setMaxListeners(0);
  /** Set by `shutdown`: exits from here on are the daemon's doing, not the container's. */
  shuttingDown = false;

  constructor(deps: ContainerServiceDeps) {
    this.d = deps;
    this.store = new ContainerStore(deps.db);
    // The image and volume services refuse to remove what containers use: they ask here.
    deps.images.usage = (imageId) =>
      this.store
        .all()
        .filter((c) => c.Image === imageId)
        .map((c) => ({ id: c.Id, running: c.State.Running }));
    deps.images.layersInUse = () =>
      new Set(
        this.store
          .all()
          .map((c) => c.TopChain)
          .filter((x): x is string => !!x),
      );
    if (deps.volumes)
      deps.volumes.usage = (name) =>
        this.store
          .all()
          .filter((c) => c.MountPoints?.some((m) => m.Name === name))
          .map((c) => c.Id);
  }

  /** `<data-root>/containers/<id>`: the bundle, the root file system's mount, the logs. */
  dir(id: string): string {
    return join(this.d.root, id);
  }

  /** The container's log: beside its bundle, or where the k8s-file driver's `path` puts it (the CRI's). */
  logPath(id: string): string {
    const c = this.store.find(id);
    return (c && logPathOption(c.HostConfig)) ?? join(this.dir(id), 'container.log');
  }

  /** The runtime container `c` runs on. */
  runtime(c: ContainerRecord): ContainerRuntime {
    return this.d.runtimes.of(c);
  }

  setState(c: ContainerRecord, state: State): void {
    c.State = state;
    this.store.save(c);
  }

  emit(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    const image = c.Config.Image ?? c.Image;
    this.d.events.publish('container', action, c.Id, { image, name: c.Name, ...(c.Config.Labels ?? {}), ...extra });
  }

  /** Resolves with the exit code of the next exit of `id`. */
  nextExit(id: string): Promise<number> {
    return new Promise((resolve) => this.changes.once(`exit:${id}`, resolve));
  }
}
