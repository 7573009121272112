/**
 * A container's mounts: from what the Engine API carries (`HostConfig.Binds` for `-v`,
 * `HostConfig.Mounts` for `--mount`, `HostConfig.Tmpfs` for `--tmpfs`, `HostConfig.VolumesFrom`,
 * and the image's and the request's `Volumes`) to the mount points a container keeps in its
 * record, and from those to the OCI mounts of its spec at start.
 *
 * Precedence is Docker's: image/config volumes, replaced by `--volumes-from`, replaced by `-v`
 * and `--mount` (which must not name the same destination twice), and `--tmpfs` last.
 */
import { posix } from 'node:path';
import { invalidArgument } from '../../errdefs/index.ts';
import { volumeNameError, ANONYMOUS_LABEL } from '../../volumes/index.ts';
import type { Mount, MountPoint as MountView } from '../../api/types/index.ts';

/**
 * One mount of a container, as kept in its record (`MountPoints`): what inspect shows
 * (`mountsView` keeps only that) and what the start needs besides.
 */
export interface MountPoint extends MountView {
  /** Do not copy the image's content into an empty volume. */
  NoCopy?: boolean;
  /** Options of a tmpfs mount, as given to mount(8). */
  TmpfsOptions?: string[];
  /** A `-v` bind whose missing source is made as a directory at start. */
  CreateSource?: boolean;
  /** Made from `--tmpfs`: Docker does not list those in inspect's `Mounts`. */
  Hidden?: boolean;
  /** A volume made for this container (anonymous): `rm -v` removes it. */
  Anonymous?: boolean;
  /**
   * A bind whose propagation was not asked for, made `rslave` because it relates to the daemon
   * root (Docker's rule); it falls back to private when the host mount cannot be a master.
   */
  DefaultSlave?: boolean;
  /** `bind-nonrecursive`: the source's submounts are not carried along (`bind`, not `rbind`). */
  NonRecursive?: boolean;
  /** A read-only bind whose submounts stay writable (`bind-recursive=writable`). */
  ReadOnlyNonRecursive?: boolean;
}

export interface MountInputs {
  binds?: string[] | null;
  mounts?: unknown[] | null;
  tmpfs?: Record<string, string> | null;
  /** Mount points of `--volumes-from` containers, with the mode asked for (`ro`/`rw`, or ''). */
  volumesFrom?: Array<{ mounts: MountPoint[]; mode: string }>;
  /** Destinations of the image's and the request's `Volumes`. */
  volumes?: string[];
  /** `--volume-driver` (HostConfig.VolumeDriver): the driver of `-v` and image volumes. */
  volumeDriver?: string;
}

/** A mount point that still needs its volume made: `Name` undefined means anonymous. */
export interface PlannedMount extends MountPoint {
  /** Labels and driver options for a volume this container creates (`--mount` volume-opt). */
  VolumeLabels?: Record<string, string>;
  VolumeDriverOpts?: Record<string, string>;
  /** A bind whose propagation was given (`-v` mode, `bind-propagation`). */
  PropagationGiven?: boolean;
}

const PROPAGATIONS = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'];
const CONSISTENCY = ['consistent', 'cached', 'delegated', 'default'];

/** The kinds a `-v` mode word belongs to; a mode names each kind at most once (`rw,ro` is refused). */
const MODE_KINDS: string[][] = [['ro', 'rw'], ['z', 'Z'], PROPAGATIONS, ['nocopy'], CONSISTENCY];

function isModeList(s: string): boolean {
  return s.split(',').every((m) => MODE_KINDS.some((k) => k.includes(m)));
}

/** dockerd's check of a whole `-v` mode: known words, at most one of each kind. */
function validMode(mode: string): boolean {
  if (!mode) return true;
  const words = mode.split(',');
  return isModeList(mode) && MODE_KINDS.every((k) => words.filter((w) => k.includes(w)).length <= 1);
}

function checkDest(dest: string, type: string, spec?: string): string {
  const fail = (why: string) => {
    const inner = `invalid mount config for type "${type}": ${why}`;
    return invalidArgument(spec !== undefined ? `invalid volume specification: '${spec}': ${inner}` : inner);
  };
  if (!dest) throw fail('field Target must not be empty');
  if (!dest.startsWith('/')) throw fail(`invalid mount path: '${dest}' mount path must be absolute`);
  const clean = posix.normalize(dest).replace(/(.)\/$/, '$1');
  if (clean === '/') throw fail(`invalid specification: destination can't be '/'`);
  return clean;
}

/**
 * One `-v src:dst[:mode]` (or `-v /dst` for an anonymous volume); a volume is `driver`'s (the
 * driver is looked up when the volume is made, see VolumeService.prepare).
 */
export function parseBind(spec: string, driver = 'local'): PlannedMount {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalidArgument(`invalid volume specification: '${spec}'`);
  let src = '';
  let dst: string;
  let mode = '';
  if (parts.length === 1) dst = parts[0]!;
  else if (parts.length === 2) {
    // `-v /dst:ro` would be an anonymous volume with a mode: Docker refuses that.
    if (isModeList(parts[1]!)) throw invalidArgument(`invalid volume specification: '${spec}'`);
    [src, dst] = parts as [string, string];
  } else [src, dst, mode] = parts as [string, string, string];
  // The mode first and whole in the message, as dockerd checks and words it (`invalid mode: rw,ro`).
  if (!validMode(mode)) throw invalidArgument(`invalid mode: ${mode}`);
  const type = src === '' || !src.startsWith('/') ? 'volume' : 'bind';
  const dest = checkDest(dst, type, spec);
  let rw = true;
  let propagation = '';
  let nocopy = false;
  const kept: string[] = [];
  for (const m of mode ? mode.split(',') : []) {
    if (m === 'ro' || m === 'rw') rw = m === 'rw';
    else if (m === 'nocopy') nocopy = true;
    else if (PROPAGATIONS.includes(m)) propagation = m;
    // Labels (z, Z) and consistency: nothing to do on Linux.
    if (m !== 'nocopy') kept.push(m);
  }
  if (type === 'bind') {
    if (nocopy) throw invalidArgument(`invalid mode: ${mode}`);
    return {
      Type: 'bind',
      Source: posix.normalize(src).replace(/(.)\/$/, '$1'),
      Destination: dest,
      Mode: kept.join(','),
      RW: rw,
      Propagation: propagation || 'rprivate',
      CreateSource: true,
      ...(propagation ? { PropagationGiven: true } : {}),
    };
  }
  const badName = src ? volumeNameError(src) : undefined;
  if (badName) throw badName;
  if (propagation) throw invalidArgument(`invalid mode: ${mode}`);
  return {
    Type: 'volume',
    Name: src || undefined,
    Source: '',
    Destination: dest,
    Driver: driver,
    Mode: kept.join(',') || (src ? 'z' : ''),
    RW: rw,
    Propagation: '',
    NoCopy: nocopy || undefined,
    Anonymous: !src || undefined,
  };
}

/** One `--mount` (`HostConfig.Mounts` entry). `exists` tells whether a host path exists. */
export function parseMount(raw: unknown, exists: (path: string) => boolean): PlannedMount {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw invalidArgument('invalid mount config: expected an object');
  const m = raw as Mount;
  const type = m.Type ?? '';
  const bad = (why: string) => invalidArgument(`invalid mount config for type "${type}": ${why}`);
  if (!['volume', 'bind', 'tmpfs'].includes(type))
    throw invalidArgument(`invalid mount config for type "${type}": mount type unknown`);
  const dest = checkDest(m.Target ?? '', type);
  if (type !== 'bind' && m.BindOptions) throw bad('field BindOptions must not be specified');
  if (type !== 'volume' && m.VolumeOptions) throw bad('field VolumeOptions must not be specified');
  if (type !== 'tmpfs' && m.TmpfsOptions) throw bad('field TmpfsOptions must not be specified');
  const rw = !m.ReadOnly;
  if (type === 'bind') {
    if (!m.Source) throw bad('field Source must not be empty');
    if (!m.Source.startsWith('/')) throw bad(`invalid mount path: '${m.Source}' mount path must be absolute`);
    const propagation = m.BindOptions?.Propagation || 'rprivate';
    if (!PROPAGATIONS.includes(propagation)) throw bad(`invalid propagation mode: ${propagation}`);
    if (m.BindOptions?.ReadOnlyNonRecursive && m.BindOptions.ReadOnlyForceRecursive)
      throw bad('ReadOnlyNonRecursive and ReadOnlyForceRecursive are mutually exclusive');
    if ((m.BindOptions?.ReadOnlyNonRecursive || m.BindOptions?.ReadOnlyForceRecursive) && !m.ReadOnly)
      throw bad('option ReadOnlyNonRecursive and ReadOnlyForceRecursive need ReadOnly');
    if (m.BindOptions?.ReadOnlyForceRecursive && propagation !== 'rprivate')
      throw bad('read-only force recursive must be used with rprivate propagation');
    const source = posix.normalize(m.Source).replace(/(.)\/$/, '$1');
    // API 1.42's CreateMountpoint (`bind-create-src`) asks for `-v`'s behaviour.
    const create = !!m.BindOptions?.CreateMountpoint;
    if (!create && !exists(source)) throw bad(`bind source path does not exist: ${source}`);
    return {
      Type: 'bind',
      Source: source,
      Destination: dest,
      Mode: '',
      RW: rw,
      Propagation: propagation,
      ...(create ? { CreateSource: true } : {}),
      ...(m.BindOptions?.Propagation ? { PropagationGiven: true } : {}),
      ...(m.BindOptions?.NonRecursive ? { NonRecursive: true } : {}),
      ...(m.BindOptions?.ReadOnlyNonRecursive ? { ReadOnlyNonRecursive: true } : {}),
    };
  }
  if (type === 'tmpfs') {
    if (m.Source) throw bad('field Source must not be specified');
    const opts: string[] = ['nosuid', 'nodev', 'noexec'];
    const size = m.TmpfsOptions?.SizeBytes;
    if (size !== undefined && size !== 0) {
      if (!Number.isSafeInteger(size) || size < 0) throw bad(`invalid tmpfs size: ${size}`);
      opts.push(`size=${size}`);
    }
    const mode = m.TmpfsOptions?.Mode;
    if (mode) opts.push(`mode=${(mode & 0o7777).toString(8)}`);
    return { Type: 'tmpfs', Source: '', Destination: dest, Mode: '', RW: rw, Propagation: '', TmpfsOptions: opts };
  }
  if (!m.Source && m.ReadOnly) throw bad('must not set ReadOnly mode when using anonymous volumes');
  const badName = m.Source ? volumeNameError(m.Source) : undefined;
  if (badName) throw badName;
  // Not yet: mounting part of a volume safely needs the subpath opened without following links.
  if (m.VolumeOptions?.Subpath) throw bad('volume subpaths are not supported by this daemon');
  return {
    Type: 'volume',
    Name: m.Source || undefined,
    Source: '',
    Destination: dest,
    Driver: m.VolumeOptions?.DriverConfig?.Name || 'local',
    Mode: 'z',
    RW: rw,
    Propagation: '',
    NoCopy: m.VolumeOptions?.NoCopy || undefined,
    Anonymous: !m.Source || undefined,
    VolumeLabels: m.VolumeOptions?.Labels ?? undefined,
    VolumeDriverOpts: m.VolumeOptions?.DriverConfig?.Options ?? undefined,
  };
}

/** The mount flags `--tmpfs` takes by name (moby's list); the rest must be tmpfs's own data. */
const TMPFS_FLAGS = new Set(
  (
    'ro rw exec noexec suid nosuid dev nodev sync async dirsync remount mand nomand atime noatime ' +
    'diratime nodiratime bind rbind unbindable runbindable private rprivate shared rshared slave rslave ' +
    'relatime norelatime strictatime nostrictatime'
  ).split(' '),
);
const TMPFS_DATA = ['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol'];

/**
 * `--tmpfs`'s destination and options refused at create, in dockerd's words (a Go `%q` of the
 * split option), rather than by the runtime's mount at start.
 */
function checkTmpfs(dest: string, given: string[]): string {
  if (dest === '/') throw invalidArgument(`invalid specification: destination can't be '/'`);
  if (!dest.startsWith('/')) throw invalidArgument(`invalid mount path: '${dest}' mount path must be absolute`);
  for (const o of given) {
    if (TMPFS_FLAGS.has(o)) continue;
    const kv = o.split(/=(.*)/s, 2);
    if (!TMPFS_DATA.includes(kv[0]!))
      throw invalidArgument(`invalid tmpfs option [${kv.map((x) => JSON.stringify(x)).join(' ')}]`);
  }
  return posix.normalize(dest).replace(/(.)\/$/, '$1');
}

/** `--tmpfs /run:size=64m`: Docker's defaults (noexec, nosuid, nodev) unless overridden. */
export function parseTmpfs(dest: string, options: string): PlannedMount {
  const given = options ? options.split(',').filter(Boolean) : [];
  const d = checkTmpfs(dest, given);
  let rw = true;
  const opts: string[] = [];
  for (const o of given) {
    if (o === 'ro' || o === 'rw') rw = o === 'rw';
    else opts.push(o);
  }
  const defaults = [
    ['noexec', 'exec'],
    ['nosuid', 'suid'],
    ['nodev', 'dev'],
  ]
    .filter(([on, off]) => !opts.includes(on!) && !opts.includes(off!))
    .map(([on]) => on!);
  return {
    Type: 'tmpfs',
    Source: '',
    Destination: d,
    Mode: '',
    RW: rw,
    Propagation: '',
    TmpfsOptions: [...defaults, ...opts],
    Hidden: true,
  };
}

/** `--volumes-from name[:ro|:rw]`. */
export function parseVolumesFrom(spec: string): { container: string; mode: string } {
  const i = spec.lastIndexOf(':');
  if (i < 0) return { container: spec, mode: '' };
  const mode = spec.slice(i + 1);
  if (mode !== 'ro' && mode !== 'rw' && mode !== 'z' && mode !== 'Z') throw invalidArgument(`invalid mode: ${mode}`);
  return { container: spec.slice(0, i), mode: mode === 'ro' || mode === 'rw' ? mode : '' };
}

/** All of a container's mounts, by Docker's precedence, before any volume is made. */
export function planMounts(input: MountInputs, exists: (path: string) => boolean): PlannedMount[] {
  const byDest = new Map<string, PlannedMount>();
  const driver = input.volumeDriver || 'local';
  for (const v of input.volumes ?? []) {
    // dockerd takes a relative path here (`-v data`, an old image's `VOLUME data`) from the
    // root, as runc does, where a -v bind's or a --mount's must be absolute (moby#46093).
    const dest = checkDest(v.startsWith('/') ? v : `/${v}`, 'volume');
    byDest.set(dest, {
      Type: 'volume',
      Source: '',
      Destination: dest,
      Driver: driver,
      Mode: '',
      RW: true,
      Propagation: '',
      Anonymous: true,
    });
  }
  for (const from of input.volumesFrom ?? []) {
    for (const m of from.mounts) {
      if (m.Hidden) continue;
      const rw = from.mode === '' ? m.RW : from.mode === 'rw';
      const { Anonymous: _a, ...copy } = m;
      byDest.set(m.Destination, { ...copy, RW: rw, Mode: from.mode || m.Mode });
    }
  }
  const explicit = new Set<string>();
  const add = (m: PlannedMount) => {
    if (explicit.has(m.Destination)) throw invalidArgument(`Duplicate mount point: ${m.Destination}`);
    explicit.add(m.Destination);
    byDest.set(m.Destination, m);
  };
  for (const b of input.binds ?? []) add(parseBind(b, driver));
  for (const m of input.mounts ?? []) add(parseMount(m, exists));
  for (const [dest, opts] of Object.entries(input.tmpfs ?? {})) {
    const t = parseTmpfs(dest, opts);
    if (explicit.has(t.Destination)) throw invalidArgument(`Duplicate mount point: ${t.Destination}`);
    byDest.set(t.Destination, t);
  }
  return [...byDest.values()];
}

/** What `docker inspect` shows in `Mounts`. */
export function mountsView(mps: readonly MountPoint[] | undefined): MountView[] {
  return (mps ?? [])
    .filter((m) => !m.Hidden)
    .map((m) =>
      m.Type === 'volume'
        ? {
            Type: 'volume',
            Name: m.Name,
            Source: m.Source,
            Destination: m.Destination,
            Driver: m.Driver ?? 'local',
            Mode: m.Mode,
            RW: m.RW,
            Propagation: m.Propagation,
          }
        : {
            Type: m.Type,
            Source: m.Source,
            Destination: m.Destination,
            Mode: m.Mode,
            RW: m.RW,
            Propagation: m.Propagation,
          },
    );
}

export { ANONYMOUS_LABEL };
