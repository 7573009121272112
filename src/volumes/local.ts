/**
 * The `local` volume driver: one directory per volume under `<data-root>/volumes`.
 *
 *     volumes/<name>/_data          the data containers see (or a mount point, see below)
 *     volumes/<name>/volume.json    name, creation time, labels, driver options
 *
 * Crash safety: a volume is assembled in `volumes/.new-<random>` and renamed to its name in
 * one step, so a volume either exists whole or not at all; a removal first renames the
 * directory to `volumes/.gone-<random>`. `open` deletes whatever `.new-`/`.gone-` a crash left.
 *
 * Options (`docker volume create --opt`): `type=tmpfs,device=tmpfs` (with `o=size=64m,...`) mounts a tmpfs
 * on `_data`; `type=none,o=bind,device=/path` bind-mounts a host directory there. Such a volume
 * is mounted when its first user mounts it and unmounted after its last (`mount`/`unmount`,
 * counted by user).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyedLock } from '../async/index.ts';
import { directorySize } from '../fs/index.ts';
import { conflict, invalidArgument, notFound } from '../errdefs/index.ts';
import type { Mounter } from '../host/index.ts';

/** What a volume is, as kept in `volume.json`. */
export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  /** RFC 3339 with seconds, as Docker prints it. */
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
}

export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** The label Docker puts on the volumes it makes for a container (`-v /path`, image VOLUMEs). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export function validVolumeName(name: string): boolean {
  return VOLUME_NAME.test(name);
}

/** Docker's refusal of a local volume name, wrapped as its `create` wraps it; undefined when valid. */
export function volumeNameError(name: string): Error | undefined {
  if (validVolumeName(name)) return undefined;
  if (name.length === 1)
    return invalidArgument(
      `create ${name}: volume name is too short, names should be at least two alphanumeric characters`,
    );
  return invalidArgument(
    `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
  );
}

export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

const KNOWN_OPTS = ['type', 'o', 'device', 'size'];
const REQUIRED_WITH: Array<[string, string[]]> = [
  ['type', ['device']],
  ['device', ['type']],
  ['o', ['device', 'type']],
];

export class LocalDriver {
  readonly root: string;
  private readonly host: Mounter;
  private readonly vols = new Map<string, VolumeRecord>();
  /** Users (container IDs) of volumes whose options need a mount. */
  private readonly users = new Map<string, Set<string>>();
  /** Mounts, unmounts and removals of one volume, one at a time. */
  private readonly locks = new KeyedLock();
  /** `--userns-remap`: the host ids of containers' root, who owns a new volume's `_data`. */
  private readonly owner?: { uid: number; gid: number };

  private constructor(root: string, host: Mounter, owner?: { uid: number; gid: number }) {
    this.root = root;
    this.host = host;
    this.owner = owner;
  }

  static async open(root: string, host: Mounter, owner?: { uid: number; gid: number }): Promise<LocalDriver> {
    await fs.mkdir(root, { recursive: true, mode: 0o701 });
    const d = new LocalDriver(root, host, owner);
    for (const name of await fs.readdir(root)) {
      if (name.startsWith('.new-') || name.startsWith('.gone-')) {
        await fs.rm(join(root, name), { recursive: true, force: true }).catch(() => {});
        continue;
      }
      try {
        const rec = JSON.parse(await fs.readFile(join(root, name, 'volume.json'), 'utf8')) as VolumeRecord;
        if (rec.Name === name) d.vols.set(name, rec);
      } catch {
        // Not a volume of ours: left alone.
      }
    }
    return d;
  }

  list(): VolumeRecord[] {
    return [...this.vols.values()];
  }

  find(name: string): VolumeRecord | undefined {
    return this.vols.get(name);
  }

  get(name: string): VolumeRecord {
    const v = this.vols.get(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  /** The host directory containers see. */
  path(name: string): string {
    return join(this.root, name, '_data');
  }

  async create(
    name: string,
    opts: Record<string, string> = {},
    labels: Record<string, string> = {},
  ): Promise<VolumeRecord> {
    const bad = volumeNameError(name);
    if (bad) throw bad;
    const existing = this.vols.get(name);
    if (existing) return existing;
    validateOpts(name, opts);
    const rec: VolumeRecord = {
      Name: name,
      Driver: 'local',
      CreatedAt: rfc3339(new Date()),
      Labels: { ...labels },
      Options: { ...opts },
    };
    const tmp = join(this.root, `.new-${randomBytes(8).toString('hex')}`);
    await fs.mkdir(join(tmp, '_data'), { recursive: true, mode: 0o755 });
    // As dockerd: a remapped container's root owns the volumes it gets, as root does without a remap.
    if (this.owner) await fs.chown(join(tmp, '_data'), this.owner.uid, this.owner.gid);
    await fs.chmod(tmp, 0o701);
    await fs.writeFile(join(tmp, 'volume.json'), JSON.stringify(rec));
    try {
      await fs.rename(tmp, join(this.root, name));
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      // Another create of the same name won the race.
      const won = this.vols.get(name);
      if (won) return won;
      throw e;
    }
    this.vols.set(name, rec);
    return rec;
  }

  remove(name: string): Promise<void> {
    return this.locks.run(name, () => this.removeNow(name));
  }

  private async removeNow(name: string): Promise<void> {
    const v = this.get(name);
    if (this.users.get(name)?.size) throw conflict(`remove ${name}: volume is in use`);
    this.vols.delete(name);
    const gone = join(this.root, `.gone-${randomBytes(8).toString('hex')}`);
    // Nothing may still be mounted on _data when the tree beneath it is deleted.
    if (needsMount(v) && isMounted(this.path(name))) await this.host.unmount(this.path(name));
    await fs.rename(join(this.root, name), gone);
    await fs.rm(gone, { recursive: true, force: true });
  }

  /** Makes the volume's data available for `user` and returns the host path to bind. */
  /**
   * Runs `fn` after every earlier mount, unmount or removal of the volume `name` has finished:
   * two containers starting together must not both mount a tmpfs on `_data` (the second would
   * hide the first), and a start must not find `_data` still mounted by a release about to take
   * it away.
   */
  mount(name: string, user: string): Promise<string> {
    return this.locks.run(name, () => this.mountNow(name, user));
  }

  private async mountNow(name: string, user: string): Promise<string> {
    const v = this.get(name);
    const path = this.path(name);
    if (!needsMount(v)) return path;
    let set = this.users.get(name);
    if (!set) this.users.set(name, (set = new Set()));
    if (set.size === 0 && !isMounted(path)) {
      const o = v.Options;
      const extra = (o.o ?? '').split(',').filter(Boolean);
      if (o.type === 'tmpfs' || (o.type && o.type !== 'none' && !extra.includes('bind'))) {
        const device = o.device || o.type!;
        try {
          await this.host.mount(o.type === 'tmpfs' ? 'tmpfs' : o.type!, device, path, extra);
        } catch (e) {
          throw invalidArgument(`error while mounting volume '${path}': ${localMountError(device, path, extra, e)}`, e);
        }
      } else {
        const device = o.device!;
        try {
          await fs.stat(device);
        } catch {
          throw invalidArgument(
            `error while mounting volume '${path}': failed to mount local volume: mount ${device}:${path}, flags: 0x1000: no such file or directory`,
          );
        }
        await this.host.mount('none', device, path, ['bind', ...extra.filter((x) => x !== 'bind')]);
      }
    }
    set.add(user);
    return path;
  }

  /** Counts `user` as mounted without mounting (a container found running at start). */
  adopt(name: string, user: string): void {
    const v = this.vols.get(name);
    if (!v || !needsMount(v)) return;
    let set = this.users.get(name);
    if (!set) this.users.set(name, (set = new Set()));
    set.add(user);
  }

  unmount(name: string, user: string): Promise<void> {
    return this.locks.run(name, () => this.unmountNow(name, user));
  }

  private async unmountNow(name: string, user: string): Promise<void> {
    const v = this.vols.get(name);
    if (!v || !needsMount(v)) return;
    const set = this.users.get(name);
    if (!set) return;
    set.delete(user);
    if (set.size === 0) {
      this.users.delete(name);
      await this.host.unmount(this.path(name));
    }
  }

  /** After a daemon start: option volumes still mounted though no container counts as a user. */
  async unmountUnused(): Promise<string[]> {
    const done: string[] = [];
    for (const v of this.vols.values()) {
      if (!needsMount(v) || this.users.get(v.Name)?.size || !isMounted(this.path(v.Name))) continue;
      await this.host.unmount(this.path(v.Name));
      done.push(v.Name);
    }
    return done;
  }

  /** Bytes used by the volume's files (best effort, `du`-like). */
  async size(name: string): Promise<number> {
    return directorySize(this.path(name));
  }
}

function needsMount(v: VolumeRecord): boolean {
  return !!v.Options.type;
}

function validateOpts(name: string, o: Record<string, string>): void {
  for (const k of Object.keys(o)) {
    if (!KNOWN_OPTS.includes(k)) throw invalidArgument(`create ${name}: invalid option: "${k}"`);
  }
  // dockerd's pairs: a type is nothing to mount without a device (even tmpfs, whose device is
  // the word `tmpfs`), a device nothing without its type, and mount options need both.
  for (const [given, needs] of REQUIRED_WITH) {
    if (o[given] === undefined) continue;
    for (const k of needs) {
      if (o[k] === undefined) throw invalidArgument(`create ${name}: missing required option: "${k}"`);
    }
  }
  if (o.size && o.type !== 'tmpfs')
    throw invalidArgument(`create ${name}: invalid option: "size" is only supported for tmpfs`);
}

/** mount(2)'s flags by name, for the `flags: 0x…` of dockerd's mount error. */
const MOUNT_FLAGS: Record<string, number> = {
  ro: 0x1,
  nosuid: 0x2,
  nodev: 0x4,
  noexec: 0x8,
  sync: 0x10,
  remount: 0x20,
  mand: 0x40,
  dirsync: 0x80,
  noatime: 0x400,
  nodiratime: 0x800,
  bind: 0x1000,
  rbind: 0x5000,
  relatime: 0x200000,
  strictatime: 0x1000000,
};
/** mount(8)'s sentences for the errors a volume's options cause, and the errno Go names them by. */
const MOUNT8_ERRNO: Array<[RegExp, string]> = [
  [/wrong fs type, bad option|bad superblock/, 'invalid argument'],
  [/unknown filesystem type/, 'no such device'],
  [/does not exist|No such file or directory/, 'no such file or directory'],
  [/permission denied/i, 'permission denied'],
  [/must be superuser|not permitted/, 'operation not permitted'],
  [/already mounted|busy/, 'device or resource busy'],
];

/**
 * A local volume's failed mount as dockerd words it (`failed to mount local volume: mount
 * tmpfs:/…/_data, data: size=bogus: invalid argument`): users search for those words, and the
 * runtime's prefix would blame a container start that never reached the runtime.
 */
function localMountError(device: string, path: string, opts: string[], e: unknown): string {
  let flags = 0;
  const data: string[] = [];
  for (const w of opts) {
    if (MOUNT_FLAGS[w] !== undefined) flags |= MOUNT_FLAGS[w];
    else if (w !== 'rw') data.push(w);
  }
  const msg = (e as Error)?.message ?? String(e);
  const errno = MOUNT8_ERRNO.find(([re]) => re.test(msg))?.[1] ?? msg.replace(/\s+/g, ' ').trim();
  return (
    `failed to mount local volume: mount ${device}:${path}` +
    (flags ? `, flags: 0x${flags.toString(16)}` : '') +
    (data.length ? `, data: ${data.join(',')}` : '') +
    `: ${errno}`
  );
}

function isMounted(path: string): boolean {
  try {
    const text = readFileSync('/proc/self/mountinfo', 'utf8');
    return text.split('\n').some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
